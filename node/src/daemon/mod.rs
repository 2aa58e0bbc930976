//! The daemon: the adapter that drives the node core ([`NodeCore`]) over the network.
//!
//! Every market rule (the schedule, entries and the draw, which invitations to accept, the
//! intake of items and its verdicts, catch-up, epoch close, the hand-off to settlement) is
//! the core's. This loop moves bytes and events between the core and the rest:
//!
//! - libp2p: gossip in and out, fetches, dials, connections and the pruning policy;
//! - match streams, each in its own task, which pass frames in and out;
//! - the agents, which think on tokio's blocking pool when the core asks for a move;
//! - the sled store, the settler's channels, the HTTP API's status snapshot and metrics.
//!
//! It reads the clock once per event and hands it to the core; it drains the core's outputs
//! after every event.

#[cfg(feature = "adversaries")]
pub mod adversary;
pub mod deviation;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::{AsyncReadExt, StreamExt};
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify};
use nets_envs::snake::SnakeGame;
use nets_p2p::gossip::{GossipTopic, Topic};
use nets_p2p::policy::{Connected, prune};
use nets_p2p::{Behaviour, BehaviourEvent, MATCH_PROTOCOL, MAX_MATCH_FRAME, frame};
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::node::frames::Frame;
use nets_tournament::node::item::Item;
use nets_tournament::node::{CoreConfig, Ignored, NodeCore, NodeEvent, Output, Verdict};
use nets_tournament::wire;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::agents::players::PlayerFactory;
use crate::agents::{AgentError, Player};
use crate::clock::now_ms;
use crate::config::Config;
use crate::daemon::deviation::{Deviation, Move};
use crate::metrics::{Metrics, kind};
use crate::rankings;
use crate::settlement::settler::{AttestationMsg, SettleIn, SettlementStatus, SettlerLink};
use crate::store::Store;

/// What the loop publishes for the API.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    /// The node's peer id.
    pub peer_id: String,
    /// Its player id (hex ed25519 key).
    pub player: String,
    /// Addresses it listens on.
    pub listen: Vec<String>,
    /// The agent it plays.
    pub agent: String,
    /// The current epoch.
    pub epoch: u64,
    /// Epochs before this one are closed.
    pub closed_before: u64,
    /// Connected peers.
    pub peers: Vec<String>,
    /// Each connected peer's gossip score (below 0: it sent invalid messages lately).
    pub peer_scores: BTreeMap<String, f64>,
    /// Leagues: id, and entrants known.
    pub leagues: Vec<LeagueStatus>,
    /// Matches in flight.
    pub matches_live: usize,
    /// The matches in flight: match id and opponent's player id (hex).
    pub live: Vec<(String, String)>,
    /// Matches finished by this node.
    pub matches_finished: u64,
    /// Items stored.
    pub items: usize,
    /// Gossip messages refused as invalid.
    pub gossip_refused: u64,
    /// Junk gossip messages published (a simulated spammer; 0 for a real node).
    pub junk_published: u64,
    /// Matches walked away from, per epoch (a simulated aborter; empty for a real node).
    pub aborted: BTreeMap<u64, u64>,
    /// Matches whose result was forged, per epoch (a simulated forger; empty for a real node).
    pub forged: BTreeMap<u64, u64>,
    /// Matches thrown to a colluder, per epoch (a simulated ring member or Sybil; empty for a
    /// real node).
    pub thrown: BTreeMap<u64, u64>,
    /// Settlement, if the node settles.
    pub settlement: Option<crate::settlement::settler::SettlementStatus>,
}

/// A league as the status shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LeagueStatus {
    /// League id, hex.
    pub id: String,
    /// Environment, human-readable.
    pub env: String,
    /// Tier.
    pub tier: u8,
    /// Entrants of the current epoch (player ids, hex), this node included if it entered.
    pub entrants: Vec<String>,
}

/// Inputs from the stream tasks (a handful per match: size does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum NetIn {
    /// An incoming stream was accepted.
    Opened {
        link: u64,
        peer: PeerId,
        tx: mpsc::Sender<Vec<u8>>,
    },
    Frame {
        link: u64,
        frame: Frame,
    },
    Closed {
        link: u64,
    },
}

/// An agent's answer.
struct AgentDone {
    match_id: Hash32,
    turn: u32,
    player: Box<dyn Player + Send>,
    result: Result<u8, AgentError>,
}

/// The agent of a match in flight: out while it thinks.
struct Seat {
    player: Option<Box<dyn Player + Send>>,
}

/// The resources a node runs with: its key, configuration, store, agent and metrics.
#[derive(Debug)]
pub struct NodeParts {
    /// The node's ed25519 key (player and peer identity).
    pub key: Keypair,
    /// The configuration.
    pub config: Config,
    /// The store.
    pub store: Store,
    /// The agent.
    pub players: PlayerFactory,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The settler's channels, if the node settles.
    pub settler: Option<SettlerLink>,
    /// A simulated adversary's deviation from the core's outputs; `None` for a real node.
    pub deviation: Option<Box<dyn Deviation>>,
}

/// What a started node hands back.
#[derive(Debug)]
pub struct NodeHandle {
    /// The node's peer id.
    pub peer_id: PeerId,
    /// Status updates.
    pub status: watch::Receiver<Status>,
    /// The loop's task.
    pub task: tokio::task::JoinHandle<Result<()>>,
}

/// Frames queued to a match stream.
const LINK_QUEUE: usize = 64;
/// Inputs queued from all streams to the loop.
const NET_QUEUE: usize = 1024;
/// Agent answers queued to the loop.
const AGENT_QUEUE: usize = 256;
/// The loop ticks at least this often (match deadlines, pruning, status).
const TICK_MS: u64 = 50;

/// Starts a node on the current tokio runtime; it runs until `shutdown` is cancelled.
pub async fn start(parts: NodeParts, shutdown: CancellationToken) -> Result<NodeHandle> {
    let libp2p_key = nets_p2p::keypair(parts.key.secret())?;
    let net_cfg = nets_p2p::NetConfig {
        max_connections: parts.config.network.max_connections,
        kbucket_size: parts.config.network.kbucket_size,
        ..nets_p2p::NetConfig::default()
    };
    let mut swarm = nets_p2p::build_swarm(libp2p_key, &net_cfg)?;
    let peer_id = *swarm.local_peer_id();
    for addr in &parts.config.network.listen {
        let addr: Multiaddr = addr
            .parse()
            .with_context(|| format!("network.listen: bad multiaddr {addr:?}"))?;
        swarm
            .listen_on(addr.clone())
            .with_context(|| format!("cannot listen on {addr}"))?;
    }
    let mut bootstrap = Vec::new();
    for addr in &parts.config.network.bootstrap {
        let addr: Multiaddr = addr
            .parse()
            .with_context(|| format!("network.bootstrap: bad multiaddr {addr:?}"))?;
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            anyhow::bail!("network.bootstrap: {addr} does not end in /p2p/<peer id>");
        };
        bootstrap.push((peer, addr));
    }
    let core_config = CoreConfig {
        schedule: parts.config.schedule,
        leagues: parts.config.leagues()?,
        enter: parts.config.play.enter,
        max_matches: parts.config.play.max_matches,
        settles: parts.settler.is_some(),
        bootstrap: !bootstrap.is_empty(),
    };
    let me = parts.key.id();
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let core = NodeCore::new(
        now_ms(),
        Keypair::from_secret(parts.key.secret()),
        seed,
        core_config,
        parts.store.clone(),
    );
    let (status_tx, status_rx) = watch::channel(Status::default());
    let (net_tx, net_rx) = mpsc::channel(NET_QUEUE);
    let (agent_tx, agent_rx) = mpsc::channel(AGENT_QUEUE);
    let control = swarm.behaviour().streams.new_control();
    let (settle_tx, publish_rx, settle_status) = match parts.settler {
        Some(link) => (Some(link.input), Some(link.publish), Some(link.status)),
        None => (None, None, None),
    };
    let node = Node {
        core,
        settle_tx,
        settle_status,
        me,
        peer_id,
        config: parts.config,
        store: parts.store,
        players: parts.players,
        metrics: parts.metrics,
        swarm,
        control,
        bootstrap,
        status: status_tx,
        net_tx,
        agent_tx,
        seats: BTreeMap::new(),
        links: BTreeMap::new(),
        listen: Vec::new(),
        pending_fetch: BTreeMap::new(),
        deviation: parts.deviation,
        last_prune: 0,
        last_status: 0,
    };
    let task = tokio::spawn(node.run(net_rx, agent_rx, publish_rx, shutdown));
    Ok(NodeHandle {
        peer_id,
        status: status_rx,
        task,
    })
}

struct Node {
    /// Every decision the node makes.
    core: NodeCore<PeerId, Store>,
    me: PlayerId,
    peer_id: PeerId,
    config: Config,
    store: Store,
    players: PlayerFactory,
    metrics: Arc<Metrics>,
    swarm: Swarm<Behaviour>,
    control: libp2p_stream::Control,
    bootstrap: Vec<(PeerId, Multiaddr)>,
    status: watch::Sender<Status>,
    net_tx: mpsc::Sender<NetIn>,
    agent_tx: mpsc::Sender<AgentDone>,
    /// The agents of the matches in flight.
    seats: BTreeMap<Hash32, Seat>,
    /// Open match links: the peer, and the queue of frames to it (dropping it closes the
    /// link once the queue is sent).
    links: BTreeMap<u64, (PeerId, mpsc::Sender<Vec<u8>>)>,
    listen: Vec<Multiaddr>,
    pending_fetch: BTreeMap<OutboundRequestId, PeerId>,
    last_prune: u64,
    /// A simulated adversary's deviation; `None` for a real node.
    deviation: Option<Box<dyn Deviation>>,
    last_status: u64,
    /// Into the settler, if the node settles.
    settle_tx: Option<mpsc::Sender<SettleIn>>,
    settle_status: Option<watch::Receiver<SettlementStatus>>,
}

impl Node {
    async fn run(
        mut self,
        mut net_rx: mpsc::Receiver<NetIn>,
        mut agent_rx: mpsc::Receiver<AgentDone>,
        mut publish_rx: Option<mpsc::Receiver<Vec<u8>>>,
        shutdown: CancellationToken,
    ) -> Result<()> {
        // The bootstrap list is dialled (and added to Kademlia) when the core asks, at the
        // first tick and whenever the node is left without peers.
        self.accept_streams()?;
        // Peers remembered from an earlier run.
        if let Ok(book) = self.store.peers() {
            for (peer, addrs) in book {
                if let Ok(peer) = PeerId::from_bytes(&peer) {
                    for a in addrs.iter().filter_map(|a| a.parse::<Multiaddr>().ok()) {
                        self.swarm.behaviour_mut().kad.add_address(&peer, a);
                    }
                }
            }
        }
        match self.store.matches() {
            Ok(stale) => {
                for header in stale {
                    tracing::warn!(
                        match_id = %hex::encode(header.match_id().0),
                        "a match was in flight when the node stopped; it cannot resume"
                    );
                    let _ = self.store.remove_match(&header.match_id());
                }
            }
            Err(e) => tracing::error!("reading matches in flight: {e}"),
        }
        tracing::info!(peer_id = %self.peer_id, agent = %self.players.spec(), "node started");
        let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                event = self.swarm.select_next_some() => self.on_swarm(event),
                Some(input) = net_rx.recv() => self.on_net(input),
                Some(done) = agent_rx.recv() => self.on_agent(done),
                Some(bytes) = async {
                    match publish_rx.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => self.publish_attestation(bytes),
                _ = tick.tick() => self.on_tick(),
            }
            self.drain();
        }
        tracing::info!("shutting down");
        self.store.flush()?;
        Ok(())
    }

    fn accept_streams(&mut self) -> Result<()> {
        let mut incoming = self
            .control
            .accept(MATCH_PROTOCOL)
            .map_err(|e| anyhow::anyhow!("match protocol: {e}"))?;
        let net_tx = self.net_tx.clone();
        let first_link = u64::MAX / 2;
        tokio::spawn(async move {
            let mut link = first_link;
            while let Some((peer, stream)) = incoming.next().await {
                link += 1;
                let (tx, rx) = mpsc::channel(LINK_QUEUE);
                if net_tx.send(NetIn::Opened { link, peer, tx }).await.is_err() {
                    break;
                }
                tokio::spawn(run_link(link, peer, stream, rx, net_tx.clone()));
            }
        });
        Ok(())
    }

    // ---- the core's outputs ----

    /// Carries out what the core decided.
    fn drain(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::DialBootstrap => {
                    for (peer, addr) in self.bootstrap.clone() {
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .add_address(&peer, addr.clone());
                        if let Err(e) = self.swarm.dial(addr.clone()) {
                            tracing::warn!(%addr, "cannot dial bootstrap peer: {e}");
                        }
                    }
                }
                Output::JoinDht => {
                    if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
                        tracing::debug!("kademlia bootstrap: {e}");
                    }
                }
                Output::Publish { topic, bytes } => {
                    match self
                        .swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(topic.ident(), bytes.clone())
                    {
                        Ok(_) | Err(gossipsub::PublishError::Duplicate) => {
                            self.metrics.gossip_published.inc();
                        }
                        Err(e) => {
                            // Peers fetch it after the epoch's close if gossip cannot carry it
                            // now; the core tries its entries again.
                            tracing::debug!("gossip on {}: {e}", topic.name());
                            self.core.handle_publish_failed(now_ms(), &bytes);
                        }
                    }
                }
                Output::Fetch { peer, request } => {
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .fetch
                        .send_request(&peer, wire::encode(&request));
                    self.pending_fetch.insert(id, peer);
                }
                Output::OpenLink { link, to, contacts } => self.open_link(link, &to, &contacts),
                Output::SendFrame { link, frame } => {
                    let frame = match self.deviation.as_mut() {
                        Some(d) => d.frame(&self.core, frame),
                        None => frame,
                    };
                    if let Some((_, tx)) = self.links.get(&link) {
                        // A full queue drops the frame; the match protocol retransmits.
                        let _ = tx.try_send(wire::encode(&frame));
                    }
                }
                // Dropping the sender closes the link once its queue is sent.
                Output::CloseLink(link) => drop(self.links.remove(&link)),
                Output::Think {
                    match_id,
                    turn,
                    seat,
                    game,
                } => self.think(match_id, turn, seat, *game),
                Output::MatchStarted {
                    header,
                    seat,
                    agent_seed,
                } => {
                    let match_id = header.match_id();
                    if let Err(e) = self.store.put_match(&header) {
                        self.metrics.store_failures.inc();
                        tracing::error!("store: {e}");
                    }
                    let name = hex::encode(&match_id.0[..8]);
                    let player = self.players.player(agent_seed, usize::from(seat), &name);
                    self.seats.insert(
                        match_id,
                        Seat {
                            player: Some(player),
                        },
                    );
                }
                Output::MatchEnded { match_id } => {
                    self.seats.remove(&match_id);
                    if let Err(e) = self.store.remove_match(&match_id) {
                        self.metrics.store_failures.inc();
                        tracing::error!("store: {e}");
                    }
                }
                Output::EpochClosed { league, summaries } => {
                    self.metrics
                        .closed_epoch
                        .set(i64::try_from(self.core.closed_before()).unwrap_or(i64::MAX) - 1);
                    if let Some(last) = summaries.last() {
                        let t = rankings::table(&league, last);
                        tracing::info!(
                            epoch = t.epoch,
                            outcomes_root = %&t.outcomes_root[..16],
                            players = t.rows.len(),
                            "epoch closed"
                        );
                        let bytes = nets_tournament::rating::canonical_bytes(&last.ratings);
                        if let Err(e) = self.store.put_ratings(&league, last.epoch, &bytes) {
                            self.metrics.store_failures.inc();
                            tracing::error!("storing ratings: {e}");
                        }
                    }
                }
                Output::Settle(summaries) => {
                    let first = summaries.first().map_or(0, |s| s.epoch);
                    let sent = self
                        .settle_tx
                        .as_ref()
                        .is_some_and(|tx| tx.try_send(SettleIn::Closed(summaries)).is_ok());
                    if !sent {
                        tracing::warn!("the settler is not keeping up");
                        self.core.handle_settlement_busy(first);
                    }
                }
                Output::Event(event) => self.on_core_event(event),
            }
        }
    }

    fn on_core_event(&mut self, event: NodeEvent) {
        match event {
            NodeEvent::Entered { league, epoch } => {
                tracing::info!(epoch, league = %short(&league), "entered");
            }
            NodeEvent::LateEntry { epoch, player } => {
                tracing::info!(epoch, ?player, "an entry came after the cutoff");
            }
            NodeEvent::RoundSkipped { epoch, round } => {
                tracing::info!(epoch, round, "skipping a round: too many matches in flight");
            }
            NodeEvent::Match { match_id, what } => {
                self.metrics.matches.get_or_create(&kind(what)).inc();
                tracing::info!(match_id = %short(&match_id), "match {what}");
            }
            NodeEvent::SilentLink => {
                self.metrics
                    .matches
                    .get_or_create(&kind("silent_link"))
                    .inc();
                tracing::info!("closed a match link that carried no invitation in time");
            }
            NodeEvent::StoreFailed { doing, error } => {
                self.metrics.store_failures.inc();
                tracing::error!("store failed while {doing}: {error}");
            }
            other => tracing::debug!(?other, "node event"),
        }
    }

    // ---- time ----

    fn on_tick(&mut self) {
        let now = now_ms();
        let epoch = self.config.schedule.epoch_at(now);
        self.metrics
            .epoch
            .set(i64::try_from(epoch).unwrap_or(i64::MAX));
        self.core.handle_tick(now);
        self.metrics
            .matches_live
            .set(self.core.live_matches() as i64);
        if now.saturating_sub(self.last_prune) >= 500 {
            self.last_prune = now;
            self.prune_connections();
        }
        self.spam();
        if now.saturating_sub(self.last_status) >= 500 {
            self.last_status = now;
            self.publish_status(epoch);
        }
    }

    /// Gossip a simulated adversary adds at a tick.
    fn spam(&mut self) {
        let Some(d) = self.deviation.as_mut() else {
            return;
        };
        for (topic, bytes) in d.tick(self.core.peers().count()) {
            let sent = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .publish(topic.ident(), bytes)
                .is_ok();
            d.published(sent);
            if sent {
                self.metrics.gossip_published.inc();
            }
        }
    }

    fn prune_connections(&mut self) {
        let mut protected: BTreeSet<PeerId> = self
            .swarm
            .behaviour()
            .gossipsub
            .all_mesh_peers()
            .copied()
            .collect();
        protected.extend(self.links.values().map(|(p, _)| *p));
        protected.extend(self.pending_fetch.values().copied());
        protected.extend(self.bootstrap.iter().map(|(p, _)| *p));
        let connected: Vec<Connected> = self
            .core
            .peers()
            .map(|(peer, since)| Connected {
                peer: *peer,
                since: *since,
            })
            .collect();
        for peer in prune(&connected, &protected, self.config.network.target_peers) {
            tracing::debug!(%peer, "pruning connection");
            self.metrics.pruned.inc();
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Opens a match link to `to` for the core, dialling the contacts its entry carries
    /// unless connected or dialling already (the stream waits for the connection).
    fn open_link(&mut self, link: u64, to: &PlayerId, contacts: &[String]) {
        let Some(peer) = nets_p2p::peer_id_of(to) else {
            self.core.handle_link_closed(link);
            return;
        };
        let addrs: Vec<Multiaddr> = contacts.iter().filter_map(|a| a.parse().ok()).collect();
        if !self.core.peers().any(|(p, _)| *p == peer) && !addrs.is_empty() {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, "dialling an opponent: {e}");
            }
        }
        let (tx, rx) = mpsc::channel(LINK_QUEUE);
        let mut control = self.control.clone();
        let net_tx = self.net_tx.clone();
        tokio::spawn(async move {
            match control.open_stream(peer, MATCH_PROTOCOL).await {
                Ok(stream) => run_link(link, peer, stream, rx, net_tx).await,
                Err(e) => {
                    tracing::info!(%peer, "cannot open a match stream: {e}");
                    let _ = net_tx.send(NetIn::Closed { link }).await;
                }
            }
        });
        self.links.insert(link, (peer, tx));
    }

    /// Gossips an attestation the settler made.
    fn publish_attestation(&mut self, bytes: Vec<u8>) {
        let topic = Topic::Attestations.ident();
        match self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
            Ok(_) => {
                self.metrics.gossip_published.inc();
            }
            Err(e) => tracing::debug!("gossip of our attestation: {e}"),
        }
    }

    /// Checks an attestation from gossip and hands it to the settler.
    fn accept_attestation(&mut self, bytes: &[u8]) -> Verdict {
        let msg = match AttestationMsg::from_bytes(bytes) {
            Ok(msg) => msg,
            Err(e) => return Verdict::Invalid(format!("malformed attestation: {e}")),
        };
        if let Err(e) = msg.check() {
            return Verdict::Invalid(format!("attestation: {e}"));
        }
        if let Some(tx) = &self.settle_tx {
            let _ = tx.try_send(SettleIn::Attestation(msg));
        }
        Verdict::Accepted { new: true }
    }

    fn publish_status(&mut self, epoch: u64) {
        let leagues = self
            .core
            .config()
            .leagues
            .iter()
            .map(|l| LeagueStatus {
                id: hex::encode(l.id().0),
                env: format!("{:?}", l.env),
                tier: l.tier,
                entrants: self
                    .core
                    .entrants(&l.id(), epoch)
                    .iter()
                    .map(|p| hex::encode(p.0))
                    .collect(),
            })
            .collect();
        let items = self.store.item_count();
        self.metrics.store_items.set(items as i64);
        let deviated = self
            .deviation
            .as_ref()
            .map(|d| d.report())
            .unwrap_or_default();
        let status = Status {
            peer_id: self.peer_id.to_string(),
            player: hex::encode(self.me.0),
            listen: self.listen.iter().map(|a| a.to_string()).collect(),
            agent: self.players.spec().to_string(),
            epoch,
            closed_before: self.core.closed_before(),
            peers: self.core.peers().map(|(p, _)| p.to_string()).collect(),
            peer_scores: self
                .core
                .peers()
                .filter_map(|(p, _)| {
                    let score = self.swarm.behaviour().gossipsub.peer_score(p)?;
                    Some((p.to_string(), score))
                })
                .collect(),
            leagues,
            matches_live: self.core.live_matches(),
            live: self
                .core
                .live()
                .iter()
                .map(|(id, opponent)| (hex::encode(id.0), hex::encode(opponent.0)))
                .collect(),
            matches_finished: self.core.finished(),
            items,
            gossip_refused: self.metrics.gossip_refused.get(),
            junk_published: deviated.junk_published,
            aborted: deviated.aborted,
            forged: deviated.forged,
            thrown: deviated.thrown,
            settlement: self.settle_status.as_ref().map(|s| s.borrow().clone()),
        };
        self.status.send_replace(status);
    }

    // ---- matches ----

    /// Asks the match's agent for a move, on tokio's blocking pool.
    fn think(&mut self, match_id: Hash32, turn: u32, seat: u8, game: SnakeGame) {
        if let Some(d) = self.deviation.as_mut() {
            match d.think(&self.core, match_id, seat, &game) {
                Move::Agent => {}
                Move::Play(code) => return self.core.handle_move(now_ms(), match_id, turn, code),
                Move::Withhold => return,
            }
        }
        let Some(player) = self.seats.get_mut(&match_id).and_then(|s| s.player.take()) else {
            return;
        };
        let tx = self.agent_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = player_choose(player, &game, seat, match_id, turn);
            let _ = tx.blocking_send(result);
        });
    }

    fn on_agent(&mut self, done: AgentDone) {
        let now = now_ms();
        if let Some(seat) = self.seats.get_mut(&done.match_id) {
            seat.player = Some(done.player);
        }
        match done.result {
            Ok(code) => self.core.handle_move(now, done.match_id, done.turn, code),
            Err(e) => {
                // No move: the opponent will claim a timeout, and this node forfeits.
                tracing::warn!(match_id = %short(&done.match_id), "agent failed: {e}");
                self.core.handle_agent_failed(done.match_id);
            }
        }
    }

    fn on_net(&mut self, input: NetIn) {
        let now = now_ms();
        match input {
            NetIn::Opened { link, peer, tx } => match nets_p2p::player_of(&peer) {
                Some(player) => {
                    self.links.insert(link, (peer, tx));
                    self.core.handle_link_opened(now, link, player);
                }
                // A peer whose key is no player's: the link is dropped, and closes.
                None => drop(tx),
            },
            NetIn::Frame { link, frame } => self.core.handle_frame(now, link, frame),
            NetIn::Closed { link } => {
                self.links.remove(&link);
                self.core.handle_link_closed(link);
            }
        }
    }
}

impl Node {
    /// Counts an intake verdict in the metrics.
    fn count_verdict(&mut self, source: &str, verdict: &Verdict, item: Option<&Item>) {
        match verdict {
            Verdict::Accepted { new: true } => {
                if let Some(item) = item {
                    self.metrics
                        .items_accepted
                        .get_or_create(&kind(item.kind()))
                        .inc();
                }
            }
            Verdict::Accepted { new: false } => {}
            Verdict::Invalid(_) => {
                self.metrics
                    .items_rejected
                    .get_or_create(&kind(source))
                    .inc();
            }
            Verdict::Ignored(why) => {
                let reason = match why {
                    Ignored::Stale { .. } => "stale",
                    Ignored::Early { .. } => "early",
                    Ignored::UnknownLeague => "unknown_league",
                    Ignored::Local(_) => {
                        self.metrics.store_failures.inc();
                        "local"
                    }
                    _ => "other",
                };
                self.metrics
                    .items_ignored
                    .get_or_create(&kind(reason))
                    .inc();
            }
        }
    }

    // ---- network events ----

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                self.listen.push(address);
                self.core.handle_listening(
                    self.listen
                        .iter()
                        .filter(|a| !is_unspecified(a))
                        .map(|a| a.to_string())
                        .collect(),
                );
                // Published at the next tick, for whoever waits to dial this node.
                self.last_status = 0;
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                self.core.handle_peer_connected(now_ms(), peer_id);
                self.metrics.peers.set(self.core.peers().count() as i64);
                self.metrics.connections.inc();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                self.metrics.connections.dec();
                if num_established == 0 {
                    self.core.handle_peer_gone(now_ms(), &peer_id);
                    self.metrics.peers.set(self.core.peers().count() as i64);
                }
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour(event),
            _ => {}
        }
    }

    fn on_behaviour(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                self.metrics.gossip_received.inc();
                let verdict = match Topic::from_hash(&message.topic) {
                    Some(Topic::Attestations) => self.accept_attestation(&message.data),
                    Some(topic) => {
                        let intake = self.core.handle_gossip(now_ms(), topic, &message.data);
                        self.count_verdict("gossip", &intake.verdict, intake.item.as_ref());
                        intake.verdict
                    }
                    None => Verdict::Invalid("not a topic of this network".into()),
                };
                let acceptance = match verdict {
                    Verdict::Accepted { .. } => MessageAcceptance::Accept,
                    Verdict::Invalid(reason) => {
                        self.metrics.gossip_refused.inc();
                        tracing::info!(peer = %propagation_source, "refused gossip: {reason}");
                        MessageAcceptance::Reject
                    }
                    Verdict::Ignored(why) => {
                        tracing::debug!(peer = %propagation_source, ?why, "ignored gossip");
                        MessageAcceptance::Ignore
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let addrs: Vec<Multiaddr> = info
                    .listen_addrs
                    .into_iter()
                    .filter(|a| !is_unspecified(a))
                    .collect();
                for addr in &addrs {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, addr.clone());
                }
                let strings: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                let _ = self.store.put_peer(&peer_id.to_bytes(), &strings);
            }
            BehaviourEvent::Fetch(request_response::Event::Message { peer, message, .. }) => {
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => {
                        let response = self.core.answer_fetch(&request);
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .fetch
                            .send_response(channel, wire::encode(&response));
                    }
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => {
                        self.pending_fetch.remove(&request_id);
                        let items = self.core.handle_fetch_response(now_ms(), peer, &response);
                        for item in &items {
                            self.metrics.items_fetched.inc();
                            self.metrics
                                .items_accepted
                                .get_or_create(&kind(item.kind()))
                                .inc();
                        }
                    }
                }
            }
            BehaviourEvent::Fetch(request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            }) => {
                self.pending_fetch.remove(&request_id);
                tracing::debug!(%peer, "fetch failed: {error}");
            }
            _ => {}
        }
    }
}

/// Runs an agent on a position: its answer, with the agent handed back.
fn player_choose(
    mut player: Box<dyn Player + Send>,
    game: &SnakeGame,
    seat: u8,
    match_id: Hash32,
    turn: u32,
) -> AgentDone {
    let result = player.choose(game, usize::from(seat)).map(|d| d.code());
    AgentDone {
        match_id,
        turn,
        player,
        result,
    }
}

/// Whether an address is 0.0.0.0 or :: (useless to others).
fn is_unspecified(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

fn short(id: &Hash32) -> String {
    hex::encode(&id.0[..6])
}

/// One match stream: frames in to the loop, frames out from the loop's queue.
async fn run_link(
    link: u64,
    peer: PeerId,
    stream: libp2p::Stream,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    net_tx: mpsc::Sender<NetIn>,
) {
    let (mut reader, mut writer) = stream.split();
    let reading = async {
        loop {
            match frame::read_frame(&mut reader, MAX_MATCH_FRAME).await {
                Ok(Some(bytes)) => match wire::decode::<Frame>(&bytes, MAX_MATCH_FRAME) {
                    Ok(frame) => {
                        if net_tx.send(NetIn::Frame { link, frame }).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::info!(%peer, "malformed match frame: {e}");
                        break;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%peer, "match stream: {e}");
                    break;
                }
            }
        }
    };
    let writing = async {
        while let Some(bytes) = outgoing.recv().await {
            if frame::write_frame(&mut writer, &bytes).await.is_err() {
                break;
            }
        }
        let _ = futures::AsyncWriteExt::close(&mut writer).await;
    };
    tokio::select! {
        _ = reading => {},
        _ = writing => {},
    }
    let _ = net_tx.send(NetIn::Closed { link }).await;
}
