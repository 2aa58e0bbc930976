//! For random reward tables built by the tournament core, every leaf's proof pays out in the
//! contract, altered claims are refused, and every conviction leaf proves.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use nets_settlement::alloy::primitives::{B256, U256};
use nets_settlement::bindings::NetsSettlement;
use nets_settlement::{AccountKey, EpochRoots, complete_now};
use nets_tournament::economics::RewardTable;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::PlayerId;
use proptest::prelude::*;
use support::*;

/// Tables of balances, with convicted keys among them and beside them (or none).
fn tables() -> impl Strategy<Value = RewardTable> {
    (
        proptest::collection::btree_map(any::<[u8; 32]>(), 1u128..=u128::from(u64::MAX), 1..24),
        proptest::collection::btree_set(any::<[u8; 32]>(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(balances, outsiders, convict_first)| {
            let mut convicted: BTreeSet<PlayerId> = outsiders.into_iter().map(PlayerId).collect();
            if convict_first && let Some(first) = balances.keys().next() {
                convicted.insert(PlayerId(*first));
            }
            RewardTable {
                balances: balances
                    .into_iter()
                    .map(|(key, balance)| (PlayerId(key), balance))
                    .collect::<BTreeMap<_, _>>(),
                convicted,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_leaf_claims_and_altered_claims_fail(table in tables(), flip in any::<(u8, u8)>()) {
        let outcome = complete_now(check(table, flip)).expect("the embedded chain never waits");
        prop_assert!(outcome.is_ok(), "{outcome:?}");
    }
}

/// Deploys, binds one account per player (the contract records keys, it does not check them),
/// funds and finalises the table, then claims every leaf.
async fn check(table: RewardTable, (byte, bit): (u8, u8)) -> Result<(), String> {
    let (mut s, nodes) = world(embedded(), params(), 1, 1, ETHER)
        .await
        .map_err(|e| e.to_string())?;
    let total = table.total().ok_or("overflow")?;
    let players: Vec<(PlayerId, AccountKey)> = table
        .balances
        .keys()
        .enumerate()
        .map(|(i, id)| (*id, AccountKey::derive_from_ed25519(&[i as u8 + 100; 32])))
        .collect();
    for (id, account) in &players {
        s.chain_mut()
            .set_balance_now(account.address(), U256::from(ETHER))
            .map_err(|e| e.to_string())?;
        let bind = NetsSettlement::bindKeyCall {
            key: B256::from(id.0),
            keySignature: [B256::ZERO; 2],
        };
        s.transact(account, &bind, U256::ZERO)
            .await
            .map_err(|e| e.to_string())?;
    }
    s.chain_mut()
        .set_balance_now(
            nodes[0].account.address(),
            U256::from(total) + U256::from(ETHER),
        )
        .map_err(|e| e.to_string())?;
    s.deposit(&nodes[0].account, &nodes[0].id(), total)
        .await
        .map_err(|e| e.to_string())?;
    let roots = EpochRoots {
        epoch: 0,
        outcomes_root: Hash32([1; 32]),
        rewards_root: table.root(),
        total_payout: total,
    };
    attest(&mut s, &[&nodes[0]], &roots)
        .await
        .map_err(|e| e.to_string())?;
    s.chain_mut()
        .advance_time_now(100)
        .map_err(|e| e.to_string())?;
    s.finalise(&nodes[0].account, &roots)
        .await
        .map_err(|e| e.to_string())?;

    for (id, account) in &players {
        let (balance, proof) = table.proof(id).ok_or("no proof")?;
        let siblings: Vec<B256> = proof.siblings().iter().map(|h| B256::from(h.0)).collect();
        // Altered: the balance, one bit of one sibling, an extra or a missing sibling.
        let mut altered = vec![
            NetsSettlement::claimCall {
                balance: balance + 1,
                proof: siblings.clone(),
            },
            NetsSettlement::claimCall {
                balance: balance - 1,
                proof: siblings.clone(),
            },
        ];
        if !siblings.is_empty() {
            let mut flipped = siblings.clone();
            let i = usize::from(byte) % flipped.len();
            flipped[i].0[usize::from(bit) % 32] ^= 1 << (bit % 8);
            altered.push(NetsSettlement::claimCall {
                balance,
                proof: flipped,
            });
            let mut shorter = siblings.clone();
            shorter.pop();
            altered.push(NetsSettlement::claimCall {
                balance,
                proof: shorter,
            });
        }
        let mut longer = siblings.clone();
        longer.push(B256::repeat_byte(byte));
        altered.push(NetsSettlement::claimCall {
            balance,
            proof: longer,
        });
        for call in &altered {
            match s.transact(account, call, U256::ZERO).await {
                Err(e) if e.revert_name() == Some("InvalidProof") => {}
                other => return Err(format!("altered claim {call:?}: {other:?}")),
            }
        }
        // Another player's account cannot use this proof.
        let (_, other) = players.iter().find(|(p, _)| p != id).unwrap_or(&players[0]);
        if other.address() != account.address() {
            let call = NetsSettlement::claimCall {
                balance,
                proof: siblings.clone(),
            };
            match s.transact(other, &call, U256::ZERO).await {
                Err(e) if e.revert_name() == Some("InvalidProof") => {}
                other => return Err(format!("claim by another account: {other:?}")),
            }
        }
        s.claim(account, balance, &proof)
            .await
            .map_err(|e| e.to_string())?;
        if s.claimed(id).await.map_err(|e| e.to_string())? != balance {
            return Err("claimed amount".into());
        }
    }
    let status = s.status().await.map_err(|e| e.to_string())?;
    if status.total_claimed != total {
        return Err(format!("claimed {} of {total}", status.total_claimed));
    }
    // Every conviction proves in the contract: the proof passes and the taking finds no stake
    // (these accounts never staked) or no account (keys outside the balances are unbound).
    for id in &table.convicted {
        let proof = table.conviction_proof(id).ok_or("no conviction proof")?;
        let expected = if table.balances.contains_key(id) {
            "NothingToSlash"
        } else {
            "UnknownKey"
        };
        match s.slash_convicted(&nodes[0].account, id, &proof).await {
            Err(e) if e.revert_name() == Some(expected) => {}
            other => return Err(format!("conviction of {id}: {other:?}")),
        }
    }
    // A balance proof convicts no one.
    for id in table.balances.keys() {
        let (_, proof) = table.proof(id).ok_or("no proof")?;
        let call = NetsSettlement::verifyProofCall {
            root: B256::from(roots.rewards_root.0),
            leaf: B256::from(RewardTable::conviction_leaf(id).0),
            proof: proof.siblings().iter().map(|h| B256::from(h.0)).collect(),
        };
        if s.read(&call).await.map_err(|e| e.to_string())? {
            return Err(format!("the balance proof of {id} shows a conviction"));
        }
    }
    Ok(())
}
