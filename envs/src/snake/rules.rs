//! The stages of one turn, in the order [`SnakeGame::step`] runs them.
//!
//! Each stage is a public method and can be run on its own. [`SnakeGame::step`] runs stages
//! 1 to 4 in a single pass over the snakes instead ([`SnakeGame::advance`]), with the same
//! result: one snake's part of stages 1 to 3, and of the first pass of stage 4, depends only on
//! that snake and the food. Both paths are built from the same per-snake steps below, and a
//! test checks that they agree.

use super::occupancy::{Cell, CellSet, Occupancy, WORDS};
use super::{Direction, Elimination, EliminationCause, MAX_SNAKES, Point, Snake, SnakeGame};

/// Per player, the cell of the head of a snake still in the game after the first elimination
/// pass.
type Heads = [Option<Cell>; MAX_SNAKES as usize];

impl SnakeGame {
    /// Stage 1: each live snake moves its head one cell in its direction and drops its last
    /// segment. Eliminated snakes do not move.
    pub fn stage_move(&mut self, moves: &[Direction]) {
        for (snake, &d) in self.snakes.iter_mut().zip(moves) {
            if snake.is_alive() {
                move_snake(snake, d, &mut self.occupancy);
            }
        }
    }

    /// Stage 2: each live snake loses one health.
    pub fn stage_starve(&mut self) {
        for snake in self.snakes.iter_mut().filter(|s| s.is_alive()) {
            snake.health = snake.health.saturating_sub(1);
        }
    }

    /// Stage 3: each food under a live snake's head is eaten by every snake whose head is on
    /// it: health back to the maximum, and the tail segment is doubled so the body grows by one
    /// at the next move. Eaten food leaves the board.
    pub fn stage_feed(&mut self) {
        let max_health = self.params.max_health;
        let snakes = &mut self.snakes;
        let occupancy = &mut self.occupancy;
        self.food.retain(|&food| {
            let mut eaten = false;
            for snake in snakes.iter_mut().filter(|s| s.is_alive()) {
                if snake.head() == food {
                    eat(snake, max_health, occupancy);
                    eaten = true;
                }
            }
            if eaten {
                occupancy.remove_food(food);
            }
            !eaten
        });
    }

    /// Stage 4: eliminations, in two passes like Battlesnake's standard ruleset.
    ///
    /// First, each live snake at 0 health is out of health, else one whose head left the board
    /// is out of bounds; both are eliminated at once. Then, against the snakes still live
    /// after that, each snake is checked in order for a self collision, then a collision
    /// with another snake's body (any segment but the head), then a lost head-to-head (heads
    /// on one cell and this snake not strictly longer). Other snakes are tried longest first
    /// (ties by index) so that `by` is reproducible. The collision eliminations of the second
    /// pass are applied together, so two snakes can eliminate each other.
    pub fn stage_eliminate(&mut self) {
        let turn = self.turn.saturating_add(1);
        let mut heads: Heads = [None; MAX_SNAKES as usize];
        for (i, snake) in self.snakes.iter_mut().enumerate() {
            if snake.is_alive() {
                let cell = self.occupancy.cell(snake.head());
                let live = first_pass(snake, cell, turn, &mut self.occupancy);
                if let Some(slot) = heads.get_mut(i) {
                    *slot = live;
                }
            }
        }
        self.live = super::live_bits(&self.snakes);
        self.second_pass(&heads, turn);
    }

    /// Stages 1 to 4 in one pass over the snakes: what [`step`](Self::step) runs, with the
    /// same result as running [`stage_move`](Self::stage_move),
    /// [`stage_starve`](Self::stage_starve), [`stage_feed`](Self::stage_feed) and
    /// [`stage_eliminate`](Self::stage_eliminate) in turn.
    ///
    /// Why the order may change: stages 1 to 3 and the first pass of stage 4 treat each snake
    /// on its own (its move, its health, the food under its head), so they can run snake by
    /// snake. Eaten food leaves the board only once every snake has eaten, so snakes sharing a
    /// food all eat it, once per food on the cell, as in stage 3; the occupancy counts do not
    /// depend on the order of their updates; and the second pass starts once every snake is
    /// done, as in stage 4.
    #[inline(always)] // see `step_without_food_spawn`
    pub(super) fn advance(&mut self, moves: &[Direction]) {
        let turn = self.turn.saturating_add(1);
        let max_health = self.params.max_health;
        let mut heads: Heads = [None; MAX_SNAKES as usize];
        let mut ate = false;
        let mut left = false;
        for ((snake, &d), slot) in self.snakes.iter_mut().zip(moves).zip(&mut heads) {
            if !snake.is_alive() {
                continue;
            }
            // Stages 1 and 2.
            let (head, cell) = move_snake(snake, d, &mut self.occupancy);
            snake.health = snake.health.saturating_sub(1);
            // Stage 3: one meal per food on the head's cell.
            if cell.is_some_and(|cell| self.occupancy.has_food(cell)) {
                for _ in self.food.iter().filter(|&&f| f == head) {
                    eat(snake, max_health, &mut self.occupancy);
                }
                ate = true;
            }
            // Stage 4, first pass.
            let live = first_pass(snake, cell, turn, &mut self.occupancy);
            left |= live.is_none();
            *slot = live;
        }
        if left {
            self.live = super::live_bits(&self.snakes);
        }
        if ate {
            self.remove_eaten_food(&heads);
        }
        self.second_pass(&heads, turn);
    }

    /// Takes the food off the cells where heads are after stage 3, all of the food on each,
    /// keeping the order of the rest: the meals of the turn. (A snake that ate keeps its head
    /// through the first pass of stage 4, with full health and its head on the board; food
    /// under the other heads would have been eaten.)
    #[cold]
    fn remove_eaten_food(&mut self, heads: &Heads) {
        let mut meals = [Point::new(-1, -1); MAX_SNAKES as usize];
        let mut n = 0;
        for (head, snake) in heads.iter().zip(&self.snakes) {
            if let Some(cell) = *head
                && self.occupancy.has_food(cell)
                && let Some(meal) = meals.get_mut(n)
            {
                // Heads sharing a meal find the cell emptied and list it once.
                self.occupancy.remove_food_at(cell);
                *meal = snake.head();
                n += 1;
            }
        }
        match meals.get(..n).unwrap_or(&[]) {
            [meal] => self.food.retain(|f| f != meal),
            meals => self.food.retain(|f| !meals.contains(f)),
        }
    }

    /// The second pass of stage 4 for the snakes whose heads are in `heads`.
    #[inline(always)]
    fn second_pass(&mut self, heads: &Heads, turn: u32) {
        // A head alone on its cell has hit nothing: most turns, nobody needs the exact checks.
        if heads
            .iter()
            .all(|head| head.is_none_or(|head| self.occupancy.holds_one(head)))
        {
            return;
        }
        self.collisions(heads, turn);
    }

    /// The second pass of stage 4 for the heads that share their cell.
    #[cold]
    fn collisions(&mut self, heads: &Heads, turn: u32) {
        let mut order = None;
        let mut collisions: [Option<(EliminationCause, u8)>; MAX_SNAKES as usize] =
            [None; MAX_SNAKES as usize];
        let mut any = false;
        for (i, (head, slot)) in heads.iter().zip(&mut collisions).enumerate() {
            if let Some(head) = *head
                && !self.occupancy.holds_one(head)
            {
                let (by_length, n) = order.get_or_insert_with(|| self.longest_first());
                *slot = self.collision(i, by_length.get(..*n).unwrap_or(&[]));
                any |= slot.is_some();
            }
        }
        if !any {
            return;
        }
        for (snake, found) in self.snakes.iter_mut().zip(collisions) {
            if let Some((cause, by)) = found {
                snake.eliminated = Some(Elimination {
                    cause,
                    by: Some(by),
                    turn,
                });
                self.occupancy.remove_body(&snake.body);
            }
        }
        self.live = super::live_bits(&self.snakes);
    }

    /// The snakes by length, longest first, ties by index: the order in which
    /// [`collision`](Self::collision) tries the others, so that `by` is reproducible.
    fn longest_first(&self) -> ([usize; MAX_SNAKES as usize], usize) {
        let mut by_length: [usize; MAX_SNAKES as usize] = [0, 1, 2, 3];
        let n = self.snakes.len().min(MAX_SNAKES as usize);
        if let Some(order) = by_length.get_mut(..n) {
            order.sort_by_key(|&i| {
                (
                    std::cmp::Reverse(self.snakes.get(i).map_or(0, |s| s.len())),
                    i,
                )
            });
        }
        (by_length, n)
    }

    /// The collision that eliminates live snake `i`, if any, with the snake it hit: its own
    /// body, then another live snake's body, then a head-to-head it does not win, trying the
    /// others in `order`.
    fn collision(&self, i: usize, order: &[usize]) -> Option<(EliminationCause, u8)> {
        let snake = self.snakes.get(i)?;
        let head = snake.head();
        let hits_body = |other: &Snake| other.body.iter().skip(1).any(|&p| p == head);
        let found = if hits_body(snake) {
            Some((EliminationCause::SelfCollision, i))
        } else if let Some(&j) = order.iter().find(|&&j| {
            j != i
                && self
                    .snakes
                    .get(j)
                    .is_some_and(|o| o.is_alive() && hits_body(o))
        }) {
            Some((EliminationCause::Collision, j))
        } else {
            order
                .iter()
                .find(|&&j| {
                    j != i
                        && self.snakes.get(j).is_some_and(|o| {
                            o.is_alive() && o.head() == head && snake.len() <= o.len()
                        })
                })
                .map(|&j| (EliminationCause::HeadToHead, j))
        };
        found.map(|(cause, by)| (cause, by as u8))
    }

    /// Stage 5: food spawning. Below the minimum, food is placed until the minimum is reached;
    /// otherwise one food spawns with `food_spawn_chance` percent. Each food goes to a cell
    /// drawn uniformly from the free cells (see the module docs); with no free cell, none.
    #[inline]
    pub fn stage_spawn_food(&mut self) {
        let minimum = usize::from(self.params.minimum_food);
        let wanted = if self.food.len() < minimum {
            minimum - self.food.len()
        } else if self.params.food_spawn_chance > 0
            && self.rng.below(100) < u32::from(self.params.food_spawn_chance)
        {
            1
        } else {
            0
        };
        for _ in 0..wanted {
            if !self.place_food_randomly() {
                break;
            }
        }
    }

    /// Places one food on a uniformly drawn free cell; false if there is none.
    ///
    /// Kept out of line: most turns place no food, and the draw that decides it should not
    /// pay for this function's registers and bitsets.
    #[inline(never)]
    fn place_food_randomly(&mut self) -> bool {
        match self.free_cells_small() {
            Some(free) => self.place_food_small(free),
            None => self.place_food_large(),
        }
    }

    /// [`place_food_randomly`](Self::place_food_randomly) given the free cells of a board of
    /// at most 128 cells as two words (see [`free_cells_small`](Self::free_cells_small)): the
    /// same draw and the same cell as on any board.
    #[inline(always)]
    fn place_food_small(&mut self, [low, high]: [u64; 2]) -> bool {
        let in_low = low.count_ones();
        let count = in_low + high.count_ones();
        if count == 0 {
            return false;
        }
        let k = self.rng.below(count);
        // The cell of rank `k` is in the high word when the low one holds at most `k` free
        // cells. Chosen without branching, as `k` is random.
        let in_high = k >= in_low;
        let word = if in_high { high } else { low };
        let rank = if in_high { k - in_low } else { k };
        self.put_food(64 * u32::from(in_high) + select(word, rank));
        true
    }

    /// [`place_food_randomly`](Self::place_food_randomly) on any board.
    #[cold]
    fn place_food_large(&mut self) -> bool {
        let free = self.free_cells();
        let words = self.params.cells().div_ceil(64);
        // Free cells per word, counted once for the draw and the search.
        let mut ones = [0u32; WORDS];
        let mut count = 0u32;
        for (n, word) in ones.iter_mut().zip(&free).take(words) {
            *n = word.count_ones();
            count += *n;
        }
        if count == 0 {
            return false;
        }
        let k = self.rng.below(count);
        // The word holding the free cell of rank `k`: the words before it are those whose
        // running total of free cells is at most `k`. Counted without branching, as `k` is
        // random and a branch on it would mispredict.
        let (mut word_index, mut skipped, mut total) = (0usize, 0u32, 0u32);
        for &n in ones.iter().take(words) {
            total += n;
            let before = u32::from(total <= k);
            word_index += before as usize;
            skipped += before * n;
        }
        let Some(&word) = free.get(word_index) else {
            return false;
        };
        // At most 625 cells: the index fits a `u32`.
        self.put_food(word_index as u32 * 64 + select(word, k - skipped));
        true
    }

    /// Puts one food on `cell` (index `y * width + x`, on the board).
    #[inline(always)]
    fn put_food(&mut self, cell: u32) {
        // At most 625 cells: `x` and `y` fit an `i8`.
        let width = u32::from(self.params.width);
        let food = Point::new((cell % width) as i8, (cell / width) as i8);
        self.food.push(food);
        self.occupancy.add_food(food);
    }

    /// [`free_cells`](Self::free_cells) of a board of at most 128 cells, which the usual duel
    /// boards (7x7, 11x11) are, as two words kept in registers: bit `i` of the first is cell
    /// `i`, bit `i` of the second cell `64 + i`. `None` where the general path is needed: a
    /// larger board, occupancy not tracked, or a live head off the board (only between the
    /// stages).
    #[inline(always)]
    fn free_cells_small(&self) -> Option<[u64; 2]> {
        let cells = self.params.cells();
        if cells > 128 {
            return None;
        }
        let [o0, o1, ..] = *self.occupancy.occupied()?;
        let [f0, f1, ..] = *self.occupancy.food();
        let (mut low, mut high) = (o0 | f0, o1 | f1);
        for snake in self.snakes.iter().filter(|s| s.is_alive()) {
            let head = snake.head();
            let cell = self.occupancy.cell(head)?;
            // Marks cell `i` if `on_board` (then `i` is below 128), without branching on
            // either (where a head is, relative to the middle row, is as good as random).
            for (i, on_board) in self.neighbours(head, cell) {
                let bit = u64::from(on_board) << (i % 64);
                let in_high = (i / 64) as u64 & 1;
                low |= bit & in_high.wrapping_sub(1);
                high |= bit & in_high.wrapping_neg();
            }
        }
        // The cells of the board: all of the low word from 64 cells, the rest of the high
        // word (at least 25 cells, the smallest board, so no shift reaches 64).
        let low_cells = if cells >= 64 {
            u64::MAX
        } else {
            (1 << cells) - 1
        };
        let high_cells = if cells > 64 {
            u64::MAX >> (128 - cells)
        } else {
            0
        };
        Some([!low & low_cells, !high & high_cells])
    }

    /// A bitset of the cells where food may spawn (index `y * width + x`): no food, no live
    /// snake segment, not next to a live snake's head.
    fn free_cells(&self) -> CellSet {
        let cells = self.params.cells();
        // Only the words that hold cells of this board.
        let words = cells.div_ceil(64);
        let mut taken = *self.occupancy.food();
        let occupied = self.occupancy.occupied();
        if let Some(occupied) = occupied {
            for (t, o) in taken.iter_mut().zip(occupied).take(words) {
                *t |= o;
            }
        }
        let scan_bodies = occupied.is_none();
        // Marks cell `i` if `on_board`, without branching on it (where a head is, relative
        // to the edges, is as good as random).
        let mark_if = |taken: &mut CellSet, i: usize, on_board: bool| {
            let i = if on_board { i } else { 0 };
            if let Some(word) = taken.get_mut(i / 64) {
                *word |= u64::from(on_board) << (i % 64);
            }
        };
        for snake in self.snakes.iter().filter(|s| s.is_alive()) {
            if scan_bodies {
                for &p in &snake.body {
                    if let Some(i) = self.occupancy.cell(p).map(Cell::index) {
                        mark_if(&mut taken, i, true);
                    }
                }
            }
            let head = snake.head();
            if let Some(cell) = self.occupancy.cell(head) {
                for (i, on_board) in self.neighbours(head, cell) {
                    mark_if(&mut taken, i, on_board);
                }
            } else {
                // A head off the board (only between the stages, before eliminations): its
                // neighbours on the board.
                for d in Direction::ALL {
                    if let Some(i) = self.occupancy.cell(head.step(d)).map(Cell::index) {
                        mark_if(&mut taken, i, true);
                    }
                }
            }
        }
        let mut free = [0u64; WORDS];
        for (i, (f, t)) in free.iter_mut().zip(taken).enumerate().take(words) {
            let lo = i * 64;
            let valid = if cells - lo >= 64 {
                u64::MAX
            } else {
                (1u64 << (cells - lo)) - 1
            };
            *f = !t & valid;
        }
        free
    }

    /// The four neighbours of `head`, on the board at `cell`, by index (`y * width + x`),
    /// each with whether it is on the board: no bounds to test but the edges the head is on.
    /// The index of a neighbour off the board means nothing.
    #[inline(always)]
    fn neighbours(&self, head: Point, cell: Cell) -> [(usize, bool); 4] {
        let (i, width) = (cell.index(), usize::from(self.params.width));
        let (x, y) = (head.x as u8, head.y as u8);
        let (w, h) = (self.params.width, self.params.height);
        [
            (i.wrapping_add(width), y + 1 < h),
            (i.wrapping_sub(width), y > 0),
            (i.wrapping_sub(1), x > 0),
            (i.wrapping_add(1), x + 1 < w),
        ]
    }
}

/// The position of the set bit of rank `k` in `word` (0 for the lowest set bit), for `k`
/// below the number of set bits; 64 otherwise.
///
/// The same answer as clearing the lowest set bit `k` times and taking the trailing zeros,
/// without a loop or a branch (the rank is random, so branches on it mispredict): the byte
/// holding that bit is found by comparing `k` with the running totals of set bits per byte
/// all at once, then the bit within the byte is read from a table.
#[inline]
fn select(word: u64, k: u32) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Set bits per byte, then the running totals: byte `i` of `totals` counts the set bits of
    // bytes 0 to `i` (at most 64, so no byte carries into the next).
    let mut x = word - ((word >> 1) & 0x5555_5555_5555_5555);
    x = (x & 0x3333_3333_3333_3333) + ((x >> 2) & 0x3333_3333_3333_3333);
    x = (x + (x >> 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    let totals = x.wrapping_mul(ONES);
    if u64::from(k) >= totals >> 56 {
        return 64;
    }
    // The high bit of each byte says whether that byte's total is at most `k` (both below
    // 128, so the subtraction borrows from no other byte); the bit's byte is the first whose
    // total exceeds `k`, and the flags are set for exactly the bytes before it.
    let at_most_k = (((u64::from(k) * ONES) | HIGH) - totals) & HIGH;
    let byte = ((at_most_k >> 7).wrapping_mul(ONES) >> 56) as u32;
    // The set bits of the bytes before it, and the rank within it.
    let before = ((totals << 8) >> (8 * byte)) & 0xff;
    let rank = k - before as u32;
    let bits = (word >> (8 * byte)) & 0xff;
    let within = SELECT_IN_BYTE
        .get(bits as usize)
        .and_then(|ranks| ranks.get(rank as usize))
        .copied()
        .unwrap_or(8);
    8 * byte + u32::from(within)
}

/// For each byte value, the positions of its set bits in rank order (8 past the last).
const SELECT_IN_BYTE: [[u8; 8]; 256] = {
    let mut table = [[8u8; 8]; 256];
    let mut value = 0;
    while value < 256 {
        let mut rank = 0;
        let mut bit = 0;
        while bit < 8 {
            if value & (1 << bit) != 0 {
                table[value][rank] = bit as u8;
                rank += 1;
            }
            bit += 1;
        }
        value += 1;
    }
    table
};

/// Stage 1 for one live snake: the head steps in direction `d`, the last segment goes.
/// Returns the new head and its cell, if it is on the board.
#[inline(always)]
fn move_snake(snake: &mut Snake, d: Direction, occupancy: &mut Occupancy) -> (Point, Option<Cell>) {
    let head = snake.head().step(d);
    if let Some(tail) = snake.body.pop_back() {
        occupancy.remove(tail);
    }
    snake.body.push_front(head);
    let cell = occupancy.cell(head);
    if let Some(cell) = cell {
        occupancy.add_at(cell);
    }
    (head, cell)
}

/// Stage 3 for one live snake and one food under its head: health back to the maximum, one
/// more food eaten, and the tail segment doubled.
fn eat(snake: &mut Snake, max_health: u8, occupancy: &mut Occupancy) {
    snake.health = max_health;
    snake.eaten = snake.eaten.saturating_add(1);
    if let Some(&tail) = snake.body.back() {
        snake.body.push_back(tail);
        occupancy.add(tail);
    }
}

/// The first pass of stage 4 for one live snake whose head is on `cell` (`None`: off the
/// board): out of health at 0 health, else out of bounds with its head off the board. Returns
/// the head's cell if the snake stays.
#[inline]
fn first_pass(
    snake: &mut Snake,
    cell: Option<Cell>,
    turn: u32,
    occupancy: &mut Occupancy,
) -> Option<Cell> {
    let cause = match cell {
        _ if snake.health == 0 => EliminationCause::OutOfHealth,
        None => EliminationCause::OutOfBounds,
        Some(cell) => return Some(cell),
    };
    snake.eliminated = Some(Elimination {
        cause,
        by: None,
        turn,
    });
    occupancy.remove_body(&snake.body);
    None
}

#[cfg(test)]
mod tests {
    use super::select;
    use crate::rng::GameRng;

    /// The rank-`k` set bit by clearing the lowest set bit `k` times.
    fn select_reference(word: u64, k: u32) -> u32 {
        let mut w = word;
        for _ in 0..k {
            w &= w.wrapping_sub(1);
        }
        w.trailing_zeros()
    }

    #[test]
    fn select_finds_the_set_bit_of_each_rank() {
        let mut rng = GameRng::from_seed([9; 32]);
        let mut words = vec![0, 1, 1 << 63, u64::MAX, 0x8000_0000_0000_0001, 0xff00];
        for _ in 0..2_000 {
            let word = u64::from(rng.next_word()) << 32 | u64::from(rng.next_word());
            // Sparse and dense words as well as even ones.
            let other = u64::from(rng.next_word()) << 32 | u64::from(rng.next_word());
            words.extend([word, word & other, word | other]);
        }
        for word in words {
            for k in 0..word.count_ones() {
                assert_eq!(select(word, k), select_reference(word, k), "{word:#x} {k}");
            }
            assert_eq!(select(word, word.count_ones()), 64);
        }
    }
}
