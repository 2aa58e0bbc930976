//! Which cells the live snakes and the food cover, kept up to date turn by turn.
//!
//! Three questions about the board come up every turn: is there food under a head (stage 3),
//! does a head share its cell with any other segment (stage 4), and which cells are free for
//! food (stage 5)? Scanning the food and every body answers them in time proportional to the
//! food on the board and the snakes' total length, which dominated the cost of a turn.
//! [`Occupancy`] answers them in constant time from a bitset of the food cells and a count of
//! live segments per cell, which the stages update as food comes and goes and bodies move,
//! grow and leave the game.
//!
//! It is a cache and decides nothing on its own: it holds exactly the food cells and the
//! in-bounds segments of the live snakes, so a head on a cell without food eats nothing, a
//! head alone on its cell cannot have hit anything, and the free cells it gives are the ones
//! a scan would give. Whenever a head is on food or shares its cell, the exact rules (which
//! count the meals, and attribute the cause and `by`) run on the food and the bodies as
//! before.

use std::collections::VecDeque;
use std::fmt;

use super::{MAX_BOARD_SIDE, Point, Snake};

/// Cells of the largest board.
const CELLS: usize = MAX_BOARD_SIDE as usize * MAX_BOARD_SIDE as usize;

/// 64-bit words of a bitset over the cells of the largest board.
pub(super) const WORDS: usize = CELLS.div_ceil(64);

/// A bitset over the cells, bit `y * width + x`.
pub(super) type CellSet = [u64; WORDS];

/// A cell of the board, by its index `y * width + x` (see [`Occupancy::cell`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cell(u16);

impl Cell {
    /// The index `y * width + x`.
    #[inline]
    pub(super) fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The food cells and the live snake segments per cell (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Occupancy {
    width: u8,
    height: u8,
    /// Live segments on each cell, index `y * width + x`. Segments may be stacked.
    counts: [u8; CELLS],
    /// Bit `i` is set exactly when `counts[i] > 0`.
    occupied: CellSet,
    /// Bit `i` is set exactly when some food lies on cell `i`.
    food: CellSet,
    /// False once a cell would hold more than 255 segments, which only a strange imported
    /// position leads to (hundreds of segments stacked on one cell, or a pile of hundreds of
    /// food eaten at once), or if the counts ever went wrong; from then on nothing is tracked
    /// and the callers scan the bodies instead, as the rules are written.
    exact: bool,
}

impl Occupancy {
    /// The occupancy of `food` and the live snakes' segments on a `width` x `height` board.
    pub(super) fn new(width: u8, height: u8, snakes: &[Snake], food: &[Point]) -> Self {
        let mut occupancy = Self {
            width,
            height,
            counts: [0; CELLS],
            occupied: [0; WORDS],
            food: [0; WORDS],
            exact: true,
        };
        for snake in snakes.iter().filter(|s| s.is_alive()) {
            for &p in &snake.body {
                occupancy.add(p);
            }
        }
        for &p in food {
            occupancy.add_food(p);
        }
        occupancy
    }

    /// The cell at `p`, if `p` is on the board.
    pub(super) fn cell(&self, p: Point) -> Option<Cell> {
        // A negative coordinate becomes at least 128 as a `u8`, so one comparison per axis.
        let (x, y) = (p.x as u8, p.y as u8);
        ((x < self.width) & (y < self.height))
            // At most 24 * 25 + 24: a `u16`.
            .then(|| Cell(u16::from(y) * u16::from(self.width) + u16::from(x)))
    }

    /// Records a segment on `p` (nothing if `p` is off the board).
    pub(super) fn add(&mut self, p: Point) {
        if let Some(cell) = self.cell(p) {
            self.add_at(cell);
        }
    }

    /// Records a segment on `cell`.
    pub(super) fn add_at(&mut self, cell: Cell) {
        let i = cell.index();
        if !self.exact {
            return;
        }
        match self.counts.get_mut(i) {
            Some(count) if *count < u8::MAX => {
                *count += 1;
                if let Some(word) = self.occupied.get_mut(i / 64) {
                    *word |= 1 << (i % 64);
                }
            }
            _ => self.exact = false,
        }
    }

    /// Forgets a segment on `p` (nothing if `p` is off the board).
    pub(super) fn remove(&mut self, p: Point) {
        if !self.exact {
            return;
        }
        let Some(i) = self.cell(p).map(Cell::index) else {
            return;
        };
        match self.counts.get_mut(i) {
            Some(count) if *count > 0 => {
                *count -= 1;
                if *count == 0
                    && let Some(word) = self.occupied.get_mut(i / 64)
                {
                    *word &= !(1 << (i % 64));
                }
            }
            _ => {
                debug_assert!(false, "no segment to remove at ({}, {})", p.x, p.y);
                self.exact = false;
            }
        }
    }

    /// Records food on `p` (nothing if `p` is off the board).
    pub(super) fn add_food(&mut self, p: Point) {
        if let Some(i) = self.cell(p).map(Cell::index)
            && let Some(word) = self.food.get_mut(i / 64)
        {
            *word |= 1 << (i % 64);
        }
    }

    /// Records that `p` holds no more food: all of the food on it was eaten.
    pub(super) fn remove_food(&mut self, p: Point) {
        if let Some(cell) = self.cell(p) {
            self.remove_food_at(cell);
        }
    }

    /// Records that `cell` holds no more food: all of the food on it was eaten.
    pub(super) fn remove_food_at(&mut self, cell: Cell) {
        let i = cell.index();
        if let Some(word) = self.food.get_mut(i / 64) {
            *word &= !(1 << (i % 64));
        }
    }

    /// Whether some food lies on `cell`.
    pub(super) fn has_food(&self, cell: Cell) -> bool {
        let i = cell.index();
        self.food
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    /// The cells with food.
    pub(super) fn food(&self) -> &CellSet {
        &self.food
    }

    /// Forgets every segment of a body (a snake leaving the game).
    pub(super) fn remove_body(&mut self, body: &VecDeque<Point>) {
        for &p in body {
            self.remove(p);
        }
    }

    /// Whether exactly one live segment covers `cell`: then a head there has hit nothing.
    /// False when unknown.
    pub(super) fn holds_one(&self, cell: Cell) -> bool {
        self.exact && self.counts.get(cell.index()) == Some(&1)
    }

    /// The cells covered by a live segment, if tracked.
    pub(super) fn occupied(&self) -> Option<&CellSet> {
        self.exact.then_some(&self.occupied)
    }

    /// Whether the counts are tracked.
    #[cfg(test)]
    pub(super) fn is_exact(&self) -> bool {
        self.exact
    }

    /// Stops tracking, as after an overflow, so that tests can play the fallback paths.
    #[cfg(test)]
    pub(super) fn forget(&mut self) {
        self.exact = false;
    }
}

impl fmt::Debug for Occupancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let covered: u32 = self.occupied.iter().map(|w| w.count_ones()).sum();
        f.debug_struct("Occupancy")
            .field("exact", &self.exact)
            .field("covered_cells", &covered)
            .finish_non_exhaustive()
    }
}
