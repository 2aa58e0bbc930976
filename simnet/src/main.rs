//! `simnet`: runs a scenario and writes its outputs; `simnet bench` times the headline sizes;
//! `simnet full-stack` runs real nodes in this process and measures them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nets_simnet::output;
use nets_simnet::scenario::{ProtocolMode, Scenario, SettlementBackend};
use nets_simnet::sim::{Report, Simulation, Tick};

#[derive(Parser, Debug)]
#[command(
    name = "simnet",
    version,
    about = "Seeded discrete-event simulator of a nets market"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a scenario (default: the shipped default scenario) and writes its outputs.
    Run(RunArgs),
    /// Times the default scenario at 1000 nodes x 10 epochs, settling on the model chain (the
    /// baseline) and then on the contract (and, with `--large`, on the contract at 10 000
    /// nodes for `--large-epochs` epochs); prints wall time and peak memory (VmHWM).
    Bench {
        /// Also run 10 000 nodes.
        #[arg(long)]
        large: bool,
        /// Epochs of the 10 000-node run.
        #[arg(long, default_value_t = 2)]
        large_epochs: u32,
    },
    /// Runs N real netsd nodes in this process (libp2p on 127.0.0.1 with Kademlia and
    /// gossipsub, one embedded chain) for a few epochs on the wall clock, and writes rankings,
    /// metrics (wall, CPU, peak memory, matches, agreement, settlement) and a summary.
    FullStack(FullStackArgs),
}

#[derive(clap::Args, Debug)]
struct FullStackArgs {
    /// A scenario file whose population and adversaries to run as real nodes (one node per
    /// member, scaled by `--nodes`; its epochs unless `--epochs`). The agents are `--agents`,
    /// and the network is real: the scenario's agents and network model are not used.
    #[arg(long, conflicts_with_all = ["spammers", "aborters", "equivocators", "forgers", "colluders", "players"])]
    scenario: Option<PathBuf>,
    /// Nodes to run (default 100; with `--scenario`, scales its population to about this many).
    #[arg(long)]
    nodes: Option<usize>,
    /// Epochs to play (default 2, or the scenario's).
    #[arg(long)]
    epochs: Option<u64>,
    /// Seconds per epoch.
    #[arg(long, default_value_t = 30)]
    epoch_secs: u64,
    /// Agents, given to the nodes in turn (cheap ones: every node shares this machine).
    #[arg(long, num_args = 1.., default_values_t = ["greedy".to_string(), "random".to_string()])]
    agents: Vec<String>,
    /// Only the first N nodes enter the league and play; the others follow it (relay, check,
    /// rank, attest). Default: all.
    #[arg(long)]
    players: Option<usize>,
    /// Connect the nodes over libp2p's in-memory transport instead of TCP on 127.0.0.1 (no
    /// sockets: for more nodes than the process may open files).
    #[arg(long)]
    memory: bool,
    /// Peers each node keeps connected (netsd's `network.target_peers`, 32 by default).
    /// Each connection costs about 85 KiB of buffers per end, so fewer peers fit more nodes
    /// in memory; gossipsub's mesh needs 4 to 12.
    #[arg(long)]
    target_peers: Option<usize>,
    /// The last N nodes are gossip spammers: besides playing honestly they publish junk on the
    /// outcomes topic, 20 messages a second each. The summary counts how often other nodes
    /// refused junk: each should meet it only from its spammer's direct peers, never relayed.
    #[arg(long, default_value_t = 0)]
    spammers: usize,
    /// The first N nodes (players) are aborters: they go silent in a match once behind, so
    /// their opponents claim timeouts. The summary gives their forfeits, rating and balance
    /// next to honest players of the same agents.
    #[arg(long, default_value_t = 0)]
    aborters: usize,
    /// N nodes, the last ones but the spammers, are equivocators: they sign two different sets
    /// of roots for every epoch and gossip both. The summary says which of them the contract slashed (on the
    /// honest nodes' report) and that no honest node was.
    #[arg(long, default_value_t = 0)]
    equivocators: usize,
    /// N players after the aborters are result forgers: they sign a win in every duel they do
    /// not win. The summary says how many of them the league convicted of fraud (and that no
    /// honest node was).
    #[arg(long, default_value_t = 0)]
    forgers: usize,
    /// Colluding groups of these sizes (a ring, or one operator's Sybils), the players after
    /// the forgers: when two members of a group meet, the one with the higher key throws the
    /// game. The summary gives each group's rating and balance next to honest players of the
    /// same agents.
    #[arg(long, num_args = 1..)]
    colluders: Vec<usize>,
    /// Output directory.
    #[arg(long, short, default_value = "simnet-out/full-stack")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Debug, Default)]
struct RunArgs {
    /// Scenario file (TOML).
    scenario: Option<PathBuf>,
    /// Output directory.
    #[arg(long, short, default_value = "simnet-out")]
    out: PathBuf,
    /// Overrides the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Scales the population to about this many nodes.
    #[arg(long)]
    nodes: Option<u64>,
    /// Overrides the number of epochs.
    #[arg(long)]
    epochs: Option<u32>,
    /// Overrides the match fidelity.
    #[arg(long, value_enum)]
    protocol: Option<Protocol>,
    /// Overrides what settles the epochs: the contract on the embedded chain, or the
    /// in-memory model of it.
    #[arg(long, value_enum)]
    settlement: Option<Backend>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Protocol {
    Fast,
    Full,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Backend {
    Contract,
    Model,
}

fn scenario(args: &RunArgs) -> Result<Scenario> {
    let mut sc = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::default_scenario(),
    };
    if let Some(seed) = args.seed {
        sc.seed = seed;
    }
    if let Some(n) = args.nodes {
        sc.scale_population(n);
    }
    if let Some(e) = args.epochs {
        sc.epochs = e;
    }
    if let Some(p) = args.protocol {
        sc.protocol = match p {
            Protocol::Fast => ProtocolMode::Fast,
            Protocol::Full => ProtocolMode::Full,
        };
    }
    if let Some(b) = args.settlement {
        sc.settlement = match b {
            Backend::Contract => SettlementBackend::Contract,
            Backend::Model => SettlementBackend::Model,
        };
    }
    sc.validate()?;
    Ok(sc)
}

fn simulate(sc: Scenario, quiet: bool) -> Result<Report> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(1);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
            )
            .context("progress template")?,
        );
        b
    };
    bar.set_message("calibrating true skill");
    let sim = Simulation::new(sc)?;
    let report = sim.run(&mut |t: Tick| {
        bar.set_length(t.total);
        bar.set_position(t.done);
        bar.set_message(format!("epoch {}", t.epoch));
    })?;
    bar.finish_and_clear();
    Ok(report)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(RunArgs {
        out: PathBuf::from("simnet-out"),
        ..RunArgs::default()
    })) {
        Command::Run(args) => {
            let sc = scenario(&args)?;
            let report = simulate(sc, args.quiet)?;
            output::write_all(&report, &args.out)?;
            print!("{}", output::summary(&report));
            println!("outputs in {}", args.out.display());
        }
        Command::FullStack(args) => {
            // The nodes' logs, as `netsd devnet` writes them, when asked for.
            if std::env::var_os("RUST_LOG").is_some() {
                nets_node::init_logging();
            }
            let mut options = nets_node::devnet::DevnetOptions {
                nodes: args.nodes.unwrap_or(100),
                epochs: args.epochs.unwrap_or(2),
                epoch_ms: args.epoch_secs.saturating_mul(1000),
                agents: args.agents.clone(),
                data_dir: None,
                progress: !args.quiet,
                transport: if args.memory {
                    nets_node::devnet::DevnetTransport::Memory
                } else {
                    nets_node::devnet::DevnetTransport::Tcp
                },
                players: args.players,
                target_peers: args.target_peers,
                spammers: args.spammers,
                aborters: args.aborters,
                equivocators: args.equivocators,
                forgers: args.forgers,
                colluders: args.colluders.clone(),
            };
            if let Some(path) = &args.scenario {
                let mut sc = Scenario::load(path)?;
                if let Some(n) = args.nodes {
                    sc.scale_population(n as u64);
                }
                options = nets_simnet::full_stack::options_from_scenario(&sc, options);
                if let Some(e) = args.epochs {
                    options.epochs = e;
                }
            }
            let (report, metrics) = nets_simnet::full_stack::run(&options)?;
            nets_simnet::full_stack::write_outputs(&report, &metrics, &args.out)?;
            print!("{}", nets_simnet::full_stack::summary(&metrics));
            println!("outputs in {}", args.out.display());
        }
        Command::Bench {
            large,
            large_epochs,
        } => {
            // The model chain first, as the baseline of the same run.
            let mut runs = vec![
                (1000u64, None, SettlementBackend::Model),
                (1000, None, SettlementBackend::Contract),
            ];
            if large {
                runs.push((10_000, Some(large_epochs), SettlementBackend::Contract));
            }
            let mut baseline = None;
            for (n, epochs, backend) in runs {
                let mut sc = Scenario::default_scenario();
                sc.scale_population(n);
                sc.settlement = backend;
                if let Some(e) = epochs {
                    sc.epochs = e;
                }
                let nodes = sc.initial_nodes();
                let start = Instant::now();
                let report = simulate(sc, true)?;
                let wall = start.elapsed().as_secs_f64();
                let matches: u64 = report.per_epoch.iter().map(|e| e.matches).sum();
                let ratio = match (backend, baseline) {
                    (SettlementBackend::Model, _) if n == 1000 => {
                        baseline = Some(wall);
                        String::new()
                    }
                    (_, Some(b)) if n == 1000 => format!(" ({:.2}x the model chain)", wall / b),
                    _ => String::new(),
                };
                println!(
                    "bench: {nodes} nodes x {} epochs, {backend:?} settlement: {wall:.1} s wall{ratio}, {matches} matches, finalised {:?}, {} chain transactions, {} gas, peak RSS so far {} MiB",
                    report.epochs,
                    report.finalised_epochs,
                    report.chain_transactions,
                    report.chain_gas,
                    nets_simnet::full_stack::peak_rss_kib()
                        .map_or_else(|| "n/a".into(), |k| (k / 1024).to_string())
                );
                for note in &report.settlement_notes {
                    println!("bench:   {note}");
                }
            }
        }
    }
    Ok(())
}
