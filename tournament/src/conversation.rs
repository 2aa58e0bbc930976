//! The rules of a match conversation, checked message by message.
//!
//! A [`Conversation`] holds the messages of one match so far and knows, at every point, who
//! must speak next and what they may say. Players use it to check their peer (and
//! themselves); anyone else uses it to check evidence (a timeout claim's message chain). It
//! holds no keys and reads no clock.
//!
//! # The conversation
//! Seats alternate strictly, A first:
//!
//! | seq | duel (simultaneous moves) | solo score task |
//! |---|---|---|
//! | 0 | A `SeedCommit` H(a) | same |
//! | 1 | B `SeedAnswer` b | same |
//! | 2 | A `SeedReveal` a, commitment to move 0 | a, commitment to A's whole log |
//! | 3 | B `Move` 0 in the clear | B `Log` in the clear |
//! | 4 | A `Reveal` move 0, commitment to move 1 | A `LogReveal` |
//! | … | B `Move` t, A `Reveal` t … until the game ends | |
//! | n | B `Result` signature | same |
//! | n+1 | A `Result` signature | same |
//!
//! No side learns the other's move before its own is fixed: B sees only A's commitment, and A
//! is bound by it when it sees B's move. The seed is `H(match id, a, b)`; only A can withhold
//! its share, and doing so after B answered is a provable forfeit.

use nets_envs::Outcome;
use nets_envs::log::PackedActions;
use nets_envs::snake::{Direction, SnakeGame};

use crate::hash::Hash32;
use crate::identity::{Domain, PlayerId};
use crate::messages::{
    Body, MatchHeader, MatchMessage, OutcomeRecord, ResultPayload, Seat, VERSION, log_commitment,
    match_seed, move_commitment, seed_commitment,
};

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// For another match, another version, or the signature does not verify: nobody can be
    /// blamed (anyone can send such bytes), so it is dropped. Also a message whose `prev` is
    /// not the hash of the message held before it: the other player may have equivocated
    /// there, so the sender cannot be blamed either.
    #[error("not part of this match: {0}")]
    Foreign(String),
    /// A message this conversation already holds (a retransmission): harmless.
    #[error("duplicate of message {0}")]
    Duplicate(u32),
    /// A message from further ahead (reordering): keep it for later.
    #[error("message {got} arrived before message {expected}")]
    Early {
        /// The next sequence number expected.
        expected: u32,
        /// What arrived.
        got: u32,
    },
    /// A validly signed message that breaks the rules: the sender is at fault and the message
    /// itself is the proof.
    #[error("{sender:?} broke the protocol at message {seq}: {reason}")]
    Fault {
        /// Who signed it.
        sender: PlayerId,
        /// Its sequence number.
        seq: u32,
        /// What is wrong.
        reason: String,
    },
    /// A validly signed message that conflicts with a different one the same key signed for the
    /// same place in the conversation: equivocation.
    #[error("{sender:?} signed two different messages for position {seq}")]
    Equivocation {
        /// Who signed both.
        sender: PlayerId,
        /// The position.
        seq: u32,
    },
    /// The conversation is complete.
    #[error("the match is over")]
    Finished,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    SeedCommit,
    SeedAnswer,
    SeedReveal,
    Move { turn: u32 },
    Reveal { turn: u32 },
    Log,
    LogReveal,
    ResultB,
    ResultA,
    Done,
}

/// One match's messages and what they established.
#[derive(Clone, Debug)]
pub struct Conversation {
    header: MatchHeader,
    match_id: Hash32,
    messages: Vec<MatchMessage>,
    phase: Phase,
    seed_commit: Option<Hash32>,
    seed_a: Option<[u8; 32]>,
    seed_b: Option<[u8; 32]>,
    /// A's open commitment (move of the current turn, or whole log).
    commitment: Option<Hash32>,
    /// B's move of the current turn.
    b_move: Option<u8>,
    /// The duel in progress.
    game: Option<SnakeGame>,
    /// Duel moves so far; solo logs are kept in `logs`.
    actions: PackedActions,
    logs: [Option<PackedActions>; 2],
    result: Option<Outcome>,
    sig_b: Option<crate::identity::Signature>,
    sig_a: Option<crate::identity::Signature>,
}

impl Conversation {
    /// An empty conversation for `header`.
    pub fn new(header: MatchHeader) -> Self {
        Self {
            match_id: header.match_id(),
            header,
            messages: Vec::new(),
            phase: Phase::SeedCommit,
            seed_commit: None,
            seed_a: None,
            seed_b: None,
            commitment: None,
            b_move: None,
            game: None,
            actions: PackedActions::default(),
            logs: [None, None],
            result: None,
            sig_b: None,
            sig_a: None,
        }
    }

    /// The header.
    pub fn header(&self) -> &MatchHeader {
        &self.header
    }

    /// The match id.
    pub fn match_id(&self) -> Hash32 {
        self.match_id
    }

    /// The messages so far.
    pub fn messages(&self) -> &[MatchMessage] {
        &self.messages
    }

    /// Hash of the last message ([`Hash32::ZERO`] before the first).
    pub fn last_hash(&self) -> Hash32 {
        self.messages
            .last()
            .map_or(Hash32::ZERO, MatchMessage::hash)
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u32 {
        u32::try_from(self.messages.len()).unwrap_or(u32::MAX)
    }

    /// Who must send the next message (`None` once complete).
    pub fn next_sender(&self) -> Option<Seat> {
        match self.phase {
            Phase::SeedCommit | Phase::SeedReveal | Phase::Reveal { .. } | Phase::LogReveal => {
                Some(Seat::A)
            }
            Phase::ResultA => Some(Seat::A),
            Phase::SeedAnswer | Phase::Move { .. } | Phase::Log | Phase::ResultB => Some(Seat::B),
            Phase::Done => None,
        }
    }

    /// Whether both result signatures are in.
    pub fn is_complete(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The match seed, once both shares are known.
    pub fn seed(&self) -> Option<[u8; 32]> {
        Some(match_seed(
            &self.match_id,
            self.seed_a.as_ref()?,
            self.seed_b.as_ref()?,
        ))
    }

    /// The duel's current position (after the last fully revealed turn).
    pub fn game(&self) -> Option<&SnakeGame> {
        self.game.as_ref()
    }

    /// The turn whose moves are being exchanged (duel), if any.
    pub fn current_turn(&self) -> Option<u32> {
        match self.phase {
            Phase::SeedReveal => Some(0),
            Phase::Move { turn } | Phase::Reveal { turn } => Some(turn),
            _ => None,
        }
    }

    /// Whether the game (duel) or both logs (solo) are done and results are being signed.
    pub fn awaiting_results(&self) -> bool {
        matches!(self.phase, Phase::ResultA | Phase::ResultB)
    }

    /// The result payload, once the game is decided.
    pub fn result_payload(&self) -> Option<ResultPayload> {
        let actions = if self.header.is_solo() {
            vec![self.logs[0].clone()?, self.logs[1].clone()?]
        } else {
            vec![self.actions.clone()]
        };
        Some(ResultPayload {
            v: VERSION,
            header: self.header.clone(),
            seed_a: self.seed_a?,
            seed_b: self.seed_b?,
            actions,
            result: self.result?,
        })
    }

    /// The outcome record, once complete.
    pub fn outcome(&self) -> Option<OutcomeRecord> {
        Some(OutcomeRecord {
            payload: self.result_payload()?,
            sig_a: self.sig_a?,
            sig_b: self.sig_b?,
        })
    }

    /// Checks `msg` against the rules and, if it is the next valid message, appends it.
    pub fn push(&mut self, msg: MatchMessage) -> Result<(), MessageError> {
        self.push_inner(msg, true)
    }

    /// Rebuilds a conversation from a chain of messages received as evidence, checking every
    /// rule but only the signature of each sender's *last* message in the chain.
    ///
    /// That is enough: every message carries the hash of the one before it, and a message's
    /// hash covers its signature, so the sender of a message signs the whole conversation up to
    /// it. A message claiming to be from player X comes at or before X's last message, so X's
    /// verified signature there commits X to it; a forged or altered earlier message breaks the
    /// chain of hashes instead. A claim's evidence of a 200-turn duel costs two signature
    /// checks instead of about six hundred. On failure, the index of the offending message.
    pub fn from_chain(
        header: MatchHeader,
        chain: &[MatchMessage],
    ) -> Result<Self, (usize, MessageError)> {
        let mut conv = Self::new(header);
        let last_a = chain.iter().rposition(|m| m.sender == conv.header.a);
        let last_b = chain.iter().rposition(|m| m.sender == conv.header.b);
        for (index, msg) in chain.iter().enumerate() {
            let check = Some(index) == last_a || Some(index) == last_b;
            conv.push_inner(msg.clone(), check)
                .map_err(|e| (index, e))?;
        }
        Ok(conv)
    }

    fn push_inner(&mut self, msg: MatchMessage, check_signature: bool) -> Result<(), MessageError> {
        if msg.v != VERSION {
            return Err(MessageError::Foreign(format!("version {}", msg.v)));
        }
        if msg.match_id != self.match_id {
            return Err(MessageError::Foreign("another match id".into()));
        }
        let Some(sender_seat) = self.header.seat_of(&msg.sender) else {
            return Err(MessageError::Foreign(
                "sender is not a player of this match".into(),
            ));
        };
        if check_signature {
            msg.verify_signature()
                .map_err(|e| MessageError::Foreign(e.to_string()))?;
        }
        let next = self.next_seq();
        if msg.seq < next {
            let stored = self.messages.get(msg.seq as usize);
            return match stored {
                Some(s) if *s == msg => Err(MessageError::Duplicate(msg.seq)),
                Some(s) if s.sender == msg.sender => Err(MessageError::Equivocation {
                    sender: msg.sender,
                    seq: msg.seq,
                }),
                _ => Err(MessageError::Fault {
                    sender: msg.sender,
                    seq: msg.seq,
                    reason: "speaks out of turn".into(),
                }),
            };
        }
        if self.phase == Phase::Done {
            return Err(MessageError::Finished);
        }
        if msg.seq > next {
            return Err(MessageError::Early {
                expected: next,
                got: msg.seq,
            });
        }
        let fault = |reason: String| MessageError::Fault {
            sender: msg.sender,
            seq: msg.seq,
            reason,
        };
        if Some(sender_seat) != self.next_sender() {
            return Err(fault("speaks out of turn".into()));
        }
        if msg.prev != self.last_hash() {
            // Not provably the sender's fault: the other player may have signed two messages
            // for the previous place and shown the sender the other one. Blaming the sender
            // would let an equivocator frame an honest peer with its other history.
            return Err(MessageError::Foreign(
                "prev does not chain to the previous message".into(),
            ));
        }
        self.apply(&msg.body).map_err(fault)?;
        self.messages.push(msg);
        Ok(())
    }

    /// Applies a body that arrived at the right place from the right seat.
    fn apply(&mut self, body: &Body) -> Result<(), String> {
        let phase = self.phase.clone();
        match (phase, body) {
            (Phase::SeedCommit, Body::SeedCommit { commitment }) => {
                self.seed_commit = Some(*commitment);
                self.phase = Phase::SeedAnswer;
            }
            (Phase::SeedAnswer, Body::SeedAnswer { secret }) => {
                self.seed_b = Some(*secret);
                self.phase = Phase::SeedReveal;
            }
            (Phase::SeedReveal, Body::SeedReveal { secret, commitment }) => {
                if Some(seed_commitment(&self.match_id, secret)) != self.seed_commit {
                    return Err("seed share does not match its commitment".into());
                }
                self.seed_a = Some(*secret);
                self.commitment = Some(*commitment);
                if self.header.is_solo() {
                    self.phase = Phase::Log;
                } else {
                    let seed = self.seed().ok_or("seed shares missing")?;
                    let game = self
                        .header
                        .env
                        .start(seed)
                        .map_err(|e| format!("the league's game does not start: {e}"))?;
                    self.game = Some(game);
                    self.phase = Phase::Move { turn: 0 };
                }
            }
            (Phase::Move { turn }, Body::Move { turn: t, code }) => {
                if t != &turn {
                    return Err(format!("move for turn {t} during turn {turn}"));
                }
                if *code > 3 {
                    return Err(format!("action code {code} is no move"));
                }
                self.b_move = Some(*code);
                self.phase = Phase::Reveal { turn };
            }
            (
                Phase::Reveal { turn },
                Body::Reveal {
                    turn: t,
                    code,
                    salt,
                    next,
                },
            ) => {
                if t != &turn {
                    return Err(format!("reveal for turn {t} during turn {turn}"));
                }
                if Some(move_commitment(&self.match_id, turn, *code, salt)) != self.commitment {
                    return Err(format!(
                        "revealed move of turn {turn} does not match its commitment"
                    ));
                }
                if *code > 3 {
                    return Err(format!("action code {code} is no move"));
                }
                let b = self.b_move.take().ok_or("no move of B to pair with")?;
                let moves = [Direction::from_code(*code), Direction::from_code(b)];
                let game = self.game.as_mut().ok_or("no game in progress")?;
                self.actions.push_turn(&[u32::from(*code), u32::from(b)], 2);
                game.step(&moves).map_err(|e| e.to_string())?;
                match (game.outcome().copied(), next) {
                    (Some(outcome), None) => {
                        self.result = Some(outcome);
                        self.commitment = None;
                        self.phase = Phase::ResultB;
                    }
                    (None, Some(c)) => {
                        self.commitment = Some(*c);
                        self.phase = Phase::Move {
                            turn: turn.saturating_add(1),
                        };
                    }
                    (Some(_), Some(_)) => {
                        return Err("commits to a move after the game ended".into());
                    }
                    (None, None) => return Err("stops committing before the game ended".into()),
                }
            }
            (Phase::Log, Body::Log { actions }) => {
                let score = self
                    .solo_score(actions)
                    .map_err(|e| format!("B's log: {e}"))?;
                let _ = score;
                self.logs[1] = Some(actions.clone());
                self.phase = Phase::LogReveal;
            }
            (Phase::LogReveal, Body::LogReveal { actions, salt }) => {
                if Some(log_commitment(&self.match_id, actions, salt)) != self.commitment {
                    return Err("revealed log does not match its commitment".into());
                }
                let score_a = self
                    .solo_score(actions)
                    .map_err(|e| format!("A's log: {e}"))?;
                let b_log = self.logs[1].clone().ok_or("no log of B")?;
                let score_b = self
                    .solo_score(&b_log)
                    .map_err(|e| format!("B's log: {e}"))?;
                self.logs[0] = Some(actions.clone());
                self.commitment = None;
                self.result = Some(match score_a.cmp(&score_b) {
                    std::cmp::Ordering::Greater => Outcome::Winner(0),
                    std::cmp::Ordering::Less => Outcome::Winner(1),
                    std::cmp::Ordering::Equal => Outcome::Draw,
                });
                self.phase = Phase::ResultB;
            }
            (Phase::ResultB, Body::Result { result, signature }) => {
                self.check_result(Seat::B, result, signature)?;
                self.sig_b = Some(*signature);
                self.phase = Phase::ResultA;
            }
            (Phase::ResultA, Body::Result { result, signature }) => {
                self.check_result(Seat::A, result, signature)?;
                self.sig_a = Some(*signature);
                self.phase = Phase::Done;
            }
            (phase, body) => {
                return Err(format!("sent {} where {phase:?} was due", body.kind()));
            }
        }
        Ok(())
    }

    fn check_result(
        &self,
        seat: Seat,
        result: &Outcome,
        signature: &crate::identity::Signature,
    ) -> Result<(), String> {
        if Some(*result) != self.result {
            return Err(format!(
                "signs result {result:?} but the game gave {:?}",
                self.result
            ));
        }
        let payload = self.result_payload().ok_or("result payload incomplete")?;
        self.header
            .player(seat)
            .verify(Domain::MatchResult, &payload.signed_bytes(), signature)
            .map_err(|e| format!("result signature: {e}"))
    }

    /// Replays a complete solo log on the match seed and returns its score.
    fn solo_score(&self, actions: &PackedActions) -> Result<u32, String> {
        let seed = self.seed().ok_or("seed shares missing")?;
        let game = self.header.env.start(seed).map_err(|e| e.to_string())?;
        let end =
            nets_envs::log::replay_actions(game, actions, |_, _| {}).map_err(|e| e.to_string())?;
        match end.outcome() {
            Some(Outcome::Score(s)) => Ok(*s),
            _ => Err("the log ends before the game does".into()),
        }
    }
}
