//! Snake on the Battlesnake standard rules.
//!
//! A game is a [`SnakeGame`]: the board, the snakes, the food, the turn and the game's random
//! stream. [`SnakeGame::step`] applies one turn of simultaneous moves as a pipeline of named
//! stages, in the order of the Battlesnake standard ruleset:
//!
//! 1. [`SnakeGame::stage_move`]: every live snake moves its head one cell and drops its tail.
//! 2. [`SnakeGame::stage_starve`]: every live snake loses one health.
//! 3. [`SnakeGame::stage_feed`]: a snake whose head is on food eats it (health restored,
//!    body grows by one at the next move); several snakes on one food all eat.
//! 4. [`SnakeGame::stage_eliminate`]: starvation and leaving the board first, then self
//!    collisions, body collisions and lost head-to-heads (shorter or equal length loses),
//!    judged together on the post-move board.
//! 5. [`SnakeGame::stage_spawn_food`]: food is topped up to the minimum, otherwise one food
//!    spawns with the spawn chance.
//!
//! Each stage can be run on its own; `step` runs stages 1 to 4 in a single pass over the
//! snakes, with the same result (see the `rules` module). A private cache of which cells the
//! live snakes cover spares the usual turn any scan of the bodies (see the `occupancy`
//! module); replaying logs is what every node does to verify outcomes, so it has to be fast.
//!
//! # Randomness, in order
//! All draws come from one [`GameRng`] keyed by the match seed (see [`crate::rng`]):
//! - at setup: shuffle the four corner start cells, shuffle the four edge-centre start cells,
//!   then `below(2)` picks corners first (0) or edge centres first (1); then for each snake in
//!   order, `below(k)` picks its first food among the `k` allowed cells (see
//!   [`SnakeGame::new`]);
//! - every turn, in stage 5: if food is below the minimum, one `below(free)` per missing food;
//!   otherwise, if the spawn chance is positive, `below(100) < chance` decides whether one
//!   food spawns, and if so one `below(free)` places it. `free` counts the cells that hold no
//!   food, no live snake and are not next to a live snake's head, in row-major order (`y`
//!   then `x`, ascending).
//!
//! Coordinates follow Battlesnake: `(0, 0)` is the bottom-left cell and `Up` is `y + 1`.

mod occupancy;
mod params;
mod rules;
mod setup;
mod text;

pub mod battlesnake;
pub mod observation;

pub use params::{MAX_BOARD_SIDE, MAX_SNAKES, MIN_BOARD_SIDE, SnakeParams};

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::rng::GameRng;
use crate::{Outcome, PlayerSet, ToMove};
use occupancy::Occupancy;

/// Errors of the Snake environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnakeError {
    /// The parameters describe no playable game.
    #[error("invalid snake parameters: {0}")]
    InvalidParams(String),
    /// A turn was played after the game ended.
    #[error("the game is over (turn {turn})")]
    GameOver {
        /// The turn at which the game ended.
        turn: u32,
    },
    /// A turn came with the wrong number of moves.
    #[error("expected {expected} moves (one per snake), got {got}")]
    WrongMoveCount {
        /// One per snake in the game.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A state (e.g. imported from JSON) is not a valid position.
    #[error("invalid state: {0}")]
    InvalidState(String),
}

/// A cell, or one step outside the board. `(0, 0)` is bottom-left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Point {
    /// Column, 0 at the left edge.
    pub x: i8,
    /// Row, 0 at the bottom edge.
    pub y: i8,
}

impl Point {
    /// The point at `(x, y)`.
    pub const fn new(x: i8, y: i8) -> Self {
        Self { x, y }
    }

    /// The neighbouring point in direction `d`.
    pub const fn step(self, d: Direction) -> Self {
        // One offset per direction (a table lookup, not a branch: moves are unpredictable).
        let (dx, dy) = match d {
            Direction::Up => (0, 1),
            Direction::Down => (0, -1),
            Direction::Left => (-1, 0),
            Direction::Right => (1, 0),
        };
        Self::new(self.x + dx, self.y + dy)
    }

    /// Manhattan distance.
    pub fn distance(self, other: Self) -> u32 {
        u32::from(self.x.abs_diff(other.x)) + u32::from(self.y.abs_diff(other.y))
    }
}

/// A move. The discriminant is the move's 2-bit code in action logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Direction {
    /// `y + 1`.
    Up = 0,
    /// `y - 1`.
    Down = 1,
    /// `x - 1`.
    Left = 2,
    /// `x + 1`.
    Right = 3,
}

impl Direction {
    /// All four, in code order.
    pub const ALL: [Direction; 4] = [
        Direction::Up,
        Direction::Down,
        Direction::Left,
        Direction::Right,
    ];

    /// The 2-bit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The move with the given 2-bit code (only the low two bits are read).
    pub const fn from_code(code: u8) -> Self {
        match code & 3 {
            0 => Direction::Up,
            1 => Direction::Down,
            2 => Direction::Left,
            _ => Direction::Right,
        }
    }

    /// The opposite move.
    pub const fn opposite(self) -> Self {
        match self {
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
            Direction::Left => Direction::Right,
            Direction::Right => Direction::Left,
        }
    }

    /// One letter: `u`, `d`, `l`, `r`.
    pub const fn letter(self) -> char {
        match self {
            Direction::Up => 'u',
            Direction::Down => 'd',
            Direction::Left => 'l',
            Direction::Right => 'r',
        }
    }

    /// Parses one letter (either case).
    pub fn from_letter(c: char) -> Option<Self> {
        match c.to_ascii_lowercase() {
            'u' => Some(Direction::Up),
            'd' => Some(Direction::Down),
            'l' => Some(Direction::Left),
            'r' => Some(Direction::Right),
            _ => None,
        }
    }

    /// The Battlesnake name: `up`, `down`, `left`, `right`.
    pub const fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Left => "left",
            Direction::Right => "right",
        }
    }

    /// Parses a Battlesnake move name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "up" => Some(Direction::Up),
            "down" => Some(Direction::Down),
            "left" => Some(Direction::Left),
            "right" => Some(Direction::Right),
            _ => None,
        }
    }
}

/// Why a snake left the game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EliminationCause {
    /// Health reached 0.
    OutOfHealth,
    /// The head left the board.
    OutOfBounds,
    /// The head hit the snake's own body.
    SelfCollision,
    /// The head hit another snake's body.
    Collision,
    /// Heads met and this snake was not the strictly longest.
    HeadToHead,
}

/// When and why a snake was eliminated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Elimination {
    /// The cause.
    pub cause: EliminationCause,
    /// The snake whose body or head it hit, if any (its own index for self collisions).
    pub by: Option<u8>,
    /// The turn number after the move that eliminated it (Battlesnake's convention).
    pub turn: u32,
}

/// One snake.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snake {
    /// Head first. Segments may be stacked (at the start, and for one turn after eating).
    pub body: VecDeque<Point>,
    /// Turns left before starvation, restored to the maximum by eating.
    pub health: u8,
    /// Food eaten so far (the score of the solo task).
    pub eaten: u32,
    /// `None` while the snake is in the game.
    pub eliminated: Option<Elimination>,
}

impl Snake {
    /// The head. Every snake has at least one segment.
    #[inline]
    pub fn head(&self) -> Point {
        self.body.front().copied().unwrap_or(Point::new(-1, -1))
    }

    /// Body length in segments.
    #[inline]
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the snake has no segments (never true for a valid state).
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// Whether the snake is still in the game.
    #[inline]
    pub fn is_alive(&self) -> bool {
        self.eliminated.is_none()
    }

    /// The move Battlesnake applies for a snake that sent none: continue in the direction
    /// from the neck to the head, or `Up` while they are stacked.
    pub fn default_move(&self) -> Direction {
        let (Some(&head), Some(&neck)) = (self.body.front(), self.body.get(1)) else {
            return Direction::Up;
        };
        if head.y > neck.y {
            Direction::Up
        } else if head.y < neck.y {
            Direction::Down
        } else if head.x < neck.x {
            Direction::Left
        } else if head.x > neck.x {
            Direction::Right
        } else {
            Direction::Up
        }
    }
}

/// A game of Snake in progress or finished.
#[derive(Clone, Debug)]
pub struct SnakeGame {
    params: SnakeParams,
    turn: u32,
    snakes: Vec<Snake>,
    food: Vec<Point>,
    rng: GameRng,
    outcome: Option<Outcome>,
    /// The cells the live snakes cover: a cache of `snakes` that every stage keeps current.
    occupancy: Occupancy,
    /// Bit `i` is set while snake `i` is in the game: a cache of `snakes` (their
    /// `eliminated`), renewed wherever a snake leaves, so that [`alive`](Self::alive), asked
    /// twice a turn, reads no snake.
    live: u8,
}

// Two games are equal when their states are; the caches take no part.
impl PartialEq for SnakeGame {
    fn eq(&self, other: &Self) -> bool {
        let Self {
            params,
            turn,
            snakes,
            food,
            rng,
            outcome,
            occupancy: _,
            live: _,
        } = self;
        *params == other.params
            && *turn == other.turn
            && *snakes == other.snakes
            && *food == other.food
            && *rng == other.rng
            && *outcome == other.outcome
    }
}

impl SnakeGame {
    /// The parameters.
    #[inline]
    pub fn params(&self) -> &SnakeParams {
        &self.params
    }

    /// Turns played so far.
    #[inline]
    pub fn turn(&self) -> u32 {
        self.turn
    }

    /// All snakes, eliminated ones included, in player order.
    #[inline]
    pub fn snakes(&self) -> &[Snake] {
        &self.snakes
    }

    /// Food on the board, in the order it was placed.
    #[inline]
    pub fn food(&self) -> &[Point] {
        &self.food
    }

    /// The game's random stream (its position is part of the state).
    pub fn rng(&self) -> &GameRng {
        &self.rng
    }

    /// The result, once the game is over.
    #[inline]
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Whether the game has ended.
    #[inline]
    pub fn is_over(&self) -> bool {
        self.outcome.is_some()
    }

    /// Whether `p` lies on the board.
    #[inline]
    pub fn in_bounds(&self, p: Point) -> bool {
        p.x >= 0 && p.y >= 0 && (p.x as u8) < self.params.width && (p.y as u8) < self.params.height
    }

    /// The snakes still in the game.
    #[inline]
    pub fn alive(&self) -> PlayerSet {
        debug_assert_eq!(
            self.live,
            live_bits(&self.snakes),
            "stale set of live snakes"
        );
        PlayerSet(self.live)
    }

    /// Who must move now.
    #[inline]
    pub fn to_move(&self) -> ToMove {
        if self.is_over() {
            ToMove::Over
        } else {
            ToMove::Simultaneous(self.alive())
        }
    }

    /// Plays one turn. `moves` holds one move per snake in player order; moves of eliminated
    /// snakes are ignored.
    #[inline]
    pub fn step(&mut self, moves: &[Direction]) -> Result<(), SnakeError> {
        if self.is_over() {
            return Err(SnakeError::GameOver { turn: self.turn });
        }
        if moves.len() != self.snakes.len() {
            return Err(SnakeError::WrongMoveCount {
                expected: self.snakes.len(),
                got: moves.len(),
            });
        }
        self.step_without_food_spawn(moves);
        self.stage_spawn_food();
        Ok(())
    }

    /// Plays one turn like [`step`](Self::step) but places no new food (for stepping foreign
    /// states with spawning switched off).
    pub fn step_no_spawn(&mut self, moves: &[Direction]) -> Result<(), SnakeError> {
        if self.is_over() {
            return Err(SnakeError::GameOver { turn: self.turn });
        }
        if moves.len() != self.snakes.len() {
            return Err(SnakeError::WrongMoveCount {
                expected: self.snakes.len(),
                got: moves.len(),
            });
        }
        self.step_without_food_spawn(moves);
        Ok(())
    }

    // Inlined, with `advance`, into each loop that plays turns (replays, the agents'
    // playouts): a call per turn cost about a fifth of the stepping speed.
    #[inline(always)]
    fn step_without_food_spawn(&mut self, moves: &[Direction]) {
        // Stages 1 to 4 in one pass over the snakes (see `rules`).
        self.advance(moves);
        self.turn = self.turn.saturating_add(1);
        self.outcome = self.judge();
    }

    /// The result if the game is over now: a duel or free-for-all ends when at most one snake
    /// is left (a win, or a draw if none) or at the turn limit (a draw); the solo task ends
    /// when its snake dies or at the turn limit, scoring the food it ate.
    #[inline]
    fn judge(&self) -> Option<Outcome> {
        let at_limit = self.params.max_turns > 0 && self.turn >= self.params.max_turns;
        let alive = self.alive();
        if self.snakes.len() == 1 {
            let snake = self.snakes.first()?;
            return (at_limit || !snake.is_alive()).then_some(Outcome::Score(snake.eaten));
        }
        // At most one snake left when clearing the lowest set bit leaves none (no count of
        // bits needed on this path, which every turn takes).
        if alive.0 & alive.0.wrapping_sub(1) == 0 {
            return Some(match alive.iter().next() {
                Some(p) => Outcome::Winner(p as u8),
                None => Outcome::Draw,
            });
        }
        at_limit.then_some(Outcome::Draw)
    }

    /// Builds a state directly (used by the JSON import and by tests); checks it is a valid
    /// position.
    pub fn from_parts(
        params: SnakeParams,
        turn: u32,
        snakes: Vec<Snake>,
        food: Vec<Point>,
        seed: [u8; 32],
    ) -> Result<Self, SnakeError> {
        params.validate()?;
        if snakes.len() != usize::from(params.snakes) {
            return Err(SnakeError::InvalidState(format!(
                "{} snakes given, parameters say {}",
                snakes.len(),
                params.snakes
            )));
        }
        let occupancy = Occupancy::new(params.width, params.height, &snakes, &food);
        let live = live_bits(&snakes);
        let mut game = Self {
            params,
            turn,
            snakes,
            food,
            rng: GameRng::from_seed(seed),
            outcome: None,
            occupancy,
            live,
        };
        for (i, s) in game.snakes.iter().enumerate() {
            if s.body.is_empty() {
                return Err(SnakeError::InvalidState(format!("snake {i} has no body")));
            }
            if s.health > game.params.max_health {
                return Err(SnakeError::InvalidState(format!(
                    "snake {i} has health {} above the maximum {}",
                    s.health, game.params.max_health
                )));
            }
            if s.is_alive() {
                if let Some(p) = s.body.iter().find(|p| !game.in_bounds(**p)) {
                    return Err(SnakeError::InvalidState(format!(
                        "snake {i} has a segment off the board at ({}, {})",
                        p.x, p.y
                    )));
                }
                if let Some(w) = s
                    .body
                    .iter()
                    .zip(s.body.iter().skip(1))
                    .find(|(a, b)| a.distance(**b) > 1)
                {
                    return Err(SnakeError::InvalidState(format!(
                        "snake {i} has a gap between ({}, {}) and ({}, {})",
                        w.0.x, w.0.y, w.1.x, w.1.y
                    )));
                }
            }
        }
        if let Some(p) = game.food.iter().find(|p| !game.in_bounds(**p)) {
            return Err(SnakeError::InvalidState(format!(
                "food off the board at ({}, {})",
                p.x, p.y
            )));
        }
        game.outcome = game.judge();
        Ok(game)
    }

    /// Replaces the random stream (e.g. to step an imported state with a chosen seed).
    pub fn reseed(&mut self, seed: [u8; 32]) {
        self.rng = GameRng::from_seed(seed);
    }
}

/// One bit per snake in the game, without branching (`take(8)` is `PlayerSet::insert`'s
/// limit).
fn live_bits(snakes: &[Snake]) -> u8 {
    snakes
        .iter()
        .take(8)
        .enumerate()
        .fold(0u8, |bits, (i, s)| bits | (u8::from(s.is_alive()) << i))
}

#[cfg(test)]
mod tests;
