//! The node core at virtual speed: N cores on a virtual clock and a modelled network, in the
//! style of the match harness. The harness is a driver: it carries gossip, fetches and match
//! links between the cores with a fixed latency, answers every agent request with a greedy
//! move, and can cut nodes off. Each test runs whole epochs in milliseconds of real time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use nets_envs::agents::{Agent, Greedy};
use nets_envs::log::EnvSpec;
use nets_envs::snake::SnakeParams;
use nets_tournament::epoch::EpochSummary;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::league::{Entry, League};
use nets_tournament::messages::MatchHeader;
use nets_tournament::node::frames::{FetchRequest, FetchResponse, Frame};
use nets_tournament::node::item::Item;
use nets_tournament::node::log::MemLog;
use nets_tournament::node::{
    CLOCK_SKEW_MS, CoreConfig, Ignored, ItemLog, NodeCore, Output, Schedule, Topic, Verdict,
};
use nets_tournament::wire;

/// One-way latency of every message in the modelled network.
const LATENCY: u64 = 2;
/// Links opened by a peer are numbered from here, as a driver does.
const INCOMING: u64 = 1 << 63;

fn league() -> League {
    League {
        env: EnvSpec::Snake(SnakeParams::duel(7)),
        tier: 0,
    }
}

fn schedule() -> Schedule {
    Schedule {
        genesis_ms: 10_000,
        epoch_ms: 8_000,
        round_ms: 1_500,
        warmup_ms: 1_500,
        last_round_ms: 2_000,
        grace_ms: 1_000,
        step_timeout_ms: 400,
        answer_timeout_ms: 400,
    }
}

fn config(settles: bool) -> CoreConfig {
    CoreConfig {
        schedule: schedule(),
        leagues: vec![league()],
        enter: true,
        max_matches: 4,
        settles,
        bootstrap: true,
    }
}

fn key(i: u32) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..4].copy_from_slice(&(i + 1).to_le_bytes());
    secret[31] = 0x5a;
    Keypair::from_secret(secret)
}

fn core(i: u32, settles: bool) -> NodeCore<u32, MemLog> {
    NodeCore::new(0, key(i), [i as u8; 32], config(settles), MemLog::default())
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Delivery {
    Connect(u32),
    Gossip {
        topic: Topic,
        bytes: Vec<u8>,
        from: u32,
    },
    Fetch {
        from: u32,
        request: FetchRequest,
    },
    FetchResponse {
        from: u32,
        bytes: Vec<u8>,
    },
    LinkOpened {
        link: u64,
        from: PlayerId,
    },
    Frame {
        link: u64,
        frame: Frame,
    },
    LinkClosed(u64),
}

/// A node: its core, and what the driver saw of it.
struct Sim {
    core: NodeCore<u32, MemLog>,
    /// This node's clock runs this much ahead of the network's.
    skew: u64,
    /// Its agent never answers (a silent loser).
    silent: bool,
    closed: Vec<EpochSummary>,
    settled: Vec<EpochSummary>,
    verdicts: Vec<Verdict>,
}

struct Net {
    now: u64,
    seq: u64,
    nodes: Vec<Sim>,
    by_player: BTreeMap<PlayerId, u32>,
    connected: BTreeSet<(u32, u32)>,
    /// Nodes cut off from the network: their dials fail.
    blocked: BTreeSet<u32>,
    /// Each end of a match link: (node, link) → (node, link) at the other end.
    ends: BTreeMap<(u32, u64), (u32, u64)>,
    next_incoming: u64,
    queue: BinaryHeap<Reverse<(u64, u64, u32)>>,
    payloads: BTreeMap<u64, Delivery>,
}

impl Net {
    /// `n` nodes; the first is everyone's bootstrap peer.
    fn new(n: u32, settles: bool) -> Self {
        Self::with(n, |i| CoreConfig {
            bootstrap: i != 0,
            ..config(settles)
        })
    }

    /// `n` nodes, node `i` configured with `config(i)`.
    fn with(n: u32, config: impl Fn(u32) -> CoreConfig) -> Self {
        let mut nodes = Vec::new();
        let mut by_player = BTreeMap::new();
        for i in 0..n {
            let mut core = NodeCore::new(0, key(i), [i as u8; 32], config(i), MemLog::default());
            core.handle_listening(vec![format!("/memory/{i}")]);
            by_player.insert(core.me(), i);
            nodes.push(Sim {
                core,
                skew: 0,
                silent: false,
                closed: Vec::new(),
                settled: Vec::new(),
                verdicts: Vec::new(),
            });
        }
        Self {
            now: 0,
            seq: 0,
            nodes,
            by_player,
            connected: BTreeSet::new(),
            blocked: BTreeSet::new(),
            ends: BTreeMap::new(),
            next_incoming: INCOMING,
            queue: BinaryHeap::new(),
            payloads: BTreeMap::new(),
        }
    }

    fn local(&self, i: u32) -> u64 {
        self.now + self.nodes[i as usize].skew
    }

    fn send(&mut self, to: u32, delivery: Delivery) {
        self.seq += 1;
        self.payloads.insert(self.seq, delivery);
        self.queue.push(Reverse((self.now + LATENCY, self.seq, to)));
    }

    /// Cuts node `i` off: its connections close and its dials fail until [`Net::unblock`].
    fn cut(&mut self, i: u32) {
        self.blocked.insert(i);
        let gone: Vec<(u32, u32)> = self
            .connected
            .iter()
            .filter(|(a, b)| *a == i || *b == i)
            .copied()
            .collect();
        for (a, b) in gone {
            self.connected.remove(&(a, b));
            let now = self.local(a);
            self.nodes[a as usize].core.handle_peer_gone(now, &b);
        }
    }

    fn unblock(&mut self, i: u32) {
        self.blocked.remove(&i);
    }

    /// Connects `a` and `b` unless one of them is cut off.
    fn dial(&mut self, a: u32, b: u32) {
        if a == b || self.blocked.contains(&a) || self.blocked.contains(&b) {
            return;
        }
        if !self.connected.contains(&(a, b)) {
            self.send(b, Delivery::Connect(a));
            self.send(a, Delivery::Connect(b));
        }
    }

    fn peers_of(&self, i: u32) -> Vec<u32> {
        self.connected
            .iter()
            .filter(|(a, _)| *a == i)
            .map(|(_, b)| *b)
            .collect()
    }

    /// Runs until `until` (network time), jumping from one delivery or wake-up to the next.
    fn run(&mut self, until: u64) {
        while self.now < until {
            for i in 0..self.nodes.len() as u32 {
                let now = self.local(i);
                self.nodes[i as usize].core.handle_tick(now);
                self.drain(i);
            }
            let mut next = until;
            if let Some(Reverse((at, _, _))) = self.queue.peek() {
                next = next.min(*at);
            }
            for n in &self.nodes {
                next = next.min(n.core.poll_timeout(self.now + n.skew) - n.skew);
            }
            self.now = next.max(self.now + 1);
            while let Some(Reverse((at, seq, to))) = self.queue.peek().copied() {
                if at > self.now {
                    break;
                }
                self.queue.pop();
                if let Some(d) = self.payloads.remove(&seq) {
                    self.deliver(to, d);
                    self.drain(to);
                }
            }
        }
    }

    fn deliver(&mut self, to: u32, d: Delivery) {
        let now = self.local(to);
        let core = &mut self.nodes[to as usize].core;
        match d {
            Delivery::Connect(from) => {
                if self.blocked.contains(&to) || self.blocked.contains(&from) {
                    return;
                }
                self.connected.insert((to, from));
                core.handle_peer_connected(now, from);
            }
            Delivery::Gossip { topic, bytes, from } => {
                let intake = core.handle_gossip(now, topic, &bytes);
                self.nodes[to as usize]
                    .verdicts
                    .push(intake.verdict.clone());
                if intake.item.is_some() {
                    // Forwarded, as gossipsub does with accepted messages.
                    for p in self.peers_of(to) {
                        if p != from {
                            let bytes = bytes.clone();
                            self.send(
                                p,
                                Delivery::Gossip {
                                    topic,
                                    bytes,
                                    from: to,
                                },
                            );
                        }
                    }
                }
            }
            Delivery::Fetch { from, request } => {
                let response = core.answer_fetch(&wire::encode(&request));
                let bytes = wire::encode(&response);
                self.send(from, Delivery::FetchResponse { from: to, bytes });
            }
            Delivery::FetchResponse { from, bytes } => {
                core.handle_fetch_response(now, from, &bytes);
            }
            Delivery::LinkOpened { link, from } => core.handle_link_opened(now, link, from),
            Delivery::Frame { link, frame } => core.handle_frame(now, link, frame),
            Delivery::LinkClosed(link) => core.handle_link_closed(link),
        }
    }

    /// Carries out node `i`'s outputs.
    fn drain(&mut self, i: u32) {
        while let Some(output) = self.nodes[i as usize].core.poll_output() {
            let now = self.local(i);
            match output {
                Output::DialBootstrap => self.dial(i, 0),
                Output::JoinDht => {
                    // The modelled DHT finds everyone.
                    for j in 0..self.nodes.len() as u32 {
                        self.dial(i, j);
                    }
                }
                Output::Publish { topic, bytes } => {
                    for p in self.peers_of(i) {
                        let bytes = bytes.clone();
                        self.send(
                            p,
                            Delivery::Gossip {
                                topic,
                                bytes,
                                from: i,
                            },
                        );
                    }
                }
                Output::Fetch { peer, request } => {
                    self.send(peer, Delivery::Fetch { from: i, request })
                }
                Output::OpenLink { link, to, .. } => {
                    let to = self.by_player[&to];
                    let far = self.next_incoming;
                    self.next_incoming += 1;
                    self.ends.insert((i, link), (to, far));
                    self.ends.insert((to, far), (i, link));
                    let from = self.nodes[i as usize].core.me();
                    self.send(to, Delivery::LinkOpened { link: far, from });
                }
                Output::SendFrame { link, frame } => {
                    if let Some((to, far)) = self.ends.get(&(i, link)).copied() {
                        self.send(to, Delivery::Frame { link: far, frame });
                    }
                }
                Output::CloseLink(link) => {
                    if let Some((to, far)) = self.ends.remove(&(i, link)) {
                        self.ends.remove(&(to, far));
                        self.send(to, Delivery::LinkClosed(far));
                    }
                }
                Output::Think {
                    match_id,
                    turn,
                    seat,
                    game,
                } => {
                    if !self.nodes[i as usize].silent {
                        let mv = Greedy.choose(&game, usize::from(seat));
                        let core = &mut self.nodes[i as usize].core;
                        core.handle_move(now, match_id, turn, mv.code());
                    }
                }
                Output::EpochClosed { summaries, .. } => {
                    self.nodes[i as usize].closed = summaries;
                }
                Output::Settle(summaries) => self.nodes[i as usize].settled.extend(summaries),
                Output::Event(_) | Output::MatchStarted { .. } | Output::MatchEnded { .. } => {}
            }
        }
    }
}

#[test]
fn two_cores_enter_draw_invite_play_gossip_close_and_attest_identically() {
    let mut net = Net::new(2, true);
    // Three epochs and their grace.
    net.run(10_000 + 3 * 8_000 + 2_000);
    let [a, b] = &net.nodes[..] else {
        unreachable!()
    };
    assert_eq!(a.closed.len(), 3, "one summary per epoch with games");
    assert_eq!(a.closed, b.closed, "both nodes fold the same epochs");
    let games: usize = a.closed.iter().map(|s| s.games.len()).sum();
    // Rounds at 1.5 s from 1.5 s to 6 s into each epoch: four a epoch.
    assert_eq!(games, 12, "every round's match was played and rated");
    assert_eq!(
        a.settled, b.settled,
        "both hand the same roots to settlement"
    );
    assert_eq!(a.settled.len(), 3);
    assert_eq!(a.core.log().len(), b.core.log().len());
}

#[test]
fn an_invitation_for_another_draw_is_declined() {
    let mut net = Net::new(2, false);
    net.run(10_000 + 1_000); // entered epoch 0, not yet playing
    let (me, other) = (net.nodes[0].core.me(), net.nodes[1].core.me());
    let now = net.local(0) + 1_000;
    let core = &mut net.nodes[0].core;
    let (a, b) = core.draw(&league(), 0, 0).expect("two entrants are drawn");
    let header = |round, a, b| MatchHeader {
        epoch: 0,
        round,
        env: league().env,
        a,
        b,
    };
    // The real pairing, seen by seat B, is accepted.
    if b == me {
        assert_eq!(core.check_invitation(now, &header(0, a, b), &a, 0), Ok(()));
    }
    // Seats swapped: not this node's draw.
    let swapped = header(0, b, a);
    if swapped.b == me {
        assert_eq!(
            core.check_invitation(now, &swapped, &swapped.a, 0),
            Err("the pairing does not match this node's draw")
        );
    }
    // Another epoch, a stranger, or too many matches in flight.
    let mut later = header(0, other, me);
    later.epoch = 1;
    assert_eq!(
        core.check_invitation(now, &later, &other, 0),
        Err("not an invitation for the current epoch")
    );
    let stranger = key(99).id();
    assert_eq!(
        core.check_invitation(now, &header(0, stranger, me), &stranger, 0),
        Err("the pairing does not match this node's draw")
    );
    assert_eq!(
        core.check_invitation(now, &header(0, other, me), &other, 4),
        Err("too many matches in flight")
    );
    assert_eq!(
        core.check_invitation(now, &header(0, other, other), &other, 0),
        Err("the header names other players")
    );
}

#[test]
fn a_silent_opponent_gets_a_claim_and_forfeits() {
    let mut net = Net::new(2, false);
    net.nodes[1].silent = true;
    net.run(10_000 + 8_000 + 2_000);
    let silent = net.nodes[1].core.me();
    for node in &net.nodes {
        let summary = node.closed.last().expect("epoch 0 closed");
        let standing = summary.standings[&silent];
        assert!(standing.forfeits >= 1, "{standing:?}");
        assert_eq!(standing.wins, 0);
    }
    assert_eq!(net.nodes[0].closed, net.nodes[1].closed);
}

#[test]
fn clock_skew_within_the_tolerance_does_not_split_views() {
    let mut net = Net::new(3, false);
    net.nodes[2].skew = CLOCK_SKEW_MS / 2;
    net.run(10_000 + 2 * 8_000 + 2_000);
    let first = &net.nodes[0].closed;
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|s| !s.games.is_empty()));
    for node in &net.nodes {
        assert_eq!(&node.closed, first);
        // Nothing an honest, slightly fast clock sent was taken for an attack.
        assert!(
            !node
                .verdicts
                .iter()
                .any(|v| matches!(v, Verdict::Invalid(_))),
            "{:?}",
            node.verdicts
        );
    }
}

#[test]
fn a_node_left_without_peers_dials_its_bootstrap_list_again_with_backoff() {
    let mut core: NodeCore<u32, MemLog> = core(1, false);
    let mut dials = Vec::new();
    let mut now = 0;
    while now < 20_000 {
        core.handle_tick(now);
        while let Some(o) = core.poll_output() {
            if o == Output::DialBootstrap {
                dials.push(now);
            }
        }
        now = core.poll_timeout(now);
    }
    assert_eq!(dials, [0, 1_000, 3_000, 7_000, 15_000], "doubling waits");
    // Connected: the DHT is joined, and no more dials.
    core.handle_peer_connected(now, 7);
    let outputs: Vec<_> = std::iter::from_fn(|| core.poll_output()).collect();
    assert!(outputs.contains(&Output::JoinDht));
    core.handle_tick(now + 60_000);
    assert!(!std::iter::from_fn(|| core.poll_output()).any(|o| o == Output::DialBootstrap));
    // Pruned by its only peer: it dials again at once, with the backoff reset, and joins the
    // DHT again once connected.
    now += 61_000;
    core.handle_peer_gone(now, &7);
    core.handle_tick(now);
    assert!(std::iter::from_fn(|| core.poll_output()).any(|o| o == Output::DialBootstrap));
    core.handle_tick(now + 1_000);
    assert!(std::iter::from_fn(|| core.poll_output()).any(|o| o == Output::DialBootstrap));
    core.handle_peer_connected(now + 1_100, 8);
    assert!(std::iter::from_fn(|| core.poll_output()).any(|o| o == Output::JoinDht));
}

#[test]
fn a_link_that_carries_no_match_is_closed_after_the_step_timeout() {
    let mut core = core(1, false);
    core.handle_peer_connected(0, 2);
    let stranger = key(2).id();
    core.handle_link_opened(100, INCOMING, stranger);
    core.handle_link_opened(100, INCOMING + 1, stranger);
    let closed = |core: &mut NodeCore<u32, MemLog>| -> Vec<u64> {
        std::iter::from_fn(|| core.poll_output())
            .filter_map(|o| match o {
                Output::CloseLink(l) => Some(l),
                _ => None,
            })
            .collect()
    };
    // The second carries an invitation that is not this node's draw: declined, then closed.
    let header = MatchHeader {
        epoch: 0,
        round: 0,
        env: league().env,
        a: stranger,
        b: core.me(),
    };
    core.handle_frame(100, INCOMING + 1, Frame::Invite(header));
    let outputs: Vec<_> = std::iter::from_fn(|| core.poll_output()).collect();
    assert!(outputs.iter().any(|o| matches!(
        o,
        Output::SendFrame { link, frame: Frame::Decline(_) } if *link == INCOMING + 1
    )));
    assert!(outputs.contains(&Output::CloseLink(INCOMING + 1)));
    // The first stays silent: closed at the step timeout, not before.
    let step = schedule().step_timeout_ms;
    assert!(core.poll_timeout(100) <= 100 + step);
    core.handle_tick(100 + step - 1);
    assert!(closed(&mut core).is_empty());
    core.handle_tick(100 + step);
    assert_eq!(closed(&mut core), [INCOMING]);
    assert_eq!(core.bookkeeping()[4], 0);
}

/// A core at `now` (network time, epoch 1 running) with a peer.
fn intake_core(now: u64) -> NodeCore<u32, MemLog> {
    let mut core = NodeCore::new(now, key(1), [1; 32], config(false), MemLog::default());
    core.handle_peer_connected(now, 2);
    core
}

fn entry(k: &Keypair, league: Hash32, epoch: u64) -> Vec<u8> {
    Item::Entry(Entry::sign(k, league, epoch, vec!["/memory/2".into()])).to_bytes()
}

#[test]
fn intake_refuses_junk_and_items_on_the_wrong_topic_and_penalises_their_sender() {
    let now = 10_000 + 8_000 + 100; // epoch 1
    let mut core = intake_core(now);
    let junk = core.handle_gossip(now, Topic::Outcomes, &[0xde, 0xad, 0xbe, 0xef]);
    assert!(matches!(junk.verdict, Verdict::Invalid(_)), "{junk:?}");
    let bytes = entry(&key(2), league().id(), 2);
    let wrong = core.handle_gossip(now, Topic::Outcomes, &bytes);
    assert!(matches!(wrong.verdict, Verdict::Invalid(ref r) if r.contains("topic")));
    assert!(core.log().is_empty(), "nothing refused is stored");
    // Forged: a valid entry with its signature bytes changed.
    let Ok(Item::Entry(mut forged)) = Item::from_bytes(&bytes) else {
        unreachable!()
    };
    forged.sig.0[0] ^= 1;
    let forged = core.handle_gossip(now, Topic::Entries, &Item::Entry(forged).to_bytes());
    assert!(matches!(forged.verdict, Verdict::Invalid(_)));
    // The same entry, on its topic: accepted, then known.
    let ok = core.handle_gossip(now, Topic::Entries, &bytes);
    assert_eq!(ok.verdict, Verdict::Accepted { new: true });
    let again = core.handle_gossip(now, Topic::Entries, &bytes);
    assert_eq!(again.verdict, Verdict::Accepted { new: false });
    assert_eq!(core.entrants(&league().id(), 2), [key(2).id()]);
}

#[test]
fn intake_ignores_entries_for_unknown_leagues_and_does_not_store_them() {
    let now = 10_000 + 8_000 + 100;
    let mut core = intake_core(now);
    let other = League {
        env: EnvSpec::Snake(SnakeParams::duel(9)),
        tier: 3,
    };
    let intake = core.handle_gossip(now, Topic::Entries, &entry(&key(2), other.id(), 2));
    assert_eq!(intake.verdict, Verdict::Ignored(Ignored::UnknownLeague));
    assert!(core.log().is_empty());
}

#[test]
fn intake_ignores_early_and_stale_items_without_penalty_and_refuses_the_far_future() {
    let s = schedule();
    // Just before epoch 2 starts: an entry for epoch 3 comes from a clock a second ahead.
    let now = s.epoch_start(2) - 1_000;
    let mut core = intake_core(now);
    let early = core.handle_gossip(now, Topic::Entries, &entry(&key(2), league().id(), 3));
    assert_eq!(early.verdict, Verdict::Ignored(Ignored::Early { epoch: 3 }));
    let far = core.handle_gossip(now, Topic::Entries, &entry(&key(2), league().id(), 4));
    assert!(matches!(far.verdict, Verdict::Invalid(ref r) if r.contains("future")));
    // An entry for epoch 0, closed long ago: stale by gossip ...
    let old = entry(&key(2), league().id(), 0);
    let stale = core.handle_gossip(now, Topic::Entries, &old);
    assert_eq!(stale.verdict, Verdict::Ignored(Ignored::Stale { epoch: 0 }));
    assert!(core.log().is_empty());
    // ... but taken when fetched: that is how a node catches up.
    let response = FetchResponse::Items {
        items: vec![serde_bytes::ByteBuf::from(old)],
    };
    let items = core.handle_fetch_response(now, 2, &wire::encode(&response));
    assert_eq!(items.len(), 1);
    assert_eq!(core.log().len(), 1);
}

#[test]
fn a_store_failure_is_ignored_and_never_charged_to_the_sender() {
    let now = 10_000 + 8_000 + 100;
    let mut core = intake_core(now);
    core.log().fail(true);
    let bytes = entry(&key(2), league().id(), 2);
    let intake = core.handle_gossip(now, Topic::Entries, &bytes);
    assert!(matches!(
        intake.verdict,
        Verdict::Ignored(Ignored::Local(_))
    ));
    // Healed, the same item is taken: nothing was lost or poisoned.
    core.log().fail(false);
    let intake = core.handle_gossip(now, Topic::Entries, &bytes);
    assert_eq!(intake.verdict, Verdict::Accepted { new: true });
    assert!(core.log().has_item(&Item::id_of(&bytes)).unwrap());
}

#[test]
fn bookkeeping_stays_bounded_as_epochs_pass() {
    let mut net = Net::new(2, false);
    let s = schedule();
    net.run(s.epoch_start(3));
    let early = net.nodes[0].core.bookkeeping();
    net.run(s.epoch_start(12));
    let late = net.nodes[0].core.bookkeeping();
    for (e, l) in early.iter().zip(late) {
        assert!(l <= (*e).max(8), "{early:?} -> {late:?}");
    }
    assert_eq!(net.nodes[0].closed.len(), 11);
}

#[test]
fn entries_are_signed_stored_before_they_are_gossiped_and_retried_if_unsent() {
    let mut core: NodeCore<u32, MemLog> = core(1, false);
    core.handle_listening(vec!["/memory/1".into()]);
    core.handle_tick(0);
    assert!(core.log().is_empty(), "no entry before a peer is connected");
    core.handle_peer_connected(10, 2);
    core.handle_tick(10);
    let published: Vec<Vec<u8>> = std::iter::from_fn(|| core.poll_output())
        .filter_map(|o| match o {
            Output::Publish { topic, bytes } => {
                assert_eq!(topic, Topic::Entries);
                Some(bytes)
            }
            _ => None,
        })
        .collect();
    // Before genesis: the first epoch and the next one.
    assert_eq!(published.len(), 2);
    for bytes in &published {
        assert!(core.log().has_item(&Item::id_of(bytes)).unwrap());
    }
    // Gossip could not carry it: tried again a second later, not before.
    core.handle_publish_failed(20, &published[0]);
    core.handle_tick(500);
    assert!(
        !std::iter::from_fn(|| core.poll_output()).any(|o| matches!(o, Output::Publish { .. }))
    );
    core.handle_tick(1_100);
    assert!(std::iter::from_fn(|| core.poll_output()).any(|o| matches!(o, Output::Publish { .. })));
}

#[test]
fn a_node_cut_off_rejoins_and_fetches_the_entries_it_missed() {
    let mut net = Net::new(3, false);
    net.cut(1); // node 1 starts late
    net.run(2_500); // nodes 0 and 2 connect, enter, and catch up
    net.cut(2);
    net.unblock(1);
    net.run(4_500); // node 1 dials again, connects and enters while node 2 is cut off
    let league = league().id();
    assert_eq!(net.nodes[0].core.entrants(&league, 0).len(), 3);
    assert_eq!(net.nodes[2].core.entrants(&league, 0).len(), 2);
    net.unblock(2);
    // Before the entry sync ahead of epoch 0 (2 s before it starts at 10 s).
    net.run(7_000);
    assert!(
        net.nodes[2].core.peers().next().is_some(),
        "node 2 dialled again"
    );
    assert_eq!(
        net.nodes[2].core.entrants(&league, 0).len(),
        3,
        "node 2 fetched the entry it missed"
    );
}

#[test]
fn every_entry_pays_the_fee_once_whether_its_player_plays_or_not() {
    // Node 2 enters but plays nothing: it declines every invitation and skips its rounds.
    let mut net = Net::with(3, |i| CoreConfig {
        bootstrap: i != 0,
        max_matches: if i == 2 { 0 } else { 4 },
        ..config(false)
    });
    net.run(schedule().epoch_start(1) + 2_000);
    let idle = net.nodes[2].core.me();
    let fee = 1_000_000; // the tier-0 fee
    for node in &net.nodes {
        let summary = node.closed.first().expect("epoch 0 closed");
        assert!(!summary.games.is_empty());
        let standing = summary.standings[&idle];
        assert_eq!(standing.wins + standing.draws + standing.losses, 0);
        let paid: u128 = summary.payout.paid.values().sum();
        assert_eq!(
            paid + summary.payout.carried,
            3 * fee,
            "three entries, three fees"
        );
        assert!(
            !summary.payout.paid.contains_key(&idle),
            "no points, no share"
        );
    }
    assert_eq!(net.nodes[0].closed, net.nodes[2].closed);
}
