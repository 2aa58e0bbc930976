//! Neural agent speed on the CPU: board evaluations per second for the example models at
//! batch 1 and batch 64 (one intra-op thread, so one core), the cost of a round trip through
//! the batcher, and how long a move waits in the batcher when many games ask at once.
//!
//! Run with `cargo bench -p nets-node --bench onnx` after `scripts/setup-onnxruntime`.
//! Throughput is printed as elements per second, where an element is one board evaluated.
//! The batcher-under-load figures are printed after criterion's.

use std::hint::black_box;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use nets_node::agents::onnx::batcher::{BatchConfig, Batcher};
use nets_node::agents::onnx::model::{ModelOptions, SnakeModel};
use nets_node::agents::onnx::samples::sample_boards;

const SIDE: usize = 11;

fn load(name: &str) -> SnakeModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name);
    SnakeModel::load(&path, &ModelOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// `n` real observations, concatenated.
fn boards(n: usize) -> Vec<f32> {
    sample_boards(SIDE as u8, SIDE as u8, n)
        .unwrap()
        .into_iter()
        .flat_map(|s| s.board)
        .collect()
}

fn evaluate(c: &mut Criterion) {
    for name in ["snake-conv.onnx", "snake-mlp.onnx"] {
        let mut model = load(name);
        let mut g = c.benchmark_group(format!("evaluate/{name}"));
        for batch in [1usize, 64] {
            let input = boards(batch);
            let mut out = Vec::with_capacity(batch);
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(format!("batch_{batch}"), |b| {
                b.iter(|| {
                    out.clear();
                    model
                        .evaluate_into(black_box(&input), SIDE, SIDE, &mut out)
                        .unwrap();
                    black_box(out.len())
                })
            });
        }
        g.finish();
    }
}

fn batcher_round_trip(c: &mut Criterion) {
    // One client alone: the batcher runs each board at once (every client is waiting), so
    // this is the overhead of the worker thread and the channels on top of batch 1.
    let batcher = Batcher::spawn(load("snake-conv.onnx"), SIDE, SIDE, BatchConfig::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let client = batcher.client();
    let board = boards(1);
    let mut g = c.benchmark_group("batcher/snake-conv.onnx");
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_client_round_trip", |b| {
        b.iter(|| client.evaluate(black_box(board.clone())).unwrap())
    });
    g.finish();
}

/// Many games asking at once: `clients` threads, each sending one board at a time for
/// `duration`. Prints evaluations per second, the mean batch, the mean time a board waits in
/// the queue before its batch runs, and the round-trip latency a move sees (median, 99th
/// percentile).
fn batcher_under_load(clients: usize, config: BatchConfig, duration: Duration) {
    let batcher = Batcher::spawn(load("snake-conv.onnx"), SIDE, SIDE, config)
        .unwrap_or_else(|e| panic!("{e}"));
    let samples = boards(256);
    let per_board = samples.len() / 256;
    let start = Barrier::new(clients + 1);
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                let client = batcher.client();
                let (samples, start) = (&samples, &start);
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    start.wait();
                    let began = Instant::now();
                    let mut k = i;
                    while began.elapsed() < duration {
                        let board =
                            samples[(k % 256) * per_board..(k % 256 + 1) * per_board].to_vec();
                        let asked = Instant::now();
                        client.evaluate(board).unwrap();
                        seen.push(asked.elapsed());
                        k += clients;
                    }
                    seen
                })
            })
            .collect();
        start.wait();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    latencies.sort();
    let stats = batcher.stats();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "batcher under load: {clients:>3} clients, max batch {:>3}, max wait {:>5} µs: \
         {:>9.0} evaluations/s, mean batch {:>5.1}, mean queue wait {:>7.1} µs, \
         round trip median {:>7.1} µs, p99 {:>7.1} µs",
        config.max_batch,
        config.max_wait.as_micros(),
        stats.boards as f64 / duration.as_secs_f64(),
        stats.mean_batch(),
        stats.mean_wait().as_secs_f64() * 1e6,
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
    );
}

criterion_group!(benches, evaluate, batcher_round_trip);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this too; keep that quick.
    let quick = std::env::args().any(|a| a == "--test");
    let duration = Duration::from_millis(if quick { 50 } else { 2000 });
    for clients in [1, 8, 64, 256] {
        batcher_under_load(clients, BatchConfig::default(), duration);
    }
}
