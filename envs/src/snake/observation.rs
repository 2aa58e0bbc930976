//! Board planes for neural agents, from one player's point of view.
//!
//! # Tensor layout
//! A `[PLANES, height, width]` tensor, row-major (`index = (plane * height + row) * width +
//! col`), batch dimension added by the caller. Row 0 is the top of the board (`y = height -
//! 1`), column 0 the left edge (`x = 0`), so the tensor reads like the text board. All values
//! are small integers, exact in `f32`:
//!
//! | plane | meaning |
//! |---|---|
//! | 0 | own head: 1 |
//! | 1 | own body, head to tail: segments left until the cell is free (tail = 1, head = length) |
//! | 2 | opponents' heads: 1 |
//! | 3 | opponents' bodies: segments left until the cell is free, as plane 1 |
//! | 4 | food: 1 |
//! | 5 | opponent heads that are at least as long as the player: 1 (a head-to-head there loses) |
//! | 6 | own health, the same in every cell (0..=max_health) |
//!
//! Eliminated snakes are not shown. An eliminated player sees only food, opponents and its
//! health.

use super::{Point, SnakeGame, SnakeParams};

/// Number of planes.
pub const PLANES: usize = 7;

/// The observation shape `[PLANES, height, width]` for these parameters.
pub fn shape(params: &SnakeParams) -> [usize; 3] {
    [
        PLANES,
        usize::from(params.height),
        usize::from(params.width),
    ]
}

/// Writes the observation of `player` into `out`, which must hold at least
/// `PLANES * height * width` values (extra values are left untouched; a shorter buffer is
/// filled as far as it goes).
pub fn encode(game: &SnakeGame, player: usize, out: &mut [f32]) {
    let params = game.params();
    let (w, h) = (usize::from(params.width), usize::from(params.height));
    let plane = w * h;
    let len = (PLANES * plane).min(out.len());
    let out = &mut out[..len];
    out.fill(0.0);
    let mut set = |p: usize, at: Point, value: f32| {
        if game.in_bounds(at) {
            let row = h - 1 - at.y as usize;
            let index = p * plane + row * w + at.x as usize;
            if let Some(cell) = out.get_mut(index)
                && *cell < value
            {
                *cell = value;
            }
        }
    };
    let own_len = game.snakes().get(player).map_or(0, |s| s.len());
    for (i, snake) in game
        .snakes()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_alive())
    {
        let own = i == player;
        let (head_plane, body_plane) = if own { (0, 1) } else { (2, 3) };
        set(head_plane, snake.head(), 1.0);
        let n = snake.len();
        for (k, &seg) in snake.body.iter().enumerate() {
            set(body_plane, seg, (n - k) as f32);
        }
        if !own && snake.len() >= own_len {
            set(5, snake.head(), 1.0);
        }
    }
    for &f in game.food() {
        set(4, f, 1.0);
    }
    if let Some(snake) = game.snakes().get(player) {
        let health = f32::from(snake.health);
        if let Some(health_plane) = out.get_mut(6 * plane..7 * plane) {
            health_plane.fill(health);
        }
    }
}

/// The observation of `player` as a new vector.
pub fn observe(game: &SnakeGame, player: usize) -> Vec<f32> {
    let [c, h, w] = shape(game.params());
    let mut out = vec![0.0; c * h * w];
    encode(game, player, &mut out);
    out
}
