//! The stages of one turn, in the order [`SnakeGame::step`] runs them.

use super::{Direction, Elimination, EliminationCause, MAX_SNAKES, Point, Snake, SnakeGame};

impl SnakeGame {
    /// Stage 1: each live snake moves its head one cell in its direction and drops its last
    /// segment. Eliminated snakes do not move.
    pub fn stage_move(&mut self, moves: &[Direction]) {
        for (snake, &d) in self.snakes.iter_mut().zip(moves) {
            if snake.is_alive() {
                let head = snake.head().step(d);
                snake.body.pop_back();
                snake.body.push_front(head);
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
        self.food.retain(|&food| {
            let mut eaten = false;
            for snake in snakes.iter_mut().filter(|s| s.is_alive()) {
                if snake.head() == food {
                    snake.health = max_health;
                    snake.eaten = snake.eaten.saturating_add(1);
                    if let Some(&tail) = snake.body.back() {
                        snake.body.push_back(tail);
                    }
                    eaten = true;
                }
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
        for i in 0..self.snakes.len() {
            let Some(snake) = self.snakes.get(i) else {
                continue;
            };
            if !snake.is_alive() {
                continue;
            }
            let cause = if snake.health == 0 {
                Some(EliminationCause::OutOfHealth)
            } else if !self.in_bounds(snake.head()) {
                Some(EliminationCause::OutOfBounds)
            } else {
                None
            };
            if let (Some(cause), Some(snake)) = (cause, self.snakes.get_mut(i)) {
                snake.eliminated = Some(Elimination {
                    cause,
                    by: None,
                    turn,
                });
            }
        }

        let mut by_length: [usize; MAX_SNAKES as usize] = [0, 1, 2, 3];
        let order = &mut by_length[..self.snakes.len().min(MAX_SNAKES as usize)];
        order.sort_by_key(|&i| {
            (
                std::cmp::Reverse(self.snakes.get(i).map_or(0, |s| s.len())),
                i,
            )
        });

        let mut collisions: [Option<(EliminationCause, u8)>; MAX_SNAKES as usize] =
            [None; MAX_SNAKES as usize];
        for (i, snake) in self.snakes.iter().enumerate() {
            if !snake.is_alive() {
                continue;
            }
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
            if let (Some((cause, by)), Some(slot)) = (found, collisions.get_mut(i)) {
                *slot = Some((cause, by as u8));
            }
        }
        for (snake, found) in self.snakes.iter_mut().zip(collisions) {
            if let Some((cause, by)) = found {
                snake.eliminated = Some(Elimination {
                    cause,
                    by: Some(by),
                    turn,
                });
            }
        }
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
            self.food
                .push(Point::new((cell % width) as i8, (cell / width) as i8));
            return true;
        }
        false
    }

    /// A bitset of the cells where food may spawn (index `y * width + x`) and their count:
    /// no food, no live snake segment, not next to a live snake's head.
    fn free_cells(&self) -> ([u64; 10], u32) {
        let width = usize::from(self.params.width);
        let cells = self.params.cells();
        let mut taken = [0u64; 10];
        let mut mark = |p: Point| {
            if self.in_bounds(p) {
                let i = p.y as usize * width + p.x as usize;
                if let Some(word) = taken.get_mut(i / 64) {
                    *word |= 1 << (i % 64);
                }
            }
        };
        for &f in &self.food {
            mark(f);
        }
        for snake in self.snakes.iter().filter(|s| s.is_alive()) {
            for &p in &snake.body {
                mark(p);
            }
            let head = snake.head();
            for d in Direction::ALL {
                mark(head.step(d));
            }
        }
        let mut free = [0u64; 10];
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
