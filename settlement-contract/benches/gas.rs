//! Gas per contract function, measured on the embedded chain (Cancun rules, the same gas as
//! anvil; see tests/anvil.rs). Prints a table; `cargo bench -p nets-settlement --bench gas`.
//!
//! Goals: anchoring an epoch (the aggregate that reaches the quorum) at most 80 000 gas plus
//! 6 000 per attesting signer; a claim at most 75 000 gas in a table of 65 536 leaves.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use nets_settlement::alloy::primitives::U256;
use nets_settlement::{
    AccountKey, EmbeddedChain, EmbeddedConfig, EpochRoots, Parameters, Settlement,
    SignedAttestation, complete_now,
};
use nets_tournament::economics::RewardTable;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};

const ETHER: u128 = 1_000_000_000_000_000_000;

type Chain = Settlement<EmbeddedChain>;

/// Runs an embedded-chain future (it never waits).
fn now<T>(future: impl Future<Output = T>) -> Result<T> {
    complete_now(future).ok_or_else(|| anyhow!("the embedded chain waited"))
}

struct Bench {
    settlement: Chain,
    stakers: Vec<(Keypair, AccountKey)>,
    deployer: AccountKey,
}

/// A contract with `n` stakers of one ether each, every one with its key bound.
fn setup(n: usize) -> Result<Bench> {
    let mut chain = EmbeddedChain::in_memory(EmbeddedConfig::default());
    let deployer = AccountKey::derive_from_ed25519(&[0xde; 32]);
    chain.set_balance_now(deployer.address(), U256::from(1_000_000 * ETHER))?;
    let params = Parameters {
        challenge_window: 100,
        unbonding_delay: 1_000,
        ..Parameters::default()
    };
    let mut settlement = now(Settlement::deploy(chain, &deployer, params))??;
    let mut stakers = Vec::new();
    for i in 0..n {
        let mut secret = [0u8; 32];
        secret[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        let identity = Keypair::from_secret(secret);
        let account = AccountKey::derive_from_identity(&identity);
        settlement
            .chain_mut()
            .set_balance_now(account.address(), U256::from(100 * ETHER))?;
        now(settlement.stake(&account, ETHER))??;
        now(settlement.bind_key(&account, &identity))??;
        stakers.push((identity, account));
    }
    Ok(Bench {
        settlement,
        stakers,
        deployer,
    })
}

fn roots(epoch: u64, table: &RewardTable) -> Result<EpochRoots> {
    Ok(EpochRoots {
        epoch,
        outcomes_root: Hash32([epoch as u8 ^ 0x5a; 32]),
        rewards_root: table.root(),
        total_payout: table.total().context("overflow")?,
    })
}

fn signed(b: &Bench, roots: &EpochRoots, n: usize) -> Result<Vec<SignedAttestation>> {
    b.stakers
        .iter()
        .take(n)
        .map(|(_, a)| Ok(b.settlement.sign_attestation(a, roots)?))
        .collect()
}

/// A table of `leaves` players in which the first `bound` stakers of `b` are players.
fn big_table(b: &Bench, leaves: usize, bound: usize) -> RewardTable {
    let mut balances = BTreeMap::new();
    for (identity, _) in b.stakers.iter().take(bound) {
        balances.insert(identity.id(), 1_000);
    }
    let mut i: u64 = 0;
    while balances.len() < leaves {
        let mut key = [0xffu8; 32];
        key[..8].copy_from_slice(&i.to_be_bytes());
        balances.insert(PlayerId(key), 1 + u128::from(i % 1000));
        i += 1;
    }
    RewardTable {
        balances,
        ..RewardTable::default()
    }
}

fn main() -> Result<()> {
    let mut rows: Vec<(String, u64)> = Vec::new();

    // Deployment, staking, keys, deposits, unbonding.
    {
        let mut chain = EmbeddedChain::in_memory(EmbeddedConfig::default());
        let deployer = AccountKey::derive_from_ed25519(&[0xde; 32]);
        chain.set_balance_now(deployer.address(), U256::from(100 * ETHER))?;
        let code = [
            nets_settlement::bindings::NetsSettlement::BYTECODE.as_ref(),
            &nets_settlement::alloy::sol_types::SolConstructor::abi_encode(
                &nets_settlement::bindings::NetsSettlement::constructorCall {
                    challengeWindow_: 3600,
                    unbondingDelay_: 604_800,
                    quorumBps_: 6667,
                    reporterBps_: 1000,
                },
            ),
        ]
        .concat();
        let receipt = chain.send_now(
            &deployer,
            nets_settlement::TxRequest {
                to: None,
                data: code.into(),
                value: U256::ZERO,
            },
        )?;
        rows.push(("deploy".into(), receipt.gas_used));
    }
    let mut b = setup(2)?;
    let (identity, account) = (
        Keypair::from_secret([0x77; 32]),
        AccountKey::derive_from_ed25519(&[0x77; 32]),
    );
    let s = &mut b.settlement;
    s.chain_mut()
        .set_balance_now(account.address(), U256::from(100 * ETHER))?;
    rows.push((
        "stake (first)".into(),
        now(s.stake(&account, ETHER))??.gas_used,
    ));
    rows.push((
        "stake (more)".into(),
        now(s.stake(&account, ETHER))??.gas_used,
    ));
    rows.push((
        "bindKey".into(),
        now(s.bind_key(&account, &identity))??.gas_used,
    ));
    rows.push((
        "deposit".into(),
        now(s.deposit(&account, &identity.id(), 1_000_000))??.gas_used,
    ));
    rows.push((
        "unstake".into(),
        now(s.unstake(&account, ETHER / 2))??.gas_used,
    ));
    s.chain_mut().advance_time_now(1_000)?;
    rows.push(("withdraw".into(), now(s.withdraw(&account))??.gas_used));

    // Anchoring: n stakers, all sign, the aggregate reaches the quorum.
    let mut anchors = Vec::new();
    for n in [1usize, 2, 4, 8, 16, 32, 64] {
        let mut b = setup(n)?;
        let table = big_table(&b, 8, 0);
        let deposit = table.total().context("overflow")?;
        let payer = b.stakers[0].1.clone();
        let payer_id = b.stakers[0].0.id();
        now(b.settlement.deposit(&payer, &payer_id, deposit))??;
        let r = roots(0, &table)?;
        let sigs = signed(&b, &r, n)?;
        let receipt = now(b.settlement.attest(&b.deployer, &r, &sigs))??;
        anchors.push((n, receipt.gas_used));
        rows.push((
            format!("attest, quorum reached ({n} signers)"),
            receipt.gas_used,
        ));
        if n == 4 {
            // Below the quorum: one of four signs another table.
            let mut other = r;
            other.outcomes_root = Hash32([1; 32]);
            let sigs = signed(&b, &other, 1)?;
            let receipt = now(b.settlement.attest(&b.deployer, &other, &sigs))??;
            rows.push(("attest, below quorum (1 of 4)".into(), receipt.gas_used));
            b.settlement.chain_mut().advance_time_now(100)?;
            let receipt = now(b.settlement.finalise(&b.deployer, &r))??;
            rows.push(("finalise".into(), receipt.gas_used));
            // Slashing the equivocator of epoch 1 (with a quorum to revoke) and of epoch 0
            // (finalised: nothing to revoke).
            let r1 = roots(1, &table)?;
            let sigs = signed(&b, &r1, 4)?;
            now(b.settlement.attest(&b.deployer, &r1, &sigs))??;
            let mut conflicting = r1;
            conflicting.rewards_root = Hash32([2; 32]);
            let (_, cheat) = &b.stakers[3];
            let first = b.settlement.sign_attestation(cheat, &r1)?;
            let second = b.settlement.sign_attestation(cheat, &conflicting)?;
            let receipt = now(b.settlement.slash(&b.deployer, &first, &second))??;
            rows.push(("slash (revokes a quorum)".into(), receipt.gas_used));
            let (_, cheat) = &b.stakers[2];
            let first = b.settlement.sign_attestation(cheat, &r)?;
            let second = b.settlement.sign_attestation(cheat, &other)?;
            let receipt = now(b.settlement.slash(&b.deployer, &first, &second))??;
            rows.push(("slash (finalised epoch)".into(), receipt.gas_used));
        }
    }

    // Claims against tables of growing size.
    let mut claim_65536 = Vec::new();
    for leaves in [4usize, 1_024, 65_536] {
        let mut b = setup(3)?;
        // At 1 024 leaves, one of them lists a staker convicted of match fraud, slashed after
        // the claims.
        let convict = b.stakers[2].0.id();
        let table = if leaves == 1_024 {
            let mut t = big_table(&b, leaves - 1, 3);
            t.convicted.insert(convict);
            t
        } else {
            big_table(&b, leaves, 3)
        };
        let deposit = table.total().context("overflow")?;
        let payer = b.stakers[0].1.clone();
        let payer_id = b.stakers[0].0.id();
        b.settlement.chain_mut().set_balance_now(
            payer.address(),
            U256::from(deposit) + U256::from(100 * ETHER),
        )?;
        now(b.settlement.deposit(&payer, &payer_id, deposit))??;
        let r = roots(0, &table)?;
        let sigs = signed(&b, &r, 3)?;
        now(b.settlement.attest(&b.deployer, &r, &sigs))??;
        b.settlement.chain_mut().advance_time_now(100)?;
        now(b.settlement.finalise(&b.deployer, &r))??;
        for (i, (identity, account)) in b.stakers.iter().take(2).enumerate() {
            let (balance, proof) = table.proof(&identity.id()).context("a player")?;
            let receipt = now(b.settlement.claim(account, balance, &proof))??;
            let label = if i == 0 {
                "first in the contract"
            } else {
                "later"
            };
            rows.push((
                format!(
                    "claim, {} leaves ({} siblings, {label})",
                    table.balances.len() + table.convicted.len(),
                    proof.siblings().len()
                ),
                receipt.gas_used,
            ));
            if leaves == 65_536 {
                claim_65536.push(receipt.gas_used);
            }
        }
        if let Some(proof) = table.conviction_proof(&convict) {
            let receipt = now(b.settlement.slash_convicted(&b.deployer, &convict, &proof))??;
            rows.push((
                format!(
                    "slashConvicted, {} leaves ({} siblings)",
                    table.balances.len() + table.convicted.len(),
                    proof.siblings().len()
                ),
                receipt.gas_used,
            ));
        }
    }

    println!("| function | gas |");
    println!("|---|---:|");
    for (name, gas) in &rows {
        println!("| {name} | {gas} |");
    }
    let first = anchors.first().context("anchors")?;
    let last = anchors.last().context("anchors")?;
    let per_signer = (last.1 - first.1) as f64 / (last.0 - first.0) as f64;
    let base = first.1 as f64 - per_signer;
    println!();
    println!(
        "anchoring: {base:.0} gas + {per_signer:.0} per signer (fit from {} to {} signers); goal 80000 + 6000: {}",
        first.0,
        last.0,
        if base <= 80_000.0 && per_signer <= 6_000.0 {
            "met"
        } else {
            "missed"
        }
    );
    let worst = claim_65536.iter().max().context("claims")?;
    println!(
        "claim at 65536 leaves: at most {worst} gas; goal 75000: {}",
        if *worst <= 75_000 { "met" } else { "missed" }
    );
    Ok(())
}
