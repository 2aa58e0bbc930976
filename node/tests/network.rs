//! Real `netsd` processes on 127.0.0.1: discovery, matches, gossip, agreement, and a node
//! killed with SIGKILL in the middle of a match.
//!
//! Each test gives its nodes a schedule whose epoch 0 opens a few seconds after start, so the
//! nodes find each other first; times are generous because the machine running the tests may
//! be slow and busy. Nothing here measures speed.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{Node, Schedule, get, init, netsd_ok, now_ms, spawn, status, stop, wait_until};

fn items(node: &Node, epoch: u64) -> BTreeSet<String> {
    serde_json::from_str(&get(node, &format!("/epochs/{epoch}/items"))).unwrap()
}

fn export(dir: &Path, epoch: u64) -> String {
    let epoch = epoch.to_string();
    netsd_ok([
        OsStr::new("rankings"),
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("csv"),
        OsStr::new("--epoch"),
        OsStr::new(&epoch),
        OsStr::new("--data-dir"),
        dir.as_os_str(),
    ])
}

#[test]
fn five_nodes_discover_each_other_play_gossip_and_agree() {
    let root = tempfile::tempdir().unwrap();
    let schedule = Schedule {
        genesis_ms: now_ms() + 12_000,
        epoch_ms: 12_000,
        grace_ms: 2_500,
    };
    let agents = ["greedy", "random", "greedy", "random", "search"];
    let dirs: Vec<PathBuf> = (0..5).map(|i| root.path().join(format!("n{i}"))).collect();
    for (dir, agent) in dirs.iter().zip(agents) {
        init(dir, &schedule, agent, "");
    }
    let mut nodes = vec![spawn(&dirs[0], None)];
    let boot = nodes[0].listen.clone();
    for dir in &dirs[1..] {
        nodes.push(spawn(dir, Some(&boot)));
    }
    // Every node learns all five entrants from their gossiped entries, though it was only
    // told about the first node.
    wait_until(schedule.genesis_ms);
    for n in &nodes {
        let s = status(n);
        let entrants = s["leagues"][0]["entrants"].as_array().unwrap().len();
        assert_eq!(
            entrants,
            5,
            "{} knows {entrants} entrants: {s}",
            n.dir.display()
        );
    }
    wait_until(schedule.close_of(1) + schedule.grace_ms + 1_500);
    // Everyone holds the same items of the closed epochs, and some matches were played.
    for epoch in 0..2 {
        let first = items(&nodes[0], epoch);
        assert!(!first.is_empty(), "no outcome in epoch {epoch}");
        for n in &nodes[1..] {
            assert_eq!(items(n, epoch), first, "items of epoch {epoch} differ");
        }
    }
    let api_csv: Vec<String> = nodes
        .iter()
        .map(|n| get(n, "/rankings?format=csv&epoch=1"))
        .collect();
    assert!(api_csv[0].lines().count() > 2, "{}", api_csv[0]);
    for c in &api_csv[1..] {
        assert_eq!(c, &api_csv[0]);
    }
    let metrics = get(&nodes[0], "/metrics");
    assert!(metrics.contains("nets_items_accepted_total"), "{metrics}");
    for n in &mut nodes {
        stop(n);
    }
    // A stopped node's data dir exports the same bytes as every other node.
    for epoch in 0..2 {
        let exports: Vec<String> = dirs.iter().map(|d| export(d, epoch)).collect();
        assert!(exports[0].lines().count() >= 3, "{}", exports[0]);
        for e in &exports[1..] {
            assert_eq!(e, &exports[0], "rankings of epoch {epoch} differ");
        }
        if epoch == 1 {
            assert_eq!(exports[0], api_csv[0]);
        }
    }
}

#[test]
fn a_node_killed_mid_match_forfeits_and_catches_up_after_restart() {
    let root = tempfile::tempdir().unwrap();
    let schedule = Schedule {
        genesis_ms: now_ms() + 9_000,
        epoch_ms: 15_000,
        grace_ms: 3_000,
    };
    let bot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec_bot.py");
    let slow = format!("exec:python3 {} slow", bot.display());
    let agents = [slow.as_str(), "greedy", "greedy", "greedy"];
    let dirs: Vec<PathBuf> = (0..4).map(|i| root.path().join(format!("n{i}"))).collect();
    for (dir, agent) in dirs.iter().zip(agents) {
        init(dir, &schedule, agent, "");
    }
    let mut honest = vec![spawn(&dirs[1], None)];
    let boot = honest[0].listen.clone();
    for dir in &dirs[2..] {
        honest.push(spawn(dir, Some(&boot)));
    }
    let mut victim = spawn(&dirs[0], Some(&boot));
    // Wait for the slow node to be in a match, then kill it without warning.
    let deadline = schedule.close_of(2);
    let (epoch, match_id, before) = loop {
        assert!(now_ms() < deadline, "the slow node never played");
        let s = status(&victim);
        if let Some(live) = s["live"].as_array().and_then(|l| l.first()) {
            let epoch = s["epoch"].as_u64().unwrap();
            let before = items(&victim, epoch);
            sleep(Duration::from_millis(300));
            break (epoch, live[0].as_str().unwrap().to_string(), before);
        }
        sleep(Duration::from_millis(100));
    };
    // Its own embedded chain: the contract it deployed on its first start.
    let contract = status(&victim)["settlement"]["contract"].clone();
    assert!(contract.is_string(), "{}", status(&victim));
    victim.child.take().unwrap().kill().unwrap();
    let player = status(&honest[0])["leagues"][0]["entrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(!match_id.is_empty() && player.len() == 4);
    // After the epoch closes, every honest node scores the victim's forfeit.
    wait_until(schedule.close_of(epoch) + schedule.grace_ms + 1_000);
    let victim_id = hex_id(&dirs[0]);
    let csvs: Vec<String> = honest
        .iter()
        .map(|n| get(n, &format!("/rankings?format=csv&epoch={epoch}")))
        .collect();
    for c in &csvs[1..] {
        assert_eq!(c, &csvs[0]);
    }
    let row = csvs[0]
        .lines()
        .find(|l| l.contains(&victim_id))
        .unwrap_or_else(|| panic!("victim not ranked:\n{}", csvs[0]));
    let forfeits: u32 = row.split(',').nth(11).unwrap().parse().unwrap();
    assert!(forfeits >= 1, "no forfeit for the killed node: {row}");
    // Restarted, it still has every item it had acknowledged, and catches up on the rest.
    let mut victim = spawn(&dirs[0], Some(&boot));
    let honest_items = items(&honest[0], epoch);
    let start = Instant::now();
    loop {
        let mine = items(&victim, epoch);
        assert!(before.is_subset(&mine), "lost acknowledged items");
        if mine == honest_items {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no catch-up: {mine:?} vs {honest_items:?}"
        );
        sleep(Duration::from_millis(250));
    }
    assert_eq!(
        get(&victim, &format!("/rankings?format=csv&epoch={epoch}")),
        csvs[0]
    );
    // Its chain came back with it: same contract, stake still bonded.
    let start = Instant::now();
    loop {
        let s = status(&victim)["settlement"].clone();
        if s["joined"] == true {
            assert_eq!(s["contract"], contract, "{s}");
            assert!(s["last_error"].is_null(), "{s}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{s}");
        sleep(Duration::from_millis(250));
    }
    stop(&mut victim);
    for n in &mut honest {
        stop(n);
    }
}

fn hex_id(dir: &Path) -> String {
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("node.json")).unwrap()).unwrap();
    let peer = info["peer_id"].as_str().unwrap().to_string();
    let peer: libp2p::PeerId = peer.parse().unwrap();
    hex::encode(nets_p2p::player_of(&peer).unwrap().0)
}
