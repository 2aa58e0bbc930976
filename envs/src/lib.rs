//! Deterministic game environments for nets.
//!
//! Matches in nets are games that any node can replay and check, so every environment here
//! is a pure state machine: integer-only state, no clock, no I/O, no threads, and every random
//! choice drawn from a [`GameRng`] keyed by the match seed. The same parameters, seed and
//! moves give the same game, bit for bit, on every machine.
//!
//! What is here:
//! - [`Env`], the abstraction the tournament layer drives: simultaneous-move games,
//!   alternating-move games and solo score tasks all fit it through [`ToMove`] and
//!   [`Outcome`];
//! - [`snake`], Snake on the Battlesnake standard rules (duel, free-for-all up to four, and the
//!   solo score task), with import and export of the Battlesnake `/move` JSON;
//! - [`log`], compact action logs and their replay, and [`transcript`], the readable game
//!   record the command-line tool writes;
//! - [`connect_four`], a small alternating-move game that keeps the abstraction honest;
//! - [`snake::observation`], board planes for neural agents;
//! - [`agents`], built-in deterministic baselines.
//!
//! What is not here: networking, signatures, ratings (see `nets-tournament`).
//!
//! # Driving a game
//! ```
//! use nets_envs::agents::{Agent, Greedy, RandomAgent};
//! use nets_envs::snake::{SnakeGame, SnakeParams};
//!
//! let mut game = SnakeGame::new(SnakeParams::duel(11), [42; 32]).unwrap();
//! let mut a = Greedy::default();
//! let mut b = RandomAgent::new([1; 32]);
//! while !game.is_over() {
//!     let moves = [a.choose(&game, 0), b.choose(&game, 1)];
//!     game.step(&moves).unwrap();
//! }
//! println!("{game}");
//! ```

pub mod agents;
pub mod connect_four;
pub mod log;
pub mod rng;
pub mod snake;
pub mod transcript;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use rng::GameRng;

/// A set of player indices (at most 8 players).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PlayerSet(u8);

impl PlayerSet {
    /// No players.
    pub const EMPTY: Self = Self(0);

    /// Adds player `p` (ignored for `p >= 8`).
    #[inline]
    pub fn insert(&mut self, p: usize) {
        if p < 8 {
            self.0 |= 1 << p;
        }
    }

    /// Whether player `p` is in the set.
    #[inline]
    pub fn contains(self, p: usize) -> bool {
        p < 8 && self.0 & (1 << p) != 0
    }

    /// How many players.
    #[inline]
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The players, ascending.
    #[inline]
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..8).filter(move |&p| self.contains(p))
    }
}

/// Who must act next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToMove {
    /// These players choose their actions at the same time, none seeing the others'.
    Simultaneous(PlayerSet),
    /// Only this player acts (alternating-move games).
    One(usize),
    /// The game is over.
    Over,
}

/// How a game ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// One player won.
    Winner(u8),
    /// Nobody won.
    Draw,
    /// A solo score task ended with this score; two players of the same seeded instance are
    /// compared by score.
    Score(u32),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Winner(p) => write!(f, "player {p} wins"),
            Outcome::Draw => write!(f, "draw"),
            Outcome::Score(s) => write!(f, "score {s}"),
        }
    }
}

/// A deterministic game, driven one step at a time.
///
/// `step` takes one action per player, in player order; the actions of players who are not
/// to move (see [`Env::to_move`]) are ignored, and action logs record them as code 0.
pub trait Env: Clone {
    /// One player's action.
    type Action: Copy + Eq + fmt::Debug;
    /// Why a step was refused.
    type Error: std::error::Error;
    /// Bits one action takes in a compact action log.
    const ACTION_BITS: u32;

    /// Number of players (seats), including eliminated ones.
    fn players(&self) -> usize;
    /// Steps played so far.
    fn turn(&self) -> u32;
    /// Who must act now.
    fn to_move(&self) -> ToMove;
    /// Plays one step.
    fn step(&mut self, actions: &[Self::Action]) -> Result<(), Self::Error>;
    /// The result once the game is over.
    fn outcome(&self) -> Option<Outcome>;
    /// The action's code in an action log, below `2^ACTION_BITS`.
    fn action_code(action: Self::Action) -> u32;
    /// The action with this code, if any.
    fn action_from_code(code: u32) -> Option<Self::Action>;
    /// Observation tensor shape `[channels, height, width]` for neural agents.
    fn observation_shape(&self) -> [usize; 3];
    /// Writes the observation of `player` into `out` (length = product of the shape).
    fn observe(&self, player: usize, out: &mut [f32]);
}

impl Env for snake::SnakeGame {
    type Action = snake::Direction;
    type Error = snake::SnakeError;
    const ACTION_BITS: u32 = 2;

    #[inline]
    fn players(&self) -> usize {
        self.snakes().len()
    }
    #[inline]
    fn turn(&self) -> u32 {
        snake::SnakeGame::turn(self)
    }
    #[inline]
    fn to_move(&self) -> ToMove {
        snake::SnakeGame::to_move(self)
    }
    #[inline]
    fn step(&mut self, actions: &[Self::Action]) -> Result<(), Self::Error> {
        snake::SnakeGame::step(self, actions)
    }
    #[inline]
    fn outcome(&self) -> Option<Outcome> {
        snake::SnakeGame::outcome(self).copied()
    }
    #[inline]
    fn action_code(action: Self::Action) -> u32 {
        u32::from(action.code())
    }
    #[inline]
    fn action_from_code(code: u32) -> Option<Self::Action> {
        (code < 4).then(|| snake::Direction::from_code(code as u8))
    }
    fn observation_shape(&self) -> [usize; 3] {
        snake::observation::shape(self.params())
    }
    fn observe(&self, player: usize, out: &mut [f32]) {
        snake::observation::encode(self, player, out);
    }
}
