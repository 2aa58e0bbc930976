//! The daemon commands: init, run, rankings export, devnet.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use nets_node::clock::now_ms;
use nets_node::config::Config;
use nets_node::devnet::{self, DevnetOptions};
use nets_node::rankings::{self, Format};
use nets_node::runner;
use nets_node::store::Store;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The node's data dir (created).
    #[arg(long, default_value = "netsd-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The node's data dir (see `netsd init`).
    #[arg(long, default_value = "netsd-data")]
    data_dir: PathBuf,
    /// Config file (default: netsd.toml in the data dir).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen multiaddr (repeatable; replaces the config's list).
    #[arg(long)]
    listen: Vec<String>,
    /// Bootstrap peer multiaddr with /p2p/<id> (repeatable; added to the config's list).
    #[arg(long)]
    bootstrap: Vec<String>,
    /// Agent: random, greedy, search, onnx:PATH, exec:COMMAND, battlesnake:URL.
    #[arg(long)]
    agent: Option<String>,
    /// API address ("" turns the API off).
    #[arg(long)]
    api: Option<String>,
    /// Matches played at once.
    #[arg(long)]
    max_matches: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RankingsCommand {
    /// Print the rankings of closed epochs.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RankingsArgs {
    #[command(subcommand)]
    command: RankingsCommand,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Only this epoch.
    #[arg(long)]
    epoch: Option<u64>,
    /// League id (hex; default: the first league of the config).
    #[arg(long)]
    league: Option<String>,
    /// Read a stopped node's data dir.
    #[arg(long, conflicts_with = "api")]
    data_dir: Option<PathBuf>,
    /// Ask a running node's API, e.g. http://127.0.0.1:7100.
    #[arg(long)]
    api: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Nodes to run.
    #[arg(long, default_value_t = 6)]
    nodes: usize,
    /// Epochs to play.
    #[arg(long, default_value_t = 3)]
    epochs: u64,
    /// Seconds per epoch.
    #[arg(long, default_value_t = 12)]
    epoch_secs: u64,
    /// Agents, given to the nodes in turn.
    #[arg(long, num_args = 1.., default_values = ["search", "greedy", "random"])]
    agents: Vec<String>,
    /// Keep the nodes' data dirs here (default: a temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Write the rankings (JSON) to this file too.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

pub(crate) fn init(args: &InitArgs) -> Result<()> {
    let player = runner::init(&args.data_dir)?;
    println!("initialised {}", args.data_dir.display());
    println!("player id: {}", hex::encode(player.0));
    if let Ok(peer) = nets_node::keyfile::load(&runner::key_path(&args.data_dir))
        .map_err(anyhow::Error::from)
        .and_then(|k| Ok(nets_p2p::keypair(k.secret())?.public().to_peer_id()))
    {
        println!("peer id:   {peer}");
    }
    println!(
        "config:    {}",
        runner::config_path(&args.data_dir).display()
    );
    Ok(())
}

fn load_config(data_dir: &std::path::Path, path: Option<&PathBuf>) -> Result<Config> {
    let path = path
        .cloned()
        .unwrap_or_else(|| runner::config_path(data_dir));
    if !path.exists() && !runner::key_path(data_dir).exists() {
        bail!(
            "{} is not a data dir; create one with `netsd init --data-dir {}`",
            data_dir.display(),
            data_dir.display()
        );
    }
    Ok(Config::load(&path)?)
}

pub(crate) fn run(args: &RunArgs) -> Result<()> {
    nets_node::init_logging();
    let mut config = load_config(&args.data_dir, args.config.as_ref())?;
    if !args.listen.is_empty() {
        config.network.listen = args.listen.clone();
    }
    config
        .network
        .bootstrap
        .extend(args.bootstrap.iter().cloned());
    if let Some(a) = &args.agent {
        config.play.agent = a.clone();
    }
    if let Some(a) = &args.api {
        config.api.listen = a.clone();
    }
    if let Some(m) = args.max_matches {
        config.play.max_matches = m;
    }
    runtime()?.block_on(async {
        let shutdown = CancellationToken::new();
        let running = runner::start(&args.data_dir, config, shutdown.clone()).await?;
        if let Some(api) = running.api {
            tracing::info!("API at http://{api}");
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        tracing::info!("signal received");
        shutdown.cancel();
        running.handle.task.await??;
        Ok(())
    })
}

pub(crate) fn rankings(args: &RankingsArgs) -> Result<()> {
    let RankingsCommand::Export(args) = &args.command;
    if let Some(api) = &args.api {
        let mut url = format!(
            "{}/rankings?format={}",
            api.trim_end_matches('/'),
            match args.format {
                Format::Json => "json",
                Format::Csv => "csv",
            }
        );
        if let Some(e) = args.epoch {
            url.push_str(&format!("&epoch={e}"));
        }
        if let Some(l) = &args.league {
            url.push_str(&format!("&league={l}"));
        }
        let body = ureq::get(&url)
            .call()
            .with_context(|| format!("cannot reach {url}"))?
            .body_mut()
            .read_to_string()
            .context("reading the answer")?;
        print!("{body}");
        return Ok(());
    }
    let Some(dir) = &args.data_dir else {
        bail!("give --data-dir (a stopped node) or --api (a running one)");
    };
    let config = load_config(dir, None)?;
    let leagues = config.leagues()?;
    let league = match &args.league {
        None => leagues.first().cloned(),
        Some(id) => leagues
            .iter()
            .find(|l| hex::encode(l.id().0) == *id)
            .cloned(),
    }
    .context("no such league in the node's config")?;
    let store = Store::open(&runner::store_path(dir)).with_context(|| {
        format!(
            "cannot open the store of {} (is the node running? use --api)",
            dir.display()
        )
    })?;
    let closed = config.schedule.closed_before(now_ms());
    let tables = rankings::export(&store, &league, closed, args.epoch)?;
    print!("{}", rankings::render(&tables, args.format));
    Ok(())
}

pub(crate) fn devnet(args: &DevnetArgs) -> Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        nets_node::init_logging();
    }
    let options = DevnetOptions {
        nodes: args.nodes,
        epochs: args.epochs,
        epoch_ms: args.epoch_secs.saturating_mul(1000),
        agents: args.agents.clone(),
        data_dir: args.data_dir.clone(),
        progress: true,
        transport: devnet::DevnetTransport::Tcp,
        ..DevnetOptions::default()
    };
    eprintln!(
        "devnet: {} nodes on 127.0.0.1, {} epochs of {} s, agents {}",
        options.nodes,
        options.epochs,
        args.epoch_secs,
        options.agents.join(", ")
    );
    let report = runtime()?.block_on(devnet::run(&options))?;
    eprintln!(
        "devnet: {} matches played; items stored per node: {:?}",
        report.matches_finished / 2,
        report.items
    );
    if !report.disagreeing.is_empty() {
        bail!(
            "{} of {} nodes computed different rankings than node 0 (nodes {:?})",
            report.disagreeing.len(),
            report.items.len(),
            report.disagreeing
        );
    }
    print!("{}", devnet::render_table(&report));
    println!();
    print!("{}", devnet::render_settlement(&report));
    if let Some(out) = &args.out {
        std::fs::write(out, rankings::render(&report.rankings, Format::Json))
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if let Err(e) = &report.settlement {
        bail!("the rankings above stand, but settling them failed: {e}");
    }
    Ok(())
}
