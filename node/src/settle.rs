//! Settlement of closed epochs on a chain, for a set of nodes.
//!
//! What the nodes of a network do with the settlement contract (`docs/settlement.md`), in the
//! order they do it:
//!
//! 1. one of them deploys the contract ([`settle_network`] deploys; `netsd settle deploy`);
//! 2. each funds its account (a faucet on development chains), bonds stake and binds its
//!    ed25519 key to the account ([`join`]);
//! 3. for each closed epoch ([`settle_epoch`]): every entrant deposits its entry fee, so that
//!    the contract's reward funds cover the cumulative reward table; every node computes the
//!    epoch's [`EpochSummary`] from its own store and signs the [`EpochRoots`]; one node
//!    aggregates the signatures over the roots most nodes agree on and submits them; after
//!    the challenge window anyone finalises; each node owed more than it already claimed
//!    claims the difference with its Merkle proof ([`claim`]).
//!
//! Every step is a typed [`SettleError`] naming what failed. [`devnet`] runs all of it for
//! the nodes of a devnet, on one embedded chain kept in a directory.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use nets_settlement::alloy::primitives::{Address, Bytes, U256};
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, EpochRoots, Parameters, Receipt, RpcChain,
    Settlement, SignedAttestation, Status, TxRequest,
};
use nets_tournament::epoch::EpochSummary;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};

use crate::keyfile::{self, KeyError};
use crate::runner;

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
    /// Nothing to settle for.
    #[error("no nodes to settle for")]
    NoNodes,
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
    /// The aggregate did not bring the quorum of the stake.
    #[error(
        "epoch {epoch}: the aggregate of {signers} of {nodes} nodes did not reach the stake quorum"
    )]
    NoQuorum {
        /// The epoch.
        epoch: u64,
        /// Signatures submitted.
        signers: usize,
        /// Nodes settling.
        nodes: usize,
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

fn at(step: impl Into<String>) -> impl FnOnce(nets_settlement::Error) -> SettleError {
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

    fn summary(&self, epoch: u64) -> Option<&EpochSummary> {
        self.summaries.iter().find(|s| s.epoch == epoch)
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

/// Deploys a contract from the first node, has every node [`join`], then settles every epoch
/// any node closed, in order ([`settle_epoch`]).
pub async fn settle_network<C: Chain>(
    chain: C,
    chain_name: &str,
    nodes: &[SettlingNode],
    options: &SettleOptions,
) -> Result<SettlementReport, SettleError> {
    let first = nodes.first().ok_or(SettleError::NoNodes)?;
    let chain_id = chain.chain_id();
    let (mut settlement, deploy_gas) = deploy(chain, &first.account, options.params).await?;
    let mut accounts = Vec::with_capacity(nodes.len());
    for node in nodes {
        accounts.push(join(&mut settlement, node, options).await?);
    }
    let epochs: BTreeSet<u64> = nodes
        .iter()
        .flat_map(|n| n.summaries.iter().map(|s| s.epoch))
        .collect();
    let mut reports = Vec::with_capacity(epochs.len());
    for epoch in epochs {
        reports.push(settle_epoch(&mut settlement, nodes, epoch, options.entry_fee).await?);
    }
    let status = settlement
        .status()
        .await
        .map_err(at("reading the contract's status"))?;
    Ok(SettlementReport {
        chain: chain_name.to_string(),
        chain_id,
        contract: settlement.address(),
        deploy_gas,
        nodes: accounts,
        epochs: reports,
        status,
    })
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

/// Settles `epoch`: deposits, attestation by the roots most nodes computed, finalisation
/// after the challenge window (the clock is moved on development chains) and claims.
pub async fn settle_epoch<C: Chain>(
    settlement: &mut Settlement<C>,
    nodes: &[SettlingNode],
    epoch: u64,
    entry_fee: u128,
) -> Result<EpochReport, SettleError> {
    // Every node signs the roots of its own summary.
    let mut groups: Vec<(EpochRoots, Vec<usize>, Vec<SignedAttestation>)> = Vec::new();
    let mut dissenters = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let Some(summary) = node.summary(epoch) else {
            dissenters.push(i);
            continue;
        };
        let roots = EpochRoots::from_summary(summary).ok_or(SettleError::Overflow { epoch })?;
        let signed = settlement
            .sign_attestation(&node.account, &roots)
            .map_err(at(format!("node {i} signing epoch {epoch}")))?;
        match groups.iter_mut().find(|(r, _, _)| *r == roots) {
            Some((_, members, signatures)) => {
                members.push(i);
                signatures.push(signed);
            }
            None => groups.push((roots, vec![i], vec![signed])),
        }
    }
    // The roots most nodes agree on (the first computed, on a tie).
    let mut best: Option<usize> = None;
    for (g, (_, members, _)) in groups.iter().enumerate() {
        if best
            .and_then(|b| groups.get(b))
            .is_none_or(|(_, m, _)| members.len() > m.len())
        {
            best = Some(g);
        }
    }
    let Some((roots, signers, signatures)) = best.and_then(|b| groups.get(b)).cloned() else {
        return Err(SettleError::NoQuorum {
            epoch,
            signers: 0,
            nodes: nodes.len(),
        });
    };
    for (_, members, _) in &groups {
        if *members != signers {
            dissenters.extend(members.iter().copied());
        }
    }
    dissenters.sort_unstable();

    // Entrants pay their entry fee into the reward funds.
    let mut deposited = 0u128;
    let mut deposit_gas = 0u64;
    if entry_fee > 0 {
        for (i, node) in nodes.iter().enumerate() {
            let player = node.identity.id();
            let entered = node
                .summary(epoch)
                .is_some_and(|s| s.standings.contains_key(&player));
            if !entered {
                continue;
            }
            let receipt = settlement
                .deposit(&node.account, &player, entry_fee)
                .await
                .map_err(at(format!(
                    "node {i} depositing its entry to epoch {epoch}"
                )))?;
            deposited = deposited.saturating_add(entry_fee);
            deposit_gas = deposit_gas.saturating_add(receipt.gas_used);
        }
    }
    let status = settlement
        .status()
        .await
        .map_err(at("reading the contract's status"))?;
    if status.reward_funds < roots.total_payout {
        return Err(SettleError::Underfunded {
            epoch,
            funds: status.reward_funds,
            payout: roots.total_payout,
        });
    }

    // One node aggregates and submits.
    let submitter = signers
        .first()
        .and_then(|i| nodes.get(*i))
        .ok_or(SettleError::NoNodes)?;
    let attest = settlement
        .attest(&submitter.account, &roots, &signatures)
        .await
        .map_err(at(format!("attesting epoch {epoch}")))?;
    let progress = settlement
        .epoch(epoch)
        .await
        .map_err(at(format!("reading epoch {epoch}")))?;
    let Some(finalisable_at) = progress.finalisable_at else {
        return Err(SettleError::NoQuorum {
            epoch,
            signers: signers.len(),
            nodes: nodes.len(),
        });
    };
    let now = settlement
        .chain_mut()
        .timestamp()
        .await
        .map_err(at("reading the chain's time"))?;
    if finalisable_at > now {
        settlement
            .chain_mut()
            .advance_time(finalisable_at.saturating_sub(now))
            .await
            .map_err(at("moving the clock past the challenge window"))?;
    }
    let finalise = settlement
        .finalise(&submitter.account, &roots)
        .await
        .map_err(at(format!("finalising epoch {epoch}")))?;

    // Whoever is owed more than it claimed, claims.
    let mut claims = Vec::new();
    for i in &signers {
        let Some(node) = nodes.get(*i) else { continue };
        let Some(summary) = node.summary(epoch) else {
            continue;
        };
        if let Some(mut claim) = claim_from(settlement, node, summary).await? {
            claim.node = *i;
            claims.push(claim);
        }
    }
    Ok(EpochReport {
        roots,
        deposited,
        deposit_gas,
        signers,
        dissenters,
        attest_gas: attest.gas_used,
        finalise_gas: finalise.gas_used,
        claims,
    })
}

/// Claims what `node` is owed under the finalised root, which must be `summary`'s; `None`
/// when it is owed nothing more.
async fn claim_from<C: Chain>(
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

/// Settles a devnet's closed epochs on one embedded chain kept in `chain_dir`, shared by all
/// its nodes: `nodes` are their data dirs with the summaries each computed from its store.
/// The contract's address is written to `chain_dir/contract`.
pub async fn devnet(
    chain_dir: &Path,
    nodes: Vec<(PathBuf, Vec<EpochSummary>)>,
    entry_fee: u128,
) -> Result<SettlementReport, SettleError> {
    let mut settling = Vec::with_capacity(nodes.len());
    for (dir, summaries) in nodes {
        let identity = keyfile::load(&runner::key_path(&dir))?;
        settling.push(SettlingNode::derived(identity, summaries));
    }
    let chain = EmbeddedChain::open(chain_dir, EmbeddedConfig::default()).map_err(at(format!(
        "opening the embedded chain in {}",
        chain_dir.display()
    )))?;
    let options = SettleOptions {
        entry_fee,
        ..SettleOptions::default()
    };
    let name = format!("embedded chain in {}", chain_dir.display());
    let report = settle_network(chain, &name, &settling, &options).await?;
    write_contract(chain_dir, report.contract).map_err(at("recording the contract's address"))?;
    Ok(report)
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
    /// A JSON-RPC endpoint.
    Rpc(RpcChain),
}

impl fmt::Display for AnyChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyChain::Embedded(c) => match c.dir() {
                Some(dir) => write!(f, "embedded chain in {}", dir.display()),
                None => write!(f, "embedded chain in memory"),
            },
            AnyChain::Rpc(c) => write!(f, "chain at {}", c.url()),
        }
    }
}

impl Chain for AnyChain {
    fn chain_id(&self) -> u64 {
        match self {
            AnyChain::Embedded(c) => c.chain_id(),
            AnyChain::Rpc(c) => c.chain_id(),
        }
    }

    async fn send(
        &mut self,
        from: &AccountKey,
        tx: TxRequest,
    ) -> Result<Receipt, nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.send(from, tx).await,
            AnyChain::Rpc(c) => c.send(from, tx).await,
        }
    }

    async fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.call(to, data).await,
            AnyChain::Rpc(c) => c.call(to, data).await,
        }
    }

    async fn balance(&mut self, address: Address) -> Result<U256, nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.balance(address).await,
            AnyChain::Rpc(c) => c.balance(address).await,
        }
    }

    async fn code(&mut self, address: Address) -> Result<Bytes, nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.code(address).await,
            AnyChain::Rpc(c) => c.code(address).await,
        }
    }

    async fn timestamp(&mut self) -> Result<u64, nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.timestamp().await,
            AnyChain::Rpc(c) => c.timestamp().await,
        }
    }

    async fn advance_time(&mut self, seconds: u64) -> Result<(), nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.advance_time(seconds).await,
            AnyChain::Rpc(c) => c.advance_time(seconds).await,
        }
    }

    async fn set_balance(
        &mut self,
        address: Address,
        amount: U256,
    ) -> Result<(), nets_settlement::Error> {
        match self {
            AnyChain::Embedded(c) => c.set_balance(address, amount).await,
            AnyChain::Rpc(c) => c.set_balance(address, amount).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use nets_settlement::complete_now;
    use nets_tournament::economics::{Payout, RewardTable, Standing};

    use super::*;

    /// A closed epoch whose entrants are `entrants` and whose cumulative table is `balances`.
    fn summary(
        epoch: u64,
        outcomes: u8,
        entrants: &[PlayerId],
        balances: &[(PlayerId, u128)],
    ) -> EpochSummary {
        let rewards = RewardTable {
            balances: balances.iter().copied().collect(),
        };
        EpochSummary {
            epoch,
            outcomes_root: Hash32([outcomes; 32]),
            rewards_root: rewards.root(),
            games: Vec::new(),
            ratings: BTreeMap::new(),
            standings: entrants.iter().map(|p| (*p, Standing::default())).collect(),
            payout: Payout::default(),
            rewards,
        }
    }

    fn keys(n: u8) -> Vec<Keypair> {
        (1..=n).map(|i| Keypair::from_secret([i; 32])).collect()
    }

    fn run(nodes: &[SettlingNode], fee: u128) -> Result<SettlementReport, SettleError> {
        let chain = EmbeddedChain::in_memory(EmbeddedConfig::default());
        let options = SettleOptions {
            entry_fee: fee,
            ..SettleOptions::default()
        };
        complete_now(settle_network(chain, "test chain", nodes, &options))
            .ok_or(SettleError::NoNodes)?
    }

    #[test]
    fn epochs_are_anchored_by_the_majority_and_every_creditor_is_paid() {
        let ids: Vec<PlayerId> = keys(4).iter().map(Keypair::id).collect();
        let epoch0 = summary(0, 7, &ids, &[(ids[0], 30), (ids[1], 10)]);
        let epoch1 = summary(3, 8, &ids, &[(ids[0], 50), (ids[1], 10), (ids[2], 20)]);
        let nodes: Vec<SettlingNode> = keys(4)
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                let mut mine = vec![epoch0.clone(), epoch1.clone()];
                if i == 3 {
                    // The last node saw another outcome in epoch 3.
                    mine[1] = summary(3, 9, &ids, &[(ids[0], 50), (ids[1], 30)]);
                }
                SettlingNode::derived(k, mine)
            })
            .collect();
        let report = run(&nodes, 20).expect("settles");
        assert_eq!(report.epochs.len(), 2);
        let (e0, e1) = (&report.epochs[0], &report.epochs[1]);
        assert_eq!(e0.signers, vec![0, 1, 2, 3]);
        assert!(e0.dissenters.is_empty());
        assert_eq!(e0.deposited, 80);
        assert_eq!(e0.roots.total_payout, 40);
        assert_eq!(
            e0.claims
                .iter()
                .map(|c| (c.node, c.amount))
                .collect::<Vec<_>>(),
            vec![(0, 30), (1, 10)]
        );
        assert_eq!(e1.roots.epoch, 3);
        assert_eq!(e1.roots.outcomes_root, Hash32([8; 32]));
        assert_eq!(e1.signers, vec![0, 1, 2]);
        assert_eq!(e1.dissenters, vec![3]);
        // Node 0 gets the difference, node 1 nothing more, node 2 its first payment.
        assert_eq!(
            e1.claims
                .iter()
                .map(|c| (c.node, c.amount, c.cumulative))
                .collect::<Vec<_>>(),
            vec![(0, 20, 50), (2, 20, 20)]
        );
        assert!(e0.attest_gas > 0 && e1.finalise_gas > 0);
        assert_eq!(report.status.finalised_epoch, Some(3));
        assert_eq!(report.status.total_claimed, 80);
        assert_eq!(report.status.reward_funds, 160);
        assert_eq!(report.status.balance, report.status.obligations());
        assert!(report.render().contains("3/4"));
    }

    #[test]
    fn unfunded_payouts_and_a_split_without_quorum_are_refused() {
        let ids: Vec<PlayerId> = keys(2).iter().map(Keypair::id).collect();
        let epoch0 = summary(0, 7, &ids, &[(ids[0], 30)]);
        let nodes: Vec<SettlingNode> = keys(2)
            .into_iter()
            .map(|k| SettlingNode::derived(k, vec![epoch0.clone()]))
            .collect();
        // Fees of 10 each cannot pay 30.
        let e = run(&nodes, 10).expect_err("underfunded");
        assert!(
            matches!(
                e,
                SettleError::Underfunded {
                    epoch: 0,
                    funds: 20,
                    payout: 30
                }
            ),
            "{e}"
        );
        // Two nodes of equal stake disagreeing: neither half reaches two thirds.
        let other = summary(0, 9, &ids, &[(ids[0], 30)]);
        let nodes: Vec<SettlingNode> = keys(2)
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                SettlingNode::derived(
                    k,
                    vec![if i == 0 {
                        epoch0.clone()
                    } else {
                        other.clone()
                    }],
                )
            })
            .collect();
        let e = run(&nodes, 100).expect_err("no quorum");
        assert!(
            matches!(
                e,
                SettleError::NoQuorum {
                    epoch: 0,
                    signers: 1,
                    nodes: 2
                }
            ),
            "{e}"
        );
        assert!(run(&[], 0).is_err());
    }
}
