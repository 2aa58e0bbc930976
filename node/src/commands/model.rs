//! `netsd model`: checking neural models against the contract of `docs/models.md`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use nets_envs::snake::{MAX_BOARD_SIDE, MIN_BOARD_SIDE};
use nets_node::agents::onnx::model::{Device, Logits, ModelOptions, SnakeModel};
use nets_node::agents::onnx::runtime::runtime;
use nets_node::agents::onnx::samples::{Sample, sample_boards};
use nets_node::agents::{pick, safe_moves};

#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Check an ONNX model against the model contract (docs/models.md), run it on sample
    /// boards from seeded games, and measure its speed.
    Check(CheckArgs),
}

/// The environments models can be checked for.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Env {
    /// Snake: input `board` [N, 7, H, W], output `logits` [N, 4].
    Snake,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The ONNX model file.
    model: PathBuf,
    /// The environment whose contract the model should follow.
    #[arg(long, value_enum, default_value_t = Env::Snake)]
    env: Env,
    /// Board width and height of the sample boards.
    #[arg(long, default_value_t = 11)]
    board: u8,
    /// Where the model runs: cpu or cuda.
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Sample boards to evaluate.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    samples: u32,
    /// Seconds to measure each speed for (0 skips the measurement).
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
}

/// Batch sizes the speed is measured at.
const SPEED_BATCHES: [usize; 2] = [1, 64];

/// Largest difference allowed between a board's scores alone and in a batch (relative to
/// 1 + the score): loose enough for GPU kernels that pick other algorithms per batch size,
/// tight enough to catch a model whose boards influence each other.
const BATCH_TOLERANCE: f32 = 1e-3;

pub(crate) fn run(args: &ModelArgs) -> Result<()> {
    match &args.command {
        ModelCommand::Check(check_args) => check(check_args),
    }
}

/// A progress line on standard error, so standard output stays the report.
fn progress(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "netsd: {message}");
}

fn check(args: &CheckArgs) -> Result<()> {
    let Env::Snake = args.env;
    if !(MIN_BOARD_SIDE..=MAX_BOARD_SIDE).contains(&args.board) {
        bail!(
            "--board {}: each side must be {MIN_BOARD_SIDE}..={MAX_BOARD_SIDE}",
            args.board
        );
    }
    if !(args.seconds.is_finite() && (0.0..=600.0).contains(&args.seconds)) {
        bail!("--seconds {}: must be between 0 and 600", args.seconds);
    }
    let side = usize::from(args.board);
    let options = ModelOptions {
        device: args.device,
        threads: usize::from(args.threads),
    };
    progress(&format!("loading {}", args.model.display()));
    let mut model = SnakeModel::load(&args.model, &options)?;
    let rt = runtime()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "model: {}", args.model.display())?;
    writeln!(
        out,
        "runtime: {} ({})",
        rt.library.path.display(),
        rt.library.source
    )?;
    writeln!(out, "input: {}", model.input_description())?;
    writeln!(out, "output: {}", model.output_description())?;
    let signature = model.signature();
    let fixed = match (signature.width, signature.height) {
        (None, None) => "the model takes any board size".to_owned(),
        (w, h) => format!(
            "the model's input is fixed to width {}, height {}",
            w.map_or("any".into(), |w| w.to_string()),
            h.map_or("any".into(), |h| h.to_string())
        ),
    };
    writeln!(out, "board: {side}x{side} ({fixed})")?;
    model.check_board(side, side)?;
    writeln!(
        out,
        "device: {}, {} intra-op thread{}",
        options.device,
        options.threads,
        if options.threads == 1 { "" } else { "s" }
    )?;

    let count = usize::try_from(args.samples).unwrap_or(usize::MAX);
    progress(&format!(
        "evaluating {count} sample boards from seeded games"
    ));
    let samples = sample_boards(args.board, args.board, count)?;
    let (one_by_one, batched) = evaluate_samples(&mut model, &samples, side)?;
    let mut largest = 0f32;
    for (sample, (a, b)) in samples.iter().zip(one_by_one.iter().zip(&batched)) {
        for (x, y) in a.iter().zip(b) {
            let diff = (x - y).abs();
            largest = largest.max(diff);
            if diff > BATCH_TOLERANCE * (1.0 + x.abs()) {
                bail!(
                    "the model scores a board differently alone ({a:?}) and in a batch of \
                     {} ({b:?}): {}; a board's scores must not depend on the other boards \
                     of its batch",
                    SPEED_BATCHES[1],
                    where_from(sample)
                );
            }
        }
    }
    let games = samples.last().map_or(0, |s| s.seed);
    writeln!(
        out,
        "samples: {} boards from {games} seeded games: every score finite; the same scores \
         alone and in batches (largest difference {largest:.1e})",
        samples.len()
    )?;
    let mut chosen = [0usize; 4];
    for (sample, logits) in samples.iter().zip(&one_by_one) {
        let d = pick(safe_moves(&sample.board, side, side), logits);
        chosen[usize::from(d.code())] += 1;
    }
    let share = |n: usize| 100.0 * n as f64 / samples.len().max(1) as f64;
    writeln!(
        out,
        "moves played on the samples: up {:.1} %, down {:.1} %, left {:.1} %, right {:.1} %",
        share(chosen[0]),
        share(chosen[1]),
        share(chosen[2]),
        share(chosen[3])
    )?;
    out.flush()?;

    if args.seconds > 0.0 {
        let budget = Duration::from_secs_f64(args.seconds);
        for batch in SPEED_BATCHES {
            progress(&format!(
                "measuring the speed at batch {batch} for {:.1} s",
                budget.as_secs_f64()
            ));
            let (per_second, per_call) = measure(&mut model, &samples, side, batch, budget)?;
            writeln!(
                out,
                "speed at batch {batch}: {} evaluations/s ({:.1} µs per model call)",
                thousands(per_second),
                per_call.as_secs_f64() * 1e6
            )?;
            out.flush()?;
        }
    }
    writeln!(
        out,
        "ok: {} follows the Snake model contract",
        args.model.display()
    )?;
    Ok(())
}

fn where_from(sample: &Sample) -> String {
    format!(
        "sample board of game seed {}, turn {}, player {}",
        sample.seed, sample.turn, sample.player
    )
}

/// Every sample's scores evaluated one by one and in batches of 64; any non-finite score is
/// an error naming the sample.
fn evaluate_samples(
    model: &mut SnakeModel,
    samples: &[Sample],
    side: usize,
) -> Result<(Vec<Logits>, Vec<Logits>)> {
    let started = Instant::now();
    let mut reported = started;
    let mut one_by_one = Vec::with_capacity(samples.len());
    for (i, sample) in samples.iter().enumerate() {
        let logits = model
            .evaluate(&sample.board, side, side)
            .with_context(|| where_from(sample))?;
        one_by_one.extend(logits);
        if reported.elapsed() > Duration::from_secs(2) {
            progress(&format!("{i} of {} sample boards", samples.len()));
            reported = Instant::now();
        }
    }
    let mut batched = Vec::with_capacity(samples.len());
    let mut input = Vec::new();
    for chunk in samples.chunks(SPEED_BATCHES[1]) {
        input.clear();
        for sample in chunk {
            input.extend_from_slice(&sample.board);
        }
        match model.evaluate(&input, side, side) {
            Ok(logits) => batched.extend(logits),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "a batch of {} sample boards, the first from {}",
                        chunk.len(),
                        chunk.first().map_or_else(String::new, where_from)
                    )
                });
            }
        }
    }
    Ok((one_by_one, batched))
}

/// Evaluations per second and time per call at `batch` boards per call, over `budget`.
fn measure(
    model: &mut SnakeModel,
    samples: &[Sample],
    side: usize,
    batch: usize,
    budget: Duration,
) -> Result<(f64, Duration)> {
    let mut input = Vec::with_capacity(batch * samples.first().map_or(0, |s| s.board.len()));
    for sample in samples.iter().cycle().take(batch) {
        input.extend_from_slice(&sample.board);
    }
    let mut out = Vec::with_capacity(batch);
    // One call to warm up (allocations, kernel choice) before the clock starts.
    model.evaluate_into(&input, side, side, &mut out)?;
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < budget || calls == 0 {
        out.clear();
        model.evaluate_into(&input, side, side, &mut out)?;
        calls += 1;
    }
    let elapsed = started.elapsed();
    let per_call = elapsed / calls;
    let per_second = f64::from(calls) * batch as f64 / elapsed.as_secs_f64();
    Ok((per_second, per_call))
}

/// `1234567.8` as `1 234 568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
