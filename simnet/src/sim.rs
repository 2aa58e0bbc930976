//! The simulation: nodes, epochs and the market, driven over the modelled network.
//!
//! # Time line of an epoch
//! Virtual time is in milliseconds; epoch `e` covers `[e * L, (e + 1) * L)`. In order:
//! 1. **Start.** Churn (departures, crashes scheduled within the epoch, joins), then entries:
//!    each node pays the fee of the highest tier it can afford to the chain, whose entrant
//!    list every node reads. Spammers publish their junk.
//! 2. **Rounds.** Each node draws the round with the core's [`draw_round`] from *its own*
//!    ratings (its view's summary of the previous epoch) and the chain's beacon. A match is
//!    played between the two players of a pairing when both drew it and are up; otherwise the
//!    one who drew it runs the protocol alone and ends with a timeout claim. Results,
//!    claims, answers and evidence are gossiped ([`Network::spread`]).
//! 3. **Attestation** of the previous epoch at `attest_delay_ms` into this one: every staked
//!    node signs its roots; the chain finalises them on a two-thirds stake quorum, nodes
//!    claim their rewards by Merkle proof, evidence is submitted and slashed, and rich agents
//!    fund mutated variants (evolution).
//! 4. **Close.** Each node closes the epoch with the core's [`EpochLedger`] over the items it
//!    has received.
//!
//! # What is computed once and shared
//! A node's view of an epoch is the set of items it has received. Nodes whose views (and
//! earlier views) are identical compute identical summaries: that is the core's guarantee,
//! so the simulator closes each distinct view once and shares the result, keyed by a hash
//! chain over the views. Verifying a record is a pure function of its bytes, so the
//! simulator verifies each record once when it is first published and counts, rather than
//! repeats, the verifications every receiving node performs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nets_envs::GameRng;
use nets_envs::Outcome;
use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_tournament::economics::FeeSchedule;
use nets_tournament::epoch::{EpochLedger, EpochSummary};
use nets_tournament::evidence::{Evidence, verify_evidence};
use nets_tournament::hash::{Hash32, keccak256};
use nets_tournament::identity::{Domain, Keypair, PlayerId};
use nets_tournament::league::{Attestation, League};
use nets_tournament::messages::{MatchHeader, MatchMessage, OutcomeRecord, Seat};
use nets_tournament::pairing::{PairingParams, draw_round};
use nets_tournament::protocol::MatchConfig;
use nets_tournament::rating::{Glicko2Params, Ratings, leaderboard, quantize};
use nets_tournament::timeout::TimeoutClaim;
use nets_tournament::verify::verify;
use nets_tournament::wire;
use rayon::prelude::*;
use serde::Serialize;

use crate::agent::AgentSpec;
use crate::contract::ContractChain;
use crate::matchplay::{Conduct, Player, ProtocolOutcome, play_fast, play_protocol};
use crate::metrics::{Histogram, kendall_tau_b, quantile, score_share, true_skill};
use crate::network::{Network, Span, below, chance, mix_all};
use crate::scenario::SettlementBackend;
use crate::scenario::{ProtocolMode, Role, Scenario};
use crate::settlement::{ModelChain, Settlement};

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The core refused to close an epoch (an amount overflowed).
    #[error("closing epoch {epoch}: {reason}")]
    Close {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: String,
    },
    /// The settlement chain could not be set up.
    #[error("settlement chain: {0}")]
    Chain(String),
}

/// Where the run is, for a progress display.
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    /// Steps done (rounds and closes).
    pub done: u64,
    /// Steps in all.
    pub total: u64,
    /// The epoch.
    pub epoch: u64,
}

/// A gossiped item of an epoch's ledger.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // a handful per match; boxing buys nothing here
enum ItemKind {
    Record(OutcomeRecord),
    Claim(TimeoutClaim),
    Answer(MatchMessage),
    Evidence(Evidence),
}

#[derive(Clone, Debug)]
struct Item {
    league: usize,
    epoch: u64,
    kind: ItemKind,
    published: u64,
}

/// An item to publish: league, epoch, the item, and its publishers with their times.
type Publication = (usize, u64, ItemKind, Vec<(u32, u64)>);

/// A fraud attempt, to check that it was caught.
#[derive(Clone, Debug)]
struct Fraud {
    kind: &'static str,
    culprit: u32,
    league: usize,
    /// The epoch whose ledger should convict.
    epoch: u64,
}

#[derive(Debug)]
struct Node {
    key: Keypair,
    id: PlayerId,
    secret: [u8; 32],
    role: Role,
    group: usize,
    spec: AgentSpec,
    founder: bool,
    capital: u128,
    initial_wealth: u128,
    left: bool,
    banned: bool,
    idle: u32,
    missing: BTreeSet<u32>,
    /// Per league, the summary key of each epoch's view (index = epoch).
    keys: Vec<Vec<Hash32>>,
    entered: Option<usize>,
    invalid_from: BTreeMap<u32, u32>,
    matches: u64,
    forfeits: u64,
    convicted: bool,
    slashed: u128,
    spawned: u32,
    generation: u32,
}

/// One row of the final rankings.
#[derive(Clone, Debug, Serialize)]
pub struct RankRow {
    /// The league (index in the scenario).
    pub league: usize,
    /// 1-based rank in the league's leaderboard.
    pub rank: usize,
    /// Node index.
    pub node: u32,
    /// Player key, hex.
    pub player: String,
    /// Role.
    pub role: &'static str,
    /// Agent label.
    pub agent: String,
    /// Hidden true skill (Elo scale), where known.
    pub true_skill: Option<f64>,
    /// Glicko-2 rating.
    pub rating: i64,
    /// Rating deviation.
    pub deviation: i64,
    /// Games rated.
    pub games: u64,
    /// Wins.
    pub wins: u64,
    /// Draws.
    pub draws: u64,
    /// Losses.
    pub losses: u64,
    /// Capital held at the end.
    pub capital: u128,
    /// Wealth at the end minus wealth at join.
    pub profit: i128,
}

/// Metrics of one epoch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EpochMetrics {
    /// The epoch.
    pub epoch: u64,
    /// Nodes entered in any league.
    pub entrants: u64,
    /// Nodes present (joined, not left).
    pub present: u64,
    /// Matches attempted.
    pub matches: u64,
    /// Of which played locally (fast fidelity).
    pub fast_matches: u64,
    /// Outcome records published.
    pub records: u64,
    /// Timeout claims published.
    pub claims: u64,
    /// Forfeits in the consensus summary.
    pub forfeits: u64,
    /// Evidence items published.
    pub evidence: u64,
    /// Kendall tau-b of the consensus ratings against true skill, per league.
    pub kendall_tau: Vec<Option<f64>>,
    /// Capital quantiles (10, 25, 50, 75, 90 %) over present nodes.
    pub capital_quantiles: Vec<u128>,
    /// Mean score of sampled honest agents against the scenario's fixed reference agent.
    pub strength_vs_reference: f64,
    /// Distinct views (summary keys) among present honest nodes at the close, per league.
    pub distinct_views: Vec<usize>,
    /// Whether the previous epoch's roots were finalised on chain, per league.
    pub finalised_previous: Vec<bool>,
    /// Variants spawned at this epoch's settlement.
    pub spawned: u64,
    /// Nodes that dropped out broke.
    pub broke: u64,
}

/// Gossip figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GossipMetrics {
    /// Mesh degree.
    pub mesh_degree: usize,
    /// Valid items spread.
    pub items: u64,
    /// Deliveries of outcome records to nodes other than their publishers.
    pub record_deliveries: u64,
    /// Full-message transmissions spent on outcome records.
    pub record_transmissions: u64,
    /// Transmissions per delivered record (amplification).
    pub amplification: f64,
    /// Delivery delay of records, median, ms.
    pub delay_p50_ms: u64,
    /// 99th percentile, ms.
    pub delay_p99_ms: u64,
    /// Largest, ms.
    pub delay_max_ms: u64,
    /// Deliveries repaired by IHAVE/IWANT after a loss.
    pub repaired: u64,
    /// Invalid messages sent by spammers.
    pub junk_sent: u64,
    /// Junk deliveries (each one checked and dropped by a direct peer).
    pub junk_delivered: u64,
    /// Junk forwarded beyond the first hop.
    pub junk_forwarded: u64,
    /// Mesh links pruned for spam.
    pub pruned_links: u64,
    /// Record verifications the receiving nodes perform (modelled).
    pub verifications_modelled: u64,
    /// Record verifications actually computed (once per record id).
    pub verifications_computed: u64,
    /// Items delivered late by a sync after a partition or a crash.
    pub synced: u64,
    /// CDF points of the record delay, `(ms, share)`.
    pub delay_cdf: Vec<(u64, f64)>,
}

/// How a group of nodes fared.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RoleOutcome {
    /// Role.
    pub role: &'static str,
    /// Agent label.
    pub agent: String,
    /// Nodes.
    pub nodes: u64,
    /// Mean profit per node.
    pub mean_profit: f64,
    /// Standard error of that mean.
    pub profit_se: f64,
    /// Mean profit of honest founders with the same agent (the control).
    pub honest_same_agent_profit: f64,
    /// Standard error of the control's mean.
    pub honest_same_agent_profit_se: f64,
    /// Nodes convicted of fraud.
    pub convicted: u64,
    /// Stake slashed in all.
    pub slashed: u128,
    /// Timeout forfeits in all.
    pub forfeits: u64,
    /// Nodes still entering at the end.
    pub still_active: u64,
    /// Matches played in all.
    pub matches: u64,
}

/// Fraud detection.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FraudMetrics {
    /// Attempts, by kind.
    pub attempts: BTreeMap<String, u64>,
    /// Of which the culprit was convicted in the consensus ledger.
    pub detected: BTreeMap<String, u64>,
}

/// Everything a run measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Nodes at genesis.
    pub initial_nodes: u64,
    /// Nodes ever.
    pub total_nodes: u64,
    /// Epochs.
    pub epochs: u32,
    /// Protocol fidelity.
    pub protocol: String,
    /// Per epoch.
    pub per_epoch: Vec<EpochMetrics>,
    /// True skill per founder agent (Elo scale, mean 0).
    pub true_skill: BTreeMap<String, f64>,
    /// Final rankings, per league.
    pub rankings: Vec<RankRow>,
    /// Gossip.
    pub gossip: GossipMetrics,
    /// Per role and agent.
    pub roles: Vec<RoleOutcome>,
    /// Fraud attempts and detections.
    pub fraud: FraudMetrics,
    /// Distinct final views among present honest nodes, per league and epoch (1 = agreement).
    pub final_views: Vec<Vec<usize>>,
    /// Final outcomes root per league and epoch (consensus).
    pub final_roots: Vec<Vec<String>>,
    /// Epochs finalised on chain, per league.
    pub finalised_epochs: Vec<u64>,
    /// Fees escrowed and not yet claimed at the end.
    pub escrow_left: u128,
    /// Whether every unit of money is accounted for.
    pub money_conserved: bool,
    /// Settlement backend.
    pub settlement: String,
    /// What the settlement backend's audit of its books found wrong (empty: nothing).
    pub audit: String,
    /// Chain transactions sent by the settlement backend (0 for the model).
    pub chain_transactions: u64,
    /// Gas those transactions used.
    pub chain_gas: u64,
    /// What the settlement backend reported going wrong (aggregates that failed, ...).
    pub settlement_notes: Vec<String>,
    /// The fixed reference agent of the strength measurement.
    pub reference: String,
}

struct LeagueRt {
    league: League,
    id: Hash32,
    fee: u128,
    rounds: u32,
    band: usize,
}

/// A match to play in a round.
struct Planned {
    league: usize,
    header: MatchHeader,
    nodes: [u32; 2],
    conduct: [Conduct; 2],
}

/// What a played match publishes.
#[derive(Default)]
struct Played {
    fast: bool,
    items: Vec<(ItemKind, Vec<(u32, u64)>)>,
    forged: Option<(OutcomeRecord, OutcomeRecord, u32, u64)>,
    equivocation: Option<u32>,
}

/// The simulator.
pub struct Simulation {
    sc: Scenario,
    seed: u64,
    net: Network,
    chain: Box<dyn Settlement>,
    leagues: Vec<LeagueRt>,
    nodes: Vec<Node>,
    by_id: BTreeMap<PlayerId, u32>,
    items: Vec<Item>,
    item_index: BTreeMap<Hash32, u32>,
    epoch_items: BTreeMap<(usize, u64), Vec<u32>>,
    summaries: BTreeMap<Hash32, Arc<EpochSummary>>,
    frauds: Vec<Fraud>,
    skills: BTreeMap<AgentSpec, f64>,
    glicko: Glicko2Params,
    report: Report,
    delays: Histogram,
    pending_syncs: BTreeSet<u64>,
    total_in: u128,
    withdrawn: u128,
    joins: u64,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Simulation({}, {} nodes)",
            self.sc.name,
            self.nodes.len()
        )
    }
}

fn u128_of(x: u64) -> u128 {
    u128::from(x)
}

impl Simulation {
    /// Sets up the network, the chain and the genesis population.
    pub fn new(sc: Scenario) -> Result<Self, SimError> {
        sc.validate()?;
        let seed = sc.seed;
        let fees = FeeSchedule {
            base_fee: u128_of(sc.economics.base_fee),
            tier_factor: u128_of(sc.economics.tier_factor),
        };
        let leagues: Vec<LeagueRt> = sc
            .leagues
            .iter()
            .map(|l| {
                let league = League {
                    env: EnvSpec::Snake(SnakeParams {
                        max_turns: l.max_turns,
                        ..SnakeParams::duel(l.board)
                    }),
                    tier: l.tier,
                };
                LeagueRt {
                    id: league.id(),
                    fee: fees.fee(l.tier).unwrap_or(u128::MAX),
                    league,
                    rounds: l.rounds_per_epoch,
                    band: l.band,
                }
            })
            .collect();
        // True skill of the founders' agents, on the first league's board.
        let mut specs: Vec<AgentSpec> = sc.population.iter().map(|g| g.agent).collect();
        specs.sort();
        specs.dedup();
        let params = sc
            .leagues
            .first()
            .map(|l| SnakeParams {
                max_turns: l.max_turns,
                ..SnakeParams::duel(l.board)
            })
            .unwrap_or_default();
        let skills = true_skill(&specs, &params, 200);
        let chain: Box<dyn Settlement> = match sc.settlement {
            SettlementBackend::Contract => {
                let ids: Vec<Hash32> = leagues.iter().map(|l| l.id).collect();
                Box::new(
                    ContractChain::new(seed, &ids).map_err(|e| SimError::Chain(e.to_string()))?,
                )
            }
            SettlementBackend::Model => Box::new(ModelChain::new(seed)),
        };
        let mut sim = Self {
            net: Network::new(sc.network.clone(), seed),
            chain,
            leagues,
            nodes: Vec::new(),
            by_id: BTreeMap::new(),
            items: Vec::new(),
            item_index: BTreeMap::new(),
            epoch_items: BTreeMap::new(),
            summaries: BTreeMap::new(),
            frauds: Vec::new(),
            skills,
            glicko: Glicko2Params::default(),
            report: Report::default(),
            delays: Histogram::default(),
            pending_syncs: sc
                .network
                .partitions
                .iter()
                .map(|p| p.start_ms.saturating_add(p.duration_ms))
                .collect(),
            total_in: 0,
            withdrawn: 0,
            joins: 0,
            seed,
            sc,
        };
        let groups: Vec<(usize, u32)> = sim
            .sc
            .population
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.count))
            .collect();
        for (group, count) in groups {
            for _ in 0..count {
                let spec = sim.sc.population.get(group).map(|g| g.agent);
                if let Some(spec) = spec {
                    sim.add_node(0, group, spec, true, None);
                }
            }
        }
        sim.report.scenario = sim.sc.name.clone();
        sim.report.seed = seed;
        sim.report.initial_nodes = sim.nodes.len() as u64;
        sim.report.epochs = sim.sc.epochs;
        sim.report.protocol = match sim.sc.protocol {
            ProtocolMode::Fast => "fast".into(),
            ProtocolMode::Full => "full".into(),
        };
        sim.report.reference = sim.sc.reference.label();
        sim.report.settlement = sim.chain.describe();
        sim.report.true_skill = sim
            .skills
            .iter()
            .map(|(s, v)| (s.label(), (v * 10.0).round() / 10.0))
            .collect();
        Ok(sim)
    }

    fn add_node(
        &mut self,
        now: u64,
        group: usize,
        spec: AgentSpec,
        founder: bool,
        funding: Option<u128>,
    ) -> u32 {
        let index = self.net.join(now);
        let n = u64::from(index);
        let secret = keccak256(&[
            b"nets/simnet/key",
            &self.seed.to_le_bytes(),
            &n.to_le_bytes(),
        ])
        .0;
        let key = Keypair::from_secret(secret);
        let id = key.id();
        let role = self
            .sc
            .population
            .get(group)
            .map_or(Role::Honest, |g| g.role);
        let stake = u128_of(self.sc.economics.stake);
        let wealth = funding.unwrap_or(u128_of(self.sc.economics.initial_capital) + stake);
        let mut capital = wealth.saturating_sub(stake);
        if funding.is_none() {
            self.total_in = self.total_in.saturating_add(wealth);
        }
        if self.chain.deposit_stake(&key, stake).is_err() {
            // Not staked: the node keeps its money and cannot enter.
            capital = capital.saturating_add(stake);
        }
        self.by_id.insert(id, index);
        self.nodes.push(Node {
            key,
            id,
            secret: keccak256(&[b"nets/simnet/secret", &secret]).0,
            role,
            group,
            spec,
            founder,
            capital,
            initial_wealth: wealth,
            left: false,
            banned: false,
            idle: 0,
            missing: BTreeSet::new(),
            keys: vec![Vec::new(); self.leagues.len()],
            entered: None,
            invalid_from: BTreeMap::new(),
            matches: 0,
            forfeits: 0,
            convicted: false,
            slashed: 0,
            spawned: 0,
            generation: 0,
        });
        index
    }

    fn node(&self, n: u32) -> Option<&Node> {
        self.nodes.get(n as usize)
    }

    /// Runs every epoch and returns the report.
    pub fn run(mut self, progress: &mut dyn FnMut(Tick)) -> Result<Report, SimError> {
        let epochs = u64::from(self.sc.epochs);
        let rounds: u64 = self
            .leagues
            .iter()
            .map(|l| u64::from(l.rounds))
            .max()
            .unwrap_or(1);
        let total = epochs * (rounds + 2);
        let mut done = 0;
        for e in 0..epochs {
            self.epoch(e, &mut |step| {
                done += step;
                progress(Tick {
                    done,
                    total,
                    epoch: e,
                });
            })?;
        }
        // The last epoch's attestation, and a final sync for everyone still missing items.
        let end = epochs * self.sc.timing.epoch_ms;
        let last_heal = self.pending_syncs.iter().next_back().copied().unwrap_or(0);
        self.sync(end.max(last_heal));
        if epochs > 0 {
            self.attest(
                epochs - 1,
                end.saturating_add(self.sc.timing.attest_delay_ms),
            )?;
        }
        self.finish()
    }

    fn epoch(&mut self, e: u64, step: &mut dyn FnMut(u64)) -> Result<(), SimError> {
        let l = self.sc.timing.epoch_ms;
        let t0 = e * l;
        let mut metrics = EpochMetrics {
            epoch: e,
            ..EpochMetrics::default()
        };
        self.start_epoch(e, t0, &mut metrics);
        // Rounds, the previous epoch's attestation, and syncs, in time order.
        let rounds = self.leagues.iter().map(|x| x.rounds).max().unwrap_or(1);
        let mut timeline: Vec<(u64, u8, u32)> = (0..rounds)
            .map(|r| (t0 + (u64::from(r) + 1) * l / (u64::from(rounds) + 2), 1, r))
            .collect();
        if e > 0 {
            timeline.push((t0 + self.sc.timing.attest_delay_ms, 0, 0));
        }
        timeline.sort();
        for (t, kind, r) in timeline {
            self.sync(t);
            if kind == 0 {
                let fin = self.attest(e - 1, t)?;
                metrics.finalised_previous = fin;
                metrics.spawned = self.evolve(e, t);
            } else {
                self.round(e, r, t, &mut metrics)?;
                step(1);
            }
        }
        self.sync(t0 + l);
        self.close(e, &mut metrics)?;
        step(2);
        self.report.per_epoch.push(metrics);
        Ok(())
    }

    fn start_epoch(&mut self, e: u64, t0: u64, m: &mut EpochMetrics) {
        let l = self.sc.timing.epoch_ms;
        let churn = self.sc.network.churn.clone();
        if e > 0 {
            // Departures and crashes among present nodes.
            for n in 0..self.nodes.len() as u32 {
                let Some(node) = self.node(n) else { continue };
                if node.left {
                    continue;
                }
                let w = mix_all(&[self.seed, 0xC1, u64::from(n), e]);
                if chance(w, churn.leave) {
                    self.depart(n, t0);
                    continue;
                }
                if chance(mix_all(&[w, 1]), churn.crash) {
                    let latest = l.saturating_sub(churn.crash_ms).max(1);
                    let from = t0 + below(mix_all(&[w, 2]), latest);
                    let span = Span {
                        from,
                        to: from.saturating_add(churn.crash_ms),
                    };
                    self.net.crash(n, span);
                    self.pending_syncs.insert(span.to);
                }
            }
            // Joins: new honest nodes with the agents of the honest groups in turn.
            let honest: Vec<usize> = self
                .sc
                .population
                .iter()
                .enumerate()
                .filter(|(_, g)| g.role == Role::Honest)
                .map(|(i, _)| i)
                .collect();
            for _ in 0..churn.join {
                let Some(&group) = honest.get((self.joins % honest.len().max(1) as u64) as usize)
                else {
                    break;
                };
                self.joins += 1;
                if let Some(spec) = self.sc.population.get(group).map(|g| g.agent) {
                    self.add_node(t0, group, spec, true, None);
                }
            }
        }
        // Entries.
        let reserve = u128_of(self.sc.economics.reserve_fees.max(1));
        let mut order: Vec<(u128, usize)> = self
            .leagues
            .iter()
            .enumerate()
            .map(|(i, x)| (x.fee, i))
            .collect();
        order.sort_by(|a, b| b.cmp(a));
        for n in 0..self.nodes.len() as u32 {
            let Some(node) = self.nodes.get_mut(n as usize) else {
                continue;
            };
            node.entered = None;
            if node.left || node.banned {
                continue;
            }
            let choice = order
                .iter()
                .find(|(fee, _)| node.capital >= fee.saturating_mul(reserve))
                .copied();
            match choice {
                Some((fee, li)) => {
                    let league = self.leagues.get(li).map(|x| x.id).unwrap_or_default();
                    if self.chain.enter(league, e, node.id, fee).is_ok() {
                        node.capital -= fee;
                        node.entered = Some(li);
                        node.idle = 0;
                        m.entrants += 1;
                    }
                }
                None => {
                    node.idle += 1;
                    if node.idle >= 2 {
                        m.broke += 1;
                        self.depart(n, t0);
                    }
                }
            }
        }
        m.present = self.nodes.iter().filter(|x| !x.left).count() as u64;
        self.spam(e, t0);
    }

    /// Node `n` was slashed `amount`: it is out of the market, and takes back whatever stake
    /// it still has (with one contract per league, its shares in the other leagues).
    fn ban(&mut self, n: u32, amount: u128) {
        let Some(id) = self.node(n).map(|x| x.id) else {
            return;
        };
        let rest = self.chain.withdraw_stake(&id);
        self.withdrawn = self.withdrawn.saturating_add(rest);
        if let Some(x) = self.nodes.get_mut(n as usize) {
            x.banned = true;
            x.slashed = x.slashed.saturating_add(amount);
            x.capital = x.capital.saturating_add(rest);
        }
    }

    fn depart(&mut self, n: u32, t: u64) {
        self.net.leave(n, t);
        if let Some(node) = self.nodes.get_mut(n as usize) {
            node.left = true;
            let stake = self.chain.withdraw_stake(&node.id);
            node.capital = node.capital.saturating_add(stake);
            self.withdrawn = self.withdrawn.saturating_add(stake);
        }
    }

    /// Spammers publish invalid records; direct peers check, drop, and prune repeat offenders.
    fn spam(&mut self, e: u64, t0: u64) {
        let spammers: Vec<(u32, u32)> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, x)| x.role == Role::Spammer && !x.left)
            .filter_map(|(i, x)| {
                let per = self.sc.population.get(x.group)?.spam_per_epoch;
                Some((i as u32, per))
            })
            .collect();
        let Some(sample) = self.items.iter().find_map(|i| match &i.kind {
            ItemKind::Record(r) => Some(r.clone()),
            _ => None,
        }) else {
            return;
        };
        for (s, per) in spammers {
            for k in 0..per {
                let t = t0
                    + below(
                        mix_all(&[self.seed, 0x5A, u64::from(s), e, u64::from(k)]),
                        self.sc.timing.epoch_ms,
                    );
                let mut junk = sample.clone();
                junk.sig_a.0[0] ^= (k as u8).wrapping_add(1);
                junk.sig_a.0[63] ^= (e as u8).wrapping_add(1);
                let valid = verify(&junk).is_ok();
                self.report.gossip.verifications_computed += 1;
                let spread = self.net.spread(
                    &[(s, t)],
                    valid,
                    mix_all(&[self.seed, 0x5B, u64::from(s), e, u64::from(k)]),
                );
                self.report.gossip.junk_sent += spread.transmissions;
                self.report.gossip.junk_delivered += spread.arrivals.len() as u64;
                self.report.gossip.verifications_modelled += spread.arrivals.len() as u64;
                let direct: BTreeSet<u32> = self.net.peers(s).iter().copied().collect();
                for (r, _) in spread.arrivals {
                    if !direct.contains(&r) {
                        self.report.gossip.junk_forwarded += 1;
                    }
                    let limit = self.sc.network.graylist_after;
                    if let Some(node) = self.nodes.get_mut(r as usize) {
                        let c = node.invalid_from.entry(s).or_insert(0);
                        *c += 1;
                        if *c == limit {
                            self.net.prune(s, r);
                            self.report.gossip.pruned_links += 1;
                        }
                    }
                }
            }
        }
    }

    /// Delivers missing items to nodes that can reach a holder at `t`.
    fn sync(&mut self, t: u64) {
        let heals: Vec<u64> = self.pending_syncs.range(..=t).copied().collect();
        for h in heals {
            self.pending_syncs.remove(&h);
        }
        let mut holders: BTreeMap<(u32, u64), bool> = BTreeMap::new();
        for n in 0..self.nodes.len() as u32 {
            let (has, left) = match self.node(n) {
                Some(x) => (!x.missing.is_empty(), x.left),
                None => continue,
            };
            if !has || left || !self.net.is_online(n, t) {
                continue;
            }
            let side = self.net.side(n, t);
            let missing: Vec<u32> = self
                .node(n)
                .map(|x| x.missing.iter().copied().collect())
                .unwrap_or_default();
            let mut got = Vec::new();
            for i in missing {
                let Some(item) = self.items.get(i as usize) else {
                    continue;
                };
                if item.published > t {
                    continue;
                }
                // Some holder on our side: any online node not missing it. The publishers are
                // enough to check in practice; fall back to "no partition".
                let reachable = side == 0
                    || *holders
                        .entry((i, side))
                        .or_insert_with(|| self.holder_on_side(i, side, t));
                if reachable {
                    got.push(i);
                }
            }
            if let Some(node) = self.nodes.get_mut(n as usize) {
                for i in &got {
                    node.missing.remove(i);
                }
            }
            self.report.gossip.synced += got.len() as u64;
        }
    }

    fn holder_on_side(&self, item: u32, side: u64, t: u64) -> bool {
        self.nodes.iter().enumerate().any(|(i, x)| {
            !x.left
                && !x.missing.contains(&item)
                && self.net.is_online(i as u32, t)
                && self.net.side(i as u32, t) == side
                && self
                    .items
                    .get(item as usize)
                    .is_some_and(|it| it.published <= t)
        })
    }

    /// The summary key of node `n`'s view of `league` in `epoch`, chained over earlier ones.
    fn view_key(&self, n: u32, league: usize, epoch: u64, prev: Hash32) -> Hash32 {
        let Some(node) = self.node(n) else {
            return Hash32::ZERO;
        };
        let mut missing: Vec<u8> = Vec::new();
        for i in &node.missing {
            if let Some(item) = self.items.get(*i as usize)
                && item.league == league
                && item.epoch == epoch
            {
                missing.extend_from_slice(&i.to_le_bytes());
            }
        }
        keccak256(&[
            b"nets/simnet/view",
            &prev.0,
            &(league as u64).to_le_bytes(),
            &epoch.to_le_bytes(),
            &missing,
        ])
    }

    /// Recomputes every present node's keys up to `epoch` and closes each distinct view.
    fn refresh(&mut self, epoch: u64) -> Result<(), SimError> {
        for li in 0..self.leagues.len() {
            for e in 0..=epoch {
                // Keys of this epoch for every present node.
                let mut todo: BTreeMap<Hash32, (u32, Hash32)> = BTreeMap::new();
                for n in 0..self.nodes.len() as u32 {
                    let Some(node) = self.node(n) else { continue };
                    if node.left {
                        continue;
                    }
                    let prev = if e == 0 {
                        Hash32::ZERO
                    } else {
                        node.keys
                            .get(li)
                            .and_then(|k| k.get((e - 1) as usize))
                            .copied()
                            .unwrap_or(Hash32::ZERO)
                    };
                    let key = self.view_key(n, li, e, prev);
                    if let Some(node) = self.nodes.get_mut(n as usize)
                        && let Some(keys) = node.keys.get_mut(li)
                    {
                        keys.resize((e + 1) as usize, Hash32::ZERO);
                        if let Some(slot) = keys.get_mut(e as usize) {
                            *slot = key;
                        }
                    }
                    if !self.summaries.contains_key(&key) {
                        todo.entry(key).or_insert((n, prev));
                    }
                }
                let jobs: Vec<(Hash32, u32, Hash32)> =
                    todo.into_iter().map(|(k, (n, p))| (k, n, p)).collect();
                let closed: Vec<(Hash32, Result<EpochSummary, String>)> = jobs
                    .par_iter()
                    .map(|(key, n, prev)| (*key, self.close_view(*n, li, e, *prev)))
                    .collect();
                for (key, summary) in closed {
                    let summary = summary.map_err(|reason| SimError::Close { epoch: e, reason })?;
                    self.summaries.insert(key, Arc::new(summary));
                }
            }
        }
        Ok(())
    }

    fn close_view(&self, n: u32, li: usize, e: u64, prev: Hash32) -> Result<EpochSummary, String> {
        let Some(node) = self.node(n) else {
            return Err("no such node".into());
        };
        let before = if e == 0 {
            None
        } else {
            self.summaries.get(&prev)
        };
        let mut ledger = EpochLedger::new(e);
        let ids: &[u32] = self.epoch_items.get(&(li, e)).map_or(&[], Vec::as_slice);
        let held = ids
            .iter()
            .filter(|i| !node.missing.contains(i))
            .filter_map(|i| self.items.get(*i as usize));
        // The ledger's summary does not depend on the order items are added in.
        for item in held {
            let _ = match &item.kind {
                ItemKind::Record(r) => ledger.add_outcome(r.clone()),
                ItemKind::Claim(c) => ledger.add_claim(c.clone()),
                ItemKind::Answer(a) => ledger.add_answer(a),
                ItemKind::Evidence(ev) => ledger.add_evidence(ev.clone()),
            };
        }
        let ratings: Ratings = before.map(|s| quantize(&s.ratings)).unwrap_or_default();
        let rewards = before.map(|s| s.rewards.clone()).unwrap_or_default();
        let league = self.leagues.get(li).map(|x| x.id).unwrap_or_default();
        let entries = self.chain.entries(league, e);
        ledger
            .close(&ratings, &self.glicko, &entries, &rewards)
            .map_err(|e| e.to_string())
    }

    fn key_of(&self, n: u32, li: usize, e: u64) -> Hash32 {
        self.node(n)
            .and_then(|x| x.keys.get(li))
            .and_then(|k| k.get(e as usize))
            .copied()
            .unwrap_or(Hash32::ZERO)
    }

    /// The key most present honest nodes hold (ties: the smallest).
    fn consensus(&self, li: usize, e: u64) -> Option<(Hash32, usize)> {
        let mut count: BTreeMap<Hash32, usize> = BTreeMap::new();
        for (i, x) in self.nodes.iter().enumerate() {
            if x.left || x.role != Role::Honest {
                continue;
            }
            *count.entry(self.key_of(i as u32, li, e)).or_insert(0) += 1;
        }
        let distinct = count.len();
        count
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(k, _)| (k, distinct))
    }

    fn round(&mut self, e: u64, r: u32, t: u64, m: &mut EpochMetrics) -> Result<(), SimError> {
        if e > 0 {
            self.refresh(e - 1)?;
        }
        let mut planned = Vec::new();
        for li in 0..self.leagues.len() {
            let Some(lg) = self.leagues.get(li) else {
                continue;
            };
            if r >= lg.rounds {
                continue;
            }
            let entries = self.chain.entries(lg.id, e);
            let entrants: Vec<PlayerId> = entries.keys().copied().collect();
            let beacon = self.chain.beacon(lg.id, e);
            // One draw per distinct view of the previous epoch.
            let mut draws: BTreeMap<Hash32, BTreeMap<PlayerId, (PlayerId, PlayerId)>> =
                BTreeMap::new();
            let mut belief: BTreeMap<(PlayerId, PlayerId), [bool; 2]> = BTreeMap::new();
            for id in &entrants {
                let Some(&n) = self.by_id.get(id) else {
                    continue;
                };
                let key = if e == 0 {
                    Hash32::ZERO
                } else {
                    self.key_of(n, li, e - 1)
                };
                let draw = draws.entry(key).or_insert_with(|| {
                    let ratings = if e == 0 {
                        Ratings::new()
                    } else {
                        self.summaries
                            .get(&key)
                            .map(|s| quantize(&s.ratings))
                            .unwrap_or_default()
                    };
                    let round = draw_round(
                        &entrants,
                        &ratings,
                        &beacon,
                        e,
                        r,
                        PairingParams { band: lg.band },
                    );
                    let mut map = BTreeMap::new();
                    for p in round.pairs {
                        map.insert(p.a, (p.a, p.b));
                        map.insert(p.b, (p.a, p.b));
                    }
                    map
                });
                if let Some(pair) = draw.get(id) {
                    let slot = belief.entry(*pair).or_insert([false, false]);
                    if pair.0 == *id {
                        slot[0] = true;
                    } else {
                        slot[1] = true;
                    }
                }
            }
            for ((a, b), believe) in belief {
                let (Some(&na), Some(&nb)) = (self.by_id.get(&a), self.by_id.get(&b)) else {
                    continue;
                };
                let header = MatchHeader {
                    epoch: e,
                    round: r,
                    env: lg.league.env.clone(),
                    a,
                    b,
                };
                let conduct = [
                    self.conduct(na, nb, believe[0], t),
                    self.conduct(nb, na, believe[1], t),
                ];
                planned.push(Planned {
                    league: li,
                    header,
                    nodes: [na, nb],
                    conduct,
                });
            }
        }
        m.matches += planned.len() as u64;
        let played: Vec<Played> = planned.par_iter().map(|p| self.play(p, t)).collect();
        self.publish(planned, played, t, m);
        Ok(())
    }

    fn conduct(&self, me: u32, other: u32, believes: bool, t: u64) -> Conduct {
        let (Some(x), Some(y)) = (self.node(me), self.node(other)) else {
            return Conduct::Absent;
        };
        if !believes || x.left || !self.net.is_online(me, t) {
            return Conduct::Absent;
        }
        match x.role {
            Role::Aborter => Conduct::AbortWhenLosing,
            Role::Equivocator => Conduct::Equivocate,
            Role::Ring | Role::Sybil if y.role == x.role && y.group == x.group => {
                // The poorer of the two throws (the operator concentrates wins).
                if (x.capital, other) < (y.capital, me) {
                    Conduct::Throw
                } else {
                    Conduct::Honest
                }
            }
            _ => Conduct::Honest,
        }
    }

    fn match_secret(&self, n: u32, header: &MatchHeader) -> [u8; 32] {
        let s = self.node(n).map(|x| x.secret).unwrap_or_default();
        keccak256(&[b"nets/simnet/match", &s, &header.match_id().0]).0
    }

    /// Plays one match (pure: reads the simulation only).
    fn play(&self, p: &Planned, t: u64) -> Played {
        let mut out = Played::default();
        let [na, nb] = p.nodes;
        let (Some(xa), Some(xb)) = (self.node(na), self.node(nb)) else {
            return out;
        };
        let players = [
            Player {
                key: &xa.key,
                secret: self.match_secret(na, &p.header),
                agent: xa.spec,
                conduct: p.conduct[0],
            },
            Player {
                key: &xb.key,
                secret: self.match_secret(nb, &p.header),
                agent: xb.spec,
                conduct: p.conduct[1],
            },
        ];
        let simple = |c: Conduct| matches!(c, Conduct::Honest | Conduct::Throw);
        let connected = self.net.connected(na, nb, t);
        let latency = self.net.base_latency(na, nb);
        let mut fast_ok = self.sc.protocol == ProtocolMode::Fast
            && connected
            && p.conduct
                .iter()
                .all(|c| simple(*c) || *c == Conduct::AbortWhenLosing);
        let mut fast = None;
        if fast_ok {
            let (record, turns) = play_fast(&p.header, &players[0], &players[1]);
            // An aborter that did not lose behaves honestly; one that lost goes silent,
            // which only the message exchange can show.
            for (seat, c) in p.conduct.iter().enumerate() {
                let lost =
                    matches!(record.payload.result, Outcome::Winner(w) if usize::from(w) != seat);
                if *c == Conduct::AbortWhenLosing && lost {
                    fast_ok = false;
                }
            }
            fast = Some((record, turns));
        }
        let salt = mix_all(&[
            self.seed,
            0x3A,
            u64::from(na),
            u64::from(nb),
            p.header.epoch,
            u64::from(p.header.round),
        ]);
        if let (true, Some((record, turns))) = (fast_ok, fast) {
            out.fast = true;
            // Seed exchange, two messages per turn, two results: about 1.5 round trips a turn.
            let end = t + latency * (u64::from(turns) * 3 + 6);
            out.items
                .push((ItemKind::Record(record.clone()), vec![(na, end), (nb, end)]));
            // A forger that lost publishes the same match with the result flipped.
            for (seat, node) in [(0u8, na), (1u8, nb)] {
                let forger = self.node(node).is_some_and(|x| x.role == Role::Forger);
                let lost = matches!(record.payload.result, Outcome::Winner(w) if w != seat);
                if forger
                    && lost
                    && let Some(x) = self.node(node)
                {
                    let mut forged = record.clone();
                    forged.payload.result = Outcome::Winner(seat);
                    let sig = x
                        .key
                        .sign(Domain::MatchResult, &forged.payload.signed_bytes());
                    if seat == 0 {
                        forged.sig_a = sig;
                    } else {
                        forged.sig_b = sig;
                    }
                    out.forged = Some((record.clone(), forged, node, end + 1));
                }
            }
            return out;
        }
        let cfg = MatchConfig {
            step_timeout: self.sc.timing.step_timeout_ms,
            answer_timeout: self.sc.timing.answer_timeout_ms,
            retransmit_every: 1000,
        };
        let net = &self.net;
        let link = move |from: Seat, at: u64, k: u64| {
            let (x, y) = if from == Seat::A { (na, nb) } else { (nb, na) };
            net.transmit(x, y, at, salt, k)
        };
        let run: ProtocolOutcome = play_protocol(
            t,
            &p.header,
            [&players[0], &players[1]],
            cfg,
            &link,
            500,
            3_600_000,
        );
        let who = |s: Seat| if s == Seat::A { na } else { nb };
        let mut records: BTreeMap<Hash32, (OutcomeRecord, Vec<(u32, u64)>)> = BTreeMap::new();
        for (at, s, r) in run.records {
            records
                .entry(r.id())
                .or_insert_with(|| (r, Vec::new()))
                .1
                .push((who(s), at));
        }
        for (_, (r, srcs)) in records {
            out.items.push((ItemKind::Record(r), srcs));
        }
        for (at, s, c) in run.claims {
            out.items.push((ItemKind::Claim(c), vec![(who(s), at)]));
        }
        for (at, s, a) in run.answers {
            out.items.push((ItemKind::Answer(a), vec![(who(s), at)]));
        }
        for (at, s, ev) in run.evidence {
            if let Ok(culprit) = verify_evidence(&ev)
                && let Some(&c) = self.by_id.get(&culprit)
            {
                out.equivocation = Some(c);
            }
            out.items.push((ItemKind::Evidence(ev), vec![(who(s), at)]));
        }
        out
    }

    fn item_id(kind: &ItemKind) -> Hash32 {
        match kind {
            ItemKind::Record(r) => r.id(),
            ItemKind::Claim(c) => keccak256(&[&c.to_bytes()]),
            ItemKind::Answer(a) => a.hash(),
            ItemKind::Evidence(ev) => keccak256(&[&wire::encode(ev)]),
        }
    }

    /// Adds the round's items, spreads them, and handles forgeries.
    fn publish(
        &mut self,
        planned: Vec<Planned>,
        played: Vec<Played>,
        _t: u64,
        m: &mut EpochMetrics,
    ) {
        let mut batch: Vec<Publication> = Vec::new();
        let mut forgeries = Vec::new();
        for (p, res) in planned.iter().zip(played) {
            if res.fast {
                m.fast_matches += 1;
            }
            for n in p.nodes {
                if let Some(x) = self.nodes.get_mut(n as usize) {
                    x.matches += 1;
                }
            }
            if let Some(c) = res.equivocation {
                self.frauds.push(Fraud {
                    kind: "equivocation (match)",
                    culprit: c,
                    league: p.league,
                    epoch: p.header.epoch,
                });
            }
            for (kind, srcs) in res.items {
                batch.push((p.league, p.header.epoch, kind, srcs));
            }
            if let Some(f) = res.forged {
                forgeries.push((p.league, p.header.epoch, f));
            }
        }
        // Forged records: spread as invalid; the direct peers who hold the real record turn
        // the pair into evidence against the forger.
        for (league, epoch, (real, forged, forger, at)) in forgeries {
            self.frauds.push(Fraud {
                kind: "forged result",
                culprit: forger,
                league,
                epoch,
            });
            let valid = verify(&forged).is_ok();
            self.report.gossip.verifications_computed += 1;
            let spread = self.net.spread(
                &[(forger, at)],
                valid,
                mix_all(&[self.seed, 0xF0, u64::from(forger), at]),
            );
            self.report.gossip.verifications_modelled += spread.arrivals.len() as u64;
            let evidence = Evidence::ConflictingResults {
                first: real,
                second: forged,
            };
            if verify_evidence(&evidence).is_ok() {
                let srcs: Vec<(u32, u64)> = spread
                    .arrivals
                    .iter()
                    .map(|(n, a)| (*n, a + self.sc.network.validate_ms + 1000))
                    .collect();
                if !srcs.is_empty() {
                    batch.push((league, epoch, ItemKind::Evidence(evidence), srcs));
                }
            }
        }
        // New items: verify records once, then spread everything in parallel.
        let mut fresh: Vec<(u32, Vec<(u32, u64)>)> = Vec::new();
        for (league, epoch, kind, srcs) in batch {
            let id = Self::item_id(&kind);
            if self.item_index.contains_key(&id) {
                continue;
            }
            match &kind {
                ItemKind::Record(_) => m.records += 1,
                ItemKind::Claim(_) => m.claims += 1,
                ItemKind::Evidence(_) => m.evidence += 1,
                ItemKind::Answer(_) => {}
            }
            let published = srcs.iter().map(|s| s.1).min().unwrap_or(0);
            let index = self.items.len() as u32;
            self.items.push(Item {
                league,
                epoch,
                kind,
                published,
            });
            self.item_index.insert(id, index);
            self.epoch_items
                .entry((league, epoch))
                .or_default()
                .push(index);
            fresh.push((index, srcs));
        }
        let checks: Vec<bool> = fresh
            .par_iter()
            .map(
                |(i, _)| match self.items.get(*i as usize).map(|x| &x.kind) {
                    Some(ItemKind::Record(r)) => verify(r).is_ok(),
                    _ => true,
                },
            )
            .collect();
        let spreads: Vec<crate::network::Spread> = fresh
            .par_iter()
            .zip(&checks)
            .map(|((i, srcs), valid)| {
                self.net
                    .spread(srcs, *valid, mix_all(&[self.seed, 0x6055, u64::from(*i)]))
            })
            .collect();
        for (((i, _), spread), valid) in fresh.iter().zip(spreads).zip(checks) {
            let is_record = matches!(
                self.items.get(*i as usize).map(|x| &x.kind),
                Some(ItemKind::Record(_))
            );
            let published = self.items.get(*i as usize).map_or(0, |x| x.published);
            if is_record {
                self.report.gossip.verifications_computed += 1;
                self.report.gossip.verifications_modelled += spread.arrivals.len() as u64;
                self.report.gossip.record_transmissions += spread.transmissions;
                self.report.gossip.record_deliveries += spread.arrivals.len() as u64;
                for (_, at) in &spread.arrivals {
                    self.delays.add(at.saturating_sub(published));
                }
            }
            self.report.gossip.items += 1;
            self.report.gossip.repaired += spread.repaired;
            if !valid {
                continue;
            }
            for n in spread.unreached {
                if let Some(x) = self.nodes.get_mut(n as usize)
                    && !x.left
                {
                    x.missing.insert(*i);
                }
            }
        }
    }

    /// Attests `epoch` at `t`; finalises, pays claims and slashes. Returns, per league,
    /// whether the epoch is finalised.
    fn attest(&mut self, epoch: u64, t: u64) -> Result<Vec<bool>, SimError> {
        self.refresh(epoch)?;
        let mut out = Vec::new();
        for li in 0..self.leagues.len() {
            let Some(league) = self.leagues.get(li).map(|x| x.id) else {
                continue;
            };
            let mut equivocations = Vec::new();
            let mut signed = Vec::new();
            for n in 0..self.nodes.len() as u32 {
                let Some(x) = self.node(n) else { continue };
                if x.left || x.banned || !self.net.is_online(n, t) || self.chain.stake(&x.id) == 0 {
                    continue;
                }
                let key = self.key_of(n, li, epoch);
                let Some(s) = self.summaries.get(&key) else {
                    continue;
                };
                let total = s.rewards.total().unwrap_or(0);
                let a = Attestation::sign(
                    &x.key,
                    league,
                    epoch,
                    s.outcomes_root,
                    s.rewards_root,
                    total,
                );
                if x.role == Role::Equivocator {
                    let b = Attestation::sign(
                        &x.key,
                        league,
                        epoch,
                        s.outcomes_root,
                        keccak256(&[b"other", &s.rewards_root.0]),
                        total,
                    );
                    equivocations.push((n, a.clone(), b));
                }
                signed.push(a);
            }
            for a in &signed {
                let _ = self.chain.attest(a);
            }
            // Anyone watching the chain turns a double attestation into evidence.
            for (n, a, b) in equivocations {
                let ev = Evidence::ConflictingAttestations {
                    first: a,
                    second: b,
                };
                let current = t / self.sc.timing.epoch_ms.max(1);
                let watcher = (0..self.nodes.len() as u32).find(|&w| {
                    self.node(w)
                        .is_some_and(|x| !x.left && x.role == Role::Honest)
                        && self.net.is_online(w, t)
                });
                if let Some(w) = watcher {
                    self.frauds.push(Fraud {
                        kind: "equivocation (attestation)",
                        culprit: n,
                        league: li,
                        epoch: current,
                    });
                    let id = Self::item_id(&ItemKind::Evidence(ev.clone()));
                    if !self.item_index.contains_key(&id) {
                        let index = self.items.len() as u32;
                        self.items.push(Item {
                            league: li,
                            epoch: current,
                            kind: ItemKind::Evidence(ev),
                            published: t,
                        });
                        self.item_index.insert(id, index);
                        self.epoch_items
                            .entry((li, current))
                            .or_default()
                            .push(index);
                        let spread = self.net.spread(
                            &[(w, t)],
                            true,
                            mix_all(&[self.seed, 0xE7, u64::from(index)]),
                        );
                        for u in spread.unreached {
                            if let Some(x) = self.nodes.get_mut(u as usize)
                                && !x.left
                            {
                                x.missing.insert(index);
                            }
                        }
                    }
                }
            }
            let fin = self.chain.finalised(league, epoch);
            out.push(fin.is_some());
            let Some(fin) = fin else { continue };
            // The finalised summary, from any node that holds it.
            let summary = (0..self.nodes.len() as u32)
                .map(|n| self.key_of(n, li, epoch))
                .filter_map(|k| self.summaries.get(&k))
                .find(|s| {
                    s.rewards_root == fin.rewards_root && s.outcomes_root == fin.outcomes_root
                })
                .cloned();
            let Some(summary) = summary else { continue };
            // Claims: one tree, a proof per player.
            let tree = summary.rewards.tree();
            for (index, (player, balance)) in summary.rewards.balances.iter().enumerate() {
                let Some(proof) = tree.proof(index) else {
                    continue;
                };
                if let Ok(paid) = self.chain.claim(league, *player, *balance, &proof)
                    && let Some(&n) = self.by_id.get(player)
                    && let Some(x) = self.nodes.get_mut(n as usize)
                {
                    x.capital = x.capital.saturating_add(paid);
                }
            }
            // Slashing, first the convictions the finalised table lists (match fraud, judged
            // by the ledger), each once, then the double attestations of the epoch.
            for (player, proof) in summary.rewards.conviction_proofs() {
                let Some(&n) = self.by_id.get(&player) else {
                    continue;
                };
                if self.node(n).is_none_or(|x| x.banned) {
                    continue;
                }
                if let Ok(amount) = self.chain.slash_convicted(league, player, &proof) {
                    self.ban(n, amount);
                }
            }
            let ids: Vec<u32> = self
                .epoch_items
                .get(&(li, epoch))
                .cloned()
                .unwrap_or_default();
            for i in ids {
                if let Some(Item {
                    kind: ItemKind::Evidence(ev),
                    ..
                }) = self.items.get(i as usize)
                    && let Ok((culprit, amount)) = self.chain.slash(ev)
                    && let Some(&n) = self.by_id.get(&culprit)
                {
                    self.ban(n, amount);
                }
            }
            for (p, st) in &summary.standings {
                if let Some(&n) = self.by_id.get(p)
                    && let Some(x) = self.nodes.get_mut(n as usize)
                {
                    x.forfeits += u64::from(st.forfeits);
                    if st.fraud {
                        x.convicted = true;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Rich tuned agents fund mutated copies of themselves.
    fn evolve(&mut self, e: u64, t: u64) -> u64 {
        let ev = self.sc.evolution.clone();
        if !ev.enabled {
            return 0;
        }
        let present = self.nodes.iter().filter(|x| !x.left).count() as u64;
        let mut room = u64::from(ev.max_population).saturating_sub(present);
        let mut parents: Vec<(u128, u32)> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.left && !x.banned && x.role == Role::Honest)
            .filter(|(_, x)| x.capital >= u128_of(ev.spawn_threshold) && x.spec.genome().is_some())
            .map(|(i, x)| (x.capital, i as u32))
            .collect();
        parents.sort_by(|a, b| b.cmp(a));
        let mut spawned = 0;
        for (_, p) in parents {
            if room == 0 {
                break;
            }
            let Some((genome, group, generation)) = self
                .node(p)
                .and_then(|x| Some((x.spec.genome()?, x.group, x.generation)))
            else {
                continue;
            };
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&mix_all(&[self.seed, 0xE0, u64::from(p), e]).to_le_bytes());
            let mut rng = GameRng::from_seed(seed);
            let child = AgentSpec::Tuned(genome.mutate(&mut rng, ev.mutation_percent));
            let cost = u128_of(ev.spawn_cost);
            if let Some(x) = self.nodes.get_mut(p as usize) {
                x.capital -= cost;
                x.spawned += 1;
                x.initial_wealth = x.initial_wealth.saturating_sub(cost);
            }
            let c = self.add_node(t, group, child, false, Some(cost));
            if let Some(x) = self.nodes.get_mut(c as usize) {
                x.generation = generation + 1;
            }
            room -= 1;
            spawned += 1;
        }
        spawned
    }

    fn close(&mut self, e: u64, m: &mut EpochMetrics) -> Result<(), SimError> {
        self.refresh(e)?;
        for li in 0..self.leagues.len() {
            let (key, distinct) = self.consensus(li, e).unwrap_or((Hash32::ZERO, 0));
            m.distinct_views.push(distinct);
            let summary = self.summaries.get(&key).cloned();
            m.forfeits += summary.as_ref().map_or(0, |s| {
                s.standings.values().map(|x| u64::from(x.forfeits)).sum()
            });
            m.kendall_tau
                .push(summary.and_then(|s| self.tau(li, e, &s.ratings)));
        }
        let mut capital: Vec<u128> = self
            .nodes
            .iter()
            .filter(|x| !x.left)
            .map(|x| x.capital)
            .collect();
        capital.sort_unstable();
        m.capital_quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
            .iter()
            .filter_map(|q| quantile(&capital, *q))
            .collect();
        m.strength_vs_reference = self.strength();
        Ok(())
    }

    /// Kendall tau-b of ratings against true skill over honest founders entered in `li`.
    fn tau(&self, li: usize, e: u64, ratings: &Ratings) -> Option<f64> {
        let league = self.leagues.get(li)?.id;
        let entries = self.chain.entries(league, e);
        let pairs: Vec<(f64, f64)> = entries
            .keys()
            .filter_map(|id| {
                let x = self.node(*self.by_id.get(id)?)?;
                if x.role != Role::Honest {
                    return None;
                }
                let skill = self.skills.get(&x.spec)?;
                Some((*skill, ratings.get(id)?.rating))
            })
            .collect();
        kendall_tau_b(&pairs)
    }

    /// Mean score against the fixed reference agent of up to 64 present honest nodes.
    fn strength(&self) -> f64 {
        let honest: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|x| !x.left && x.role == Role::Honest && x.entered.is_some())
            .collect();
        if honest.is_empty() {
            return 0.0;
        }
        let step = honest.len().div_ceil(64).max(1);
        let sample: Vec<AgentSpec> = honest.iter().step_by(step).map(|x| x.spec).collect();
        let params = self
            .sc
            .leagues
            .first()
            .map(|l| SnakeParams {
                max_turns: l.max_turns,
                ..SnakeParams::duel(l.board)
            })
            .unwrap_or_default();
        let scores: Vec<f64> = sample
            .par_iter()
            .map(|s| score_share(s, &self.sc.reference, &params, 0x57, 16))
            .collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        (mean * 10_000.0).round() / 10_000.0
    }

    fn finish(mut self) -> Result<Report, SimError> {
        let last = u64::from(self.sc.epochs).saturating_sub(1);
        // Views and roots.
        for li in 0..self.leagues.len() {
            let mut views = Vec::new();
            let mut roots = Vec::new();
            for e in 0..=last {
                let (key, distinct) = self.consensus(li, e).unwrap_or((Hash32::ZERO, 0));
                views.push(distinct);
                roots.push(
                    self.summaries
                        .get(&key)
                        .map(|s| hex::encode(s.outcomes_root.0))
                        .unwrap_or_default(),
                );
            }
            self.report.final_views.push(views);
            self.report.final_roots.push(roots);
            let league = self.leagues.get(li).map(|x| x.id).unwrap_or_default();
            self.report
                .finalised_epochs
                .push(self.chain.latest(league).map_or(0, |(e, _)| e + 1));
        }
        // Unclaimed rewards count toward wealth.
        let mut unclaimed: BTreeMap<u32, u128> = BTreeMap::new();
        for li in 0..self.leagues.len() {
            let (key, _) = self.consensus(li, last).unwrap_or((Hash32::ZERO, 0));
            let league = self.leagues.get(li).map(|x| x.id).unwrap_or_default();
            if let Some(s) = self.summaries.get(&key) {
                for (p, b) in &s.rewards.balances {
                    if let Some(&n) = self.by_id.get(p) {
                        let due = b.saturating_sub(self.chain.claimed(league, p));
                        *unclaimed.entry(n).or_insert(0) += due;
                    }
                }
            }
        }
        let wealth = |sim: &Self, n: u32| -> u128 {
            let Some(x) = sim.node(n) else { return 0 };
            x.capital + sim.chain.stake(&x.id) + unclaimed.get(&n).copied().unwrap_or(0)
        };
        let profit = |sim: &Self, n: u32| -> i128 {
            let w = wealth(sim, n) as i128;
            w - sim.node(n).map_or(0, |x| x.initial_wealth as i128)
        };
        // Money: everything paid in is held by nodes, in escrow, or burned.
        let held: u128 = (0..self.nodes.len() as u32)
            .map(|n| {
                self.node(n)
                    .map_or(0, |x| x.capital + self.chain.stake(&x.id))
            })
            .sum();
        self.report.escrow_left = self.chain.escrow();
        self.report.money_conserved =
            held + self.chain.escrow() + self.chain.burned() == self.total_in;
        if let Err(e) = self.chain.audit() {
            self.report.money_conserved = false;
            self.report.audit = e;
        }
        if let Some((transactions, gas)) = self.chain.usage() {
            self.report.chain_transactions = transactions;
            self.report.chain_gas = gas;
        }
        self.report.settlement_notes = self.chain.notes();
        // Rankings.
        for li in 0..self.leagues.len() {
            let (key, _) = self.consensus(li, last).unwrap_or((Hash32::ZERO, 0));
            let Some(s) = self.summaries.get(&key).cloned() else {
                continue;
            };
            let league = self.leagues.get(li).map(|x| x.id).unwrap_or_default();
            let entered = self.chain.entries(league, last);
            let board: Vec<_> = leaderboard(&s.ratings)
                .into_iter()
                .filter(|(p, _)| entered.contains_key(p))
                .collect();
            for (rank, (p, r)) in board.into_iter().enumerate() {
                let Some(&n) = self.by_id.get(&p) else {
                    continue;
                };
                let Some(x) = self.node(n) else { continue };
                let c = r.canonical();
                self.report.rankings.push(RankRow {
                    league: li,
                    rank: rank + 1,
                    node: n,
                    player: hex::encode(p.0),
                    role: x.role.name(),
                    agent: x.spec.label(),
                    true_skill: self.skills.get(&x.spec).map(|v| (v * 10.0).round() / 10.0),
                    rating: c.rating_milli / 1000,
                    deviation: c.deviation_milli / 1000,
                    games: r.games,
                    wins: r.wins,
                    draws: r.draws,
                    losses: r.losses,
                    capital: x.capital,
                    profit: profit(&self, n),
                });
            }
        }
        // Roles against honest founders of the same agent.
        let mut groups: BTreeMap<(Role, AgentSpec), Vec<u32>> = BTreeMap::new();
        for (i, x) in self.nodes.iter().enumerate() {
            if x.founder {
                groups.entry((x.role, x.spec)).or_default().push(i as u32);
            }
        }
        let mean = |sim: &Self, v: &[u32]| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            v.iter().map(|&n| profit(sim, n) as f64).sum::<f64>() / v.len() as f64
        };
        let se = |sim: &Self, v: &[u32]| -> f64 {
            if v.len() < 2 {
                return 0.0;
            }
            let m = mean(sim, v);
            let var = v
                .iter()
                .map(|&n| (profit(sim, n) as f64 - m).powi(2))
                .sum::<f64>()
                / (v.len() - 1) as f64;
            (var / v.len() as f64).sqrt().round()
        };
        for ((role, spec), members) in &groups {
            let control = groups
                .get(&(Role::Honest, *spec))
                .cloned()
                .unwrap_or_default();
            let xs: Vec<&Node> = members.iter().filter_map(|&n| self.node(n)).collect();
            self.report.roles.push(RoleOutcome {
                role: role.name(),
                agent: spec.label(),
                nodes: members.len() as u64,
                mean_profit: mean(&self, members).round(),
                profit_se: se(&self, members),
                honest_same_agent_profit: mean(&self, &control).round(),
                honest_same_agent_profit_se: se(&self, &control),
                convicted: xs.iter().filter(|x| x.convicted).count() as u64,
                slashed: xs.iter().map(|x| x.slashed).sum(),
                forfeits: xs.iter().map(|x| x.forfeits).sum(),
                still_active: xs
                    .iter()
                    .filter(|x| !x.left && !x.banned && x.entered.is_some())
                    .count() as u64,
                matches: xs.iter().map(|x| x.matches).sum(),
            });
        }
        // Frauds: convicted in the consensus ledger of their epoch?
        for f in &self.frauds {
            *self.report.fraud.attempts.entry(f.kind.into()).or_insert(0) += 1;
            let (key, _) = self
                .consensus(f.league, f.epoch)
                .unwrap_or((Hash32::ZERO, 0));
            let culprit = self.node(f.culprit).map(|x| x.id);
            let caught = self
                .summaries
                .get(&key)
                .zip(culprit)
                .is_some_and(|(s, c)| s.standings.get(&c).is_some_and(|st| st.fraud));
            if caught {
                *self.report.fraud.detected.entry(f.kind.into()).or_insert(0) += 1;
            }
        }
        let g = &mut self.report.gossip;
        g.mesh_degree = self.sc.network.mesh_degree;
        g.amplification = if g.record_deliveries == 0 {
            0.0
        } else {
            ((g.record_transmissions as f64 / g.record_deliveries as f64) * 1000.0).round() / 1000.0
        };
        g.delay_p50_ms = self.delays.quantile(0.5).unwrap_or(0);
        g.delay_p99_ms = self.delays.quantile(0.99).unwrap_or(0);
        g.delay_max_ms = self.delays.quantile(1.0).unwrap_or(0);
        g.delay_cdf = self.delays.cdf(200);
        self.report.total_nodes = self.nodes.len() as u64;
        Ok(self.report)
    }
}
