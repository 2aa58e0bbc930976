//! Full-stack mode: N real `netsd` nodes in this process — libp2p over 127.0.0.1 with
//! Kademlia and gossipsub, the real match streams, stores and settlers, one embedded chain —
//! playing real epochs on the wall clock. It is `netsd devnet`, measured: wall time, CPU time,
//! peak memory, matches, agreement of the nodes' rankings, and what the chain settled.
//!
//! Unlike the discrete-event mode this is not reproducible run to run (real sockets, real
//! time), and every node shares this machine's cores, so it answers a different question:
//! does the real stack hold up at this many peers?

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use nets_node::devnet::{self, DevnetOptions, DevnetReport};
use nets_node::rankings::{self, Format};
use serde::Serialize;

use crate::scenario::{Role, Scenario};

/// What a full-stack run measured (written as `metrics.json`).
#[derive(Clone, Debug, Serialize)]
pub struct FullStackMetrics {
    /// Nodes run.
    pub nodes: usize,
    /// Nodes that entered the league and played (the others followed it).
    pub players: usize,
    /// Peers each node kept connected (`network.target_peers`).
    pub target_peers: usize,
    /// Nodes that spammed the outcomes topic with junk (the last ones).
    pub spammers: usize,
    /// Junk messages they published.
    pub junk_published: u64,
    /// Times the other nodes refused a gossip message as invalid (junk, or anything else).
    pub junk_refused: u64,
    /// `junk_refused / junk_published`: how many nodes met each junk message. Without
    /// relaying it is at most the spammers' peers per node; relayed junk would reach every
    /// node.
    pub refusals_per_junk: f64,
    /// Players that walk away from a match once behind (the first ones).
    pub aborters: usize,
    /// Matches they walked away from.
    pub aborted_matches: u64,
    /// Timeout forfeits the league convicted them of, over all epochs.
    pub aborter_forfeits: u64,
    /// Their fate next to honest players of the same agents: mean rating and mean reward
    /// balance after the last epoch, aborters then honest (absent without aborters).
    pub aborter_fate: Option<Fate>,
    /// Players that signed a win in every duel they did not win (the ones after the aborters).
    pub forgers: usize,
    /// Colluding groups (rings, Sybil sets) by size: the players after the forgers.
    pub colluders: Vec<usize>,
    /// Matches the colluders threw to each other.
    pub thrown_matches: u64,
    /// Each colluding group's fate against honest players of the same agents.
    pub colluder_fates: Vec<Option<Fate>>,
    /// Results they forged.
    pub forged_results: u64,
    /// Of them, those the league convicted of fraud, as the rankings show it (they list rated
    /// players: a forger with no rated game is not counted, though it may be slashed).
    pub forgers_convicted: usize,
    /// Of them, those the contract slashed on their conviction in a finalised table.
    pub forgers_slashed: usize,
    /// Other nodes convicted of fraud (the goal: none).
    pub honest_convicted: usize,
    /// Nodes that signed two sets of roots for every epoch (the ones before the spammers).
    pub equivocators: usize,
    /// Of them, those the contract slashed.
    pub equivocators_slashed: usize,
    /// Nodes slashed that were neither equivocators nor forgers (the goal: none).
    pub honest_slashed: usize,
    /// Epochs played.
    pub epochs: u64,
    /// Length of an epoch, in seconds.
    pub epoch_secs: u64,
    /// Agents, given to the nodes in turn.
    pub agents: Vec<String>,
    /// Wall time of the whole run, in seconds.
    pub wall_s: f64,
    /// CPU time of this process (user and system), in seconds.
    pub cpu_s: f64,
    /// Peak resident memory of this process, in MiB.
    pub peak_rss_mib: u64,
    /// Matches finished.
    pub matches: u64,
    /// Items stored per node: least and most.
    pub items_min: usize,
    /// See `items_min`.
    pub items_max: usize,
    /// Nodes whose rankings equal node 0's.
    pub agreeing_nodes: usize,
    /// Connected peers per node when the last epoch closed: mean and most.
    pub peers_mean: f64,
    /// See `peers_mean`.
    pub peers_max: usize,
    /// Entrants of the last epoch known per node: least (the goal is `players`).
    pub entrants_min: usize,
    /// The last epoch the contract finalised, if any.
    pub finalised_epoch: Option<u64>,
    /// Epochs anchored on the chain, with their signers.
    pub anchored: Vec<AnchoredEpoch>,
    /// Why settlement failed, if it did (the rankings stand either way).
    pub settlement_error: Option<String>,
}

/// Mean rating and reward balance of a group of adversaries against honest players of the
/// same agents.
#[derive(Clone, Debug, Serialize)]
pub struct Fate {
    /// The group's mean rating.
    pub rating: f64,
    /// Honest players' mean rating (same agents).
    pub honest_rating: f64,
    /// The group's mean reward balance.
    pub balance: f64,
    /// Honest players' mean reward balance (same agents).
    pub honest_balance: f64,
}

/// The fate of the nodes `group` (by index) against honest players (no adversary role) of the
/// same agents, from the last epoch's rankings; `agents` lists every node's player and agent
/// in node order. `None` when either side has no ranked player.
fn fate(
    report: &DevnetReport,
    options: &DevnetOptions,
    group: std::ops::Range<usize>,
) -> Option<Fate> {
    let bad: Vec<&str> = report
        .agents
        .get(group.clone())?
        .iter()
        .map(|(p, _)| p.as_str())
        .collect();
    let bad_agents: Vec<&str> = report
        .agents
        .get(group)?
        .iter()
        .map(|(_, a)| a.as_str())
        .collect();
    let good: Vec<&str> = report
        .agents
        .iter()
        .enumerate()
        .filter(|&(i, (_, a))| {
            devnet::playing(options).contains(&i)
                && devnet::honest(options, i)
                && bad_agents.contains(&a.as_str())
        })
        .map(|(_, (p, _))| p.as_str())
        .collect();
    let last = report.rankings.last();
    let mean = |who: &[&str], f: &dyn Fn(&rankings::Row) -> f64| -> Option<f64> {
        let rows: Vec<f64> = last?
            .rows
            .iter()
            .filter(|r| who.contains(&r.player.as_str()))
            .map(f)
            .collect();
        (!rows.is_empty()).then(|| rows.iter().sum::<f64>() / rows.len() as f64)
    };
    let rating = |r: &rankings::Row| r.rating as f64;
    let balance = |r: &rankings::Row| r.balance as f64;
    Some(Fate {
        rating: mean(&bad, &rating)?,
        honest_rating: mean(&good, &rating)?,
        balance: mean(&bad, &balance)?,
        honest_balance: mean(&good, &balance)?,
    })
}

/// The aborters' forfeits over all epochs and their fate.
fn aborters_fate(report: &DevnetReport, options: &DevnetOptions) -> (u64, Option<Fate>) {
    let aborters = devnet::aborters(options);
    let forfeits = report
        .agents
        .get(aborters.clone())
        .unwrap_or_default()
        .iter()
        .map(|(p, _)| {
            report
                .rankings
                .iter()
                .flat_map(|e| &e.rows)
                .filter(|r| &r.player == p)
                .map(|r| u64::from(r.forfeits))
                .sum::<u64>()
        })
        .sum();
    let fate = if aborters.is_empty() {
        None
    } else {
        fate(report, options, aborters)
    };
    (forfeits, fate)
}

/// The adversaries and size of a scenario, as options for real nodes: its population's
/// total (`nodes`), its epochs, and one node per member of each adversary group (aborters,
/// forgers, equivocators and spammers; each ring or Sybil group a colluding group of at least
/// two). Everything else the real stack decides for itself: the network is real, and the
/// agents are `base`'s (the nodes' agents, given in turn), not the scenario's, whose tuned
/// agents exist only in the simulator. `base` gives the rest (epoch length, transport, ...).
pub fn options_from_scenario(scenario: &Scenario, base: DevnetOptions) -> DevnetOptions {
    let count = |role: Role| -> usize {
        scenario
            .population
            .iter()
            .filter(|g| g.role == role)
            .map(|g| g.count as usize)
            .sum()
    };
    let colluders = scenario
        .population
        .iter()
        .filter(|g| matches!(g.role, Role::Ring | Role::Sybil))
        .map(|g| (g.count as usize).max(2))
        .collect::<Vec<_>>();
    let others: usize = scenario
        .population
        .iter()
        .filter(|g| !matches!(g.role, Role::Ring | Role::Sybil))
        .map(|g| g.count as usize)
        .sum();
    let nodes = others + colluders.iter().sum::<usize>();
    DevnetOptions {
        nodes,
        epochs: u64::from(scenario.epochs),
        players: None,
        aborters: count(Role::Aborter),
        forgers: count(Role::Forger),
        equivocators: count(Role::Equivocator),
        spammers: count(Role::Spammer),
        colluders,
        ..base
    }
}

/// One epoch the chain settled.
#[derive(Clone, Debug, Serialize)]
pub struct AnchoredEpoch {
    /// The epoch.
    pub epoch: u64,
    /// Nodes whose signatures made the aggregate.
    pub signers: usize,
    /// Claims paid.
    pub claims: usize,
}

/// Runs `options` and measures it.
pub fn run(options: &DevnetOptions) -> Result<(DevnetReport, FullStackMetrics)> {
    let start = Instant::now();
    let cpu_before = cpu_seconds();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let report = runtime.block_on(devnet::run(options))?;
    let (aborter_forfeits, aborter_fate) = aborters_fate(&report, options);
    // Nodes (by index) the league convicted of fraud in some epoch.
    let convicted: Vec<usize> = report
        .agents
        .iter()
        .enumerate()
        .filter(|(_, (player, _))| {
            report
                .rankings
                .iter()
                .flat_map(|e| &e.rows)
                .any(|r| r.fraud && &r.player == player)
        })
        .map(|(i, _)| i)
        .collect();
    let metrics = FullStackMetrics {
        nodes: options.nodes,
        players: devnet::playing(options).len(),
        target_peers: options
            .target_peers
            .unwrap_or(nets_node::config::NetworkConfig::default().target_peers),
        spammers: devnet::spammers(options).len(),
        junk_published: report.junk_published,
        aborters: devnet::aborters(options).len(),
        aborted_matches: report.aborted,
        aborter_forfeits,
        aborter_fate,
        forgers: devnet::forgers(options).len(),
        forged_results: report.forged,
        forgers_convicted: convicted
            .iter()
            .filter(|i| devnet::forgers(options).contains(i))
            .count(),
        honest_convicted: convicted
            .iter()
            .filter(|i| !devnet::forgers(options).contains(i))
            .count(),
        colluders: options.colluders.clone(),
        thrown_matches: report.thrown,
        colluder_fates: devnet::colluding(options)
            .into_iter()
            .map(|g| fate(&report, options, g))
            .collect(),
        equivocators: devnet::equivocators(options).len(),
        equivocators_slashed: report
            .slashed
            .iter()
            .filter(|i| devnet::equivocators(options).contains(i))
            .count(),
        forgers_slashed: report
            .slashed
            .iter()
            .filter(|i| devnet::forgers(options).contains(i))
            .count(),
        honest_slashed: report
            .slashed
            .iter()
            .filter(|i| {
                !devnet::equivocators(options).contains(i) && !devnet::forgers(options).contains(i)
            })
            .count(),
        junk_refused: report.refused_by_others,
        refusals_per_junk: report.refused_by_others as f64 / report.junk_published.max(1) as f64,
        epochs: options.epochs,
        epoch_secs: options.epoch_ms / 1000,
        agents: options.agents.clone(),
        wall_s: start.elapsed().as_secs_f64(),
        cpu_s: cpu_seconds() - cpu_before,
        peak_rss_mib: peak_rss_kib().unwrap_or(0) / 1024,
        matches: report.matches_finished / 2,
        items_min: report.items.iter().copied().min().unwrap_or(0),
        items_max: report.items.iter().copied().max().unwrap_or(0),
        agreeing_nodes: options.nodes.saturating_sub(report.disagreeing.len()),
        peers_mean: report.peers.iter().sum::<usize>() as f64 / report.peers.len().max(1) as f64,
        peers_max: report.peers.iter().copied().max().unwrap_or(0),
        entrants_min: report.entrants.iter().copied().min().unwrap_or(0),
        finalised_epoch: report
            .settlement
            .as_ref()
            .ok()
            .and_then(|s| s.status.finalised_epoch),
        anchored: report
            .settlement
            .as_ref()
            .map(|s| {
                s.epochs
                    .iter()
                    .map(|e| AnchoredEpoch {
                        epoch: e.roots.epoch,
                        signers: e.signers.len(),
                        claims: e.claims.len(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        settlement_error: report.settlement.as_ref().err().map(|e| e.to_string()),
    };
    Ok((report, metrics))
}

/// Writes `rankings.json` and `rankings.csv` (node 0's, in netsd's export format),
/// `metrics.json` and `summary.txt` into `out`.
pub fn write_outputs(report: &DevnetReport, metrics: &FullStackMetrics, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let write = |name: &str, bytes: String| {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        "rankings.json",
        rankings::render(&report.rankings, Format::Json),
    )?;
    write(
        "rankings.csv",
        rankings::render(&report.rankings, Format::Csv),
    )?;
    write(
        "metrics.json",
        serde_json::to_string_pretty(metrics).context("metrics")? + "\n",
    )?;
    write("summary.txt", summary(metrics))?;
    Ok(())
}

/// The text summary.
pub fn summary(m: &FullStackMetrics) -> String {
    let anchored: Vec<String> = m
        .anchored
        .iter()
        .map(|a| format!("epoch {} by {}/{} signers", a.epoch, a.signers, m.nodes))
        .collect();
    let mut text = format!(
        "full stack: {} real nodes ({} playing), {} epochs of {} s, agents {}\n\
         wall {:.0} s, CPU {:.0} s, peak RSS {} MiB\n\
         {} matches; items per node {}..{}; {} of {} nodes computed identical rankings\n\
         peers per node {:.1} on average, at most {} (target {}); every node knew at least {} entrants\n\
         settlement: {}\n",
        m.nodes,
        m.players,
        m.epochs,
        m.epoch_secs,
        m.agents.join(", "),
        m.wall_s,
        m.cpu_s,
        m.peak_rss_mib,
        m.matches,
        m.items_min,
        m.items_max,
        m.agreeing_nodes,
        m.nodes,
        m.peers_mean,
        m.peers_max,
        m.target_peers,
        m.entrants_min,
        match (&m.settlement_error, anchored.is_empty()) {
            (Some(e), _) => format!("failed: {e}"),
            (None, true) => "nothing anchored".into(),
            (None, false) => anchored.join(", "),
        }
    );
    if m.spammers > 0 {
        text.push_str(&format!(
            "spam: {} spammers published {} junk messages; other nodes refused {} gossip \
             messages, {:.1} per junk message (peers per node {:.1})\n",
            m.spammers, m.junk_published, m.junk_refused, m.refusals_per_junk, m.peers_mean
        ));
    }
    if m.forgers > 0 {
        text.push_str(&format!(
            "forgers: {} forged {} results; {} of them convicted of fraud, {} slashed; honest nodes convicted: {}\n",
            m.forgers, m.forged_results, m.forgers_convicted, m.forgers_slashed, m.honest_convicted
        ));
    }
    if m.equivocators > 0 {
        text.push_str(&format!(
            "equivocators: {} of {} slashed; honest nodes slashed: {}\n",
            m.equivocators_slashed, m.equivocators, m.honest_slashed
        ));
    }
    if m.aborters > 0 {
        text.push_str(&format!(
            "aborters: {} walked away from {} matches and were convicted of {} forfeits",
            m.aborters, m.aborted_matches, m.aborter_forfeits
        ));
        if let Some(f) = &m.aborter_fate {
            text.push_str(&fate_text(f));
        }
        text.push('\n');
    }
    if !m.colluders.is_empty() {
        text.push_str(&format!(
            "colluders: groups of {:?} threw {} matches to each other\n",
            m.colluders, m.thrown_matches
        ));
        for (i, f) in m.colluder_fates.iter().enumerate() {
            text.push_str(&format!("  group {i}"));
            match f {
                Some(f) => text.push_str(&fate_text(f)),
                None => text.push_str(": not ranked against honest players of its agents"),
            }
            text.push('\n');
        }
    }
    text
}

fn fate_text(f: &Fate) -> String {
    format!(
        "; mean rating {:.0} against {:.0} for honest players of the same agents, \
         mean balance {:.0} against {:.0}",
        f.rating, f.honest_rating, f.balance, f.honest_balance
    )
}

/// Peak resident memory of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of this process so far (user and system, from `/proc/self/stat`), in seconds;
/// 0 where that file does not exist.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    // Linux reports them in USER_HZ, which is 100 on every architecture it runs on.
    ticks as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_becomes_real_nodes_with_its_adversaries() {
        let text = include_str!("../scenarios/adversarial.toml");
        let mut sc = Scenario::from_toml(text).unwrap();
        sc.scale_population(30);
        let base = DevnetOptions {
            epoch_ms: 20_000,
            agents: vec!["random".into()],
            ..DevnetOptions::default()
        };
        let o = options_from_scenario(&sc, base);
        let count = |role: Role| -> usize {
            sc.population
                .iter()
                .filter(|g| g.role == role)
                .map(|g| g.count as usize)
                .sum()
        };
        assert_eq!(o.epochs, u64::from(sc.epochs));
        assert_eq!(o.epoch_ms, 20_000);
        assert_eq!(o.agents, vec!["random".to_string()]);
        assert_eq!(o.aborters, count(Role::Aborter));
        assert_eq!(o.forgers, count(Role::Forger));
        assert_eq!(o.equivocators, count(Role::Equivocator));
        assert_eq!(o.spammers, count(Role::Spammer));
        // One colluding group per ring or Sybil group, of at least two.
        let groups = sc
            .population
            .iter()
            .filter(|g| matches!(g.role, Role::Ring | Role::Sybil))
            .count();
        assert_eq!(o.colluders.len(), groups);
        assert!(groups > 0 && o.colluders.iter().all(|c| *c >= 2));
        let colluders: usize = o.colluders.iter().sum();
        let others = sc.initial_nodes() as usize - count(Role::Ring) - count(Role::Sybil);
        assert_eq!(o.nodes, others + colluders);
        devnet::check_roles(&o).unwrap();
    }
}
