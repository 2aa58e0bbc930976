//! Connect Four: the smallest alternating-move game, here to keep the [`Env`] abstraction
//! honest about games where one player moves at a time (chess and other board games follow
//! the same shape).
//!
//! Seven columns, six rows; players drop discs in turn, player 0 first; four in a row
//! (horizontal, vertical or diagonal) wins; a full board is a draw. An action is a column
//! `0..7`, 3 bits in an action log. Dropping into a full column is refused.

use crate::{Env, Outcome, ToMove};

/// Columns.
pub const COLUMNS: usize = 7;
/// Rows.
pub const ROWS: usize = 6;

/// Why a drop was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectFourError {
    /// The game is over.
    #[error("the game is over")]
    GameOver,
    /// No such column, or the column is full.
    #[error("column {0} is not playable")]
    Column(u8),
    /// `step` takes one action per seat (two).
    #[error("expected 2 actions (one per seat), got {0}")]
    ActionCount(usize),
}

/// A Connect Four position.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ConnectFour {
    /// `cells[row][col]`: 0 empty, 1 player 0, 2 player 1; row 0 is the bottom.
    cells: [[u8; COLUMNS]; ROWS],
    moves: u32,
    outcome: Option<Outcome>,
}

impl ConnectFour {
    /// The empty board.
    pub fn new() -> Self {
        Self::default()
    }

    /// The player to move.
    pub fn current(&self) -> usize {
        (self.moves % 2) as usize
    }

    /// Whether `column` can take a disc.
    pub fn playable(&self, column: u8) -> bool {
        self.cells
            .get(ROWS - 1)
            .and_then(|top| top.get(usize::from(column)))
            .is_some_and(|&c| c == 0)
    }

    /// Drops the current player's disc into `column`.
    pub fn drop_disc(&mut self, column: u8) -> Result<(), ConnectFourError> {
        if self.outcome.is_some() {
            return Err(ConnectFourError::GameOver);
        }
        let col = usize::from(column);
        let row = (0..ROWS)
            .find(|&r| self.cells.get(r).and_then(|row| row.get(col)) == Some(&0))
            .ok_or(ConnectFourError::Column(column))?;
        let disc = self.current() as u8 + 1;
        if let Some(cell) = self.cells.get_mut(row).and_then(|r| r.get_mut(col)) {
            *cell = disc;
        }
        self.moves += 1;
        if self.four_through(row, col) {
            self.outcome = Some(Outcome::Winner(disc - 1));
        } else if self.moves as usize == ROWS * COLUMNS {
            self.outcome = Some(Outcome::Draw);
        }
        Ok(())
    }

    fn at(&self, row: isize, col: isize) -> u8 {
        if row < 0 || col < 0 {
            return 0;
        }
        self.cells
            .get(row as usize)
            .and_then(|r| r.get(col as usize))
            .copied()
            .unwrap_or(0)
    }

    fn four_through(&self, row: usize, col: usize) -> bool {
        let (r, c) = (row as isize, col as isize);
        let disc = self.at(r, c);
        [(0, 1), (1, 0), (1, 1), (1, -1)].iter().any(|&(dr, dc)| {
            let run = |sign: isize| {
                (1..4)
                    .take_while(|&k| self.at(r + sign * k * dr, c + sign * k * dc) == disc)
                    .count()
            };
            1 + run(1) + run(-1) >= 4
        })
    }
}

impl Env for ConnectFour {
    type Action = u8;
    type Error = ConnectFourError;
    const ACTION_BITS: u32 = 3;

    fn players(&self) -> usize {
        2
    }
    fn turn(&self) -> u32 {
        self.moves
    }
    fn to_move(&self) -> ToMove {
        if self.outcome.is_some() {
            ToMove::Over
        } else {
            ToMove::One(self.current())
        }
    }
    fn step(&mut self, actions: &[u8]) -> Result<(), ConnectFourError> {
        if actions.len() != 2 {
            return Err(ConnectFourError::ActionCount(actions.len()));
        }
        let column = actions.get(self.current()).copied().unwrap_or(u8::MAX);
        self.drop_disc(column)
    }
    fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
    fn action_code(action: u8) -> u32 {
        u32::from(action)
    }
    fn action_from_code(code: u32) -> Option<u8> {
        u8::try_from(code)
            .ok()
            .filter(|&c| usize::from(c) < COLUMNS)
    }
    fn observation_shape(&self) -> [usize; 3] {
        [2, ROWS, COLUMNS]
    }
    /// Plane 0: the player's discs, plane 1: the opponent's; row 0 is the top.
    fn observe(&self, player: usize, out: &mut [f32]) {
        let own = player as u8 + 1;
        for (i, slot) in out.iter_mut().take(2 * ROWS * COLUMNS).enumerate() {
            let (plane, rest) = (i / (ROWS * COLUMNS), i % (ROWS * COLUMNS));
            let (row, col) = (ROWS - 1 - rest / COLUMNS, rest % COLUMNS);
            let cell = self.at(row as isize, col as isize);
            let wanted = if plane == 0 { own } else { 3 - own };
            *slot = if cell != 0 && cell == wanted {
                1.0
            } else {
                0.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{PackedActions, replay_actions};

    #[test]
    fn vertical_four_wins_and_play_alternates() {
        let mut g = ConnectFour::new();
        for col in [3, 4, 3, 4, 3, 4] {
            assert_eq!(g.to_move(), ToMove::One(g.current()));
            g.step(&[col, col]).unwrap();
        }
        assert_eq!(g.outcome(), None);
        g.step(&[3, 0]).unwrap();
        assert_eq!(g.outcome(), Some(Outcome::Winner(0)));
        assert_eq!(g.to_move(), ToMove::Over);
        assert_eq!(g.step(&[0, 0]), Err(ConnectFourError::GameOver));
    }

    #[test]
    fn diagonal_four_wins() {
        let mut g = ConnectFour::new();
        // Player 1 builds the staircase under player 0's diagonal 0,1,2,3.
        for col in [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3] {
            g.drop_disc(col).unwrap();
        }
        assert_eq!(g.outcome(), Some(Outcome::Winner(0)));
    }

    #[test]
    fn full_column_is_refused_and_full_board_draws() {
        let mut g = ConnectFour::new();
        for _ in 0..ROWS {
            g.drop_disc(0).unwrap();
        }
        assert_eq!(g.drop_disc(0), Err(ConnectFourError::Column(0)));
        assert_eq!(g.drop_disc(9), Err(ConnectFourError::Column(9)));
        // A drawn fill: a column order that never makes four.
        let mut g = ConnectFour::new();
        let order = [
            4, 3, 6, 0, 1, 4, 5, 5, 1, 1, 5, 0, 1, 6, 0, 1, 5, 5, 1, 0, 4, 6, 3, 2, 6, 6, 0, 4, 6,
            5, 2, 0, 4, 2, 4, 2, 2, 2, 3, 3, 3, 3,
        ];
        for (i, &c) in order.iter().enumerate() {
            assert_eq!(g.outcome(), None, "ended early at move {i}");
            g.drop_disc(c).unwrap();
        }
        assert_eq!(g.outcome(), Some(Outcome::Draw));
    }

    #[test]
    fn replays_from_a_packed_log_with_only_the_mover_slot_set() {
        let mut log = PackedActions::default();
        let mut g = ConnectFour::new();
        for col in [3u8, 4, 3, 4, 3, 4, 3] {
            let mut slots = [0u32; 2];
            slots[g.current()] = u32::from(col);
            log.push_turn(&slots, ConnectFour::ACTION_BITS);
            g.drop_disc(col).unwrap();
        }
        let replayed = replay_actions(ConnectFour::new(), &log, |_, _| {}).unwrap();
        assert_eq!(replayed, g);
        // The idle seat's slot must be zero.
        let mut bad = PackedActions::default();
        bad.push_turn(&[3, 5], ConnectFour::ACTION_BITS);
        assert!(replay_actions(ConnectFour::new(), &bad, |_, _| {}).is_err());
    }
}
