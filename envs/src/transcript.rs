//! The readable game record: what `netsd play` writes and `netsd replay` checks.
//!
//! A transcript is JSON holding the environment and its parameters, the seed (hex), the
//! names of the agents, one string of move letters per turn (`u`, `d`, `l`, `r` per player;
//! `-` for a player who was not to move) and the result. Replaying it must reproduce the
//! result it claims.

use serde::{Deserialize, Serialize};

use crate::log::{ActionLog, EnvSpec, ReplayError, replay_with};
use crate::snake::{Direction, SnakeGame};
use crate::{Outcome, ToMove};

/// The format tag of this version.
pub const FORMAT: &str = "nets-transcript/1";

/// A readable record of one game.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// Always [`FORMAT`].
    pub format: String,
    /// Environment and parameters.
    pub spec: EnvSpec,
    /// The match seed.
    #[serde(with = "crate::log::hex_seed")]
    pub seed: [u8; 32],
    /// Agent names, by player.
    pub players: Vec<String>,
    /// One string per turn, one letter per player.
    pub moves: Vec<String>,
    /// The result the game reached, if it ended.
    pub result: Option<Outcome>,
}

/// Why a transcript is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptError {
    /// Not JSON of the transcript format.
    #[error("not a transcript: {0}")]
    Parse(String),
    /// A different or unknown format tag.
    #[error("format is {0:?}; expected {FORMAT:?}")]
    Format(String),
    /// A turn's moves are malformed.
    #[error("turn {turn}: {problem}")]
    Moves {
        /// Turn index.
        turn: usize,
        /// What is wrong.
        problem: String,
    },
    /// The number of player names does not match the environment.
    #[error("{names} player names for a game of {players} players")]
    Players {
        /// Names given.
        names: usize,
        /// Players in the game.
        players: usize,
    },
    /// The moves do not replay.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// Replaying gives another result than the one recorded.
    #[error("the transcript claims {claimed:?} but replaying gives {replayed:?}")]
    ResultMismatch {
        /// Recorded.
        claimed: Option<Outcome>,
        /// Replayed.
        replayed: Option<Outcome>,
    },
}

impl Transcript {
    /// Builds the transcript of a replayable log.
    pub fn from_log(log: &ActionLog, players: Vec<String>) -> Result<Self, ReplayError> {
        // No capacity from `turns`: it is unchecked input until replay validates the length,
        // and a huge count would abort on allocation.
        let mut moves = Vec::new();
        let game = replay_with(log, |state, actions| {
            let to_move = state.to_move();
            let line: String = actions
                .iter()
                .enumerate()
                .map(|(p, d)| match to_move {
                    ToMove::Simultaneous(set) if set.contains(p) => d.letter(),
                    ToMove::One(q) if q == p => d.letter(),
                    _ => '-',
                })
                .collect();
            moves.push(line);
        })?;
        Ok(Self {
            format: FORMAT.into(),
            spec: log.spec.clone(),
            seed: log.seed,
            players,
            moves,
            result: game.outcome().copied(),
        })
    }

    /// Parses transcript JSON.
    pub fn from_json(text: &str) -> Result<Self, TranscriptError> {
        let t: Self =
            serde_json::from_str(text).map_err(|e| TranscriptError::Parse(e.to_string()))?;
        if t.format != FORMAT {
            return Err(TranscriptError::Format(t.format));
        }
        Ok(t)
    }

    /// Pretty JSON, one turn per line.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The compact action log of these moves.
    pub fn to_log(&self) -> Result<ActionLog, TranscriptError> {
        let players = self.spec.players();
        if self.players.len() != players {
            return Err(TranscriptError::Players {
                names: self.players.len(),
                players,
            });
        }
        let mut log = ActionLog::new(self.spec.clone(), self.seed);
        let mut turn_moves = Vec::with_capacity(players);
        for (turn, line) in self.moves.iter().enumerate() {
            turn_moves.clear();
            for c in line.chars() {
                let d = if c == '-' {
                    Direction::Up
                } else {
                    Direction::from_letter(c).ok_or_else(|| TranscriptError::Moves {
                        turn,
                        problem: format!("{c:?} is not a move (u, d, l, r or -)"),
                    })?
                };
                turn_moves.push(d);
            }
            if turn_moves.len() != players {
                return Err(TranscriptError::Moves {
                    turn,
                    problem: format!("{} moves for {players} players", turn_moves.len()),
                });
            }
            log.push_snake_turn(&turn_moves);
        }
        Ok(log)
    }

    /// Replays the moves and checks the recorded result; returns the final state.
    pub fn verify(&self) -> Result<SnakeGame, TranscriptError> {
        let log = self.to_log()?;
        let canonical = Self::from_log(&log, self.players.clone())?;
        if let Some(turn) =
            (0..self.moves.len()).find(|&t| canonical.moves.get(t) != self.moves.get(t))
        {
            return Err(TranscriptError::Moves {
                turn,
                problem: format!(
                    "{:?} is not canonical: expected {:?} (lowercase letters for players to move, '-' for the others)",
                    self.moves.get(turn).map(String::as_str).unwrap_or(""),
                    canonical.moves.get(turn).map(String::as_str).unwrap_or("")
                ),
            });
        }
        let game = log.replay()?;
        let replayed = game.outcome().copied();
        if replayed != self.result {
            return Err(TranscriptError::ResultMismatch {
                claimed: self.result,
                replayed,
            });
        }
        Ok(game)
    }
}
