//! The modelled network: a gossip mesh over links with their own latency, loss, partitions
//! that heal, and nodes that go offline. Its state is a pure function of virtual time (the
//! partition schedule and each node's offline intervals are known in advance), so the spread
//! of each gossip message can be computed on its own, in parallel, and still be reproducible.
//!
//! # Gossip
//! Modelled after gossipsub: every node keeps a mesh of about `D` peers. A node that receives
//! a message for the first time validates it (`validate_ms`) and, if valid, forwards it to
//! every mesh peer but the one it came from (eager push); an invalid message is dropped and
//! counts against the peer that sent it. A lost transmission is repaired at the receiver's
//! next heartbeat by the lazy IHAVE/IWANT exchange (three link crossings), if some mesh peer
//! has the message. [`Network::spread`] runs this as a Dijkstra search over arrival times from
//! the publishers; each link's draws (jitter, loss) come from a counter-based hash of the
//! message's seed, so the result does not depend on evaluation order. Nodes cut off by a
//! partition or offline are reported as unreached; the simulator delivers to them when they
//! reconnect (a sync by request-response in a real node).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::scenario::NetworkConfig;

/// A cheap, good 64-bit mix (SplitMix64's finaliser): hashes counters into random words.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `mix` of several words.
pub fn mix_all(words: &[u64]) -> u64 {
    words.iter().fold(0x5EED, |acc, w| mix(acc ^ mix(*w)))
}

/// A uniform draw in `0..n` from a hash word (`n = 0` gives 0).
pub fn below(word: u64, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    ((u128::from(word) * u128::from(n)) >> 64) as u64
}

/// Whether a hash word falls under probability `p`.
pub fn chance(word: u64, p: f64) -> bool {
    // 53 random bits against p: exact for the probabilities of scenario files.
    ((word >> 11) as f64) < p * (1u64 << 53) as f64
}

/// A half-open interval of virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First instant inside.
    pub from: u64,
    /// First instant after.
    pub to: u64,
}

impl Span {
    /// Whether `t` lies inside.
    pub fn contains(&self, t: u64) -> bool {
        self.from <= t && t < self.to
    }
}

/// What one gossip message did.
#[derive(Clone, Debug, Default)]
pub struct Spread {
    /// Nodes that did not receive it (partitioned away, offline, or not yet joined), sorted.
    pub unreached: Vec<u32>,
    /// Arrival per reached node that is not a publisher: `(node, time)`, by node.
    pub arrivals: Vec<(u32, u64)>,
    /// Full-message transmissions (eager pushes and lazy repairs).
    pub transmissions: u64,
    /// Deliveries repaired by IHAVE/IWANT.
    pub repaired: u64,
}

/// The network.
#[derive(Clone, Debug)]
pub struct Network {
    cfg: NetworkConfig,
    seed: u64,
    mesh: Vec<Vec<u32>>,
    /// Per node: when it is part of the network (joined, not left) and not crashed.
    offline: Vec<Vec<Span>>,
    present: Vec<Span>,
    partitions: Vec<(Span, f64, u64)>,
    /// Directed links a receiver has pruned (`(from, to)`): the spammer's messages stop there.
    pruned: std::collections::BTreeSet<(u32, u32)>,
}

impl Network {
    /// An empty network.
    pub fn new(cfg: NetworkConfig, seed: u64) -> Self {
        let partitions = cfg
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    Span {
                        from: p.start_ms,
                        to: p.start_ms.saturating_add(p.duration_ms),
                    },
                    p.fraction,
                    mix_all(&[seed, 0x9A, i as u64]),
                )
            })
            .collect();
        Self {
            cfg,
            seed,
            mesh: Vec::new(),
            offline: Vec::new(),
            present: Vec::new(),
            partitions,
            pruned: Default::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    /// Nodes known (joined at some time).
    pub fn len(&self) -> usize {
        self.mesh.len()
    }

    /// Whether no node joined yet.
    pub fn is_empty(&self) -> bool {
        self.mesh.is_empty()
    }

    /// Adds node `len()` at time `now`, grafting it to about `D/2` random present peers (it
    /// receives the other half of its degree from later joiners), and returns its index.
    pub fn join(&mut self, now: u64) -> u32 {
        let me = u32::try_from(self.mesh.len()).unwrap_or(u32::MAX);
        self.mesh.push(Vec::new());
        self.offline.push(Vec::new());
        self.present.push(Span {
            from: now,
            to: u64::MAX,
        });
        let candidates: Vec<u32> = (0..me).filter(|&n| self.is_online(n, now)).collect();
        let want = self.cfg.mesh_degree.div_ceil(2).min(candidates.len());
        let mut k = 0u64;
        while self.mesh.get(me as usize).map_or(0, Vec::len) < want {
            let pick = below(
                mix_all(&[self.seed, 0x61, u64::from(me), k]),
                candidates.len() as u64,
            );
            k = k.saturating_add(1);
            let Some(&peer) = candidates.get(pick as usize) else {
                break;
            };
            self.link(me, peer);
            if k > 64 * want as u64 {
                break;
            }
        }
        me
    }

    fn link(&mut self, a: u32, b: u32) {
        if a == b {
            return;
        }
        if let Some(m) = self.mesh.get_mut(a as usize)
            && !m.contains(&b)
        {
            m.push(b);
            m.sort_unstable();
        }
        if let Some(m) = self.mesh.get_mut(b as usize)
            && !m.contains(&a)
        {
            m.push(a);
            m.sort_unstable();
        }
    }

    /// Node `n` leaves for good at `now`; its mesh peers graft a replacement each.
    pub fn leave(&mut self, n: u32, now: u64) {
        if let Some(p) = self.present.get_mut(n as usize) {
            p.to = p.to.min(now);
        }
        let peers = self.mesh.get(n as usize).cloned().unwrap_or_default();
        for peer in peers {
            if let Some(m) = self.mesh.get_mut(peer as usize) {
                m.retain(|&x| x != n);
            }
            if self.is_online(peer, now) {
                let total = self.mesh.len() as u64;
                for k in 0..16u64 {
                    let cand = below(
                        mix_all(&[self.seed, 0x62, u64::from(peer), u64::from(n), k]),
                        total,
                    ) as u32;
                    if cand != peer && self.is_online(cand, now) {
                        self.link(peer, cand);
                        break;
                    }
                }
            }
        }
        if let Some(m) = self.mesh.get_mut(n as usize) {
            m.clear();
        }
    }

    /// Node `n` is down during `span` (a crash and restart).
    pub fn crash(&mut self, n: u32, span: Span) {
        if let Some(o) = self.offline.get_mut(n as usize) {
            o.push(span);
        }
    }

    /// `to` prunes `from` from its mesh (too many invalid messages).
    pub fn prune(&mut self, from: u32, to: u32) {
        self.pruned.insert((from, to));
    }

    /// Whether `to` has pruned `from`.
    pub fn is_pruned(&self, from: u32, to: u32) -> bool {
        self.pruned.contains(&(from, to))
    }

    /// Whether node `n` is up at `t`.
    pub fn is_online(&self, n: u32, t: u64) -> bool {
        self.present.get(n as usize).is_some_and(|p| p.contains(t))
            && !self
                .offline
                .get(n as usize)
                .is_some_and(|o| o.iter().any(|s| s.contains(t)))
    }

    /// When node `n` is next up at or after `t` (`None`: never again).
    pub fn next_online(&self, n: u32, t: u64) -> Option<u64> {
        let p = self.present.get(n as usize)?;
        let mut at = t.max(p.from);
        // Crash spans may chain; a few passes settle it.
        for _ in 0..8 {
            if let Some(s) = self
                .offline
                .get(n as usize)
                .and_then(|o| o.iter().find(|s| s.contains(at)))
            {
                at = s.to;
            } else {
                break;
            }
        }
        p.contains(at).then_some(at)
    }

    /// Which side of each active partition node `n` is on at `t`, as a bit set.
    pub fn side(&self, n: u32, t: u64) -> u64 {
        let mut bits = 0u64;
        for (i, (span, fraction, salt)) in self.partitions.iter().enumerate().take(64) {
            if span.contains(t) && chance(mix_all(&[*salt, u64::from(n)]), *fraction) {
                bits |= 1 << i;
            }
        }
        bits
    }

    /// The partition spans, for the simulator (heals trigger syncs).
    pub fn partition_spans(&self) -> Vec<Span> {
        self.partitions.iter().map(|p| p.0).collect()
    }

    /// Whether `a` can reach `b` directly at `t`.
    pub fn connected(&self, a: u32, b: u32, t: u64) -> bool {
        self.is_online(a, t) && self.is_online(b, t) && self.side(a, t) == self.side(b, t)
    }

    /// The base latency of the link between `a` and `b` (symmetric, drawn once per link).
    pub fn base_latency(&self, a: u32, b: u32) -> u64 {
        let (lo, hi) = (a.min(b), a.max(b));
        let span = self
            .cfg
            .latency_max_ms
            .saturating_sub(self.cfg.latency_min_ms)
            .saturating_add(1);
        self.cfg.latency_min_ms.saturating_add(below(
            mix_all(&[self.seed, 0x1A, u64::from(lo), u64::from(hi)]),
            span,
        ))
    }

    /// One transmission from `a` to `b` sent at `t` (draw `k` of stream `salt`): its arrival
    /// time, or `None` if lost or cut.
    pub fn transmit(&self, a: u32, b: u32, t: u64, salt: u64, k: u64) -> Option<u64> {
        if !self.connected(a, b, t) {
            return None;
        }
        self.transmit_connected(a, b, t, salt, k)
    }

    /// [`Network::transmit`] over a link known to be up.
    fn transmit_connected(&self, a: u32, b: u32, t: u64, salt: u64, k: u64) -> Option<u64> {
        let word = mix_all(&[salt, u64::from(a), u64::from(b), k]);
        if chance(word, self.cfg.loss) {
            return None;
        }
        let jitter = below(mix(word), self.cfg.jitter_ms.saturating_add(1));
        Some(
            t.saturating_add(self.base_latency(a, b))
                .saturating_add(jitter),
        )
    }

    /// Mesh peers of `n`.
    pub fn peers(&self, n: u32) -> &[u32] {
        self.mesh.get(n as usize).map_or(&[], Vec::as_slice)
    }

    /// Spreads a message published by `sources` (node, time). `valid`: receivers forward it;
    /// otherwise only the sources' direct peers receive it, and drop it. `salt` keys its draws.
    pub fn spread(&self, sources: &[(u32, u64)], valid: bool, salt: u64) -> Spread {
        let n = self.mesh.len();
        let mut arrival = vec![u64::MAX; n];
        let mut is_source = vec![false; n];
        let mut parent = vec![u32::MAX; n];
        let mut heap = BinaryHeap::new();
        for &(s, t) in sources {
            if let Some(slot) = arrival.get_mut(s as usize)
                && self.is_online(s, t)
                && t < *slot
            {
                *slot = t;
                heap.push(Reverse((t, s)));
            }
            if let Some(flag) = is_source.get_mut(s as usize) {
                *flag = true;
            }
        }
        let hb = self.cfg.heartbeat_ms.max(1);
        let mut out = Spread::default();
        let mut repaired = vec![false; n];
        while let Some(Reverse((t, u))) = heap.pop() {
            if arrival.get(u as usize).copied() != Some(t) {
                continue;
            }
            let src = is_source.get(u as usize).copied().unwrap_or(false);
            if !src && !valid {
                // Received, found invalid, dropped.
                continue;
            }
            let from = parent.get(u as usize).copied().unwrap_or(u32::MAX);
            let send_at = if src {
                t
            } else {
                t.saturating_add(self.cfg.validate_ms)
            };
            for &v in self.peers(u) {
                if v == from || self.is_pruned(u, v) || !self.connected(u, v, send_at) {
                    continue;
                }
                out.transmissions = out.transmissions.saturating_add(1);
                let eager = self.transmit_connected(u, v, send_at, salt, 0);
                // Lazy repair: IHAVE at u's next heartbeat, IWANT back, then the message.
                let lazy = valid.then(|| {
                    let beat = send_at.div_ceil(hb).saturating_mul(hb);
                    beat.saturating_add(self.base_latency(u, v).saturating_mul(3))
                });
                let (at, via_lazy) = match (eager, lazy) {
                    (Some(e), _) => (e, false),
                    (None, Some(l)) if self.connected(u, v, l) => (l, true),
                    _ => continue,
                };
                if let Some(slot) = arrival.get_mut(v as usize)
                    && at < *slot
                {
                    *slot = at;
                    if let Some(p) = parent.get_mut(v as usize) {
                        *p = u;
                    }
                    if let Some(r) = repaired.get_mut(v as usize) {
                        *r = via_lazy;
                    }
                    heap.push(Reverse((at, v)));
                }
            }
        }
        for (i, &t) in arrival.iter().enumerate() {
            let node = i as u32;
            let src = is_source.get(i).copied().unwrap_or(false);
            if t == u64::MAX {
                if !src {
                    out.unreached.push(node);
                }
            } else if !src {
                out.arrivals.push((node, t));
                if repaired.get(i).copied().unwrap_or(false) {
                    out.repaired = out.repaired.saturating_add(1);
                    out.transmissions = out.transmissions.saturating_add(1);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(nodes: u32, cfg: NetworkConfig) -> Network {
        let mut n = Network::new(cfg, 7);
        for _ in 0..nodes {
            n.join(0);
        }
        n
    }

    #[test]
    fn gossip_reaches_everyone_with_bounded_amplification() {
        let n = net(300, NetworkConfig::default());
        let s = n.spread(&[(5, 1000)], true, 1);
        assert!(s.unreached.is_empty(), "{:?}", s.unreached);
        assert_eq!(s.arrivals.len(), 299);
        let per_delivery = s.transmissions as f64 / 299.0;
        assert!(per_delivery <= 6.0, "{per_delivery}");
        // Invalid messages stop at the first hop.
        let bad = n.spread(&[(5, 1000)], false, 2);
        assert!(bad.arrivals.len() <= n.peers(5).len());
    }

    #[test]
    fn partitions_cut_and_heal() {
        let cfg = NetworkConfig {
            partitions: vec![crate::scenario::Partition {
                start_ms: 0,
                duration_ms: 10_000,
                fraction: 0.5,
            }],
            ..NetworkConfig::default()
        };
        let n = net(200, cfg);
        let during = n.spread(&[(0, 10)], true, 3);
        let other_side = (0..200).filter(|&i| n.side(i, 10) != n.side(0, 10)).count();
        assert!(other_side > 50);
        assert!(during.unreached.len() >= other_side);
        let after = n.spread(&[(0, 20_000)], true, 3);
        assert!(after.unreached.is_empty());
    }
}
