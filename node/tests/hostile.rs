//! Hostile peers against a real `netsd` process: the node core's intake rules, end to end.
//!
//! Each hostile peer is a plain libp2p client built from the node's own behaviour, under a
//! stranger's key. One publishes junk and one an item on the wrong topic: both are refused,
//! and gossipsub's score of each sender at the node drops below zero. A third publishes an
//! entry for a league the node does not follow (ignored and not stored) and entries from a
//! clock a little ahead (ignored): its score stays at zero or above. A fourth opens a match
//! link and stays silent: the node closes it after the step timeout. Every check waits for a
//! condition, bounded, never for a fixed time.

mod common;

use std::time::{Duration, Instant};

use common::{Schedule, get, init, now_ms, spawn, status, stop};
use futures::StreamExt;
use libp2p::{Multiaddr, PeerId};
use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_p2p::gossip::{GossipTopic, Topic};
use nets_tournament::hash::Hash32;
use nets_tournament::identity::Keypair;
use nets_tournament::league::{Entry, League};
use nets_tournament::node::item::Item;
use tokio::sync::{mpsc, oneshot};

/// A hostile peer, driven by a task of its own.
struct Hostile {
    peer: PeerId,
    publish: mpsc::Sender<(Topic, Vec<u8>, oneshot::Sender<bool>)>,
    control: libp2p_stream::Control,
}

impl Hostile {
    fn connect(seed: u8, addr: &Multiaddr) -> Self {
        let key = nets_p2p::keypair([seed; 32]).unwrap();
        let mut swarm = nets_p2p::build_swarm(key, &nets_p2p::NetConfig::default()).unwrap();
        let peer = *swarm.local_peer_id();
        let control = swarm.behaviour().streams.new_control();
        swarm.dial(addr.clone()).unwrap();
        let (publish, mut rx) = mpsc::channel::<(Topic, Vec<u8>, oneshot::Sender<bool>)>(8);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = swarm.select_next_some() => {}
                    next = rx.recv() => {
                        let Some((topic, bytes, done)) = next else { break };
                        let gossip = &mut swarm.behaviour_mut().gossipsub;
                        let _ = done.send(gossip.publish(topic.ident(), bytes).is_ok());
                    }
                }
            }
        });
        Self {
            peer,
            publish,
            control,
        }
    }

    /// Publishes, retrying until the node is subscribed and gossipsub sends it.
    async fn send(&self, topic: Topic, bytes: Vec<u8>) {
        let start = Instant::now();
        loop {
            let (done, sent) = oneshot::channel();
            self.publish
                .send((topic, bytes.clone(), done))
                .await
                .unwrap();
            if sent.await.unwrap() {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "cannot publish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A counter of the node's `/metrics`, 0 if absent.
fn metric(node: &common::Node, name: &str) -> u64 {
    get(node, "/metrics")
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// The node's gossip score of `peer`, if it has one.
fn score(node: &common::Node, peer: &PeerId) -> Option<f64> {
    status(node)["peer_scores"][peer.to_string()].as_f64()
}

/// Waits (at most a minute) until `ok` holds.
async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn entry(key: &Keypair, league: Hash32, epoch: u64) -> Vec<u8> {
    Item::Entry(Entry::sign(key, league, epoch, vec![])).to_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_refused_ignored_or_cut_off_as_each_rule_says() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("node");
    let schedule = Schedule {
        genesis_ms: now_ms(),
        epoch_ms: 6_000,
        grace_ms: 1_000,
    };
    init(
        &dir,
        &schedule,
        "greedy",
        "[settlement]\nchain = \"none\"\n",
    );
    let mut node = spawn(&dir, None);
    let addr: Multiaddr = node.listen.parse().unwrap();
    let Some(libp2p::multiaddr::Protocol::P2p(node_peer)) = addr.iter().last() else {
        panic!("{addr} names no peer");
    };
    let league = League {
        env: EnvSpec::Snake(SnakeParams::duel(11)),
        tier: 0,
    };
    let epoch_of = |t: u64| (t - schedule.genesis_ms) / schedule.epoch_ms;
    let stranger = Keypair::from_secret([0x67; 32]);

    // Junk, and a valid entry on the outcomes topic: refused, and each sender's score drops.
    let junk = Hostile::connect(0x61, &addr);
    let misfiled = Hostile::connect(0x62, &addr);
    junk.send(Topic::Outcomes, vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01])
        .await;
    let next = epoch_of(now_ms()) + 1;
    misfiled
        .send(Topic::Outcomes, entry(&stranger, league.id(), next))
        .await;
    until("two refusals, and both senders scored below zero", || {
        metric(&node, "nets_gossip_refused_total") >= 2
            && score(&node, &junk.peer).is_some_and(|s| s < 0.0)
            && score(&node, &misfiled.peer).is_some_and(|s| s < 0.0)
    })
    .await;

    // An entry for a league the node does not follow: ignored, not stored.
    let honest = Hostile::connect(0x63, &addr);
    let other = League {
        env: EnvSpec::Snake(SnakeParams::duel(9)),
        tier: 2,
    };
    let unknown = entry(&stranger, other.id(), epoch_of(now_ms()) + 1);
    honest.send(Topic::Entries, unknown.clone()).await;
    until("an entry for an unknown league ignored", || {
        metric(&node, "nets_items_ignored_total{kind=\"unknown_league\"}") >= 1
    })
    .await;

    // An entry for the epoch after next, sent in the second and a half before the next
    // epoch starts: from a clock that runs ahead, not an attack. Tried in a few epochs, each
    // time from a new key, until one lands before the boundary (under load it may not).
    for attempt in 0..8u8 {
        let now = now_ms();
        let start_next = schedule.genesis_ms + (epoch_of(now) + 1) * schedule.epoch_ms;
        if now + 1_500 > start_next {
            // Too close: wait for the window of the epoch after.
            tokio::time::sleep(Duration::from_millis(start_next + 100 - now)).await;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(start_next - 1_500 - now)).await;
        let early = entry(
            &Keypair::from_secret([0x70 + attempt; 32]),
            league.id(),
            epoch_of(now_ms()) + 2,
        );
        honest.send(Topic::Entries, early).await;
        let sent = Instant::now();
        while sent.elapsed() < Duration::from_secs(3)
            && metric(&node, "nets_items_ignored_total{kind=\"early\"}") == 0
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if metric(&node, "nets_items_ignored_total{kind=\"early\"}") >= 1 {
            break;
        }
    }
    assert!(metric(&node, "nets_items_ignored_total{kind=\"early\"}") >= 1);
    // Neither cost their sender anything.
    assert_eq!(metric(&node, "nets_gossip_refused_total"), 2);
    assert!(score(&node, &honest.peer).is_some_and(|s| s >= 0.0));

    // A match link that never carries an invitation is closed after the step timeout (2 s).
    let mut silent = Hostile::connect(0x64, &addr);
    let mut stream = silent
        .control
        .open_stream(node_peer, nets_p2p::MATCH_PROTOCOL)
        .await
        .unwrap();
    let opened = Instant::now();
    let read = tokio::time::timeout(
        Duration::from_secs(60),
        nets_p2p::frame::read_frame(&mut stream, nets_p2p::MAX_MATCH_FRAME),
    )
    .await
    .expect("the silent link was never closed");
    assert!(matches!(read, Ok(None) | Err(_)), "{read:?}");
    eprintln!(
        "the silent link was closed after {:?} (step timeout 2 s)",
        opened.elapsed()
    );
    until("the silent link counted", || {
        metric(&node, "nets_matches_total{kind=\"silent_link\"}") >= 1
    })
    .await;

    // The node kept running; its store holds no trace of the unknown league's entry.
    assert!(status(&node)["peer_id"].is_string());
    stop(&mut node);
    let store = nets_node::store::Store::open(&nets_node::runner::store_path(&dir)).unwrap();
    assert!(!store.has_item(&Item::id_of(&unknown)).unwrap());
}
