//! Full-stack mode on a small network: real nodes play an epoch, agree, settle on the
//! embedded chain, and the outputs are written; a node that only follows the league is
//! never drawn but ranks and attests like the others. With adversaries among them (a gossip
//! spammer, an equivocator, a result forger, an aborter) the honest nodes still agree and
//! settle, only the equivocator and the forger can be slashed and only the forger convicted.

use nets_node::devnet::{DevnetOptions, DevnetTransport};
use nets_simnet::full_stack;

/// `nodes` nodes over TCP, the first `players` playing, one epoch of 8 s, cheap agents.
fn small_network(nodes: usize, players: usize) -> DevnetOptions {
    DevnetOptions {
        nodes,
        epochs: 1,
        epoch_ms: 8_000,
        agents: vec!["greedy".into(), "random".into()],
        data_dir: None,
        progress: false,
        transport: DevnetTransport::Tcp,
        players: Some(players),
        ..DevnetOptions::default()
    }
}

#[test]
fn four_real_nodes_three_playing_agree_settle_and_write_their_outputs() {
    let out = tempfile::tempdir().unwrap();
    let options = DevnetOptions {
        target_peers: Some(3),
        ..small_network(4, 3)
    };
    let (report, metrics) = full_stack::run(&options).unwrap();
    full_stack::write_outputs(&report, &metrics, out.path()).unwrap();
    assert_eq!(metrics.agreeing_nodes, 4, "{metrics:?}");
    assert_eq!(metrics.entrants_min, 3, "{metrics:?}");
    assert_eq!(metrics.players, 3);
    assert_eq!(metrics.target_peers, 3);
    assert!(metrics.peers_mean >= 1.0, "{metrics:?}");
    assert!(metrics.matches > 0, "{metrics:?}");
    assert!(
        metrics.wall_s > 0.0 && metrics.peak_rss_mib > 0,
        "{metrics:?}"
    );
    assert_eq!(metrics.settlement_error, None);
    assert_eq!(metrics.junk_published, 0);
    assert_eq!(metrics.honest_slashed, 0, "{metrics:?}");
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

#[test]
fn a_spammer_an_equivocator_a_forger_and_an_aborter_leave_the_honest_nodes_agreeing_and_settling() {
    // Seven nodes: players 0 to 3 (node 0 walks away from matches it is behind in, node 1
    // signs a win in every duel it does not win), node 4 follows honestly, node 5 follows and
    // equivocates, node 6 follows and spams.
    let options = DevnetOptions {
        spammers: 1,
        aborters: 1,
        forgers: 1,
        equivocators: 1,
        ..small_network(7, 4)
    };
    let (_, metrics) = full_stack::run(&options).unwrap();
    assert_eq!(metrics.agreeing_nodes, 7, "{metrics:?}");
    // The equivocator was reported by the others and slashed by the contract; nobody honest
    // was (the forger may be, on its conviction).
    assert_eq!(metrics.equivocators_slashed, 1, "{metrics:?}");
    assert_eq!(metrics.honest_slashed, 0, "{metrics:?}");
    // The spammer's junk was refused and not relayed: each of the six others refuses a junk
    // message at most once.
    assert!(metrics.junk_published > 0, "{metrics:?}");
    assert!(metrics.junk_refused > 0, "{metrics:?}");
    assert!(
        metrics.junk_refused <= 6 * metrics.junk_published,
        "{metrics:?}"
    );
    // Each forged result is evidence against the forger, never against anyone else (whether
    // the forger ever loses, and so forges, depends on the games).
    assert_eq!(metrics.forgers, 1);
    assert_eq!(metrics.honest_convicted, 0, "{metrics:?}");
    assert!(metrics.forgers_convicted <= 1, "{metrics:?}");
    // Slashed only on a conviction in a finalised table (which the rankings may not show: they
    // list rated players, and a forger whose only game was forged has none), never an honest
    // node (asserted above).
    assert!(metrics.forgers_slashed <= metrics.forgers, "{metrics:?}");
    if metrics.forged_results == 0 {
        assert_eq!(metrics.forgers_convicted, 0, "{metrics:?}");
    }
    // Whether the aborter is ever behind, and so walks away, depends on the games (and, on a
    // loaded machine, so does which entrants every node knew in time: the honest test checks
    // that).
    assert_eq!(metrics.aborters, 1);
    // Two thirds of the stake signed the same roots without the equivocator (and, once it is
    // gray-listed, without the spammer): the epoch was anchored and finalised.
    assert_eq!(metrics.settlement_error, None);
    assert_eq!(metrics.finalised_epoch, Some(0), "{metrics:?}");
    assert!(metrics.anchored[0].signers >= 5, "{metrics:?}");
}
