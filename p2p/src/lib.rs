//! The nets libp2p behaviour: Kademlia discovery, gossip of outcomes, the match stream
//! protocol and one-shot fetches, over TCP and QUIC with noise and yamux.
//!
//! This crate carries `nets-tournament` messages and holds no match logic: the daemon
//! (`netsd`) decides what to send and validates what arrives. What lives here:
//!
//! - [`Behaviour`]: Kademlia under [`KAD_PROTOCOL`] (server mode; peers learned through
//!   identify are added to it; leagues are advertised as provider records under the league
//!   id), gossipsub ([`gossip`]), identify, ping, request-response for fetches ([`fetch`]) and
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
use libp2p::kad::{self, store::MemoryStore, store::MemoryStoreConfig};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{PeerId, StreamProtocol, Swarm, SwarmBuilder, identify, noise, ping, tcp, yamux};
use nets_tournament::identity::PlayerId;

pub use libp2p;
pub use libp2p_stream;

/// Kademlia's protocol name: a nets-only DHT, apart from the public IPFS one.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/nets/kad/1.0.0");
/// Identify's protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/nets/1.0.0";
/// The match protocol: one stream per match, frames of `nets-tournament` match messages.
pub const MATCH_PROTOCOL: StreamProtocol = StreamProtocol::new("/nets/match/1");
/// Entrants of one league a node can learn from the DHT (providers kept per key). A network
/// with more entrants per league needs its league key sharded.
pub const MAX_PROVIDERS_PER_KEY: usize = 4096;
/// Largest frame on a match stream.
pub const MAX_MATCH_FRAME: usize = nets_tournament::wire::MAX_MATCH_MESSAGE + 1024;

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
    /// Discovery: routing and league provider records.
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
    // Records on (and lookups of) the 10 closest peers instead of 20: half the dials per
    // lookup, ample redundancy for provider records that are refreshed often.
    kad_cfg.set_replication_factor(NonZeroUsize::new(10).unwrap_or(NonZeroUsize::MIN));
    // Provider records of league entries expire unless refreshed; a node re-provides often.
    kad_cfg.set_provider_record_ttl(Some(Duration::from_secs(3600)));
    kad_cfg.set_provider_publication_interval(Some(Duration::from_secs(600)));
    // Every entrant of a league provides the same key, so a storing peer must keep far more
    // than Kademlia's default of 20 providers per key, and answers listing them all must fit
    // in a packet (about 80 bytes per provider).
    kad_cfg.set_max_packet_size(MAX_PROVIDERS_PER_KEY * 128);
    let store = MemoryStore::with_config(
        peer_id,
        MemoryStoreConfig {
            max_providers_per_key: MAX_PROVIDERS_PER_KEY,
            ..MemoryStoreConfig::default()
        },
    );
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

/// A swarm over TCP and QUIC (noise, yamux) on the tokio runtime.
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
        .with_behaviour(|_| behaviour)
        .map_err(|e| Error::Setup(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

/// The Kademlia key under which entrants of a league advertise themselves.
pub fn league_key(league_id: &nets_tournament::hash::Hash32) -> kad::RecordKey {
    kad::RecordKey::new(&[b"nets/league/".as_slice(), &league_id.0].concat())
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
