//! The fuzz targets' corpus (`fuzz/corpus/<target>/`), replayed on stable through the same
//! functions the targets call (`nets_tournament::fuzzing`), and the seed files in it checked
//! against the inputs this test generates.
//!
//! Run with `NETS_UPDATE_CORPUS=1` to (re)write the seed files instead of checking them. Files
//! a fuzzer adds to the corpus are replayed too; only `seed-*` files are checked.

mod harness;

use std::path::{Path, PathBuf};

use harness::{LinkConfig, Sim, Stop};
use nets_envs::agents::{Agent, Greedy};
use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_tournament::fuzzing::{self, KEY_A, KEY_B};
use nets_tournament::identity::Keypair;
use nets_tournament::messages::{MatchHeader, MatchMessage, Seat};
use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
use nets_tournament::timeout::TimeoutClaim;

type Target = fn(&[u8]) -> Result<(), String>;

const TARGETS: [(&str, Target); 4] = [
    ("decode_match_message", fuzzing::decode_match_message),
    ("decode_outcome_record", fuzzing::decode_outcome_record),
    ("decode_timeout_claim", fuzzing::decode_timeout_claim),
    ("machine_messages", fuzzing::feed_machine),
];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn duel(max_turns: u32) -> EnvSpec {
    EnvSpec::Snake(SnakeParams {
        max_turns,
        ..SnakeParams::duel(7)
    })
}

fn solo(max_turns: u32) -> EnvSpec {
    EnvSpec::Snake(SnakeParams::solo(7, max_turns))
}

/// A finished honest match: the conversation and the record.
fn honest_match(seed: u64, env: EnvSpec) -> (Vec<MatchMessage>, Vec<u8>) {
    let mut sim = Sim::new(seed).with_links(LinkConfig::perfect());
    let [a, _] = sim.add_match(env, 0, KEY_A, KEY_B, MatchConfig::default());
    assert_eq!(sim.run(), Stop::Done);
    let p = &sim.players[a];
    (
        p.machine.conversation().messages().to_vec(),
        p.finished().expect("finished").to_bytes(),
    )
}

/// The conversation `fuzzing::feed_machine` plays for `setup`, from the honest side's view
/// (same keys, secrets, header and agents), so that seeds can deliver the peer's real
/// messages as raw bytes.
fn feed_machine_conversation(setup: u8) -> (Seat, Vec<MatchMessage>) {
    let solo_task = setup & 1 != 0;
    let honest = if setup & 2 == 0 { Seat::A } else { Seat::B };
    let (ka, kb) = (Keypair::from_secret(KEY_A), Keypair::from_secret(KEY_B));
    let header = MatchHeader {
        epoch: 1,
        round: u32::from(setup >> 2),
        env: if solo_task { solo(16) } else { duel(16) },
        a: ka.id(),
        b: kb.id(),
    };
    let secrets = match honest {
        Seat::A => [[7; 32], [8; 32]],
        Seat::B => [[8; 32], [7; 32]],
    };
    let cfg = MatchConfig::default();
    let mut m = [
        MatchMachine::new(0, header.clone(), ka, secrets[0], cfg).unwrap(),
        MatchMachine::new(0, header, kb, secrets[1], cfg).unwrap(),
    ];
    for _ in 0..1000 {
        if m.iter().all(MatchMachine::is_done) {
            break;
        }
        for me in 0..2 {
            while let Some(e) = m[me].poll_event() {
                if let Event::ActionNeeded { .. } = e {
                    let game = m[me].pending_game().unwrap().clone();
                    let snake = if solo_task { 0 } else { me };
                    let code = Greedy.choose(&game, snake).code();
                    m[me].supply_action(0, code).unwrap();
                }
            }
            while let Some(msg) = m[me].poll_transmit() {
                m[1 - me].handle_message(0, msg);
            }
        }
    }
    assert!(m[0].outcome().is_some());
    (honest, m[0].conversation().messages().to_vec())
}

/// The seed inputs of every target, by file name.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let (duel_msgs, duel_record) = honest_match(0, duel(30));
    let (solo_msgs, solo_record) = honest_match(1, solo(30));

    // Messages: every kind of body.
    for (name, msgs) in [("duel", &duel_msgs), ("solo", &solo_msgs)] {
        for m in msgs.iter().take(6).chain(msgs.iter().rev().take(2)) {
            out.push((
                "decode_match_message",
                format!("seed-{name}-{}-{}", m.seq, m.body.kind()),
                m.to_bytes(),
            ));
        }
    }

    // Records.
    out.push(("decode_outcome_record", "seed-duel".into(), duel_record));
    out.push(("decode_outcome_record", "seed-solo".into(), solo_record));

    // Claims: B silent after A's seed reveal; A silent from the start.
    let header = |env: EnvSpec| MatchHeader {
        epoch: 7,
        round: 0,
        env,
        a: Keypair::from_secret(KEY_A).id(),
        b: Keypair::from_secret(KEY_B).id(),
    };
    let claim = TimeoutClaim::sign(
        &Keypair::from_secret(KEY_A),
        header(duel(30)),
        duel_msgs[..3].to_vec(),
    );
    out.push((
        "decode_timeout_claim",
        "seed-after-reveal".into(),
        claim.to_bytes(),
    ));
    let claim = TimeoutClaim::sign(&Keypair::from_secret(KEY_B), header(solo(30)), Vec::new());
    out.push((
        "decode_timeout_claim",
        "seed-empty".into(),
        claim.to_bytes(),
    ));

    // Machine scripts (see `fuzzing::feed_machine`).
    for setup in 0u8..4 {
        let mut honest = vec![setup];
        honest.extend([0u8; 60]);
        out.push(("machine_messages", format!("seed-{setup}-honest"), honest));

        let mut lossy = vec![setup, 0, 0, 6, 5, 11, 0, 0, 7, 0];
        lossy.extend([0u8; 40]);
        lossy.extend([5, 120, 5, 120, 5, 120]);
        out.push(("machine_messages", format!("seed-{setup}-lossy"), lossy));

        let mut deviant = vec![setup, 0, 0, 2, 2, 7, 2];
        deviant.extend([0u8; 64]);
        deviant.extend([2, 2, 3, 0, 4, 0, 4, 1, 7, 3, 1, 4, 1, 9, 5, 200]);
        out.push(("machine_messages", format!("seed-{setup}-deviant"), deviant));

        // The peer's real messages, as raw bytes, in order.
        let (honest_seat, conv) = feed_machine_conversation(setup);
        let mut raw = vec![setup];
        for m in conv
            .iter()
            .filter(|m| m.seq % 2 != u32::from(honest_seat.index()))
        {
            let bytes = m.to_bytes();
            raw.push(1);
            raw.extend(u16::try_from(bytes.len()).unwrap().to_le_bytes());
            raw.extend(bytes);
        }
        raw.extend([7, 5, 200]);
        out.push(("machine_messages", format!("seed-{setup}-raw"), raw));
    }
    out
}

#[test]
fn seed_files_are_current() {
    let update = std::env::var_os("NETS_UPDATE_CORPUS").is_some();
    let seeds = seeds();
    for (target, _) in TARGETS {
        assert!(
            seeds.iter().any(|(t, _, _)| *t == target),
            "no seeds for {target}"
        );
    }
    for (target, name, bytes) in &seeds {
        let path = corpus_dir(target).join(name);
        if update {
            std::fs::create_dir_all(corpus_dir(target)).unwrap();
            std::fs::write(&path, bytes).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run with NETS_UPDATE_CORPUS=1 to write it",
                    path.display()
                )
            });
            assert!(
                committed == *bytes,
                "{} is stale; run with NETS_UPDATE_CORPUS=1",
                path.display()
            );
        }
    }
}

#[test]
fn seeds_reach_deep_states() {
    // The raw-message scripts finish their match: the corpus starts past the handshake.
    for setup in 0u8..4 {
        let (_, conv) = feed_machine_conversation(setup);
        assert!(conv.len() >= 6, "{}", conv.len());
    }
    for (target, name, bytes) in seeds() {
        let run = TARGETS.iter().find(|(t, _)| *t == target).unwrap().1;
        assert_eq!(run(&bytes), Ok(()), "{target}/{name}");
    }
}

#[test]
fn every_corpus_file_passes_its_target_and_every_decoder() {
    let mut files = 0;
    for (target, run) in TARGETS {
        let dir = corpus_dir(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("{} is missing", dir.display())
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(run(&bytes), Ok(()), "{}", path.display());
            // Cross-feeding costs little and reaches more.
            assert_eq!(fuzzing::decode_all(&bytes), Ok(()), "{}", path.display());
            assert_eq!(fuzzing::feed_machine(&bytes), Ok(()), "{}", path.display());
            files += 1;
        }
    }
    assert!(files >= 20, "{files} corpus files");
}

#[test]
fn fuzz_functions_survive_edge_inputs() {
    for bytes in [
        &[][..],
        &[0],
        &[0xff; 8],
        &[3, 5, 255, 5, 255, 5, 255, 5, 255],
        &[1, 1, 0xff, 0xff],
        &[2, 2, 0x87],
        &[0, 3, 0, 7],
    ] {
        for (_, run) in TARGETS {
            assert_eq!(run(bytes), Ok(()));
        }
        assert_eq!(fuzzing::decode_evidence(bytes), Ok(()));
    }
}
