//! Neural agents end to end, through ONNX Runtime: the example models against the reference
//! outputs computed without ONNX Runtime, full games that finish and replay, models that break
//! the contract, NaN outputs that forfeit a game, and batching across concurrent games.
//!
//! These tests need the ONNX Runtime library; `scripts/test` installs it first
//! (`scripts/setup-onnxruntime`). They fail, rather than skip, when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use nets_envs::Outcome;
use nets_envs::agents::{BuiltIn, agent_seed};
use nets_envs::log::{ActionLog, EnvSpec};
use nets_envs::snake::{SnakeParams, battlesnake, observation};
use nets_envs::transcript::Transcript;
use nets_node::agents::onnx::batcher::{BatchConfig, BatchError, Batcher};
use nets_node::agents::onnx::model::{ModelError, ModelOptions, SnakeModel};
use nets_node::agents::onnx::samples::{sample_boards, seed_bytes};
use nets_node::agents::{AgentError, GameEnd, OnnxAgent, PlayedGame, Player, play_game};

const TOLERANCE: f64 = 1e-4;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn model_path(name: &str) -> PathBuf {
    models_dir().join(name)
}

fn load(name: &str) -> Result<SnakeModel, ModelError> {
    SnakeModel::load(&model_path(name), &ModelOptions::default())
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(models_dir().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn example_models_match_the_reference_outputs() {
    let reference = reference();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for name in ["snake-conv.onnx", "snake-mlp.onnx"] {
        let mut model = load(name).unwrap();
        let mut checked = 0;
        // Boards of one size, for a batched evaluation afterwards.
        let mut batch: Vec<f32> = Vec::new();
        let mut expected_batch: Vec<Vec<f64>> = Vec::new();
        for case in cases {
            let Some(expected) = case["logits"].get(name) else {
                continue;
            };
            let expected = floats(expected);
            let shape = floats(&case["shape"]);
            let (h, w) = (shape[1] as usize, shape[2] as usize);
            let board: Vec<f32> = floats(&case["board"]).iter().map(|&v| v as f32).collect();
            let got = model.evaluate(&board, w, h).unwrap();
            assert_eq!(got.len(), 1);
            for (g, e) in got[0].iter().zip(&expected) {
                assert!(
                    (f64::from(*g) - e).abs() <= TOLERANCE,
                    "{name}, case {:?}: got {:?}, expected {expected:?}",
                    case["name"],
                    got[0]
                );
            }
            if (w, h) == (11, 11) {
                batch.extend_from_slice(&board);
                expected_batch.push(expected);
            }
            checked += 1;
        }
        assert!(checked >= 5, "{name}: only {checked} cases");
        let got = model.evaluate(&batch, 11, 11).unwrap();
        assert_eq!(got.len(), expected_batch.len());
        for (g, e) in got.iter().zip(&expected_batch) {
            for (g, e) in g.iter().zip(e) {
                assert!((f64::from(*g) - e).abs() <= TOLERANCE, "{name} batched");
            }
        }
    }
}

/// The reference boards were encoded in Python from the plane table; the Rust encoder must
/// give the same tensors, or the documented layout and the model input disagree.
#[test]
fn reference_boards_match_the_observation_encoder() {
    let reference = reference();
    let mut checked = 0;
    for case in reference["cases"].as_array().unwrap() {
        let Some(position) = case.get("position") else {
            continue;
        };
        let (game, meta) = battlesnake::from_json(&position.to_string(), [0; 32]).unwrap();
        let board = observation::observe(&game, meta.you_index());
        let expected: Vec<f32> = floats(&case["board"]).iter().map(|&v| v as f32).collect();
        assert_eq!(board, expected, "case {:?}", case["name"]);
        let shape = floats(&case["shape"]);
        assert_eq!(
            observation::shape(game.params()).map(|d| d as f64).to_vec(),
            shape
        );
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn the_conv_model_takes_any_board_and_the_mlp_only_its_own() {
    let conv = load("snake-conv.onnx").unwrap();
    assert_eq!(conv.signature().width, None);
    assert_eq!(conv.input_description(), "board f32 [N, 7, H, W]");
    assert_eq!(conv.output_description(), "logits f32 [N, 4]");
    for side in [5, 7, 19, 25] {
        conv.check_board(side, side).unwrap();
    }
    let mut mlp = load("snake-mlp.onnx").unwrap();
    assert_eq!(mlp.signature().width, Some(11));
    mlp.check_board(11, 11).unwrap();
    let err = mlp.check_board(7, 7).unwrap_err();
    assert!(matches!(err, ModelError::BoardSize { .. }));
    assert!(err.to_string().contains("takes 11x11 boards only"), "{err}");
    let err = mlp.evaluate(&vec![0.0; 7 * 7 * 7], 7, 7).unwrap_err();
    assert!(matches!(err, ModelError::BoardSize { .. }));
    // A buffer that is not whole boards is an error, not a panic.
    let err = mlp.evaluate(&[0.0; 100], 11, 11).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a whole number of 7x11x11 boards"),
        "{err}"
    );
    let err = mlp.evaluate(&[], 11, 11).unwrap_err();
    assert!(matches!(err, ModelError::InputSize { .. }));
}

#[test]
fn models_that_break_the_contract_are_rejected_with_the_reason() {
    let cases = [
        ("test/wrong-planes.onnx", "6 planes; the contract needs 7"),
        (
            "test/wrong-input-name.onnx",
            "no input named \"board\" (its inputs: \"x\")",
        ),
        (
            "test/wrong-output.onnx",
            "5 scores per board; the contract needs 4",
        ),
        ("test/wrong-dtype.onnx", "input board is f64"),
        (
            "test/wrong-batch.onnx",
            "batch dimension is fixed to 1; the contract needs a dynamic batch dimension N",
        ),
    ];
    for (name, needle) in cases {
        let err = load(name).unwrap_err();
        assert!(
            matches!(err, ModelError::Contract { .. }),
            "{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(needle), "{name}: {message}");
        assert!(message.contains("docs/models.md"), "{name}: {message}");
    }
    let err = load("test/malformed.onnx").unwrap_err();
    assert!(matches!(err, ModelError::Invalid { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is not a valid ONNX model"),
        "{err}"
    );
    let err = load("no-such-model.onnx").unwrap_err();
    assert!(matches!(err, ModelError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-model.onnx"), "{err}");
}

#[test]
fn nan_outputs_are_errors_naming_the_board() {
    let mut model = load("test/nan-midgame.onnx").unwrap();
    let samples = sample_boards(11, 11, 64).unwrap();
    // Full health: finite.
    let first = &samples[0];
    assert_eq!(first.turn, 0);
    model.evaluate(&first.board, 11, 11).unwrap();
    // A batch with a board at lower health: that board is named.
    let late = samples.iter().position(|s| s.turn >= 5).unwrap();
    let mut batch = first.board.clone();
    batch.extend_from_slice(&samples[late].board);
    let err = model.evaluate(&batch, 11, 11).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::NonFinite {
                board: 1,
                batch: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("non-finite score for board 1 of a batch of 2")
    );
}

fn batcher(name: &str, side: usize, config: BatchConfig) -> Batcher {
    Batcher::spawn(load(name).unwrap(), side, side, config).unwrap()
}

/// Plays one seeded game; seats marked `true` are the ONNX agent of `batcher`.
fn play(batcher: &Batcher, params: SnakeParams, seed: u64, onnx: &[bool]) -> PlayedGame {
    let seed = seed_bytes(seed);
    let spec = EnvSpec::Snake(params);
    let game = spec.start(seed).unwrap();
    let client = Arc::new(batcher.client());
    let mut players: Vec<Box<dyn Player + Send>> = onnx
        .iter()
        .enumerate()
        .map(|(p, &is_onnx)| -> Box<dyn Player + Send> {
            if is_onnx {
                Box::new(OnnxAgent::new("onnx", Arc::clone(&client)))
            } else {
                Box::new(BuiltIn::Greedy.build(agent_seed(seed, p)))
            }
        })
        .collect();
    play_game(game, &mut players, ActionLog::new(spec, seed), |_| {}).unwrap()
}

#[test]
fn full_games_with_each_model_finish_and_replay() {
    for (name, side) in [
        ("snake-conv.onnx", 11),
        ("snake-conv.onnx", 7),
        ("snake-mlp.onnx", 11),
    ] {
        let batcher = batcher(name, side, BatchConfig::default());
        for (seed, seats) in [
            (1, vec![true, false]),
            (2, vec![false, true]),
            (3, vec![true, true]),
            (4, vec![true, false, true, false]),
        ] {
            let params = SnakeParams {
                width: side as u8,
                height: side as u8,
                snakes: seats.len() as u8,
                max_turns: 300,
                ..SnakeParams::default()
            };
            let played = play(&batcher, params, seed, &seats);
            assert!(played.game.is_over(), "{name} seed {seed}: not over");
            assert!(
                matches!(played.end, GameEnd::Finished(_)),
                "{name} seed {seed}: {}",
                played.end
            );
            let transcript = Transcript::from_log(
                &played.log,
                (0..seats.len()).map(|p| format!("p{p}")).collect(),
            )
            .unwrap();
            let replayed = Transcript::from_json(&transcript.to_json())
                .unwrap()
                .verify()
                .unwrap();
            assert_eq!(replayed, played.game, "{name} seed {seed}");
        }
        let stats = batcher.stats();
        assert!(stats.boards > 0 && stats.batches > 0);
    }
}

#[test]
fn a_solo_game_with_a_model_finishes() {
    let batcher = batcher("snake-conv.onnx", 11, BatchConfig::default());
    let played = play(&batcher, SnakeParams::solo(11, 200), 9, &[true]);
    assert!(matches!(played.end, GameEnd::Finished(Outcome::Score(_))));
    assert_eq!(played.log.replay().unwrap(), played.game);
}

#[test]
fn a_nan_during_a_game_forfeits_it_cleanly() {
    let batcher = batcher("test/nan-midgame.onnx", 11, BatchConfig::default());
    for (seat, seats) in [(0, [true, false]), (1, [false, true])] {
        let played = play(&batcher, SnakeParams::duel(11), 5, &seats);
        let GameEnd::Forfeit {
            player,
            turn,
            error,
        } = &played.end
        else {
            panic!("expected a forfeit, got {}", played.end);
        };
        assert_eq!(*player, seat);
        // The model is finite at full health, so the game got under way first.
        assert!(*turn >= 3, "forfeit on turn {turn}");
        assert!(matches!(
            error,
            AgentError::Inference(BatchError::Model(ModelError::NonFinite { .. }))
        ));
        assert_eq!(played.end.winner(2), Some(1 - seat));
        assert!(played.end.to_string().contains("non-finite score"));
        assert!(!played.game.is_over());
        // The moves up to the forfeit still replay.
        assert_eq!(played.log.replay().unwrap(), played.game);
        assert_eq!(played.game.turn(), *turn);
    }
    // The worker survived the NaN and still serves other boards.
    let client = batcher.client();
    let fresh = observation::observe(
        &nets_envs::snake::SnakeGame::new(SnakeParams::duel(11), [1; 32]).unwrap(),
        0,
    );
    client.evaluate(fresh).unwrap();
}

#[test]
fn concurrent_games_share_batches() {
    let config = BatchConfig {
        max_batch: 64,
        max_wait: Duration::from_millis(20),
        queue: 256,
    };
    let batcher = batcher("snake-conv.onnx", 11, config);
    let games = 16;
    let results: Vec<PlayedGame> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..games)
            .map(|seed| {
                let batcher = &batcher;
                scope.spawn(move || play(batcher, SnakeParams::duel(11), seed, &[true, false]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for played in &results {
        assert!(played.game.is_over());
        assert_eq!(played.log.replay().unwrap(), played.game);
    }
    let stats = batcher.stats();
    assert!(
        stats.mean_batch() > 1.5,
        "16 concurrent games should share model calls: {stats:?}"
    );
    assert!(stats.largest as usize <= config.max_batch);
    // A lone client is answered at once: with every client waiting there is no one to wait for.
    let client = batcher.client();
    let board = observation::observe(
        &nets_envs::snake::SnakeGame::new(SnakeParams::duel(11), [2; 32]).unwrap(),
        0,
    );
    let before = std::time::Instant::now();
    for _ in 0..20 {
        client.evaluate(board.clone()).unwrap();
    }
    assert!(
        before.elapsed() < Duration::from_millis(20 * 20 / 2),
        "a lone client waited for the batch timeout: {:?}",
        before.elapsed()
    );
    // A board of the wrong size is refused before it reaches the model.
    let err = client.evaluate(vec![0.0; 10]).unwrap_err();
    assert!(matches!(err, BatchError::BoardSize { .. }), "{err:?}");
}

#[test]
fn a_batcher_shuts_down_when_asked() {
    let batcher = batcher("snake-mlp.onnx", 11, BatchConfig::default());
    let client = batcher.client();
    let board = vec![0.0; 7 * 11 * 11];
    client.evaluate(board.clone()).unwrap();
    drop(client);
    batcher.shutdown();
}

#[test]
fn the_example_models_avoid_dying_at_once() {
    // The example models have random weights: this only checks that their moves avoid
    // dying at once when they can (the documented move rule), over a few games.
    let batcher = batcher("snake-conv.onnx", 11, BatchConfig::default());
    let mut turns = 0;
    for seed in 20..24 {
        let played = play(&batcher, SnakeParams::duel(11), seed, &[true, false]);
        turns += played.game.turn();
    }
    assert!(
        turns > 4 * 5,
        "the model's snake dies at once: {turns} turns in 4 games"
    );
}

// --- the command-line tool ---------------------------------------------------------------

fn netsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsd"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("netsd runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netsd-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn assert_fails_with(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("netsd: error:"), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

#[test]
fn cli_plays_an_onnx_agent_and_replays_the_transcript() {
    let path = temp("onnx-game.json");
    let p = path.to_str().unwrap();
    let out = netsd(&[
        "play",
        "-a",
        "search",
        "-a",
        "onnx:models/snake-conv.onnx",
        "--seed",
        "3",
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("B = player 1 (onnx:models/snake-conv.onnx)"),
        "{text}"
    );
    assert!(text.contains("verified by replay"), "{text}");
    let out = netsd(&["replay", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("the recorded result matches the replay"));
}

#[test]
fn cli_reports_a_forfeit_and_keeps_a_replayable_transcript() {
    let path = temp("forfeit.json");
    let p = path.to_str().unwrap();
    let out = netsd(&[
        "play",
        "-a",
        "onnx:models/test/nan-midgame.onnx",
        "-a",
        "greedy",
        "-o",
        p,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("forfeit: player 0 (onnx:models/test/nan-midgame.onnx) failed on turn"),
        "{text}"
    );
    assert!(text.contains("non-finite score"), "{text}");
    assert!(text.contains("result: player 1 wins by forfeit"), "{text}");
    assert!(text.contains("unfinished"), "{text}");
    assert!(!stderr(&out).contains("panicked"));
    let out = netsd(&["replay", p]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn cli_plays_many_games_at_once_through_one_batcher() {
    let out = netsd(&[
        "play",
        "-a",
        "onnx:models/snake-mlp.onnx",
        "-a",
        "onnx:models/snake-conv.onnx",
        "--games",
        "12",
        "--parallel",
        "6",
        "--max-wait-us",
        "5000",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("game 11 (seed 12): "), "{text}");
    assert!(text.contains("12 games, "), "{text}");
    assert!(text.contains("onnx:models/snake-mlp.onnx: "), "{text}");
    assert!(text.contains("mean batch"), "{text}");
    assert_fails_with(
        &netsd(&["play", "--games", "3", "-o", "x.json"]),
        "for a single game",
    );
}

#[test]
fn cli_model_check_accepts_the_examples_and_measures_them() {
    for name in ["models/snake-conv.onnx", "models/snake-mlp.onnx"] {
        let out = netsd(&[
            "model",
            "check",
            name,
            "--env",
            "snake",
            "--board",
            "11",
            "--samples",
            "200",
            "--seconds",
            "0.1",
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("every score finite"), "{text}");
        assert!(text.contains("speed at batch 1: "), "{text}");
        assert!(text.contains("speed at batch 64: "), "{text}");
        assert!(text.contains("evaluations/s"), "{text}");
        assert!(text.contains("follows the Snake model contract"), "{text}");
        // Progress goes to standard error.
        assert!(stderr(&out).contains("measuring the speed at batch 64"));
    }
    let out = netsd(&[
        "model",
        "check",
        "models/snake-conv.onnx",
        "--board",
        "7",
        "--seconds",
        "0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn cli_model_check_rejects_bad_models_clearly() {
    let cases = [
        ("models/test/malformed.onnx", "is not a valid ONNX model"),
        (
            "models/test/wrong-planes.onnx",
            "6 planes; the contract needs 7",
        ),
        ("models/test/wrong-output.onnx", "the contract needs 4"),
        ("models/test/nan-midgame.onnx", "non-finite score"),
        (
            "models/missing.onnx",
            "cannot read model models/missing.onnx",
        ),
    ];
    for (name, needle) in cases {
        assert_fails_with(&netsd(&["model", "check", name, "--seconds", "0"]), needle);
    }
    assert_fails_with(
        &netsd(&["model", "check", "models/snake-mlp.onnx", "--board", "7"]),
        "takes 11x11 boards only",
    );
    assert_fails_with(
        &netsd(&[
            "play",
            "-a",
            "onnx:models/snake-mlp.onnx",
            "-a",
            "greedy",
            "--board",
            "9",
        ]),
        "takes 11x11 boards only",
    );
    let out = netsd(&[
        "model",
        "check",
        "models/snake-conv.onnx",
        "--device",
        "tpu",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected cpu or cuda"));
    let out = netsd(&["play", "-a", "onnx:"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values: random, greedy, search, onnx:PATH"));
}

#[test]
fn cli_names_the_fix_when_the_library_is_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_netsd"))
        .args(["model", "check", "models/snake-conv.onnx"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert_fails_with(&out, "ORT_DYLIB_PATH is \"/nonexistent/libonnxruntime.so\"");
    assert_fails_with(&out, "run scripts/setup-onnxruntime");
    // Built-in agents never need the library.
    let out = Command::new(env!("CARGO_BIN_EXE_netsd"))
        .args(["play", "--seed", "2"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// CUDA either works (a GPU and the GPU build of ONNX Runtime) or fails with a clear error;
/// with the CPU library of `scripts/setup-onnxruntime` it is the error.
#[test]
fn cli_cuda_works_or_says_why_not() {
    let out = netsd(&[
        "model",
        "check",
        "models/snake-conv.onnx",
        "--device",
        "cuda",
        "--samples",
        "64",
        "--seconds",
        "0",
    ]);
    if !out.status.success() {
        assert_fails_with(&out, "CUDA is not available");
    }
}
