//! `netsd settle`: the node's side of the settlement contract (deploy, stake, claim, status),
//! on an embedded chain kept in a directory or on a JSON-RPC endpoint.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use nets_node::clock::now_ms;
use nets_node::config::Config;
use nets_node::settlement::chain::{self as onchain, AnyChain, SettlingNode};
use nets_node::store::Store;
use nets_node::{keyfile, rankings, runner};
use nets_settlement::alloy::primitives::{Address, U256};
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, Parameters, RpcChain, RpcConfig, Settlement,
};
use nets_tournament::identity::Keypair;

/// The environment variable that may hold the account key (64 hex digits).
const KEY_ENV: &str = "NETS_ETH_KEY";

#[derive(Debug, Args)]
pub(crate) struct SettleArgs {
    #[command(subcommand)]
    command: SettleCommand,
}

#[derive(Debug, Subcommand)]
enum SettleCommand {
    /// Deploy a new settlement contract from the node's account; prints its address.
    Deploy(DeployArgs),
    /// Bond stake from the node's account, and bind the node's key to it if not yet bound.
    Stake(StakeArgs),
    /// Claim what the node is owed under the finalised rewards root (reads a stopped node's
    /// store for the proof).
    Claim(ClaimArgs),
    /// The contract's state, the account's stake and what the node claimed.
    Status(StatusArgs),
}

/// Where the chain and the contract are, and which account speaks.
#[derive(Debug, Args)]
struct ChainArgs {
    /// The node's data dir: its key gives the player id and, without an explicit account
    /// key, the derived account.
    #[arg(long, default_value = "netsd-data")]
    data_dir: PathBuf,
    /// A JSON-RPC endpoint, e.g. http://127.0.0.1:8545 (needs --chain-id).
    #[arg(long, conflicts_with = "embedded", requires = "chain_id")]
    rpc: Option<String>,
    /// The chain id (the endpoint's must match; default on an embedded chain: 31337).
    #[arg(long)]
    chain_id: Option<u64>,
    /// The contract's address (default on an embedded chain: the one deployed there last).
    #[arg(long)]
    contract: Option<String>,
    /// An embedded chain's directory (default: <data-dir>/chain).
    #[arg(long)]
    embedded: Option<PathBuf>,
    /// A file holding the account key (64 hex digits); default: the NETS_ETH_KEY
    /// environment variable, else the key derived from the node's identity.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DeployArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Seconds between an epoch's quorum and its finalisation.
    #[arg(long)]
    challenge_window: Option<u64>,
    /// Seconds between a request to unstake and the withdrawal.
    #[arg(long)]
    unbonding_delay: Option<u64>,
    /// Share of the stake a quorum needs, in basis points (above 5000).
    #[arg(long)]
    quorum_bps: Option<u16>,
}

#[derive(Debug, Args)]
struct StakeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Stake to add, in wei.
    #[arg(long)]
    amount: u128,
    /// Give the account the amount first with the chain's faucet (development chains; on
    /// an embedded chain an account short of the amount is always topped up).
    #[arg(long)]
    faucet: bool,
}

#[derive(Debug, Args)]
struct ClaimArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Take epochs below this one as closed (default: from the config's schedule and the
    /// clock).
    #[arg(long)]
    epochs: Option<u64>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    chain: ChainArgs,
}

pub(crate) fn run(args: &SettleArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async {
        match &args.command {
            SettleCommand::Deploy(a) => deploy(a).await,
            SettleCommand::Stake(a) => stake(a).await,
            SettleCommand::Claim(a) => claim(a).await,
            SettleCommand::Status(a) => status(a).await,
        }
    })
}

impl ChainArgs {
    fn embedded_dir(&self) -> PathBuf {
        self.embedded
            .clone()
            .unwrap_or_else(|| self.data_dir.join("chain"))
    }

    /// The node's identity, if its data dir has a key.
    fn identity(&self) -> Result<Option<Keypair>> {
        let path = runner::key_path(&self.data_dir);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(keyfile::load(&path)?))
    }

    /// The account key: --key-file, else NETS_ETH_KEY, else derived from the node's key.
    fn account(&self, identity: Option<&Keypair>) -> Result<AccountKey> {
        if let Some(path) = &self.key_file {
            return Ok(AccountKey::from_file(path)?);
        }
        if std::env::var_os(KEY_ENV).is_some() {
            return Ok(AccountKey::from_env(KEY_ENV)?);
        }
        match identity {
            Some(identity) => Ok(AccountKey::derive_from_identity(identity)),
            None => bail!(
                "no account key: give --key-file, set {KEY_ENV}, or give a --data-dir with a node key ({} does not exist)",
                runner::key_path(&self.data_dir).display()
            ),
        }
    }

    /// Connects to the chain. An embedded chain must exist already unless `create`.
    async fn chain(&self, create: bool) -> Result<AnyChain> {
        if let Some(url) = &self.rpc {
            let chain_id = self.chain_id.context("--rpc needs --chain-id")?;
            let config = RpcConfig {
                url: url.clone(),
                chain_id,
            };
            let chain = RpcChain::connect(&config)
                .await
                .with_context(|| format!("cannot use the chain at {url}"))?;
            return Ok(AnyChain::Rpc(chain));
        }
        let dir = self.embedded_dir();
        if !create && !dir.join(nets_settlement::embedded::STATE_FILE).exists() {
            bail!(
                "no embedded chain in {} (create one with `netsd settle deploy`)",
                dir.display()
            );
        }
        let config = EmbeddedConfig {
            chain_id: self.chain_id.unwrap_or(EmbeddedConfig::default().chain_id),
            ..EmbeddedConfig::default()
        };
        let chain = EmbeddedChain::open(&dir, config)
            .with_context(|| format!("cannot open the embedded chain in {}", dir.display()))?;
        Ok(AnyChain::Embedded(chain))
    }

    /// The contract's address: --contract, else the one recorded in the embedded chain.
    fn contract(&self) -> Result<Address> {
        let (text, origin) = match &self.contract {
            Some(text) => (text.clone(), "--contract".to_string()),
            None if self.rpc.is_some() => bail!("--rpc needs --contract ADDRESS"),
            None => {
                let path = self.embedded_dir().join(onchain::CONTRACT_FILE);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "no contract recorded in {} (give --contract, or deploy one with `netsd settle deploy`)",
                        path.display()
                    )
                })?;
                (text, path.display().to_string())
            }
        };
        parse_address(text.trim()).with_context(|| format!("{origin}: malformed contract address"))
    }

    async fn settlement(&self) -> Result<Settlement<AnyChain>> {
        let address = self.contract()?;
        let chain = self.chain(false).await?;
        let name = chain.to_string();
        Settlement::at(chain, address)
            .await
            .with_context(|| format!("no settlement contract at {address} on the {name}"))
    }
}

fn parse_address(text: &str) -> Result<Address> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 40 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("`{text}` is not an address (0x and 40 hex digits)");
    }
    Address::from_str(text).map_err(|e| anyhow::anyhow!("`{text}`: {e}"))
}

async fn deploy(args: &DeployArgs) -> Result<()> {
    let identity = args.chain.identity()?;
    let account = args.chain.account(identity.as_ref())?;
    let mut params = Parameters::default();
    if let Some(w) = args.challenge_window {
        params.challenge_window = w;
    }
    if let Some(d) = args.unbonding_delay {
        params.unbonding_delay = d;
    }
    if let Some(q) = args.quorum_bps {
        params.quorum_bps = q;
    }
    let chain = args.chain.chain(true).await?;
    let name = chain.to_string();
    let (settlement, gas) = onchain::deploy(chain, &account, params).await?;
    let address = settlement.address();
    if let AnyChain::Embedded(chain) = settlement.chain()
        && let Some(dir) = chain.dir()
    {
        onchain::write_contract(dir, address)?;
    }
    eprintln!(
        "deployed on the {name} from {} (gas {gas})",
        account.address()
    );
    println!("{address}");
    Ok(())
}

async fn stake(args: &StakeArgs) -> Result<()> {
    if args.amount == 0 {
        bail!("--amount must be positive");
    }
    let identity = args.chain.identity()?;
    let account = args.chain.account(identity.as_ref())?;
    let address = account.address();
    let mut settlement = args.chain.settlement().await?;
    let faucet = args.faucet || matches!(settlement.chain(), AnyChain::Embedded(_));
    if faucet {
        let balance = settlement.chain_mut().balance(address).await?;
        let amount = U256::from(args.amount);
        if balance < amount {
            settlement
                .chain_mut()
                .set_balance(address, amount)
                .await
                .with_context(|| format!("funding {address}"))?;
            eprintln!("funded {address} with {amount} wei");
        }
    }
    let receipt = settlement
        .stake(&account, args.amount)
        .await
        .with_context(|| format!("staking {} wei from {address}", args.amount))?;
    eprintln!(
        "staked {} wei from {address} (gas {})",
        args.amount, receipt.gas_used
    );
    match identity {
        Some(identity) if settlement.key_of(address).await?.is_none() => {
            let receipt = settlement
                .bind_key(&account, &identity)
                .await
                .with_context(|| format!("binding the node's key to {address}"))?;
            eprintln!(
                "bound key {} to {address} (gas {})",
                hex::encode(identity.id().0),
                receipt.gas_used
            );
        }
        Some(_) => {}
        None => eprintln!("no node key in the data dir: the account has no key bound"),
    }
    let stake = settlement.stake_of(address).await?;
    println!("active stake {} wei", stake.active);
    Ok(())
}

async fn claim(args: &ClaimArgs) -> Result<()> {
    let dir = &args.chain.data_dir;
    let Some(identity) = args.chain.identity()? else {
        bail!(
            "{} is not a data dir (no node key); claims pay the node's key",
            dir.display()
        );
    };
    let account = args.chain.account(Some(&identity))?;
    let summaries = closed_summaries(dir, args.epochs)?;
    let mut settlement = args.chain.settlement().await?;
    let node = SettlingNode {
        identity,
        account,
        summaries,
    };
    match onchain::claim(&mut settlement, &node).await {
        Ok(Some(c)) => println!(
            "claimed {} wei (cumulative {}), gas {}",
            c.amount, c.cumulative, c.gas
        ),
        Ok(None) => println!("nothing to claim: everything owed is claimed already"),
        // Owed nothing is an answer, not a failure.
        Err(e @ onchain::SettleError::NotInTable { .. }) => println!("nothing to claim: {e}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The summaries of a stopped node's closed epochs.
fn closed_summaries(
    dir: &Path,
    epochs: Option<u64>,
) -> Result<Vec<nets_tournament::epoch::EpochSummary>> {
    let config = Config::load(&runner::config_path(dir))?;
    let league = config
        .leagues()?
        .into_iter()
        .next()
        .context("the node's config has no league")?;
    let store = Store::open(&runner::store_path(dir)).with_context(|| {
        format!(
            "cannot open the store of {} (stop the node first)",
            dir.display()
        )
    })?;
    let closed = match epochs {
        Some(n) => n,
        None => {
            let s = config.schedule;
            let clock = s.clock();
            let now = now_ms();
            (0..=clock.epoch_at(now))
                .rev()
                .find(|e| now >= clock.close_of(*e).saturating_add(s.grace_ms))
                .map_or(0, |e| e.saturating_add(1))
        }
    };
    Ok(rankings::summaries(&store, &league, closed)?)
}

async fn status(args: &StatusArgs) -> Result<()> {
    let identity = args.chain.identity()?;
    let explicit = args.chain.key_file.is_some() || std::env::var_os(KEY_ENV).is_some();
    let account = if identity.is_some() || explicit {
        Some(args.chain.account(identity.as_ref())?)
    } else {
        None
    };
    let mut settlement = args.chain.settlement().await?;
    let s = settlement.status().await?;
    println!(
        "contract         {} on the {} (chain id {})",
        settlement.address(),
        settlement.chain(),
        settlement.chain().chain_id()
    );
    println!("next epoch       {}", s.next_epoch);
    match s.finalised_epoch {
        Some(e) => println!(
            "finalised epoch  {e} (outcomes root {}, rewards root {})",
            s.outcomes_root, s.rewards_root
        ),
        None => println!("finalised epoch  none"),
    }
    println!("total payout     {} wei", s.total_payout);
    println!("total claimed    {} wei", s.total_claimed);
    println!("reward funds     {} wei", s.reward_funds);
    println!("total stake      {} wei", s.total_stake);
    println!("total unbonding  {} wei", s.total_unbonding);
    println!("balance          {} wei", s.balance);
    if let Some(account) = &account {
        let address = account.address();
        let stake = settlement.stake_of(address).await?;
        println!("account          {address}");
        println!("  stake          {} wei", stake.active);
        println!(
            "  unbonding      {} wei (until {})",
            stake.unbonding, stake.unbonding_until
        );
        if stake.slashed {
            println!("  slashed");
        }
        match stake.key {
            Some(key) => println!("  key            {}", hex::encode(key.0)),
            None => println!("  key            none bound"),
        }
    }
    if let Some(identity) = &identity {
        let claimed = settlement.claimed(&identity.id()).await?;
        println!("node {}", hex::encode(identity.id().0));
        println!("  claimed        {claimed} wei");
    }
    Ok(())
}
