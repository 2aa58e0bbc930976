//! The nets libp2p behaviour: Kademlia discovery, gossip of outcomes, the match stream
//! protocol and one-shot fetches, over TCP and QUIC (and, for many nodes in one process,
//! libp2p's in-memory transport) with noise and yamux.
//!
//! This crate carries `nets-tournament` messages and holds no match logic: the daemon
//! (`netsd`) decides what to send and validates what arrives. What lives here:
//!
//! - [`Behaviour`]: Kademlia under [`KAD_PROTOCOL`] (server mode, for routing; peers learned
//!   through identify are added to it), gossipsub ([`gossip`]), identify, ping, request-response for fetches ([`fetch`]) and
//!   raw per-match streams under [`MATCH_PROTOCOL`] (framed by [`frame`]), plus a hard
//!   connection limit as a backstop to the pruning [`policy`].
//! - [`build_swarm`]: the swarm, from the node's ed25519 key (the same key signs its matches,
//!   so a player id *is* a peer id: [`peer_id_of`]).

pub mod fetch;
pub mod frame;
pub mod gossip;
pub mod policy;

use std::num::NonZeroUsize;
use std::time::Duration;

use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::identity::{self, Keypair};
use libp2p::kad::{self, store::MemoryStore};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    PeerId, StreamProtocol, Swarm, SwarmBuilder, Transport as _, identify, noise, ping, tcp, yamux,
};
use nets_tournament::identity::PlayerId;

pub use libp2p;
pub use libp2p_stream;

/// Kademlia's protocol name: a nets-only DHT, apart from the public IPFS one.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/nets/kad/1.0.0");
/// Identify's protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/nets/1.0.0";
/// The match protocol: one stream per match, frames of `nets-tournament` match messages.
pub const MATCH_PROTOCOL: StreamProtocol = StreamProtocol::new("/nets/match/1");
/// Largest frame on a match stream.
pub const MAX_MATCH_FRAME: usize = nets_tournament::node::frames::MAX_MATCH_FRAME;

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key is not a valid ed25519 secret.
    #[error("invalid node key: {0}")]
    Key(String),
    /// A transport or behaviour failed to build.
    #[error("network setup: {0}")]
    Setup(String),
}

/// How the network behaves.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Gossip timing and mesh degree.
    pub gossip: gossip::GossipConfig,
    /// Peers per Kademlia bucket (libp2p's default is 20; fewer saves memory in large networks).
    pub kbucket_size: usize,
    /// Hard limit on established connections (the pruning target is lower; see [`policy`]).
    pub max_connections: u32,
    /// Connections closed after this long without a protocol using them.
    pub idle_timeout: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            gossip: gossip::GossipConfig::default(),
            kbucket_size: 20,
            max_connections: 128,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The nets network behaviour.
// The composed libp2p behaviours implement no Debug.
#[allow(missing_debug_implementations)]
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Hard connection limits (a backstop; the node prunes before reaching them).
    pub limits: connection_limits::Behaviour,
    /// Discovery: the routing table.
    pub kad: kad::Behaviour<MemoryStore>,
    /// Outcomes, claims and evidence.
    pub gossipsub: libp2p::gossipsub::Behaviour,
    /// Learns peers' listen addresses (fed into Kademlia).
    pub identify: identify::Behaviour,
    /// Liveness.
    pub ping: ping::Behaviour,
    /// One-shot fetches.
    pub fetch: request_response::Behaviour<fetch::FetchCodec>,
    /// Raw match streams.
    pub streams: libp2p_stream::Behaviour,
}

/// The libp2p key for a node's ed25519 secret.
pub fn keypair(secret: [u8; 32]) -> Result<Keypair, Error> {
    let mut bytes = secret;
    Keypair::ed25519_from_bytes(&mut bytes).map_err(|e| Error::Key(e.to_string()))
}

/// The peer id of a player: the peer whose libp2p key is the player's ed25519 key.
pub fn peer_id_of(player: &PlayerId) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&player.0).ok()?;
    Some(identity::PublicKey::from(key).to_peer_id())
}

/// The player of a peer, if its id embeds an ed25519 key.
pub fn player_of(peer: &PeerId) -> Option<PlayerId> {
    let multihash = peer.as_ref();
    // Identity multihash of a protobuf-encoded ed25519 public key: the key is the last 32 bytes.
    let digest = multihash.digest();
    let key = identity::PublicKey::try_decode_protobuf(digest).ok()?;
    let ed = key.try_into_ed25519().ok()?;
    Some(PlayerId(ed.to_bytes()))
}

/// The behaviour for `key`.
pub fn behaviour(key: &Keypair, cfg: &NetConfig) -> Result<Behaviour, Error> {
    let peer_id = key.public().to_peer_id();
    let mut kad_cfg = kad::Config::new(KAD_PROTOCOL);
    kad_cfg
        .set_kbucket_size(NonZeroUsize::new(cfg.kbucket_size.max(1)).unwrap_or(NonZeroUsize::MIN));
    kad_cfg.set_query_timeout(Duration::from_secs(30));
    // Lookups of the 10 closest peers instead of 20: half the dials per lookup. The DHT holds
    // no records of ours (league entries travel by gossip); it routes.
    kad_cfg.set_replication_factor(NonZeroUsize::new(10).unwrap_or(NonZeroUsize::MIN));
    let store = MemoryStore::new(peer_id);
    let mut kad = kad::Behaviour::with_config(peer_id, store, kad_cfg);
    kad.set_mode(Some(kad::Mode::Server));
    let gossipsub = gossip::behaviour(cfg.gossip).map_err(Error::Setup)?;
    let identify = identify::Behaviour::new(
        identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
            .with_interval(Duration::from_secs(60)),
    );
    let fetch = request_response::Behaviour::with_codec(
        fetch::FetchCodec,
        [(fetch::PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(20)),
    );
    let limits = connection_limits::Behaviour::new(
        ConnectionLimits::default()
            .with_max_established(Some(cfg.max_connections))
            .with_max_established_per_peer(Some(2))
            .with_max_pending_outgoing(Some(cfg.max_connections / 2 + 1)),
    );
    Ok(Behaviour {
        limits,
        kad,
        gossipsub,
        identify,
        ping: ping::Behaviour::default(),
        fetch,
        streams: libp2p_stream::Behaviour::new(),
    })
}

/// A swarm over TCP, QUIC and the in-memory transport (`/memory/N` addresses, for many nodes
/// in one process) on the tokio runtime; noise and yamux on TCP and memory.
pub fn build_swarm(key: Keypair, cfg: &NetConfig) -> Result<Swarm<Behaviour>, Error> {
    let idle = cfg.idle_timeout;
    let behaviour = behaviour(&key, cfg)?;
    let swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| Error::Setup(e.to_string()))?
        .with_quic()
        .with_other_transport(|key| {
            let noise = noise::Config::new(key)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(libp2p::core::transport::MemoryTransport::default()
                .upgrade(libp2p::core::upgrade::Version::V1)
                .authenticate(noise)
                .multiplex(yamux::Config::default()))
        })
        .map_err(|e| Error::Setup(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| Error::Setup(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_and_peer_ids_correspond() {
        let kp = nets_tournament::identity::Keypair::from_secret([9; 32]);
        let lk = keypair([9; 32]).unwrap();
        let peer = lk.public().to_peer_id();
        assert_eq!(peer_id_of(&kp.id()), Some(peer));
        assert_eq!(player_of(&peer), Some(kp.id()));
        assert_eq!(player_of(&PeerId::random()), None);
    }
}
