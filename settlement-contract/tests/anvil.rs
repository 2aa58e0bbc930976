//! The JSON-RPC backend against anvil (started by the tests from the npm install; see
//! scripts/setup-contract), and the same scenario on both backends: same final state, same
//! gas per call.

mod support;

use nets_settlement::alloy::primitives::U256;
use nets_settlement::alloy::providers::Provider;
use nets_settlement::anvil::Anvil;
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, Error, RpcChain, RpcConfig, StakeStatus,
    Status,
};
use nets_tournament::hash::Hash32;
use nets_tournament::merkle::Proof;
use support::*;

/// What a scenario leaves behind, for comparing backends.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    gas: Vec<(&'static str, u64)>,
    status: Status,
    stakes: Vec<StakeStatus>,
    claimed: Vec<u128>,
}

/// Deploy, stake four accounts, fund, aggregate-attest an epoch, finalise, claim, catch an
/// equivocator in the next epoch, re-attest without it, finalise, claim the difference,
/// unstake and withdraw.
async fn scenario<C: Chain>(chain: C) -> Result<Outcome, Error> {
    let mut gas = Vec::new();
    let (mut s, nodes) = world(chain, params(), 4, 4, ETHER).await?;
    let payer = &nodes[3];
    gas.push((
        "deposit",
        s.deposit(&payer.account, &payer.id(), 10_000)
            .await?
            .gas_used,
    ));
    let t0 = table(&nodes, &[0, 0, 4_000, 6_000]);
    let r0 = roots_of(0, &t0);
    gas.push((
        "attest (3 signers)",
        attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &r0)
            .await?
            .gas_used,
    ));
    s.chain_mut().advance_time(100).await?;
    gas.push(("finalise", s.finalise(&payer.account, &r0).await?.gas_used));
    for node in &nodes[2..] {
        let (balance, proof) = t0.proof(&node.id()).expect("in the table");
        gas.push((
            "claim",
            s.claim(&node.account, balance, &proof).await?.gas_used,
        ));
    }

    // Epoch 1: node 0 also signs a table paying itself.
    let t1 = table(&nodes, &[0, 0, 5_000, 7_000]);
    let r1 = roots_of(1, &t1);
    let selfish = roots_of(1, &table(&nodes, &[12_000]));
    s.deposit(&payer.account, &payer.id(), 2_000).await?;
    attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &r1).await?;
    let first = s.sign_attestation(&nodes[0].account, &r1)?;
    let second = s.sign_attestation(&nodes[0].account, &selfish)?;
    gas.push((
        "slash",
        s.slash(&nodes[3].account, &first, &second).await?.gas_used,
    ));
    assert_revert(s.finalise(&payer.account, &r1).await, "QuorumNotReached");
    gas.push((
        "attest (3 signers, again)",
        attest(&mut s, &[&nodes[1], &nodes[2], &nodes[3]], &r1)
            .await?
            .gas_used,
    ));
    s.chain_mut().advance_time(100).await?;
    s.finalise(&payer.account, &r1).await?;
    let (balance, proof) = t1.proof(&nodes[3].id()).expect("in the table");
    gas.push((
        "claim (difference)",
        s.claim(&nodes[3].account, balance, &proof).await?.gas_used,
    ));

    gas.push((
        "unstake",
        s.unstake(&nodes[1].account, ETHER / 2).await?.gas_used,
    ));
    s.chain_mut().advance_time(1_000).await?;
    gas.push(("withdraw", s.withdraw(&nodes[1].account).await?.gas_used));
    assert_solvent(&mut s).await;

    let mut stakes = Vec::new();
    let mut claimed = Vec::new();
    for node in &nodes {
        let mut stake = s.stake_of(node.account.address()).await?;
        // A timestamp: the backends' clocks differ.
        stake.unbonding_until = 0;
        stakes.push(stake);
        claimed.push(s.claimed(&node.id()).await?);
    }
    Ok(Outcome {
        gas,
        status: s.status().await?,
        stakes,
        claimed,
    })
}

fn anvil() -> Anvil {
    Anvil::spawn(31337).unwrap_or_else(|e| panic!("{e}"))
}

async fn connect(anvil: &Anvil) -> RpcChain {
    RpcChain::connect(&RpcConfig {
        url: anvil.url(),
        chain_id: anvil.chain_id(),
    })
    .await
    .expect("anvil answers")
}

#[tokio::test]
async fn both_backends_end_in_the_same_state_with_the_same_gas() {
    let anvil = anvil();
    let on_anvil = scenario(connect(&anvil).await).await.expect("on anvil");
    let embedded = scenario(EmbeddedChain::in_memory(EmbeddedConfig::default()))
        .await
        .expect("embedded");
    assert_eq!(on_anvil, embedded);
    // The scenario did what it says.
    let status = &embedded.status;
    assert_eq!(status.finalised_epoch, Some(1));
    assert_eq!(status.total_claimed, 11_000);
    assert_eq!(embedded.claimed, vec![0, 0, 4_000, 7_000]);
    assert!(embedded.stakes[0].slashed);
    assert_eq!(status.total_stake, 2 * ETHER + ETHER / 2);
}

#[tokio::test]
async fn reverts_come_back_decoded_over_json_rpc() -> Result<(), Error> {
    let anvil = anvil();
    let (mut s, nodes) = world(connect(&anvil).await, params(), 3, 2, ETHER).await?;
    let t = table(&nodes, &[1]);
    let (balance, proof) = t.proof(&nodes[0].id()).unwrap();
    assert_revert(
        s.claim(&nodes[0].account, balance, &proof).await,
        "NothingFinalised",
    );
    assert_revert(
        attest(&mut s, &[&nodes[2]], &roots_of(0, &table(&nodes, &[]))).await,
        "NotStaked",
    );
    assert_revert(s.withdraw(&nodes[0].account).await, "NothingToWithdraw");
    // A reverted call sent nothing: no nonce was used.
    let nonce = s
        .chain()
        .provider()
        .get_transaction_count(nodes[0].account.address())
        .await
        .unwrap();
    assert_revert(s.withdraw(&nodes[0].account).await, "NothingToWithdraw");
    assert_eq!(
        s.chain()
            .provider()
            .get_transaction_count(nodes[0].account.address())
            .await
            .unwrap(),
        nonce
    );
    Ok(())
}

#[tokio::test]
async fn bad_inputs_give_clear_errors() -> Result<(), Error> {
    let anvil = anvil();
    // The wrong chain id.
    let wrong = RpcChain::connect(&RpcConfig {
        url: anvil.url(),
        chain_id: 1,
    })
    .await;
    assert!(
        matches!(
            wrong,
            Err(Error::WrongChainId {
                expected: 1,
                actual: 31337
            })
        ),
        "{wrong:?}"
    );
    // An endpoint nobody listens on, and one that is not a URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = RpcChain::connect(&RpcConfig {
        url: format!("http://127.0.0.1:{port}"),
        chain_id: 31337,
    })
    .await;
    assert!(
        matches!(unreachable, Err(Error::Unreachable { .. })),
        "{unreachable:?}"
    );
    let message = unreachable.unwrap_err().to_string();
    assert!(message.contains("unreachable"), "{message}");
    let not_a_url = RpcChain::connect(&RpcConfig {
        url: "nowhere".into(),
        chain_id: 31337,
    })
    .await;
    assert!(matches!(not_a_url, Err(Error::Unreachable { .. })));
    // https is spoken (rustls): against anvil's plain-http port the TLS handshake fails,
    // rather than the URL's scheme being refused.
    let tls = RpcChain::connect(&RpcConfig {
        url: anvil.url().replace("http://", "https://"),
        chain_id: 31337,
    })
    .await;
    let message = format!("{:?}", tls.unwrap_err());
    assert!(!message.to_lowercase().contains("scheme"), "{message}");

    // An unfunded key: it can pay neither a stake nor the gas of a call without value.
    let (mut s, nodes) = world(connect(&anvil).await, params(), 1, 1, ETHER).await?;
    let poor = AccountKey::derive_from_ed25519(&[0x42; 32]);
    let stake = s.stake(&poor, 1).await;
    assert!(
        matches!(stake, Err(Error::UnfundedKey { address, .. }) if address == poor.address()),
        "{stake:?}"
    );
    let poor_node = Node::new(0x42);
    let bind = s.bind_key(&poor_node.account, &poor_node.identity).await;
    assert!(matches!(bind, Err(Error::UnfundedKey { .. })), "{bind:?}");

    // A malformed proof is refused before anything is sent.
    let long = Proof(vec![Hash32([1; 32]); 65]);
    assert!(matches!(
        s.claim(&nodes[0].account, 1, &long).await,
        Err(Error::MalformedProof(_))
    ));
    // Moving time and funding accounts work on anvil.
    let before = s.chain_mut().timestamp().await?;
    s.chain_mut().advance_time(500).await?;
    assert!(s.chain_mut().timestamp().await? >= before + 500);
    s.chain_mut()
        .set_balance(poor.address(), U256::from(ETHER))
        .await?;
    s.stake(&poor, 1).await?;
    Ok(())
}
