//! The connection policy: how a node keeps its connection count bounded.
//!
//! Kademlia queries dial many peers, and gossipsub keeps a long-lived stream on every
//! connection, so connections opened by discovery never go idle and a node in a large network
//! drifts toward connecting to everyone. Refusing connections at a hard limit does not help
//! on its own: the limit applies after the noise handshake, so Kademlia keeps dialling and
//! both ends spin on handshakes. Instead the node *prunes*: when it holds more peers than its
//! target, it closes connections to the peers it needs least. Protected peers (its gossip mesh,
//! its match opponents, peers it is fetching from, its bootstrap peers while it has few
//! others) are never pruned; among the rest the most recently connected go first, so
//! long-lived connections stay and the churn of discovery is what gets cut. A hard limit at a
//! multiple of the target remains as a backstop.

use std::collections::BTreeSet;

use libp2p::PeerId;

/// One connected peer, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connected {
    /// The peer.
    pub peer: PeerId,
    /// When the first connection to it was established (any monotonic unit).
    pub since: u64,
}

/// The peers to disconnect so that at most `target` remain, sparing `protected` ones. The
/// result is deterministic: newest first, ties by peer id.
pub fn prune(connected: &[Connected], protected: &BTreeSet<PeerId>, target: usize) -> Vec<PeerId> {
    let excess = connected.len().saturating_sub(target);
    if excess == 0 {
        return Vec::new();
    }
    let mut candidates: Vec<&Connected> = connected
        .iter()
        .filter(|c| !protected.contains(&c.peer))
        .collect();
    candidates.sort_by(|x, y| y.since.cmp(&x.since).then(x.peer.cmp(&y.peer)));
    candidates
        .into_iter()
        .take(excess)
        .map(|c| c.peer)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_newest_unprotected_down_to_target() {
        let peers: Vec<PeerId> = (0..10).map(|_| PeerId::random()).collect();
        let connected: Vec<Connected> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| Connected {
                peer: *p,
                since: i as u64,
            })
            .collect();
        // Under the target: nothing.
        assert!(prune(&connected, &BTreeSet::new(), 10).is_empty());
        // Protect the two newest: the next three newest go.
        let protected: BTreeSet<PeerId> = [peers[9], peers[8]].into();
        let dropped = prune(&connected, &protected, 7);
        assert_eq!(dropped, vec![peers[7], peers[6], peers[5]]);
        // Everything protected: the target cannot be met, nothing is dropped.
        let all: BTreeSet<PeerId> = peers.iter().copied().collect();
        assert!(prune(&connected, &all, 2).is_empty());
    }
}
