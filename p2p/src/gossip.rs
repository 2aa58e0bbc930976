//! Gossip: topics, message ids and the peer scoring of the nets gossipsub.
//!
//! Five topics carry what every node must see: league entries, outcome records, timeout claims
//! with their answers, fraud evidence, and the settlement attestations of closed epochs.
//! Messages are validated by the node (signatures, replay) before gossipsub forwards them, and
//! a message's id is the hash of its bytes, so the same record published by both players is
//! one message.
//!
//! Messages are anonymous: no author, sequence number or gossipsub signature. Everything on
//! these topics carries its own signatures (players', stakers'), which the node checks anyway;
//! a gossipsub signature would only sign the same bytes again, and it is checked on every copy
//! received, before duplicates are dropped. At 100 devnet nodes, whose timeout claims carry
//! whole conversations, those checks took a tenth of the CPU.
//!
//! Scoring is tuned for a low-rate topic: an honest peer may deliver nothing for minutes, so
//! the mesh-delivery penalties (P3, P3b) are off; what costs a peer is an invalid message (P4),
//! heavily. A peer that sends a few invalid messages is gray-listed and its messages ignored.

use std::time::Duration;

use libp2p::gossipsub::{
    self, IdentTopic, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
    TopicScoreParams, ValidationMode,
};
use nets_tournament::hash::keccak256;

pub use nets_tournament::node::Topic;

/// A topic as gossipsub knows it.
pub trait GossipTopic: Sized {
    /// The gossipsub topic.
    fn ident(self) -> IdentTopic;
    /// The topic with this hash, if it is one of ours.
    fn from_hash(hash: &gossipsub::TopicHash) -> Option<Self>;
}

impl GossipTopic for Topic {
    fn ident(self) -> IdentTopic {
        IdentTopic::new(self.name())
    }

    fn from_hash(hash: &gossipsub::TopicHash) -> Option<Topic> {
        Self::ALL.into_iter().find(|t| t.ident().hash() == *hash)
    }
}

/// Largest gossip message: an outcome record or a claim (whose evidence is a whole
/// conversation) fits in the tournament core's record limit.
pub const MAX_MESSAGE: usize = nets_tournament::wire::MAX_RECORD + 1024;

/// Gossip timing and mesh size.
#[derive(Clone, Copy, Debug)]
pub struct GossipConfig {
    /// Heartbeat: mesh maintenance and gossip of message ids.
    pub heartbeat: Duration,
    /// Target mesh degree (gossipsub's D).
    pub mesh_n: usize,
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_millis(700),
            mesh_n: 6,
        }
    }
}

fn message_id(message: &gossipsub::Message) -> MessageId {
    MessageId::from(keccak256(&[&message.data]).0.to_vec())
}

/// The gossipsub behaviour: anonymous messages, manual validation, content ids, peer scoring,
/// subscribed to every topic.
pub fn behaviour(cfg: GossipConfig) -> Result<gossipsub::Behaviour, String> {
    let mesh_n = cfg.mesh_n.max(2);
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(cfg.heartbeat)
        .mesh_n(mesh_n)
        .mesh_n_low(mesh_n.saturating_sub(2).max(1))
        .mesh_n_high(mesh_n.saturating_mul(2))
        .mesh_outbound_min(1)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(MAX_MESSAGE)
        .duplicate_cache_time(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let mut gossip = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)?;
    let (params, thresholds) = scoring();
    gossip.with_peer_score(params, thresholds)?;
    for topic in Topic::ALL {
        gossip
            .subscribe(&topic.ident())
            .map_err(|e| e.to_string())?;
    }
    Ok(gossip)
}

/// Peer-score parameters for low-rate topics.
pub fn scoring() -> (PeerScoreParams, PeerScoreThresholds) {
    let mut params = PeerScoreParams::default();
    // Many peers behind one address cost each of them score (P6, against Sybils), so that more
    // than about a dozen of them would be gray-listed; nodes on the loopback address are one
    // operator's own devnet, not Sybils.
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
    for topic in Topic::ALL {
        let t = TopicScoreParams {
            topic_weight: 1.0,
            // P2: reward first deliveries a little.
            first_message_deliveries_weight: 0.5,
            first_message_deliveries_decay: 0.9,
            first_message_deliveries_cap: 50.0,
            // P3/P3b: off; silence is normal on these topics.
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            // P4: an invalid message costs a lot and is remembered for a while.
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.9,
            ..TopicScoreParams::default()
        };
        params.topics.insert(topic.ident().hash(), t);
    }
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_is_valid_and_spares_loopback_devnets() {
        let (params, thresholds) = scoring();
        params.validate().unwrap();
        thresholds.validate().unwrap();
        // With the default P6, more than a dozen devnet nodes on 127.0.0.1 would score below
        // the publish threshold, and every publish would fail for lack of peers.
        assert!(
            params
                .ip_colocation_factor_whitelist
                .contains(&std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        );
        for topic in Topic::ALL {
            let t = &params.topics[&topic.ident().hash()];
            assert!(t.invalid_message_deliveries_weight < 0.0);
            assert_eq!(t.mesh_message_deliveries_weight, 0.0);
        }
    }
}
