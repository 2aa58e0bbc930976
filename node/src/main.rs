//! `netsd`: the nets daemon and its command-line tool.
//!
//! It runs the node (`init`, `run`, `rankings`, `devnet`), plays, replays and inspects games,
//! and checks neural models.

mod games;
mod model_cmd;
mod node_cmd;
mod settle_cmd;

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
    Play(games::PlayArgs),
    /// Replay a transcript, check the result it claims, and print it.
    Replay(games::ReplayArgs),
    /// Step a Battlesnake /move JSON state with given moves; print the next state as JSON.
    Step(games::StepArgs),
    /// Print a board as text, from a Battlesnake JSON state or a transcript's final position.
    Show(games::ShowArgs),
    /// Neural models: check one against the model contract and measure its speed.
    Model(model_cmd::ModelArgs),
    /// Create a node's data dir: key file and commented default config.
    Init(node_cmd::InitArgs),
    /// Run the node: join the network, play the leagues, serve the API.
    Run(node_cmd::RunArgs),
    /// Rankings of closed epochs, from a running node or a stopped node's data dir.
    Rankings(node_cmd::RankingsArgs),
    /// A whole network on this machine: N nodes play several epochs, then print rankings.
    Devnet(node_cmd::DevnetArgs),
    /// The settlement contract: deploy it, stake, claim rewards, show its state.
    Settle(settle_cmd::SettleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Play(args) => games::play(&args),
        Command::Replay(args) => games::replay(&args),
        Command::Step(args) => games::step(&args),
        Command::Show(args) => games::show(&args),
        Command::Model(args) => model_cmd::run(&args),
        Command::Init(args) => node_cmd::init(&args),
        Command::Run(args) => node_cmd::run(&args),
        Command::Rankings(args) => node_cmd::rankings(&args),
        Command::Devnet(args) => node_cmd::devnet(&args),
        Command::Settle(args) => settle_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netsd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
