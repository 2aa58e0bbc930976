//! `netsd devnet`: a whole network on one machine. N nodes run in this process, each with
//! its own data dir, key, store, swarm (TCP on 127.0.0.1) and agent; all but the first join
//! through the first. They discover each other through Kademlia, play their rounds, gossip
//! outcomes and close epochs; at the end every node exports its rankings, the devnet checks
//! that all of them are byte-identical, and prints them.
//!
//! All nodes settle as they go on one embedded chain in `<root>/chain`, shared in this
//! process (its clock follows the wall clock): the devnet deploys the contract with a short
//! challenge window, and each node's settler ([`crate::settlement::settler`]) stakes, deposits its
//! entries, signs and gossips its roots at each close, submits the aggregate in its turn,
//! finalises and claims. After the last close the devnet waits for the last epoch to be
//! finalised and claimed, and reports what each node did on chain.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::{Config, Schedule};
use crate::rankings::{self, EpochRankings};
use crate::runner::{self, Running};
use crate::settlement::chain::{
    self as onchain, ClaimReport, EpochReport, NodeAccount, SettleError, SettlementReport,
    SharedChain,
};
use crate::settlement::settler::SettleEvent;
use nets_settlement::alloy::primitives::Address;
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, EpochRoots, Parameters, Settlement,
};
use nets_tournament::identity::{Keypair, PlayerId};
use tokio::sync::mpsc;

/// The challenge window of a devnet's contract, in seconds.
pub const CHALLENGE_WINDOW_S: u64 = 2;
/// How long the devnet waits after its last close for the last epoch to be settled.
const SETTLE_WAIT_MS: u64 = 60_000;

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
    /// How the nodes reach each other.
    pub transport: DevnetTransport,
    /// Nodes that enter the league and play (the first ones); the others only follow it
    /// (relay, check, rank, attest). `None`: all of them.
    pub players: Option<usize>,
    /// Peers each node keeps connected (`network.target_peers`); `None`: the node's default.
    /// Each connection holds noise and yamux buffers, so a thousand nodes in one process
    /// (simnet's full-stack mode) may want fewer than a node on its own machine.
    pub target_peers: Option<usize>,
    /// The last N nodes also spam the outcomes topic with junk ([`SPAM_PER_SECOND`] messages a
    /// second each): gossip spammers, an adversary for simnet's full-stack mode.
    pub spammers: usize,
    /// The first N nodes (players) abort: they go silent in a match once behind.
    pub aborters: usize,
    /// The N players after the aborters forge results: they sign a win in every duel they do
    /// not win.
    pub forgers: usize,
    /// N nodes equivocate: they sign two different sets of roots for every epoch. They are
    /// the N nodes before the spammers (the last ones without spammers).
    pub equivocators: usize,
    /// Colluding groups (a ring, or one operator's Sybil identities), by size, placed among
    /// the players after the forgers: when two members of a group are drawn against each
    /// other, the one with the higher key throws the game (it heads for the nearest wall).
    pub colluders: Vec<usize>,
}

/// The nodes that enter the league and play: the first `players` (all without a limit).
pub fn playing(options: &DevnetOptions) -> std::ops::Range<usize> {
    0..options.players.unwrap_or(options.nodes).min(options.nodes)
}

/// The nodes that abort: the first `aborters` (players).
pub fn aborters(options: &DevnetOptions) -> std::ops::Range<usize> {
    0..options.aborters
}

/// The nodes that spam: the last `spammers`.
pub fn spammers(options: &DevnetOptions) -> std::ops::Range<usize> {
    options.nodes.saturating_sub(options.spammers)..options.nodes
}

/// The nodes that equivocate: the `equivocators` nodes before the spammers.
pub fn equivocators(options: &DevnetOptions) -> std::ops::Range<usize> {
    let end = spammers(options).start;
    end.saturating_sub(options.equivocators)..end
}

/// The colluding groups: consecutive nodes after the forgers, one range per group.
pub fn colluding(options: &DevnetOptions) -> Vec<std::ops::Range<usize>> {
    let mut start = forgers(options).end;
    options
        .colluders
        .iter()
        .map(|size| {
            let group = start..start.saturating_add(*size);
            start = group.end;
            group
        })
        .collect()
}

/// Whether node `i` plays honestly: it is none of the adversaries.
pub fn honest(options: &DevnetOptions, i: usize) -> bool {
    !(aborters(options).contains(&i)
        || forgers(options).contains(&i)
        || colluding(options).iter().any(|g| g.contains(&i))
        || equivocators(options).contains(&i)
        || spammers(options).contains(&i))
}

/// Checks that the adversaries' roles fit: aborters and forgers among the players, and no
/// node with two roles.
pub fn check_roles(options: &DevnetOptions) -> Result<()> {
    let players = playing(options).end;
    let colluders: usize = options.colluders.iter().sum();
    let cheats_end = colluding(options)
        .last()
        .map_or(forgers(options).end, |g| g.end);
    if cheats_end > players {
        bail!(
            "{} aborters, {} forgers and {colluders} colluders need as many players; there are \
             {players}",
            options.aborters,
            options.forgers
        );
    }
    if options.colluders.iter().any(|size| *size < 2) {
        bail!("a colluding group needs at least 2 members");
    }
    if options.spammers.saturating_add(options.equivocators) > options.nodes
        || cheats_end > equivocators(options).start
    {
        bail!(
            "{} aborters, {} forgers, {colluders} colluders, {} equivocators and {} spammers do \
             not fit in {} nodes without a node holding two roles",
            options.aborters,
            options.forgers,
            options.equivocators,
            options.spammers,
            options.nodes
        );
    }
    Ok(())
}

/// The nodes that forge results: the `forgers` nodes after the aborters.
pub fn forgers(options: &DevnetOptions) -> std::ops::Range<usize> {
    options.aborters..options.aborters.saturating_add(options.forgers)
}

/// Junk messages a second from each devnet spammer.
pub const SPAM_PER_SECOND: u32 = 20;

/// How devnet nodes reach each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DevnetTransport {
    /// TCP on 127.0.0.1, as real nodes do (each connection holds two file descriptors).
    #[default]
    Tcp,
    /// libp2p's in-memory transport (`/memory/N`): the same noise and yamux on top, no
    /// sockets, so a thousand nodes fit in one process's file-descriptor limit.
    Memory,
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
            transport: DevnetTransport::Tcp,
            players: None,
            target_peers: None,
            spammers: 0,
            aborters: 0,
            forgers: 0,
            equivocators: 0,
            colluders: Vec::new(),
        }
    }
}

/// The devnet's schedule for epochs of `epoch_ms` starting at `genesis_ms`.
pub fn schedule(genesis_ms: u64, epoch_ms: u64) -> Schedule {
    let epoch_ms = epoch_ms.max(6_000);
    Schedule {
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
    /// Nodes whose rankings differ from node 0's (empty when every node agrees).
    pub disagreeing: Vec<usize>,
    /// Connected peers per node when the last epoch closed.
    pub peers: Vec<usize>,
    /// Entrants of its league each node knew for the last epoch played.
    pub entrants: Vec<usize>,
    /// What was anchored and claimed, or why settlement failed (the rankings stand either way).
    pub settlement: Result<SettlementReport, SettleError>,
    /// Junk messages the spammers published.
    pub junk_published: u64,
    /// Matches of the run's epochs the aborters walked away from.
    pub aborted: u64,
    /// Results of the run's epochs the forgers forged.
    pub forged: u64,
    /// Matches of the run's epochs the colluders threw to each other.
    pub thrown: u64,
    /// Nodes whose stake the contract slashed (for equivocation, or convicted of match
    /// fraud), by index.
    pub slashed: Vec<usize>,
    /// Gossip messages the other nodes refused as invalid, summed over them: with no relaying
    /// of junk, at most each junk message once per direct peer of its spammer.
    pub refused_by_others: u64,
}

/// Runs a devnet to the end of its last epoch.
pub async fn run(options: &DevnetOptions) -> Result<DevnetReport> {
    if options.nodes < 2 {
        bail!("a devnet needs at least 2 nodes");
    }
    if options.agents.is_empty() {
        bail!("a devnet needs at least one agent");
    }
    check_roles(options)?;
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
    let mut sched = schedule(genesis, options.epoch_ms);
    // Every node runs on this one machine's cores, so a node's replies slow down as nodes are
    // added: the step deadlines stretch with their number (2 s up to 25 nodes, 8 s at 100),
    // or a loaded devnet would fill with timeout claims against nodes that were only slow.
    let stretch = u64::try_from(options.nodes.div_ceil(25))
        .unwrap_or(1)
        .max(1);
    sched.step_timeout_ms = sched.step_timeout_ms.saturating_mul(stretch);
    sched.answer_timeout_ms = sched.answer_timeout_ms.saturating_mul(stretch);
    let shutdown = CancellationToken::new();
    let mut nodes: Vec<Running> = Vec::new();
    let mut agents = Vec::new();
    let mut bootstrap: Vec<Option<String>> = Vec::new();
    let mut players = Vec::new();
    for i in 0..options.nodes {
        let dir = root.join(format!("node-{i}"));
        if !runner::key_path(&dir).exists() {
            runner::init(&dir)?;
        }
        players.push(crate::keyfile::load(&runner::key_path(&dir))?);
    }
    let chain_dir = root.join("chain");
    let (chain, contract, deploy_gas) = deploy_chain(&chain_dir, &players[0]).await?;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    for (i, key) in players.iter().enumerate() {
        let dir = root.join(format!("node-{i}"));
        let player = key.id();
        let agent = options.agents[i % options.agents.len()].clone();
        let mut config = Config::default();
        config.network.listen = vec![match options.transport {
            DevnetTransport::Tcp => "/ip4/127.0.0.1/tcp/0".into(),
            DevnetTransport::Memory => "/memory/0".into(),
        }];
        // Node 0 and up to two earlier nodes that are listening by now, so that no single node
        // takes every connection (its connection limit is a backstop at 128).
        for (j, n) in nodes.iter().enumerate() {
            if bootstrap[j].is_none()
                && let Some(a) = n.handle.status.borrow().listen.first()
            {
                bootstrap[j] = Some(format!("{a}/p2p/{}", n.handle.peer_id));
            }
        }
        config.network.bootstrap = [0, i / 2, i.saturating_sub(1)]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|j| bootstrap.get(j).cloned().flatten())
            .collect();
        config.schedule = sched;
        config.play.agent = agent.clone();
        config.play.max_matches = 2;
        if let Some(peers) = options.target_peers {
            config.network.target_peers = peers;
        }
        config.play.enter = playing(options).contains(&i);
        config.api.listen = if i == 0 {
            "127.0.0.1:0".into()
        } else {
            String::new()
        };
        let start = runner::StartOptions {
            shared_chain: Some((chain.clone(), contract)),
            settle_events: Some(events_tx.clone()),
            spam_per_second: if spammers(options).contains(&i) {
                SPAM_PER_SECOND
            } else {
                0
            },
            abort_when_losing: aborters(options).contains(&i),
            equivocate: equivocators(options).contains(&i),
            forge_results: forgers(options).contains(&i),
            colluders: colluding(options)
                .into_iter()
                .find(|g| g.contains(&i))
                .map(|g| players[g].iter().map(Keypair::id).collect())
                .unwrap_or_default(),
        };
        let running = runner::start_with(&dir, config, shutdown.child_token(), start)
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
            bootstrap.push(Some(format!("{addr}/p2p/{}", running.handle.peer_id)));
            if let Some(api) = running.api {
                eprintln!("devnet: node 0 serves its API at http://{api}/status");
            }
        }
        if i > 0 {
            bootstrap.push(None);
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
    let last_epoch = options.epochs.saturating_sub(1);
    let mut entrants = vec![0; nodes.len()];
    while now_ms() < end {
        tokio::time::sleep(Duration::from_millis(250)).await;
        for (i, n) in nodes.iter().enumerate() {
            let s = n.handle.status.borrow();
            if s.epoch == last_epoch {
                entrants[i] = s.leagues.first().map_or(0, |l| l.entrants.len());
            }
        }
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
    let peers: Vec<usize> = nodes
        .iter()
        .map(|n| n.handle.status.borrow().peers.len())
        .collect();
    // Every node settles as it goes; wait for the last epoch with games to be finalised.
    let league = Config::default().leagues()?.remove(0);
    let last_played = rankings::summaries(&nodes[0].store, &league, options.epochs)?
        .last()
        .map(|s| s.epoch);
    let mut reader = Settlement::at(onchain::AnyChain::Shared(chain.clone()), contract)
        .await
        .map_err(onchain::at("reading the devnet's contract"))?;
    let deadline = now_ms() + SETTLE_WAIT_MS;
    while let Some(last) = last_played {
        let status = reader
            .status()
            .await
            .map_err(onchain::at("reading the contract's status"))?;
        if status.finalised_epoch >= Some(last) || now_ms() > deadline {
            break;
        }
        bar.set_message(format!(
            "settling epoch {last}: finalised {}",
            status
                .finalised_epoch
                .map_or_else(|| "none".into(), |e| e.to_string())
        ));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Claims follow the finalisation by a pass.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    bar.finish_and_clear();
    let matches_finished: u64 = nodes
        .iter()
        .map(|n| n.handle.status.borrow().matches_finished)
        .sum();
    let items: Vec<usize> = nodes.iter().map(|n| n.store.item_count()).collect();

    let (mut junk_published, mut refused_by_others, mut aborted, mut forged) = (0, 0, 0, 0);
    let mut thrown = 0;
    for (i, n) in nodes.iter().enumerate() {
        let s = n.handle.status.borrow();
        // The run's epochs only: nodes go on playing while the last one settles.
        let ours = |counts: &std::collections::BTreeMap<u64, u64>| -> u64 {
            counts.range(..options.epochs).map(|(_, n)| n).sum()
        };
        aborted += ours(&s.aborted);
        forged += ours(&s.forged);
        thrown += ours(&s.thrown);
        if spammers(options).contains(&i) {
            junk_published += s.junk_published;
        } else {
            refused_by_others += s.gossip_refused;
        }
    }
    let mut exports = Vec::new();
    for n in &nodes {
        exports.push(rankings::export(&n.store, &league, options.epochs, None)?);
    }
    shutdown.cancel();
    for n in nodes {
        let _ = tokio::time::timeout(Duration::from_secs(5), n.handle.task).await;
    }
    let first = exports.first().cloned().unwrap_or_default();
    let first_json = rankings::render(&first, rankings::Format::Json);
    let disagreeing: Vec<usize> = exports
        .iter()
        .enumerate()
        .filter(|(_, e)| rankings::render(e, rankings::Format::Json) != first_json)
        .map(|(i, _)| i)
        .collect();
    drop(events_tx);
    let mut events = Vec::new();
    while let Ok(event) = events_rx.try_recv() {
        events.push(event);
    }
    let ids: Vec<PlayerId> = players.iter().map(|k| k.id()).collect();
    let accounts: Vec<Address> = players
        .iter()
        .map(|k| AccountKey::derive_from_identity(k).address())
        .collect();
    let slashed: Vec<usize> = events
        .iter()
        .filter_map(|(_, e)| match e {
            SettleEvent::Slashed { signer, .. } => accounts.iter().position(|a| a == signer),
            SettleEvent::SlashedConvicted { account, .. } => {
                accounts.iter().position(|a| a == account)
            }
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let settlement = match reader.status().await {
        Ok(status) => Ok(SettlementReport {
            chain: format!("embedded chain in {} (shared)", chain_dir.display()),
            chain_id: reader.chain().chain_id(),
            contract,
            deploy_gas,
            nodes: node_accounts(&ids, &accounts, &events),
            epochs: epoch_reports(&ids, &accounts, &events),
            status,
        }),
        Err(e) => Err(onchain::at("reading the contract's status")(e)),
    };
    onchain::write_contract(&chain_dir, contract)
        .map_err(onchain::at("recording the contract's address"))?;
    Ok(DevnetReport {
        rankings: first,
        agents,
        matches_finished,
        items,
        disagreeing,
        peers,
        entrants,
        settlement,
        junk_published,
        refused_by_others,
        aborted,
        forged,
        thrown,
        slashed,
    })
}

/// Opens the devnet's embedded chain in `dir` and deploys the contract from `deployer`'s
/// derived account; returns the shared chain, the contract and the deployment's gas.
async fn deploy_chain(
    dir: &std::path::Path,
    deployer: &nets_tournament::identity::Keypair,
) -> Result<(SharedChain, Address, u64)> {
    let mut embedded = EmbeddedChain::open(dir, EmbeddedConfig::default())
        .with_context(|| format!("cannot open the embedded chain in {}", dir.display()))?;
    // The chain's clock starts at the wall clock (settlers keep it there).
    let now = now_ms() / 1000;
    let behind = now.saturating_sub(embedded.timestamp_now());
    embedded.advance_time_now(behind)?;
    let params = Parameters {
        challenge_window: CHALLENGE_WINDOW_S,
        ..Parameters::default()
    };
    let account = AccountKey::derive_from_identity(deployer);
    let (settlement, gas) = onchain::deploy(embedded, &account, params).await?;
    let contract = settlement.address();
    let embedded = settlement.into_chain();
    Ok((SharedChain::new(embedded), contract, gas))
}

/// Each node's stake and binding, from its settler's `Joined` event.
fn node_accounts(
    ids: &[PlayerId],
    accounts: &[Address],
    events: &[(PlayerId, SettleEvent)],
) -> Vec<NodeAccount> {
    ids.iter()
        .zip(accounts)
        .map(|(id, account)| {
            let joined = events.iter().find_map(|(p, e)| match e {
                SettleEvent::Joined {
                    stake,
                    stake_gas,
                    bind_gas,
                } if p == id => Some((*stake, *stake_gas, *bind_gas)),
                _ => None,
            });
            let (stake, stake_gas, bind_gas) = joined.unwrap_or_default();
            NodeAccount {
                player: *id,
                account: *account,
                stake,
                stake_gas,
                bind_gas,
            }
        })
        .collect()
}

/// One report per anchored epoch, from what the settlers did.
fn epoch_reports(
    ids: &[PlayerId],
    accounts: &[Address],
    events: &[(PlayerId, SettleEvent)],
) -> Vec<EpochReport> {
    let node_of = |p: &PlayerId| ids.iter().position(|i| i == p).unwrap_or(usize::MAX);
    let mut anchored: Vec<(EpochRoots, Vec<Address>, u64)> = Vec::new();
    for (_, e) in events {
        if let SettleEvent::Attested {
            roots,
            signers,
            gas,
        } = e
            && !anchored.iter().any(|(r, _, _)| r.epoch == roots.epoch)
        {
            anchored.push((*roots, signers.clone(), *gas));
        }
    }
    anchored.sort_by_key(|(r, _, _)| r.epoch);
    anchored
        .into_iter()
        .map(|(roots, signer_accounts, attest_gas)| {
            let epoch = roots.epoch;
            let signers: Vec<usize> = accounts
                .iter()
                .enumerate()
                .filter(|(_, a)| signer_accounts.contains(a))
                .map(|(i, _)| i)
                .collect();
            let dissenters = (0..ids.len()).filter(|i| !signers.contains(i)).collect();
            let mut deposited = 0u128;
            let mut deposit_gas = 0u64;
            let mut finalise_gas = 0;
            let mut claims = Vec::new();
            for (player, e) in events {
                match e {
                    SettleEvent::Deposited {
                        epoch: d,
                        amount,
                        gas,
                    } if *d == epoch => {
                        deposited = deposited.saturating_add(*amount);
                        deposit_gas = deposit_gas.saturating_add(*gas);
                    }
                    SettleEvent::Finalised { roots: r, gas } if r.epoch == epoch => {
                        finalise_gas = *gas;
                    }
                    SettleEvent::Claimed {
                        epoch: c,
                        amount,
                        cumulative,
                        gas,
                    } if *c == epoch => claims.push(ClaimReport {
                        node: node_of(player),
                        player: *player,
                        amount: *amount,
                        cumulative: *cumulative,
                        gas: *gas,
                    }),
                    _ => {}
                }
            }
            claims.sort_by_key(|c| c.node);
            EpochReport {
                roots,
                deposited,
                deposit_gas,
                signers,
                dissenters,
                attest_gas,
                finalise_gas,
                claims,
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(nodes: usize, players: usize) -> DevnetOptions {
        DevnetOptions {
            nodes,
            players: Some(players),
            ..DevnetOptions::default()
        }
    }

    #[test]
    fn adversary_roles_are_disjoint_and_honest_nodes_hold_none() {
        let o = DevnetOptions {
            aborters: 1,
            forgers: 2,
            equivocators: 1,
            spammers: 2,
            ..options(10, 4)
        };
        check_roles(&o).unwrap();
        assert_eq!(aborters(&o), 0..1);
        assert_eq!(forgers(&o), 1..3);
        assert_eq!(equivocators(&o), 7..8);
        assert_eq!(spammers(&o), 8..10);
        let honest: Vec<usize> = (0..10).filter(|&i| super::honest(&o, i)).collect();
        assert_eq!(honest, vec![3, 4, 5, 6]);
        // Colluding groups follow the forgers, among the players.
        let o = DevnetOptions {
            colluders: vec![2, 3],
            ..o
        };
        assert!(check_roles(&o).is_err(), "7 cheating players of 4");
        let o = DevnetOptions {
            players: Some(8),
            equivocators: 1,
            spammers: 1,
            ..o
        };
        check_roles(&o).unwrap();
        assert_eq!(colluding(&o), vec![3..5, 5..8]);
        let honest: Vec<usize> = (0..10).filter(|&i| super::honest(&o, i)).collect();
        assert!(honest.is_empty(), "{honest:?}");
        let lone = DevnetOptions {
            colluders: vec![1],
            ..options(10, 10)
        };
        assert!(
            check_roles(&lone)
                .unwrap_err()
                .to_string()
                .contains("at least 2")
        );
    }

    #[test]
    fn roles_that_do_not_fit_are_refused_with_the_counts() {
        // More aborters and forgers than players.
        let o = DevnetOptions {
            aborters: 2,
            forgers: 2,
            ..options(10, 3)
        };
        let e = check_roles(&o).unwrap_err().to_string();
        assert!(
            e.contains("2 aborters, 2 forgers and 0 colluders") && e.contains("there are 3"),
            "{e}"
        );
        // Forgers running into the equivocators and spammers at the back.
        let o = DevnetOptions {
            forgers: 3,
            equivocators: 1,
            spammers: 1,
            ..options(4, 4)
        };
        assert!(
            check_roles(&o)
                .unwrap_err()
                .to_string()
                .contains("two roles")
        );
        // More spammers and equivocators than nodes.
        let o = DevnetOptions {
            equivocators: 3,
            spammers: 3,
            ..options(5, 0)
        };
        assert!(check_roles(&o).is_err());
        check_roles(&options(6, 6)).unwrap();
    }
}
