//! The start of a game: standard start positions and the initial food.

use std::collections::VecDeque;

use super::occupancy::Occupancy;
use super::{Point, Snake, SnakeError, SnakeGame, SnakeParams};
use crate::rng::GameRng;

/// Segments a new snake's body has room for before it reallocates.
const BODY_CAPACITY: usize = 32;

/// Food a new game has room for before its list reallocates.
const FOOD_CAPACITY: usize = 16;

impl SnakeGame {
    /// A new game on the standard start positions.
    ///
    /// Snakes start with all `start_length` segments stacked on one cell, one cell in from the
    /// edge: the four corners `(1, 1)`, `(1, h-2)`, `(w-2, 1)`, `(w-2, h-2)` and the four edge
    /// centres `(1, mid)`, `(mid, 1)`, `(mid, h-2)`, `(w-2, mid)`. Both groups are shuffled,
    /// then one group is put first at random, and snakes take the cells in that order.
    ///
    /// Initial food, as Battlesnake places it: one food for each snake on a cell diagonal to
    /// its head that is not the centre, not a corner, and lies farther from the centre than
    /// the head on at least one axis; then one food in the centre.
    pub fn new(params: SnakeParams, seed: [u8; 32]) -> Result<Self, SnakeError> {
        params.validate()?;
        let mut rng = GameRng::from_seed(seed);
        let (w, h) = (params.width as i8, params.height as i8);
        let (mid_x, mid_y) = ((w - 1) / 2, (h - 1) / 2);
        let mut corners = [
            Point::new(1, 1),
            Point::new(1, h - 2),
            Point::new(w - 2, 1),
            Point::new(w - 2, h - 2),
        ];
        let mut edges = [
            Point::new(1, mid_y),
            Point::new(mid_x, 1),
            Point::new(mid_x, h - 2),
            Point::new(w - 2, mid_y),
        ];
        rng.shuffle(&mut corners);
        rng.shuffle(&mut edges);
        let (first, second) = if rng.below(2) == 0 {
            (corners, edges)
        } else {
            (edges, corners)
        };
        let snakes: Vec<Snake> = first
            .iter()
            .chain(&second)
            .take(usize::from(params.snakes))
            .map(|&start| {
                // Room to grow for a while without reallocating.
                let length = usize::from(params.start_length);
                let mut body = VecDeque::with_capacity(length.max(BODY_CAPACITY));
                body.extend(std::iter::repeat_n(start, length));
                Snake {
                    body,
                    health: params.max_health,
                    eaten: 0,
                    eliminated: None,
                }
            })
            .collect();

        let centre = Point::new(mid_x, mid_y);
        // Room for the food of a long game without reallocating (a duel usually has a few
        // pieces out, and spawning tops up one at a time).
        let mut food = Vec::with_capacity(FOOD_CAPACITY.max(snakes.len() + 1));
        for snake in &snakes {
            let head = snake.head();
            let mut candidates = [centre; 4];
            let mut n = 0;
            for (dx, dy) in [(-1, -1), (-1, 1), (1, -1), (1, 1)] {
                let p = Point::new(head.x + dx, head.y + dy);
                let away = (p.x < head.x && head.x < centre.x)
                    || (centre.x < head.x && head.x < p.x)
                    || (p.y < head.y && head.y < centre.y)
                    || (centre.y < head.y && head.y < p.y);
                let corner = (p.x == 0 || p.x == w - 1) && (p.y == 0 || p.y == h - 1);
                if p != centre
                    && !food.contains(&p)
                    && away
                    && !corner
                    && let Some(slot) = candidates.get_mut(n)
                {
                    *slot = p;
                    n += 1;
                }
            }
            if n == 0 {
                return Err(SnakeError::InvalidParams(
                    "no room for the initial food on this board".into(),
                ));
            }
            let pick = rng.below(n as u32) as usize;
            if let Some(&p) = candidates.get(pick) {
                food.push(p);
            }
        }
        if snakes.iter().any(|s| s.body.contains(&centre)) || food.contains(&centre) {
            return Err(SnakeError::InvalidParams(
                "the centre is occupied; no room for the centre food".into(),
            ));
        }
        food.push(centre);

        let occupancy = Occupancy::new(params.width, params.height, &snakes, &food);
        let live = super::live_bits(&snakes);
        let mut game = Self {
            params,
            turn: 0,
            snakes,
            food,
            rng,
            outcome: None,
            occupancy,
            live,
        };
        game.outcome = game.judge();
        Ok(game)
    }
}
