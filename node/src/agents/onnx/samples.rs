//! Sample boards from seeded games, for checking and measuring models.

use nets_envs::agents::{Agent, Greedy, RandomAgent, agent_seed};
use nets_envs::snake::observation::{self, PLANES};
use nets_envs::snake::{Direction, SnakeError, SnakeGame, SnakeParams};

/// One observation and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The match seed (a decimal seed, as `netsd play --seed` takes it).
    pub seed: u64,
    /// The turn the board was seen on.
    pub turn: u32,
    /// The player it was encoded for.
    pub player: usize,
    /// The observation, `[7, height, width]`.
    pub board: Vec<f32>,
}

/// The match seed of decimal seed `n`: `n` little-endian in the first 8 bytes.
pub fn seed_bytes(n: u64) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    seed
}

/// At least `count` observations (every live player's, every turn) from seeded games on a
/// `width` x `height` board, taken in order from games with seeds 1, 2, …: duels between the
/// greedy and the random agent, and every fourth game a four-player free-for-all where the
/// board allows one. Deterministic: the same arguments give the same boards.
pub fn sample_boards(width: u8, height: u8, count: usize) -> Result<Vec<Sample>, SnakeError> {
    let mut samples = Vec::with_capacity(count);
    let mut seed = 0u64;
    while samples.len() < count {
        seed += 1;
        let snakes = if seed.is_multiple_of(4) && width >= 7 && height >= 7 {
            4
        } else {
            2
        };
        let params = SnakeParams {
            width,
            height,
            snakes,
            max_turns: 300,
            ..SnakeParams::default()
        };
        let seed_bytes = seed_bytes(seed);
        let mut game = SnakeGame::new(params, seed_bytes)?;
        let mut agents: Vec<Box<dyn Agent>> = (0..usize::from(snakes))
            .map(|p| -> Box<dyn Agent> {
                if p == 0 {
                    Box::new(Greedy)
                } else {
                    Box::new(RandomAgent::new(agent_seed(seed_bytes, p)))
                }
            })
            .collect();
        while !game.is_over() && samples.len() < count {
            let mut moves = Vec::with_capacity(agents.len());
            for (p, agent) in agents.iter_mut().enumerate() {
                if game.snakes().get(p).is_some_and(|s| s.is_alive()) {
                    samples.push(Sample {
                        seed,
                        turn: game.turn(),
                        player: p,
                        board: observation::observe(&game, p),
                    });
                    moves.push(agent.choose(&game, p));
                } else {
                    moves.push(Direction::Up);
                }
            }
            game.step(&moves)?;
        }
    }
    samples.truncate(count);
    debug_assert!(
        samples
            .iter()
            .all(|s| s.board.len() == PLANES * usize::from(width) * usize::from(height))
    );
    Ok(samples)
}
