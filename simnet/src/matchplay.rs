//! Playing one match, at one of two fidelities.
//!
//! - [`play_fast`]: the game is played locally with the real `envs` engine and agents, and the
//!   outcome record is built and signed by both players' keys exactly as the match protocol
//!   would build it (same seed shares, derived from each player's secret as
//!   [`nets_tournament::protocol::MatchMachine`] derives them, same packed action log, same
//!   payload), so it is bit-identical to the record of a full exchange (tested below). It skips
//!   the per-turn commitments and signatures, which only matter when a player deviates.
//! - [`play_protocol`]: both players run real [`MatchMachine`]s exchanging signed messages
//!   over a modelled link (latency, loss, cuts), with adversary hooks; it yields the records,
//!   timeout claims, claim answers and evidence that the match produced. The simulator uses it
//!   for every match in which a player deviates or cannot be reached, and for all matches
//!   with `protocol = "full"`.

use std::collections::{BTreeMap, VecDeque};

use nets_envs::Outcome;
use nets_envs::agents::{Agent, agent_seed};
use nets_envs::log::PackedActions;
use nets_envs::snake::Direction;
use nets_tournament::evidence::Evidence;
use nets_tournament::hash::keccak256;
use nets_tournament::identity::{Domain, Keypair};
use nets_tournament::messages::{
    Body, MatchHeader, MatchMessage, OutcomeRecord, ResultPayload, Seat, VERSION, match_seed,
};
use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
use nets_tournament::timeout::TimeoutClaim;

use crate::agent::{AgentSpec, PlayingAgent};

/// How a player behaves in a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduct {
    /// Plays its agent by the rules.
    Honest,
    /// Loses on purpose (walks into the wall), for a ring or Sybil partner.
    Throw,
    /// Withholds its result signature when the result is a loss.
    AbortWhenLosing,
    /// Sends two different signed messages for its first protocol step.
    Equivocate,
    /// Does not take part (offline, or its draw did not contain this match).
    Absent,
}

/// One side of a match.
#[derive(Clone, Debug)]
pub struct Player<'a> {
    /// Its key.
    pub key: &'a Keypair,
    /// Its private randomness for this match.
    pub secret: [u8; 32],
    /// Its agent.
    pub agent: AgentSpec,
    /// Its behaviour.
    pub conduct: Conduct,
}

/// A seed share as [`MatchMachine`] derives it from the player's secret.
pub fn seed_share(secret: &[u8; 32], header: &MatchHeader) -> [u8; 32] {
    keccak256(&[
        b"nets/secret/",
        b"seed",
        secret,
        &header.match_id().0,
        &0u32.to_le_bytes(),
    ])
    .0
}

/// A thrower: always up, into the top wall.
fn throw_move() -> Direction {
    Direction::Up
}

/// Plays the game locally and returns the record both players sign, and the turns played.
pub fn play_fast(header: &MatchHeader, a: &Player<'_>, b: &Player<'_>) -> (OutcomeRecord, u32) {
    let seed_a = seed_share(&a.secret, header);
    let seed_b = seed_share(&b.secret, header);
    let seed = match_seed(&header.match_id(), &seed_a, &seed_b);
    let mut actions = PackedActions::default();
    let mut result = Outcome::Draw;
    let mut turns = 0;
    if let Ok(mut game) = header.env.start(seed) {
        let mut agents: [PlayingAgent; 2] = [
            a.agent.build(agent_seed(seed, 0)),
            b.agent.build(agent_seed(seed, 1)),
        ];
        let conducts = [a.conduct, b.conduct];
        while !game.is_over() {
            let mut moves = [Direction::Up; 2];
            for (p, (agent, conduct)) in agents.iter_mut().zip(conducts).enumerate() {
                if let Some(slot) = moves.get_mut(p) {
                    *slot = if conduct == Conduct::Throw {
                        throw_move()
                    } else {
                        agent.choose(&game, p)
                    };
                }
            }
            if game.step(&moves).is_err() {
                break;
            }
            actions.push_turn(&moves.map(|d| u32::from(d.code())), 2);
        }
        result = game.outcome().copied().unwrap_or(Outcome::Draw);
        turns = game.turn();
    }
    let payload = ResultPayload {
        v: VERSION,
        header: header.clone(),
        seed_a,
        seed_b,
        actions: vec![actions],
        result,
    };
    let bytes = payload.signed_bytes();
    let record = OutcomeRecord {
        sig_a: a.key.sign(Domain::MatchResult, &bytes),
        sig_b: b.key.sign(Domain::MatchResult, &bytes),
        payload,
    };
    (record, turns)
}

/// What a protocol run produced, with the virtual time of each item.
#[derive(Clone, Debug, Default)]
pub struct ProtocolOutcome {
    /// Completed records (both sides normally produce the same one), by the side that has it.
    pub records: Vec<(u64, Seat, OutcomeRecord)>,
    /// Timeout claims published.
    pub claims: Vec<(u64, Seat, TimeoutClaim)>,
    /// Answers to claims published.
    pub answers: Vec<(u64, Seat, MatchMessage)>,
    /// Evidence of fraud published by a side.
    pub evidence: Vec<(u64, Seat, Evidence)>,
    /// Protocol messages transmitted (including retransmissions).
    pub messages: u64,
    /// When the run ended.
    pub end: u64,
}

/// The link between the two players: `(from seat, send time, draw counter)` to the arrival
/// time, or `None` when the packet is lost or the link is cut.
pub type Link<'a> = dyn Fn(Seat, u64, u64) -> Option<u64> + 'a;

/// Most steps of one protocol run (a bound on every loop).
const MAX_STEPS: u32 = 200_000;

/// Runs the match protocol between `a` and `b` from `start`, over `link`, until both sides are
/// done, the absent side's peer has given up, or `horizon` virtual ms have passed. Claims are
/// shown to the accused (as gossip would) `claim_delay` ms after they are made, if the link
/// is up then.
pub fn play_protocol(
    start: u64,
    header: &MatchHeader,
    players: [&Player<'_>; 2],
    config: MatchConfig,
    link: &Link<'_>,
    claim_delay: u64,
    horizon: u64,
) -> ProtocolOutcome {
    let mut out = ProtocolOutcome::default();
    let mut machines: [Option<MatchMachine>; 2] = [None, None];
    for (i, p) in players.iter().enumerate() {
        if p.conduct != Conduct::Absent
            && let Some(slot) = machines.get_mut(i)
        {
            *slot = MatchMachine::new(
                start,
                header.clone(),
                Keypair::from_secret(p.key.secret()),
                p.secret,
                config,
            )
            .ok();
        }
    }
    let mut agents: Vec<Option<PlayingAgent>> = vec![None, None];
    let mut silent = [false, false];
    let mut equivocated = [false, false];
    // In flight: (arrival, order) -> (to seat index, message).
    let mut wire: BTreeMap<(u64, u64), (usize, MatchMessage)> = BTreeMap::new();
    let mut claims_to_show: VecDeque<(u64, usize, TimeoutClaim)> = VecDeque::new();
    let mut order = 0u64;
    let mut draws = 0u64;
    let mut now = start;
    let end_by = start.saturating_add(horizon);
    for _ in 0..MAX_STEPS {
        // Settle both machines.
        let mut moved = true;
        while moved {
            moved = false;
            for me in 0..2usize {
                let seat = if me == 0 { Seat::A } else { Seat::B };
                let Some(Some(m)) = machines.get_mut(me) else {
                    continue;
                };
                let conduct = players.get(me).map_or(Conduct::Absent, |p| p.conduct);
                while let Some(event) = m.poll_event() {
                    moved = true;
                    match event {
                        Event::ActionNeeded { .. } => {
                            let Some(game) = m.pending_game().cloned() else {
                                continue;
                            };
                            let code = if conduct == Conduct::Throw {
                                throw_move().code()
                            } else {
                                let agent = agents.get_mut(me).and_then(|slot| {
                                    if slot.is_none()
                                        && let Some(seed) = m.conversation().seed().or_else(|| {
                                            // Seat A knows the seed before revealing.
                                            let p = players.get(me)?;
                                            let b = match m
                                                .conversation()
                                                .messages()
                                                .get(1)
                                                .map(|x| &x.body)
                                            {
                                                Some(Body::SeedAnswer { secret }) => *secret,
                                                _ => return None,
                                            };
                                            Some(match_seed(
                                                &header.match_id(),
                                                &seed_share(&p.secret, header),
                                                &b,
                                            ))
                                        })
                                    {
                                        *slot = players
                                            .get(me)
                                            .map(|p| p.agent.build(agent_seed(seed, me)));
                                    }
                                    slot.as_mut()
                                });
                                match agent {
                                    Some(a) => a.choose(&game, me).code(),
                                    None => 0,
                                }
                            };
                            let _ = m.supply_action(now, code);
                        }
                        Event::Finished(record) => {
                            // A silent loser keeps its copy to itself.
                            let lost = matches!(
                                record.payload.result,
                                Outcome::Winner(w) if w != seat.index()
                            );
                            if conduct == Conduct::AbortWhenLosing
                                && lost
                                && let Some(s) = silent.get_mut(me)
                            {
                                *s = true;
                            }
                            if !silent.get(me).copied().unwrap_or(false) {
                                out.records.push((now, seat, record));
                            }
                        }
                        Event::TimeoutClaimed(claim) => {
                            claims_to_show.push_back((
                                now.saturating_add(claim_delay),
                                1 - me,
                                claim.clone(),
                            ));
                            out.claims.push((now, seat, claim));
                        }
                        Event::ClaimAnswer(msg) => {
                            if !silent.get(me).copied().unwrap_or(false) {
                                out.answers.push((now, seat, msg));
                            }
                        }
                        Event::PeerFault(ev) => out.evidence.push((now, seat, ev)),
                        Event::Forfeit(_) | Event::ClaimAnswered | Event::Dropped(_) | _ => {}
                    }
                }
                while let Some(mut msg) = m.poll_transmit() {
                    moved = true;
                    let mut batch = vec![];
                    match conduct {
                        Conduct::AbortWhenLosing => {
                            if let Body::Result { result, .. } = msg.body {
                                let lost =
                                    matches!(result, Outcome::Winner(w) if w != seat.index());
                                if lost && let Some(s) = silent.get_mut(me) {
                                    *s = true;
                                }
                            }
                            if !silent.get(me).copied().unwrap_or(false) {
                                batch.push(msg);
                            }
                        }
                        Conduct::Equivocate if !equivocated.get(me).copied().unwrap_or(true) => {
                            if let Some(e) = equivocated.get_mut(me) {
                                *e = true;
                            }
                            let alt_body = match &msg.body {
                                Body::SeedCommit { commitment } => Some(Body::SeedCommit {
                                    commitment: keccak256(&[b"other", &commitment.0]),
                                }),
                                Body::SeedAnswer { secret } => Some(Body::SeedAnswer {
                                    secret: keccak256(&[b"other", secret]).0,
                                }),
                                _ => None,
                            };
                            if let (Some(body), Some(p)) = (alt_body, players.get(me)) {
                                let alt = MatchMessage::sign(
                                    p.key,
                                    msg.match_id,
                                    msg.seq,
                                    msg.prev,
                                    body,
                                );
                                batch.push(msg);
                                batch.push(alt);
                            } else {
                                batch.push(msg);
                            }
                        }
                        _ => {
                            // Keep the message as is.
                            let _ = &mut msg;
                            batch.push(msg);
                        }
                    }
                    for msg in batch {
                        out.messages = out.messages.saturating_add(1);
                        draws = draws.saturating_add(1);
                        if let Some(at) = link(seat, now, draws) {
                            order = order.saturating_add(1);
                            wire.insert((at, order), (1 - me, msg));
                        }
                    }
                }
            }
        }
        let done = |i: usize| {
            machines
                .get(i)
                .is_none_or(|m| m.as_ref().is_none_or(MatchMachine::is_done))
                || silent.get(i).copied().unwrap_or(false)
        };
        if done(0) && done(1) {
            break;
        }
        // Next thing to happen.
        let next_wire = wire.keys().next().map(|k| k.0);
        let next_claim = claims_to_show.front().map(|c| c.0);
        let next_timer = machines
            .iter()
            .enumerate()
            .filter(|(i, _)| !silent.get(*i).copied().unwrap_or(false))
            .filter_map(|(_, m)| m.as_ref().and_then(MatchMachine::poll_timeout))
            .min();
        let Some(next) = [next_wire, next_claim, next_timer]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        if next > end_by {
            break;
        }
        now = now.max(next);
        while let Some(entry) = wire.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (to, msg) = entry.remove();
            if !silent.get(to).copied().unwrap_or(false)
                && let Some(Some(m)) = machines.get_mut(to)
            {
                m.handle_message(now, msg);
            }
        }
        while claims_to_show.front().is_some_and(|c| c.0 <= now) {
            let Some((_, to, claim)) = claims_to_show.pop_front() else {
                break;
            };
            let seat = if to == 0 { Seat::B } else { Seat::A };
            draws = draws.saturating_add(1);
            let reachable = link(seat, now, draws).is_some();
            if reachable
                && !silent.get(to).copied().unwrap_or(false)
                && let Some(Some(m)) = machines.get_mut(to)
            {
                m.handle_claim(now, &claim);
            }
        }
        for (i, m) in machines.iter_mut().enumerate() {
            if silent.get(i).copied().unwrap_or(false) {
                continue;
            }
            if let Some(m) = m
                && m.poll_timeout().is_some_and(|t| t <= now)
            {
                m.handle_timeout(now);
            }
        }
    }
    out.end = now;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Genome;
    use nets_envs::log::EnvSpec;
    use nets_envs::snake::SnakeParams;
    use nets_tournament::verify::verify;

    fn header(ka: &Keypair, kb: &Keypair, max_turns: u32) -> MatchHeader {
        MatchHeader {
            epoch: 1,
            round: 2,
            env: EnvSpec::Snake(SnakeParams {
                max_turns,
                ..SnakeParams::duel(11)
            }),
            a: ka.id(),
            b: kb.id(),
        }
    }

    fn player(key: &Keypair, secret: u8, conduct: Conduct) -> Player<'_> {
        Player {
            key,
            secret: [secret; 32],
            agent: AgentSpec::Tuned(Genome {
                skill: 900,
                ..Genome::default()
            }),
            conduct,
        }
    }

    fn perfect(_: Seat, t: u64, _: u64) -> Option<u64> {
        Some(t + 20)
    }

    #[test]
    fn fast_record_equals_the_full_exchange() {
        for s in 1..6u8 {
            let (ka, kb) = (
                Keypair::from_secret([s; 32]),
                Keypair::from_secret([s + 50; 32]),
            );
            let h = header(&ka, &kb, 300);
            let (a, b) = (
                player(&ka, s, Conduct::Honest),
                player(&kb, s + 9, Conduct::Honest),
            );
            let (fast, _) = play_fast(&h, &a, &b);
            assert!(verify(&fast).is_ok());
            let full = play_protocol(
                0,
                &h,
                [&a, &b],
                MatchConfig::default(),
                &perfect,
                50,
                3_600_000,
            );
            assert_eq!(full.records.len(), 2);
            for (_, _, r) in &full.records {
                assert_eq!(r, &fast);
            }
            assert!(full.claims.is_empty() && full.evidence.is_empty());
        }
    }

    #[test]
    fn a_silent_loser_is_claimed_against_and_an_absent_peer_too() {
        let mut aborted = 0;
        for s in 1..12u8 {
            let (ka, kb) = (
                Keypair::from_secret([s; 32]),
                Keypair::from_secret([s + 70; 32]),
            );
            let h = header(&ka, &kb, 300);
            let (a, b) = (
                player(&ka, s, Conduct::AbortWhenLosing),
                player(&kb, s, Conduct::Honest),
            );
            let (fast, _) = play_fast(&h, &a, &b);
            let full = play_protocol(
                0,
                &h,
                [&a, &b],
                MatchConfig::default(),
                &perfect,
                50,
                3_600_000,
            );
            if fast.payload.result == Outcome::Winner(1) {
                aborted += 1;
                assert!(full.records.is_empty());
                assert_eq!(full.claims.len(), 1);
                assert_eq!(full.claims[0].1, Seat::B);
            } else {
                assert_eq!(full.records.len(), 2);
            }
        }
        assert!(aborted > 0);
        let (ka, kb) = (Keypair::from_secret([1; 32]), Keypair::from_secret([2; 32]));
        let h = header(&ka, &kb, 300);
        let (a, b) = (
            player(&ka, 1, Conduct::Honest),
            player(&kb, 2, Conduct::Absent),
        );
        let full = play_protocol(
            0,
            &h,
            [&a, &b],
            MatchConfig::default(),
            &perfect,
            50,
            3_600_000,
        );
        assert_eq!(full.claims.len(), 1);
        assert!(full.records.is_empty());
    }

    #[test]
    fn an_equivocator_is_caught_by_its_peer() {
        let (ka, kb) = (Keypair::from_secret([3; 32]), Keypair::from_secret([4; 32]));
        let h = header(&ka, &kb, 300);
        for (ca, cb, culprit) in [
            (Conduct::Equivocate, Conduct::Honest, ka.id()),
            (Conduct::Honest, Conduct::Equivocate, kb.id()),
        ] {
            let (a, b) = (player(&ka, 1, ca), player(&kb, 2, cb));
            let full = play_protocol(
                0,
                &h,
                [&a, &b],
                MatchConfig::default(),
                &perfect,
                50,
                3_600_000,
            );
            assert_eq!(full.evidence.len(), 1, "{full:?}");
            assert_eq!(
                nets_tournament::evidence::verify_evidence(&full.evidence[0].2),
                Ok(culprit)
            );
        }
    }
}
