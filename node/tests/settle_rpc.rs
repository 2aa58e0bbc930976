//! Real `netsd` processes settling on a JSON-RPC chain (anvil) that is down when they start:
//! they play regardless, report the unreachable endpoint, and settle the epoch once the chain
//! comes up, without anything being lost or redone.

mod common;

use std::time::{Duration, Instant};

use common::{Schedule, get, init, now_ms, spawn, status, stop, wait_until};
use nets_settlement::anvil::{Anvil, free_port};
use nets_settlement::{AccountKey, Chain, Parameters, RpcChain, RpcConfig, Settlement};

const CHAIN_ID: u64 = 31337;

#[test]
fn nodes_play_while_the_chain_is_down_and_settle_once_it_is_up() {
    let root = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let schedule = Schedule {
        genesis_ms: now_ms() + 8_000,
        epoch_ms: 10_000,
        grace_ms: 2_000,
    };
    let dirs: Vec<_> = (0..3).map(|i| root.path().join(format!("n{i}"))).collect();
    // The contract will be the first creation of node 0's derived account: its address is
    // known before the chain exists.
    init(&dirs[0], &schedule, "search", "");
    let node0 = nets_node::keyfile::load(&dirs[0].join("node.key")).unwrap();
    let deployer = AccountKey::derive_from_identity(&node0);
    let contract = deployer.address().create(0);
    let settlement = format!(
        "[settlement]\nchain = {url:?}\nchain_id = {CHAIN_ID}\ncontract = \"{contract}\"\n\
         stake = \"1 ether\"\nfaucet = true\n"
    );
    let config = dirs[0].join("netsd.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n{settlement}")).unwrap();
    init(&dirs[1], &schedule, "greedy", &settlement);
    init(&dirs[2], &schedule, "random", &settlement);
    let mut nodes = vec![spawn(&dirs[0], None)];
    let boot = nodes[0].listen.clone();
    for dir in &dirs[1..] {
        nodes.push(spawn(dir, Some(&boot)));
    }

    // Epoch 0 is played and closed with no chain at all.
    wait_until(schedule.close_of(0) + schedule.grace_ms + 1_500);
    let s = status(&nodes[0]);
    let error = s["settlement"]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("unreachable"), "{s}");
    let items: Vec<String> = serde_json::from_str(&get(&nodes[0], "/epochs/0/items")).unwrap();
    assert!(!items.is_empty(), "epoch 0 was played");

    // The chain comes up; the contract is deployed where the nodes expect it.
    let _anvil = Anvil::spawn_on(CHAIN_ID, port).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = RpcConfig {
        url: url.clone(),
        chain_id: CHAIN_ID,
    };
    let mut reader = runtime.block_on(async {
        let mut chain = RpcChain::connect(&config).await.unwrap();
        chain
            .set_balance(deployer.address(), 10u128.pow(20).try_into().unwrap())
            .await
            .unwrap();
        let params = Parameters {
            challenge_window: 2,
            ..Parameters::default()
        };
        let deployed = Settlement::deploy(chain, &deployer, params).await.unwrap();
        assert_eq!(deployed.address(), contract);
        deployed
    });

    // Within the settlers' back-off, epoch 0 is anchored, finalised and claimed.
    let start = Instant::now();
    let status_now = loop {
        let st = runtime.block_on(reader.status()).unwrap();
        if st.finalised_epoch.is_some() && st.total_claimed == st.total_payout {
            break st;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let log = std::fs::read_to_string(dirs[0].join("netsd.log")).unwrap_or_default();
            let settling: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("settl") || l.contains("panic") || l.contains("ERROR"))
                .collect();
            panic!(
                "not settled: {st:?}\n{}\nnode 0's log:\n{}",
                status(&nodes[0])["settlement"],
                settling[settling.len().saturating_sub(40)..].join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let epoch = status_now.finalised_epoch.unwrap();
    assert!(status_now.total_payout > 0, "the pot paid someone");
    assert_eq!(status_now.balance, status_now.obligations());
    // What was anchored is what the nodes ranked.
    let rankings: serde_json::Value = serde_json::from_str(&get(
        &nodes[1],
        &format!("/rankings?format=json&epoch={epoch}"),
    ))
    .unwrap();
    let root_hex = rankings[0]["outcomes_root"].as_str().unwrap().to_string();
    assert_eq!(
        root_hex,
        hex::encode(status_now.outcomes_root.0),
        "{rankings}"
    );
    // Every node staked, bound its key and saw the finalisation; none reports an error.
    for node in &nodes {
        let start = Instant::now();
        loop {
            let s = status(node)["settlement"].clone();
            if s["joined"] == true && s["last_error"].is_null() && !s["finalised_epoch"].is_null() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{s}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    for node in &mut nodes {
        stop(node);
    }
}
