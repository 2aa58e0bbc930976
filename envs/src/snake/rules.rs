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
    pub(super) fn advance(&mut self, moves: &[Direction]) {
        let turn = self.turn.saturating_add(1);
        let max_health = self.params.max_health;
        let mut heads: Heads = [None; MAX_SNAKES as usize];
        let mut meals: [Option<Point>; MAX_SNAKES as usize] = [None; MAX_SNAKES as usize];
        let mut ate = false;
        for (i, (snake, &d)) in self.snakes.iter_mut().zip(moves).enumerate() {
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
                if let Some(meal) = meals.get_mut(i) {
                    *meal = Some(head);
                }
                ate = true;
            }
            // Stage 4, first pass.
            let live = first_pass(snake, cell, turn, &mut self.occupancy);
            if let Some(slot) = heads.get_mut(i) {
                *slot = live;
            }
        }
        if ate {
            self.food.retain(|&f| !meals.contains(&Some(f)));
            for meal in meals.into_iter().flatten() {
                self.occupancy.remove_food(meal);
            }
        }
        self.second_pass(&heads, turn);
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
    fn place_food_randomly(&mut self) -> bool {
        let (free, count) = self.free_cells();
        if count == 0 {
            return false;
        }
        let mut k = self.rng.below(count);
        let width = usize::from(self.params.width);
        for (word_index, &word) in free.iter().enumerate() {
            let ones = word.count_ones();
            if k >= ones {
                k -= ones;
                continue;
            }
            let mut w = word;
            for _ in 0..k {
                w &= w - 1;
            }
            let cell = word_index * 64 + w.trailing_zeros() as usize;
            let food = Point::new((cell % width) as i8, (cell / width) as i8);
            self.food.push(food);
            self.occupancy.add_food(food);
            return true;
        }
        false
    }

    /// A bitset of the cells where food may spawn (index `y * width + x`) and their count:
    /// no food, no live snake segment, not next to a live snake's head.
    fn free_cells(&self) -> (CellSet, u32) {
        let width = usize::from(self.params.width);
        let cells = self.params.cells();
        let mut taken = *self.occupancy.food();
        let occupied = self.occupancy.occupied();
        if let Some(occupied) = occupied {
            for (t, o) in taken.iter_mut().zip(occupied) {
                *t |= o;
            }
        }
        let scan_bodies = occupied.is_none();
        let mut mark = |p: Point| {
            if self.in_bounds(p) {
                let i = p.y as usize * width + p.x as usize;
                if let Some(word) = taken.get_mut(i / 64) {
                    *word |= 1 << (i % 64);
                }
            }
        };
        for snake in self.snakes.iter().filter(|s| s.is_alive()) {
            if scan_bodies {
                for &p in &snake.body {
                    mark(p);
                }
            }
            let head = snake.head();
            for d in Direction::ALL {
                mark(head.step(d));
            }
        }
        let mut free = [0u64; WORDS];
        let mut count = 0;
        for (i, (f, t)) in free.iter_mut().zip(taken).enumerate() {
            let lo = i * 64;
            if lo >= cells {
                break;
            }
            let valid = if cells - lo >= 64 {
                u64::MAX
            } else {
                (1u64 << (cells - lo)) - 1
            };
            *f = !t & valid;
            count += f.count_ones();
        }
        (free, count)
    }
}

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
