//! Running a node: opening its data dir, binding the API, starting the loop. Shared by
//! `netsd run` and `netsd devnet`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::agents::AgentSpec;
use crate::agents::players::PlayerFactory;
use crate::api::{ApiState, router};
use crate::config::ChainChoice;
use crate::config::Config;
use crate::daemon::deviation::Deviation;
use crate::daemon::{self, NodeHandle, NodeParts};
use crate::keyfile;
use crate::metrics::Metrics;
use crate::settlement::chain::{SettleOptions, SharedChain};
use crate::settlement::settler::{self, ChainSource, SettleEvent, SettlerConfig};
use crate::store::Store;
use nets_settlement::alloy::primitives::Address;
use nets_settlement::{AccountKey, Parameters, RpcConfig};
use nets_tournament::economics::FeeSchedule;
use nets_tournament::identity::{Keypair, PlayerId};
use tokio::sync::mpsc;

/// The key file in a data dir.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("node.key")
}

/// The config file in a data dir.
pub fn config_path(data_dir: &Path) -> PathBuf {
    data_dir.join("netsd.toml")
}

/// The store in a data dir.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("store")
}

/// The file a running node writes its addresses to.
pub fn info_path(data_dir: &Path) -> PathBuf {
    data_dir.join("node.json")
}

/// What a running node tells other programs about itself (`node.json` in its data dir).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct NodeInfo {
    /// Peer id.
    pub peer_id: String,
    /// Listen multiaddrs, with `/p2p/<peer id>`.
    pub listen: Vec<String>,
    /// The API's address, if serving.
    pub api: Option<String>,
}

/// Creates a data dir: key file (mode 0600) and the commented default config.
pub fn init(data_dir: &Path) -> Result<nets_tournament::identity::PlayerId> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let key = keyfile::create(&key_path(data_dir))?;
    let config = config_path(data_dir);
    if !config.exists() {
        std::fs::write(&config, crate::config::DEFAULT_TOML)
            .with_context(|| format!("cannot write {}", config.display()))?;
    }
    Ok(key.id())
}

/// A running node with its API.
#[derive(Debug)]
pub struct Running {
    /// The loop.
    pub handle: NodeHandle,
    /// The API's bound address.
    pub api: Option<std::net::SocketAddr>,
    /// The store.
    pub store: Store,
}

/// What a node is started with beyond its data dir and config (a devnet's shared chain).
#[derive(Debug, Default)]
pub struct StartOptions {
    /// Settle on this chain and contract instead of the configured ones.
    pub shared_chain: Option<(SharedChain, Address)>,
    /// Receives what the settler does on chain.
    pub settle_events: Option<mpsc::UnboundedSender<(PlayerId, SettleEvent)>>,
    /// Junk gossip messages to publish a second, making the node a gossip spammer: an
    /// adversary for simulations (simnet's full-stack mode), not a setting of the config file.
    pub spam_per_second: u32,
    /// Go silent in a match once behind (shorter snake after ten turns), making the node an
    /// aborter: an adversary for simulations, not a setting of the config file.
    pub abort_when_losing: bool,
    /// Sign two different sets of roots for every epoch, making the node an equivocator: an
    /// adversary for simulations, not a setting of the config file.
    pub equivocate: bool,
    /// Sign a win in every duel not won, making the node a result forger: an adversary for
    /// simulations, not a setting of the config file.
    pub forge_results: bool,
    /// Throw every game against these players when this node's key is the higher one (a ring
    /// member or Sybil identity): an adversary for simulations, not a setting of the config
    /// file.
    pub colluders: std::collections::BTreeSet<PlayerId>,
}

impl StartOptions {
    /// Whether the options make the node a simulated adversary.
    pub fn adversarial(&self) -> bool {
        self.spam_per_second > 0
            || self.abort_when_losing
            || self.equivocate
            || self.forge_results
            || !self.colluders.is_empty()
    }
}

/// The simulated adversary the options ask for, if any.
#[cfg(feature = "adversaries")]
fn deviation(key: &Keypair, options: &StartOptions) -> Result<Option<Box<dyn Deviation>>> {
    let roles = crate::daemon::adversary::Roles {
        spam_per_second: options.spam_per_second,
        abort_when_losing: options.abort_when_losing,
        forge_results: options.forge_results,
        colluders: options.colluders.clone(),
    };
    Ok(roles.any().then(|| {
        let adversary =
            crate::daemon::adversary::Adversary::new(Keypair::from_secret(key.secret()), roles);
        Box::new(adversary) as Box<dyn Deviation>
    }))
}

/// Without the `adversaries` feature there is no adversary to be.
#[cfg(not(feature = "adversaries"))]
fn deviation(_: &Keypair, options: &StartOptions) -> Result<Option<Box<dyn Deviation>>> {
    anyhow::ensure!(
        !options.adversarial(),
        "this netsd was built without simulated adversaries (build it with --features adversaries)"
    );
    Ok(None)
}

/// Starts the node of `data_dir` with `config` on the current runtime.
pub async fn start(
    data_dir: &Path,
    config: Config,
    shutdown: CancellationToken,
) -> Result<Running> {
    start_with(data_dir, config, shutdown, StartOptions::default()).await
}

/// The settler's configuration for the node of `data_dir`, or `None` without settlement.
pub fn settler_config(
    data_dir: &Path,
    config: &Config,
    identity: Keypair,
    shared_chain: Option<(SharedChain, Address)>,
) -> Result<Option<SettlerConfig>> {
    let cfg = &config.settlement;
    let (source, contract) = match (shared_chain, cfg.choice()?) {
        (Some((chain, contract)), _) => (ChainSource::Shared(chain), Some(contract)),
        (None, ChainChoice::None) => return Ok(None),
        (None, ChainChoice::Embedded) => (
            ChainSource::Embedded {
                dir: data_dir.join("chain"),
                chain_id: cfg.chain_id,
            },
            None,
        ),
        (None, ChainChoice::Rpc(url)) => (
            ChainSource::Rpc(RpcConfig {
                url,
                chain_id: cfg.chain_id,
            }),
            None,
        ),
    };
    let contract = match (contract, cfg.contract.as_str()) {
        (Some(c), _) => Some(c),
        (None, "") => None,
        (None, text) => Some(
            text.parse::<Address>()
                .map_err(|e| anyhow::anyhow!("settlement.contract {text:?}: {e}"))?,
        ),
    };
    let account = if cfg.account_key.is_empty() {
        AccountKey::derive_from_identity(&identity)
    } else {
        AccountKey::from_file(Path::new(&cfg.account_key))
            .with_context(|| format!("settlement.account_key {:?}", cfg.account_key))?
    };
    let follow_clock = !matches!(source, ChainSource::Rpc(_));
    let entry_fee = config
        .leagues()?
        .first()
        .and_then(|l| l.entry_fee(&FeeSchedule::default()))
        .unwrap_or(0);
    let defaults = Parameters::default();
    let stake = cfg.stake_wei()?;
    let options = SettleOptions {
        params: Parameters {
            challenge_window: cfg.challenge_window_s,
            unbonding_delay: defaults
                .unbonding_delay
                .max(cfg.challenge_window_s.saturating_add(1)),
            ..defaults
        },
        stake,
        // The stake and 100 ether for gas and entry fees.
        funding: cfg.faucet.then(|| stake.saturating_add(10u128.pow(20))),
        entry_fee,
    };
    Ok(Some(SettlerConfig {
        source,
        contract,
        account,
        identity,
        options,
        follow_clock,
        turn_ms: 2_000,
        equivocate: false,
    }))
}

/// [`start`], with what a devnet adds.
pub async fn start_with(
    data_dir: &Path,
    config: Config,
    shutdown: CancellationToken,
    options: StartOptions,
) -> Result<Running> {
    config.check()?;
    let key = keyfile::load(&key_path(data_dir))?;
    let store = Store::open(&store_path(data_dir))?;
    let spec: AgentSpec = config
        .play
        .agent
        .parse()
        .map_err(|e| anyhow::anyhow!("play.agent: {e}"))?;
    let side = config
        .play
        .leagues
        .first()
        .map(|l| usize::from(l.size))
        .unwrap_or(11);
    let players = PlayerFactory::new(spec, side)?;
    let deviation = deviation(&key, &options)?;
    let metrics = Arc::new(Metrics::default());
    let leagues = config.leagues()?;
    let api_addr = config.api.addr()?;
    let settler = settler_config(
        data_dir,
        &config,
        Keypair::from_secret(key.secret()),
        options.shared_chain,
    )?
    .map(|mut settler| {
        settler.equivocate = options.equivocate;
        settler::spawn(
            settler,
            store.clone(),
            options.settle_events,
            shutdown.child_token(),
        )
    });
    let parts = NodeParts {
        settler,
        deviation,
        key,
        config,
        store: store.clone(),
        players,
        metrics: Arc::clone(&metrics),
    };
    let handle = daemon::start(parts, shutdown.clone()).await?;
    let mut api = None;
    if let Some(addr) = api_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("api: cannot bind {addr}"))?;
        api = Some(listener.local_addr()?);
        let app = router(ApiState {
            store: store.clone(),
            status: handle.status.clone(),
            metrics,
            leagues,
        });
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
    }
    // Tell other programs where we are once the first addresses are bound.
    let info_file = info_path(data_dir);
    let mut status = handle.status.clone();
    let peer_id = handle.peer_id;
    tokio::spawn(async move {
        let mut written = 0;
        while status.changed().await.is_ok() {
            let listen: Vec<String> = status
                .borrow()
                .listen
                .iter()
                .map(|a| format!("{a}/p2p/{peer_id}"))
                .collect();
            if listen.len() > written {
                written = listen.len();
                let info = NodeInfo {
                    peer_id: peer_id.to_string(),
                    listen,
                    api: api.map(|a| a.to_string()),
                };
                let tmp = info_file.with_extension("json.tmp");
                if std::fs::write(&tmp, serde_json::to_vec_pretty(&info).unwrap_or_default())
                    .is_ok()
                {
                    let _ = std::fs::rename(&tmp, &info_file);
                }
            }
        }
    });
    Ok(Running { handle, api, store })
}
