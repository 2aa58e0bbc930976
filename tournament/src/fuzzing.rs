//! What the fuzz targets in `tournament/fuzz` run, shared with `tests/fuzz_corpus.rs`, which
//! replays their corpus on stable. Not part of the API.
//!
//! Every function takes arbitrary bytes, must never panic, and returns `Err` with a
//! description when an invariant is broken (the fuzz targets panic on it):
//! - a decoder accepts only canonical bytes: what decodes re-encodes to the same bytes;
//! - what decodes can be checked (`verify`, `check_claim`, `verify_evidence`) without panicking,
//!   and `verify_many` agrees with `verify`;
//! - a [`MatchMachine`] fed any sequence of messages (from strangers, replays, or a peer that
//!   signs whatever it likes) never panics, never blames the honest player, and every
//!   fault, claim or record it emits checks out.

use nets_envs::agents::{Agent, Greedy};
use nets_envs::log::{EnvSpec, PackedActions};
use nets_envs::snake::SnakeParams;
use nets_envs::{Outcome, snake::SnakeGame};

use crate::evidence::{Evidence, verify_evidence};
use crate::hash::Hash32;
use crate::identity::{Keypair, PlayerId, Signature};
use crate::messages::{Body, MatchHeader, MatchMessage, OutcomeRecord, Seat};
use crate::protocol::{Event, MatchConfig, MatchMachine};
use crate::timeout::{TimeoutClaim, check_claim};
use crate::verify::{verify, verify_many};
use crate::wire;

/// The secret of seat A's key in [`feed_machine`] matches.
pub const KEY_A: [u8; 32] = [1; 32];
/// The secret of seat B's key in [`feed_machine`] matches.
pub const KEY_B: [u8; 32] = [2; 32];

/// [`MatchMessage::from_bytes`], then its signature check.
pub fn decode_match_message(bytes: &[u8]) -> Result<(), String> {
    if let Ok(m) = MatchMessage::from_bytes(bytes) {
        if m.to_bytes() != bytes {
            return Err("a match message decoded from non-canonical bytes".into());
        }
        let _ = m.verify_signature();
        let _ = m.hash();
    }
    Ok(())
}

/// [`OutcomeRecord::from_bytes`], then [`verify`] and [`verify_many`].
pub fn decode_outcome_record(bytes: &[u8]) -> Result<(), String> {
    if let Ok(r) = OutcomeRecord::from_bytes(bytes) {
        if r.to_bytes() != bytes {
            return Err("a record decoded from non-canonical bytes".into());
        }
        let one = verify(&r);
        let many = verify_many(std::slice::from_ref(&r));
        if many.first() != Some(&one) {
            return Err(format!("verify gives {one:?} but verify_many {many:?}"));
        }
    }
    Ok(())
}

/// [`TimeoutClaim::from_bytes`], then [`check_claim`].
pub fn decode_timeout_claim(bytes: &[u8]) -> Result<(), String> {
    if let Ok(c) = TimeoutClaim::from_bytes(bytes) {
        if c.to_bytes() != bytes {
            return Err("a claim decoded from non-canonical bytes".into());
        }
        let _ = check_claim(&c);
    }
    Ok(())
}

/// Evidence from bytes, then [`verify_evidence`].
pub fn decode_evidence(bytes: &[u8]) -> Result<(), String> {
    if let Ok(e) = wire::decode::<Evidence>(bytes, wire::MAX_RECORD) {
        if wire::encode(&e) != bytes {
            return Err("evidence decoded from non-canonical bytes".into());
        }
        let _ = verify_evidence(&e);
    }
    Ok(())
}

/// Every decoder above.
pub fn decode_all(bytes: &[u8]) -> Result<(), String> {
    decode_match_message(bytes)?;
    decode_outcome_record(bytes)?;
    decode_timeout_claim(bytes)?;
    decode_evidence(bytes)
}

/// Reads the fuzzer's bytes.
#[derive(Debug)]
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.bytes.len());
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        head
    }

    /// 32 bytes, zero-padded when the input runs out.
    fn array32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (o, b) in out.iter_mut().zip(self.take(32)) {
            *o = *b;
        }
        out
    }

    fn u32(&mut self) -> u32 {
        let mut out = [0u8; 4];
        for (o, b) in out.iter_mut().zip(self.take(4)) {
            *o = *b;
        }
        u32::from_le_bytes(out)
    }

    fn signature(&mut self) -> Signature {
        let mut out = [0u8; 64];
        for (o, b) in out.iter_mut().zip(self.take(64)) {
            *o = *b;
        }
        Signature(out)
    }

    fn body(&mut self) -> Body {
        let kind = self.byte().unwrap_or(0);
        match kind % 8 {
            0 => Body::SeedCommit {
                commitment: Hash32(self.array32()),
            },
            1 => Body::SeedAnswer {
                secret: self.array32(),
            },
            2 => Body::SeedReveal {
                secret: self.array32(),
                commitment: Hash32(self.array32()),
            },
            3 => Body::Move {
                turn: u32::from(self.byte().unwrap_or(0)),
                code: self.byte().unwrap_or(0),
            },
            4 => {
                let turn = u32::from(self.byte().unwrap_or(0));
                let code = self.byte().unwrap_or(0);
                let salt = self.array32();
                let next = (kind & 0x80 != 0).then(|| Hash32(self.array32()));
                Body::Reveal {
                    turn,
                    code,
                    salt,
                    next,
                }
            }
            5 => Body::Log {
                actions: self.actions(),
            },
            6 => Body::LogReveal {
                actions: self.actions(),
                salt: self.array32(),
            },
            _ => Body::Result {
                result: match self.byte().unwrap_or(0) % 4 {
                    0 => Outcome::Winner(0),
                    1 => Outcome::Winner(1),
                    2 => Outcome::Draw,
                    _ => Outcome::Score(self.u32()),
                },
                signature: self.signature(),
            },
        }
    }

    fn actions(&mut self) -> PackedActions {
        let turns = u32::from(self.byte().unwrap_or(0));
        let len = usize::from(self.byte().unwrap_or(0) % 64);
        PackedActions {
            turns,
            bytes: self.take(len).to_vec(),
        }
    }
}

/// The two sides of one match: the honest machine under test and its peer, whose key the
/// fuzzer holds.
#[derive(Debug)]
struct Pair {
    honest: MatchMachine,
    peer: MatchMachine,
    peer_key: Keypair,
    peer_id: PlayerId,
    honest_snake: usize,
    peer_snake: usize,
    now: u64,
    /// Everything the peer's machine sent.
    peer_said: Vec<MatchMessage>,
    /// What the honest machine sent, not yet delivered.
    to_peer: Vec<MatchMessage>,
    /// The last message handed to the honest machine.
    last_delivered: Option<MatchMessage>,
}

impl Pair {
    fn new(setup: u8) -> Result<Self, String> {
        let solo = setup & 1 != 0;
        let honest_seat = if setup & 2 == 0 { Seat::A } else { Seat::B };
        let env = if solo {
            EnvSpec::Snake(SnakeParams::solo(7, 16))
        } else {
            EnvSpec::Snake(SnakeParams {
                max_turns: 16,
                ..SnakeParams::duel(7)
            })
        };
        let (ka, kb) = (Keypair::from_secret(KEY_A), Keypair::from_secret(KEY_B));
        let header = MatchHeader {
            epoch: 1,
            round: u32::from(setup >> 2),
            env,
            a: ka.id(),
            b: kb.id(),
        };
        let config = MatchConfig::default();
        let (honest_key, peer_secret) = match honest_seat {
            Seat::A => (ka, KEY_B),
            Seat::B => (kb, KEY_A),
        };
        let peer_key = Keypair::from_secret(peer_secret);
        let peer_id = peer_key.id();
        let err = |e: crate::Error| e.to_string();
        let honest =
            MatchMachine::new(0, header.clone(), honest_key, [7; 32], config).map_err(err)?;
        let peer = MatchMachine::new(
            0,
            header,
            Keypair::from_secret(peer_secret),
            [8; 32],
            config,
        )
        .map_err(err)?;
        let snake = |seat: Seat| if solo { 0 } else { usize::from(seat.index()) };
        Ok(Self {
            honest,
            peer,
            peer_key,
            peer_id,
            honest_snake: snake(honest_seat),
            peer_snake: snake(honest_seat.other()),
            now: 0,
            peer_said: Vec::new(),
            to_peer: Vec::new(),
            last_delivered: None,
        })
    }

    /// Answers the peer's requests and collects what it sends.
    fn run_peer(&mut self) {
        while let Some(event) = self.peer.poll_event() {
            if let Event::ActionNeeded { .. } = event
                && let Some(game) = self.peer.pending_game().cloned()
            {
                let code = choose(&game, self.peer_snake);
                let _ = self.peer.supply_action(self.now, code);
            }
        }
    }

    /// Checks and answers the honest machine's events.
    fn check_honest(&mut self) -> Result<(), String> {
        while let Some(event) = self.honest.poll_event() {
            match event {
                Event::ActionNeeded { .. } => {
                    if let Some(game) = self.honest.pending_game().cloned() {
                        let code = choose(&game, self.honest_snake);
                        self.honest
                            .supply_action(self.now, code)
                            .map_err(|e| format!("supply_action: {e}"))?;
                    }
                }
                Event::PeerFault(evidence) => match verify_evidence(&evidence) {
                    Ok(who) if who == self.peer_id => {}
                    other => {
                        return Err(format!(
                            "fault evidence {evidence:?} does not convict the peer: {other:?}"
                        ));
                    }
                },
                Event::TimeoutClaimed(claim) | Event::Forfeit(claim) => match check_claim(&claim) {
                    Ok(who) if who == self.peer_id => {}
                    other => return Err(format!("claim {claim:?} does not hold: {other:?}")),
                },
                Event::Finished(record) => {
                    verify(&record).map_err(|e| format!("finished with a bad record: {e}"))?;
                }
                _ => {}
            }
        }
        while let Some(m) = self.honest.poll_transmit() {
            if self.to_peer.len() < 64 {
                self.to_peer.push(m);
            }
        }
        Ok(())
    }

    fn deliver(&mut self, msg: MatchMessage) -> Result<(), String> {
        self.last_delivered = Some(msg.clone());
        self.honest.handle_message(self.now, msg);
        self.check_honest()
    }

    /// One honest exchange: the honest side's messages reach the peer, the peer's reach the
    /// honest side.
    fn pump(&mut self) -> Result<(), String> {
        for m in std::mem::take(&mut self.to_peer) {
            self.peer.handle_message(self.now, m);
        }
        self.run_peer();
        let mut from_peer = Vec::new();
        while let Some(m) = self.peer.poll_transmit() {
            from_peer.push(m);
        }
        for m in from_peer {
            if self.peer_said.len() < 256 {
                self.peer_said.push(m.clone());
            }
            self.deliver(m)?;
        }
        Ok(())
    }

    fn wait(&mut self, ms: u64) -> Result<(), String> {
        self.now = self.now.saturating_add(ms);
        self.honest.handle_timeout(self.now);
        self.peer.handle_timeout(self.now);
        self.run_peer();
        if let Some(t) = self.honest.poll_timeout()
            && t <= self.now
        {
            return Err(format!(
                "poll_timeout {t} stays at or before now {}",
                self.now
            ));
        }
        self.check_honest()
    }
}

fn choose(game: &SnakeGame, snake: usize) -> u8 {
    let mut agent = Greedy;
    agent.choose(game, snake).code()
}

/// Plays one match between an honest machine and a peer driven by the fuzzer's bytes.
///
/// Byte 0 chooses the game (bit 0: solo task), the honest seat (bit 1) and the round. Then
/// each byte is an operation, with its operands after it:
/// - `0` an honest exchange of what both sides have to send;
/// - `1 n <n bytes>` the bytes (`n` a little-endian `u16`), decoded as a message, to the
///   honest side;
/// - `2 d <body>` a body signed by the peer at `next_seq + d % 5 - 2`, chained to the honest
///   side's last message unless `d & 0x80`;
/// - `3 i <body>` the peer's `i`-th real message with another body, re-signed;
/// - `4 i` the honest side's `i`-th own message, reflected back to it;
/// - `5 t` `t * 100` ms pass;
/// - `6` the peer's pending output is lost;
/// - `7` the last message is delivered again.
pub fn feed_machine(bytes: &[u8]) -> Result<(), String> {
    let mut input = Cursor { bytes };
    let Some(setup) = input.byte() else {
        return Ok(());
    };
    let mut pair = Pair::new(setup)?;
    pair.check_honest()?;
    for _ in 0..512 {
        let Some(op) = input.byte() else { break };
        match op % 8 {
            0 => pair.pump()?,
            1 => {
                let n = usize::from(u16::from_le_bytes([
                    input.byte().unwrap_or(0),
                    input.byte().unwrap_or(0),
                ]));
                if let Ok(m) = MatchMessage::from_bytes(input.take(n)) {
                    pair.deliver(m)?;
                }
            }
            2 => {
                let d = input.byte().unwrap_or(0);
                let body = input.body();
                let conv = pair.honest.conversation();
                let seq = conv
                    .next_seq()
                    .saturating_add(u32::from(d % 5))
                    .saturating_sub(2);
                let prev = if d & 0x80 == 0 {
                    conv.last_hash()
                } else {
                    Hash32([d; 32])
                };
                let m = MatchMessage::sign(&pair.peer_key, conv.match_id(), seq, prev, body);
                pair.deliver(m)?;
            }
            3 => {
                let i = usize::from(input.byte().unwrap_or(0));
                let body = input.body();
                let len = pair.peer_said.len();
                if let Some(real) = i.checked_rem(len).and_then(|i| pair.peer_said.get(i)) {
                    let m = MatchMessage::sign(
                        &pair.peer_key,
                        real.match_id,
                        real.seq,
                        real.prev,
                        body,
                    );
                    pair.deliver(m)?;
                }
            }
            4 => {
                let i = usize::from(input.byte().unwrap_or(0));
                let me = pair
                    .honest
                    .conversation()
                    .header()
                    .player(pair.honest.seat());
                let mine: Vec<MatchMessage> = pair
                    .honest
                    .conversation()
                    .messages()
                    .iter()
                    .filter(|m| m.sender == me)
                    .cloned()
                    .collect();
                if let Some(m) = i.checked_rem(mine.len()).and_then(|i| mine.get(i)) {
                    pair.deliver(m.clone())?;
                }
            }
            5 => {
                let t = u64::from(input.byte().unwrap_or(0));
                pair.wait(t.saturating_mul(100))?;
            }
            6 => while pair.peer.poll_transmit().is_some() {},
            _ => {
                if let Some(m) = pair.last_delivered.clone() {
                    pair.deliver(m)?;
                }
            }
        }
    }
    Ok(())
}
