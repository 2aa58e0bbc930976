//! The node's Prometheus metrics, served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label set: one `kind` label (item kind, event kind).
pub type KindLabels = Vec<(String, String)>;

/// Every metric of a node.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Peers connected now.
    pub peers: Gauge,
    /// Established connections now.
    pub connections: Gauge,
    /// Connections closed by the pruning policy.
    pub pruned: Counter,
    /// Matches in flight.
    pub matches_live: Gauge,
    /// Matches started, by how they ended up: started, finished, forfeit_won, failed.
    pub matches: Family<KindLabels, Counter>,
    /// Items verified and stored, by kind.
    pub items_accepted: Family<KindLabels, Counter>,
    /// Items refused as invalid, by where they came from (gossip, fetch).
    pub items_rejected: Family<KindLabels, Counter>,
    /// Items ignored through no fault of their sender, by reason: stale, early,
    /// unknown_league, local (this node's store failed).
    pub items_ignored: Family<KindLabels, Counter>,
    /// Store operations that failed (the node keeps running on what it stored).
    pub store_failures: Counter,
    /// Gossip messages received.
    pub gossip_received: Counter,
    /// Gossip messages published.
    pub gossip_published: Counter,
    /// Gossip messages refused as invalid (gossipsub does not relay them).
    pub gossip_refused: Counter,
    /// Items fetched from peers while catching up.
    pub items_fetched: Counter,
    /// Items in the store.
    pub store_items: Gauge,
    /// The current epoch.
    pub epoch: Gauge,
    /// The last closed epoch.
    pub closed_epoch: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nets");
        let m = Self {
            peers: Gauge::default(),
            connections: Gauge::default(),
            pruned: Counter::default(),
            matches_live: Gauge::default(),
            matches: Family::default(),
            items_accepted: Family::default(),
            items_rejected: Family::default(),
            items_ignored: Family::default(),
            store_failures: Counter::default(),
            gossip_received: Counter::default(),
            gossip_published: Counter::default(),
            gossip_refused: Counter::default(),
            items_fetched: Counter::default(),
            store_items: Gauge::default(),
            epoch: Gauge::default(),
            closed_epoch: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("peers", "Peers connected", m.peers.clone());
        registry.register(
            "connections",
            "Established connections",
            m.connections.clone(),
        );
        registry.register(
            "pruned_connections",
            "Connections closed by the pruning policy",
            m.pruned.clone(),
        );
        registry.register("matches_live", "Matches in flight", m.matches_live.clone());
        registry.register("matches", "Matches by event", m.matches.clone());
        registry.register(
            "items_accepted",
            "Items verified and stored, by kind",
            m.items_accepted.clone(),
        );
        registry.register(
            "items_rejected",
            "Items refused as invalid, by source",
            m.items_rejected.clone(),
        );
        registry.register(
            "items_ignored",
            "Items ignored without penalty to the sender, by reason",
            m.items_ignored.clone(),
        );
        registry.register(
            "store_failures",
            "Store operations that failed",
            m.store_failures.clone(),
        );
        registry.register(
            "gossip_received",
            "Gossip messages received",
            m.gossip_received.clone(),
        );
        registry.register(
            "gossip_published",
            "Gossip messages published",
            m.gossip_published.clone(),
        );
        registry.register(
            "gossip_refused",
            "Gossip messages refused as invalid (not relayed)",
            m.gossip_refused.clone(),
        );
        registry.register(
            "items_fetched",
            "Items fetched from peers",
            m.items_fetched.clone(),
        );
        registry.register("store_items", "Items in the store", m.store_items.clone());
        registry.register("epoch", "The current epoch", m.epoch.clone());
        registry.register(
            "closed_epoch",
            "The last closed epoch",
            m.closed_epoch.clone(),
        );
        Self { registry, ..m }
    }
}

/// A one-label set.
pub fn kind(value: &str) -> KindLabels {
    vec![("kind".to_string(), value.to_string())]
}

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
