//! One player's side of a match, as a sans-IO state machine.
//!
//! [`MatchMachine`] wraps a [`Conversation`] with the player's key and secrets. It is driven
//! by the caller: `handle_message(now, msg)` for what arrives, `handle_timeout(now)` when the
//! deadline from `poll_timeout()` passes, and `supply_action(now, code)` when it asked for a
//! move; `poll_transmit()` yields messages to send and `poll_event()` what happened. It reads no
//! clock, draws no randomness (secrets derive from the `secret` given at creation) and does no
//! I/O. Messages may be lost, duplicated or reordered: the machine retransmits its last message
//! while it waits, answers duplicates by resending, and holds early messages until their turn.
//!
//! See the crate docs for the run loop.

use std::collections::{BTreeMap, VecDeque};

use nets_envs::log::PackedActions;
use nets_envs::snake::{Direction, SnakeGame};

use crate::conversation::{Conversation, MessageError};
use crate::evidence::Evidence;
use crate::hash::keccak256;
use crate::identity::{Domain, Keypair};
use crate::messages::{
    Body, MatchHeader, MatchMessage, OutcomeRecord, Seat, log_commitment, move_commitment,
    seed_commitment,
};
use crate::timeout::{TimeoutClaim, check_claim};

/// Timing of a match, in the caller's time unit (milliseconds in netsd and simnet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchConfig {
    /// How long to wait for the peer's next message before claiming a timeout.
    pub step_timeout: u64,
    /// How long the peer has to answer a timeout claim before it is a forfeit.
    pub answer_timeout: u64,
    /// How often to resend the last message while waiting.
    pub retransmit_every: u64,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            step_timeout: 10_000,
            answer_timeout: 10_000,
            retransmit_every: 1_000,
        }
    }
}

/// What happened, for the caller. A match yields a handful of these, so the size of the
/// record-carrying variants does not matter.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
#[non_exhaustive]
pub enum Event {
    /// The machine needs this player's action for `turn` of the position
    /// [`MatchMachine::pending_game`]; answer with [`MatchMachine::supply_action`].
    ActionNeeded {
        /// Turn index of the pending position.
        turn: u32,
    },
    /// Both signatures are in: the outcome record, to store and gossip.
    Finished(OutcomeRecord),
    /// The peer went silent: this claim, signed by us, is to be gossiped. The peer can still
    /// answer it until the answer deadline.
    TimeoutClaimed(TimeoutClaim),
    /// The peer answered our claim; the match goes on.
    ClaimAnswered,
    /// The answer deadline passed: the match is the peer's forfeit, proven by the claim.
    Forfeit(TimeoutClaim),
    /// The peer signed something against the rules: the match stops, the evidence names it.
    PeerFault(Evidence),
    /// Our answer to a timeout claim the peer made against us: publish it (gossip) next to
    /// the claim, so every node sees the claim answered. It is also sent to the peer.
    ClaimAnswer(MatchMessage),
    /// A message was dropped (foreign, forged, or after the end); for logs and metrics.
    Dropped(MessageError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Running,
    Claimed { answer_by: u64 },
    Finished,
    Forfeited,
    Failed,
}

/// Most early messages kept while waiting for a gap to fill.
const MAX_EARLY: usize = 8;

/// One player's side of one match.
#[derive(Debug)]
pub struct MatchMachine {
    key: Keypair,
    seat: Seat,
    secret: [u8; 32],
    config: MatchConfig,
    conv: Conversation,
    state: State,
    outbox: VecDeque<MatchMessage>,
    events: VecDeque<Event>,
    early: BTreeMap<u32, MatchMessage>,
    /// When the peer's next message is due.
    deadline: Option<u64>,
    retransmit_at: Option<u64>,
    /// The position an action was asked for, and its turn.
    pending: Option<(u32, SnakeGame)>,
    /// An action the agent supplied, by turn, not yet used.
    supplied: Option<(u32, u8)>,
    /// Seat A: the move committed for the turn being played.
    committed: Option<(u32, u8)>,
    /// Solo: our own game and log in progress.
    solo_log: PackedActions,
    solo_done: bool,
    /// The next message we send answers a claim against us.
    answering: bool,
}

impl MatchMachine {
    /// A new match for `header`, played by `key` (which must be one of its players).
    /// `secret` is 32 bytes of private randomness from the caller; the seed share and every
    /// salt derive from it.
    pub fn new(
        now: u64,
        header: MatchHeader,
        key: Keypair,
        secret: [u8; 32],
        config: MatchConfig,
    ) -> Result<Self, crate::Error> {
        let seat = header.seat_of(&key.id()).ok_or(crate::Error::NotAPlayer)?;
        header.env.validate().map_err(crate::Error::Env)?;
        let mut m = Self {
            key,
            seat,
            secret,
            config,
            conv: Conversation::new(header),
            state: State::Running,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            early: BTreeMap::new(),
            deadline: None,
            retransmit_at: None,
            pending: None,
            supplied: None,
            committed: None,
            solo_log: PackedActions::default(),
            solo_done: false,
            answering: false,
        };
        m.advance(now);
        Ok(m)
    }

    // --- getters ---

    /// Our seat.
    pub fn seat(&self) -> Seat {
        self.seat
    }

    /// The conversation so far.
    pub fn conversation(&self) -> &Conversation {
        &self.conv
    }

    /// The position an action is wanted for (after [`Event::ActionNeeded`]).
    pub fn pending_game(&self) -> Option<&SnakeGame> {
        self.pending.as_ref().map(|(_, g)| g)
    }

    /// Whether the match is over for this machine (finished, forfeited or failed).
    pub fn is_done(&self) -> bool {
        matches!(
            self.state,
            State::Finished | State::Forfeited | State::Failed
        )
    }

    /// The outcome record once finished.
    pub fn outcome(&self) -> Option<OutcomeRecord> {
        self.conv.outcome()
    }

    // --- handle_* ---

    /// A message from the peer (or anyone).
    pub fn handle_message(&mut self, now: u64, msg: MatchMessage) {
        if matches!(self.state, State::Forfeited | State::Failed) {
            return;
        }
        self.receive(now, msg);
        // Messages that arrived early may be next now.
        while let Some(entry) = self.early.first_entry() {
            if *entry.key() != self.conv.next_seq() {
                if *entry.key() < self.conv.next_seq() {
                    entry.remove();
                    continue;
                }
                break;
            }
            let msg = entry.remove();
            self.receive(now, msg);
        }
        self.advance(now);
    }

    fn receive(&mut self, now: u64, msg: MatchMessage) {
        // Only this machine speaks for our key here. A message signed with it that this
        // machine did not send (an echo of ours, or one from another instance of our key) is
        // never the peer's fault, and never evidence to act on.
        if msg.sender == self.key.id() {
            if !self.conv.messages().contains(&msg) {
                self.events.push_back(Event::Dropped(MessageError::Foreign(
                    "signed with our own key, but not sent by this machine".into(),
                )));
            }
            return;
        }
        match self.conv.push(msg.clone()) {
            Ok(()) => {
                self.deadline = None;
                self.retransmit_at = None;
                if let State::Claimed { .. } = self.state {
                    self.state = State::Running;
                    self.events.push_back(Event::ClaimAnswered);
                }
                let _ = now;
            }
            Err(MessageError::Early { .. }) => {
                if self.early.len() < MAX_EARLY {
                    self.early.insert(msg.seq, msg);
                }
            }
            Err(MessageError::Duplicate(seq)) => {
                // The peer resends its latest message: our answer was probably lost. Resend
                // what followed it. An older message (or one of ours, reflected) says nothing
                // was lost; answering it would echo the rest of the conversation back and
                // forth.
                let me = self.key.id();
                let latest_of_peer = self.conv.messages().iter().rposition(|m| m.sender != me);
                if latest_of_peer == Some(seq as usize)
                    && let Some(ours) = self
                        .conv
                        .messages()
                        .iter()
                        .skip((seq as usize).saturating_add(1))
                        .find(|m| m.sender == me)
                {
                    self.outbox.push_back(ours.clone());
                }
            }
            Err(MessageError::Equivocation { seq, .. }) => {
                if let Some(first) = self.conv.messages().get(seq as usize) {
                    self.events
                        .push_back(Event::PeerFault(Evidence::Equivocation {
                            first: first.clone(),
                            second: msg,
                        }));
                }
                self.state = State::Failed;
            }
            Err(MessageError::Fault { reason, .. }) => {
                self.events
                    .push_back(Event::PeerFault(Evidence::InvalidMessage {
                        header: self.conv.header().clone(),
                        chain: self.conv.messages().to_vec(),
                        message: msg,
                        reason,
                    }));
                self.state = State::Failed;
            }
            Err(e @ (MessageError::Foreign(_) | MessageError::Finished)) => {
                self.events.push_back(Event::Dropped(e));
            }
        }
    }

    /// A timeout claim about this match seen on the network (gossip). When the peer claims
    /// that we are silent, its evidence may hold messages it never delivered to us (it
    /// withheld them, or they were lost): we take them in, as if they had arrived, and answer
    /// with our next message, reported as [`Event::ClaimAnswer`] for publication. A peer that
    /// claims is alive, so a claim or forfeit of ours against it is withdrawn: the match goes
    /// on. Claims against the peer, invalid claims and claims about other matches are ignored.
    pub fn handle_claim(&mut self, now: u64, claim: &TimeoutClaim) {
        if claim.header != *self.conv.header() || self.state == State::Failed {
            return;
        }
        match check_claim(claim) {
            Ok(accused) if accused == self.key.id() => {}
            _ => return,
        }
        if matches!(self.state, State::Claimed { .. } | State::Forfeited) {
            self.state = State::Running;
            self.deadline = None;
        }
        for msg in &claim.evidence {
            self.receive(now, msg.clone());
            if self.state == State::Failed {
                return;
            }
        }
        // Our answer may already exist (it was lost on the way): publish it again.
        let next_index = claim.evidence.len();
        if let Some(ours) = self.conv.messages().get(next_index)
            && ours.sender == self.key.id()
        {
            self.events.push_back(Event::ClaimAnswer(ours.clone()));
            self.outbox.push_back(ours.clone());
        } else {
            self.answering = true;
        }
        self.advance(now);
    }

    /// Time passed: retransmit, claim a timeout, or declare a forfeit, as due.
    pub fn handle_timeout(&mut self, now: u64) {
        if let State::Claimed { answer_by } = self.state
            && now >= answer_by
        {
            if let Some(claim) = self.make_claim() {
                self.events.push_back(Event::Forfeit(claim));
            }
            self.state = State::Forfeited;
            return;
        }
        if self.state == State::Running
            && let Some(deadline) = self.deadline
            && now >= deadline
            && let Some(claim) = self.make_claim()
        {
            self.events.push_back(Event::TimeoutClaimed(claim));
            self.state = State::Claimed {
                answer_by: now.saturating_add(self.config.answer_timeout),
            };
        }
        if let Some(at) = self.retransmit_at
            && now >= at
            && !self.is_done()
        {
            if let Some(last) = self
                .conv
                .messages()
                .iter()
                .rev()
                .find(|m| m.sender == self.key.id())
            {
                self.outbox.push_back(last.clone());
            }
            self.retransmit_at = Some(now.saturating_add(self.config.retransmit_every));
        }
    }

    /// Our action for the turn asked for by [`Event::ActionNeeded`] (a Snake move code 0..4).
    pub fn supply_action(&mut self, now: u64, code: u8) -> Result<(), crate::Error> {
        let Some((turn, mut game)) = self.pending.take() else {
            return Err(crate::Error::NoActionPending);
        };
        if code > 3 {
            self.pending = Some((turn, game));
            return Err(crate::Error::BadAction(code));
        }
        if self.conv.header().is_solo() {
            self.solo_log.push_turn(&[u32::from(code)], 2);
            game.step(&[Direction::from_code(code)])
                .map_err(|e| crate::Error::Env(e.into()))?;
            if game.is_over() {
                self.solo_done = true;
            } else {
                let t = game.turn();
                self.pending = Some((t, game));
                self.events.push_back(Event::ActionNeeded { turn: t });
            }
        } else {
            self.supplied = Some((turn, code));
        }
        self.advance(now);
        Ok(())
    }

    // --- poll_* ---

    /// The next message to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<MatchMessage> {
        self.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.is_done() {
            return None;
        }
        // Once a claim is out, the answer deadline replaces the step deadline (which has
        // passed and, if returned, would stay in the past: a driver would spin on it).
        let (deadline, answer) = match self.state {
            State::Claimed { answer_by } => (None, Some(answer_by)),
            _ => (self.deadline, None),
        };
        [deadline, self.retransmit_at, answer]
            .into_iter()
            .flatten()
            .min()
    }

    // --- internals ---

    /// Our signed claim that the peer is silent, if the next message is indeed the peer's.
    fn make_claim(&self) -> Option<TimeoutClaim> {
        (self.conv.next_sender() == Some(self.seat.other())).then(|| {
            TimeoutClaim::sign(
                &self.key,
                self.conv.header().clone(),
                self.conv.messages().to_vec(),
            )
        })
    }

    fn derive(&self, label: &[u8], n: u32) -> [u8; 32] {
        keccak256(&[
            b"nets/secret/",
            label,
            &self.secret,
            &self.conv.match_id().0,
            &n.to_le_bytes(),
        ])
        .0
    }

    fn send(&mut self, now: u64, body: Body) {
        let msg = MatchMessage::sign(
            &self.key,
            self.conv.match_id(),
            self.conv.next_seq(),
            self.conv.last_hash(),
            body,
        );
        match self.conv.push(msg.clone()) {
            Ok(()) => {
                if self.answering {
                    self.answering = false;
                    self.events.push_back(Event::ClaimAnswer(msg.clone()));
                }
                self.outbox.push_back(msg);
                self.retransmit_at = Some(now.saturating_add(self.config.retransmit_every));
            }
            Err(_) => self.state = State::Failed,
        }
    }

    /// The supplied action for `turn`, or `None` after asking the agent for it.
    fn want_action(&mut self, turn: u32, game: SnakeGame) -> Option<u8> {
        match self.supplied {
            Some((t, code)) if t == turn => {
                self.supplied = None;
                Some(code)
            }
            _ => {
                self.ask(turn, game);
                None
            }
        }
    }

    fn ask(&mut self, turn: u32, game: SnakeGame) {
        if self.pending.as_ref().map(|(t, _)| *t) != Some(turn) {
            self.pending = Some((turn, game));
            self.events.push_back(Event::ActionNeeded { turn });
        }
    }

    /// Sends whatever is ours to send, as far as we can go without the peer or the agent.
    fn advance(&mut self, now: u64) {
        loop {
            if self.conv.is_complete() {
                if self.state != State::Finished {
                    self.state = State::Finished;
                    if let Some(record) = self.conv.outcome() {
                        self.events.push_back(Event::Finished(record));
                    }
                }
                return;
            }
            if self.is_done() {
                return;
            }
            if self.conv.next_sender() != Some(self.seat) {
                if self.deadline.is_none() {
                    self.deadline = Some(now.saturating_add(self.config.step_timeout));
                }
                return;
            }
            self.deadline = None;
            let Some(body) = self.next_body() else { return };
            self.send(now, body);
        }
    }

    /// Our next message, or `None` while an action is outstanding.
    fn next_body(&mut self) -> Option<Body> {
        let mid = self.conv.match_id();
        let header = self.conv.header().clone();
        if self.conv.awaiting_results() {
            let payload = self.conv.result_payload()?;
            let signature = self.key.sign(Domain::MatchResult, &payload.signed_bytes());
            return Some(Body::Result {
                result: payload.result,
                signature,
            });
        }
        match (self.seat, self.conv.next_seq()) {
            (Seat::A, 0) => {
                let a = self.derive(b"seed", 0);
                return Some(Body::SeedCommit {
                    commitment: seed_commitment(&mid, &a),
                });
            }
            (Seat::B, 1) => {
                return Some(Body::SeedAnswer {
                    secret: self.derive(b"seed", 0),
                });
            }
            _ => {}
        }
        let seed = self.conv.seed().or_else(|| {
            // Seat A knows the seed before revealing its share.
            let a = self.derive(b"seed", 0);
            let b = match self.conv.messages().get(1).map(|m| &m.body) {
                Some(Body::SeedAnswer { secret }) => *secret,
                _ => return None,
            };
            Some(crate::messages::match_seed(&mid, &a, &b))
        })?;
        if header.is_solo() {
            if !self.solo_done {
                if self.pending.is_none() {
                    let game = header.env.start(seed).ok()?;
                    self.ask(0, game);
                }
                return None;
            }
            let salt = self.derive(b"log-salt", 0);
            return match self.seat {
                Seat::A if self.conv.next_seq() == 2 => Some(Body::SeedReveal {
                    secret: self.derive(b"seed", 0),
                    commitment: log_commitment(&mid, &self.solo_log, &salt),
                }),
                Seat::A => Some(Body::LogReveal {
                    actions: self.solo_log.clone(),
                    salt,
                }),
                Seat::B => Some(Body::Log {
                    actions: self.solo_log.clone(),
                }),
            };
        }
        // Duel.
        match self.seat {
            Seat::A if self.conv.next_seq() == 2 => {
                let game = header.env.start(seed).ok()?;
                let code = self.want_action(0, game)?;
                self.committed = Some((0, code));
                Some(Body::SeedReveal {
                    secret: self.derive(b"seed", 0),
                    commitment: move_commitment(&mid, 0, code, &self.derive(b"salt", 0)),
                })
            }
            Seat::A => {
                let turn = self.conv.current_turn()?;
                let (committed_turn, mine) = self.committed?;
                if committed_turn != turn {
                    return None;
                }
                let b_move = match self.conv.messages().last().map(|m| &m.body) {
                    Some(Body::Move { code, .. }) => *code,
                    _ => return None,
                };
                let mut next_game = self.conv.game()?.clone();
                next_game
                    .step(&[Direction::from_code(mine), Direction::from_code(b_move)])
                    .ok()?;
                let next_turn = turn.saturating_add(1);
                let (next, next_committed) = if next_game.is_over() {
                    (None, None)
                } else {
                    let code = self.want_action(next_turn, next_game)?;
                    let salt = self.derive(b"salt", next_turn);
                    (
                        Some(move_commitment(&mid, next_turn, code, &salt)),
                        Some((next_turn, code)),
                    )
                };
                let salt = self.derive(b"salt", turn);
                let body = Body::Reveal {
                    turn,
                    code: mine,
                    salt,
                    next,
                };
                // The next turn's committed move becomes the one to reveal.
                self.committed = next_committed;
                Some(body)
            }
            Seat::B => {
                let turn = self.conv.current_turn()?;
                let game = self.conv.game()?.clone();
                let code = self.want_action(turn, game)?;
                Some(Body::Move { turn, code })
            }
        }
    }
}
