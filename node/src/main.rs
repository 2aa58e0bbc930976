//! `netsd`: the nets daemon and its command-line tool.
//!
//! It runs the node (`init`, `run`, `rankings`, `devnet`), plays, replays and inspects games,
//! and checks neural models.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// netsd — play, verify and inspect nets matches.
#[derive(Debug, Parser)]
#[command(name = "netsd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play a game between built-in or neural (ONNX) agents and save its transcript.
    Play(commands::games::PlayArgs),
    /// Replay a transcript, check the result it claims, and print it.
    Replay(commands::games::ReplayArgs),
    /// Step a Battlesnake /move JSON state with given moves; print the next state as JSON.
    Step(commands::games::StepArgs),
    /// Print a board as text, from a Battlesnake JSON state or a transcript's final position.
    Show(commands::games::ShowArgs),
    /// Neural models: check one against the model contract and measure its speed.
    Model(commands::model::ModelArgs),
    /// Create a node's data dir: key file and commented default config.
    Init(commands::node::InitArgs),
    /// Run the node: join the network, play the leagues, serve the API.
    Run(commands::node::RunArgs),
    /// Rankings of closed epochs, from a running node or a stopped node's data dir.
    Rankings(commands::node::RankingsArgs),
    /// A whole network on this machine: N nodes play several epochs, then print rankings.
    Devnet(commands::node::DevnetArgs),
    /// The settlement contract: deploy it, stake, claim rewards, show its state.
    Settle(commands::settle::SettleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play(args) => commands::games::play(&args),
        Command::Replay(args) => commands::games::replay(&args),
        Command::Step(args) => commands::games::step(&args),
        Command::Show(args) => commands::games::show(&args),
        Command::Model(args) => commands::model::run(&args),
        Command::Init(args) => commands::node::init(&args),
        Command::Run(args) => commands::node::run(&args),
        Command::Rankings(args) => commands::node::rankings(&args),
        Command::Devnet(args) => commands::node::devnet(&args),
        Command::Settle(args) => commands::settle::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netsd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
