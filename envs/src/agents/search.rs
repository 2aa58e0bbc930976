use super::Agent;
use super::grid::Grid;
use crate::snake::{Direction, MAX_SNAKES, Point, SnakeGame};

const WIN: i64 = 1_000_000;
const DRAW: i64 = -500_000;
const LOSS: i64 = -1_000_000;

/// Paranoid search over simultaneous moves: the agent picks the move whose worst case over
/// the opponents' replies is best, looking `depth` turns ahead with alpha-beta pruning, and
/// deepens iteratively until its budget of simulated turns runs out (the last complete depth
/// decides). Leaves are scored by flood-fill territory (cells the snake reaches before any
/// opponent), length and, when hungry, distance to food.
///
/// The budget counts simulated turns, not time, so the same position always gets the same
/// move.
#[derive(Clone, Debug)]
pub struct Search {
    /// Simulated turns per move.
    pub budget: u32,
    /// Deepest search tried, in turns.
    pub max_depth: u8,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            budget: 1_500,
            max_depth: 6,
        }
    }
}

struct Ctx {
    me: usize,
    nodes: u32,
    budget: u32,
}

impl Search {
    /// Moves worth trying for `player`: those onto a cell free next turn, or all four if none.
    fn candidates(game: &SnakeGame, grid: &Grid, player: usize) -> ([Direction; 4], usize) {
        let mut out = [Direction::Up; 4];
        let mut n = 0;
        if let Some(s) = game.snakes().get(player) {
            for d in Direction::ALL {
                if grid.passable(s.head().step(d), 1)
                    && let Some(slot) = out.get_mut(n)
                {
                    *slot = d;
                    n += 1;
                }
            }
        }
        if n == 0 {
            (Direction::ALL, 4)
        } else {
            (out, n)
        }
    }

    fn evaluate(game: &SnakeGame, me: usize) -> i64 {
        let Some(my) = game.snakes().get(me) else {
            return LOSS;
        };
        let turn = i64::from(game.turn());
        let alive = game.alive();
        if !my.is_alive() {
            return if alive.is_empty() && game.snakes().len() > 1 {
                DRAW
            } else {
                LOSS + turn
            };
        }
        if game.snakes().len() > 1 && alive.len() == 1 {
            return WIN - turn;
        }
        let grid = Grid::new(game);
        let mut heads = [Point::new(0, 0); MAX_SNAKES as usize];
        let mut who = [0usize; MAX_SNAKES as usize];
        let mut n = 0;
        for (i, s) in game
            .snakes()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_alive())
        {
            if let (Some(h), Some(w)) = (heads.get_mut(n), who.get_mut(n)) {
                *h = s.head();
                *w = i;
                n += 1;
            }
        }
        let area = grid.territory(heads.get(..n).unwrap_or(&[]));
        let mut mine = 0i64;
        let mut best_other = 0i64;
        let mut longest_other = 0i64;
        for (k, &i) in who.iter().take(n).enumerate() {
            let a = i64::from(area.get(k).copied().unwrap_or(0));
            if i == me {
                mine = a;
            } else {
                best_other = best_other.max(a);
                let len = game.snakes().get(i).map_or(0, |s| s.len() as i64);
                longest_other = longest_other.max(len);
            }
        }
        let my_len = my.len() as i64;
        let mut score = 0;
        if game.snakes().len() == 1 {
            score += i64::from(my.eaten) * 1_000 + mine.min(my_len * 2) * 10;
        } else {
            score += (mine - best_other) * 10 + (my_len - longest_other).clamp(-5, 5) * 40;
        }
        if mine < my_len {
            score -= 200_000 + (my_len - mine) * 1_000;
        }
        let food = game
            .food()
            .iter()
            .map(|&f| i64::from(f.distance(my.head())))
            .min();
        if let Some(dist) = food {
            let hunger = (i64::from(game.params().max_health) - i64::from(my.health)).max(0);
            score -= dist * (1 + hunger / 10);
            if i64::from(my.health) <= dist {
                score -= 100_000;
            }
        }
        score
    }

    /// Value of `game` for `ctx.me`, `depth` turns deep; `None` when the budget ran out.
    fn value(
        &self,
        game: &SnakeGame,
        depth: u8,
        mut alpha: i64,
        beta: i64,
        ctx: &mut Ctx,
    ) -> Option<i64> {
        let my_alive = game.snakes().get(ctx.me).is_some_and(|s| s.is_alive());
        if depth == 0 || game.is_over() || !my_alive {
            return Some(Self::evaluate(game, ctx.me));
        }
        let grid = Grid::new(game);
        let (mine, n) = Self::candidates(game, &grid, ctx.me);
        let mut best = i64::MIN;
        for &m in mine.iter().take(n) {
            let v = self.reply_value(game, &grid, m, depth, alpha, beta, ctx)?;
            best = best.max(v);
            alpha = alpha.max(v);
            if alpha >= beta {
                break;
            }
        }
        Some(best)
    }

    /// The worst case for `ctx.me` over the opponents' joint replies to `my_move`.
    #[allow(clippy::too_many_arguments)]
    fn reply_value(
        &self,
        game: &SnakeGame,
        grid: &Grid,
        my_move: Direction,
        depth: u8,
        alpha: i64,
        mut beta: i64,
        ctx: &mut Ctx,
    ) -> Option<i64> {
        let players = game.snakes().len();
        let mut options = [([Direction::Up; 4], 1usize); MAX_SNAKES as usize];
        for (p, slot) in options.iter_mut().enumerate().take(players) {
            if p == ctx.me {
                *slot = ([my_move; 4], 1);
            } else if game.snakes().get(p).is_some_and(|s| s.is_alive()) {
                *slot = Self::candidates(game, grid, p);
            }
        }
        let combos: usize = options.iter().take(players).map(|o| o.1).product();
        let mut worst = i64::MAX;
        let mut moves = [Direction::Up; MAX_SNAKES as usize];
        for combo in 0..combos {
            let mut rest = combo;
            for (p, slot) in moves.iter_mut().enumerate().take(players) {
                let (opts, n) = options.get(p).copied().unwrap_or(([Direction::Up; 4], 1));
                *slot = opts.get(rest % n).copied().unwrap_or(Direction::Up);
                rest /= n;
            }
            if ctx.nodes >= ctx.budget {
                return None;
            }
            ctx.nodes += 1;
            let mut next = game.clone();
            if next.step(moves.get(..players).unwrap_or(&[])).is_err() {
                continue;
            }
            let v = self.value(&next, depth - 1, alpha, beta, ctx)?;
            worst = worst.min(v);
            beta = beta.min(v);
            if alpha >= beta {
                break;
            }
        }
        Some(if worst == i64::MAX {
            Self::evaluate(game, ctx.me)
        } else {
            worst
        })
    }
}

impl Agent for Search {
    fn name(&self) -> String {
        "search".into()
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction {
        let grid = Grid::new(game);
        let (mine, n) = Self::candidates(game, &grid, player);
        let mut chosen = mine.first().copied().unwrap_or(Direction::Up);
        let mut ctx = Ctx {
            me: player,
            nodes: 0,
            budget: self.budget,
        };
        for depth in 1..=self.max_depth {
            let mut best: Option<(i64, Direction)> = None;
            let mut complete = true;
            for &m in mine.iter().take(n) {
                let alpha = best.map_or(i64::MIN, |b| b.0);
                match self.reply_value(game, &grid, m, depth, alpha, i64::MAX, &mut ctx) {
                    Some(v) => {
                        if best.is_none_or(|b| v > b.0) {
                            best = Some((v, m));
                        }
                    }
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                break;
            }
            if let Some((v, m)) = best {
                chosen = m;
                if v >= WIN - 10_000 || v <= LOSS + 10_000 {
                    break;
                }
            }
        }
        chosen
    }
}
