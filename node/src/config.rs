//! The daemon's configuration: a TOML file (written commented by `netsd init`) with defaults
//! for everything, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::Path;

use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_tournament::league::League;
use serde::{Deserialize, Serialize};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or a field is wrong (the message names it).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// toml's message, with the field and line.
        message: String,
    },
    /// Values that parse but make no sense together.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Networking.
    pub network: NetworkConfig,
    /// Epochs and rounds: every node of a network must use the same values.
    pub schedule: Schedule,
    /// What this node plays.
    pub play: PlayConfig,
    /// The HTTP API.
    pub api: ApiConfig,
    /// The settlement chain.
    pub settlement: SettlementConfig,
}

/// Networking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Multiaddrs of peers to join through (with `/p2p/<peer id>`).
    pub bootstrap: Vec<String>,
    /// Peers to keep connected; above this the node prunes the least needed.
    pub target_peers: usize,
    /// Hard limit on established connections.
    pub max_connections: u32,
    /// Peers per Kademlia bucket.
    pub kbucket_size: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                "/ip4/0.0.0.0/tcp/4100".into(),
                "/ip4/0.0.0.0/udp/4100/quic-v1".into(),
            ],
            bootstrap: Vec::new(),
            target_peers: 32,
            max_connections: 128,
            kbucket_size: 20,
        }
    }
}

pub use nets_tournament::node::Schedule;

/// A league this node enters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeagueConfig {
    /// The game: only "snake" so far.
    pub game: GameKind,
    /// Board side (5..=25).
    pub size: u8,
    /// Tier (0 = entry level).
    pub tier: u8,
}

/// Games a league can be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GameKind {
    /// A Snake duel.
    Snake,
}

impl LeagueConfig {
    /// The league.
    pub fn league(&self) -> Result<League, ConfigError> {
        let params = SnakeParams::duel(self.size);
        params
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("league size {}: {e}", self.size)))?;
        Ok(League {
            env: EnvSpec::Snake(params),
            tier: self.tier,
        })
    }
}

/// What this node plays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayConfig {
    /// Leagues to enter.
    pub leagues: Vec<LeagueConfig>,
    /// The agent (see `netsd play --help` for the forms).
    pub agent: String,
    /// Matches played at once.
    pub max_matches: usize,
    /// Whether the node enters its leagues and plays. A node that does not still follows
    /// them: it relays and checks their items, ranks, and attests if it settles.
    pub enter: bool,
}

impl Default for PlayConfig {
    fn default() -> Self {
        Self {
            leagues: vec![LeagueConfig {
                game: GameKind::Snake,
                size: 11,
                tier: 0,
            }],
            agent: "greedy".into(),
            max_matches: 4,
            enter: true,
        }
    }
}

/// The HTTP API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to serve on; empty to serve nothing.
    pub listen: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7100".into(),
        }
    }
}

/// Where epochs are settled (`docs/settlement.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettlementConfig {
    /// `"embedded"` (an EVM in the data dir, running the real contract), `"none"`, or the
    /// URL of a JSON-RPC endpoint (`http://...`).
    pub chain: String,
    /// The chain id: attestations are signed for it; an endpoint must serve it.
    pub chain_id: u64,
    /// The contract's address. Empty: on an embedded chain, the one deployed there (this
    /// node deploys one on first start); an RPC chain needs it.
    pub contract: String,
    /// A file with the account's secp256k1 key (64 hex digits). Empty: the account derived
    /// from the node's key.
    pub account_key: String,
    /// Stake the node keeps bonded, e.g. `"1 ether"`, `"500 gwei"`, `"1000"` (wei).
    pub stake: String,
    /// Top the account up with the chain's faucet first (development chains: embedded, anvil).
    pub faucet: bool,
    /// Challenge window, in seconds, of a contract this node deploys.
    pub challenge_window_s: u64,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        Self {
            chain: "embedded".into(),
            chain_id: 31337,
            contract: String::new(),
            account_key: String::new(),
            stake: "1 ether".into(),
            faucet: true,
            challenge_window_s: 30,
        }
    }
}

/// Which chain [`SettlementConfig::chain`] names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainChoice {
    /// No settlement.
    None,
    /// The embedded chain in the data dir.
    Embedded,
    /// A JSON-RPC endpoint.
    Rpc(String),
}

impl SettlementConfig {
    /// The chain named.
    pub fn choice(&self) -> Result<ChainChoice, ConfigError> {
        match self.chain.as_str() {
            "none" | "" => Ok(ChainChoice::None),
            "embedded" => Ok(ChainChoice::Embedded),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(ChainChoice::Rpc(url.to_string()))
            }
            other => Err(ConfigError::Invalid(format!(
                "settlement.chain {other:?}: expected \"embedded\", \"none\" or an http:// URL"
            ))),
        }
    }

    /// The stake, in wei.
    pub fn stake_wei(&self) -> Result<u128, ConfigError> {
        parse_wei(&self.stake)
            .map_err(|e| ConfigError::Invalid(format!("settlement.stake {:?}: {e}", self.stake)))
    }

    fn check(&self) -> Result<(), ConfigError> {
        let choice = self.choice()?;
        self.stake_wei()?;
        if matches!(choice, ChainChoice::Rpc(_)) && self.contract.is_empty() {
            return Err(ConfigError::Invalid(
                "settlement.contract: an RPC chain needs the contract's address".into(),
            ));
        }
        if !self.contract.is_empty() {
            let digits = self.contract.strip_prefix("0x").unwrap_or(&self.contract);
            if digits.len() != 40 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(ConfigError::Invalid(format!(
                    "settlement.contract {:?}: not an address (0x and 40 hex digits)",
                    self.contract
                )));
            }
        }
        Ok(())
    }
}

/// Parses an amount of ether: a whole number of wei, or a decimal number followed by a unit
/// (`wei`, `gwei`, `ether`).
pub fn parse_wei(text: &str) -> Result<u128, String> {
    let text = text.trim();
    let (number, unit) = match text.split_once(char::is_whitespace) {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (text, "wei"),
    };
    let decimals: u32 = match unit {
        "wei" => 0,
        "gwei" => 9,
        "ether" | "eth" => 18,
        other => return Err(format!("unknown unit {other:?} (wei, gwei, ether)")),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits_ok(whole) || !digits_ok(fraction) {
        return Err("not a number".into());
    }
    if fraction.len() > decimals as usize {
        return Err(format!("more than {decimals} decimals for {unit}"));
    }
    let padded = format!(
        "{whole}{fraction}{}",
        "0".repeat((decimals as usize).saturating_sub(fraction.len()))
    );
    padded.parse::<u128>().map_err(|_| "too large".to_string())
}

impl ApiConfig {
    /// The address, if the API is on.
    pub fn addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.listen.is_empty() {
            return Ok(None);
        }
        self.listen
            .parse()
            .map(Some)
            .map_err(|e| ConfigError::Invalid(format!("api.listen {:?}: {e}", self.listen)))
    }
}

impl Config {
    /// Parses TOML text; `path` names the source in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Reads a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Checks values that must agree.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.schedule
            .check()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        for l in &self.play.leagues {
            l.league()?;
        }
        if self.play.max_matches == 0 {
            return Err(ConfigError::Invalid(
                "play.max_matches must be at least 1".into(),
            ));
        }
        self.api.addr()?;
        self.settlement.check()?;
        Ok(())
    }

    /// The leagues entered.
    pub fn leagues(&self) -> Result<Vec<League>, ConfigError> {
        self.play.leagues.iter().map(LeagueConfig::league).collect()
    }
}

/// The commented configuration `netsd init` writes: every field at its default.
pub const DEFAULT_TOML: &str = r#"# netsd configuration. Every field is optional; these are the defaults.
# Command-line flags of `netsd run` override the values here.

[network]
# Multiaddrs to listen on (TCP and QUIC).
listen = ["/ip4/0.0.0.0/tcp/4100", "/ip4/0.0.0.0/udp/4100/quic-v1"]
# Peers to join through, e.g. "/ip4/203.0.113.7/tcp/4100/p2p/12D3KooW...".
bootstrap = []
# Peers to keep connected; above this the node closes the connections it needs least.
target_peers = 32
# Hard limit on established connections.
max_connections = 128
# Peers per Kademlia bucket.
kbucket_size = 20

[schedule]
# Every node of a network must use the same schedule. Times in milliseconds.
genesis_ms = 1767225600000    # start of epoch 0 (Unix time)
epoch_ms = 600000             # length of an epoch
round_ms = 60000              # a round of pairings starts this often
warmup_ms = 10000             # first round this long after the epoch opens
last_round_ms = 60000         # no round starts later than this before the close
grace_ms = 20000              # an epoch counts as closed this long after its end
step_timeout_ms = 5000        # silence in a match before a timeout claim
answer_timeout_ms = 5000      # time to answer a claim before it is a forfeit

[play]
# Leagues to enter: a Snake duel on a size x size board, at a tier.
leagues = [{ game = "snake", size = 11, tier = 0 }]
# The agent: random, greedy, search, onnx:PATH, exec:COMMAND or battlesnake:URL.
agent = "greedy"
# Matches played at once.
max_matches = 4
# Enter the leagues and play; false follows them only (relays, checks, ranks, attests).
enter = true

[api]
# HTTP API (status, peers, rankings, outcomes, /metrics); "" turns it off.
listen = "127.0.0.1:7100"

[settlement]
# "embedded" (an EVM in the data dir running the real contract), "none", or the URL of a
# JSON-RPC endpoint such as "http://127.0.0.1:8545".
chain = "embedded"
# Attestations are signed for this chain id; an endpoint must serve it.
chain_id = 31337
# The contract's address; "" on an embedded chain: the one deployed there (made on first start).
contract = ""
# A file with the account's key (64 hex digits); "": derived from the node's key.
account_key = ""
# Stake kept bonded ("1 ether", "500 gwei" or wei).
stake = "1 ether"
# Top the account up from the chain's faucet (development chains only: embedded, anvil).
faucet = true
# Challenge window, in seconds, of a contract this node deploys.
challenge_window_s = 30
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_to_the_defaults() {
        assert_eq!(
            Config::parse(DEFAULT_TOML, "default").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = Config::parse("[network]\nlisten = 5\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");
        let e = Config::parse("[play]\nagnet = \"greedy\"\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("agnet"), "{e}");
        let e = Config::parse("[schedule]\nepoch_ms = 0\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("epoch_ms"), "{e}");
        let e = Config::parse(
            "[play]\nleagues = [{ game = \"snake\", size = 99, tier = 0 }]\n",
            "x.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("99"), "{e}");
        let e = Config::parse("[settlement]\nchain = \"ftp://x\"\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("settlement.chain"), "{e}");
        let e = Config::parse("[settlement]\nstake = \"1 bitcoin\"\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("settlement.stake"), "{e}");
        let e = Config::parse(
            "[settlement]\nchain = \"http://127.0.0.1:8545\"\n",
            "x.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("settlement.contract"), "{e}");
    }

    #[test]
    fn amounts_parse_with_units() {
        assert_eq!(parse_wei("1 ether"), Ok(10u128.pow(18)));
        assert_eq!(parse_wei("0.5 ether"), Ok(5 * 10u128.pow(17)));
        assert_eq!(parse_wei("12 gwei"), Ok(12_000_000_000));
        assert_eq!(parse_wei("1000"), Ok(1000));
        assert!(parse_wei("1.5 wei").is_err());
        assert!(parse_wei("-1 ether").is_err());
        assert!(parse_wei("ether").is_err());
        assert!(parse_wei("1e3").is_err());
        assert!(parse_wei("999999999999999999999999999999999999999 ether").is_err());
    }
}
