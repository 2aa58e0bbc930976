//! Full-stack mode on a small network: real nodes play an epoch, agree, settle on the
//! embedded chain, and the outputs are written; a node that only follows the league is
//! never drawn but ranks and attests like the others, even while it spams the outcomes topic
//! with junk; a player that walks away from matches it is behind in does not break agreement.

use nets_node::devnet::{DevnetOptions, DevnetTransport};
use nets_simnet::full_stack;

#[test]
fn four_real_nodes_three_playing_agree_settle_and_write_their_outputs() {
    let out = tempfile::tempdir().unwrap();
    let options = DevnetOptions {
        nodes: 4,
        epochs: 1,
        epoch_ms: 8_000,
        agents: vec!["greedy".into(), "random".into()],
        data_dir: None,
        progress: false,
        transport: DevnetTransport::Tcp,
        players: Some(3),
        target_peers: Some(3),
        spammers: 1,
        aborters: 1,
    };
    let (report, metrics) = full_stack::run(&options).unwrap();
    full_stack::write_outputs(&report, &metrics, out.path()).unwrap();
    assert_eq!(metrics.agreeing_nodes, 4, "{metrics:?}");
    assert_eq!(metrics.entrants_min, 3, "{metrics:?}");
    assert_eq!(metrics.players, 3);
    assert_eq!(metrics.target_peers, 3);
    // Node 0 walks away from matches it is behind in; whether it ever is depends on the games.
    assert_eq!(metrics.aborters, 1);
    assert!(metrics.aborter_fate.is_some(), "{metrics:?}");
    assert!(metrics.peers_max <= 3, "{metrics:?}");
    assert!(metrics.peers_mean >= 1.0, "{metrics:?}");
    assert!(metrics.matches > 0, "{metrics:?}");
    assert!(
        metrics.wall_s > 0.0 && metrics.peak_rss_mib > 0,
        "{metrics:?}"
    );
    assert_eq!(metrics.settlement_error, None);
    // The spammer (node 3, the follower) published junk; its peers refused it, and nobody
    // relayed it (three other nodes: each junk message is refused at most three times).
    assert!(metrics.junk_published > 0, "{metrics:?}");
    assert!(metrics.junk_refused > 0, "{metrics:?}");
    assert!(
        metrics.junk_refused <= 3 * metrics.junk_published,
        "{metrics:?}"
    );
    assert_eq!(metrics.finalised_epoch, Some(0), "{metrics:?}");
    // Two thirds of the stake signed (the follower's stake counts like the players').
    assert!(metrics.anchored[0].signers >= 3, "{metrics:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(json["nodes"], 4);
    let rankings = std::fs::read_to_string(out.path().join("rankings.csv")).unwrap();
    // A header and the three players; the follower has no games.
    assert_eq!(rankings.lines().count(), 4, "{rankings}");
    let summary = std::fs::read_to_string(out.path().join("summary.txt")).unwrap();
    assert!(
        summary.contains("4 of 4 nodes computed identical rankings"),
        "{summary}"
    );
}
