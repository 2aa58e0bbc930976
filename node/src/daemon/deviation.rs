//! The hook simulated adversaries plug into: a deviation over the node core's outputs.
//!
//! The daemon passes some of the core's outputs through a [`Deviation`] before it carries
//! them out: frames it sends, requests for moves, and each tick (for extra gossip). A real
//! node has none, and every output goes out as the core decided. The adversaries themselves
//! (forger, thrower, aborter, spammer) are in `adversary.rs`, compiled only with the
//! `adversaries` feature, so a release `netsd` holds no fraud path.

use std::collections::BTreeMap;

use libp2p::PeerId;
use nets_envs::snake::SnakeGame;
use nets_tournament::hash::Hash32;
use nets_tournament::node::frames::Frame;
use nets_tournament::node::{NodeCore, Topic};

use crate::store::Store;

/// The node core as the daemon drives it.
pub type Core = NodeCore<PeerId, Store>;

/// What to do with a request for a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Ask the agent, as an honest node does.
    Agent,
    /// Play this move code instead.
    Play(u8),
    /// Never answer.
    Withhold,
}

/// What a deviation did, by epoch, for the node's status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deviated {
    /// Junk gossip messages published.
    pub junk_published: u64,
    /// Matches walked away from.
    pub aborted: BTreeMap<u64, u64>,
    /// Matches whose result was forged.
    pub forged: BTreeMap<u64, u64>,
    /// Matches thrown to a colluder.
    pub thrown: BTreeMap<u64, u64>,
}

/// A deviation from the core's outputs.
pub trait Deviation: Send + std::fmt::Debug {
    /// A frame the core sends on a match link, possibly rewritten.
    fn frame(&mut self, core: &Core, frame: Frame) -> Frame;
    /// The core asks for a move in `game` for `seat` of a match.
    fn think(&mut self, core: &Core, match_id: Hash32, seat: u8, game: &SnakeGame) -> Move;
    /// Gossip to publish beside the core's at a tick (the core's own outputs go out first).
    fn tick(&mut self, peers: usize) -> Vec<(Topic, Vec<u8>)>;
    /// A published message was sent (`true`) or refused.
    fn published(&mut self, sent: bool);
    /// What it did so far.
    fn report(&self) -> Deviated;
}
