//! The board as the agents see it: when each cell becomes free.

use crate::snake::{MAX_BOARD_SIDE, Point, SnakeGame};

const CELLS: usize = MAX_BOARD_SIDE as usize * MAX_BOARD_SIDE as usize;

/// For each cell, the number of moves after which it is free (0: free now). A body segment
/// `k` from the tail (tail = 1) is free after `k` moves, ignoring growth.
pub(crate) struct Grid {
    width: i8,
    height: i8,
    free_after: [u16; CELLS],
}

impl Grid {
    pub(crate) fn new(game: &SnakeGame) -> Self {
        let p = game.params();
        let mut grid = Self {
            width: p.width as i8,
            height: p.height as i8,
            free_after: [0; CELLS],
        };
        for snake in game.snakes().iter().filter(|s| s.is_alive()) {
            let n = snake.len();
            for (k, &seg) in snake.body.iter().enumerate() {
                if let Some(i) = grid.index(seg)
                    && let Some(cell) = grid.free_after.get_mut(i)
                {
                    *cell = (*cell).max((n - k) as u16);
                }
            }
        }
        grid
    }

    pub(crate) fn index(&self, p: Point) -> Option<usize> {
        (p.x >= 0 && p.y >= 0 && p.x < self.width && p.y < self.height)
            .then(|| p.y as usize * self.width as usize + p.x as usize)
    }

    /// Whether a head may stand on `p` after `t` moves.
    pub(crate) fn passable(&self, p: Point, t: u16) -> bool {
        self.index(p)
            .and_then(|i| self.free_after.get(i))
            .is_some_and(|&f| f <= t)
    }

    /// Multi-source breadth-first search from the heads of `snakes`: the number of cells each
    /// reaches strictly first (a cell is entered at distance `d` only if it is free after `d`
    /// moves). Returns the counts, by position in `heads`.
    pub(crate) fn territory(&self, heads: &[Point]) -> [u32; 4] {
        const UNSEEN: u8 = u8::MAX;
        const CONTESTED: u8 = u8::MAX - 1;
        let mut owner = [UNSEEN; CELLS];
        // The breadth-first layer in which each cell was first claimed (0: not yet, or a head).
        let mut claimed_in = [0u16; CELLS];
        let mut frontier: Vec<(Point, u8)> = Vec::with_capacity(64);
        let mut next: Vec<(Point, u8)> = Vec::with_capacity(64);
        for (i, &h) in heads.iter().enumerate() {
            if let Some(cell) = self.index(h).and_then(|c| owner.get_mut(c)) {
                *cell = CONTESTED;
                frontier.push((h, i as u8));
            }
        }
        let mut counts = [0u32; 4];
        let mut t: u16 = 0;
        while !frontier.is_empty() {
            t = t.saturating_add(1);
            next.clear();
            for &(p, who) in &frontier {
                for d in crate::snake::Direction::ALL {
                    let q = p.step(d);
                    if !self.passable(q, t) {
                        continue;
                    }
                    let Some(c) = self.index(q) else { continue };
                    let (Some(cell), Some(layer)) = (owner.get_mut(c), claimed_in.get_mut(c))
                    else {
                        continue;
                    };
                    if *cell == UNSEEN {
                        *cell = who;
                        *layer = t;
                        next.push((q, who));
                    } else if *cell != who && *cell != CONTESTED && *layer == t {
                        // Another snake reached it in this same layer: nobody's.
                        *cell = CONTESTED;
                    }
                }
            }
            for &(q, who) in &next {
                let still_owned = self.index(q).and_then(|c| owner.get(c)) == Some(&who);
                if still_owned && let Some(c) = counts.get_mut(usize::from(who)) {
                    *c += 1;
                }
            }
            next.retain(|&(q, who)| self.index(q).and_then(|c| owner.get(c)) == Some(&who));
            std::mem::swap(&mut frontier, &mut next);
        }
        counts
    }
}
