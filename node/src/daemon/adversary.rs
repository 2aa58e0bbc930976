//! Simulated adversaries, for devnets, simulations and tests: one [`Deviation`] that forges
//! results, throws games to colluders, walks away once behind, or spams gossip, as its
//! switches say. Compiled only with the `adversaries` feature.

use std::collections::{BTreeMap, BTreeSet};

use nets_envs::snake::{Direction, Point, SnakeGame};
use nets_tournament::hash::{Hash32, keccak256};
use nets_tournament::identity::{Domain, Keypair, PlayerId};
use nets_tournament::messages::{Body, MatchMessage};
use nets_tournament::node::Topic;
use nets_tournament::node::frames::Frame;

use crate::daemon::deviation::{Core, Deviated, Deviation, Move};

/// Which adversary a node is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// Junk gossip messages to publish a second (a spammer).
    pub spam_per_second: u32,
    /// Go silent in a match once behind: shorter snake after ten turns (an aborter).
    pub abort_when_losing: bool,
    /// Sign a win in every duel not won (a result forger).
    pub forge_results: bool,
    /// Throw every game against these players when this node's key is the higher one (a ring
    /// member or Sybil identity).
    pub colluders: BTreeSet<PlayerId>,
}

impl Roles {
    /// Whether any switch is on.
    pub fn any(&self) -> bool {
        self.spam_per_second > 0
            || self.abort_when_losing
            || self.forge_results
            || !self.colluders.is_empty()
    }
}

/// A node's adversary.
#[derive(Debug)]
pub struct Adversary {
    key: Keypair,
    roles: Roles,
    /// Junk messages made so far (published or not): each one's content differs.
    junk_nonce: u64,
    junk_published: u64,
    aborted: BTreeSet<(u64, Hash32)>,
    forged: BTreeSet<(u64, Hash32)>,
    thrown: BTreeSet<(u64, Hash32)>,
}

impl Adversary {
    /// The adversary of the node with `key`.
    pub fn new(key: Keypair, roles: Roles) -> Self {
        Self {
            key,
            roles,
            junk_nonce: 0,
            junk_published: 0,
            aborted: BTreeSet::new(),
            forged: BTreeSet::new(),
            thrown: BTreeSet::new(),
        }
    }
}

impl Deviation for Adversary {
    /// A forger signs a win in every duel it did not win: the opponent's replay disagrees,
    /// and the signed message is evidence against it.
    fn frame(&mut self, core: &Core, frame: Frame) -> Frame {
        if !self.roles.forge_results {
            return frame;
        }
        let Frame::Message(msg) = frame else {
            return frame;
        };
        let Body::Result { result, .. } = &msg.body else {
            return Frame::Message(msg);
        };
        let Some(machine) = core.machine(&msg.match_id) else {
            return Frame::Message(msg);
        };
        let header = machine.conversation().header();
        let win = nets_envs::Outcome::Winner(machine.seat().index());
        let Some(mut payload) = machine.conversation().result_payload() else {
            return Frame::Message(msg);
        };
        if *result == win || header.is_solo() {
            return Frame::Message(msg);
        }
        payload.result = win;
        let signature = self.key.sign(Domain::MatchResult, &payload.signed_bytes());
        if self.forged.insert((header.epoch, msg.match_id)) {
            tracing::info!(match_id = %hex::encode(&msg.match_id.0[..6]), "forged the result (forger)");
        }
        let body = Body::Result {
            result: win,
            signature,
        };
        Frame::Message(MatchMessage::sign(
            &self.key,
            msg.match_id,
            msg.seq,
            msg.prev,
            body,
        ))
    }

    /// A ring member or Sybil throws its games to its colluders (heading off the board); an
    /// aborter walks away once behind (no move now or later: the opponent claims a timeout
    /// this node cannot answer, and the match is its forfeit).
    fn think(&mut self, core: &Core, match_id: Hash32, seat: u8, game: &SnakeGame) -> Move {
        let Some(header) = core
            .machine(&match_id)
            .map(|m| m.conversation().header().clone())
        else {
            return Move::Agent;
        };
        let opponent = if seat == 0 { header.b } else { header.a };
        if self.roles.colluders.contains(&opponent) && self.key.id() > opponent {
            if self.thrown.insert((header.epoch, match_id)) {
                tracing::info!(match_id = %hex::encode(&match_id.0[..6]), "throwing the game to a colluder");
            }
            return Move::Play(toward_wall(game, usize::from(seat)).code());
        }
        if self.roles.abort_when_losing && behind(game, usize::from(seat)) {
            if self.aborted.insert((header.epoch, match_id)) {
                tracing::info!(match_id = %hex::encode(&match_id.0[..6]), "behind: walking away (aborter)");
            }
            return Move::Withhold;
        }
        Move::Agent
    }

    /// A spammer's tick (50 ms): its share of junk on the outcomes topic, bytes that decode
    /// as nothing, 32 to 1 000 of them.
    fn tick(&mut self, peers: usize) -> Vec<(Topic, Vec<u8>)> {
        if self.roles.spam_per_second == 0 || peers == 0 {
            return Vec::new();
        }
        (0..self.roles.spam_per_second.div_ceil(20))
            .map(|_| {
                let n = self.junk_nonce;
                self.junk_nonce = n.saturating_add(1);
                let seed = keccak256(&[b"nets/junk", &self.key.id().0, &n.to_be_bytes()]);
                let len = 32 + usize::from(seed.0[0]) * 4 % 969;
                let junk: Vec<u8> = seed.0.iter().copied().cycle().take(len).collect();
                (Topic::Outcomes, junk)
            })
            .collect()
    }

    /// Junk is counted only once sent (gossipsub refuses to publish with no peer on the
    /// topic).
    fn published(&mut self, sent: bool) {
        if sent {
            self.junk_published = self.junk_published.saturating_add(1);
        }
    }

    fn report(&self) -> Deviated {
        Deviated {
            junk_published: self.junk_published,
            aborted: per_epoch(&self.aborted),
            forged: per_epoch(&self.forged),
            thrown: per_epoch(&self.thrown),
        }
    }
}

/// How many of `matches` fall in each epoch.
fn per_epoch(matches: &BTreeSet<(u64, Hash32)>) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    for (epoch, _) in matches {
        *out.entry(*epoch).or_insert(0) += 1;
    }
    out
}

/// The move toward the wall nearest to `seat`'s head (a thrower's move: kept up, it leaves the
/// board within half the board's width).
fn toward_wall(game: &SnakeGame, seat: usize) -> Direction {
    let head = game
        .snakes()
        .get(seat)
        .map_or(Point::new(0, 0), |s| s.head());
    let p = game.params();
    let (x, y) = (i32::from(head.x), i32::from(head.y));
    let (w, h) = (i32::from(p.width), i32::from(p.height));
    [
        (y, Direction::Down),
        (h - 1 - y, Direction::Up),
        (x, Direction::Left),
        (w - 1 - x, Direction::Right),
    ]
    .into_iter()
    .min_by_key(|(distance, _)| *distance)
    .map_or(Direction::Down, |(_, d)| d)
}

/// Whether seat `seat` is behind in a duel: after ten turns, its snake is shorter than the
/// other's (what an aborter takes for losing).
fn behind(game: &SnakeGame, seat: usize) -> bool {
    let len = |i: usize| game.snakes().get(i).map_or(0, |s| s.len());
    game.turn() >= 10 && game.snakes().len() == 2 && len(seat) < len(1 - seat.min(1))
}

#[cfg(test)]
mod tests {
    use nets_envs::snake::{SnakeGame, SnakeParams};

    use super::toward_wall;

    #[test]
    fn a_thrower_leaves_the_board_within_half_its_width() {
        for seed in 0..8u8 {
            let mut game = SnakeGame::new(SnakeParams::duel(11), [seed; 32]).unwrap();
            let mut turns = 0;
            while game.snakes()[0].eliminated.is_none() && turns < 6 {
                let moves = [toward_wall(&game, 0), toward_wall(&game, 1)];
                game.step(&moves).unwrap();
                turns += 1;
            }
            assert!(
                game.snakes()[0].eliminated.is_some(),
                "seed {seed}: still on the board after {turns} turns"
            );
        }
    }
}
