//! The game commands: play, replay, step, show.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use nets_envs::agents::{Agent, BuiltIn, agent_seed};
use nets_envs::log::{ActionLog, EnvSpec};
use nets_envs::snake::battlesnake::{self, BattlesnakeMeta};
use nets_envs::snake::{Direction, SnakeGame, SnakeParams};
use nets_envs::transcript::Transcript;

/// A built-in agent kind on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum AgentKind {
    /// Uniform among moves that do not reverse into its neck (seeded).
    Random,
    /// Nearest food, avoiding moves that die at once.
    Greedy,
    /// Depth-limited search with flood-fill evaluation and a node budget.
    Search,
}

impl AgentKind {
    fn built_in(self) -> BuiltIn {
        match self {
            AgentKind::Random => BuiltIn::Random,
            AgentKind::Greedy => BuiltIn::Greedy,
            AgentKind::Search => BuiltIn::Search,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct PlayArgs {
    /// Agents, one per snake, in seat order (2 for a duel, 1 for the solo task, up to 4).
    #[arg(short, long = "agent", value_enum, num_args = 1.., default_values_t = [AgentKind::Search, AgentKind::Greedy])]
    agents: Vec<AgentKind>,
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
    let mut game = spec.start(seed).context("cannot start the game")?;
    let mut agents: Vec<Box<dyn Agent + Send>> = args
        .agents
        .iter()
        .enumerate()
        .map(|(p, k)| k.built_in().build(agent_seed(seed, p)))
        .collect();
    let names: Vec<String> = agents.iter().map(|a| a.name()).collect();
    let mut log = ActionLog::new(spec, seed);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", seats(&names))?;
    if args.every_turn {
        writeln!(stdout, "{game}")?;
    }
    while !game.is_over() {
        let moves: Vec<Direction> = agents
            .iter_mut()
            .enumerate()
            .map(|(p, a)| {
                if game.snakes().get(p).is_some_and(|s| s.is_alive()) {
                    a.choose(&game, p)
                } else {
                    Direction::Up
                }
            })
            .collect();
        log.record_turn(&game, &moves);
        game.step(&moves)?;
        if args.every_turn {
            writeln!(stdout, "{game}")?;
        }
    }
    if !args.every_turn {
        writeln!(stdout, "{game}")?;
    }
    if let Some(path) = &args.out {
        let transcript = Transcript::from_log(&log, names)?;
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
        writeln!(
            stdout,
            "transcript written to {} and verified by replay ({} turns)",
            path.display(),
            replayed.turn()
        )?;
    }
    Ok(())
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
