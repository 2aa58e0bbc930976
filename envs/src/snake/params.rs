//! The parameters of a Snake game: everything besides the seed and the moves that decides it.

use serde::{Deserialize, Serialize};

use crate::snake::SnakeError;

/// The largest board side supported. Coordinates (including one step outside the board) must
/// fit an `i8`, and 25 covers every Battlesnake map in use.
pub const MAX_BOARD_SIDE: u8 = 25;
/// The smallest board side supported: the standard start positions need three distinct
/// columns and rows inside a one-cell margin.
pub const MIN_BOARD_SIDE: u8 = 5;
/// The most snakes in one game.
pub const MAX_SNAKES: u8 = 4;

/// Rules and board of a Snake game. Defaults are the Battlesnake standard ruleset on an 11x11
/// board, a duel, with a turn limit so that every game ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnakeParams {
    /// Board width in cells.
    pub width: u8,
    /// Board height in cells.
    pub height: u8,
    /// Number of snakes: 1 is the solo score task, 2 a duel, 3 or 4 a free-for-all.
    pub snakes: u8,
    /// Health a snake starts with and is restored to when it eats.
    pub max_health: u8,
    /// Body segments a snake starts with (all stacked on its start cell).
    pub start_length: u8,
    /// Percent chance, each turn, that one food spawns when at least `minimum_food` is on
    /// the board.
    pub food_spawn_chance: u8,
    /// Food is topped up to this count at the end of every turn.
    pub minimum_food: u8,
    /// The game ends after this many turns (a draw in a duel with snakes still alive; the
    /// end of a solo run). 0 means no limit, as in Battlesnake itself.
    pub max_turns: u32,
}

impl Default for SnakeParams {
    fn default() -> Self {
        Self {
            width: 11,
            height: 11,
            snakes: 2,
            max_health: 100,
            start_length: 3,
            food_spawn_chance: 15,
            minimum_food: 1,
            max_turns: 500,
        }
    }
}

impl SnakeParams {
    /// The standard duel on a square board of the given side.
    pub fn duel(side: u8) -> Self {
        Self {
            width: side,
            height: side,
            ..Self::default()
        }
    }

    /// The solo score task: one snake, score = food eaten before death or the turn limit.
    pub fn solo(side: u8, max_turns: u32) -> Self {
        Self {
            width: side,
            height: side,
            snakes: 1,
            max_turns,
            ..Self::default()
        }
    }

    /// Checks that the parameters describe a playable game.
    pub fn validate(&self) -> Result<(), SnakeError> {
        let side_ok = |s: u8| (MIN_BOARD_SIDE..=MAX_BOARD_SIDE).contains(&s);
        if !side_ok(self.width) || !side_ok(self.height) {
            return Err(SnakeError::InvalidParams(format!(
                "board is {}x{}; each side must be {MIN_BOARD_SIDE}..={MAX_BOARD_SIDE}",
                self.width, self.height
            )));
        }
        if !(1..=MAX_SNAKES).contains(&self.snakes) {
            return Err(SnakeError::InvalidParams(format!(
                "{} snakes; must be 1..={MAX_SNAKES}",
                self.snakes
            )));
        }
        if self.snakes > 2 && self.width.min(self.height) < 7 {
            return Err(SnakeError::InvalidParams(format!(
                "a free-for-all of {} snakes needs a board of at least 7x7 (the start positions \
                 and their food do not fit on {}x{})",
                self.snakes, self.width, self.height
            )));
        }
        if self.max_health == 0 {
            return Err(SnakeError::InvalidParams(
                "max_health must be at least 1".into(),
            ));
        }
        if self.start_length == 0 {
            return Err(SnakeError::InvalidParams(
                "start_length must be at least 1".into(),
            ));
        }
        if self.food_spawn_chance > 100 {
            return Err(SnakeError::InvalidParams(format!(
                "food_spawn_chance is {}; must be 0..=100",
                self.food_spawn_chance
            )));
        }
        Ok(())
    }

    /// Number of cells on the board.
    pub fn cells(&self) -> usize {
        usize::from(self.width) * usize::from(self.height)
    }
}
