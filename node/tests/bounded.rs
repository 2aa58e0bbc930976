//! Connections stay bounded: 24 nodes in one process, each allowed to keep 6 peers beyond
//! what it needs. Kademlia's queries and gossip would connect every node to nearly every
//! other; the pruning policy keeps each node near its target while discovery and gossip still
//! work.

use std::time::Duration;

use nets_node::clock::now_ms;
use nets_node::config::Config;
use nets_node::runner;
use tokio_util::sync::CancellationToken;

const NODES: usize = 24;
const TARGET: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_count_stays_bounded_while_discovery_and_gossip_work() {
    let root = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    // No rounds: the test is about the network, so epoch 0 opens far in the future.
    let mut schedule = nets_node::devnet::schedule(now_ms() + 3_600_000, 60_000);
    schedule.warmup_ms = 1_000;
    let mut nodes = Vec::new();
    let mut bootstrap = Vec::new();
    for i in 0..NODES {
        let dir = root.path().join(format!("n{i}"));
        runner::init(&dir).unwrap();
        let mut config = Config::default();
        config.network.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        config.network.bootstrap = bootstrap.clone();
        config.network.target_peers = TARGET;
        config.schedule = schedule;
        config.api.listen = String::new();
        let running = runner::start(&dir, config, shutdown.child_token())
            .await
            .unwrap();
        if i == 0 {
            let mut status = running.handle.status.clone();
            let addr = loop {
                if let Some(a) = status.borrow().listen.first() {
                    break a.clone();
                }
                status.changed().await.unwrap();
            };
            bootstrap.push(format!("{addr}/p2p/{}", running.handle.peer_id));
        }
        nodes.push(running);
    }
    // Every node gossips its entry as soon as it is connected, and a node cut off dials its
    // bootstrap peer again and fetches what it missed: wait (at most two minutes) until
    // every node knows every entrant.
    let start = std::time::Instant::now();
    while nodes
        .iter()
        .any(|n| n.handle.status.borrow().leagues[0].entrants.len() < NODES)
        && start.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Past the joining of the DHT.
    tokio::time::sleep(Duration::from_secs(12).saturating_sub(start.elapsed())).await;
    // Then sample every node's peer count for 12 s.
    let mut samples: Vec<Vec<usize>> = vec![Vec::new(); NODES];
    for _ in 0..24 {
        for (i, n) in nodes.iter().enumerate() {
            samples[i].push(n.handle.status.borrow().peers.len());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let entrants: Vec<usize> = nodes
        .iter()
        .map(|n| n.handle.status.borrow().leagues[0].entrants.len())
        .collect();
    let means: Vec<f64> = samples
        .iter()
        .map(|s| s.iter().sum::<usize>() as f64 / s.len() as f64)
        .collect();
    let most: Vec<usize> = samples.iter().map(|s| *s.iter().max().unwrap()).collect();
    shutdown.cancel();
    eprintln!("mean peers per node while sampled: {means:.1?}");
    eprintln!("most peers per node while sampled: {most:?}");
    // Every node still heard of every entrant, through gossip over the pruned connections.
    assert!(entrants.iter().all(|e| *e == NODES), "{entrants:?}");
    // Kademlia's queries briefly open connections to the peers they ask (here, in a network
    // this small, nearly everyone), and the policy closes them again within a second: on average
    // a node holds its target plus the peers it needs (its gossip mesh, at most
    // mesh_n_high = 12, overlapping the target, and its bootstrap peer) and the lookups of
    // the moment, clearly below the whole network (23 without pruning).
    let overall = means.iter().sum::<f64>() / NODES as f64;
    assert!(overall <= 15.0, "mean {overall} peers per node; {means:?}");
    // The bootstrap node, which every node joins through, carries a little more.
    for (i, m) in means.iter().enumerate() {
        assert!(*m <= 20.0, "node {i}: mean {m} peers; {means:?}");
    }
}
