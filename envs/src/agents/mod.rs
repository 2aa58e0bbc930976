//! Built-in deterministic agents: the baselines every league starts with.
//!
//! Three strengths, clearly apart: [`RandomAgent`] (seeded, avoids only reversing into its own
//! neck), [`Greedy`] (heads for the nearest food while avoiding moves that die at once) and
//! [`Search`] (paranoid depth-limited search over simultaneous moves with a flood-fill
//! territory evaluation). Search is bounded by a count of simulated turns, never by time, so
//! its moves are the same on every machine.

mod greedy;
mod grid;
mod random;
mod search;

pub use greedy::Greedy;
pub use random::RandomAgent;
pub use search::Search;

use crate::snake::{Direction, SnakeGame};

/// Something that picks a snake's move.
pub trait Agent {
    /// A short name for transcripts and tables.
    fn name(&self) -> String;
    /// The move of `player` in `game`.
    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction;
}

impl<A: Agent + ?Sized> Agent for Box<A> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction {
        (**self).choose(game, player)
    }
}

/// The built-in agent kinds, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltIn {
    /// [`RandomAgent`].
    Random,
    /// [`Greedy`].
    Greedy,
    /// [`Search`].
    Search,
}

impl BuiltIn {
    /// All kinds, weakest first.
    pub const ALL: [BuiltIn; 3] = [BuiltIn::Random, BuiltIn::Greedy, BuiltIn::Search];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BuiltIn::Random => "random",
            BuiltIn::Greedy => "greedy",
            BuiltIn::Search => "search",
        }
    }

    /// Parses a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A fresh agent of this kind; `seed` feeds the random agent.
    pub fn build(self, seed: [u8; 32]) -> Box<dyn Agent + Send> {
        match self {
            BuiltIn::Random => Box::new(RandomAgent::new(seed)),
            BuiltIn::Greedy => Box::new(Greedy),
            BuiltIn::Search => Box::new(Search::default()),
        }
    }
}

/// The seed of player `player`'s agent in a game with match seed `seed`: the match seed with
/// its last byte xor-ed with `player + 1`, so agents of one game draw different streams.
pub fn agent_seed(seed: [u8; 32], player: usize) -> [u8; 32] {
    let mut s = seed;
    s[31] ^= (player as u8).wrapping_add(1);
    s
}

/// Plays a whole game between `agents` (one per player) and returns the final state and the
/// moves of every turn.
pub fn play(
    mut game: SnakeGame,
    agents: &mut [Box<dyn Agent + Send>],
) -> Result<(SnakeGame, Vec<Vec<Direction>>), crate::snake::SnakeError> {
    let mut turns = Vec::new();
    while !game.is_over() {
        let moves: Vec<Direction> = agents
            .iter_mut()
            .enumerate()
            .map(|(p, a)| {
                if game.snakes().get(p).is_some_and(|s| s.is_alive()) {
                    a.choose(&game, p)
                } else {
                    Direction::Up
                }
            })
            .collect();
        game.step(&moves)?;
        turns.push(moves);
    }
    Ok((game, turns))
}
