//! Glicko-2 throughput: one rating period (one epoch) for 100 000 rated players who play about
//! five games each (250 000 games), plus the leaderboard of the result. Criterion prints the
//! throughput in games (or players) per second.
//!
//! Run with `cargo bench -p nets-tournament --bench rating`.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use nets_tournament::identity::PlayerId;
use nets_tournament::rating::{
    GameResult, Glicko2Params, PlayerRating, Ratings, Score, leaderboard, rate_period,
};

const PLAYERS: u64 = 100_000;
/// Games per player (each game counts for both of its players).
const GAMES_PER_PLAYER: u64 = 5;

/// SplitMix64: a fixed pseudo-random sequence, so the benchmark needs no randomness.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn player(i: u64) -> PlayerId {
    // Spread the ids over the key space, as public keys are.
    let mut id = [0u8; 32];
    let mut rng = SplitMix(i);
    for chunk in id.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    PlayerId(id)
}

fn setup() -> (Ratings, Vec<GameResult>) {
    let mut rng = SplitMix(7);
    let ids: Vec<PlayerId> = (0..PLAYERS).map(player).collect();
    let ratings: Ratings = ids
        .iter()
        .map(|id| {
            let rating = PlayerRating {
                rating: 1000.0 + 1000.0 * rng.unit(),
                deviation: 40.0 + 300.0 * rng.unit(),
                volatility: 0.04 + 0.04 * rng.unit(),
                games: 10,
                wins: 4,
                draws: 2,
                losses: 4,
            };
            (*id, rating)
        })
        .collect();
    let games = (0..PLAYERS * GAMES_PER_PLAYER / 2)
        .map(|_| {
            let a = ids[(rng.next() % PLAYERS) as usize];
            let b = ids[(rng.next() % PLAYERS) as usize];
            let score_a = match rng.next() % 3 {
                0 => Score::Win,
                1 => Score::Draw,
                _ => Score::Loss,
            };
            GameResult { a, b, score_a }
        })
        .collect();
    (ratings, games)
}

fn bench_rating(c: &mut Criterion) {
    let (ratings, games) = setup();
    let params = Glicko2Params::default();

    let mut group = c.benchmark_group("rating/period");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(games.len() as u64));
    group.bench_function("100k_players_250k_games", |b| {
        b.iter(|| rate_period(black_box(&ratings), black_box(&games), &params))
    });
    group.finish();

    let after = rate_period(&ratings, &games, &params);
    let mut group = c.benchmark_group("rating/leaderboard");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(PLAYERS));
    group.bench_function("100k_players", |b| {
        b.iter(|| leaderboard(black_box(&after)))
    });
    group.finish();
}

criterion_group!(benches, bench_rating);
criterion_main!(benches);
