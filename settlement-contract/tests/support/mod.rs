//! Shared by the settlement tests: nodes with their keys, a deployed contract with funded,
//! staked and bound accounts, and assertions on reverts.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use nets_settlement::alloy::primitives::U256;
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, EpochRoots, Error, Parameters, Receipt,
    Settlement,
};
use nets_tournament::economics::RewardTable;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};

/// One ether.
pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;

/// A node: its ed25519 identity and its secp256k1 account.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) identity: Keypair,
    pub(crate) account: AccountKey,
}

impl Node {
    pub(crate) fn new(seed: u8) -> Self {
        let identity = Keypair::from_secret([seed; 32]);
        let account = AccountKey::derive_from_identity(&identity);
        Self { identity, account }
    }

    pub(crate) fn id(&self) -> PlayerId {
        self.identity.id()
    }
}

pub(crate) fn deployer() -> AccountKey {
    AccountKey::derive_from_ed25519(&[0xde; 32])
}

pub(crate) fn params() -> Parameters {
    Parameters {
        challenge_window: 100,
        unbonding_delay: 1_000,
        quorum_bps: 6667,
        reporter_bps: 1000,
    }
}

pub(crate) fn embedded() -> EmbeddedChain {
    EmbeddedChain::in_memory(EmbeddedConfig::default())
}

/// Deploys with `params`, then funds `n` nodes with 100 ether each; the first `staked` of
/// them stake `stake` each and every node binds its key.
pub(crate) async fn world<C: Chain>(
    chain: C,
    params: Parameters,
    n: u8,
    staked: usize,
    stake: u128,
) -> Result<(Settlement<C>, Vec<Node>), Error> {
    let mut chain = chain;
    let deployer = deployer();
    chain
        .set_balance(deployer.address(), U256::from(100 * ETHER))
        .await?;
    let mut settlement = Settlement::deploy(chain, &deployer, params).await?;
    let nodes: Vec<Node> = (1..=n).map(Node::new).collect();
    for (i, node) in nodes.iter().enumerate() {
        settlement
            .chain_mut()
            .set_balance(node.account.address(), U256::from(100 * ETHER))
            .await?;
        if i < staked {
            settlement.stake(&node.account, stake).await?;
        }
        settlement.bind_key(&node.account, &node.identity).await?;
    }
    Ok((settlement, nodes))
}

/// A reward table paying `amounts[i]` to `nodes[i]` (zero amounts left out).
pub(crate) fn table(nodes: &[Node], amounts: &[u128]) -> RewardTable {
    RewardTable {
        balances: nodes
            .iter()
            .zip(amounts)
            .filter(|(_, a)| **a > 0)
            .map(|(n, a)| (n.id(), *a))
            .collect::<BTreeMap<_, _>>(),
        convicted: Default::default(),
    }
}

pub(crate) fn roots_of(epoch: u64, table: &RewardTable) -> EpochRoots {
    EpochRoots {
        epoch,
        outcomes_root: Hash32([epoch as u8 + 1; 32]),
        rewards_root: table.root(),
        total_payout: table.total().expect("no overflow"),
    }
}

/// Signs `roots` by `signers`, aggregates, submits.
pub(crate) async fn attest<C: Chain>(
    settlement: &mut Settlement<C>,
    signers: &[&Node],
    roots: &EpochRoots,
) -> Result<Receipt, Error> {
    let signed = signers
        .iter()
        .map(|n| settlement.sign_attestation(&n.account, roots))
        .collect::<Result<Vec<_>, _>>()?;
    settlement.attest(&deployer(), roots, &signed).await
}

/// Asserts that `result` is a revert with the custom error `name`.
#[track_caller]
pub(crate) fn assert_revert<T: std::fmt::Debug>(result: Result<T, Error>, name: &str) {
    match result {
        Err(e) => assert_eq!(e.revert_name(), Some(name), "expected {name}, got {e}"),
        Ok(v) => panic!("expected the revert {name}, got success {v:?}"),
    }
}

/// Asserts the contract's books: its balance is exactly what it owes (no ether enters any
/// other way in these tests).
pub(crate) async fn assert_solvent<C: Chain>(settlement: &mut Settlement<C>) {
    let status = settlement.status().await.expect("status");
    assert_eq!(status.balance, status.obligations(), "{status:?}");
    assert!(status.total_claimed <= status.total_payout);
    assert!(status.total_payout <= status.reward_funds);
}

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("nets-settlement-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
