use super::Agent;
use crate::rng::GameRng;
use crate::snake::{Direction, SnakeGame};

/// Picks uniformly among the moves that do not reverse into its own neck. Seeded, so a game
/// between random agents is reproducible.
#[derive(Clone, Debug)]
pub struct RandomAgent {
    rng: GameRng,
}

impl RandomAgent {
    /// An agent drawing from ChaCha8 keyed by `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            rng: GameRng::from_seed(seed),
        }
    }
}

impl Agent for RandomAgent {
    fn name(&self) -> String {
        "random".into()
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction {
        let Some(snake) = game.snakes().get(player) else {
            return Direction::Up;
        };
        let head = snake.head();
        let neck = snake.body.get(1).copied().unwrap_or(head);
        let mut options = [Direction::Up; 4];
        let mut n = 0;
        for d in Direction::ALL {
            if (head.step(d) != neck || neck == head)
                && let Some(slot) = options.get_mut(n)
            {
                *slot = d;
                n += 1;
            }
        }
        options
            .get(self.rng.below(n as u32) as usize)
            .copied()
            .unwrap_or(Direction::Up)
    }
}
