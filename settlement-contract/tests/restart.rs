//! The embedded chain keeps its state in a directory: a restart finds every stake, root and
//! claim, and the clock where it was.

mod support;

use nets_settlement::alloy::primitives::U256;
use nets_settlement::embedded::STATE_FILE;
use nets_settlement::{EmbeddedChain, EmbeddedConfig, Error, Settlement};
use support::*;

#[tokio::test]
async fn a_restarted_chain_keeps_stakes_roots_and_claims() -> Result<(), Error> {
    let dir = TempDir::new("restart");
    let config = EmbeddedConfig::default();
    let chain = EmbeddedChain::open(&dir.0, config)?;
    let (mut s, nodes) = world(chain, params(), 4, 3, ETHER).await?;
    s.deposit(&nodes[3].account, &nodes[3].id(), 900).await?;
    let t = table(&nodes, &[0, 0, 400, 500]);
    let roots = roots_of(0, &t);
    attest(&mut s, &[&nodes[0], &nodes[1], &nodes[2]], &roots).await?;
    s.chain_mut().advance_time_now(100)?;
    s.finalise(&nodes[0].account, &roots).await?;
    let (balance, proof) = t.proof(&nodes[3].id()).unwrap();
    s.claim(&nodes[3].account, balance, &proof).await?;
    s.unstake(&nodes[1].account, ETHER / 2).await?;

    let address = s.address();
    let status = s.status().await?;
    let stakes = [
        s.stake_of(nodes[0].account.address()).await?,
        s.stake_of(nodes[1].account.address()).await?,
    ];
    let time = s.chain_mut().timestamp_now();
    let number = s.chain_mut().block_number();
    let balance_3 = s.chain_mut().balance_now(nodes[3].account.address())?;
    drop(s);
    assert!(dir.0.join(STATE_FILE).is_file());
    assert!(
        !dir.0.join(format!("{STATE_FILE}.tmp")).exists(),
        "no temporary file is left behind"
    );

    let chain = EmbeddedChain::open(&dir.0, config)?;
    let mut s = Settlement::at(chain, address).await?;
    assert_eq!(s.status().await?, status);
    assert_eq!(status.finalised_epoch, Some(0));
    assert_eq!(status.rewards_root, t.root());
    assert_eq!(s.stake_of(nodes[0].account.address()).await?, stakes[0]);
    assert_eq!(s.stake_of(nodes[1].account.address()).await?, stakes[1]);
    assert_eq!(s.claimed(&nodes[3].id()).await?, 500);
    assert_eq!(s.chain_mut().timestamp_now(), time);
    assert_eq!(s.chain_mut().block_number(), number);
    assert_eq!(
        s.chain_mut().balance_now(nodes[3].account.address())?,
        balance_3
    );
    // The claim stays claimed, the other player can still claim, the unbonding still runs.
    assert_revert(
        s.claim(&nodes[3].account, balance, &proof).await,
        "NothingToClaim",
    );
    let (b2, p2) = t.proof(&nodes[2].id()).unwrap();
    s.claim(&nodes[2].account, b2, &p2).await?;
    assert_revert(s.withdraw(&nodes[1].account).await, "StillUnbonding");
    s.chain_mut().advance_time_now(1_000)?;
    s.withdraw(&nodes[1].account).await?;
    assert_solvent(&mut s).await;

    // The same state gives the same file.
    let before = std::fs::read(dir.0.join(STATE_FILE)).unwrap();
    drop(s);
    let reopened = EmbeddedChain::open(&dir.0, config)?;
    drop(reopened);
    assert_eq!(std::fs::read(dir.0.join(STATE_FILE)).unwrap(), before);
    Ok(())
}

#[tokio::test]
async fn a_state_directory_of_another_chain_or_garbage_is_refused() -> Result<(), Error> {
    let dir = TempDir::new("refused");
    let mut chain = EmbeddedChain::open(&dir.0, EmbeddedConfig::default())?;
    chain.set_balance_now(deployer().address(), U256::from(1))?;
    drop(chain);
    let other = EmbeddedConfig {
        chain_id: 7,
        ..EmbeddedConfig::default()
    };
    assert!(matches!(
        EmbeddedChain::open(&dir.0, other),
        Err(Error::WrongChainId {
            expected: 7,
            actual: 31337
        })
    ));
    std::fs::write(dir.0.join(STATE_FILE), b"{ not json").unwrap();
    assert!(matches!(
        EmbeddedChain::open(&dir.0, EmbeddedConfig::default()),
        Err(Error::State { .. })
    ));
    // No contract at an address.
    let chain = EmbeddedChain::in_memory(EmbeddedConfig::default());
    let nowhere = deployer().address();
    assert!(matches!(
        Settlement::at(chain, nowhere).await,
        Err(Error::NoContract(a)) if a == nowhere
    ));
    Ok(())
}
