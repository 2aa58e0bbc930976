//! Match hosting: links, invitations, and the [`MatchMachine`]s the node plays.
//!
//! Like quinn-proto's endpoint routing datagrams to its connections, the core routes each
//! frame of a match link to the match it carries. Seat A invites over a link it opens; seat B
//! accepts only its own draw; a machine's clock starts only once the invitation is accepted, so
//! an opponent that never saw it (or drew differently) never forfeits. A finished match
//! lingers a while for late retransmissions and claims.

use crate::hash::{Hash32, keccak256};
use crate::identity::{Keypair, PlayerId};
use crate::messages::MatchHeader;
use crate::node::frames::Frame;
use crate::node::item::Item;
use crate::node::log::ItemLog;
use crate::protocol::{Event, MatchConfig, MatchMachine};

use super::{NodeCore, NodeEvent, Output};

/// How long a finished match is kept for late messages and claims.
const LINGER_MS: u64 = 15_000;
/// A match message not acknowledged is sent again this often.
const RETRANSMIT_MS: u64 = 1_000;

/// One match in flight.
#[derive(Debug)]
pub(super) struct Live {
    pub(super) machine: MatchMachine,
    /// The link that carries it, while one does.
    link: Option<u64>,
    /// The turn the agent was asked for, while it thinks.
    asked: Option<u32>,
    /// When the machine ended, to keep it a while for late retransmissions and claims.
    done_at: Option<u64>,
    /// A protocol message came from the opponent: from then on the match can only end by
    /// the protocol (a result or a claim), never by a decline.
    heard: bool,
}

/// What a match link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LinkUse {
    /// Opened by a peer; it must carry an invitation before this deadline.
    Waiting { deadline: u64 },
    /// Opened by this node to invite; the invitation was sent at this time.
    Invited { sent_at: u64 },
    /// It carries this match.
    Match(Hash32),
}

/// A match link, by the driver's link id.
#[derive(Clone, Debug)]
pub(super) struct Link {
    /// The player at the other end (the transport authenticated its key).
    player: PlayerId,
    /// For an invitation of ours: the header sent.
    header: Option<MatchHeader>,
    pub(super) usage: LinkUse,
}

impl<P: Clone + Ord, L: ItemLog> NodeCore<P, L> {
    // ---- getters ----

    /// Matches not yet ended, and invitations not yet answered.
    pub fn live_matches(&self) -> usize {
        let playing = self
            .matches
            .values()
            .filter(|l| l.done_at.is_none())
            .count();
        let inviting = self
            .links
            .values()
            .filter(|l| matches!(l.usage, LinkUse::Invited { .. }))
            .count();
        playing.saturating_add(inviting)
    }

    /// The matches in flight: id and opponent.
    pub fn live(&self) -> Vec<(Hash32, PlayerId)> {
        self.matches
            .iter()
            .filter(|(_, l)| l.done_at.is_none())
            .map(|(id, l)| {
                let h = l.machine.conversation().header();
                (*id, if h.a == self.me { h.b } else { h.a })
            })
            .collect()
    }

    /// A match's machine, while the node keeps it.
    pub fn machine(&self, match_id: &Hash32) -> Option<&MatchMachine> {
        self.matches.get(match_id).map(|l| &l.machine)
    }

    /// Matches this node finished with a signed result.
    pub fn finished(&self) -> u64 {
        self.finished
    }

    // ---- inputs ----

    /// A peer opened a match link to this node; `player` is the key the transport
    /// authenticated. It must carry an invitation within the step timeout.
    pub fn handle_link_opened(&mut self, now: u64, link: u64, player: PlayerId) {
        let deadline = now.saturating_add(self.config.schedule.step_timeout_ms);
        self.links.insert(
            link,
            Link {
                player,
                header: None,
                usage: LinkUse::Waiting { deadline },
            },
        );
    }

    /// A frame arrived on a match link.
    pub fn handle_frame(&mut self, now: u64, link: u64, frame: Frame) {
        let Some(state) = self.links.get(&link).cloned() else {
            return;
        };
        match (frame, state.usage) {
            (Frame::Invite(header), LinkUse::Waiting { .. }) => {
                self.on_invite(now, link, state.player, header)
            }
            (Frame::Message(msg), LinkUse::Match(match_id)) if msg.match_id == match_id => {
                if let Some(live) = self.matches.get_mut(&match_id) {
                    live.heard = true;
                    live.machine.handle_message(now, msg);
                }
                self.pump(now, match_id);
            }
            (Frame::Accept, LinkUse::Invited { .. }) => {
                if let Some(header) = state.header {
                    self.match_event(&header.match_id(), "accepted");
                    self.start_machine(now, header, Some(link));
                }
            }
            (Frame::Decline(_), LinkUse::Invited { .. }) => {
                if let Some(header) = &state.header {
                    self.match_event(&header.match_id(), "declined");
                }
                self.drop_link(link);
            }
            (Frame::Decline(_), LinkUse::Match(match_id)) => {
                // The inviter withdrew before anything signed arrived from it, so neither
                // side signed anything (seat B only answers): drop the match quietly. Seat A
                // signs as it starts, and a seat that spoke or heard ignores a decline: the
                // protocol decides, so that no opponent can silence it and then claim a
                // timeout.
                let me = self.me;
                if let Some(live) = self.matches.get_mut(&match_id)
                    && live.machine.conversation().header().b == me
                    && !live.heard
                    && live.done_at.is_none()
                {
                    live.done_at = Some(now.saturating_sub(LINGER_MS));
                    live.link = None;
                    self.push(Output::MatchEnded { match_id });
                    self.match_event(&match_id, "withdrawn");
                    self.drop_link(link);
                }
            }
            // Anything else on a link (a message before the invitation, a second invitation)
            // is ignored; a waiting link is closed at its deadline.
            _ => {}
        }
    }

    /// A match link closed.
    pub fn handle_link_closed(&mut self, link: u64) {
        let Some(state) = self.links.remove(&link) else {
            return;
        };
        match state.usage {
            LinkUse::Invited { .. } => {
                if let Some(header) = &state.header {
                    self.match_event(&header.match_id(), "unanswered");
                }
            }
            LinkUse::Match(match_id) => {
                if let Some(live) = self.matches.get_mut(&match_id) {
                    live.link = None;
                }
            }
            LinkUse::Waiting { .. } => {}
        }
    }

    /// The agent chose `code` for `turn` of a match.
    pub fn handle_move(&mut self, now: u64, match_id: Hash32, turn: u32, code: u8) {
        let Some(live) = self.matches.get_mut(&match_id) else {
            return;
        };
        if live.asked == Some(turn) {
            live.asked = None;
        }
        // A move for a turn already played, or after the end, is not used.
        let _ = live.machine.supply_action(now, code);
        self.pump(now, match_id);
    }

    /// The agent failed to choose a move: the node plays no move, the opponent claims a
    /// timeout, and the match is this node's forfeit.
    pub fn handle_agent_failed(&mut self, match_id: Hash32) {
        self.match_event(&match_id, "agent_failed");
    }

    // ---- rules ----

    /// Opens a match as seat A: a link to seat B carrying the invitation.
    pub(super) fn open_match(&mut self, now: u64, header: MatchHeader) {
        let match_id = header.match_id();
        let invited = self
            .links
            .values()
            .any(|l| l.header.as_ref().is_some_and(|h| h.match_id() == match_id));
        if self.matches.contains_key(&match_id) || invited {
            return;
        }
        let link = self.next_link;
        self.next_link = self.next_link.saturating_add(1);
        let contacts = self.contacts(&header, &header.b);
        self.push(Output::OpenLink {
            link,
            to: header.b,
            contacts,
        });
        self.push(Output::SendFrame {
            link,
            frame: Frame::Invite(header.clone()),
        });
        self.links.insert(
            link,
            Link {
                player: header.b,
                header: Some(header),
                usage: LinkUse::Invited { sent_at: now },
            },
        );
        self.match_event(&match_id, "invited");
    }

    fn on_invite(&mut self, now: u64, link: u64, sender: PlayerId, header: MatchHeader) {
        let live = self.live_matches();
        let refusal = match self.check_invitation(now, &header, &sender, live) {
            Err(why) => Some(why),
            Ok(()) if self.matches.contains_key(&header.match_id()) => Some("match already played"),
            Ok(()) => None,
        };
        if let Some(why) = refusal {
            self.push(Output::SendFrame {
                link,
                frame: Frame::Decline(why.to_string()),
            });
            self.drop_link(link);
            return;
        }
        self.push(Output::SendFrame {
            link,
            frame: Frame::Accept,
        });
        self.start_machine(now, header, Some(link));
    }

    /// Forgets a link and closes it (after what was queued on it is sent).
    fn drop_link(&mut self, link: u64) {
        if self.links.remove(&link).is_some() {
            self.push(Output::CloseLink(link));
        }
    }

    fn start_machine(&mut self, now: u64, header: MatchHeader, link: Option<u64>) {
        let match_id = header.match_id();
        // Private randomness: a keyed hash of the driver's seed, this node's key and the
        // match, so that no two matches share a secret and nobody else can derive one.
        let secret = keccak256(&[
            b"nets/match-secret",
            &self.key.secret(),
            &self.seed,
            &match_id.0,
        ])
        .0;
        let s = self.config.schedule;
        let cfg = MatchConfig {
            step_timeout: s.step_timeout_ms,
            answer_timeout: s.answer_timeout_ms,
            retransmit_every: RETRANSMIT_MS,
        };
        let machine = match MatchMachine::new(
            now,
            header.clone(),
            Keypair::from_secret(self.key.secret()),
            secret,
            cfg,
        ) {
            Ok(m) => m,
            Err(_) => {
                if let Some(link) = link {
                    self.drop_link(link);
                }
                return;
            }
        };
        if let Some(link) = link
            && let Some(l) = self.links.get_mut(&link)
        {
            l.usage = LinkUse::Match(match_id);
            l.header = None;
        }
        let seat = machine.seat().index();
        self.matches.insert(
            match_id,
            Live {
                machine,
                link,
                asked: None,
                done_at: None,
                heard: false,
            },
        );
        self.push(Output::MatchStarted {
            header,
            seat,
            agent_seed: keccak256(&[b"nets/agent-seed", &secret]).0,
        });
        self.match_event(&match_id, "started");
        self.pump(now, match_id);
    }

    /// Drains a machine: sends what it wants sent, handles its events.
    pub(super) fn pump(&mut self, now: u64, match_id: Hash32) {
        let mut events = Vec::new();
        let mut sends = Vec::new();
        {
            let Some(live) = self.matches.get_mut(&match_id) else {
                return;
            };
            while let Some(msg) = live.machine.poll_transmit() {
                if let Some(link) = live.link {
                    sends.push((link, msg));
                }
            }
            while let Some(event) = live.machine.poll_event() {
                events.push(event);
            }
        }
        for (link, msg) in sends {
            self.push(Output::SendFrame {
                link,
                frame: Frame::Message(msg),
            });
        }
        for event in events {
            self.on_match_event(now, match_id, event);
        }
    }

    fn on_match_event(&mut self, now: u64, match_id: Hash32, event: Event) {
        let header = match self.matches.get(&match_id) {
            Some(live) => live.machine.conversation().header().clone(),
            None => return,
        };
        match event {
            Event::ActionNeeded { turn } => {
                let Some(live) = self.matches.get_mut(&match_id) else {
                    return;
                };
                if live.asked == Some(turn) {
                    return;
                }
                let Some(game) = live.machine.pending_game().cloned() else {
                    return;
                };
                live.asked = Some(turn);
                let seat = live.machine.seat().index();
                self.push(Output::Think {
                    match_id,
                    turn,
                    seat,
                    game: Box::new(game),
                });
            }
            Event::Finished(record) => {
                self.finished = self.finished.saturating_add(1);
                self.match_event(&match_id, "finished");
                self.end_match(now, match_id);
                self.handle_own_item(&Item::Outcome(record));
            }
            Event::TimeoutClaimed(claim) => {
                self.match_event(&match_id, "claimed");
                self.handle_own_item(&Item::Claim(claim));
            }
            Event::ClaimAnswered => self.match_event(&match_id, "claim_answered"),
            Event::Forfeit(_) => {
                self.match_event(&match_id, "forfeit_won");
                self.end_match(now, match_id);
            }
            Event::PeerFault(evidence) => {
                self.match_event(&match_id, "peer_fault");
                self.end_match(now, match_id);
                self.handle_own_item(&Item::Evidence {
                    epoch: header.epoch,
                    evidence,
                });
            }
            Event::ClaimAnswer(message) => {
                self.handle_own_item(&Item::Answer { header, message });
            }
            Event::Dropped(_) => {}
        }
    }

    fn end_match(&mut self, now: u64, match_id: Hash32) {
        if let Some(live) = self.matches.get_mut(&match_id)
            && live.done_at.is_none()
        {
            live.done_at = Some(now);
            self.push(Output::MatchEnded { match_id });
        }
    }

    fn match_event(&mut self, match_id: &Hash32, what: &'static str) {
        self.push(Output::Event(NodeEvent::Match {
            match_id: *match_id,
            what,
        }));
    }

    /// Routes an item that concerns a match this node plays: a claim against it, or the
    /// answer to its claim.
    pub(super) fn route_to_match(&mut self, now: u64, item: &Item) {
        let id = match item {
            Item::Claim(claim) => claim.header.match_id(),
            Item::Answer { header, .. } => header.match_id(),
            _ => return,
        };
        let Some(live) = self.matches.get_mut(&id) else {
            return;
        };
        match item {
            Item::Claim(claim) => live.machine.handle_claim(now, claim),
            Item::Answer { message, .. } => live.machine.handle_message(now, message.clone()),
            _ => {}
        }
        self.pump(now, id);
    }

    /// Time passed for the matches: their deadlines, links that stayed silent, invitations
    /// not answered in time, and finished matches that lingered long enough.
    pub(super) fn tick_matches(&mut self, now: u64) {
        let due: Vec<Hash32> = self
            .matches
            .iter()
            .filter(|(_, l)| l.machine.poll_timeout().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(live) = self.matches.get_mut(&id) {
                live.machine.handle_timeout(now);
            }
            self.pump(now, id);
        }
        // Links that carried no invitation in time, and invitations neither accepted nor
        // declined in time (nothing was signed yet, so the match is dropped on both sides
        // without a claim).
        let wait = self.config.schedule.step_timeout_ms.saturating_mul(2);
        let expired: Vec<(u64, bool)> = self
            .links
            .iter()
            .filter_map(|(link, l)| match l.usage {
                LinkUse::Waiting { deadline } if now >= deadline => Some((*link, false)),
                LinkUse::Invited { sent_at } if now.saturating_sub(sent_at) > wait => {
                    Some((*link, true))
                }
                _ => None,
            })
            .collect();
        for (link, invited) in expired {
            if invited {
                if let Some(header) = self.links.get(&link).and_then(|l| l.header.clone()) {
                    self.match_event(&header.match_id(), "unanswered");
                }
                self.push(Output::SendFrame {
                    link,
                    frame: Frame::Decline("the invitation expired".into()),
                });
            } else {
                self.push(Output::Event(NodeEvent::SilentLink));
            }
            self.drop_link(link);
        }
        let gone: Vec<Hash32> = self
            .matches
            .iter()
            .filter(|(_, l)| l.done_at.is_some_and(|t| now.saturating_sub(t) > LINGER_MS))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(live) = self.matches.remove(&id)
                && let Some(link) = live.link
            {
                self.drop_link(link);
            }
        }
    }

    /// The earliest deadline of the matches and links.
    pub(super) fn matches_timeout(&self) -> Option<u64> {
        let machines = self
            .matches
            .values()
            .filter_map(|l| l.machine.poll_timeout());
        let wait = self.config.schedule.step_timeout_ms.saturating_mul(2);
        let links = self.links.values().filter_map(|l| match l.usage {
            LinkUse::Waiting { deadline } => Some(deadline),
            LinkUse::Invited { sent_at } => Some(sent_at.saturating_add(wait).saturating_add(1)),
            LinkUse::Match(_) => None,
        });
        let lingering = self.matches.values().filter_map(|l| {
            l.done_at
                .map(|t| t.saturating_add(LINGER_MS).saturating_add(1))
        });
        machines.chain(links).chain(lingering).min()
    }
}
