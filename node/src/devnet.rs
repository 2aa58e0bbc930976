//! `netsd devnet`: a whole network on one machine. N nodes run in this process, each with
//! its own data dir, key, store, swarm (TCP on 127.0.0.1) and agent; all but the first join
//! through the first. They discover each other through Kademlia, play their rounds, gossip
//! outcomes and close epochs; at the end every node exports its rankings, the devnet checks
//! that all of them are byte-identical, and prints them. Then it settles the closed epochs on
//! an embedded chain in `<root>/chain` shared by all nodes ([`crate::settle::devnet`]): each
//! node stakes, deposits its entries and signs its own roots, one aggregates, the epochs
//! finalise and the nodes claim.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ScheduleConfig};
use crate::daemon::now_ms;
use crate::rankings::{self, EpochRankings};
use crate::runner::{self, Running};
use crate::settle::{self, SettleError, SettlementReport};

/// Devnet options.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// Nodes.
    pub nodes: usize,
    /// Epochs to play.
    pub epochs: u64,
    /// Length of an epoch.
    pub epoch_ms: u64,
    /// Agents, assigned to nodes in turn.
    pub agents: Vec<String>,
    /// Where the data dirs go (a temporary directory if absent).
    pub data_dir: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
}

impl Default for DevnetOptions {
    fn default() -> Self {
        Self {
            nodes: 6,
            epochs: 3,
            epoch_ms: 12_000,
            agents: vec!["search".into(), "greedy".into(), "random".into()],
            data_dir: None,
            progress: true,
        }
    }
}

/// The devnet's schedule for epochs of `epoch_ms` starting at `genesis_ms`.
pub fn schedule(genesis_ms: u64, epoch_ms: u64) -> ScheduleConfig {
    let epoch_ms = epoch_ms.max(6_000);
    ScheduleConfig {
        genesis_ms,
        epoch_ms,
        round_ms: 2_500,
        warmup_ms: 1_500,
        last_round_ms: (epoch_ms / 4).max(2_500),
        grace_ms: (epoch_ms / 6).max(1_500),
        step_timeout_ms: 2_000,
        answer_timeout_ms: 2_000,
    }
}

/// What a devnet run produced.
#[derive(Debug)]
pub struct DevnetReport {
    /// Rankings of the closed epochs (identical on every node).
    pub rankings: Vec<EpochRankings>,
    /// Agent of each node, by player id (hex).
    pub agents: Vec<(String, String)>,
    /// Matches finished, summed over nodes (each match counts on both sides).
    pub matches_finished: u64,
    /// Items stored per node.
    pub items: Vec<usize>,
    /// What was anchored and claimed, or why settlement failed (the rankings stand either way).
    pub settlement: Result<SettlementReport, SettleError>,
}

/// Runs a devnet to the end of its last epoch.
pub async fn run(options: &DevnetOptions) -> Result<DevnetReport> {
    if options.nodes < 2 {
        bail!("a devnet needs at least 2 nodes");
    }
    if options.agents.is_empty() {
        bail!("a devnet needs at least one agent");
    }
    let temp;
    let root = match &options.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    // Epoch 0 opens once every node had a few seconds to find the others.
    let genesis = now_ms() + 3_000 + 300 * options.nodes as u64;
    let sched = schedule(genesis, options.epoch_ms);
    let shutdown = CancellationToken::new();
    let mut nodes: Vec<Running> = Vec::new();
    let mut agents = Vec::new();
    let mut bootstrap: Vec<String> = Vec::new();
    for i in 0..options.nodes {
        let dir = root.join(format!("node-{i}"));
        let player = if runner::key_path(&dir).exists() {
            crate::keyfile::load(&runner::key_path(&dir))?.id()
        } else {
            runner::init(&dir)?
        };
        let agent = options.agents[i % options.agents.len()].clone();
        let mut config = Config::default();
        config.network.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        config.network.bootstrap = bootstrap.clone();
        config.schedule = sched;
        config.play.agent = agent.clone();
        config.play.max_matches = 2;
        config.api.listen = if i == 0 {
            "127.0.0.1:0".into()
        } else {
            String::new()
        };
        let running = runner::start(&dir, config, shutdown.child_token())
            .await
            .with_context(|| format!("node {i}"))?;
        if i == 0 {
            let mut status = running.handle.status.clone();
            let addr = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    if let Some(a) = status.borrow().listen.first() {
                        return Some(a.clone());
                    }
                    if status.changed().await.is_err() {
                        return None;
                    }
                }
            })
            .await
            .ok()
            .flatten()
            .context("the first node did not start listening")?;
            bootstrap.push(format!("{addr}/p2p/{}", running.handle.peer_id));
            if let Some(api) = running.api {
                eprintln!("devnet: node 0 serves its API at http://{api}/status");
            }
        }
        agents.push((hex::encode(player.0), agent));
        nodes.push(running);
    }
    let end = sched.clock().close_of(options.epochs.saturating_sub(1)) + sched.grace_ms + 500;
    let bar = if options.progress {
        let bar = indicatif::ProgressBar::new(end.saturating_sub(now_ms()) / 1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let start = now_ms();
    while now_ms() < end {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let s = nodes[0].handle.status.borrow().clone();
        let finished: u64 = nodes
            .iter()
            .map(|n| n.handle.status.borrow().matches_finished)
            .sum();
        bar.set_position(now_ms().saturating_sub(start) / 1000);
        bar.set_message(format!(
            "epoch {} | {} peers | {} matches finished",
            s.epoch,
            s.peers.len(),
            finished / 2
        ));
    }
    bar.finish_and_clear();
    let matches_finished: u64 = nodes
        .iter()
        .map(|n| n.handle.status.borrow().matches_finished)
        .sum();
    let items: Vec<usize> = nodes.iter().map(|n| n.store.item_count()).collect();
    let league = Config::default().leagues()?.remove(0);
    let mut exports = Vec::new();
    let mut settling = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        exports.push(rankings::export(&n.store, &league, options.epochs, None)?);
        let summaries = rankings::summaries(&n.store, &league, options.epochs)?;
        settling.push((root.join(format!("node-{i}")), summaries));
    }
    shutdown.cancel();
    for n in nodes {
        let _ = tokio::time::timeout(Duration::from_secs(5), n.handle.task).await;
    }
    let first = exports.first().cloned().unwrap_or_default();
    for (i, e) in exports.iter().enumerate() {
        if rankings::render(e, rankings::Format::Json)
            != rankings::render(&first, rankings::Format::Json)
        {
            bail!("node {i} computed different rankings than node 0");
        }
    }
    let fee = league
        .entry_fee(&nets_tournament::economics::FeeSchedule::default())
        .unwrap_or(0);
    let settlement = settle::devnet(&root.join("chain"), settling, fee).await;
    Ok(DevnetReport {
        rankings: first,
        agents,
        matches_finished,
        items,
        settlement,
    })
}

/// The final table, for people.
pub fn render_table(report: &DevnetReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let Some(last) = report.rankings.last() else {
        return "no epoch closed with games\n".into();
    };
    let _ = writeln!(
        out,
        "rankings after epoch {} (outcomes root {}…, identical on all {} nodes)",
        last.epoch,
        &last.outcomes_root[..16],
        report.agents.len()
    );
    let _ = writeln!(
        out,
        "{:>4}  {:<12}  {:<8}  {:>6}  {:>4}  {:>5}  {:>3}  {:>3}  {:>3}  {:>12}",
        "rank", "player", "agent", "rating", "rd", "games", "w", "d", "l", "balance"
    );
    for r in &last.rows {
        let agent = report
            .agents
            .iter()
            .find(|(p, _)| *p == r.player)
            .map(|(_, a)| a.as_str())
            .unwrap_or("?");
        let _ = writeln!(
            out,
            "{:>4}  {:<12}  {:<8}  {:>6}  {:>4}  {:>5}  {:>3}  {:>3}  {:>3}  {:>12}",
            r.rank,
            &r.player[..12],
            agent,
            r.rating,
            r.deviation,
            r.games,
            r.wins,
            r.draws,
            r.losses,
            r.balance
        );
    }
    out
}

/// What was anchored and claimed, for people (or why settlement failed).
pub fn render_settlement(report: &DevnetReport) -> String {
    match &report.settlement {
        Ok(settlement) => settlement.render(),
        Err(e) => format!("settlement failed: {e}\n"),
    }
}
