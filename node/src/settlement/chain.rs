//! The settlement steps a node takes on the contract (`docs/settlement.md`), shared by the
//! running node's settler (`settler.rs`) and `netsd settle`:
//!
//! - [`deploy`] a contract (`netsd settle deploy`; a node on a fresh embedded chain);
//! - [`join`]: fund the account on development chains, bond stake, bind the ed25519 key;
//! - [`claim`] what the node is owed under the finalised rewards root, by Merkle proof;
//! - [`AnyChain`]: one type over the embedded, shared-embedded and JSON-RPC backends;
//! - [`SettlementReport`]: what a devnet anchored and claimed, for people.
//!
//! Every step is a typed [`SettleError`] naming what failed.

use std::fmt::{self, Write as _};
use std::path::Path;

use nets_settlement::alloy::primitives::{Address, Bytes, U256};
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EpochRoots, Parameters, Receipt, RpcChain, Settlement,
    Status, TxRequest,
};
use nets_tournament::epoch::EpochSummary;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};

use crate::keyfile::KeyError;

/// The file, in an embedded chain's directory, that holds the address of the contract
/// deployed there last (so commands on that chain need no `--contract`).
pub const CONTRACT_FILE: &str = "contract";

/// Why settling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettleError {
    /// A call to the chain or the contract failed.
    #[error("{step}: {source}")]
    Chain {
        /// What was being done.
        step: String,
        /// The chain's or the contract's error.
        #[source]
        source: nets_settlement::Error,
    },
    /// A node's key file could not be read.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An epoch's reward table total does not fit in 128 bits.
    #[error("epoch {epoch}: the reward table's total overflows")]
    Overflow {
        /// The epoch.
        epoch: u64,
    },
    /// The deposits do not cover an epoch's cumulative reward table.
    #[error(
        "epoch {epoch}: the contract's reward funds ({funds} wei) do not cover the reward table's total ({payout} wei)"
    )]
    Underfunded {
        /// The epoch.
        epoch: u64,
        /// The contract's reward funds.
        funds: u128,
        /// The cumulative payout attested.
        payout: u128,
    },
    /// A claim was asked for, but nothing is finalised yet.
    #[error("nothing is finalised on the contract yet, so there is nothing to claim")]
    NothingFinalised,
    /// The finalised rewards root is none of the node's closed epochs.
    #[error(
        "the finalised rewards root {root} is not the root of any closed epoch in this node's store ({latest})"
    )]
    UnknownRoot {
        /// The finalised root.
        root: Hash32,
        /// The node's latest closed epoch, described.
        latest: String,
    },
    /// The node is owed nothing in the finalised table.
    #[error("player {player} has no balance in the finalised reward table")]
    NotInTable {
        /// The player (hex).
        player: String,
    },
}

pub(crate) fn at(step: impl Into<String>) -> impl FnOnce(nets_settlement::Error) -> SettleError {
    move |source| SettleError::Chain {
        step: step.into(),
        source,
    }
}

/// One node taking part in settlement.
#[derive(Debug)]
pub struct SettlingNode {
    /// Its ed25519 identity (player id; bound to the account).
    pub identity: Keypair,
    /// Its secp256k1 account.
    pub account: AccountKey,
    /// The summaries of the closed epochs, computed from its own store.
    pub summaries: Vec<EpochSummary>,
}

impl SettlingNode {
    /// The node whose identity is `identity`, with the account derived from it.
    pub fn derived(identity: Keypair, summaries: Vec<EpochSummary>) -> Self {
        let account = AccountKey::derive_from_identity(&identity);
        Self {
            identity,
            account,
            summaries,
        }
    }
}

/// How to settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleOptions {
    /// The contract's parameters (when deploying).
    pub params: Parameters,
    /// Stake each node bonds, in wei.
    pub stake: u128,
    /// Balance each account is given first, on development chains (`None`: no faucet).
    pub funding: Option<u128>,
    /// Entry fee an entrant deposits per epoch it entered, in wei (the league's fee).
    pub entry_fee: u128,
}

impl Default for SettleOptions {
    /// Default parameters, 1 ether of stake, 1 000 ether of funding, no fee.
    fn default() -> Self {
        Self {
            params: Parameters::default(),
            stake: 10u128.pow(18),
            funding: Some(10u128.pow(21)),
            entry_fee: 0,
        }
    }
}

/// A node's account as set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAccount {
    /// The node's player id.
    pub player: PlayerId,
    /// Its account.
    pub account: Address,
    /// Its active stake.
    pub stake: u128,
    /// Gas of its stake transaction (0 if it staked nothing).
    pub stake_gas: u64,
    /// Gas of its key binding (0 if the key was bound already).
    pub bind_gas: u64,
}

/// A paid claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimReport {
    /// The claiming node (index in the settling set; 0 for a single node).
    pub node: usize,
    /// Its player id.
    pub player: PlayerId,
    /// Paid by this claim.
    pub amount: u128,
    /// Its cumulative balance in the finalised table (all claims so far).
    pub cumulative: u128,
    /// Gas used.
    pub gas: u64,
}

/// One settled epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochReport {
    /// What was attested and finalised.
    pub roots: EpochRoots,
    /// Entry fees deposited for the epoch, in wei.
    pub deposited: u128,
    /// Gas of those deposits.
    pub deposit_gas: u64,
    /// Nodes (indices) whose signatures made the aggregate.
    pub signers: Vec<usize>,
    /// Nodes that computed other roots or none for this epoch.
    pub dissenters: Vec<usize>,
    /// Gas of the aggregate's submission.
    pub attest_gas: u64,
    /// Gas of the finalisation.
    pub finalise_gas: u64,
    /// Claims paid after the finalisation.
    pub claims: Vec<ClaimReport>,
}

impl EpochReport {
    /// The sum of the claims paid.
    pub fn paid(&self) -> u128 {
        self.claims
            .iter()
            .fold(0u128, |sum, c| sum.saturating_add(c.amount))
    }
}

/// What was anchored and claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementReport {
    /// Where the chain is, in words.
    pub chain: String,
    /// Its id.
    pub chain_id: u64,
    /// The contract.
    pub contract: Address,
    /// Gas of the deployment.
    pub deploy_gas: u64,
    /// The nodes' accounts.
    pub nodes: Vec<NodeAccount>,
    /// The settled epochs, in order.
    pub epochs: Vec<EpochReport>,
    /// The contract's state at the end.
    pub status: Status,
}

impl SettlementReport {
    /// The report for people: one line per epoch, one per claim, then the contract's books.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let staked = self
            .nodes
            .iter()
            .fold(0u128, |sum, n| sum.saturating_add(n.stake));
        let _ = writeln!(
            out,
            "settlement on the {} (chain id {}): contract {} (deploy gas {}), {} accounts staked {} wei and bound their keys",
            self.chain,
            self.chain_id,
            self.contract,
            self.deploy_gas,
            self.nodes.len(),
            staked
        );
        if self.epochs.is_empty() {
            let _ = writeln!(out, "no closed epoch to anchor");
        } else {
            let _ = writeln!(
                out,
                "{:>5}  {:<16}  {:<16}  {:>12}  {:>7}  {:>10}  {:>12}  {:>6}  {:>12}",
                "epoch",
                "outcomes root",
                "rewards root",
                "payout",
                "signers",
                "attest gas",
                "finalise gas",
                "claims",
                "paid"
            );
        }
        for e in &self.epochs {
            let _ = writeln!(
                out,
                "{:>5}  {:<16}  {:<16}  {:>12}  {:>7}  {:>10}  {:>12}  {:>6}  {:>12}",
                e.roots.epoch,
                short(&e.roots.outcomes_root),
                short(&e.roots.rewards_root),
                e.roots.total_payout,
                format!("{}/{}", e.signers.len(), self.nodes.len()),
                e.attest_gas,
                e.finalise_gas,
                e.claims.len(),
                e.paid()
            );
        }
        for e in &self.epochs {
            for c in &e.claims {
                let _ = writeln!(
                    out,
                    "  epoch {}: node {} (player {}) claimed {} wei (cumulative {}), gas {}",
                    e.roots.epoch,
                    c.node,
                    &hex::encode(c.player.0)[..12],
                    c.amount,
                    c.cumulative,
                    c.gas
                );
            }
            if !e.dissenters.is_empty() {
                let _ = writeln!(
                    out,
                    "  epoch {}: nodes {:?} computed other roots and did not sign",
                    e.roots.epoch, e.dissenters
                );
            }
        }
        let s = &self.status;
        let _ = writeln!(
            out,
            "contract books: finalised epoch {}, total payout {}, claimed {}, reward funds {}, stake {}, balance {} wei",
            s.finalised_epoch
                .map_or_else(|| "none".to_string(), |e| e.to_string()),
            s.total_payout,
            s.total_claimed,
            s.reward_funds,
            s.total_stake,
            s.balance
        );
        out
    }
}

fn short(hash: &Hash32) -> String {
    let mut s = hex::encode(hash.0);
    s.truncate(14);
    s.push('…');
    s
}

/// Deploys a contract with `params` from `deployer`; returns it and the deployment's gas.
pub async fn deploy<C: Chain>(
    chain: C,
    deployer: &AccountKey,
    params: Parameters,
) -> Result<(Settlement<C>, u64), SettleError> {
    let (settlement, receipt) = Settlement::deploy_with_receipt(chain, deployer, params)
        .await
        .map_err(at("deploying the contract"))?;
    Ok((settlement, receipt.gas_used))
}

/// Sets up `node` on the contract: funds its account (development chains, when
/// `options.funding` is set and the account holds less), tops its active stake up to
/// `options.stake` and binds its key if it is not bound yet.
pub async fn join<C: Chain>(
    settlement: &mut Settlement<C>,
    node: &SettlingNode,
    options: &SettleOptions,
) -> Result<NodeAccount, SettleError> {
    let address = node.account.address();
    if let Some(funding) = options.funding {
        let funding = U256::from(funding);
        let balance = settlement
            .chain_mut()
            .balance(address)
            .await
            .map_err(at(format!("reading the balance of {address}")))?;
        if balance < funding {
            settlement
                .chain_mut()
                .set_balance(address, funding)
                .await
                .map_err(at(format!("funding {address}")))?;
        }
    }
    let before = settlement
        .stake_of(address)
        .await
        .map_err(at(format!("reading the stake of {address}")))?;
    let mut stake_gas = 0;
    let missing = options.stake.saturating_sub(before.active);
    if missing > 0 {
        stake_gas = settlement
            .stake(&node.account, missing)
            .await
            .map_err(at(format!("staking {missing} wei from {address}")))?
            .gas_used;
    }
    let mut bind_gas = 0;
    if before.key.is_none() {
        bind_gas = settlement
            .bind_key(&node.account, &node.identity)
            .await
            .map_err(at(format!("binding the key of {address}")))?
            .gas_used;
    }
    Ok(NodeAccount {
        player: node.identity.id(),
        account: address,
        stake: before.active.saturating_add(missing),
        stake_gas,
        bind_gas,
    })
}

/// Claims what `node` is owed under the finalised root, which must be `summary`'s; `None`
/// when it is owed nothing more.
pub(crate) async fn claim_from<C: Chain>(
    settlement: &mut Settlement<C>,
    node: &SettlingNode,
    summary: &EpochSummary,
) -> Result<Option<ClaimReport>, SettleError> {
    let player = node.identity.id();
    let Some((balance, proof)) = summary.rewards.proof(&player) else {
        return Ok(None);
    };
    let claimed = settlement.claimed(&player).await.map_err(at(format!(
        "reading what {} claimed",
        hex::encode(player.0)
    )))?;
    if balance <= claimed {
        return Ok(None);
    }
    let receipt: Receipt = settlement
        .claim(&node.account, balance, &proof)
        .await
        .map_err(at(format!(
            "claiming {balance} wei for epoch {}",
            summary.epoch
        )))?;
    Ok(Some(ClaimReport {
        node: 0,
        player,
        amount: balance.saturating_sub(claimed),
        cumulative: balance,
        gas: receipt.gas_used,
    }))
}

/// What one node claims by itself (`netsd settle claim`): finds, among its closed epochs'
/// summaries, the one whose rewards root is the finalised one, and claims the difference
/// between its balance there and what it already claimed. `None` when that is nothing.
pub async fn claim<C: Chain>(
    settlement: &mut Settlement<C>,
    node: &SettlingNode,
) -> Result<Option<ClaimReport>, SettleError> {
    let status = settlement
        .status()
        .await
        .map_err(at("reading the contract's status"))?;
    if status.finalised_epoch.is_none() {
        return Err(SettleError::NothingFinalised);
    }
    let Some(summary) = node
        .summaries
        .iter()
        .rev()
        .find(|s| s.rewards_root == status.rewards_root)
    else {
        return Err(SettleError::UnknownRoot {
            root: status.rewards_root,
            latest: node.summaries.last().map_or_else(
                || "it has none".to_string(),
                |s| {
                    format!(
                        "the latest is epoch {} with root {}",
                        s.epoch, s.rewards_root
                    )
                },
            ),
        });
    };
    if summary.rewards.proof(&node.identity.id()).is_none() {
        return Err(SettleError::NotInTable {
            player: hex::encode(node.identity.id().0),
        });
    }
    claim_from(settlement, node, summary).await
}

/// Records `address` as the contract of the embedded chain in `dir`.
pub fn write_contract(dir: &Path, address: Address) -> Result<(), nets_settlement::Error> {
    let path = dir.join(CONTRACT_FILE);
    std::fs::write(&path, format!("{address}\n")).map_err(|e| nets_settlement::Error::State {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Either backend, so that one code path serves both.
#[derive(Debug)]
pub enum AnyChain {
    /// The embedded chain.
    Embedded(EmbeddedChain),
    /// An embedded chain shared by the nodes of one process (a devnet): each call locks it.
    Shared(SharedChain),
    /// A JSON-RPC endpoint.
    Rpc(RpcChain),
}

/// An embedded chain several in-process nodes use at once. Clones share the chain.
#[derive(Clone, Debug)]
pub struct SharedChain {
    chain_id: u64,
    inner: std::sync::Arc<tokio::sync::Mutex<EmbeddedChain>>,
}

impl SharedChain {
    /// Shares `chain`.
    pub fn new(chain: EmbeddedChain) -> Self {
        Self {
            chain_id: chain.chain_id(),
            inner: std::sync::Arc::new(tokio::sync::Mutex::new(chain)),
        }
    }

    /// Waits for the chain.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, EmbeddedChain> {
        self.inner.lock().await
    }
}

/// Runs `$call` on the backend of `$chain` (a shared one locked for the call).
macro_rules! on_backend {
    ($chain:expr, $c:ident => $call:expr) => {
        match $chain {
            AnyChain::Embedded($c) => $call,
            AnyChain::Shared(shared) => {
                let mut guard = shared.lock().await;
                let $c = &mut *guard;
                $call
            }
            AnyChain::Rpc($c) => $call,
        }
    };
}

impl fmt::Display for AnyChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyChain::Embedded(c) => match c.dir() {
                Some(dir) => write!(f, "embedded chain in {}", dir.display()),
                None => write!(f, "embedded chain in memory"),
            },
            AnyChain::Shared(_) => write!(f, "shared embedded chain"),
            AnyChain::Rpc(c) => write!(f, "chain at {}", c.url()),
        }
    }
}

impl Chain for AnyChain {
    fn chain_id(&self) -> u64 {
        match self {
            AnyChain::Embedded(c) => c.chain_id(),
            AnyChain::Shared(c) => c.chain_id,
            AnyChain::Rpc(c) => c.chain_id(),
        }
    }

    async fn send(
        &mut self,
        from: &AccountKey,
        tx: TxRequest,
    ) -> Result<Receipt, nets_settlement::Error> {
        on_backend!(self, c => c.send(from, tx).await)
    }

    async fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, nets_settlement::Error> {
        on_backend!(self, c => c.call(to, data).await)
    }

    async fn balance(&mut self, address: Address) -> Result<U256, nets_settlement::Error> {
        on_backend!(self, c => c.balance(address).await)
    }

    async fn code(&mut self, address: Address) -> Result<Bytes, nets_settlement::Error> {
        on_backend!(self, c => c.code(address).await)
    }

    async fn timestamp(&mut self) -> Result<u64, nets_settlement::Error> {
        on_backend!(self, c => c.timestamp().await)
    }

    async fn advance_time(&mut self, seconds: u64) -> Result<(), nets_settlement::Error> {
        on_backend!(self, c => c.advance_time(seconds).await)
    }

    async fn set_balance(
        &mut self,
        address: Address,
        amount: U256,
    ) -> Result<(), nets_settlement::Error> {
        on_backend!(self, c => c.set_balance(address, amount).await)
    }
}
