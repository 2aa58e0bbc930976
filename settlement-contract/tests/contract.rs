//! The contract, function by function and revert by revert, on the embedded chain.

mod support;

use nets_settlement::alloy::primitives::{Address, B256, U256};
use nets_settlement::alloy::sol_types::SolStruct;
use nets_settlement::bindings::NetsSettlement::{self, NetsSettlementEvents as Event};
use nets_settlement::keys::verify_binding;
use nets_settlement::settlement::proof_from_bytes;
use nets_settlement::{AccountKey, EpochRoots, Error, Parameters, Settlement};
use nets_tournament::hash::Hash32;
use nets_tournament::identity::Keypair;
use nets_tournament::merkle::Proof;
use support::*;

type Result<T = ()> = std::result::Result<T, Error>;

#[tokio::test]
async fn deployment_refuses_unsafe_parameters() -> Result {
    let deployer = deployer();
    for bad in [
        // The unbonding delay must outlast the challenge window.
        Parameters {
            unbonding_delay: 100,
            ..params()
        },
        // A quorum of half the stake lets two roots both reach it.
        Parameters {
            quorum_bps: 5000,
            ..params()
        },
        Parameters {
            quorum_bps: 10_001,
            ..params()
        },
        Parameters {
            reporter_bps: 10_001,
            ..params()
        },
    ] {
        let mut chain = embedded();
        chain.set_balance_now(deployer.address(), U256::from(ETHER))?;
        assert_revert(
            Settlement::deploy(chain, &deployer, bad).await,
            "InvalidParameters",
        );
    }
    let (mut s, _) = world(embedded(), params(), 0, 0, 0).await?;
    assert_eq!(s.read(&NetsSettlement::challengeWindowCall {}).await?, 100);
    assert_eq!(s.read(&NetsSettlement::unbondingDelayCall {}).await?, 1_000);
    assert_eq!(s.read(&NetsSettlement::quorumBpsCall {}).await?, 6667);
    assert_eq!(s.read(&NetsSettlement::reporterBpsCall {}).await?, 1000);
    Ok(())
}

#[tokio::test]
async fn the_eip712_digest_matches_the_contract() -> Result {
    let (mut s, _) = world(embedded(), params(), 0, 0, 0).await?;
    let separator = s.read(&NetsSettlement::domainSeparatorCall {}).await?;
    assert_eq!(separator, s.domain().separator());
    for epoch in [0, 1, u64::MAX] {
        let roots = EpochRoots {
            epoch,
            outcomes_root: Hash32([0xaa; 32]),
            rewards_root: Hash32([0x55; 32]),
            total_payout: u128::MAX - u128::from(epoch),
        };
        let on_chain = s
            .read(&NetsSettlement::attestationDigestCall {
                att: roots.to_sol(),
            })
            .await?;
        assert_eq!(on_chain, roots.digest(s.domain()));
        assert_eq!(on_chain, roots.to_sol().eip712_signing_hash(s.domain()));
    }
    Ok(())
}

#[tokio::test]
async fn staking_unbonding_and_withdrawal() -> Result {
    let (mut s, nodes) = world(embedded(), params(), 2, 0, 0).await?;
    let a = &nodes[0].account;
    let receipt = s.stake(a, 5 * ETHER).await?;
    assert_eq!(
        s.events(&receipt),
        vec![Event::Staked(NetsSettlement::Staked {
            account: a.address(),
            amount: 5 * ETHER,
            active: 5 * ETHER,
        })]
    );
    s.stake(a, ETHER).await?;
    assert_eq!(s.stake_of(a.address()).await?.active, 6 * ETHER);
    assert_eq!(s.status().await?.total_stake, 6 * ETHER);
    assert_revert(s.stake(a, 0).await, "ZeroAmount");
    assert_revert(s.unstake(a, 0).await, "ZeroAmount");
    assert_revert(s.unstake(a, 7 * ETHER).await, "InsufficientStake");
    assert_revert(s.withdraw(a).await, "NothingToWithdraw");

    let now = s.chain_mut().timestamp_now();
    let receipt = s.unstake(a, 2 * ETHER).await?;
    assert_eq!(
        s.events(&receipt),
        vec![Event::UnstakeRequested(NetsSettlement::UnstakeRequested {
            account: a.address(),
            amount: 2 * ETHER,
            until: now + 1_000,
        })]
    );
    let stake = s.stake_of(a.address()).await?;
    assert_eq!((stake.active, stake.unbonding), (4 * ETHER, 2 * ETHER));
    assert_eq!(stake.unbonding_until, now + 1_000);
    let status = s.status().await?;
    assert_eq!(
        (status.total_stake, status.total_unbonding),
        (4 * ETHER, 2 * ETHER)
    );

    // Withdrawal before the unbonding delay.
    s.chain_mut().advance_time_now(999)?;
    assert_revert(s.withdraw(a).await, "StillUnbonding");
    s.chain_mut().advance_time_now(1)?;
    let before = s.chain_mut().balance_now(a.address())?;
    let receipt = s.withdraw(a).await?;
    assert_eq!(
        s.events(&receipt),
        vec![Event::Withdrawn(NetsSettlement::Withdrawn {
            account: a.address(),
            amount: 2 * ETHER,
        })]
    );
    // The embedded chain charges no gas, so the balance grows by exactly the stake.
    assert_eq!(
        s.chain_mut().balance_now(a.address())?,
        before + U256::from(2 * ETHER)
    );
    assert_revert(s.withdraw(a).await, "NothingToWithdraw");
    assert_eq!(s.stake_of(a.address()).await?.unbonding, 0);
    assert_solvent(&mut s).await;

    // An account without the value it sends.
    let poor = AccountKey::derive_from_ed25519(&[0x77; 32]);
    assert!(matches!(
        s.stake(&poor, 1).await,
        Err(Error::UnfundedKey { address, .. }) if address == poor.address()
    ));
    Ok(())
}

#[tokio::test]
async fn key_binding_is_once_per_account_and_per_key() -> Result {
    let (mut s, nodes) = world(embedded(), params(), 0, 0, 0).await?;
    let node = Node::new(9);
    let account = &node.account;
    s.chain_mut()
        .set_balance_now(account.address(), U256::from(ETHER))?;
    let receipt = s.bind_key(account, &node.identity).await?;
    let [Event::KeyBound(bound)] = &s.events(&receipt)[..] else {
        panic!("one KeyBound event");
    };
    assert_eq!(
        (bound.account, bound.key),
        (account.address(), B256::from(node.id().0))
    );
    // The signature in the event is the key's, over this account on this contract.
    let signature: [u8; 64] = [bound.keySignature[0].0, bound.keySignature[1].0]
        .concat()
        .try_into()
        .unwrap();
    assert!(verify_binding(
        &node.id(),
        31337,
        s.address(),
        account.address(),
        &signature
    ));
    assert_eq!(s.key_of(account.address()).await?, Some(node.id()));
    assert_eq!(s.account_of(&node.id()).await?, Some(account.address()));

    assert_revert(
        s.bind_key(account, &node.identity).await,
        "AccountAlreadyBound",
    );
    // Another account cannot take a bound key.
    let thief = AccountKey::derive_from_ed25519(&[0x66; 32]);
    s.chain_mut()
        .set_balance_now(thief.address(), U256::from(ETHER))?;
    assert_revert(s.bind_key(&thief, &node.identity).await, "KeyAlreadyBound");
    let zero = NetsSettlement::bindKeyCall {
        key: B256::ZERO,
        keySignature: [B256::ZERO; 2],
    };
    assert_revert(s.transact(&thief, &zero, U256::ZERO).await, "ZeroKey");
    assert_eq!(s.key_of(thief.address()).await?, None);
    assert_eq!(s.key_of(Address::repeat_byte(1)).await?, None);
    let _ = nodes;
    Ok(())
}

#[tokio::test]
async fn deposits_fund_rewards() -> Result {
    let (mut s, nodes) = world(embedded(), params(), 1, 0, 0).await?;
    let receipt = s.deposit(&nodes[0].account, &nodes[0].id(), 700).await?;
    assert_eq!(
        s.events(&receipt),
        vec![Event::Deposited(NetsSettlement::Deposited {
            from: nodes[0].account.address(),
            key: B256::from(nodes[0].id().0),
            amount: 700,
        })]
    );
    s.deposit(&nodes[0].account, &nodes[0].id(), 300).await?;
    assert_eq!(s.status().await?.reward_funds, 1_000);
    assert_eq!(s.status().await?.balance, U256::from(1_000));
    assert_revert(
        s.deposit(&nodes[0].account, &nodes[0].id(), 0).await,
        "ZeroAmount",
    );
    assert_solvent(&mut s).await;
    Ok(())
}

#[tokio::test]
async fn an_epoch_finalises_after_quorum_and_challenge_window() -> Result {
    // Four equal stakers: three of them are more than two thirds.
    let (mut s, nodes) = world(embedded(), params(), 4, 4, ETHER).await?;
    s.deposit(&nodes[0].account, &nodes[0].id(), 1_000).await?;
    let t = table(&nodes, &[600, 400]);
    let roots = roots_of(0, &t);

    // Nothing attested: no quorum.
    assert_revert(
        s.finalise(&nodes[0].account, &roots).await,
        "QuorumNotReached",
    );
    // Two of four is not enough: the aggregate is counted (its event), nothing is recorded.
    let receipt = attest(&mut s, &[&nodes[0], &nodes[1]], &roots).await?;
    let events = s.events(&receipt);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], Event::Attested(a) if a.stake == 2 * ETHER && a.signers == U256::from(2))
    );
    assert_eq!(s.epoch(0).await?.quorum_digest, None);
    assert_revert(
        s.finalise(&nodes[0].account, &roots).await,
        "QuorumNotReached",
    );

    let quorum_time = s.chain_mut().timestamp_now();
    let receipt = attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &roots).await?;
    let events = s.events(&receipt);
    assert!(
        matches!(&events[1], Event::QuorumReached(q) if q.stake == 3 * ETHER && q.totalStake == 4 * ETHER)
    );
    let epoch = s.epoch(0).await?;
    let digest = roots.digest(s.domain());
    assert_eq!(
        epoch.quorum_digest.map(|d| d.0),
        Some(digest.0[..24].try_into().unwrap())
    );
    assert_eq!(epoch.finalisable_at, Some(quorum_time + 100));
    assert!(!epoch.closed);

    // The challenge window.
    s.chain_mut().advance_time_now(99)?;
    assert_revert(
        s.finalise(&nodes[3].account, &roots).await,
        "ChallengeWindowOpen",
    );
    s.chain_mut().advance_time_now(1)?;
    // Other roots for the epoch hold no quorum.
    let mut other = roots;
    other.rewards_root = Hash32([9; 32]);
    assert_revert(
        s.finalise(&nodes[3].account, &other).await,
        "QuorumNotReached",
    );

    let receipt = s.finalise(&nodes[3].account, &roots).await?;
    assert!(
        matches!(&s.events(&receipt)[..], [Event::EpochFinalised(f)] if f.epoch == 0 && f.totalPayout == 1_000)
    );
    let status = s.status().await?;
    assert_eq!(status.finalised_epoch, Some(0));
    assert_eq!(status.next_epoch, 1);
    assert_eq!(status.rewards_root, t.root());
    assert_eq!(status.outcomes_root, roots.outcomes_root);
    assert_eq!(status.total_payout, 1_000);
    assert!(s.epoch(0).await?.closed);

    // A closed epoch takes no more attestations or finalisations.
    assert_revert(attest(&mut s, &[&nodes[0]], &roots).await, "EpochClosed");
    assert_revert(s.finalise(&nodes[0].account, &roots).await, "EpochClosed");
    assert_solvent(&mut s).await;
    Ok(())
}

#[tokio::test]
async fn a_later_epoch_passes_over_an_earlier_one() -> Result {
    let (mut s, nodes) = world(embedded(), params(), 3, 3, ETHER).await?;
    s.deposit(&nodes[0].account, &nodes[0].id(), 100).await?;
    let all = [&nodes[0], &nodes[1], &nodes[2]];
    let r1 = roots_of(1, &table(&nodes, &[50]));
    let r2 = roots_of(2, &table(&nodes, &[60, 40]));
    attest(&mut s, &all, &r1).await?;
    attest(&mut s, &all, &r2).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(&nodes[0].account, &r2).await?;
    assert_eq!(s.status().await?.next_epoch, 3);
    assert_revert(s.finalise(&nodes[0].account, &r1).await, "EpochClosed");
    Ok(())
}

#[tokio::test]
async fn attestation_reverts() -> Result {
    let (mut s, nodes) = world(embedded(), params(), 4, 3, ETHER).await?;
    s.deposit(&nodes[0].account, &nodes[0].id(), 1_000).await?;
    let roots = roots_of(0, &table(&nodes, &[1_000]));
    let submitter = deployer();

    // An unstaked attester (node 3 is bound but has no stake).
    assert_revert(
        attest(&mut s, &[&nodes[0], &nodes[3]], &roots).await,
        "NotStaked",
    );
    // No signatures at all.
    let empty = NetsSettlement::attestCall {
        att: roots.to_sol(),
        signatures: vec![],
    };
    assert_revert(
        s.transact(&submitter, &empty, U256::ZERO).await,
        "NoSignatures",
    );

    // Out of order, or one signer twice (both would count a stake twice).
    let mut signed: Vec<_> = nodes[..3]
        .iter()
        .map(|n| s.sign_attestation(&n.account, &roots).unwrap())
        .collect();
    signed.sort_by_key(|a| std::cmp::Reverse(a.signer));
    let reversed = NetsSettlement::attestCall {
        att: roots.to_sol(),
        signatures: signed.iter().map(|a| a.signature()).collect(),
    };
    assert_revert(
        s.transact(&submitter, &reversed, U256::ZERO).await,
        "SignersNotSorted",
    );
    let twice = NetsSettlement::attestCall {
        att: roots.to_sol(),
        signatures: vec![signed[0].signature(), signed[0].signature()],
    };
    assert_revert(
        s.transact(&submitter, &twice, U256::ZERO).await,
        "SignersNotSorted",
    );

    // A signature that recovers nobody, and one with s in the upper half of the order.
    let garbage = NetsSettlement::attestCall {
        att: roots.to_sol(),
        signatures: vec![NetsSettlement::Signature {
            r: B256::ZERO,
            vs: B256::repeat_byte(1),
        }],
    };
    assert_revert(
        s.transact(&submitter, &garbage, U256::ZERO).await,
        "InvalidSignature",
    );
    // (Compact signatures cannot carry most twins, whose s has its top bit set; one just
    // above half the order can be written and must be refused.)
    let half_order = U256::from_str_radix(
        "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
        16,
    )
    .unwrap();
    let twin = NetsSettlement::attestCall {
        att: roots.to_sol(),
        signatures: vec![NetsSettlement::Signature {
            r: signed[0].r,
            vs: B256::from(half_order + U256::from(1)),
        }],
    };
    assert_revert(
        s.transact(&submitter, &twin, U256::ZERO).await,
        "InvalidSignature",
    );
    // The client refuses a forged signature before sending anything.
    let mut forged = signed[0];
    forged.roots.total_payout += 1;
    assert!(matches!(
        s.attest(&submitter, &roots, &[forged]).await,
        Err(Error::InvalidAttestation(_))
    ));

    // A table paying more than the funds.
    let mut greedy = roots;
    greedy.total_payout = 1_001;
    assert_revert(
        attest(&mut s, &[&nodes[0], &nodes[1]], &greedy).await,
        "InsufficientFunds",
    );
    assert_eq!(s.epoch(0).await?.quorum_digest, None);
    Ok(())
}

#[tokio::test]
async fn claims_pay_the_difference_by_proof() -> Result {
    let (mut s, nodes) = world(embedded(), params(), 4, 3, ETHER).await?;
    let stakers = [&nodes[0], &nodes[1], &nodes[2]];
    let player = &nodes[3];
    s.deposit(&player.account, &player.id(), 1_000).await?;
    let t0 = table(&nodes, &[100, 0, 0, 500]);
    let r0 = roots_of(0, &t0);
    let (balance, proof) = t0.proof(&player.id()).unwrap();

    // Before any finalisation.
    let raw = NetsSettlement::claimCall {
        balance,
        proof: proof.siblings().iter().map(|h| B256::from(h.0)).collect(),
    };
    assert_revert(
        s.transact(&player.account, &raw, U256::ZERO).await,
        "NothingFinalised",
    );
    assert_revert(
        s.claim(&player.account, balance, &proof).await,
        "NothingFinalised",
    );

    attest(&mut s, &stakers, &r0).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(&player.account, &r0).await?;

    // A wrong proof: refused locally, and by the contract when sent anyway.
    let wrong = Proof(vec![Hash32([1; 32])]);
    assert!(matches!(
        s.claim(&player.account, balance, &wrong).await,
        Err(Error::ProofRejected { balance: 500 })
    ));
    let raw_wrong = NetsSettlement::claimCall {
        balance,
        proof: vec![B256::repeat_byte(1)],
    };
    assert_revert(
        s.transact(&player.account, &raw_wrong, U256::ZERO).await,
        "InvalidProof",
    );
    // The right proof for a larger balance.
    let raw_more = NetsSettlement::claimCall {
        balance: balance + 1,
        proof: raw.proof.clone(),
    };
    assert_revert(
        s.transact(&player.account, &raw_more, U256::ZERO).await,
        "InvalidProof",
    );
    // Another account's proof does not pay the caller: the leaf is the caller's key.
    assert_revert(
        s.transact(&nodes[0].account, &raw, U256::ZERO).await,
        "InvalidProof",
    );
    // An account with no key.
    let stranger = AccountKey::derive_from_ed25519(&[0x55; 32]);
    assert!(matches!(
        s.claim(&stranger, balance, &proof).await,
        Err(Error::KeyNotBound(a)) if a == stranger.address()
    ));
    assert_revert(s.transact(&stranger, &raw, U256::ZERO).await, "KeyNotBound");
    // Malformed proofs are refused before anything is sent.
    assert!(matches!(
        s.claim(&player.account, balance, &Proof(vec![Hash32([0; 32]); 65]))
            .await,
        Err(Error::MalformedProof(_))
    ));
    assert!(matches!(
        proof_from_bytes(&[0; 33]),
        Err(Error::MalformedProof(_))
    ));
    assert_eq!(proof_from_bytes(&[7; 64])?, Proof(vec![Hash32([7; 32]); 2]));

    let before = s.chain_mut().balance_now(player.account.address())?;
    let receipt = s.claim(&player.account, balance, &proof).await?;
    assert_eq!(
        s.events(&receipt),
        vec![Event::Claimed(NetsSettlement::Claimed {
            account: player.account.address(),
            key: B256::from(player.id().0),
            amount: 500,
            balance: 500,
        })]
    );
    assert_eq!(
        s.chain_mut().balance_now(player.account.address())?,
        before + U256::from(500)
    );
    assert_eq!(s.claimed(&player.id()).await?, 500);
    // The same claim twice.
    assert_revert(
        s.claim(&player.account, balance, &proof).await,
        "NothingToClaim",
    );
    assert_solvent(&mut s).await;

    // The next epoch's cumulative table: only the difference is paid.
    let t1 = table(&nodes, &[100, 0, 0, 800]);
    let r1 = roots_of(1, &t1);
    attest(&mut s, &stakers, &r1).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(&player.account, &r1).await?;
    // The old proof no longer matches the new root.
    assert!(matches!(
        s.claim(&player.account, balance, &proof).await,
        Err(Error::ProofRejected { .. })
    ));
    let (balance, proof) = t1.proof(&player.id()).unwrap();
    let receipt = s.claim(&player.account, balance, &proof).await?;
    assert!(
        matches!(&s.events(&receipt)[..], [Event::Claimed(c)] if c.amount == 300 && c.balance == 800)
    );
    assert_eq!(s.claimed(&player.id()).await?, 800);
    assert_eq!(s.status().await?.total_claimed, 800);
    assert_solvent(&mut s).await;

    // A cumulative total below what was already paid out is refused.
    let shrunk = roots_of(2, &table(&nodes, &[100, 0, 0, 500]));
    attest(&mut s, &stakers, &shrunk).await?;
    s.chain_mut().advance_time_now(100)?;
    assert_revert(
        s.finalise(&player.account, &shrunk).await,
        "PayoutBelowClaimed",
    );
    Ok(())
}

#[tokio::test]
async fn claims_never_exceed_the_tables_total() -> Result {
    // A quorum signs a table whose leaves add up to more than its stated total: the claims
    // stop at the total, so the stakes are never touched.
    let (mut s, nodes) = world(embedded(), params(), 3, 3, ETHER).await?;
    s.deposit(&nodes[0].account, &nodes[0].id(), 1_000).await?;
    let t = table(&nodes, &[600, 600]);
    let mut roots = roots_of(0, &t);
    roots.total_payout = 1_000;
    attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &roots).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(&nodes[0].account, &roots).await?;
    let (b0, p0) = t.proof(&nodes[0].id()).unwrap();
    let (b1, p1) = t.proof(&nodes[1].id()).unwrap();
    s.claim(&nodes[0].account, b0, &p0).await?;
    let result = s.claim(&nodes[1].account, b1, &p1).await;
    assert_revert(result, "ExceedsTotalPayout");
    let status = s.status().await?;
    assert_eq!(status.total_claimed, 600);
    assert_eq!(status.total_stake, 3 * ETHER);
    assert_solvent(&mut s).await;
    Ok(())
}

#[tokio::test]
async fn an_equivocator_is_slashed_and_its_quorum_revoked() -> Result {
    // Four equal stakers; node 0 signs two different tables for epoch 0.
    let (mut s, nodes) = world(embedded(), params(), 5, 4, ETHER).await?;
    s.deposit(&nodes[0].account, &nodes[0].id(), 1_000).await?;
    let honest = roots_of(0, &table(&nodes, &[0, 500, 500]));
    let selfish = roots_of(0, &table(&nodes, &[1_000]));
    attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &honest).await?;
    assert!(s.epoch(0).await?.quorum_digest.is_some());
    let first = s.sign_attestation(&nodes[0].account, &honest)?;
    let second = s.sign_attestation(&nodes[0].account, &selfish)?;

    // Invalid evidence.
    let reporter = &nodes[4].account;
    assert_revert(s.slash(reporter, &first, &first).await, "NotConflicting");
    let later = s.sign_attestation(&nodes[0].account, &roots_of(1, &table(&nodes, &[1])))?;
    assert_revert(s.slash(reporter, &first, &later).await, "NotConflicting");
    let by_other = s.sign_attestation(&nodes[1].account, &selfish)?;
    assert_revert(s.slash(reporter, &first, &by_other).await, "SignersDiffer");
    let mut broken = second;
    broken.r = B256::ZERO;
    assert_revert(s.slash(reporter, &first, &broken).await, "InvalidSignature");
    // An equivocator without stake has nothing to lose.
    let a = s.sign_attestation(&nodes[4].account, &honest)?;
    let b = s.sign_attestation(&nodes[4].account, &selfish)?;
    assert_revert(s.slash(reporter, &a, &b).await, "NothingToSlash");

    // Part of its stake is unbonding: still slashable.
    s.unstake(&nodes[0].account, ETHER / 4).await?;
    let before = s.chain_mut().balance_now(reporter.address())?;
    let receipt = s.slash(reporter, &first, &second).await?;
    let events = s.events(&receipt);
    assert_eq!(
        events[0],
        Event::Slashed(NetsSettlement::Slashed {
            account: nodes[0].account.address(),
            epoch: 0,
            reporter: reporter.address(),
            amount: ETHER,
            reward: ETHER / 10,
        })
    );
    assert!(matches!(&events[1], Event::QuorumRevoked(r) if r.epoch == 0));
    assert_eq!(
        s.chain_mut().balance_now(reporter.address())?,
        before + U256::from(ETHER / 10)
    );
    let stake = s.stake_of(nodes[0].account.address()).await?;
    assert_eq!((stake.active, stake.unbonding, stake.slashed), (0, 0, true));
    let status = s.status().await?;
    assert_eq!(status.total_stake, 3 * ETHER);
    assert_eq!(status.total_unbonding, 0);
    assert_eq!(status.reward_funds, 1_000 + ETHER - ETHER / 10);
    assert_solvent(&mut s).await;

    // The same evidence twice; and a convicted account may not stake again.
    assert_revert(s.slash(reporter, &first, &second).await, "NothingToSlash");
    assert_revert(s.stake(&nodes[0].account, ETHER).await, "AccountSlashed");

    // The quorum it was part of is gone: no finalisation, even after the window.
    s.chain_mut().advance_time_now(100)?;
    assert_eq!(s.epoch(0).await?.quorum_digest, None);
    assert_revert(s.finalise(reporter, &honest).await, "QuorumNotReached");
    // The equivocator's signature no longer counts.
    assert_revert(
        attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &honest).await,
        "NotStaked",
    );
    // The honest three (now the whole stake) reach it again, and a new window starts.
    attest(&mut s, &[&nodes[1], &nodes[2], &nodes[3]], &honest).await?;
    assert_revert(s.finalise(reporter, &honest).await, "ChallengeWindowOpen");
    s.chain_mut().advance_time_now(100)?;
    s.finalise(reporter, &honest).await?;
    assert_eq!(s.status().await?.finalised_epoch, Some(0));

    // Evidence about a finalised epoch still slashes, but revokes nothing.
    let x = s.sign_attestation(&nodes[1].account, &honest)?;
    let y = s.sign_attestation(&nodes[1].account, &selfish)?;
    let receipt = s.slash(reporter, &x, &y).await?;
    assert_eq!(s.events(&receipt).len(), 1);
    assert_eq!(s.status().await?.finalised_epoch, Some(0));
    assert_solvent(&mut s).await;
    Ok(())
}

#[tokio::test]
async fn a_player_convicted_in_the_finalised_table_is_slashed_on_its_proof() -> Result {
    // Four equal stakers; node 3 was convicted of match fraud in epoch 0, node 4 is a
    // convicted key bound to no stake.
    let (mut s, nodes) = world(embedded(), params(), 6, 4, ETHER).await?;
    s.deposit(&nodes[0].account, &nodes[0].id(), 1_000).await?;
    let mut t0 = table(&nodes, &[400, 300, 300, 0]);
    t0.convicted
        .extend([nodes[3].id(), nodes[4].id(), nodes[5].id()]);
    let r0 = roots_of(0, &t0);
    let reporter = &nodes[0].account;
    let proof = t0.conviction_proof(&nodes[3].id()).unwrap();

    // Nothing finalised yet.
    let raw = NetsSettlement::slashConvictedCall {
        key: B256::from(nodes[3].id().0),
        proof: proof.siblings().iter().map(|h| B256::from(h.0)).collect(),
    };
    assert_revert(
        s.transact(reporter, &raw, U256::ZERO).await,
        "NothingFinalised",
    );
    attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &r0).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(reporter, &r0).await?;

    // A balance leaf is not a conviction: node 1's claim proof convicts no one.
    let (_, balance_proof) = t0.proof(&nodes[1].id()).unwrap();
    assert!(matches!(
        s.slash_convicted(reporter, &nodes[1].id(), &balance_proof).await,
        Err(Error::ConvictionNotShown(p)) if p == nodes[1].id()
    ));
    let raw_other = NetsSettlement::slashConvictedCall {
        key: B256::from(nodes[1].id().0),
        proof: raw.proof.clone(),
    };
    assert_revert(
        s.transact(reporter, &raw_other, U256::ZERO).await,
        "InvalidProof",
    );
    // Sent anyway, the balance proof fails in the contract too.
    let raw_balance = NetsSettlement::slashConvictedCall {
        key: B256::from(nodes[1].id().0),
        proof: balance_proof
            .siblings()
            .iter()
            .map(|h| B256::from(h.0))
            .collect(),
    };
    assert_revert(
        s.transact(reporter, &raw_balance, U256::ZERO).await,
        "InvalidProof",
    );

    // The convicted staker loses its whole stake, unbonding part included: a tenth to the
    // reporter, the rest burned (not to the reward funds the quorum pays out).
    s.unstake(&nodes[3].account, ETHER / 2).await?;
    let before = s.chain_mut().balance_now(reporter.address())?;
    let funds = s.status().await?.reward_funds;
    let burn = Address::from([
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad,
    ]);
    let burned_before = s.chain_mut().balance_now(burn)?;
    let receipt = s.slash_convicted(reporter, &nodes[3].id(), &proof).await?;
    assert_eq!(
        s.events(&receipt),
        vec![Event::Slashed(NetsSettlement::Slashed {
            account: nodes[3].account.address(),
            epoch: 0,
            reporter: reporter.address(),
            amount: ETHER,
            reward: ETHER / 10,
        })]
    );
    assert_eq!(
        s.chain_mut().balance_now(reporter.address())?,
        before + U256::from(ETHER / 10)
    );
    let stake = s.stake_of(nodes[3].account.address()).await?;
    assert_eq!((stake.active, stake.unbonding, stake.slashed), (0, 0, true));
    let status = s.status().await?;
    assert_eq!(status.total_stake, 3 * ETHER);
    assert_eq!(status.reward_funds, funds);
    assert_eq!(
        s.chain_mut().balance_now(burn)?,
        burned_before + U256::from(ETHER - ETHER / 10)
    );
    assert_eq!(
        s.read(&NetsSettlement::burnedCall {}).await?,
        ETHER - ETHER / 10
    );
    assert_solvent(&mut s).await;
    // Once only; and the account may not stake again.
    assert_revert(
        s.slash_convicted(reporter, &nodes[3].id(), &proof).await,
        "NothingToSlash",
    );
    assert_revert(s.stake(&nodes[3].account, ETHER).await, "AccountSlashed");
    // A convicted key with an account but no stake, and one bound to no account.
    let p4 = t0.conviction_proof(&nodes[4].id()).unwrap();
    assert_revert(
        s.slash_convicted(reporter, &nodes[4].id(), &p4).await,
        "NothingToSlash",
    );
    let stranger = Keypair::from_secret([0x77; 32]).id();
    let mut t1 = t0.clone();
    t1.convicted.insert(stranger);
    let r1 = roots_of(1, &t1);
    attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &r1).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(reporter, &r1).await?;
    let ps = t1.conviction_proof(&stranger).unwrap();
    assert_revert(
        s.slash_convicted(reporter, &stranger, &ps).await,
        "UnknownKey",
    );
    // Convictions are cumulative: the later table still convicts node 5.
    let p5 = t1.conviction_proof(&nodes[5].id()).unwrap();
    assert_revert(
        s.slash_convicted(reporter, &nodes[5].id(), &p5).await,
        "NothingToSlash",
    );
    assert_solvent(&mut s).await;
    Ok(())
}

#[tokio::test]
async fn proofs_follow_the_tournament_test_vectors() -> Result {
    let (mut s, _) = world(embedded(), params(), 0, 0, 0).await?;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tournament/tests/vectors/merkle.json"
    ))
    .expect("the tournament's Merkle vectors");
    let vectors: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let hash = |v: &serde_json::Value| -> B256 { v.as_str().unwrap().parse().unwrap() };
    let trees = vectors["trees"].as_array().unwrap();
    assert!(!trees.is_empty());
    let mut checked = 0;
    for tree in trees {
        let root = hash(&tree["root"]);
        for (leaf, proof) in tree["leaves"]
            .as_array()
            .unwrap()
            .iter()
            .zip(tree["proofs"].as_array().unwrap())
        {
            let proof: Vec<B256> = proof.as_array().unwrap().iter().map(hash).collect();
            let call = NetsSettlement::verifyProofCall {
                root,
                leaf: hash(leaf),
                proof: proof.clone(),
            };
            assert!(s.read(&call).await?, "leaf {leaf} of tree {}", tree["n"]);
            let mut altered = call.clone();
            altered.leaf.0[0] ^= 1;
            assert!(!s.read(&altered).await?);
            checked += 1;
        }
        // Nothing verifies against the empty root.
        let empty = NetsSettlement::verifyProofCall {
            root: B256::ZERO,
            leaf: hash(&tree["leaves"][0]),
            proof: vec![],
        };
        assert!(!s.read(&empty).await?);
    }
    assert!(checked > 10);
    Ok(())
}
