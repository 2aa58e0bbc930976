//! The simulated population's agents: a cheap, parameterised Snake player whose parameters
//! (its [`Genome`]) are what evolution mutates, and the choice between it and the built-in
//! baselines of `nets-envs`.
//!
//! A [`Tuned`] agent scores each of the four moves with integer weights (free space ahead,
//! distance to food when hungry or short, head-to-head risk and opportunity) and plays the
//! best one, except that with probability `1 - skill/1000` it plays a uniformly random move
//! that does not reverse into its neck instead: a blunder. The blunders are drawn from the
//! ChaCha stream the game hands each player ([`nets_envs::agents::agent_seed`]), so the agent
//! is deterministic given the match seed, integer-only, and replays identically on every node.
//! A move costs a few microseconds (a bounded flood fill per candidate), against about 2.5 ms
//! for the built-in `Search`: cheap enough for a thousand nodes playing a hundred games each.

use nets_envs::GameRng;
use nets_envs::agents::{Agent, Greedy, RandomAgent};
use nets_envs::snake::{Direction, MAX_BOARD_SIDE, Point, SnakeGame};
use serde::{Deserialize, Serialize};

/// The parameters of a [`Tuned`] agent. Evolution mutates them; `skill` is also the hidden
/// "true skill" of a node in the rating-accuracy measurement (the other fields stay at their
/// defaults there, so that a higher `skill` is a stronger agent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Genome {
    /// Per mille of moves that follow the policy (the rest are random blunders). 0..=1000.
    pub skill: u16,
    /// Weight of the free cells reachable after the move (bounded flood fill).
    pub space: i32,
    /// Weight of the distance to the nearest food (subtracted) while hungry or not longer
    /// than the opponent.
    pub food: i32,
    /// Health at or below which the agent always seeks food.
    pub hunger: u8,
    /// Reward for moving next to the head of a strictly shorter opponent (a head-to-head it
    /// would win); negative values shy away.
    pub aggression: i32,
    /// Penalty for moving next to the head of an opponent at least as long.
    pub caution: i32,
}

impl Default for Genome {
    fn default() -> Self {
        Self {
            skill: 1000,
            space: 4,
            food: 3,
            hunger: 40,
            aggression: 10,
            caution: 60,
        }
    }
}

impl Genome {
    /// Clamps every field into its range (scenario files and mutation may overshoot).
    pub fn clamped(self) -> Self {
        Self {
            skill: self.skill.min(1000),
            space: self.space.clamp(0, 100),
            food: self.food.clamp(0, 100),
            hunger: self.hunger.min(100),
            aggression: self.aggression.clamp(-100, 100),
            caution: self.caution.clamp(0, 1000),
        }
    }

    /// A child: every field moved by a random step of at most `step` per cent of its range
    /// (at least one unit), drawn from `rng`.
    pub fn mutate(self, rng: &mut GameRng, step: u32) -> Self {
        let mut jitter = |value: i64, range: i64| -> i64 {
            let span = (range.saturating_mul(i64::from(step)) / 100).max(1);
            let width = u32::try_from(span.saturating_mul(2).saturating_add(1)).unwrap_or(1);
            value
                .saturating_add(i64::from(rng.below(width)))
                .saturating_sub(span)
        };
        let skill = jitter(i64::from(self.skill), 1000).clamp(0, 1000);
        let space = jitter(i64::from(self.space), 100);
        let food = jitter(i64::from(self.food), 100);
        let hunger = jitter(i64::from(self.hunger), 100).clamp(0, 100);
        let aggression = jitter(i64::from(self.aggression), 200);
        let caution = jitter(i64::from(self.caution), 1000);
        Self {
            skill: u16::try_from(skill).unwrap_or(0),
            space: i32::try_from(space).unwrap_or(0),
            food: i32::try_from(food).unwrap_or(0),
            hunger: u8::try_from(hunger).unwrap_or(0),
            aggression: i32::try_from(aggression).unwrap_or(0),
            caution: i32::try_from(caution).unwrap_or(0),
        }
        .clamped()
    }
}

/// What plays for a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum AgentSpec {
    /// The built-in random baseline.
    Random,
    /// The built-in greedy baseline (also the fixed reference of the strength measurement).
    Greedy,
    /// A [`Tuned`] agent.
    Tuned(Genome),
}

impl AgentSpec {
    /// A fresh agent for one game; `seed` is the per-player stream of the match
    /// ([`nets_envs::agents::agent_seed`]).
    pub fn build(&self, seed: [u8; 32]) -> PlayingAgent {
        match self {
            AgentSpec::Random => PlayingAgent::Random(RandomAgent::new(seed)),
            AgentSpec::Greedy => PlayingAgent::Greedy(Greedy),
            AgentSpec::Tuned(g) => PlayingAgent::Tuned(Tuned::new(*g, seed)),
        }
    }

    /// The genome, for tuned agents.
    pub fn genome(&self) -> Option<Genome> {
        match self {
            AgentSpec::Tuned(g) => Some(*g),
            _ => None,
        }
    }

    /// A short label for tables.
    pub fn label(&self) -> String {
        match self {
            AgentSpec::Random => "random".into(),
            AgentSpec::Greedy => "greedy".into(),
            AgentSpec::Tuned(g) => format!("tuned-{}", g.skill),
        }
    }
}

/// An agent in a game, without dynamic dispatch.
#[derive(Clone, Debug)]
pub enum PlayingAgent {
    /// See [`AgentSpec::Random`].
    Random(RandomAgent),
    /// See [`AgentSpec::Greedy`].
    Greedy(Greedy),
    /// See [`AgentSpec::Tuned`].
    Tuned(Tuned),
}

impl Agent for PlayingAgent {
    fn name(&self) -> String {
        match self {
            PlayingAgent::Random(a) => a.name(),
            PlayingAgent::Greedy(a) => a.name(),
            PlayingAgent::Tuned(a) => a.name(),
        }
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction {
        match self {
            PlayingAgent::Random(a) => a.choose(game, player),
            PlayingAgent::Greedy(a) => a.choose(game, player),
            PlayingAgent::Tuned(a) => a.choose(game, player),
        }
    }
}

const CELLS: usize = MAX_BOARD_SIDE as usize * MAX_BOARD_SIDE as usize;
/// Most cells a flood fill counts: enough to tell a dead end from open space.
const FILL_CAP: u32 = 48;
/// Score of a move into a wall or a body.
const DEATH: i64 = -1_000_000;

/// A parameterised, cheap Snake agent (see the module docs).
#[derive(Clone, Debug)]
pub struct Tuned {
    genome: Genome,
    rng: GameRng,
    scratch: Scratch,
}

/// Reused flood-fill buffers: a cell is seen when its stamp equals the current one, so the
/// buffers never need clearing.
#[derive(Clone, Debug)]
struct Scratch {
    seen: Vec<u32>,
    stamp: u32,
    queue: Vec<(Point, u16)>,
}

impl Tuned {
    /// An agent with `genome`, drawing its blunders from ChaCha8 keyed by `seed`.
    pub fn new(genome: Genome, seed: [u8; 32]) -> Self {
        Self {
            genome: genome.clamped(),
            rng: GameRng::from_seed(seed),
            scratch: Scratch {
                seen: vec![0; CELLS],
                stamp: 0,
                queue: Vec::with_capacity(4 * FILL_CAP as usize + 4),
            },
        }
    }
}

impl Agent for Tuned {
    fn name(&self) -> String {
        format!("tuned-{}", self.genome.skill)
    }

    fn choose(&mut self, game: &SnakeGame, player: usize) -> Direction {
        let Some(me) = game.snakes().get(player) else {
            return Direction::Up;
        };
        let head = me.head();
        // One draw per move whatever the outcome, so the stream stays aligned.
        let roll = self.rng.below(1000);
        if roll >= u32::from(self.genome.skill) {
            let neck = me.body.get(1).copied().unwrap_or(head);
            let mut options = [Direction::Up; 4];
            let mut n = 0usize;
            for d in Direction::ALL {
                if (head.step(d) != neck || neck == head)
                    && let Some(slot) = options.get_mut(n)
                {
                    *slot = d;
                    n = n.saturating_add(1);
                }
            }
            let pick = self.rng.below(u32::try_from(n).unwrap_or(1));
            return options
                .get(usize::try_from(pick).unwrap_or(0))
                .copied()
                .unwrap_or(Direction::Up);
        }
        let board = Board::new(game);
        let g = &self.genome;
        let hungry = me.health <= g.hunger
            || game
                .snakes()
                .iter()
                .enumerate()
                .any(|(i, s)| i != player && s.is_alive() && s.len() >= me.len());
        let mut best: Option<(i64, Direction)> = None;
        for d in Direction::ALL {
            let p = head.step(d);
            let score = if board.free_after(p).is_some_and(|f| f <= 1) {
                let mut s = i64::from(g.space) * i64::from(board.fill(p, &mut self.scratch));
                if hungry {
                    let dist = game.food().iter().map(|&f| f.distance(p)).min();
                    s -= i64::from(g.food) * i64::from(dist.unwrap_or(0));
                }
                for (i, other) in game.snakes().iter().enumerate() {
                    if i == player || !other.is_alive() || other.head().distance(p) != 1 {
                        continue;
                    }
                    if other.len() >= me.len() {
                        s -= i64::from(g.caution);
                    } else {
                        s += i64::from(g.aggression);
                    }
                }
                s
            } else {
                DEATH
            };
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, d));
            }
        }
        best.map_or(Direction::Up, |(_, d)| d)
    }
}

/// For each cell, after how many moves it is free (0: free now), as the agent sees it.
struct Board {
    width: i8,
    height: i8,
    free_after: [u16; CELLS],
}

impl Board {
    fn new(game: &SnakeGame) -> Self {
        let p = game.params();
        let mut board = Self {
            width: i8::try_from(p.width).unwrap_or(0),
            height: i8::try_from(p.height).unwrap_or(0),
            free_after: [0; CELLS],
        };
        for snake in game.snakes().iter().filter(|s| s.is_alive()) {
            let n = snake.len();
            for (k, &seg) in snake.body.iter().enumerate() {
                let left = u16::try_from(n.saturating_sub(k)).unwrap_or(u16::MAX);
                if let Some(cell) = board.index(seg).and_then(|i| board.free_after.get_mut(i)) {
                    *cell = (*cell).max(left);
                }
            }
        }
        board
    }

    fn index(&self, p: Point) -> Option<usize> {
        (p.x >= 0 && p.y >= 0 && p.x < self.width && p.y < self.height).then(|| {
            usize::try_from(p.y)
                .unwrap_or(0)
                .saturating_mul(usize::try_from(self.width).unwrap_or(0))
                .saturating_add(usize::try_from(p.x).unwrap_or(0))
        })
    }

    fn free_after(&self, p: Point) -> Option<u16> {
        self.index(p).and_then(|i| self.free_after.get(i)).copied()
    }

    /// Cells reachable from `start` through cells free by the time they are reached, up to
    /// [`FILL_CAP`].
    fn fill(&self, start: Point, scratch: &mut Scratch) -> u32 {
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.seen.iter_mut().for_each(|x| *x = 0);
            scratch.stamp = 1;
        }
        let stamp = scratch.stamp;
        scratch.queue.clear();
        if let Some(i) = self.index(start)
            && let Some(s) = scratch.seen.get_mut(i)
        {
            *s = stamp;
            scratch.queue.push((start, 1));
        }
        let mut head = 0usize;
        let mut count = 0u32;
        while count < FILL_CAP {
            let Some(&(p, t)) = scratch.queue.get(head) else {
                break;
            };
            head = head.saturating_add(1);
            count = count.saturating_add(1);
            let next = t.saturating_add(1);
            for d in Direction::ALL {
                let q = p.step(d);
                let Some(i) = self.index(q) else { continue };
                if self.free_after.get(i).is_some_and(|&f| f <= next)
                    && let Some(s) = scratch.seen.get_mut(i)
                    && *s != stamp
                {
                    *s = stamp;
                    scratch.queue.push((q, next));
                }
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nets_envs::agents::agent_seed;
    use nets_envs::snake::SnakeParams;
    use nets_envs::{GameRng, Outcome};

    /// Score (wins 2, draws 1) of `a` against `b` over `games` seeded games, seats alternating.
    fn points(a: AgentSpec, b: AgentSpec, games: u8) -> (u32, u32) {
        let (mut pa, mut pb) = (0, 0);
        for i in 0..games {
            let seed = [i; 32];
            let mut game = SnakeGame::new(SnakeParams::duel(11), seed).unwrap();
            let (first, second) = if i % 2 == 0 { (a, b) } else { (b, a) };
            let mut agents = [
                first.build(agent_seed(seed, 0)),
                second.build(agent_seed(seed, 1)),
            ];
            while !game.is_over() {
                let moves = [agents[0].choose(&game, 0), agents[1].choose(&game, 1)];
                game.step(&moves).unwrap();
            }
            let a_seat = if i % 2 == 0 { 0 } else { 1 };
            match game.outcome() {
                Some(Outcome::Winner(w)) if *w == a_seat => pa += 2,
                Some(Outcome::Winner(_)) => pb += 2,
                _ => {
                    pa += 1;
                    pb += 1;
                }
            }
        }
        (pa, pb)
    }

    #[test]
    fn more_skill_is_stronger() {
        let tuned = |skill| {
            AgentSpec::Tuned(Genome {
                skill,
                ..Genome::default()
            })
        };
        let (strong, weak) = points(tuned(950), tuned(700), 60);
        assert!(strong > weak, "{strong} vs {weak}");
        let (strong, weak) = points(tuned(1000), AgentSpec::Random, 40);
        assert!(strong > 3 * weak, "{strong} vs {weak}");
    }

    #[test]
    fn mutation_stays_in_range_and_is_reproducible() {
        let mut r1 = GameRng::from_seed([4; 32]);
        let mut r2 = GameRng::from_seed([4; 32]);
        let mut g = Genome::default();
        for _ in 0..500 {
            let child = g.mutate(&mut r1, 10);
            assert_eq!(child, g.mutate(&mut r2, 10));
            assert_eq!(child, child.clamped());
            g = child;
        }
    }
}
