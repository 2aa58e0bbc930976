//! Measures: rank correlation, quantiles, the delay histogram, and the true skill of agents.

use std::collections::BTreeMap;

use nets_envs::Outcome;
use nets_envs::agents::{Agent, agent_seed};
use nets_envs::snake::{SnakeGame, SnakeParams};

use crate::agent::AgentSpec;

/// Kendall's tau-b between two scores of the same items (ties in either are handled as in
/// tau-b). `None` with fewer than two items or when either side is all ties.
pub fn kendall_tau_b(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len();
    if n < 2 {
        return None;
    }
    let (mut concordant, mut discordant, mut tie_x, mut tie_y) = (0i64, 0i64, 0i64, 0i64);
    for (i, a) in pairs.iter().enumerate() {
        for b in pairs.iter().skip(i + 1) {
            let dx = a.0.total_cmp(&b.0);
            let dy = a.1.total_cmp(&b.1);
            use std::cmp::Ordering::Equal;
            match (dx, dy) {
                (Equal, Equal) => {}
                (Equal, _) => tie_x += 1,
                (_, Equal) => tie_y += 1,
                _ if dx == dy => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let n0 = (concordant + discordant + tie_x) as f64;
    let n1 = (concordant + discordant + tie_y) as f64;
    if n0 == 0.0 || n1 == 0.0 {
        return None;
    }
    Some((concordant - discordant) as f64 / (n0 * n1).sqrt())
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let last = sorted.len() - 1;
    let idx = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
    sorted.get(idx.min(last)).copied()
}

/// A histogram of delays in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: BTreeMap<u64, u64>,
    total: u64,
}

impl Histogram {
    /// Adds one observation.
    pub fn add(&mut self, value: u64) {
        *self.counts.entry(value).or_insert(0) += 1;
        self.total += 1;
    }

    /// Merges another histogram.
    pub fn merge(&mut self, other: &Histogram) {
        for (v, c) in &other.counts {
            *self.counts.entry(*v).or_insert(0) += c;
        }
        self.total += other.total;
    }

    /// Observations.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The `q`-quantile.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((self.total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (v, c) in &self.counts {
            seen += c;
            if seen >= rank {
                return Some(*v);
            }
        }
        self.counts.keys().next_back().copied()
    }

    /// `(value, cumulative share)` points for a CDF plot, at most `points` of them.
    pub fn cdf(&self, points: usize) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        let step = (self.counts.len() / points.max(1)).max(1);
        let mut seen = 0u64;
        for (i, (v, c)) in self.counts.iter().enumerate() {
            seen += c;
            if i % step == 0 || i + 1 == self.counts.len() {
                out.push((*v, seen as f64 / self.total.max(1) as f64));
            }
        }
        out
    }
}

/// Plays `games` seeded games between two agents (seats alternate) and returns the first's
/// score share (win 1, draw 1/2).
pub fn score_share(
    a: &AgentSpec,
    b: &AgentSpec,
    params: &SnakeParams,
    salt: u64,
    games: u32,
) -> f64 {
    let mut points = 0u32;
    for k in 0..games {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&salt.to_le_bytes());
        seed[8..12].copy_from_slice(&k.to_le_bytes());
        let Ok(mut game) = SnakeGame::new(params.clone(), seed) else {
            continue;
        };
        let a_seat = (k % 2) as usize;
        let mut agents = if a_seat == 0 {
            [a.build(agent_seed(seed, 0)), b.build(agent_seed(seed, 1))]
        } else {
            [b.build(agent_seed(seed, 0)), a.build(agent_seed(seed, 1))]
        };
        while !game.is_over() {
            let moves = [agents[0].choose(&game, 0), agents[1].choose(&game, 1)];
            if game.step(&moves).is_err() {
                break;
            }
        }
        points += match game.outcome() {
            Some(Outcome::Winner(w)) if usize::from(*w) == a_seat => 2,
            Some(Outcome::Winner(_)) => 0,
            _ => 1,
        };
    }
    f64::from(points) / (2.0 * f64::from(games.max(1)))
}

/// The hidden true skill of each distinct agent: Bradley–Terry strengths fitted to a seeded
/// round robin of `games` games per pair, on the log scale in Elo points (mean 0). A node's
/// true skill is its agent's.
pub fn true_skill(
    specs: &[AgentSpec],
    params: &SnakeParams,
    games: u32,
) -> BTreeMap<AgentSpec, f64> {
    use rayon::prelude::*;
    let n = specs.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
        .collect();
    let shares: Vec<f64> = pairs
        .par_iter()
        .map(|&(i, j)| score_share(&specs[i], &specs[j], params, (i * 1000 + j) as u64, games))
        .collect();
    // wins[i][j]: points share of i against j, as game counts, with half a game of prior each
    // way so that a clean sweep still gives a finite strength.
    let g = f64::from(games);
    let mut wins = vec![vec![0.0; n]; n];
    for (&(i, j), s) in pairs.iter().zip(&shares) {
        wins[i][j] = s * g + 0.5;
        wins[j][i] = (1.0 - s) * g + 0.5;
    }
    // Minorisation-maximisation (Hunter 2004).
    let mut p = vec![1.0f64; n];
    for _ in 0..500 {
        let mut next = vec![0.0; n];
        for i in 0..n {
            let w: f64 = (0..n).filter(|&j| j != i).map(|j| wins[i][j]).sum();
            let d: f64 = (0..n)
                .filter(|&j| j != i)
                .map(|j| (wins[i][j] + wins[j][i]) / (p[i] + p[j]))
                .sum();
            next[i] = if d > 0.0 { w / d } else { p[i] };
        }
        let mean_log = next.iter().map(|x| x.ln()).sum::<f64>() / n.max(1) as f64;
        for x in next.iter_mut() {
            *x = (x.ln() - mean_log).exp();
        }
        p = next;
    }
    specs
        .iter()
        .zip(p)
        .map(|(s, v)| (*s, 400.0 * v.ln() / std::f64::consts::LN_10))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_b_of_known_orders() {
        let same: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64 * 2.0)).collect();
        assert_eq!(kendall_tau_b(&same), Some(1.0));
        let reversed: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, -(i as f64))).collect();
        assert_eq!(kendall_tau_b(&reversed), Some(-1.0));
        // One swapped neighbour pair among 5: (10 - 2) / 10.
        let one = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (4.0, 4.0), (5.0, 5.0)];
        assert!((kendall_tau_b(&one).unwrap() - 0.8).abs() < 1e-12);
        // Ties in the truth do not count against the ranking.
        let tied = [(1.0, 1.0), (1.0, 2.0), (2.0, 3.0), (2.0, 4.0)];
        assert_eq!(kendall_tau_b(&tied), Some(4.0 / (4.0f64 * 6.0).sqrt()));
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.quantile(1.0), Some(100));
    }
}
