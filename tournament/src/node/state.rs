//! [`NodeCore`]: the node's state machine.

mod hosting;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::epoch::EpochSummary;
use crate::hash::Hash32;
use crate::identity::{Keypair, PlayerId};
use crate::league::{Entry, League};
use crate::messages::MatchHeader;
use crate::pairing::{PairingParams, draw_round};
use crate::rating::Ratings;
use crate::wire;
use nets_envs::snake::SnakeGame;

use super::Topic;
use super::entrants::{EntrantBook, Noted};
use super::fold::{SummaryCache, latest_ratings, summaries_cached};
use super::frames::{
    FetchRequest, FetchResponse, Frame, MAX_FETCH_ITEMS, MAX_FETCH_REQUEST, MAX_FETCH_RESPONSE,
};
use super::item::Item;
use super::log::{Durability, ItemLog};
use super::schedule::{CLOCK_SKEW_MS, Schedule};

/// Epochs closed within this long of a start are handed to settlement only then: the node
/// signs an epoch's roots once (signing other roots later would be equivocation), so it first
/// fetches what it missed while it was down.
const SETTLE_AFTER_MS: u64 = 10_000;
/// After a start, the node waits this long once connected before it fetches the epochs it
/// may have missed.
const CATCH_UP_AFTER_MS: u64 = 1_500;
/// Entries for an epoch are pulled from peers this long (at most a quarter of an epoch)
/// before it starts.
const ENTRY_SYNC_LEAD_MS: u64 = 5_000;
/// Peers asked for an epoch's inventory at once.
const SYNC_PEERS: usize = 3;
/// Item requests sent for one inventory: what is missing beyond is fetched at the next sync.
const MAX_FETCH_CHUNKS: usize = 16;
/// The first wait before dialling the bootstrap list again, doubled up to
/// [`REDIAL_MAX_MS`] while the node stays without peers.
const REDIAL_MIN_MS: u64 = 1_000;
/// The longest wait between two dials of the bootstrap list.
const REDIAL_MAX_MS: u64 = 30_000;
/// An entry that could not be published is tried again this much later.
const ENTRY_RETRY_MS: u64 = 1_000;
/// Outputs waiting for the driver; a driver drains them after every input, so reaching this
/// means it does not, and the oldest are dropped (every output is retried or recomputed).
const MAX_OUTPUTS: usize = 4_096;

/// What a node is configured to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreConfig {
    /// The network's schedule.
    pub schedule: Schedule,
    /// The leagues the node follows and, if [`CoreConfig::enter`], enters.
    pub leagues: Vec<League>,
    /// Whether the node enters its leagues and plays. A node that does not still follows
    /// them: it relays and checks their items, ranks, and attests if it settles.
    pub enter: bool,
    /// Matches in flight at once.
    pub max_matches: usize,
    /// Whether closed epochs are handed to settlement.
    pub settles: bool,
    /// Whether the node has a bootstrap list to dial.
    pub bootstrap: bool,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Output<P> {
    /// Dial every peer of the bootstrap list (the node holds no peer).
    DialBootstrap,
    /// Fill the DHT's routing table through the peers now connected.
    JoinDht,
    /// Gossip canonical bytes on a topic. If it cannot be sent, tell
    /// [`NodeCore::handle_publish_failed`].
    Publish {
        /// The topic.
        topic: Topic,
        /// The item's canonical bytes.
        bytes: Vec<u8>,
    },
    /// Send a fetch request to a peer, and its response to
    /// [`NodeCore::handle_fetch_response`].
    Fetch {
        /// The peer.
        peer: P,
        /// The request.
        request: FetchRequest,
    },
    /// Open a match link to a player (dialling the contacts its entry carries if the peer is
    /// not connected), then carry the frames [`Output::SendFrame`] queues on it. Tell
    /// [`NodeCore::handle_link_closed`] if it cannot be opened. Links this core opens are
    /// numbered from 0; a driver numbers the links peers open from 2^63.
    OpenLink {
        /// The link's id.
        link: u64,
        /// The player at the other end.
        to: PlayerId,
        /// Its contacts, from its entry.
        contacts: Vec<String>,
    },
    /// Send a frame on a match link (in order; a full queue may drop it: the match protocol
    /// retransmits).
    SendFrame {
        /// The link.
        link: u64,
        /// The frame.
        frame: Frame,
    },
    /// Close a match link once what is queued on it is sent.
    CloseLink(u64),
    /// Ask the match's agent for its move in `game`, and give it to
    /// [`NodeCore::handle_move`] (or [`NodeCore::handle_agent_failed`]).
    Think {
        /// The match.
        match_id: Hash32,
        /// The turn.
        turn: u32,
        /// The seat the node plays.
        seat: u8,
        /// The position.
        game: Box<SnakeGame>,
    },
    /// A match started: make its agent (seeded with `agent_seed`), and remember the header as
    /// in flight until [`Output::MatchEnded`].
    MatchStarted {
        /// The match.
        header: MatchHeader,
        /// The seat the node plays.
        seat: u8,
        /// Private randomness for the agent.
        agent_seed: [u8; 32],
    },
    /// A match ended: its agent is no longer needed.
    MatchEnded {
        /// The match.
        match_id: Hash32,
    },
    /// Epochs closed: a league's summaries of every closed epoch, the newest last.
    EpochClosed {
        /// The league.
        league: Hash32,
        /// Its summaries.
        summaries: Vec<EpochSummary>,
    },
    /// Hand these closed epochs of the settled league to settlement. If they cannot be
    /// taken now, tell [`NodeCore::handle_settlement_busy`].
    Settle(Vec<EpochSummary>),
    /// Something worth a log line or a metric.
    Event(NodeEvent),
}

/// What happened, for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// This node entered a league for an epoch.
    Entered {
        /// The league.
        league: Hash32,
        /// The epoch.
        epoch: u64,
    },
    /// An entry came after its epoch's cutoff and does not count.
    LateEntry {
        /// The epoch.
        epoch: u64,
        /// The entrant.
        player: PlayerId,
    },
    /// Something happened in a match: invited, accepted, declined, withdrawn, unanswered,
    /// started, finished, claimed, claim_answered, forfeit_won, peer_fault, agent_failed.
    Match {
        /// The match.
        match_id: Hash32,
        /// What happened.
        what: &'static str,
    },
    /// A peer's match link carried no invitation within the step timeout and was closed.
    SilentLink,
    /// A round was due but the node was already playing its most matches.
    RoundSkipped {
        /// The epoch.
        epoch: u64,
        /// The round.
        round: u32,
    },
    /// The store failed; what the node was doing is named.
    StoreFailed {
        /// What failed.
        doing: &'static str,
        /// The store's message.
        error: String,
    },
}

/// What intake made of an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and stored (`new`) or stored already: forward it.
    Accepted {
        /// Whether it was new to this node.
        new: bool,
    },
    /// Invalid: malformed, badly signed, failing replay, on the wrong topic, or for an epoch
    /// no honest clock could be in. The sender is penalised.
    Invalid(String),
    /// Not taken, through no fault of the sender: not forwarded, and no penalty.
    Ignored(Ignored),
}

/// Why an item was ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// Its epoch is closed here (gossip only: fetches of closed epochs are how a node
    /// catches up).
    Stale {
        /// The item's epoch.
        epoch: u64,
    },
    /// Its epoch has not started here, but starts within [`CLOCK_SKEW_MS`]: the sender's clock
    /// runs a little ahead. It is fetched later if it counts.
    Early {
        /// The item's epoch.
        epoch: u64,
    },
    /// An entry for a league this node does not follow: not stored.
    UnknownLeague,
    /// This node's store failed: the node's trouble, never charged to the sender.
    Local(String),
}

/// An item that passed intake, with its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intake {
    /// The verdict.
    pub verdict: Verdict,
    /// The item, when it was accepted and new: route it to the match it concerns.
    pub item: Option<Item>,
}

impl Intake {
    fn refuse(verdict: Verdict) -> Self {
        Self {
            verdict,
            item: None,
        }
    }
}

/// Where an item came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Gossip, on this topic.
    Gossip(Topic),
    /// A fetch response.
    Fetched,
}

/// A league's pairing inputs: league id, ratings, beacon.
type PairingInputs = (Hash32, Ratings, Hash32);

/// Everything one node decides. `P` is the driver's peer id; `L` its store.
#[derive(Debug)]
pub struct NodeCore<P, L> {
    key: Keypair,
    me: PlayerId,
    /// Private randomness from the driver, from which match secrets derive.
    seed: [u8; 32],
    config: CoreConfig,
    log: L,
    /// When the core was made: rounds right after a start would see too few entrants, and
    /// epochs closed while the node was down are settled only after a catch-up.
    started: u64,
    /// This node's contacts (listen addresses), carried in its entries.
    contacts: Vec<String>,
    /// Connected peers, and since when.
    peers: BTreeMap<P, u64>,
    /// When the bootstrap list is dialled next while the node has no peer, and the wait
    /// after that.
    redial_at: u64,
    redial_wait: u64,
    /// Whether the DHT was joined since the node last had peers.
    dht_joined: bool,
    /// Entrants by league and epoch, for the pairing draw.
    entrants: EntrantBook,
    /// (League id, epoch) this node's entry was stored and gossiped for.
    entered: BTreeSet<(Hash32, u64)>,
    /// When an entry is tried next after a failed publication.
    entry_retry_at: u64,
    /// Epochs whose entries were pulled from peers before they started.
    entries_synced: BTreeSet<u64>,
    /// Rounds drawn.
    rounds_done: BTreeSet<(u64, u32)>,
    /// Epochs fetched from peers half-way through their grace period ...
    synced: BTreeSet<u64>,
    /// ... and again after two grace periods.
    synced_again: BTreeSet<u64>,
    /// Whether the epochs missed while down, or while cut off, were fetched.
    caught_up: bool,
    /// Epochs before this one are closed.
    closed_before: u64,
    /// Epochs below this were handed to settlement.
    settle_sent: u64,
    /// Epoch summaries computed so far.
    summaries: SummaryCache,
    /// Ratings and beacon for pairings, by the epoch they serve.
    beacon_cache: Option<(u64, Vec<PairingInputs>)>,
    /// Matches in flight and lingering after their end.
    matches: BTreeMap<Hash32, hosting::Live>,
    /// Match links, by id.
    links: BTreeMap<u64, hosting::Link>,
    /// The id of the next link this node opens.
    next_link: u64,
    /// Matches finished with a signed result.
    finished: u64,
    outputs: VecDeque<Output<P>>,
}

impl<P: Clone + Ord, L: ItemLog> NodeCore<P, L> {
    /// A node starting at `now`, with its key, 32 bytes of private randomness (`seed`, from
    /// the OS in a real node), its configuration and store. Entries stored before a restart
    /// still count (this node's own among them).
    pub fn new(now: u64, key: Keypair, seed: [u8; 32], config: CoreConfig, log: L) -> Self {
        let me = key.id();
        let mut core = Self {
            key,
            me,
            seed,
            config,
            log,
            started: now,
            contacts: Vec::new(),
            peers: BTreeMap::new(),
            redial_at: now,
            redial_wait: REDIAL_MIN_MS,
            dht_joined: false,
            entrants: EntrantBook::default(),
            entered: BTreeSet::new(),
            entry_retry_at: 0,
            entries_synced: BTreeSet::new(),
            rounds_done: BTreeSet::new(),
            synced: BTreeSet::new(),
            synced_again: BTreeSet::new(),
            caught_up: false,
            closed_before: 0,
            settle_sent: 0,
            summaries: SummaryCache::default(),
            beacon_cache: None,
            matches: BTreeMap::new(),
            links: BTreeMap::new(),
            next_link: 0,
            finished: 0,
            outputs: VecDeque::new(),
        };
        let epoch = core.config.schedule.epoch_at(now);
        for e in epoch..=epoch.saturating_add(1) {
            match core.log.epoch_items(e) {
                Ok(items) => {
                    for item in items {
                        if let Item::Entry(entry) = item {
                            if entry.player == core.me {
                                core.entered.insert((entry.league, entry.epoch));
                            }
                            core.note_entry(now, entry);
                        }
                    }
                }
                Err(e) => core.store_failed("reading stored entries", &e),
            }
        }
        core
    }

    // ---- getters ----

    /// This node's player.
    pub fn me(&self) -> PlayerId {
        self.me
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The store.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Epochs before this one are closed.
    pub fn closed_before(&self) -> u64 {
        self.closed_before
    }

    /// The entrants of `league` in `epoch`, ascending.
    pub fn entrants(&self, league: &Hash32, epoch: u64) -> Vec<PlayerId> {
        self.entrants.entrants(league, epoch)
    }

    /// The contacts `player`'s entry into a league of `header`'s game carries for its epoch.
    pub fn contacts(&self, header: &MatchHeader, player: &PlayerId) -> Vec<String> {
        self.config
            .leagues
            .iter()
            .filter(|l| l.env == header.env)
            .flat_map(|l| {
                self.entrants
                    .contacts(&l.id(), header.epoch, player)
                    .to_vec()
            })
            .collect()
    }

    /// Connected peers, and since when.
    pub fn peers(&self) -> impl Iterator<Item = (&P, &u64)> {
        self.peers.iter()
    }

    /// Sizes of the core's bookkeeping: (entered, entries synced, rounds drawn, epochs
    /// synced, match links). Every one stays bounded as epochs pass.
    pub fn bookkeeping(&self) -> [usize; 5] {
        [
            self.entered.len(),
            self.entries_synced.len(),
            self.rounds_done.len(),
            self.synced.len().saturating_add(self.synced_again.len()),
            self.links.len(),
        ]
    }

    /// The next output for the driver.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.outputs.pop_front()
    }

    /// When the core next needs [`NodeCore::handle_tick`], at the latest (it may be called
    /// earlier and more often).
    pub fn poll_timeout(&self, now: u64) -> u64 {
        let s = &self.config.schedule;
        let mut at = s.next_round_at(now);
        // Entries, retries, syncs and closes are checked at least every second.
        at = at.min(now.saturating_add(1_000));
        if self.peers.is_empty() && self.config.bootstrap {
            at = at.min(self.redial_at.max(now));
        }
        if let Some(deadline) = self.matches_timeout() {
            at = at.min(deadline.max(now));
        }
        at.max(now.saturating_add(1))
    }

    // ---- inputs ----

    /// The node's listen addresses, which its entries carry.
    pub fn handle_listening(&mut self, contacts: Vec<String>) {
        self.contacts = contacts;
    }

    /// A peer connected.
    pub fn handle_peer_connected(&mut self, now: u64, peer: P) {
        self.peers.entry(peer).or_insert(now);
        self.redial_wait = REDIAL_MIN_MS;
        if !self.dht_joined {
            self.dht_joined = true;
            self.push(Output::JoinDht);
        }
    }

    /// A peer's last connection closed. A node left without peers dials its bootstrap list
    /// again at once, then with backoff; once connected again, it joins the DHT again and
    /// fetches what it missed meanwhile (entries included), as after a start.
    pub fn handle_peer_gone(&mut self, now: u64, peer: &P) {
        self.peers.remove(peer);
        if self.peers.is_empty() {
            self.dht_joined = false;
            self.caught_up = false;
            self.redial_at = now;
        }
    }

    /// Time passed.
    pub fn handle_tick(&mut self, now: u64) {
        self.redial(now);
        self.tick_matches(now);
        let epoch = self.config.schedule.epoch_at(now);
        self.enter_leagues(now, epoch);
        self.sync_entries(now, epoch);
        self.schedule_rounds(now, epoch);
        self.catch_up(now, epoch);
        self.close_epochs(now);
        self.settle_after_catch_up(now);
    }

    /// A gossip message on `topic`. Map the verdict to gossipsub's: accept, reject (and
    /// penalise), or ignore.
    pub fn handle_gossip(&mut self, now: u64, topic: Topic, bytes: &[u8]) -> Intake {
        self.intake(now, Origin::Gossip(topic), bytes)
    }

    /// A publication the core asked for could not be sent (no peer on the topic yet). An
    /// entry of this node's is tried again shortly; other items reach peers by fetch.
    pub fn handle_publish_failed(&mut self, now: u64, bytes: &[u8]) {
        if let Ok(Item::Entry(entry)) = Item::from_bytes(bytes)
            && entry.player == self.me
        {
            self.entered.remove(&(entry.league, entry.epoch));
            self.entry_retry_at = now.saturating_add(ENTRY_RETRY_MS);
        }
    }

    /// Settlement could not take the last [`Output::Settle`]: it is handed over again at a
    /// later tick.
    pub fn handle_settlement_busy(&mut self, first_epoch: u64) {
        self.settle_sent = self.settle_sent.min(first_epoch);
    }

    /// A response to a fetch this node sent to `peer`. Returns the items that were new, for
    /// the driver to route to its matches.
    pub fn handle_fetch_response(&mut self, now: u64, peer: P, bytes: &[u8]) -> Vec<Item> {
        let response: FetchResponse = match wire::decode(bytes, MAX_FETCH_RESPONSE) {
            Ok(r) => r,
            Err(_) => return Vec::new(),
        };
        match response {
            FetchResponse::Inventory { ids, .. } => {
                let mut missing = Vec::new();
                for id in ids {
                    match self.log.has_item(&id) {
                        Ok(false) => missing.push(id),
                        Ok(true) => {}
                        Err(e) => {
                            self.store_failed("checking an inventory", &e);
                            return Vec::new();
                        }
                    }
                }
                for chunk in missing.chunks(MAX_FETCH_ITEMS).take(MAX_FETCH_CHUNKS) {
                    self.push(Output::Fetch {
                        peer: peer.clone(),
                        request: FetchRequest::Items {
                            ids: chunk.to_vec(),
                        },
                    });
                }
                Vec::new()
            }
            FetchResponse::Items { items } => items
                .iter()
                .filter_map(|bytes| self.intake(now, Origin::Fetched, bytes).item)
                .collect(),
            FetchResponse::Refused(_) => Vec::new(),
        }
    }

    /// The answer to a peer's fetch request.
    pub fn answer_fetch(&self, request: &[u8]) -> FetchResponse {
        let request: FetchRequest = match wire::decode(request, MAX_FETCH_REQUEST) {
            Ok(r) => r,
            Err(e) => return FetchResponse::Refused(format!("malformed request: {e}")),
        };
        match request {
            FetchRequest::Inventory { epoch } => match self.log.epoch_ids(epoch) {
                Ok(ids) => FetchResponse::Inventory { epoch, ids },
                Err(e) => FetchResponse::Refused(format!("store: {e}")),
            },
            FetchRequest::Items { ids } => {
                if ids.len() > MAX_FETCH_ITEMS {
                    return FetchResponse::Refused(format!(
                        "at most {MAX_FETCH_ITEMS} items per request"
                    ));
                }
                let mut items = Vec::new();
                let mut size = 0usize;
                for id in ids {
                    if let Ok(Some(bytes)) = self.log.item_bytes(&id) {
                        size = size.saturating_add(bytes.len().saturating_add(8));
                        if size > MAX_FETCH_RESPONSE.saturating_sub(1024) {
                            break;
                        }
                        items.push(serde_bytes::ByteBuf::from(bytes));
                    }
                }
                FetchResponse::Items { items }
            }
        }
    }

    /// An item this node made (an outcome, claim, answer or evidence of its matches): stored
    /// durably, then gossiped. Returns whether it was new (an item that came from the
    /// opponent's gossip first was forwarded already).
    pub fn handle_own_item(&mut self, item: &Item) -> bool {
        let bytes = item.to_bytes();
        match self.log.put_item(item, &bytes, Durability::Now) {
            Ok(true) => {
                self.push(Output::Publish {
                    topic: item.topic(),
                    bytes,
                });
                true
            }
            Ok(false) => false,
            Err(e) => {
                // Not stored: not acknowledged, so not announced either.
                self.store_failed("storing an item of ours", &e);
                false
            }
        }
    }

    /// Seat B's check of an invitation from `sender` at `now`: `Ok` with the league if this
    /// node accepts, or why it declines. Nobody picks its opponents: the pairing must be this
    /// node's own draw.
    pub fn check_invitation(
        &mut self,
        now: u64,
        header: &MatchHeader,
        sender: &PlayerId,
        live_matches: usize,
    ) -> Result<(), &'static str> {
        if header.b != self.me || header.a != *sender {
            return Err("the header names other players");
        }
        if header.epoch != self.config.schedule.epoch_at(now) {
            return Err("not an invitation for the current epoch");
        }
        let Some(league) = self
            .config
            .leagues
            .iter()
            .find(|l| l.env == header.env)
            .cloned()
        else {
            return Err("this node does not enter that league");
        };
        if live_matches >= self.config.max_matches {
            return Err("too many matches in flight");
        }
        if self.draw(&league, header.epoch, header.round) != Some((header.a, header.b)) {
            return Err("the pairing does not match this node's draw");
        }
        Ok(())
    }

    /// This node's pairing in `league`'s round `round` of `epoch`: (seat A, seat B).
    pub fn draw(
        &mut self,
        league: &League,
        epoch: u64,
        round: u32,
    ) -> Option<(PlayerId, PlayerId)> {
        let (ratings, beacon) = self.pairing_inputs(epoch, league);
        let entrants = self.entrants.entrants(&league.id(), epoch);
        draw_round(
            &entrants,
            &ratings,
            &beacon,
            epoch,
            round,
            PairingParams::default(),
        )
        .pairs
        .iter()
        .find(|p| p.a == self.me || p.b == self.me)
        .map(|p| (p.a, p.b))
    }

    // ---- rules ----

    fn push(&mut self, output: Output<P>) {
        if self.outputs.len() >= MAX_OUTPUTS {
            self.outputs.pop_front();
        }
        self.outputs.push_back(output);
    }

    fn store_failed(&mut self, doing: &'static str, error: &dyn std::fmt::Display) {
        let error = error.to_string();
        self.push(Output::Event(NodeEvent::StoreFailed { doing, error }));
    }

    fn redial(&mut self, now: u64) {
        if !self.config.bootstrap || !self.peers.is_empty() || now < self.redial_at {
            return;
        }
        self.push(Output::DialBootstrap);
        self.redial_at = now.saturating_add(self.redial_wait);
        self.redial_wait = self.redial_wait.saturating_mul(2).min(REDIAL_MAX_MS);
    }

    /// Intake: the rules every item passes before it is stored or forwarded, cheapest first.
    fn intake(&mut self, now: u64, origin: Origin, bytes: &[u8]) -> Intake {
        let item = match Item::from_bytes(bytes) {
            Ok(item) => item,
            Err(e) => return Intake::refuse(Verdict::Invalid(e.to_string())),
        };
        if let Origin::Gossip(topic) = origin
            && item.topic() != topic
        {
            return Intake::refuse(Verdict::Invalid(format!(
                "{} on the {} topic",
                item.kind(),
                topic.name()
            )));
        }
        // Entries are for the next epoch; everything else for the current one.
        let s = self.config.schedule;
        let lead = u64::from(matches!(item, Item::Entry(_)));
        let epoch = item.epoch();
        if epoch > s.epoch_at(now).saturating_add(lead) {
            let skewed = s
                .epoch_at(now.saturating_add(CLOCK_SKEW_MS))
                .saturating_add(lead);
            return Intake::refuse(if epoch <= skewed {
                Verdict::Ignored(Ignored::Early { epoch })
            } else {
                Verdict::Invalid(format!("{} for future epoch {epoch}", item.kind()))
            });
        }
        if matches!(origin, Origin::Gossip(_)) && epoch < s.closed_before(now) {
            return Intake::refuse(Verdict::Ignored(Ignored::Stale { epoch }));
        }
        if let Item::Entry(entry) = &item
            && !self.config.leagues.iter().any(|l| l.id() == entry.league)
        {
            return Intake::refuse(Verdict::Ignored(Ignored::UnknownLeague));
        }
        let id = Item::id_of(bytes);
        match self.log.has_item(&id) {
            Ok(true) => return Intake::refuse(Verdict::Accepted { new: false }),
            Ok(false) => {}
            Err(e) => return Intake::refuse(Verdict::Ignored(Ignored::Local(e.to_string()))),
        }
        if let Err(e) = item.validate() {
            return Intake::refuse(Verdict::Invalid(e.to_string()));
        }
        if let Err(e) = self.log.put_item(&item, bytes, Durability::Background) {
            return Intake::refuse(Verdict::Ignored(Ignored::Local(e.to_string())));
        }
        if let Item::Entry(entry) = &item {
            self.note_entry(now, entry.clone());
        }
        self.route_to_match(now, &item);
        Intake {
            verdict: Verdict::Accepted { new: true },
            item: Some(item),
        }
    }

    /// Counts an entry into one of this node's leagues, if it came before the cutoff.
    fn note_entry(&mut self, now: u64, entry: Entry) {
        if !self.config.leagues.iter().any(|l| l.id() == entry.league) {
            return;
        }
        let (epoch, player) = (entry.epoch, entry.player);
        let cutoff = self.config.schedule.entry_cutoff(epoch);
        if self.entrants.note(entry, now, cutoff, &self.me) == Noted::Late {
            self.push(Output::Event(NodeEvent::LateEntry { epoch, player }));
        }
    }

    /// Signs, stores and gossips this node's entries for the next epoch (and for the current
    /// one before it started, which is how a devnet's first epoch is entered). A node that
    /// starts in the middle of an epoch enters the next one.
    fn enter_leagues(&mut self, now: u64, epoch: u64) {
        if !self.config.enter
            || self.contacts.is_empty()
            || self.peers.is_empty()
            || now < self.entry_retry_at
        {
            return;
        }
        for e in epoch..=epoch.saturating_add(1) {
            if now >= self.config.schedule.epoch_start(e) {
                continue;
            }
            for league in self.config.leagues.clone() {
                let key = (league.id(), e);
                if self.entered.contains(&key) {
                    continue;
                }
                let entry = Entry::sign(&self.key, league.id(), e, self.contacts.clone());
                let item = Item::Entry(entry.clone());
                let bytes = item.to_bytes();
                if let Err(err) = self.log.put_item(&item, &bytes, Durability::Now) {
                    self.store_failed("storing our entry", &err);
                    self.entry_retry_at = now.saturating_add(ENTRY_RETRY_MS);
                    continue;
                }
                self.note_entry(now, entry);
                self.entered.insert(key);
                self.push(Output::Publish {
                    topic: Topic::Entries,
                    bytes,
                });
                self.push(Output::Event(NodeEvent::Entered {
                    league: league.id(),
                    epoch: e,
                }));
            }
        }
    }

    /// Shortly before an epoch starts, pulls its entries from a few peers: gossip may have
    /// missed some (a node that joined after they were published never saw them). Forgets
    /// the bookkeeping of epochs that are over.
    fn sync_entries(&mut self, now: u64, epoch: u64) {
        let s = self.config.schedule;
        let next = epoch.saturating_add(1);
        let lead = ENTRY_SYNC_LEAD_MS.min(s.epoch_ms / 4);
        if now.saturating_add(lead) >= s.epoch_start(next)
            && !self.peers.is_empty()
            && self.entries_synced.insert(next)
        {
            self.sync_epoch(next);
        }
        let keep_from = epoch.saturating_sub(1);
        self.entrants.forget_before(keep_from);
        self.entered.retain(|(_, e)| *e >= keep_from);
        self.entries_synced.retain(|e| *e >= keep_from);
        self.rounds_done.retain(|(e, _)| *e >= epoch);
    }

    /// At each round that just began, draws the pairings from the public beacon and, in seat
    /// A, opens a match.
    fn schedule_rounds(&mut self, now: u64, epoch: u64) {
        let s = self.config.schedule;
        let Some(round) = s.round_due(epoch, now) else {
            return;
        };
        if !self.config.enter || !self.rounds_done.insert((epoch, round)) {
            return;
        }
        // Rounds right after a start would see too few entrants.
        if now.saturating_sub(self.started) < s.warmup_ms.min(3_000) {
            return;
        }
        for league in self.config.leagues.clone() {
            if self.live_matches() >= self.config.max_matches {
                self.push(Output::Event(NodeEvent::RoundSkipped { epoch, round }));
                break;
            }
            let Some((a, b)) = self.draw(&league, epoch, round) else {
                continue;
            };
            if a != self.me {
                continue; // Seat B waits for the invitation.
            }
            let header = MatchHeader {
                epoch,
                round,
                env: league.env.clone(),
                a,
                b,
            };
            self.open_match(now, header);
        }
    }

    /// Catch-up: once connected after a start, the last few epochs, which this node may have
    /// missed while it was down; half-way through each grace period, what peers have of the
    /// epoch just ended; and once more after two grace periods, for what was still on its way
    /// the first time (items of a closed epoch change the rankings, not what was attested).
    fn catch_up(&mut self, now: u64, epoch: u64) {
        let s = self.config.schedule;
        if !self.caught_up
            && !self.peers.is_empty()
            && now.saturating_sub(self.started) > CATCH_UP_AFTER_MS
        {
            self.caught_up = true;
            for e in epoch.saturating_sub(4)..=epoch.saturating_add(1) {
                self.sync_epoch(e);
            }
        }
        if let Some(prev) = epoch.checked_sub(1) {
            let closed_at = s.epoch_end(prev);
            if now >= closed_at.saturating_add(s.grace_ms / 2) && self.synced.insert(prev) {
                self.sync_epoch(prev);
            }
            if now >= closed_at.saturating_add(s.grace_ms.saturating_mul(2))
                && self.synced_again.insert(prev)
            {
                self.sync_epoch(prev);
            }
        }
        self.synced.retain(|e| e.saturating_add(2) >= epoch);
        self.synced_again.retain(|e| e.saturating_add(2) >= epoch);
    }

    /// Asks a few peers for an epoch's inventory: not the same few on every node.
    fn sync_epoch(&mut self, epoch: u64) {
        let n = self.peers.len();
        if n == 0 {
            return;
        }
        let offset = usize::from(self.me.0[0])
            .wrapping_add(epoch as usize)
            .checked_rem(n)
            .unwrap_or(0);
        let peers: Vec<P> = self
            .peers
            .keys()
            .cycle()
            .skip(offset)
            .take(SYNC_PEERS.min(n))
            .cloned()
            .collect();
        for peer in peers {
            self.push(Output::Fetch {
                peer,
                request: FetchRequest::Inventory { epoch },
            });
        }
    }

    /// At each close, folds every league's closed epochs, and hands the settled league's new
    /// ones to settlement once the node had time to catch up after its start.
    fn close_epochs(&mut self, now: u64) {
        let closed_before = self.config.schedule.closed_before(now);
        if closed_before <= self.closed_before {
            return;
        }
        self.closed_before = closed_before;
        for (i, league) in self.config.leagues.clone().into_iter().enumerate() {
            match summaries_cached(&self.log, &league, closed_before, &mut self.summaries) {
                Ok(summaries) => {
                    if i == 0 && now.saturating_sub(self.started) >= SETTLE_AFTER_MS {
                        self.hand_to_settlement(&summaries);
                    }
                    self.push(Output::EpochClosed {
                        league: league.id(),
                        summaries,
                    });
                }
                Err(e) => self.store_failed("folding closed epochs", &e),
            }
        }
    }

    /// Hands the epochs that closed while the node was catching up after its start to
    /// settlement, once the catch-up had its time.
    fn settle_after_catch_up(&mut self, now: u64) {
        if !self.config.settles
            || self.settle_sent >= self.closed_before
            || now.saturating_sub(self.started) < SETTLE_AFTER_MS
        {
            return;
        }
        let Some(league) = self.config.leagues.first().cloned() else {
            return;
        };
        match summaries_cached(&self.log, &league, self.closed_before, &mut self.summaries) {
            Ok(summaries) => self.hand_to_settlement(&summaries),
            Err(e) => self.store_failed("folding closed epochs", &e),
        }
    }

    fn hand_to_settlement(&mut self, summaries: &[EpochSummary]) {
        if !self.config.settles {
            return;
        }
        let new: Vec<EpochSummary> = summaries
            .iter()
            .filter(|s| s.epoch >= self.settle_sent)
            .cloned()
            .collect();
        self.settle_sent = self.closed_before;
        if !new.is_empty() {
            self.push(Output::Settle(new));
        }
    }

    /// Ratings and beacon for pairings in `epoch`: from the epochs closed before `epoch - 1`
    /// (certainly closed everywhere by then), the same on every node that holds the same items.
    fn pairing_inputs(&mut self, epoch: u64, league: &League) -> (Ratings, Hash32) {
        let id = league.id();
        if let Some((e, cached)) = &self.beacon_cache
            && *e == epoch
            && let Some((_, r, b)) = cached.iter().find(|(l, _, _)| *l == id)
        {
            return (r.clone(), *b);
        }
        let upto = epoch.saturating_sub(1);
        let (ratings, beacon) = match summaries_cached(&self.log, league, upto, &mut self.summaries)
        {
            Ok(s) => (
                latest_ratings(&s),
                s.last().map(|s| s.outcomes_root).unwrap_or(Hash32::ZERO),
            ),
            Err(e) => {
                // Not cached: the next draw reads the store again.
                self.store_failed("ratings for the pairing draw", &e);
                return (Ratings::default(), Hash32::ZERO);
            }
        };
        let entry = (id, ratings.clone(), beacon);
        match &mut self.beacon_cache {
            Some((e, cached)) if *e == epoch => cached.push(entry),
            _ => self.beacon_cache = Some((epoch, vec![entry])),
        }
        (ratings, beacon)
    }
}
