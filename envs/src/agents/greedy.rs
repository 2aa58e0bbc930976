use super::Agent;
use super::grid::Grid;
use crate::snake::{Direction, SnakeGame};

/// Heads for the nearest food (Manhattan distance) among the moves that do not die at once,
/// preferring moves where no longer-or-equal opponent could meet it head to head. Looks no
/// further than one move, so it walks into dead ends.
#[derive(Clone, Debug, Default)]
pub struct Greedy;

impl Agent for Greedy {
    fn name(&self) -> String {
        "greedy".into()
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction {
        let Some(me) = game.snakes().get(player) else {
            return Direction::Up;
        };
        let grid = Grid::new(game);
        let head = me.head();
        let mut best: Option<((bool, bool, i64), Direction)> = None;
        for d in Direction::ALL {
            let p = head.step(d);
            let safe = grid.passable(p, 1);
            let no_head_risk = !game.snakes().iter().enumerate().any(|(i, s)| {
                i != player && s.is_alive() && s.len() >= me.len() && s.head().distance(p) == 1
            });
            let food = game
                .food()
                .iter()
                .map(|&f| f.distance(p))
                .min()
                .unwrap_or(0);
            let key = (safe, no_head_risk, -i64::from(food));
            if best.is_none_or(|(k, _)| key > k) {
                best = Some((key, d));
            }
        }
        best.map_or(Direction::Up, |(_, d)| d)
    }
}
