//! A deterministic network simulation for [`MatchMachine`]s, in the style of quinn-proto's test
//! `Pair` and raft-rs's test network.
//!
//! A [`Sim`] holds any number of matches (two machines each, possibly sharing keys) on a
//! virtual clock in milliseconds. Everything random (latency, loss, duplication, reordering,
//! the machines' secrets) comes from one seeded ChaCha stream ([`GameRng`]), so a run is a
//! pure function of its seed and setup: a failing seed replays exactly.
//!
//! Each directed link has a [`LinkConfig`]: latency drawn from `min..=max`, a loss
//! probability, a duplication probability (each extra copy with its own latency), and
//! reordering (a random extra delay on some packets). Links can be cut and healed, by hand
//! between runs or on a schedule. Messages travel as their wire bytes and are decoded on
//! arrival, so the wire format is exercised on every delivery.
//!
//! The driver loop: settle every machine (answer `ActionNeeded` with the player's agent,
//! record every event, ship every transmit through the player's adversary hook, if any, and
//! onto its link) until nothing moves, then jump the clock to the next packet arrival or the
//! earliest `poll_timeout()`, deliver and fire what is due, and repeat. It stops when its
//! stop condition holds, when nothing is left to happen, or at a bound on virtual time and on
//! steps; every loop is bounded.
//!
//! An adversary hook on a player sees each message that player's machine sends (first sends
//! and retransmissions alike) and may deliver it (possibly mutated in place), drop it, or
//! replace it with any number of messages, e.g. ones re-signed with the deviator's key.

#![allow(dead_code)]

use std::collections::BTreeMap;

use nets_envs::GameRng;
use nets_envs::agents::{Agent, Greedy};
use nets_envs::log::EnvSpec;
use nets_tournament::evidence::Evidence;
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::messages::{MatchHeader, MatchMessage, OutcomeRecord};
use nets_tournament::protocol::{Event, MatchConfig, MatchMachine};
use nets_tournament::timeout::TimeoutClaim;

/// What an adversary hook does with a message its player sends.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send it (as possibly mutated by the hook).
    Deliver,
    /// Do not send it.
    Drop,
    /// Send these instead (any number, in order).
    Replace(Vec<MatchMessage>),
}

/// An adversary hook: sees every message its player sends.
pub(crate) type Adversary = Box<dyn FnMut(&mut MatchMessage) -> Action>;

/// One direction of a link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LinkConfig {
    /// Least one-way latency, ms.
    pub(crate) min_latency: u64,
    /// Most one-way latency, ms.
    pub(crate) max_latency: u64,
    /// Probability a packet is lost.
    pub(crate) loss: f64,
    /// Probability a packet is sent twice (each copy with its own latency).
    pub(crate) duplicate: f64,
    /// Probability a packet gets an extra delay of up to `reorder_delay` (so later packets
    /// overtake it).
    pub(crate) reorder: f64,
    /// Largest extra delay of a reordered packet, ms.
    pub(crate) reorder_delay: u64,
}

impl LinkConfig {
    /// A fixed 10 ms latency and nothing else.
    pub(crate) fn perfect() -> Self {
        Self {
            min_latency: 10,
            max_latency: 10,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: 0,
        }
    }

    /// 5..80 ms latency, `loss`, 10% duplication, 20% reordering by up to 400 ms.
    pub(crate) fn chaotic(loss: f64) -> Self {
        Self {
            min_latency: 5,
            max_latency: 80,
            loss,
            duplicate: 0.1,
            reorder: 0.2,
            reorder_delay: 400,
        }
    }
}

#[derive(Debug)]
struct Link {
    config: LinkConfig,
    /// Cut by hand.
    cut: bool,
    /// Scheduled cuts: `[from, until)` in virtual time.
    windows: Vec<(u64, u64)>,
}

impl Link {
    fn is_down(&self, now: u64) -> bool {
        self.cut || self.windows.iter().any(|&(a, b)| a <= now && now < b)
    }
}

/// One player of one match.
pub(crate) struct Player {
    /// Its key's secret (keys are not `Clone`; rebuild with [`Player::keypair`]).
    pub(crate) key_secret: [u8; 32],
    /// Its id.
    pub(crate) id: PlayerId,
    /// Its machine.
    pub(crate) machine: MatchMachine,
    /// Where its messages go (the other machine of its match).
    pub(crate) peer: usize,
    /// Which match (index of `add_match` calls).
    pub(crate) match_index: usize,
    /// Whether the match is a solo task (the agent plays snake 0 whatever the seat).
    pub(crate) solo: bool,
    /// What it answers `ActionNeeded` with.
    pub(crate) agent: Box<dyn Agent>,
    /// Every event, with the virtual time it came out.
    pub(crate) events: Vec<(u64, Event)>,
    /// Every message that went onto the wire from this player, after the hook.
    pub(crate) wire: Vec<MatchMessage>,
    /// Every message its machine asked to send, before the hook.
    pub(crate) transmitted: Vec<MatchMessage>,
    /// Its adversary hook, if it deviates.
    pub(crate) adversary: Option<Adversary>,
    /// Whether the machine accepts actions (false for a player modelled as a crashed agent).
    pub(crate) plays: bool,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("id", &self.id)
            .field("match_index", &self.match_index)
            .field("seat", &self.machine.seat())
            .field("done", &self.machine.is_done())
            .field("events", &self.events.len())
            .finish()
    }
}

impl Player {
    /// Its keypair.
    pub(crate) fn keypair(&self) -> Keypair {
        Keypair::from_secret(self.key_secret)
    }

    /// The outcome record, if it finished.
    pub(crate) fn finished(&self) -> Option<&OutcomeRecord> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Finished(r) => Some(r),
            _ => None,
        })
    }

    /// Its timeout claims, in order.
    pub(crate) fn claims(&self) -> Vec<&TimeoutClaim> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::TimeoutClaimed(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// Its forfeit declarations.
    pub(crate) fn forfeits(&self) -> Vec<&TimeoutClaim> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Forfeit(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// Its fault evidence.
    pub(crate) fn faults(&self) -> Vec<&Evidence> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::PeerFault(ev) => Some(ev),
                _ => None,
            })
            .collect()
    }

    /// How many `ClaimAnswered` events.
    pub(crate) fn answered(&self) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::ClaimAnswered))
            .count()
    }

    /// How many `Dropped` events.
    pub(crate) fn dropped(&self) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Dropped(_)))
            .count()
    }

    /// Time of the first event matching `f`.
    pub(crate) fn first_time(&self, f: impl Fn(&Event) -> bool) -> Option<u64> {
        self.events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }
}

/// A packet in flight.
#[derive(Debug)]
struct Packet {
    /// The sender, for links; `None` for injected packets.
    from: Option<usize>,
    to: usize,
    bytes: Vec<u8>,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The stop condition holds.
    Done,
    /// Nothing in flight and no timer set anywhere.
    Idle,
    /// The virtual-time bound.
    TimeBound,
    /// The step bound.
    StepBound,
}

/// A timer that was still due after `handle_timeout` ran at that time: a driver sleeping
/// until `poll_timeout()` would spin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StuckTimer {
    /// The player.
    pub(crate) player: usize,
    /// When `handle_timeout` ran.
    pub(crate) now: u64,
    /// What `poll_timeout` said afterwards.
    pub(crate) timeout: u64,
}

/// The simulation.
pub(crate) struct Sim {
    /// Virtual time, ms.
    pub(crate) now: u64,
    rng: GameRng,
    /// The players, two per match, in `add_match` order (A then B).
    pub(crate) players: Vec<Player>,
    links: BTreeMap<(usize, usize), Link>,
    /// Config of links not set explicitly.
    pub(crate) default_link: LinkConfig,
    /// Packets by (arrival time, send order).
    queue: BTreeMap<(u64, u64), Packet>,
    sent_packets: u64,
    /// Largest virtual time a run may reach.
    pub(crate) max_time: u64,
    /// Most driver steps (clock jumps) per run.
    pub(crate) max_steps: u64,
    /// Driver steps so far.
    pub(crate) steps: u64,
    /// Timers that stayed due after being fired (see [`StuckTimer`]); the first 50.
    pub(crate) stuck_timers: Vec<StuckTimer>,
    /// Packets that did not decode on arrival.
    pub(crate) undecodable: usize,
    /// Errors from `supply_action`.
    pub(crate) supply_errors: usize,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .field("players", &self.players)
            .field("in_flight", &self.queue.len())
            .field("steps", &self.steps)
            .finish()
    }
}

/// A 32-byte seed from a number.
pub(crate) fn seed32(n: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&n.to_le_bytes());
    s[31] = 0x5a;
    s
}

/// The header of a match between two keys.
pub(crate) fn header(env: EnvSpec, round: u32, a: &Keypair, b: &Keypair) -> MatchHeader {
    MatchHeader {
        epoch: 7,
        round,
        env,
        a: a.id(),
        b: b.id(),
    }
}

impl Sim {
    /// An empty simulation whose randomness is keyed by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            now: 0,
            rng: GameRng::from_seed(seed32(seed)),
            players: Vec::new(),
            links: BTreeMap::new(),
            default_link: LinkConfig::perfect(),
            queue: BTreeMap::new(),
            sent_packets: 0,
            max_time: 10 * 60 * 1000,
            max_steps: 200_000,
            steps: 0,
            stuck_timers: Vec::new(),
            undecodable: 0,
            supply_errors: 0,
        }
    }

    /// Sets the config of every link, present and future.
    pub(crate) fn with_links(mut self, config: LinkConfig) -> Self {
        self.default_link = config;
        for link in self.links.values_mut() {
            link.config = config;
        }
        self
    }

    /// Adds a match between the keys with secrets `ka` (seat A) and `kb` (seat B); returns
    /// the indices of A's and B's players. Greedy agents; secrets from the sim's stream.
    pub(crate) fn add_match(
        &mut self,
        env: EnvSpec,
        round: u32,
        ka: [u8; 32],
        kb: [u8; 32],
        config: MatchConfig,
    ) -> [usize; 2] {
        let (a, b) = (Keypair::from_secret(ka), Keypair::from_secret(kb));
        let h = header(env, round, &a, &b);
        self.add_match_with_header(h, ka, kb, config)
    }

    /// Adds a match with an explicit header (its players must be the two keys).
    pub(crate) fn add_match_with_header(
        &mut self,
        h: MatchHeader,
        ka: [u8; 32],
        kb: [u8; 32],
        config: MatchConfig,
    ) -> [usize; 2] {
        let match_index = self.players.len() / 2;
        let ia = self.players.len();
        let ib = ia + 1;
        let solo = h.is_solo();
        for (peer, secret) in [(ib, ka), (ia, kb)] {
            let key = Keypair::from_secret(secret);
            let id = key.id();
            let machine_secret = self.random_bytes();
            let machine = MatchMachine::new(self.now, h.clone(), key, machine_secret, config)
                .expect("a player of the match");
            self.players.push(Player {
                key_secret: secret,
                id,
                machine,
                peer,
                match_index,
                solo,
                agent: Box::new(Greedy),
                events: Vec::new(),
                wire: Vec::new(),
                transmitted: Vec::new(),
                adversary: None,
                plays: true,
            });
        }
        [ia, ib]
    }

    /// Replaces a player's agent.
    pub(crate) fn set_agent(&mut self, player: usize, agent: Box<dyn Agent>) {
        self.players[player].agent = agent;
    }

    /// Installs an adversary hook on a player.
    pub(crate) fn set_adversary(
        &mut self,
        player: usize,
        hook: impl FnMut(&mut MatchMessage) -> Action + 'static,
    ) {
        self.players[player].adversary = Some(Box::new(hook));
    }

    /// Sets one direction of a link.
    pub(crate) fn set_link(&mut self, from: usize, to: usize, config: LinkConfig) {
        self.link_mut(from, to).config = config;
    }

    fn link_mut(&mut self, from: usize, to: usize) -> &mut Link {
        let default = self.default_link;
        self.links.entry((from, to)).or_insert_with(|| Link {
            config: default,
            cut: false,
            windows: Vec::new(),
        })
    }

    /// Cuts both directions between two players (packets in flight are lost on arrival).
    pub(crate) fn cut(&mut self, a: usize, b: usize) {
        self.link_mut(a, b).cut = true;
        self.link_mut(b, a).cut = true;
    }

    /// Cuts one direction.
    pub(crate) fn cut_one_way(&mut self, from: usize, to: usize) {
        self.link_mut(from, to).cut = true;
    }

    /// Heals both directions (scheduled windows stay).
    pub(crate) fn heal(&mut self, a: usize, b: usize) {
        self.link_mut(a, b).cut = false;
        self.link_mut(b, a).cut = false;
    }

    /// Cuts one direction during `[from_time, until)`.
    pub(crate) fn schedule_cut(&mut self, from: usize, to: usize, from_time: u64, until: u64) {
        self.link_mut(from, to).windows.push((from_time, until));
    }

    /// Delivers `msg` to `to` at time `at` (bypassing links and hooks).
    pub(crate) fn inject(&mut self, to: usize, at: u64, msg: &MatchMessage) {
        self.inject_bytes(to, at, msg.to_bytes());
    }

    /// Delivers raw bytes to `to` at time `at`.
    pub(crate) fn inject_bytes(&mut self, to: usize, at: u64, bytes: Vec<u8>) {
        self.sent_packets += 1;
        self.queue.insert(
            (at.max(self.now), self.sent_packets),
            Packet {
                from: None,
                to,
                bytes,
            },
        );
    }

    fn random_bytes(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(4) {
            chunk.copy_from_slice(&self.rng.next_word().to_le_bytes());
        }
        out
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && f64::from(self.rng.below(1_000_000)) < p * 1_000_000.0
    }

    fn uniform(&mut self, min: u64, max: u64) -> u64 {
        if max <= min {
            return min;
        }
        let span = u32::try_from(max - min + 1).unwrap_or(u32::MAX);
        min + u64::from(self.rng.below(span))
    }

    /// Puts `msg` from `from` onto its link to its peer.
    fn ship(&mut self, from: usize, msg: &MatchMessage) {
        let to = self.players[from].peer;
        let now = self.now;
        let (config, down) = {
            let link = self.link_mut(from, to);
            (link.config, link.is_down(now))
        };
        self.players[from].wire.push(msg.clone());
        if down || self.chance(config.loss) {
            return;
        }
        let copies = if self.chance(config.duplicate) { 2 } else { 1 };
        let bytes = msg.to_bytes();
        for _ in 0..copies {
            let mut delay = self.uniform(config.min_latency, config.max_latency);
            if self.chance(config.reorder) {
                delay += self.uniform(0, config.reorder_delay);
            }
            self.sent_packets += 1;
            self.queue.insert(
                (now + delay, self.sent_packets),
                Packet {
                    from: Some(from),
                    to,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    /// Answers events and ships transmits until no machine has anything left to say.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..self.players.len() {
                while let Some(event) = self.players[i].machine.poll_event() {
                    moved = true;
                    if let Event::ActionNeeded { .. } = event {
                        self.answer(i);
                    }
                    self.players[i].events.push((self.now, event));
                }
                while let Some(mut msg) = self.players[i].machine.poll_transmit() {
                    moved = true;
                    self.players[i].transmitted.push(msg.clone());
                    let action = match self.players[i].adversary.as_mut() {
                        Some(hook) => hook(&mut msg),
                        None => Action::Deliver,
                    };
                    match action {
                        Action::Deliver => self.ship(i, &msg),
                        Action::Drop => {}
                        Action::Replace(msgs) => {
                            for m in &msgs {
                                self.ship(i, m);
                            }
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!(
            "machines kept talking at t={} without the clock moving",
            self.now
        );
    }

    fn answer(&mut self, i: usize) {
        let now = self.now;
        let p = &mut self.players[i];
        if !p.plays {
            return;
        }
        let Some(game) = p.machine.pending_game().cloned() else {
            return;
        };
        let snake = if p.solo {
            0
        } else {
            usize::from(p.machine.seat().index())
        };
        let code = p.agent.choose(&game, snake).code();
        if p.machine.supply_action(now, code).is_err() {
            self.supply_errors += 1;
        }
    }

    /// Whether every player's machine is done.
    pub(crate) fn all_done(&self) -> bool {
        self.players.iter().all(|p| p.machine.is_done())
    }

    /// Whether every player without an adversary hook is done.
    pub(crate) fn honest_done(&self) -> bool {
        self.players
            .iter()
            .filter(|p| p.adversary.is_none())
            .all(|p| p.machine.is_done())
    }

    /// Runs until every machine is done (or a bound).
    pub(crate) fn run(&mut self) -> Stop {
        self.run_until(Sim::all_done)
    }

    /// Runs until `stop` holds after the machines settled, until nothing is left to happen,
    /// or until a bound.
    pub(crate) fn run_until(&mut self, mut stop: impl FnMut(&Sim) -> bool) -> Stop {
        loop {
            self.settle();
            if stop(self) {
                return Stop::Done;
            }
            if self.steps >= self.max_steps {
                return Stop::StepBound;
            }
            self.steps += 1;
            let packet = self.queue.keys().next().map(|&(t, _)| t);
            let timer = self
                .players
                .iter()
                .filter_map(|p| p.machine.poll_timeout())
                // A timer already fired at `now` and still due is recorded as stuck; do not
                // let it pin the clock.
                .map(|t| t.max(self.now + 1))
                .min();
            let Some(next) = [packet, timer].into_iter().flatten().min() else {
                return Stop::Idle;
            };
            if next > self.max_time {
                return Stop::TimeBound;
            }
            self.now = self.now.max(next);
            self.step();
        }
    }

    /// Runs until virtual time `t` (`Stop::Done`) or the step bound.
    pub(crate) fn run_to(&mut self, t: u64) -> Stop {
        loop {
            self.settle();
            if self.steps >= self.max_steps {
                return Stop::StepBound;
            }
            self.steps += 1;
            let packet = self.queue.keys().next().map(|&(t, _)| t);
            let timer = self
                .players
                .iter()
                .filter_map(|p| p.machine.poll_timeout())
                .map(|x| x.max(self.now + 1))
                .min();
            let next = [packet, timer].into_iter().flatten().min();
            match next {
                Some(n) if n <= t => {
                    self.now = self.now.max(n);
                    self.step();
                }
                _ => {
                    self.now = self.now.max(t);
                    self.settle();
                    return Stop::Done;
                }
            }
        }
    }

    /// Delivers what has arrived by `now` and fires due timers.
    fn step(&mut self) {
        let now = self.now;
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let Packet { from, to, bytes } = entry.remove();
            // A link cut while the packet was in flight loses it.
            if let Some(from) = from
                && self.links.get(&(from, to)).is_some_and(|l| l.is_down(now))
            {
                continue;
            }
            match MatchMessage::from_bytes(&bytes) {
                Ok(msg) => self.players[to].machine.handle_message(now, msg),
                Err(_) => self.undecodable += 1,
            }
        }
        for i in 0..self.players.len() {
            let m = &mut self.players[i].machine;
            if let Some(t) = m.poll_timeout()
                && t <= now
            {
                m.handle_timeout(now);
                if let Some(after) = m.poll_timeout()
                    && after <= now
                    && self.stuck_timers.len() < 50
                {
                    self.stuck_timers.push(StuckTimer {
                        player: i,
                        now,
                        timeout: after,
                    });
                }
            }
        }
    }
}
