//! The game commands: play, replay, step, show.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use nets_envs::Outcome;
use nets_envs::agents::{BuiltIn, agent_seed};
use nets_envs::log::{ActionLog, EnvSpec};
use nets_envs::snake::battlesnake::{self, BattlesnakeMeta};
use nets_envs::snake::{Direction, SnakeGame, SnakeParams};
use nets_envs::transcript::Transcript;
use nets_node::agents::battlesnake::{BattlesnakeAgent, BattlesnakeConfig};
use nets_node::agents::exec::{ExecAgent, ExecCommand, ExecConfig};
use nets_node::agents::onnx::batcher::{BatchConfig, Batcher, Client};
use nets_node::agents::onnx::model::{Device, ModelOptions, SnakeModel};
use nets_node::agents::{AgentSpec, GameEnd, OnnxAgent, Player, play_game};

#[derive(Debug, Args)]
pub(crate) struct PlayArgs {
    /// Agents, one per snake, in seat order (2 for a duel, 1 for the solo task, up to 4):
    /// random, greedy, search, onnx:PATH for a neural agent playing the ONNX model at PATH
    /// (see docs/models.md), exec:COMMAND for a program speaking JSON lines, or
    /// battlesnake:URL for a Battlesnake server (see docs/agents.md).
    #[arg(short, long = "agent", num_args = 1.., default_values = ["search", "greedy"])]
    agents: Vec<AgentSpec>,
    /// How long exec: and battlesnake: agents may take per move, in milliseconds (an exec:
    /// agent's first move may take 5 s, for its start-up); a late move forfeits the game.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    move_timeout_ms: u64,
    /// Match seed: 64 hex digits, or a decimal number (little-endian in the first 8 bytes).
    #[arg(short, long, default_value = "1")]
    seed: String,
    /// Board width and height.
    #[arg(long, default_value_t = 11)]
    board: u8,
    /// Turn limit (a draw in a duel; the end of a solo run).
    #[arg(long, default_value_t = 500)]
    max_turns: u32,
    /// Percent chance of a food spawn each turn.
    #[arg(long, default_value_t = 15)]
    food_spawn_chance: u8,
    /// Food kept on the board at least.
    #[arg(long, default_value_t = 1)]
    minimum_food: u8,
    /// Write the transcript (JSON) here.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Print the board after every turn, not only the last.
    #[arg(long)]
    every_turn: bool,
    /// Play this many games, with seeds SEED, SEED+1, … (the seed's first 8 bytes as a
    /// little-endian counter), several at once; ONNX agents of all games share one batched
    /// model. Prints one line per game and a summary.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    games: u32,
    /// With --games: how many games are in progress at the same time.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    parallel: u32,
    #[command(flatten)]
    inference: InferenceArgs,
}

/// How ONNX agents run their models.
#[derive(Debug, Args)]
pub(crate) struct InferenceArgs {
    /// Where ONNX models run: cpu, or cuda (needs the GPU build of ONNX Runtime and a GPU).
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// ONNX Runtime intra-op threads per model.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// The most boards one model call evaluates.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65536))]
    max_batch: u32,
    /// The longest a board waits for others to join its batch, in microseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    max_wait_us: u64,
}

impl InferenceArgs {
    fn model_options(&self) -> ModelOptions {
        ModelOptions {
            device: self.device,
            threads: usize::from(self.threads),
        }
    }

    fn batch_config(&self) -> BatchConfig {
        let max_batch = usize::try_from(self.max_batch).unwrap_or(usize::MAX);
        BatchConfig {
            max_batch,
            max_wait: Duration::from_micros(self.max_wait_us),
            queue: max_batch.saturating_mul(4).max(64),
        }
    }
}

/// What sits in one seat of a `play` run.
enum Seat {
    /// A built-in agent.
    BuiltIn(BuiltIn),
    /// An ONNX agent of the model with this index in [`Models::batchers`], and its name.
    Onnx(usize, String),
    /// A program speaking JSON lines, one process per game.
    Exec(ExecCommand),
    /// A Battlesnake server at this base URL.
    Battlesnake(String),
}

/// The agents of one `play` run: one batcher per distinct model file, and each seat's agent.
struct Models {
    batchers: Vec<(PathBuf, Batcher)>,
    seats: Vec<Seat>,
    /// The move time limit of exec: and battlesnake: agents.
    move_timeout: Duration,
}

impl Models {
    fn load(
        specs: &[AgentSpec],
        width: usize,
        height: usize,
        args: &InferenceArgs,
        move_timeout: Duration,
    ) -> Result<Self> {
        let mut batchers: Vec<(PathBuf, Batcher)> = Vec::new();
        let mut seats = Vec::with_capacity(specs.len());
        for spec in specs {
            let seat = match spec {
                AgentSpec::BuiltIn(kind) => Seat::BuiltIn(*kind),
                AgentSpec::Onnx(path) => {
                    let index = match batchers.iter().position(|(p, _)| p == path) {
                        Some(index) => index,
                        None => {
                            let model = SnakeModel::load(path, &args.model_options())?;
                            let batcher =
                                Batcher::spawn(model, width, height, args.batch_config())?;
                            batchers.push((path.clone(), batcher));
                            batchers.len() - 1
                        }
                    };
                    Seat::Onnx(index, spec.to_string())
                }
                AgentSpec::Exec(command) => Seat::Exec(command.clone()),
                AgentSpec::Battlesnake(url) => Seat::Battlesnake(url.clone()),
            };
            seats.push(seat);
        }
        Ok(Self {
            batchers,
            seats,
            move_timeout,
        })
    }

    /// Stops the inference workers, once every agent is dropped.
    fn shutdown(self) {
        for (_, batcher) in self.batchers {
            batcher.shutdown();
        }
    }

    /// Fresh agents for one game; its ONNX agents of one model share one client (they are
    /// asked one after the other).
    fn players(&self, seed: [u8; 32]) -> Vec<Box<dyn Player + Send>> {
        let clients: Vec<Arc<Client>> = self
            .batchers
            .iter()
            .map(|(_, b)| Arc::new(b.client()))
            .collect();
        self.seats
            .iter()
            .enumerate()
            .map(|(p, seat)| -> Box<dyn Player + Send> {
                match seat {
                    Seat::BuiltIn(kind) => Box::new(kind.build(agent_seed(seed, p))),
                    Seat::Onnx(model, name) => {
                        Box::new(OnnxAgent::new(name.clone(), Arc::clone(&clients[*model])))
                    }
                    Seat::Exec(command) => Box::new(ExecAgent::new(
                        command.clone(),
                        hex::encode(seed),
                        ExecConfig {
                            move_timeout: self.move_timeout,
                            ..ExecConfig::default()
                        },
                    )),
                    Seat::Battlesnake(url) => Box::new(BattlesnakeAgent::new(
                        url.clone(),
                        hex::encode(seed),
                        BattlesnakeConfig {
                            move_timeout: self.move_timeout,
                        },
                    )),
                }
            })
            .collect()
    }
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Transcript file written by `netsd play`.
    transcript: PathBuf,
    /// Print the board after every turn.
    #[arg(long)]
    every_turn: bool,
}

/// Whether food spawns when stepping a state.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Spawn {
    /// Spawn food by the state's settings, from the seed's random stream.
    On,
    /// Never place food.
    Off,
}

#[derive(Debug, Args)]
pub(crate) struct StepArgs {
    /// A Battlesnake /move request JSON file (`-` for standard input).
    state: PathBuf,
    /// Moves, comma-separated: in board order (`up,left`) or by snake id (`id=up,id2=left`).
    /// Snakes without a move continue straight, as Battlesnake does.
    #[arg(short, long, default_value = "")]
    moves: String,
    /// Food spawning.
    #[arg(long, value_enum, default_value_t = Spawn::On)]
    spawn: Spawn,
    /// Seed of the random stream used for food spawning (hex or decimal, as for `play`).
    #[arg(long, default_value = "0")]
    seed: String,
    /// Also print the new board as text on standard error.
    #[arg(long)]
    show: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A Battlesnake /move request JSON file or a transcript (`-` for standard input).
    file: PathBuf,
}

/// Parses a seed: 64 hex digits, or a decimal `u64` stored little-endian in the first 8
/// bytes.
pub(crate) fn parse_seed(text: &str) -> Result<[u8; 32]> {
    let text = text.trim();
    if text.len() == 64 {
        let bytes = hex::decode(text).context("seed: 64 characters but not hex")?;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes);
        return Ok(seed);
    }
    let n: u64 = text
        .parse()
        .with_context(|| format!("seed {text:?} is neither 64 hex digits nor a decimal number"))?;
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    Ok(seed)
}

fn read_input(path: &PathBuf) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

pub(crate) fn play(args: &PlayArgs) -> Result<()> {
    let seed = parse_seed(&args.seed)?;
    let params = SnakeParams {
        width: args.board,
        height: args.board,
        snakes: u8::try_from(args.agents.len()).unwrap_or(u8::MAX),
        max_turns: args.max_turns,
        food_spawn_chance: args.food_spawn_chance,
        minimum_food: args.minimum_food,
        ..SnakeParams::default()
    };
    let spec = EnvSpec::Snake(params);
    let game = spec.start(seed).context("cannot start the game")?;
    if args.games > 1 && (args.out.is_some() || args.every_turn) {
        bail!("-o and --every-turn are for a single game; leave them out with --games");
    }
    let models = Models::load(
        &args.agents,
        usize::from(args.board),
        usize::from(args.board),
        &args.inference,
        Duration::from_millis(args.move_timeout_ms),
    )?;
    if args.games > 1 {
        play_many(args, &spec, seed, &models)?;
        models.shutdown();
        return Ok(());
    }
    let mut agents = models.players(seed);
    let names: Vec<String> = agents.iter().map(|a| a.name()).collect();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", seats(&names))?;
    if args.every_turn {
        writeln!(stdout, "{game}")?;
    }
    let log = ActionLog::new(spec, seed);
    let played = play_game(game, &mut agents, log, |state| {
        if args.every_turn {
            // A closed standard output shows at the next write below.
            let _ = writeln!(stdout, "{state}");
        }
    })?;
    drop(agents);
    models.shutdown();
    let game = played.game;
    if !args.every_turn {
        writeln!(stdout, "{game}")?;
    }
    if let GameEnd::Forfeit {
        player,
        turn,
        error,
    } = &played.end
    {
        let name = names.get(*player).map_or("?", String::as_str);
        writeln!(
            stdout,
            "forfeit: player {player} ({name}) failed on turn {turn}: {error}"
        )?;
        match played.end.winner(names.len()) {
            Some(winner) => writeln!(stdout, "result: player {winner} wins by forfeit")?,
            None => writeln!(stdout, "result: player {player} forfeits")?,
        }
    }
    if let Some(path) = &args.out {
        let transcript = Transcript::from_log(&played.log, names)?;
        std::fs::write(path, transcript.to_json() + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        // Read the file back and replay it, as any other node would.
        let written = std::fs::read_to_string(path)
            .with_context(|| format!("reading back {}", path.display()))?;
        let replayed = Transcript::from_json(&written)?.verify()?;
        anyhow::ensure!(
            replayed == game,
            "the replayed game differs from the one played"
        );
        let note = if replayed.is_over() {
            ""
        } else {
            "; unfinished: a transcript does not record a forfeit"
        };
        writeln!(
            stdout,
            "transcript written to {} and verified by replay ({} turns{note})",
            path.display(),
            replayed.turn()
        )?;
    }
    Ok(())
}

/// The seed of game `index` of a `--games` run: `index` added to the first 8 bytes, read as
/// a little-endian counter.
fn nth_seed(seed: [u8; 32], index: u32) -> [u8; 32] {
    let mut low = [0u8; 8];
    low.copy_from_slice(&seed[..8]);
    let mut out = seed;
    out[..8].copy_from_slice(
        &u64::from_le_bytes(low)
            .wrapping_add(u64::from(index))
            .to_le_bytes(),
    );
    out
}

/// A seed as `play --seed` takes it: decimal when only the first 8 bytes are set.
fn show_seed(seed: [u8; 32]) -> String {
    if seed[8..].iter().all(|&b| b == 0) {
        let mut low = [0u8; 8];
        low.copy_from_slice(&seed[..8]);
        u64::from_le_bytes(low).to_string()
    } else {
        hex::encode(seed)
    }
}

/// One game of a `--games` run, as reported.
struct GameReport {
    seed: [u8; 32],
    turns: u32,
    end: GameEnd,
}

fn play_many(args: &PlayArgs, spec: &EnvSpec, seed: [u8; 32], models: &Models) -> Result<()> {
    let games = args.games;
    let next = AtomicU32::new(0);
    let reports: Mutex<Vec<Option<Result<GameReport>>>> =
        Mutex::new((0..games).map(|_| None).collect());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.parallel.min(games) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= games {
                        break;
                    }
                    let report = play_one_of_many(spec, nth_seed(seed, index), models);
                    let failed = report.is_err();
                    if let Some(slot) = reports
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_mut(index as usize)
                    {
                        *slot = Some(report);
                    }
                    if failed {
                        // Stop handing out games; the error is reported below.
                        next.store(games, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let reports = reports.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut stdout = std::io::stdout().lock();
    let players = args.agents.len();
    let names: Vec<String> = args.agents.iter().map(ToString::to_string).collect();
    writeln!(stdout, "{}", seats(&names))?;
    let mut wins = vec![0u32; players];
    let (mut draws, mut forfeits, mut turns, mut played) = (0u32, 0u32, 0u64, 0u32);
    let mut scores = Vec::new();
    for (index, report) in reports.into_iter().enumerate() {
        let Some(report) = report else { continue };
        let report = report.with_context(|| format!("game {index}"))?;
        played += 1;
        turns += u64::from(report.turns);
        match &report.end {
            GameEnd::Finished(Outcome::Draw) => draws += 1,
            GameEnd::Finished(Outcome::Score(s)) => scores.push(*s),
            GameEnd::Forfeit { .. } => forfeits += 1,
            GameEnd::Finished(Outcome::Winner(_)) => {}
        }
        if let Some(w) = report.end.winner(players).and_then(|w| wins.get_mut(w)) {
            *w += 1;
        }
        writeln!(
            stdout,
            "game {index} (seed {}): {} after {} turns",
            show_seed(report.seed),
            report.end,
            report.turns
        )?;
    }
    let mut summary = format!(
        "{played} games, {turns} turns in {:.2} s",
        elapsed.as_secs_f64()
    );
    if players >= 2 {
        for (p, w) in wins.iter().enumerate() {
            summary += &format!("; player {p} won {w}");
        }
        summary += &format!("; {draws} draws");
    } else if !scores.is_empty() {
        let mean = scores.iter().map(|&s| f64::from(s)).sum::<f64>() / scores.len() as f64;
        summary += &format!("; mean score {mean:.2}");
    }
    summary += &format!("; {forfeits} forfeits");
    writeln!(stdout, "{summary}")?;
    for (path, batcher) in &models.batchers {
        let stats = batcher.stats();
        writeln!(
            stdout,
            "onnx:{}: {} boards in {} model calls (mean batch {:.1}, largest {}), mean wait in the batcher {:.3} ms, model time {:.3} s",
            path.display(),
            stats.boards,
            stats.batches,
            stats.mean_batch(),
            stats.largest,
            stats.mean_wait().as_secs_f64() * 1e3,
            stats.run_ns as f64 / 1e9
        )?;
    }
    Ok(())
}

fn play_one_of_many(spec: &EnvSpec, seed: [u8; 32], models: &Models) -> Result<GameReport> {
    let game = spec.start(seed).context("cannot start the game")?;
    let mut agents = models.players(seed);
    let played = play_game(
        game,
        &mut agents,
        ActionLog::new(spec.clone(), seed),
        |_| {},
    )?;
    // Every game is checked by replay, as a peer would.
    let replayed = played.log.replay()?;
    anyhow::ensure!(
        replayed == played.game,
        "the replayed game differs from the one played"
    );
    Ok(GameReport {
        seed,
        turns: played.game.turn(),
        end: played.end,
    })
}

fn seats(names: &[String]) -> String {
    let letters = ['A', 'B', 'C', 'D'];
    names
        .iter()
        .zip(letters)
        .map(|(n, l)| format!("{l} = player {} ({n})", l as u8 - b'A'))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn replay(args: &ReplayArgs) -> Result<()> {
    let text = read_input(&args.transcript)?;
    let transcript = Transcript::from_json(&text)
        .with_context(|| format!("{} is not a valid transcript", args.transcript.display()))?;
    let mut stdout = std::io::stdout().lock();
    if args.every_turn {
        let log = transcript.to_log()?;
        nets_envs::log::replay_with(&log, |state, _| {
            let _ = writeln!(stdout, "{state}");
        })?;
    }
    let game = transcript
        .verify()
        .with_context(|| format!("{} does not verify", args.transcript.display()))?;
    writeln!(stdout, "{}", seats(&transcript.players))?;
    writeln!(stdout, "{game}")?;
    writeln!(
        stdout,
        "verified: {} turns, the recorded result matches the replay",
        game.turn()
    )?;
    Ok(())
}

fn parse_moves(text: &str, meta: &BattlesnakeMeta, game: &SnakeGame) -> Result<Vec<Direction>> {
    let mut moves: Vec<Direction> = game.snakes().iter().map(|s| s.default_move()).collect();
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let (index, name) = match part.split_once('=') {
            Some((id, name)) => (
                meta.index_of(id)
                    .with_context(|| format!("move {part:?}: no snake has id {id:?}"))?,
                name,
            ),
            None => (i, *part),
        };
        let d = Direction::from_name(name)
            .with_context(|| format!("move {part:?}: {name:?} is not up, down, left or right"))?;
        match moves.get_mut(index) {
            Some(slot) => *slot = d,
            None => bail!("{} moves given for {} snakes", parts.len(), moves.len()),
        }
    }
    Ok(moves)
}

pub(crate) fn step(args: &StepArgs) -> Result<()> {
    let text = read_input(&args.state)?;
    let seed = parse_seed(&args.seed)?;
    let (mut game, meta) = battlesnake::from_json(&text, seed)
        .with_context(|| format!("{} is not a valid Battlesnake state", args.state.display()))?;
    let you = meta.you_index();
    let moves = parse_moves(&args.moves, &meta, &game)?;
    match args.spawn {
        Spawn::On => game.step(&moves)?,
        Spawn::Off => game.step_no_spawn(&moves)?,
    }
    let request = battlesnake::export(&game, &meta, you)?;
    println!("{}", battlesnake::to_json(&request));
    if args.show {
        eprintln!("{game}");
    }
    Ok(())
}

pub(crate) fn show(args: &ShowArgs) -> Result<()> {
    let text = read_input(&args.file)?;
    if let Ok(transcript) = Transcript::from_json(&text) {
        let game = transcript.to_log()?.replay()?;
        print!("{game}");
        return Ok(());
    }
    let (game, _) = battlesnake::from_json(&text, [0; 32]).with_context(|| {
        format!(
            "{} is neither a transcript nor a valid Battlesnake state",
            args.file.display()
        )
    })?;
    print!("{game}");
    Ok(())
}
