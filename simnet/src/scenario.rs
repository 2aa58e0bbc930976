//! Scenario files: what a run simulates. TOML, read with serde; every table refuses unknown
//! fields, so a misspelt key is an error that names it rather than a silently ignored line.
//! After parsing, [`Scenario::validate`] checks the values and names the offending field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::agent::AgentSpec;

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not match the format (the message names the field and the line).
    #[error("{0}")]
    Parse(String),
    /// A value is out of range.
    #[error("invalid value for `{field}`: {reason}")]
    Invalid {
        /// The field, as a path (`population[2].count`).
        field: String,
        /// Why.
        reason: String,
    },
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports.
    pub name: String,
    /// The seed of everything random in the run (keys, network, churn, mutation).
    pub seed: u64,
    /// Epochs to simulate.
    pub epochs: u32,
    /// The leagues (a game and a tier each). Nodes enter the highest tier they can afford.
    pub leagues: Vec<LeagueConfig>,
    /// Epoch timing.
    #[serde(default)]
    pub timing: Timing,
    /// Fees, stakes and starting capital.
    #[serde(default)]
    pub economics: Economics,
    /// The network model.
    #[serde(default)]
    pub network: NetworkConfig,
    /// The population: groups of nodes with an agent and a role.
    pub population: Vec<Group>,
    /// Evolution of the population (off unless given).
    #[serde(default)]
    pub evolution: Evolution,
    /// How matches are simulated.
    #[serde(default)]
    pub protocol: ProtocolMode,
    /// The fixed agent population strength is measured against (default: greedy).
    #[serde(default = "default_reference")]
    pub reference: AgentSpec,
    /// What settles the epochs (default: the contract on the embedded chain).
    #[serde(default)]
    pub settlement: SettlementBackend,
}

fn default_reference() -> AgentSpec {
    AgentSpec::Greedy
}

/// A league: Snake duel parameters and a tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeagueConfig {
    /// Board side (square board).
    #[serde(default = "default_board")]
    pub board: u8,
    /// Turn limit of a game (a draw if both snakes live).
    #[serde(default = "default_max_turns")]
    pub max_turns: u32,
    /// Tier: fee `base_fee * tier_factor^tier`.
    #[serde(default)]
    pub tier: u8,
    /// Pairing rounds per epoch.
    #[serde(default = "default_rounds")]
    pub rounds_per_epoch: u32,
    /// Players per rating band in the draw.
    #[serde(default = "default_band")]
    pub band: usize,
}

fn default_board() -> u8 {
    11
}
fn default_max_turns() -> u32 {
    300
}
fn default_rounds() -> u32 {
    10
}
fn default_band() -> usize {
    8
}

/// Epoch timing, in virtual milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// Epoch length.
    pub epoch_ms: u64,
    /// Time after an epoch's close at which staked nodes attest its roots (items that arrive
    /// before then, e.g. after a partition heals, still count).
    pub attest_delay_ms: u64,
    /// Match protocol step timeout (silence before a timeout claim).
    pub step_timeout_ms: u64,
    /// Time a claimed-against player has to answer.
    pub answer_timeout_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            epoch_ms: 3_600_000,
            attest_delay_ms: 900_000,
            step_timeout_ms: 10_000,
            answer_timeout_ms: 10_000,
        }
    }
}

/// Money, in base units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Economics {
    /// Entry fee of tier 0.
    pub base_fee: u64,
    /// Fee factor per tier.
    pub tier_factor: u64,
    /// Capital of a new node (pays entries).
    pub initial_capital: u64,
    /// Stake each node deposits at join (slashed on proven fraud).
    pub stake: u64,
    /// A node enters a tier only if it holds this many of that tier's fees.
    pub reserve_fees: u64,
}

impl Default for Economics {
    fn default() -> Self {
        Self {
            base_fee: 1_000_000,
            tier_factor: 4,
            initial_capital: 10_000_000,
            stake: 5_000_000,
            reserve_fees: 1,
        }
    }
}

/// The modelled network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Gossip mesh degree (gossipsub's D).
    pub mesh_degree: usize,
    /// Least base latency of a link (each link draws its own base once).
    pub latency_min_ms: u64,
    /// Greatest base latency of a link.
    pub latency_max_ms: u64,
    /// Extra per-message delay on a link, uniform in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Probability that one transmission is lost.
    pub loss: f64,
    /// Gossip heartbeat: lost messages are repaired by IHAVE/IWANT at the next one.
    pub heartbeat_ms: u64,
    /// Time a node needs to verify a record before forwarding it.
    pub validate_ms: u64,
    /// Invalid messages from one peer before a node prunes it from its mesh.
    pub graylist_after: u32,
    /// Scheduled partitions.
    pub partitions: Vec<Partition>,
    /// Nodes leaving, crashing and joining.
    pub churn: Churn,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            mesh_degree: 6,
            latency_min_ms: 10,
            latency_max_ms: 150,
            jitter_ms: 20,
            loss: 0.01,
            heartbeat_ms: 1000,
            validate_ms: 1,
            graylist_after: 5,
            partitions: Vec::new(),
            churn: Churn::default(),
        }
    }
}

/// A network split into two sides that heals after a while.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Start, virtual ms from genesis.
    pub start_ms: u64,
    /// Duration.
    pub duration_ms: u64,
    /// Share of nodes on the minority side (0 < fraction < 1).
    pub fraction: f64,
}

/// Churn, per epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Churn {
    /// Share of active nodes that leave for good at an epoch boundary.
    pub leave: f64,
    /// Share of active nodes that crash at a random time within the epoch.
    pub crash: f64,
    /// How long a crashed node stays away.
    pub crash_ms: u64,
    /// New honest nodes joining at each epoch boundary (drawn from the population groups).
    pub join: u32,
}

impl Default for Churn {
    fn default() -> Self {
        Self {
            leave: 0.0,
            crash: 0.0,
            crash_ms: 600_000,
            join: 0,
        }
    }
}

/// What a group of nodes does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Plays by the rules.
    Honest,
    /// Withholds its result signature when it loses (goes silent).
    Aborter,
    /// Publishes a record with the result flipped after each loss.
    Forger,
    /// Signs two different messages for one protocol step, and two attestations per epoch.
    Equivocator,
    /// A colluding ring: when two members meet, the weaker-capitalised one throws the game.
    Ring,
    /// Many identities of one operator, throwing games to each other when they meet.
    Sybil,
    /// Floods the gossip mesh with invalid records.
    Spammer,
}

impl Role {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Role::Honest => "honest",
            Role::Aborter => "aborter",
            Role::Forger => "forger",
            Role::Equivocator => "equivocator",
            Role::Ring => "ring",
            Role::Sybil => "sybil",
            Role::Spammer => "spammer",
        }
    }
}

/// A group of nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// How many nodes.
    pub count: u32,
    /// The agent they run.
    pub agent: AgentSpec,
    /// Their behaviour.
    #[serde(default = "default_role")]
    pub role: Role,
    /// Spammers: invalid records published per epoch.
    #[serde(default)]
    pub spam_per_epoch: u32,
}

fn default_role() -> Role {
    Role::Honest
}

/// Selection instead of training: rich agents fund mutated copies of themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Evolution {
    /// Whether variants are spawned.
    pub enabled: bool,
    /// A node holding at least this much capital spawns one variant per epoch.
    pub spawn_threshold: u64,
    /// Capital the parent hands to the variant (its starting capital and stake).
    pub spawn_cost: u64,
    /// Mutation step, per cent of each parameter's range.
    pub mutation_percent: u32,
    /// Upper bound on the number of active nodes.
    pub max_population: u32,
}

impl Default for Evolution {
    fn default() -> Self {
        Self {
            enabled: false,
            spawn_threshold: 30_000_000,
            spawn_cost: 15_000_000,
            mutation_percent: 5,
            max_population: 1200,
        }
    }
}

/// Match fidelity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolMode {
    /// Honest matches are played locally and produce the record both players sign; only
    /// matches where someone deviates or is absent run the signed message exchange.
    #[default]
    Fast,
    /// Every match runs the full signed message exchange over the modelled link.
    Full,
}

/// What settles the simulated epochs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettlementBackend {
    /// The `NetsSettlement` contract on the embedded chain (revm), one deployment per league.
    #[default]
    Contract,
    /// An in-memory model of the contract: the same rules without an EVM, and no limit on
    /// the size of an aggregate attestation.
    Model,
}

impl Scenario {
    /// Parses TOML and validates it.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ScenarioError::Parse(m) => ScenarioError::Parse(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The scenario shipped as `scenarios/default.toml`.
    pub fn default_scenario() -> Self {
        // The shipped file is part of the crate and checked by a test.
        Self::from_toml(include_str!("../scenarios/default.toml")).unwrap_or_else(|_| Self {
            name: "fallback".into(),
            seed: 1,
            epochs: 1,
            leagues: Vec::new(),
            timing: Timing::default(),
            economics: Economics::default(),
            network: NetworkConfig::default(),
            population: Vec::new(),
            evolution: Evolution::default(),
            protocol: ProtocolMode::Fast,
            reference: AgentSpec::Greedy,
            settlement: SettlementBackend::Contract,
        })
    }

    /// Total nodes at genesis.
    pub fn initial_nodes(&self) -> u64 {
        self.population.iter().map(|g| u64::from(g.count)).sum()
    }

    /// Scales every group's count so that the population totals about `nodes` (each group
    /// keeps at least one node if it had any).
    pub fn scale_population(&mut self, nodes: u64) {
        let total = self.initial_nodes().max(1);
        for g in &mut self.population {
            let scaled = u64::from(g.count).saturating_mul(nodes) / total;
            g.count = u32::try_from(scaled.max(u64::from(g.count.min(1)))).unwrap_or(u32::MAX);
        }
    }

    /// Checks value ranges; names the first offending field.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |field: &str, reason: &str| {
            Err(ScenarioError::Invalid {
                field: field.to_string(),
                reason: reason.to_string(),
            })
        };
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.leagues.is_empty() {
            return bad("leagues", "at least one league is needed");
        }
        for (i, l) in self.leagues.iter().enumerate() {
            if !(5..=25).contains(&l.board) {
                return bad(&format!("leagues[{i}].board"), "must be 5..=25");
            }
            if l.max_turns == 0 || l.max_turns > 5000 {
                return bad(&format!("leagues[{i}].max_turns"), "must be 1..=5000");
            }
            if l.rounds_per_epoch == 0 || l.rounds_per_epoch > 1000 {
                return bad(
                    &format!("leagues[{i}].rounds_per_epoch"),
                    "must be 1..=1000",
                );
            }
            if l.band < 2 {
                return bad(&format!("leagues[{i}].band"), "must be at least 2");
            }
            if self.leagues[..i].iter().any(|o| o == l) {
                return bad(&format!("leagues[{i}]"), "duplicates an earlier league");
            }
        }
        let t = &self.timing;
        if t.epoch_ms < 60_000 {
            return bad("timing.epoch_ms", "must be at least 60000");
        }
        if t.attest_delay_ms >= t.epoch_ms {
            return bad("timing.attest_delay_ms", "must be shorter than an epoch");
        }
        if t.step_timeout_ms == 0 {
            return bad("timing.step_timeout_ms", "must be positive");
        }
        let e = &self.economics;
        if e.base_fee == 0 {
            return bad("economics.base_fee", "must be positive");
        }
        if e.tier_factor == 0 {
            return bad("economics.tier_factor", "must be positive");
        }
        let n = &self.network;
        if n.mesh_degree == 0 || n.mesh_degree > 64 {
            return bad("network.mesh_degree", "must be 1..=64");
        }
        if n.latency_min_ms > n.latency_max_ms {
            return bad("network.latency_min_ms", "must not exceed latency_max_ms");
        }
        if !(0.0..1.0).contains(&n.loss) {
            return bad("network.loss", "must be in [0, 1)");
        }
        if n.heartbeat_ms == 0 {
            return bad("network.heartbeat_ms", "must be positive");
        }
        for (i, p) in n.partitions.iter().enumerate() {
            if !(p.fraction > 0.0 && p.fraction < 1.0) {
                return bad(
                    &format!("network.partitions[{i}].fraction"),
                    "must be strictly between 0 and 1",
                );
            }
            if p.duration_ms == 0 {
                return bad(
                    &format!("network.partitions[{i}].duration_ms"),
                    "must be positive",
                );
            }
        }
        let c = &n.churn;
        for (name, v) in [("leave", c.leave), ("crash", c.crash)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(&format!("network.churn.{name}"), "must be in [0, 1]");
            }
        }
        if self.population.is_empty() {
            return bad("population", "at least one group is needed");
        }
        let mut total = 0u64;
        for (i, g) in self.population.iter().enumerate() {
            if g.count == 0 {
                return bad(&format!("population[{i}].count"), "must be at least 1");
            }
            if let AgentSpec::Tuned(genome) = g.agent
                && genome != genome.clamped()
            {
                return bad(
                    &format!("population[{i}].agent"),
                    "a parameter is out of range (skill 0..=1000, space and food 0..=100, \
                     hunger 0..=100, aggression -100..=100, caution 0..=1000)",
                );
            }
            if g.spam_per_epoch > 0 && g.role != Role::Spammer {
                return bad(
                    &format!("population[{i}].spam_per_epoch"),
                    "only spammers spam",
                );
            }
            total = total.saturating_add(u64::from(g.count));
        }
        if total > 100_000 {
            return bad("population", "at most 100000 nodes");
        }
        if !self.population.iter().any(|g| g.role == Role::Honest) {
            return bad("population", "at least one honest group is needed");
        }
        let ev = &self.evolution;
        if ev.enabled && ev.spawn_cost > ev.spawn_threshold {
            return bad(
                "evolution.spawn_cost",
                "must not exceed spawn_threshold (a parent must afford its child)",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
        assert!(seen >= 3);
        assert_eq!(Scenario::default_scenario().name, "default");
    }
}
