//! The match protocol under a simulated network and under attack.
//!
//! - Honest pairs always finish, with byte-identical verified records, under loss,
//!   duplication, reordering and partitions, for duels and solo score tasks, several matches
//!   at once.
//! - Every deviation is detected and pinned on the deviator, never on the honest side:
//!   forged signatures, a seed or move that does not open its commitment, replays from other
//!   matches and other turns, equivocation, wrong results, and silence at every single step.
//! - Claims are answered when the silent side comes back in time.
//! - Decoders refuse oversized, malformed, trailing and non-canonical bytes without panicking.
//! - Properties: encodings round-trip, no single-byte change to a signed message or record is
//!   accepted, arbitrary bytes never panic a decoder, arbitrary messages never panic a machine
//!   nor make it convict the honest player, and `verify_many` agrees with `verify`.

mod harness;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::OnceLock;

use harness::{Action, LinkConfig, Sim, Stop};
use nets_envs::Outcome;
use nets_envs::agents::{Agent, Greedy, RandomAgent};
use nets_envs::log::{EnvSpec, PackedActions};
use nets_envs::snake::{SnakeGame, SnakeParams};
use nets_tournament::conversation::MessageError;
use nets_tournament::economics::RewardTable;
use nets_tournament::epoch::EpochLedger;
use nets_tournament::evidence::{Evidence, verify_evidence};
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Domain, Keypair, PlayerId, Signature};
use nets_tournament::messages::{
    Body, MatchHeader, MatchMessage, OutcomeRecord, ResultPayload, VERSION, match_seed,
};
use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
use nets_tournament::rating::{Glicko2Params, Ratings};
use nets_tournament::timeout::{ClaimError, TimeoutClaim, answers_claim, check_claim};
use nets_tournament::verify::{VerifyError, verify, verify_many};
use nets_tournament::wire::{self, WireError};
use proptest::prelude::*;

const KA: [u8; 32] = [1; 32];
const KB: [u8; 32] = [2; 32];
const KC: [u8; 32] = [3; 32];

fn duel(side: u8, max_turns: u32) -> EnvSpec {
    EnvSpec::Snake(SnakeParams {
        max_turns,
        ..SnakeParams::duel(side)
    })
}

fn solo(side: u8, max_turns: u32) -> EnvSpec {
    EnvSpec::Snake(SnakeParams::solo(side, max_turns))
}

fn cfg() -> MatchConfig {
    MatchConfig::default()
}

fn id(secret: [u8; 32]) -> PlayerId {
    Keypair::from_secret(secret).id()
}

/// Re-signs `m` with `key`, keeping its place (match, seq, prev) but with `body`.
fn resign(key: &Keypair, m: &MatchMessage, body: Body) -> MatchMessage {
    MatchMessage::sign(key, m.match_id, m.seq, m.prev, body)
}

/// Turns of the honest game of `seed` (the game does not depend on the links: the machines'
/// secrets are drawn before any packet).
fn game_turns(seed: u64, env: &EnvSpec) -> u32 {
    let (mut sim, a, _) = one_match(seed, env.clone(), LinkConfig::perfect());
    assert_eq!(sim.run(), Stop::Done);
    let record = sim.players[a].finished().expect("finished");
    record
        .payload
        .actions
        .iter()
        .map(|l| l.turns)
        .max()
        .unwrap()
}

/// A sim with one match; returns the sim and A's and B's indices.
fn one_match(seed: u64, env: EnvSpec, link: LinkConfig) -> (Sim, usize, usize) {
    let mut sim = Sim::new(seed).with_links(link);
    let [a, b] = sim.add_match(env, 0, KA, KB, cfg());
    (sim, a, b)
}

/// Both sides of a finished honest match agree byte for byte on a record that verifies, and
/// nobody was faulted or forfeited; every claim (a long outage) was answered.
fn assert_honest_finish(sim: &Sim, a: usize, b: usize) -> OutcomeRecord {
    let (pa, pb) = (&sim.players[a], &sim.players[b]);
    let ra = pa
        .finished()
        .unwrap_or_else(|| panic!("A did not finish: {sim:?} {:?}", pa.events));
    let rb = pb
        .finished()
        .unwrap_or_else(|| panic!("B did not finish: {sim:?} {:?}", pb.events));
    assert_eq!(ra.to_bytes(), rb.to_bytes());
    assert_eq!(OutcomeRecord::from_bytes(&ra.to_bytes()).as_ref(), Ok(ra));
    let v = verify(ra).expect("the record verifies");
    assert_eq!(v.id, ra.id());
    for p in [pa, pb] {
        assert!(p.faults().is_empty(), "{:?}", p.faults());
        assert!(p.forfeits().is_empty(), "{:?}", p.forfeits());
        assert!(
            p.answered() >= p.claims().len(),
            "unanswered claims: {:?}",
            p.events
        );
        assert_eq!(p.dropped(), 0);
    }
    assert!(sim.stuck_timers.is_empty(), "{:?}", sim.stuck_timers);
    assert_eq!(sim.undecodable, 0);
    ra.clone()
}

/// No evidence any machine emitted (the deviator's included) convicts `honest`, and every
/// piece of evidence emitted by an honest machine verifies and names its peer.
fn assert_never_blamed(sim: &Sim, honest: PlayerId) {
    for p in &sim.players {
        for e in p.faults() {
            let convicted = verify_evidence(e);
            assert_ne!(
                convicted,
                Ok(honest),
                "the honest player is convicted by {e:?}"
            );
            if p.adversary.is_none() {
                assert_eq!(
                    convicted,
                    Ok(sim.players[p.peer].id),
                    "evidence of an honest machine must convict its peer: {e:?}"
                );
            }
        }
        if p.adversary.is_none() {
            for c in p.claims().into_iter().chain(p.forfeits()) {
                assert_eq!(check_claim(c), Ok(sim.players[p.peer].id));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Honest pairs.
// ---------------------------------------------------------------------------------------------

#[test]
fn honest_duels_always_finish_under_loss_duplication_and_reordering() {
    for seed in 0..20 {
        let (mut sim, a, b) = one_match(seed, duel(7, 80), LinkConfig::chaotic(0.2));
        if seed % 2 == 1 {
            sim.set_agent(b, Box::new(RandomAgent::new(harness::seed32(seed))));
        }
        assert_eq!(sim.run(), Stop::Done, "seed {seed}: {sim:?}");
        let record = assert_honest_finish(&sim, a, b);
        assert!(!record.payload.header.is_solo());
    }
}

#[test]
fn honest_duels_on_11x11_with_search_finish() {
    for seed in 0..4 {
        let (mut sim, a, b) = one_match(100 + seed, duel(11, 120), LinkConfig::chaotic(0.2));
        if seed == 0 {
            sim.set_agent(a, Box::new(nets_envs::agents::Search::default()));
        }
        assert_eq!(sim.run(), Stop::Done, "seed {seed}: {sim:?}");
        assert_honest_finish(&sim, a, b);
    }
}

#[test]
fn honest_solo_tasks_always_finish_under_loss_duplication_and_reordering() {
    for seed in 0..20 {
        let (mut sim, a, b) = one_match(1000 + seed, solo(7, 50), LinkConfig::chaotic(0.2));
        if seed % 2 == 0 {
            sim.set_agent(a, Box::new(RandomAgent::new(harness::seed32(seed))));
        }
        assert_eq!(sim.run(), Stop::Done, "seed {seed}: {sim:?}");
        let record = assert_honest_finish(&sim, a, b);
        assert_eq!(record.payload.actions.len(), 2);
    }
}

#[test]
fn honest_pairs_finish_under_heavy_loss() {
    for seed in 0..6 {
        let env = if seed % 2 == 0 {
            duel(7, 40)
        } else {
            solo(7, 30)
        };
        let (mut sim, a, b) = one_match(2000 + seed, env, LinkConfig::chaotic(0.45));
        assert_eq!(sim.run(), Stop::Done, "seed {seed}: {sim:?}");
        assert_honest_finish(&sim, a, b);
    }
}

#[test]
fn many_matches_at_once_sharing_a_player_all_finish() {
    for seed in 0..4 {
        let mut sim = Sim::new(3000 + seed).with_links(LinkConfig::chaotic(0.2));
        // Player 1 plays four matches at once, in both seats, duels and solo tasks.
        let others = [[2; 32], [3; 32], [4; 32], [5; 32]];
        let mut pairs = Vec::new();
        for (round, other) in others.into_iter().enumerate() {
            let env = if round % 2 == 0 {
                duel(7, 60)
            } else {
                solo(7, 40)
            };
            let (ka, kb) = if round < 2 { (KA, other) } else { (other, KA) };
            pairs.push(sim.add_match(env, round as u32, ka, kb, cfg()));
        }
        assert_eq!(sim.run(), Stop::Done, "{sim:?}");
        let mut ids = BTreeSet::new();
        for [a, b] in pairs {
            ids.insert(assert_honest_finish(&sim, a, b).id());
        }
        assert_eq!(ids.len(), 4, "four distinct matches");
    }
}

#[test]
fn a_short_partition_costs_nothing_and_a_long_one_is_answered() {
    for seed in 0..8u64 {
        let env = if (seed / 2) % 2 == 0 {
            duel(7, 60)
        } else {
            solo(7, 40)
        };
        // Both directions down from 100 ms, for less or more than the step timeout.
        let (cut_at, heal_at) = if seed % 2 == 0 {
            (100, 5_000)
        } else {
            (100, 16_000)
        };
        let (mut sim, a, b) = one_match(4000 + seed, env, LinkConfig::chaotic(0.1));
        sim.schedule_cut(a, b, cut_at, heal_at);
        sim.schedule_cut(b, a, cut_at, heal_at);
        assert_eq!(sim.run(), Stop::Done, "{sim:?}");
        assert_honest_finish(&sim, a, b);
        let claims = sim.players[a].claims().len() + sim.players[b].claims().len();
        if heal_at - cut_at < cfg().step_timeout {
            assert_eq!(claims, 0);
        } else {
            // The partition outlasted the step timeout: whoever waited claimed, and the claim
            // was answered once the link healed.
            assert!(claims >= 1, "{:?}", sim.players[a].events);
        }
    }
}

#[test]
fn a_manual_cut_healed_in_time_and_garbage_on_the_wire_are_survived() {
    for seed in 0..4 {
        let env = if seed % 2 == 0 {
            duel(7, 60)
        } else {
            solo(7, 40)
        };
        let (mut sim, a, b) = one_match(5000 + seed, env, LinkConfig::chaotic(0.1));
        // Garbage for both, all along.
        for i in 0..40u64 {
            let junk: Vec<u8> = (0..(i * 7) % 300).map(|j| (i * 31 + j) as u8).collect();
            sim.inject_bytes(a, i * 250, junk.clone());
            sim.inject_bytes(b, i * 250 + 11, junk);
        }
        assert_eq!(sim.run_to(60), Stop::Done);
        sim.cut(a, b);
        assert_eq!(sim.run_to(60 + 12_000), Stop::Done);
        let claims = sim.players[a].claims().len() + sim.players[b].claims().len();
        assert!(claims >= 1, "a 12 s cut outlasts the step timeout");
        sim.heal(a, b);
        assert_eq!(sim.run(), Stop::Done, "{sim:?}");
        assert!(sim.undecodable > 0);
        let ra = sim.players[a].finished().expect("A finished");
        assert_eq!(Some(ra), sim.players[b].finished());
        assert!(verify(ra).is_ok());
        for p in [a, b] {
            let p = &sim.players[p];
            assert!(p.faults().is_empty() && p.forfeits().is_empty());
            assert!(p.answered() >= p.claims().len());
        }
        assert!(sim.stuck_timers.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Forged signatures.
// ---------------------------------------------------------------------------------------------

/// Silence (or nothing valid) from `deviator` after its messages so far: the honest side
/// claims, then declares the forfeit, and the claim names the deviator; the deviator could not
/// have claimed the same conversation against the honest side.
fn assert_silence_claimed(sim: &Sim, honest: usize, deviator: usize) {
    let h = &sim.players[honest];
    let claims = h.claims();
    assert_eq!(claims.len(), 1, "{:?}", h.events);
    let forfeits = h.forfeits();
    assert_eq!(forfeits.len(), 1, "{:?}", h.events);
    let dev = sim.players[deviator].id;
    assert_eq!(check_claim(claims[0]), Ok(dev));
    assert_eq!(check_claim(forfeits[0]), Ok(dev));
    assert_eq!(claims[0].evidence, forfeits[0].evidence);
    assert_eq!(claims[0].evidence, h.machine.conversation().messages());
    // Claimed before forfeited, forfeited an answer timeout later.
    let t_claim = h
        .first_time(|e| matches!(e, Event::TimeoutClaimed(_)))
        .unwrap();
    let t_forfeit = h.first_time(|e| matches!(e, Event::Forfeit(_))).unwrap();
    assert!(t_forfeit >= t_claim + cfg().answer_timeout);
    assert!(h.machine.is_done());
    assert!(h.faults().is_empty(), "{:?}", h.faults());
    // The same conversation claimed by the deviator: it is its own turn.
    let twisted = TimeoutClaim::sign(
        &sim.players[deviator].keypair(),
        claims[0].header.clone(),
        claims[0].evidence.clone(),
    );
    assert_eq!(check_claim(&twisted), Err(ClaimError::ClaimantsTurn));
    // A round trip of the claim keeps it valid.
    let bytes = claims[0].to_bytes();
    assert_eq!(TimeoutClaim::from_bytes(&bytes).as_ref(), Ok(claims[0]));
    assert!(sim.stuck_timers.is_empty(), "{:?}", sim.stuck_timers);
    assert_never_blamed(sim, h.id);
}

#[test]
fn messages_signed_by_another_key_are_dropped_and_the_silence_claimed() {
    for (seed, env) in [(0, duel(7, 40)), (1, solo(7, 30))] {
        for deviator_seat in 0..2 {
            let (mut sim, a, b) = one_match(seed, env.clone(), LinkConfig::chaotic(0.1));
            let (dev, honest) = if deviator_seat == 0 { (a, b) } else { (b, a) };
            let mallory = Keypair::from_secret(KC);
            // Every message of the deviator goes out with its sender but Mallory's signature.
            sim.set_adversary(dev, move |m| {
                let forged = resign(&mallory, m, m.body.clone());
                m.sig = forged.sig;
                Action::Deliver
            });
            assert_eq!(sim.run_until(Sim::honest_done), Stop::Done, "{sim:?}");
            assert!(sim.players[honest].dropped() > 0);
            for (_, e) in &sim.players[honest].events {
                if let Event::Dropped(err) = e {
                    assert!(matches!(err, MessageError::Foreign(_)), "{err:?}");
                }
            }
            assert_silence_claimed(&sim, honest, dev);
            // Nothing of the deviator's got in.
            let conv = sim.players[honest].machine.conversation();
            assert!(
                conv.messages()
                    .iter()
                    .all(|m| m.sender != sim.players[dev].id)
            );
        }
    }
}

#[test]
fn flipped_signature_bits_are_dropped_and_valid_copies_still_count() {
    for bit in [0usize, 100, 511] {
        // Every message goes out twice: first with one signature bit flipped, then intact.
        let (mut sim, a, b) = one_match(bit as u64, duel(7, 40), LinkConfig::perfect());
        sim.set_adversary(b, move |m| {
            let mut bad = m.clone();
            bad.sig.0[bit / 8] ^= 1 << (bit % 8);
            Action::Replace(vec![bad, m.clone()])
        });
        assert_eq!(sim.run(), Stop::Done, "{sim:?}");
        let ha = &sim.players[a];
        assert!(ha.dropped() > 0);
        assert!(ha.finished().is_some());
        assert!(ha.faults().is_empty());
        assert!(sim.players[b].finished().is_some());

        // And when the bad copies are all there is, it is a silence.
        let (mut sim, a, b) = one_match(bit as u64, duel(7, 40), LinkConfig::perfect());
        sim.set_adversary(b, move |m| {
            m.sig.0[bit / 8] ^= 1 << (bit % 8);
            Action::Deliver
        });
        assert_eq!(sim.run_until(Sim::honest_done), Stop::Done);
        assert_silence_claimed(&sim, a, b);
    }
}

// ---------------------------------------------------------------------------------------------
// Commitments: seed share and moves.
// ---------------------------------------------------------------------------------------------

/// Runs with `hook` on `dev`; the honest side must report exactly one fault whose evidence
/// convicts the deviator.
fn assert_fault_convicts(
    seed: u64,
    env: EnvSpec,
    dev_seat: usize,
    link: LinkConfig,
    hook: impl FnMut(&mut MatchMessage) -> Action + 'static,
) -> Evidence {
    let (mut sim, a, b) = one_match(seed, env, link);
    let (dev, honest) = if dev_seat == 0 { (a, b) } else { (b, a) };
    sim.set_adversary(dev, hook);
    assert_eq!(sim.run_until(Sim::honest_done), Stop::Done, "{sim:?}");
    let h = &sim.players[honest];
    let faults = h.faults();
    assert_eq!(faults.len(), 1, "{:?}", h.events);
    assert_eq!(verify_evidence(faults[0]), Ok(sim.players[dev].id));
    assert!(h.finished().is_none());
    assert!(h.claims().is_empty());
    assert!(h.machine.is_done());
    assert_never_blamed(&sim, h.id);
    // The evidence survives the wire.
    let bytes = wire::encode(faults[0]);
    assert_eq!(
        wire::decode::<Evidence>(&bytes, wire::MAX_RECORD).as_ref(),
        Ok(faults[0])
    );
    faults[0].clone()
}

#[test]
fn a_seed_share_that_does_not_open_its_commitment_is_a_fault() {
    for (seed, env) in [(0, duel(7, 40)), (1, solo(7, 30))] {
        let key = Keypair::from_secret(KA);
        let ev = assert_fault_convicts(seed, env, 0, LinkConfig::chaotic(0.1), move |m| {
            if let Body::SeedReveal { secret, commitment } = &m.body {
                let mut other = *secret;
                other[0] ^= 1;
                *m = resign(
                    &key,
                    m,
                    Body::SeedReveal {
                        secret: other,
                        commitment: *commitment,
                    },
                );
            }
            Action::Deliver
        });
        let Evidence::InvalidMessage { message, .. } = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(message.seq, 2);
    }
}

#[test]
fn a_move_changed_after_its_commitment_is_a_fault() {
    for seed in 0..3u64 {
        let turns = game_turns(seed, &duel(7, 60));
        assert!(turns >= 4, "{turns}");
        for turn in [0, 1, turns / 2, turns - 1] {
            let key = Keypair::from_secret(KA);
            let ev =
                assert_fault_convicts(seed, duel(7, 60), 0, LinkConfig::chaotic(0.1), move |m| {
                    if let Body::Reveal {
                        turn: t,
                        code,
                        salt,
                        next,
                    } = &m.body
                        && *t == turn
                    {
                        let body = Body::Reveal {
                            turn: *t,
                            code: (code + 1) % 4,
                            salt: *salt,
                            next: *next,
                        };
                        *m = resign(&key, m, body);
                    }
                    Action::Deliver
                });
            let Evidence::InvalidMessage {
                message, reason, ..
            } = ev
            else {
                panic!("{ev:?}")
            };
            assert!(matches!(message.body, Body::Reveal { turn: t, .. } if t == turn));
            assert!(reason.contains("commitment"), "{reason}");
        }
    }
}

#[test]
fn a_changed_salt_or_a_missing_next_commitment_is_a_fault() {
    assert!(game_turns(5, &duel(7, 60)) > 3 && game_turns(6, &duel(7, 60)) > 3);
    let key = Keypair::from_secret(KA);
    assert_fault_convicts(5, duel(7, 60), 0, LinkConfig::perfect(), move |m| {
        if let Body::Reveal {
            turn: 3,
            code,
            salt,
            next,
        } = &m.body
        {
            let mut salt = *salt;
            salt[31] ^= 0x80;
            let body = Body::Reveal {
                turn: 3,
                code: *code,
                salt,
                next: *next,
            };
            *m = resign(&key, m, body);
        }
        Action::Deliver
    });
    let key = Keypair::from_secret(KA);
    assert_fault_convicts(6, duel(7, 60), 0, LinkConfig::perfect(), move |m| {
        if let Body::Reveal {
            turn: 2,
            code,
            salt,
            next: Some(_),
        } = &m.body
        {
            let body = Body::Reveal {
                turn: 2,
                code: *code,
                salt: *salt,
                next: None,
            };
            *m = resign(&key, m, body);
        }
        Action::Deliver
    });
}

#[test]
fn an_illegal_move_or_a_move_for_another_turn_is_a_fault() {
    for seed in 0..3 {
        assert!(game_turns(seed, &duel(7, 60)) > 5);
    }
    for (seed, bad) in [(0u64, 4u8), (1, 255)] {
        let key = Keypair::from_secret(KB);
        assert_fault_convicts(seed, duel(7, 60), 1, LinkConfig::perfect(), move |m| {
            if let Body::Move { turn: 4, .. } = m.body {
                *m = resign(&key, m, Body::Move { turn: 4, code: bad });
            }
            Action::Deliver
        });
    }
    // B replays its move of turn 0, re-signed into the place of turn 5.
    let key = Keypair::from_secret(KB);
    let mut first: Option<u8> = None;
    assert_fault_convicts(2, duel(7, 60), 1, LinkConfig::perfect(), move |m| {
        if let Body::Move { turn, code } = m.body {
            if turn == 0 {
                first = Some(code);
            }
            if turn == 5 {
                *m = resign(
                    &key,
                    m,
                    Body::Move {
                        turn: 0,
                        code: first.unwrap_or(0),
                    },
                );
            }
        }
        Action::Deliver
    });
}

#[test]
fn a_solo_log_that_does_not_open_its_commitment_or_does_not_finish_is_a_fault() {
    // A reveals another log than the one it committed to.
    let key = Keypair::from_secret(KA);
    assert_fault_convicts(0, solo(7, 30), 0, LinkConfig::chaotic(0.1), move |m| {
        if let Body::LogReveal { actions, salt } = &m.body {
            let mut other = actions.clone();
            if let Some(byte) = other.bytes.first_mut() {
                *byte ^= 1;
            }
            *m = resign(
                &key,
                m,
                Body::LogReveal {
                    actions: other,
                    salt: *salt,
                },
            );
        }
        Action::Deliver
    });
    // B sends a log that stops before its game ends.
    let key = Keypair::from_secret(KB);
    assert_fault_convicts(1, solo(7, 30), 1, LinkConfig::chaotic(0.1), move |m| {
        if let Body::Log { .. } = &m.body {
            let mut short = PackedActions::default();
            short.push_turn(&[0], 2);
            *m = resign(&key, m, Body::Log { actions: short });
        }
        Action::Deliver
    });
}

// ---------------------------------------------------------------------------------------------
// Results.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_wrong_result_or_a_bad_result_signature_is_a_fault() {
    for (seed, env) in [(0u64, duel(7, 40)), (1, solo(7, 30))] {
        for dev_seat in 0..2 {
            for variant in 0..3 {
                let secret = if dev_seat == 0 { KA } else { KB };
                let key = Keypair::from_secret(secret);
                let ev = assert_fault_convicts(
                    seed,
                    env.clone(),
                    dev_seat,
                    LinkConfig::chaotic(0.1),
                    move |m| {
                        if let Body::Result { result, signature } = &m.body {
                            let body = match variant {
                                // Claims another result, with its signature of the real one.
                                0 => Body::Result {
                                    result: if *result == Outcome::Draw {
                                        Outcome::Winner(0)
                                    } else {
                                        Outcome::Draw
                                    },
                                    signature: *signature,
                                },
                                // The right result, a signature over something else.
                                1 => Body::Result {
                                    result: *result,
                                    signature: key.sign(Domain::MatchResult, b"something else"),
                                },
                                // The right result, a flipped signature bit.
                                _ => {
                                    let mut sig = *signature;
                                    sig.0[40] ^= 4;
                                    Body::Result {
                                        result: *result,
                                        signature: sig,
                                    }
                                }
                            };
                            *m = resign(&key, m, body);
                        }
                        Action::Deliver
                    },
                );
                let Evidence::InvalidMessage { message, .. } = ev else {
                    panic!("{ev:?}")
                };
                assert!(matches!(message.body, Body::Result { .. }));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Replays.
// ---------------------------------------------------------------------------------------------

#[test]
fn messages_replayed_from_another_match_are_dropped() {
    for (seed, env) in [(0u64, duel(7, 40)), (1, solo(7, 30))] {
        // The same two players played round 0; everything said there is replayed into round 1.
        let (mut old, a0, b0) = one_match(seed, env.clone(), LinkConfig::perfect());
        assert_eq!(old.run(), Stop::Done);
        let replay: Vec<MatchMessage> = old.players[a0]
            .wire
            .iter()
            .chain(&old.players[b0].wire)
            .cloned()
            .collect();
        assert!(!replay.is_empty());

        let mut sim = Sim::new(seed + 10).with_links(LinkConfig::chaotic(0.1));
        let [a, b] = sim.add_match(env.clone(), 1, KA, KB, cfg());
        for (i, m) in replay.iter().enumerate() {
            let at = i as u64 * 13;
            sim.inject(a, at, m);
            sim.inject(b, at + 5, m);
        }
        assert_eq!(sim.run(), Stop::Done, "{sim:?}");
        let record = sim.players[a].finished().expect("finished").clone();
        assert_eq!(Some(&record), sim.players[b].finished(), "both sides agree");
        assert!(verify(&record).is_ok());
        for p in [a, b] {
            let p = &sim.players[p];
            assert!(p.faults().is_empty());
            assert!(p.dropped() >= replay.len(), "{}", p.dropped());
            for (_, e) in &p.events {
                if let Event::Dropped(err) = e {
                    assert!(
                        matches!(err, MessageError::Foreign(_) | MessageError::Finished),
                        "{err:?}"
                    );
                }
            }
        }
        assert_ne!(
            record.id(),
            old.players[a0].finished().unwrap().id(),
            "another match"
        );
    }
}

#[test]
fn old_messages_of_this_match_replayed_are_harmless_duplicates() {
    for (seed, env) in [(0u64, duel(7, 60)), (1, solo(7, 40))] {
        for dev_seat in 0..2 {
            let (mut sim, a, b) = one_match(seed, env.clone(), LinkConfig::chaotic(0.1));
            let (dev, honest) = if dev_seat == 0 { (a, b) } else { (b, a) };
            // With every new message, the deviator also resends its first and its previous
            // message (retransmissions go out as they are).
            let mut said: Vec<MatchMessage> = Vec::new();
            sim.set_adversary(dev, move |m| {
                if said.contains(m) {
                    return Action::Deliver;
                }
                let mut out: Vec<MatchMessage> = said
                    .first()
                    .into_iter()
                    .chain(said.last())
                    .cloned()
                    .collect();
                out.push(m.clone());
                said.push(m.clone());
                Action::Replace(out)
            });
            assert_eq!(sim.run(), Stop::Done, "{sim:?}");
            assert_honest_finish(&sim, a, b);
            assert_never_blamed(&sim, sim.players[honest].id);
        }
    }
}

#[test]
fn the_honest_sides_own_messages_reflected_back_are_harmless() {
    // A man in the middle reflects every message A sends back to A as well.
    let (mut sim, a, b) = one_match(3, duel(7, 60), LinkConfig::chaotic(0.1));
    let reflected: Rc<RefCell<Vec<MatchMessage>>> = Rc::default();
    let log = reflected.clone();
    sim.set_adversary(a, move |m| {
        log.borrow_mut().push(m.clone());
        Action::Deliver
    });
    let mut last = 0;
    while !sim.all_done() && sim.now < 600_000 {
        let target = sim.now + 50;
        sim.run_to(target);
        let new: Vec<MatchMessage> = reflected.borrow()[last..].to_vec();
        last += new.len();
        for m in new {
            let at = sim.now + 7;
            sim.inject(a, at, &m);
        }
    }
    assert_honest_finish(&sim, a, b);
}

#[test]
fn stale_duplicates_cost_no_traffic() {
    // An old message of the peer (or one's own, reflected) says nothing was lost: answering it
    // would make the two machines echo the rest of the conversation to each other.
    for env in [duel(7, 60), solo(7, 40)] {
        let (mut base, a, b) = one_match(9, env.clone(), LinkConfig::perfect());
        assert_eq!(base.run(), Stop::Done);
        let sent = |s: &Sim| s.players[a].transmitted.len() + s.players[b].transmitted.len();
        let stale_b = base.players[b].wire[0].clone();
        let stale_a = base.players[a].wire[0].clone();
        let end = base.now;

        let (mut sim, a, b) = one_match(9, env, LinkConfig::perfect());
        // In the last quarter of the match, when both have long moved on.
        for i in 0..5 {
            let at = end * 3 / 4 + i * end / 25;
            sim.inject(a, at, &stale_b);
            sim.inject(a, at + 3, &stale_a);
            sim.inject(b, at + 5, &stale_a);
        }
        assert_eq!(sim.run(), Stop::Done);
        assert_honest_finish(&sim, a, b);
        assert_eq!(
            sent(&sim),
            sent(&base),
            "extra messages for stale duplicates"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Equivocation.
// ---------------------------------------------------------------------------------------------

#[test]
fn equivocation_is_proven_by_the_two_messages() {
    // B signs two different moves for one turn and sends both (and the deviator's retransmits
    // send both again). Whichever A accepts first, the other convicts B.
    for seed in 0..3 {
        let turns = game_turns(seed, &duel(7, 60));
        for turn in [0u32, 3, turns - 1] {
            let key = Keypair::from_secret(KB);
            // No loss, so both signed moves always arrive (duplication and reordering stay):
            // at the last turn no retransmission would carry a lost one again.
            let (mut sim, a, b) = one_match(seed, duel(7, 60), LinkConfig::chaotic(0.0));
            sim.set_adversary(b, move |m| {
                if let Body::Move { turn: t, code } = m.body
                    && t == turn
                {
                    let alt = resign(
                        &key,
                        m,
                        Body::Move {
                            turn,
                            code: (code + 1) % 4,
                        },
                    );
                    return Action::Replace(vec![m.clone(), alt]);
                }
                Action::Deliver
            });
            assert_eq!(sim.run_until(Sim::honest_done), Stop::Done, "{sim:?}");
            let ha = &sim.players[a];
            let faults = ha.faults();
            assert_eq!(faults.len(), 1, "{:?}", ha.events);
            let Evidence::Equivocation { first, second } = faults[0] else {
                panic!("{:?}", faults[0])
            };
            assert_eq!(first.seq, second.seq);
            assert_eq!(verify_evidence(faults[0]), Ok(id(KB)));
            // Swapped, the proof holds as well.
            let swapped = Evidence::Equivocation {
                first: second.clone(),
                second: first.clone(),
            };
            assert_eq!(verify_evidence(&swapped), Ok(id(KB)));
            assert_never_blamed(&sim, id(KA));
        }
    }
}

#[test]
fn seat_a_equivocating_on_its_seed_commitment_is_convicted() {
    let key = Keypair::from_secret(KA);
    let (mut sim, a, b) = one_match(0, duel(7, 40), LinkConfig::perfect());
    sim.set_adversary(a, move |m| {
        if let Body::SeedCommit { .. } = m.body {
            let alt = resign(
                &key,
                m,
                Body::SeedCommit {
                    commitment: Hash32([9; 32]),
                },
            );
            return Action::Replace(vec![m.clone(), alt]);
        }
        Action::Deliver
    });
    assert_eq!(sim.run_until(Sim::honest_done), Stop::Done);
    let faults = sim.players[b].faults();
    assert_eq!(faults.len(), 1);
    assert!(matches!(faults[0], Evidence::Equivocation { .. }));
    assert_eq!(verify_evidence(faults[0]), Ok(id(KA)));
}

#[test]
fn an_equivocator_cannot_frame_the_honest_side_with_its_other_history() {
    // B keeps one move for itself (its machine's history) and shows A another. A answers the
    // one it saw. A's answer does not chain to B's other history, but that is B's doing: no
    // evidence B can build from its history and A's answer may convict A.
    for turn in [0u32, 4] {
        assert!(game_turns(u64::from(turn), &duel(7, 60)) > 4);
        let key = Keypair::from_secret(KB);
        let (mut sim, a, b) = one_match(u64::from(turn), duel(7, 60), LinkConfig::perfect());
        sim.set_adversary(b, move |m| {
            if let Body::Move { turn: t, code } = m.body
                && t == turn
            {
                let alt = resign(
                    &key,
                    m,
                    Body::Move {
                        turn,
                        code: (code + 1) % 4,
                    },
                );
                return Action::Replace(vec![alt]);
            }
            Action::Deliver
        });
        sim.run_until(|s| s.now > 60_000 || s.all_done());
        assert_never_blamed(&sim, id(KA));

        // B's own history ends with the move it kept; A's reply chains to the other one.
        let pb = &sim.players[b];
        let pa = &sim.players[a];
        let b_history = pb.machine.conversation().messages().to_vec();
        let kept = b_history.last().expect("B's move").clone();
        assert!(matches!(kept.body, Body::Move { .. }));
        let a_reply = pa
            .machine
            .conversation()
            .messages()
            .get(kept.seq as usize + 1)
            .expect("A answered the move it saw")
            .clone();
        let frame = Evidence::InvalidMessage {
            header: pb.machine.conversation().header().clone(),
            chain: b_history.clone(),
            message: a_reply,
            reason: "prev does not chain".into(),
        };
        assert_ne!(verify_evidence(&frame), Ok(id(KA)), "A is framed");

        // What A can show instead: the move it saw and the one in B's history, both signed by
        // B for one place.
        let seen = pa.machine.conversation().messages()[kept.seq as usize].clone();
        assert_ne!(seen, kept);
        let proof = Evidence::Equivocation {
            first: seen.clone(),
            second: kept.clone(),
        };
        assert_eq!(verify_evidence(&proof), Ok(id(KB)));

        // B's machine drops A's answer (it cannot be pinned on A) and, left waiting, claims a
        // timeout against A. That claim checks, but it carries B's kept move: together with
        // the move A saw, the proof of B's equivocation. (Which of the two prevails is for the
        // settlement rule to decide: a claim by a proven equivocator should be void.)
        assert!(pb.faults().is_empty(), "{:?}", pb.faults());
        assert!(pb.dropped() > 0);
        let b_claim = pb.claims()[0];
        assert_eq!(check_claim(b_claim), Ok(id(KA)));
        assert!(b_claim.evidence.contains(&kept));
        // And A, waiting for B's next move in its own history, claims against B.
        assert_eq!(check_claim(pa.claims()[0]), Ok(id(KB)));
        assert!(pa.claims()[0].evidence.contains(&seen));
    }
}

// ---------------------------------------------------------------------------------------------
// Silence at every step.
// ---------------------------------------------------------------------------------------------

/// How many messages each seat sends in an honest run of `env` from `seed`.
fn honest_counts(seed: u64, env: &EnvSpec) -> [usize; 2] {
    let (mut sim, a, b) = one_match(seed, env.clone(), LinkConfig::perfect());
    assert_eq!(sim.run(), Stop::Done);
    let n = sim.players[a].machine.conversation().messages().len();
    let of = |p: usize| {
        sim.players[b]
            .machine
            .conversation()
            .messages()
            .iter()
            .filter(|m| m.sender == sim.players[p].id)
            .count()
    };
    assert_eq!(of(a) + of(b), n);
    [of(a), of(b)]
}

/// The deviator sends its first `k` messages (and their retransmissions) and nothing after.
fn silent_after(k: usize) -> impl FnMut(&mut MatchMessage) -> Action {
    let mut seqs = BTreeSet::new();
    move |m| {
        if seqs.contains(&m.seq) {
            return Action::Deliver;
        }
        if seqs.len() < k {
            seqs.insert(m.seq);
            Action::Deliver
        } else {
            Action::Drop
        }
    }
}

#[test]
fn silence_at_every_step_is_claimed_and_forfeited() {
    for (seed, env) in [(0u64, duel(7, 20)), (1, solo(7, 20))] {
        let counts = honest_counts(seed, &env);
        for (dev_seat, &count) in counts.iter().enumerate() {
            for k in 0..=count {
                let (mut sim, a, b) = one_match(seed, env.clone(), LinkConfig::perfect());
                let (dev, honest) = if dev_seat == 0 { (a, b) } else { (b, a) };
                sim.set_adversary(dev, silent_after(k));
                assert_eq!(sim.run_until(Sim::honest_done), Stop::Done, "k={k} {sim:?}");
                if k == count {
                    // It said everything it had to: the match is complete for the honest side.
                    assert!(sim.players[honest].finished().is_some(), "k={k}");
                    continue;
                }
                assert_silence_claimed(&sim, honest, dev);
                // The claim shows exactly the deviator's first k messages.
                let claim = sim.players[honest].claims()[0];
                let from_dev = claim
                    .evidence
                    .iter()
                    .filter(|m| m.sender == sim.players[dev].id)
                    .count();
                assert_eq!(from_dev, k, "seat {dev_seat}");
            }
        }
    }
}

#[test]
fn silence_under_a_lossy_network_is_still_claimed_against_the_silent_side() {
    let env = duel(7, 30);
    let counts = honest_counts(7, &env);
    for (dev_seat, &count) in counts.iter().enumerate() {
        for k in (0..count).step_by(5) {
            let (mut sim, a, b) = one_match(7, env.clone(), LinkConfig::chaotic(0.2));
            let (dev, honest) = if dev_seat == 0 { (a, b) } else { (b, a) };
            sim.set_adversary(dev, silent_after(k));
            assert_eq!(sim.run_until(Sim::honest_done), Stop::Done);
            assert_silence_claimed(&sim, honest, dev);
        }
    }
}

#[test]
fn a_player_whose_agent_never_answers_is_claimed_against() {
    // B's machine is fine but its agent never supplies a move: B falls silent at its first
    // move, and A's claim names B.
    for env in [duel(7, 40), solo(7, 30)] {
        let (mut sim, a, b) = one_match(0, env, LinkConfig::chaotic(0.1));
        sim.players[b].plays = false;
        assert_eq!(
            sim.run_until(|s| s.players[a].machine.is_done()),
            Stop::Done
        );
        let claims = sim.players[a].claims();
        assert_eq!(check_claim(claims[0]), Ok(id(KB)));
        assert_eq!(sim.players[a].forfeits().len(), 1);
        assert!(sim.stuck_timers.is_empty(), "{:?}", sim.stuck_timers);
    }
}

#[test]
fn a_claim_is_answered_when_the_silent_side_comes_back_in_time() {
    for (seed, env) in [(0u64, duel(7, 60)), (1, solo(7, 40)), (2, duel(7, 60))] {
        for dev_seat in 0..2 {
            let (mut sim, a, b) = one_match(seed, env.clone(), LinkConfig::chaotic(0.1));
            let (dev, honest) = if dev_seat == 0 { (a, b) } else { (b, a) };
            // The deviator's messages are lost for 15 s (longer than the step timeout, shorter
            // than step + answer timeouts), then get through again.
            sim.schedule_cut(dev, honest, 50, 15_050);
            assert_eq!(sim.run(), Stop::Done, "{sim:?}");
            assert_honest_finish(&sim, a, b);
            let h = &sim.players[honest];
            let claims = h.claims();
            assert_eq!(claims.len(), 1, "{:?}", h.events);
            assert_eq!(h.answered(), 1);
            assert_eq!(check_claim(claims[0]), Ok(sim.players[dev].id));
            // The message that answered it is the next one in the honest conversation.
            let conv = h.machine.conversation().messages();
            let n = claims[0].evidence.len();
            assert_eq!(&conv[..n], &claims[0].evidence[..]);
            let answer = &conv[n];
            assert_eq!(answer.sender, sim.players[dev].id);
            assert!(answers_claim(claims[0], answer));
            // Nothing else answers it: not the message before, not the one after, not a
            // re-signed copy by the claimant, not a changed body.
            if n > 0 {
                assert!(!answers_claim(claims[0], &conv[n - 1]));
            }
            if let Some(after) = conv.get(n + 1) {
                assert!(!answers_claim(claims[0], after));
            }
            let by_claimant = resign(&h.keypair(), answer, answer.body.clone());
            assert!(!answers_claim(claims[0], &by_claimant));
            let mut tampered = answer.clone();
            tampered.seq += 1;
            assert!(!answers_claim(claims[0], &tampered));
        }
    }
}

#[test]
fn a_late_answer_does_not_undo_the_forfeit() {
    let (mut sim, a, b) = one_match(0, duel(7, 40), LinkConfig::perfect());
    sim.schedule_cut(b, a, 100, 40_000);
    sim.run_until(|s| s.players[a].machine.is_done());
    assert_eq!(sim.players[a].forfeits().len(), 1);
    let forfeit_at = sim.now;
    sim.run_until(|s| s.now > forfeit_at + 30_000);
    let pa = &sim.players[a];
    assert_eq!(pa.answered(), 0);
    assert!(pa.finished().is_none());
    assert!(pa.machine.is_done());
    assert!(sim.stuck_timers.is_empty(), "{:?}", sim.stuck_timers);
}

#[test]
fn poll_timeout_never_stays_in_the_past() {
    // After a claim the machine waits for the answer deadline; `poll_timeout` must move past
    // `now` every time `handle_timeout(now)` ran, or a driver sleeping until it spins.
    let header = harness::header(
        duel(7, 40),
        0,
        &Keypair::from_secret(KA),
        &Keypair::from_secret(KB),
    );
    let mut m = MatchMachine::new(0, header, Keypair::from_secret(KB), [5; 32], cfg()).unwrap();
    let mut now = 0;
    let mut fired = 0;
    while !m.is_done() && fired < 100 {
        let t = m.poll_timeout().expect("a timer while waiting");
        assert!(t > now || now == 0, "poll_timeout {t} <= now {now}");
        now = t;
        m.handle_timeout(now);
        fired += 1;
        // Foreign traffic while the claim is open re-runs the machine.
        let stranger = Keypair::from_secret(KC);
        let noise = MatchMessage::sign(
            &stranger,
            Hash32([1; 32]),
            0,
            Hash32::ZERO,
            Body::SeedCommit {
                commitment: Hash32::ZERO,
            },
        );
        m.handle_message(now, noise);
        while m.poll_event().is_some() {}
        while m.poll_transmit().is_some() {}
        if let Some(next) = m.poll_timeout() {
            assert!(
                next > now,
                "poll_timeout {next} <= now {now} after handle_timeout"
            );
        }
    }
    assert!(m.is_done());
    assert!(fired <= 30, "{fired} timer firings");
}

// ---------------------------------------------------------------------------------------------
// Known gaps, pinned so that a fix shows up here.
// ---------------------------------------------------------------------------------------------

/// A's claim over the longest prefix of the sample conversation after which B is due.
fn long_claim_evidence() -> (MatchHeader, Vec<MatchMessage>) {
    let (header, msgs) = sample_conversation();
    let cut = (1..msgs.len())
        .rev()
        .find(|&n| {
            msgs[n - 1].sender == header.a
                && check_claim(&TimeoutClaim::sign(
                    &Keypair::from_secret(KA),
                    header.clone(),
                    msgs[..n].to_vec(),
                )) == Ok(header.b)
        })
        .expect("B is due somewhere");
    (header.clone(), msgs[..cut].to_vec())
}

#[test]
fn a_claimant_cannot_alter_any_message_of_its_evidence() {
    // Evidence is checked by its chain of hashes and the signature of each side's last
    // message only; any change to any byte of any message, the claim re-signed by the
    // claimant, still fails.
    let (header, evidence) = long_claim_evidence();
    let ka = Keypair::from_secret(KA);
    assert!(evidence.len() > 20, "{}", evidence.len());
    assert_eq!(
        check_claim(&TimeoutClaim::sign(&ka, header.clone(), evidence.clone())),
        Ok(id(KB))
    );
    let mut tried = 0;
    for i in 0..evidence.len() {
        let bytes = evidence[i].to_bytes();
        for at in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[at] ^= 0x10;
            let Ok(altered) = MatchMessage::from_bytes(&b) else {
                continue;
            };
            let mut forged = evidence.clone();
            forged[i] = altered;
            tried += 1;
            let claim = TimeoutClaim::sign(&ka, header.clone(), forged);
            assert!(
                check_claim(&claim).is_err(),
                "message {i} altered at byte {at} still makes a valid claim"
            );
        }
    }
    assert!(tried > 100, "{tried}");
}

#[test]
fn a_claimant_cannot_put_words_in_the_accuseds_last_message_even_rechaining() {
    // A replaces B's last message by one of its own making (B as sender, A's signature) and
    // re-signs its own later messages over the new chain: B's signature there does not check.
    let (header, evidence) = long_claim_evidence();
    let ka = Keypair::from_secret(KA);
    let last_b = evidence.iter().rposition(|m| m.sender == header.b).unwrap();
    let mut forged = evidence.clone();
    let mut fake = MatchMessage::sign(
        &ka,
        forged[last_b].match_id,
        forged[last_b].seq,
        forged[last_b].prev,
        forged[last_b].body.clone(),
    );
    fake.sender = header.b;
    forged[last_b] = fake;
    for i in last_b + 1..forged.len() {
        let prev = forged[i - 1].hash();
        let m = &forged[i];
        forged[i] = MatchMessage::sign(&ka, m.match_id, m.seq, prev, m.body.clone());
    }
    let claim = TimeoutClaim::sign(&ka, header, forged);
    assert!(
        matches!(check_claim(&claim), Err(ClaimError::Evidence { index, .. }) if index == last_b),
        "{:?}",
        check_claim(&claim)
    );
}

#[test]
fn a_withheld_message_published_in_a_claim_answers_the_honest_claim() {
    // The deviator withholds its k-th message from the honest side. Its own machine counts it
    // as sent and, when the honest side (never having seen it) does not reply, claims a
    // timeout against the honest side with that message in its evidence. That message
    // "answers" the honest side's claim. The honest machine, fed the deviator's claim from
    // gossip, takes the withheld message in and answers the claim in turn; at the close of
    // the epoch neither claim stands, so the honest side is never the one to forfeit.
    let env = duel(7, 40);
    let (mut sim, a, b) = one_match(0, env, LinkConfig::perfect());
    sim.set_adversary(b, silent_after(3));
    sim.run_until(|s| s.all_done() || s.now > 120_000);
    let honest_claim = sim.players[a].claims()[0].clone();
    let dev_claims = sim.players[b].claims();
    assert_eq!(dev_claims.len(), 1, "{:?}", sim.players[b].events);
    let dev_claim = dev_claims[0].clone();
    assert_eq!(check_claim(&honest_claim), Ok(id(KB)));
    assert_eq!(
        check_claim(&dev_claim),
        Ok(id(KA)),
        "the deviator accuses A"
    );
    let withheld = &dev_claim.evidence[honest_claim.evidence.len()];
    assert!(answers_claim(&honest_claim, withheld));

    // The honest machine learns of the deviator's claim and answers it.
    let now = sim.now;
    let machine = &mut sim.players[a].machine;
    machine.handle_claim(now, &dev_claim);
    let mut answer = None;
    for _ in 0..1_000 {
        let Some(event) = machine.poll_event() else {
            break;
        };
        match event {
            Event::ActionNeeded { .. } => {
                let game = machine.pending_game().unwrap().clone();
                let seat = machine.seat().index() as usize;
                let mv = Greedy.choose(&game, seat);
                machine.supply_action(now, mv.code()).unwrap();
            }
            Event::ClaimAnswer(msg) => answer = Some(msg),
            _ => {}
        }
    }
    let answer = answer.expect("the honest side answers the claim against it");
    assert_eq!(answer.sender, id(KA));
    assert!(answers_claim(&dev_claim, &answer));
    assert!(
        machine.poll_transmit().is_some(),
        "the answer also goes to the peer"
    );

    // The epoch's ledger: both claims answered, no forfeit, no rated game.
    let mut ledger = EpochLedger::new(dev_claim.header.epoch);
    ledger.add_claim(honest_claim.clone()).unwrap();
    ledger.add_claim(dev_claim.clone()).unwrap();
    ledger.add_answer(withheld).unwrap();
    ledger.add_answer(&answer).unwrap();
    let summary = ledger
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &BTreeMap::new(),
            &RewardTable::default(),
        )
        .unwrap();
    assert!(summary.games.is_empty(), "{:?}", summary.games);
    // Even unanswered, two claims accusing each other cancel out.
    let mut ledger = EpochLedger::new(dev_claim.header.epoch);
    ledger.add_claim(honest_claim).unwrap();
    ledger.add_claim(dev_claim).unwrap();
    let summary = ledger
        .close(
            &Ratings::new(),
            &Glicko2Params::default(),
            &BTreeMap::new(),
            &RewardTable::default(),
        )
        .unwrap();
    assert!(summary.games.is_empty(), "{:?}", summary.games);
}

// ---------------------------------------------------------------------------------------------
// Bad bytes.
// ---------------------------------------------------------------------------------------------

fn sample_records() -> &'static [OutcomeRecord] {
    static RECORDS: OnceLock<Vec<OutcomeRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut out = Vec::new();
        for (seed, env) in [
            (0u64, duel(7, 60)),
            (1, solo(7, 50)),
            (2, duel(11, 80)),
            (3, solo(7, 20)),
        ] {
            let (mut sim, a, b) = one_match(seed, env, LinkConfig::perfect());
            assert_eq!(sim.run(), Stop::Done);
            out.push(assert_honest_finish(&sim, a, b));
        }
        out
    })
}

fn sample_conversation() -> &'static (MatchHeader, Vec<MatchMessage>) {
    static CONV: OnceLock<(MatchHeader, Vec<MatchMessage>)> = OnceLock::new();
    CONV.get_or_init(|| {
        let (mut sim, a, _) = one_match(0, duel(7, 30), LinkConfig::perfect());
        assert_eq!(sim.run(), Stop::Done);
        let conv = sim.players[a].machine.conversation();
        (conv.header().clone(), conv.messages().to_vec())
    })
}

fn sample_claim() -> TimeoutClaim {
    let (header, msgs) = sample_conversation();
    // A claims after its reveal of turn 0 (message 4): B is due.
    let cut = msgs.iter().position(|m| m.seq == 4).unwrap() + 1;
    TimeoutClaim::sign(
        &Keypair::from_secret(KA),
        header.clone(),
        msgs[..cut].to_vec(),
    )
}

/// The bytes with the one-byte integer after the text key `key` widened to two bytes.
fn widen_after_key(bytes: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let mut pat = vec![0x60 | key.len() as u8];
    pat.extend_from_slice(key);
    let at = bytes.windows(pat.len()).position(|w| w == pat)? + pat.len();
    let v = *bytes.get(at)?;
    (v < 24).then(|| {
        let mut out = bytes[..at].to_vec();
        out.extend_from_slice(&[0x18, v]);
        out.extend_from_slice(&bytes[at + 1..]);
        out
    })
}

#[test]
fn decoders_refuse_oversized_truncated_trailing_and_non_canonical_bytes() {
    let (_, msgs) = sample_conversation();
    let record = &sample_records()[0];
    let claim = sample_claim();
    type Decode = fn(&[u8]) -> Result<(), WireError>;
    let cases: [(Vec<u8>, usize, Decode); 3] = [
        (msgs[4].to_bytes(), wire::MAX_MATCH_MESSAGE, |b| {
            MatchMessage::from_bytes(b).map(drop)
        }),
        (record.to_bytes(), wire::MAX_RECORD, |b| {
            OutcomeRecord::from_bytes(b).map(drop)
        }),
        (claim.to_bytes(), wire::MAX_RECORD, |b| {
            TimeoutClaim::from_bytes(b).map(drop)
        }),
    ];
    for (good, limit, decode) in cases {
        assert_eq!(decode(&good), Ok(()));
        // Oversized: refused before parsing, whatever the bytes.
        let mut big = good.clone();
        big.resize(limit + 1, 0);
        assert_eq!(
            decode(&big),
            Err(WireError::TooLarge {
                size: limit + 1,
                limit
            })
        );
        assert!(matches!(
            decode(&vec![0xff; limit + 1]),
            Err(WireError::TooLarge { .. })
        ));
        // Every truncation.
        for n in 0..good.len() {
            assert!(
                matches!(decode(&good[..n]), Err(WireError::Malformed(_))),
                "prefix {n}"
            );
        }
        // Trailing bytes.
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0, 1, 2]);
        assert_eq!(decode(&trailing), Err(WireError::Trailing(3)));
        // A non-minimal integer.
        let wide = widen_after_key(&good, b"v").expect("a v field");
        assert_eq!(decode(&wide), Err(WireError::NonCanonical));
        // Garbage and empty input.
        assert!(matches!(decode(&[]), Err(WireError::Malformed(_))));
        assert!(matches!(decode(&[0xff; 64]), Err(WireError::Malformed(_))));
        assert!(decode(b"hello").is_err());
        // Deep nesting.
        assert!(decode(&[0x81; 2000]).is_err());
        // Indefinite-length map in place of the definite one.
        let mut indefinite = good.clone();
        if indefinite[0] & 0xe0 == 0xa0 && indefinite[0] & 0x1f < 24 {
            indefinite[0] = 0xbf;
            indefinite.push(0xff);
            assert!(decode(&indefinite).is_err());
        }
    }
    // Another version.
    let mut m = msgs[0].clone();
    m.v = VERSION + 1;
    assert_eq!(
        MatchMessage::from_bytes(&m.to_bytes()),
        Err(WireError::Version(VERSION + 1))
    );
    let mut r = record.clone();
    r.payload.v = 0;
    assert_eq!(
        OutcomeRecord::from_bytes(&r.to_bytes()),
        Err(WireError::Version(0))
    );
    let mut c = claim.clone();
    c.v = 9;
    assert_eq!(
        TimeoutClaim::from_bytes(&c.to_bytes()),
        Err(WireError::Version(9))
    );
    // Upper-case hex in an action log is another encoding of the same bytes.
    let bytes = record.to_bytes();
    let hex = hex::encode(&record.payload.actions[0].bytes);
    if let Some(at) = bytes.windows(hex.len()).position(|w| w == hex.as_bytes())
        && hex.bytes().any(|c| c.is_ascii_alphabetic())
    {
        let mut upper = bytes.clone();
        upper[at..at + hex.len()].make_ascii_uppercase();
        assert_eq!(
            OutcomeRecord::from_bytes(&upper),
            Err(WireError::NonCanonical)
        );
    }
}

#[test]
fn reordered_map_keys_are_not_canonical() {
    let (_, msgs) = sample_conversation();
    for m in msgs.iter().take(6) {
        let value: ciborium::Value = ciborium::from_reader(&m.to_bytes()[..]).unwrap();
        let ciborium::Value::Map(mut entries) = value else {
            panic!("a map")
        };
        entries.reverse();
        let mut bytes = Vec::new();
        ciborium::into_writer(&ciborium::Value::Map(entries), &mut bytes).unwrap();
        assert_eq!(
            MatchMessage::from_bytes(&bytes),
            Err(WireError::NonCanonical)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// verify_many.
// ---------------------------------------------------------------------------------------------

/// Signs `payload` for both seats.
fn sign_record(payload: ResultPayload, ka: &Keypair, kb: &Keypair) -> OutcomeRecord {
    let bytes = payload.signed_bytes();
    OutcomeRecord {
        sig_a: ka.sign(Domain::MatchResult, &bytes),
        sig_b: kb.sign(Domain::MatchResult, &bytes),
        payload,
    }
}

/// Valid records and all sorts of tampered ones.
fn record_mix() -> Vec<OutcomeRecord> {
    let (ka, kb) = (Keypair::from_secret(KA), Keypair::from_secret(KB));
    let mut out = Vec::new();
    for r in sample_records() {
        out.push(r.clone());
        let mut flipped = r.clone();
        flipped.sig_a.0[3] ^= 1;
        out.push(flipped);
        let mut swapped = r.clone();
        std::mem::swap(&mut swapped.sig_a, &mut swapped.sig_b);
        out.push(swapped);
        // Both re-sign a result the game did not give.
        let mut lie = r.payload.clone();
        lie.result = match lie.result {
            Outcome::Winner(0) => Outcome::Winner(1),
            _ => Outcome::Winner(0),
        };
        out.push(sign_record(lie, &ka, &kb));
        // Both re-sign a log cut short.
        let mut short = r.payload.clone();
        short.actions[0] = PackedActions::default();
        out.push(sign_record(short, &ka, &kb));
        // Another version, signed.
        let mut version = r.payload.clone();
        version.v = 2;
        out.push(sign_record(version, &ka, &kb));
        // Unsigned change.
        let mut seed = r.clone();
        seed.payload.seed_b[0] ^= 1;
        out.push(seed);
    }
    // Self-play, signed.
    let mut selfplay = sample_records()[0].payload.clone();
    selfplay.header.b = selfplay.header.a;
    out.push(sign_record(selfplay, &ka, &ka));
    // A player that is not a curve point.
    let mut bad_key = sample_records()[1].clone();
    bad_key.payload.header.b = PlayerId([0xff; 32]);
    out.push(bad_key);
    out
}

#[test]
fn verify_many_agrees_with_verify() {
    let mix = record_mix();
    let one_by_one: Vec<_> = mix.iter().map(verify).collect();
    assert!(one_by_one.iter().any(Result::is_ok));
    assert!(one_by_one.iter().any(Result::is_err));
    assert_eq!(verify_many(&mix), one_by_one);
    // Valid records alone take the batch path.
    let valid: Vec<_> = sample_records().to_vec();
    assert_eq!(
        verify_many(&valid),
        valid.iter().map(verify).collect::<Vec<_>>()
    );
    assert!(verify_many(&valid).iter().all(Result::is_ok));
    assert!(verify_many(&[]).is_empty());
}

/// A solo record between two players whose keys are small-order points, with "signatures"
/// nobody made: R = identity, s = 0 satisfies the unbatched equation for such keys.
fn weak_key_record() -> OutcomeRecord {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut identity_neg = identity;
    identity_neg[31] = 0x80; // x = 0 with the sign bit set: the same point, other bytes.
    let env = solo(7, 20);
    let header = MatchHeader {
        epoch: 1,
        round: 0,
        env: env.clone(),
        a: PlayerId(identity),
        b: PlayerId(identity_neg),
    };
    let (seed_a, seed_b) = ([1; 32], [2; 32]);
    let seed = match_seed(&header.match_id(), &seed_a, &seed_b);
    let play = || {
        let mut game: SnakeGame = env.start(seed).unwrap();
        let mut log = PackedActions::default();
        while !game.is_over() {
            let d = Greedy.choose(&game, 0);
            log.push_turn(&[u32::from(d.code())], 2);
            game.step(&[d]).unwrap();
        }
        log
    };
    let mut forged = [0u8; 64];
    forged[0] = 1;
    OutcomeRecord {
        payload: ResultPayload {
            v: VERSION,
            header,
            seed_a,
            seed_b,
            actions: vec![play(), play()],
            result: Outcome::Draw,
        },
        sig_a: Signature(forged),
        sig_b: Signature(forged),
    }
}

#[test]
fn verify_many_refuses_forged_signatures_of_small_order_keys() {
    let forged = weak_key_record();
    assert!(matches!(
        verify(&forged),
        Err(VerifyError::Signature { .. })
    ));
    let mut batch = sample_records().to_vec();
    batch.push(forged.clone());
    assert_eq!(
        verify_many(&batch),
        batch.iter().map(verify).collect::<Vec<_>>()
    );
    assert!(verify_many(&[forged])[0].is_err());
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

fn arb_hash() -> impl Strategy<Value = Hash32> {
    any::<[u8; 32]>().prop_map(Hash32)
}

fn arb_sig() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(r, s)| {
        let mut b = [0u8; 64];
        b[..32].copy_from_slice(&r);
        b[32..].copy_from_slice(&s);
        Signature(b)
    })
}

fn arb_player() -> impl Strategy<Value = PlayerId> {
    prop_oneof![
        (1u8..6).prop_map(|i| id([i; 32])),
        any::<[u8; 32]>().prop_map(PlayerId),
    ]
}

fn arb_packed() -> impl Strategy<Value = PackedActions> {
    (0u32..200, prop::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(turns, bytes)| PackedActions { turns, bytes })
}

fn arb_outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        any::<u8>().prop_map(Outcome::Winner),
        Just(Outcome::Draw),
        any::<u32>().prop_map(Outcome::Score),
    ]
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        arb_hash().prop_map(|commitment| Body::SeedCommit { commitment }),
        any::<[u8; 32]>().prop_map(|secret| Body::SeedAnswer { secret }),
        (any::<[u8; 32]>(), arb_hash())
            .prop_map(|(secret, commitment)| Body::SeedReveal { secret, commitment }),
        (0u32..100, 0u8..6).prop_map(|(turn, code)| Body::Move { turn, code }),
        (
            0u32..100,
            0u8..6,
            any::<[u8; 32]>(),
            prop::option::of(arb_hash())
        )
            .prop_map(|(turn, code, salt, next)| Body::Reveal {
                turn,
                code,
                salt,
                next
            }),
        arb_packed().prop_map(|actions| Body::Log { actions }),
        (arb_packed(), any::<[u8; 32]>())
            .prop_map(|(actions, salt)| Body::LogReveal { actions, salt }),
        (arb_outcome(), arb_sig())
            .prop_map(|(result, signature)| Body::Result { result, signature }),
    ]
}

fn arb_message() -> impl Strategy<Value = MatchMessage> {
    (
        arb_hash(),
        any::<u32>(),
        arb_hash(),
        arb_player(),
        arb_body(),
        arb_sig(),
    )
        .prop_map(|(match_id, seq, prev, sender, body, sig)| MatchMessage {
            v: VERSION,
            match_id,
            seq,
            prev,
            sender,
            body,
            sig,
        })
}

/// A message signed by one of a few keys.
fn arb_signed_message() -> impl Strategy<Value = MatchMessage> {
    (1u8..4, arb_hash(), 0u32..200, arb_hash(), arb_body()).prop_map(
        |(k, match_id, seq, prev, body)| {
            MatchMessage::sign(&Keypair::from_secret([k; 32]), match_id, seq, prev, body)
        },
    )
}

fn arb_params() -> impl Strategy<Value = SnakeParams> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(
            |(width, height, snakes, max_health, start_length, spawn, min_food, max_turns)| {
                SnakeParams {
                    width,
                    height,
                    snakes,
                    max_health,
                    start_length,
                    food_spawn_chance: spawn,
                    minimum_food: min_food,
                    max_turns,
                }
            },
        )
}

fn arb_header() -> impl Strategy<Value = MatchHeader> {
    (
        any::<u64>(),
        any::<u32>(),
        arb_params(),
        arb_player(),
        arb_player(),
    )
        .prop_map(|(epoch, round, p, a, b)| MatchHeader {
            epoch,
            round,
            env: EnvSpec::Snake(p),
            a,
            b,
        })
}

fn arb_record() -> impl Strategy<Value = OutcomeRecord> {
    (
        arb_header(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        prop::collection::vec(arb_packed(), 0..3),
        arb_outcome(),
        arb_sig(),
        arb_sig(),
    )
        .prop_map(
            |(header, seed_a, seed_b, actions, result, sig_a, sig_b)| OutcomeRecord {
                payload: ResultPayload {
                    v: VERSION,
                    header,
                    seed_a,
                    seed_b,
                    actions,
                    result,
                },
                sig_a,
                sig_b,
            },
        )
}

fn arb_claim() -> impl Strategy<Value = TimeoutClaim> {
    (
        arb_header(),
        arb_player(),
        prop::collection::vec(arb_message(), 0..4),
        arb_sig(),
    )
        .prop_map(|(header, claimant, evidence, sig)| TimeoutClaim {
            v: VERSION,
            header,
            claimant,
            evidence,
            sig,
        })
}

fn arb_evidence() -> impl Strategy<Value = Evidence> {
    prop_oneof![
        (arb_message(), arb_message())
            .prop_map(|(first, second)| Evidence::Equivocation { first, second }),
        (
            arb_header(),
            prop::collection::vec(arb_message(), 0..3),
            arb_message(),
            ".{0,20}"
        )
            .prop_map(
                |(header, chain, message, reason)| Evidence::InvalidMessage {
                    header,
                    chain,
                    message,
                    reason
                }
            ),
        (arb_record(), arb_record())
            .prop_map(|(first, second)| Evidence::ConflictingResults { first, second }),
    ]
}

/// Feeds `bytes` to every decoder and to every check of what decodes; must not panic.
fn decode_everything(bytes: &[u8]) {
    if let Ok(m) = MatchMessage::from_bytes(bytes) {
        assert_eq!(m.to_bytes(), bytes);
        let _ = m.verify_signature();
    }
    if let Ok(r) = OutcomeRecord::from_bytes(bytes) {
        assert_eq!(r.to_bytes(), bytes);
        let _ = verify(&r);
    }
    if let Ok(c) = TimeoutClaim::from_bytes(bytes) {
        assert_eq!(c.to_bytes(), bytes);
        let _ = check_claim(&c);
    }
    if let Ok(e) = wire::decode::<Evidence>(bytes, wire::MAX_RECORD) {
        assert_eq!(wire::encode(&e), bytes);
        let _ = verify_evidence(&e);
    }
    let _ = wire::decode::<MatchHeader>(bytes, wire::MAX_RECORD);
    let _ = wire::decode::<Body>(bytes, wire::MAX_RECORD);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn match_messages_round_trip(m in arb_message()) {
        let bytes = m.to_bytes();
        prop_assert!(bytes.len() <= wire::MAX_MATCH_MESSAGE);
        prop_assert_eq!(MatchMessage::from_bytes(&bytes), Ok(m.clone()));
        prop_assert_eq!(
            wire::decode::<Body>(&wire::encode(&m.body), wire::MAX_MATCH_MESSAGE),
            Ok(m.body.clone())
        );
    }

    #[test]
    fn records_claims_and_evidence_round_trip(
        r in arb_record(),
        c in arb_claim(),
        e in arb_evidence(),
    ) {
        prop_assert_eq!(OutcomeRecord::from_bytes(&r.to_bytes()), Ok(r.clone()));
        prop_assert_eq!(TimeoutClaim::from_bytes(&c.to_bytes()), Ok(c.clone()));
        prop_assert_eq!(wire::decode::<Evidence>(&wire::encode(&e), wire::MAX_RECORD), Ok(e.clone()));
        // Nothing random verifies.
        prop_assert!(verify(&r).is_err());
        prop_assert!(check_claim(&c).is_err());
    }

    #[test]
    fn no_single_byte_change_to_a_signed_message_is_accepted(
        m in arb_signed_message(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..,
    ) {
        prop_assert!(m.verify_signature().is_ok());
        let mut bytes = m.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        if let Ok(changed) = MatchMessage::from_bytes(&bytes) {
            prop_assert_ne!(&changed, &m);
            prop_assert!(changed.verify_signature().is_err(), "{:?}", changed);
        }
    }

    #[test]
    fn no_single_byte_change_to_a_record_is_accepted(
        which in 0usize..4,
        at in any::<prop::sample::Index>(),
        mask in 1u8..,
    ) {
        let record = &sample_records()[which];
        let mut bytes = record.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        if let Ok(changed) = OutcomeRecord::from_bytes(&bytes) {
            prop_assert_ne!(&changed, record);
            prop_assert!(verify(&changed).is_err());
            prop_assert!(verify_many(std::slice::from_ref(&changed))[0].is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic_a_decoder(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let (_, msgs) = sample_conversation();
        let mut bytes = match which {
            0 => msgs[4].to_bytes(),
            1 => sample_records()[1].to_bytes(),
            _ => sample_claim().to_bytes(),
        };
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                2 => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
        }
        decode_everything(&bytes);
    }

    #[test]
    fn verify_many_agrees_with_verify_on_any_mix(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        static MIX: OnceLock<Vec<OutcomeRecord>> = OnceLock::new();
        let mix = MIX.get_or_init(|| {
            let mut m = record_mix();
            m.push(weak_key_record());
            m
        });
        let batch: Vec<OutcomeRecord> = picks.iter().map(|i| mix[i.index(mix.len())].clone()).collect();
        prop_assert_eq!(verify_many(&batch), batch.iter().map(verify).collect::<Vec<_>>());
    }
}

/// What an attacker holding the peer's key (and anyone else's but the honest player's) may
/// send: arbitrary messages, messages in the right place with arbitrary bodies, and the peer's
/// real messages altered and re-signed.
#[derive(Clone, Debug)]
enum Attack {
    Raw(MatchMessage),
    /// A body signed by the peer at `next_seq + offset - 2`, chained to the honest side's
    /// last message if `chained`.
    Placed {
        offset: u32,
        chained: bool,
        body: Body,
    },
    /// The peer's `index`-th real message with another body, re-signed.
    Altered {
        index: prop::sample::Index,
        body: Body,
    },
    /// One of the honest side's own messages, sent back.
    Reflect(prop::sample::Index),
    /// Time passes.
    Wait(u64),
}

fn arb_attack() -> impl Strategy<Value = Attack> {
    prop_oneof![
        arb_message().prop_map(Attack::Raw),
        (0u32..5, any::<bool>(), arb_body()).prop_map(|(offset, chained, body)| {
            Attack::Placed {
                offset,
                chained,
                body,
            }
        }),
        (any::<prop::sample::Index>(), arb_body())
            .prop_map(|(index, body)| Attack::Altered { index, body }),
        any::<prop::sample::Index>().prop_map(Attack::Reflect),
        (0u64..25_000).prop_map(Attack::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_messages_never_panic_a_machine_nor_convict_the_honest_player(
        solo_task in any::<bool>(),
        honest_seat in 0usize..2,
        prefix_ms in 0u64..400,
        attacks in prop::collection::vec(arb_attack(), 1..24),
    ) {
        let env = if solo_task { solo(7, 20) } else { duel(7, 20) };
        let (mut sim, a, b) = one_match(prefix_ms, env, LinkConfig::perfect());
        let (honest, dev) = if honest_seat == 0 { (a, b) } else { (b, a) };
        // Play honestly for a while, then the peer turns.
        sim.run_to(prefix_ms);
        let peer_key = sim.players[dev].keypair();
        let peer_said = sim.players[dev].wire.clone();
        let honest_id = sim.players[honest].id;
        let mut now = sim.now;
        let mut events = Vec::new();
        for attack in attacks {
            let h = &mut sim.players[honest].machine;
            let conv = h.conversation();
            let msg = match attack {
                Attack::Raw(m) => Some(m),
                Attack::Placed { offset, chained, body } => {
                    let seq = (conv.next_seq() + offset).saturating_sub(2);
                    let prev = if chained { conv.last_hash() } else { Hash32([7; 32]) };
                    Some(MatchMessage::sign(&peer_key, conv.match_id(), seq, prev, body))
                }
                Attack::Altered { index, body } => (!peer_said.is_empty()).then(|| {
                    let m = &peer_said[index.index(peer_said.len())];
                    resign(&peer_key, m, body)
                }),
                Attack::Reflect(index) => {
                    let mine: Vec<_> = conv.messages().iter().filter(|m| m.sender == honest_id).cloned().collect();
                    (!mine.is_empty()).then(|| mine[index.index(mine.len())].clone())
                }
                Attack::Wait(ms) => {
                    now += ms;
                    h.handle_timeout(now);
                    if let Some(t) = h.poll_timeout() {
                        prop_assert!(t > now, "poll_timeout {} <= now {}", t, now);
                    }
                    None
                }
            };
            if let Some(m) = msg {
                h.handle_message(now, m);
            }
            while let Some(e) = h.poll_event() {
                if let Event::ActionNeeded { .. } = e
                    && let Some(game) = h.pending_game().cloned()
                {
                    let snake = if solo_task { 0 } else { honest_seat };
                    let code = Greedy.choose(&game, snake).code();
                    h.supply_action(now, code).unwrap();
                }
                events.push(e);
            }
            while h.poll_transmit().is_some() {}
        }
        for e in &events {
            match e {
                Event::PeerFault(ev) => {
                    prop_assert_eq!(verify_evidence(ev), Ok(sim.players[dev].id), "{:?}", ev);
                }
                Event::TimeoutClaimed(c) | Event::Forfeit(c) => {
                    prop_assert_eq!(check_claim(c), Ok(sim.players[dev].id));
                }
                Event::Finished(r) => prop_assert!(verify(r).is_ok()),
                _ => {}
            }
        }
    }
}
