//! The messages of the match protocol and the records it produces.
//!
//! Every protocol message is a [`MatchMessage`]: version, match id, sequence number, the hash
//! of the previous message of the conversation (by either side), the sender, a body, and the
//! sender's signature over all of that. The chain of `prev` hashes makes any prefix of a
//! conversation a piece of evidence: it shows exactly what was said, in which order, and by
//! whom.

use nets_envs::Outcome;
use nets_envs::log::{EnvSpec, PackedActions};
use serde::{Deserialize, Serialize};

use crate::hash::{Hash32, keccak256};
use crate::identity::{Domain, Keypair, PlayerId, Signature, SignatureError};
use crate::wire::{self, bytes32};

/// The protocol version spoken here (2: action logs are CBOR byte strings, no longer hex text,
/// and an environment is a tuple, no longer a map; see `docs/protocol.md`).
pub const VERSION: u8 = 2;

/// What both players agree on before a match: it names the match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchHeader {
    /// The epoch the match belongs to.
    pub epoch: u64,
    /// The pairing round within the epoch.
    pub round: u32,
    /// Environment and parameters (the league's game).
    pub env: EnvSpec,
    /// Seat 0: commits first.
    pub a: PlayerId,
    /// Seat 1: answers.
    pub b: PlayerId,
}

impl MatchHeader {
    /// The match id: keccak256 of a domain tag and the header's canonical encoding. Every
    /// message and record carries it, so nothing can be replayed into another match.
    pub fn match_id(&self) -> Hash32 {
        keccak256(&[b"nets/match-id", &wire::encode(self)])
    }

    /// Whether this is a solo score task (both play the same seeded instance alone).
    pub fn is_solo(&self) -> bool {
        self.env.players() == 1
    }

    /// The seat of `player`, if it plays in this match.
    pub fn seat_of(&self, player: &PlayerId) -> Option<Seat> {
        if *player == self.a {
            Some(Seat::A)
        } else if *player == self.b {
            Some(Seat::B)
        } else {
            None
        }
    }

    /// The player in `seat`.
    pub fn player(&self, seat: Seat) -> PlayerId {
        match seat {
            Seat::A => self.a,
            Seat::B => self.b,
        }
    }
}

/// One of the two seats of a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Seat {
    /// Commits first, reveals last.
    A,
    /// Answers in the clear.
    B,
}

impl Seat {
    /// The other seat.
    pub fn other(self) -> Self {
        match self {
            Seat::A => Seat::B,
            Seat::B => Seat::A,
        }
    }

    /// 0 for A, 1 for B (the player index in results).
    pub fn index(self) -> u8 {
        match self {
            Seat::A => 0,
            Seat::B => 1,
        }
    }
}

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Body {
    /// A: commitment to its seed share, `keccak256("nets/seed-commit" ++ match id ++ a)`.
    SeedCommit {
        /// The commitment.
        commitment: Hash32,
    },
    /// B: its seed share in the clear.
    SeedAnswer {
        /// B's share.
        #[serde(with = "bytes32")]
        secret: [u8; 32],
    },
    /// A: its seed share, and its commitment to its first move (duel) or to its whole action
    /// log (solo).
    SeedReveal {
        /// A's share.
        #[serde(with = "bytes32")]
        secret: [u8; 32],
        /// The first commitment.
        commitment: Hash32,
    },
    /// B: its move for `turn`, in the clear (A's is already committed).
    Move {
        /// Turn index.
        turn: u32,
        /// Action code.
        code: u8,
    },
    /// A: opens its commitment for `turn` and commits to the next move if the game goes on.
    Reveal {
        /// Turn index.
        turn: u32,
        /// Action code.
        code: u8,
        /// The commitment's salt.
        #[serde(with = "bytes32")]
        salt: [u8; 32],
        /// Commitment to the move of `turn + 1`, absent when the game ended.
        next: Option<Hash32>,
    },
    /// B (solo): its whole action log in the clear.
    Log {
        /// B's moves.
        actions: PackedActions,
    },
    /// A (solo): opens its log commitment.
    LogReveal {
        /// A's moves.
        actions: PackedActions,
        /// The commitment's salt.
        #[serde(with = "bytes32")]
        salt: [u8; 32],
    },
    /// The sender's signature over the result (see [`ResultPayload`]).
    Result {
        /// The result, in seats (winner 0 = A).
        result: Outcome,
        /// Signature in [`Domain::MatchResult`] over the payload's encoding.
        signature: Signature,
    },
}

impl Body {
    /// A short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::SeedCommit { .. } => "seed-commit",
            Body::SeedAnswer { .. } => "seed-answer",
            Body::SeedReveal { .. } => "seed-reveal",
            Body::Move { .. } => "move",
            Body::Reveal { .. } => "reveal",
            Body::Log { .. } => "log",
            Body::LogReveal { .. } => "log-reveal",
            Body::Result { .. } => "result",
        }
    }
}

#[derive(Serialize)]
struct Unsigned<'a> {
    v: u8,
    match_id: &'a Hash32,
    seq: u32,
    prev: &'a Hash32,
    sender: &'a PlayerId,
    body: &'a Body,
}

/// A signed protocol message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchMessage {
    /// Protocol version ([`VERSION`]).
    pub v: u8,
    /// The match.
    pub match_id: Hash32,
    /// Position in the conversation, from 0.
    pub seq: u32,
    /// Hash of message `seq - 1` ([`Hash32::ZERO`] for the first).
    pub prev: Hash32,
    /// Who sent it.
    pub sender: PlayerId,
    /// What it says.
    pub body: Body,
    /// The sender's signature in [`Domain::MatchMessage`] over all fields above.
    pub sig: Signature,
}

impl MatchMessage {
    /// Builds and signs a message.
    pub fn sign(key: &Keypair, match_id: Hash32, seq: u32, prev: Hash32, body: Body) -> Self {
        let sender = key.id();
        let payload = wire::encode(&Unsigned {
            v: VERSION,
            match_id: &match_id,
            seq,
            prev: &prev,
            sender: &sender,
            body: &body,
        });
        Self {
            v: VERSION,
            match_id,
            seq,
            prev,
            sender,
            body,
            sig: key.sign(Domain::MatchMessage, &payload),
        }
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        wire::encode(&Unsigned {
            v: self.v,
            match_id: &self.match_id,
            seq: self.seq,
            prev: &self.prev,
            sender: &self.sender,
            body: &self.body,
        })
    }

    /// Checks the sender's signature.
    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        self.sender
            .verify(Domain::MatchMessage, &self.signed_bytes(), &self.sig)
    }

    /// The message's hash: keccak256 of its canonical encoding, signature included.
    pub fn hash(&self) -> Hash32 {
        keccak256(&[&wire::encode(self)])
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes canonical bytes (signature not checked here).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, wire::WireError> {
        let m: Self = wire::decode(bytes, wire::MAX_MATCH_MESSAGE)?;
        if m.v != VERSION {
            return Err(wire::WireError::Version(m.v));
        }
        Ok(m)
    }
}

/// What both players sign at the end: everything needed to replay the match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResultPayload {
    /// Protocol version.
    pub v: u8,
    /// The match.
    pub header: MatchHeader,
    /// A's seed share.
    #[serde(with = "bytes32")]
    pub seed_a: [u8; 32],
    /// B's seed share.
    #[serde(with = "bytes32")]
    pub seed_b: [u8; 32],
    /// The action logs: one for a duel (both seats), two for a solo task (A's, then B's).
    pub actions: Vec<PackedActions>,
    /// The result in seats: winner 0 is A, winner 1 is B.
    pub result: Outcome,
}

impl ResultPayload {
    /// The transcript hash: keccak256 of the payload's canonical encoding.
    pub fn transcript_hash(&self) -> Hash32 {
        keccak256(&[b"nets/transcript", &wire::encode(self)])
    }

    /// The transcript hash and the header's match id, from one encoding of the payload: the
    /// payload's encoding holds the header's as is, so it is not encoded a second time. The
    /// same values as [`transcript_hash`](Self::transcript_hash) and
    /// [`MatchHeader::match_id`].
    pub fn transcript_hash_and_match_id(&self) -> (Hash32, Hash32) {
        // About 300 bytes of header, seeds and result, and the logs' hex digits.
        let size = self.actions.iter().fold(0usize, |size, a| {
            size.saturating_add(a.bytes.len().saturating_mul(2))
                .saturating_add(16)
        });
        let bytes = wire::encode_with_capacity(self, size.saturating_add(384));
        let transcript = keccak256(&[b"nets/transcript", &bytes]);
        let match_id = match self.header_encoding(&bytes) {
            Some(header) => keccak256(&[b"nets/match-id", header]),
            None => self.header.match_id(),
        };
        (transcript, match_id)
    }

    /// The header's encoding within `bytes`, the payload's encoding: a map whose first keys
    /// are `v` and `header`. `None` if the bytes do not start that way.
    fn header_encoding<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        // Map of six entries, key "v", the version (one byte below 24), key "header".
        let v = (self.v < 24).then_some(self.v)?;
        let rest = bytes.strip_prefix(&[0xa6, 0x61, b'v', v, 0x66])?;
        let rest = rest.strip_prefix(b"header")?;
        rest.get(..wire::item_len(rest)?)
    }

    /// The bytes each player signs in [`Domain::MatchResult`].
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.transcript_hash().0.to_vec()
    }
}

/// The outcome record: the result payload with both players' signatures. Gossiped, verified by
/// replay, rated and anchored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// What was played and the result.
    pub payload: ResultPayload,
    /// A's signature over the transcript hash.
    pub sig_a: Signature,
    /// B's signature over the transcript hash.
    pub sig_b: Signature,
}

impl OutcomeRecord {
    /// The record's id: its transcript hash.
    pub fn id(&self) -> Hash32 {
        self.payload.transcript_hash()
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes canonical bytes (nothing verified yet: see [`crate::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, wire::WireError> {
        let r: Self = wire::decode(bytes, wire::MAX_RECORD)?;
        if r.payload.v != VERSION {
            return Err(wire::WireError::Version(r.payload.v));
        }
        Ok(r)
    }
}

/// Commitment to A's seed share.
pub fn seed_commitment(match_id: &Hash32, secret: &[u8; 32]) -> Hash32 {
    keccak256(&[b"nets/seed-commit", &match_id.0, secret])
}

/// The match seed from both shares.
pub fn match_seed(match_id: &Hash32, a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    keccak256(&[b"nets/seed", &match_id.0, a, b]).0
}

/// Commitment to a move.
pub fn move_commitment(match_id: &Hash32, turn: u32, code: u8, salt: &[u8; 32]) -> Hash32 {
    keccak256(&[
        b"nets/move-commit",
        &match_id.0,
        &turn.to_le_bytes(),
        &[code],
        salt,
    ])
}

/// Commitment to a whole action log.
pub fn log_commitment(match_id: &Hash32, actions: &PackedActions, salt: &[u8; 32]) -> Hash32 {
    keccak256(&[
        b"nets/log-commit",
        &match_id.0,
        &wire::encode(actions),
        salt,
    ])
}

#[cfg(test)]
mod tests {
    use nets_envs::snake::SnakeParams;

    use super::*;

    #[test]
    fn one_encoding_gives_the_transcript_hash_and_the_match_id() {
        let mut checked = 0;
        for (i, v) in [0u8, 1, 23, 24, 200].into_iter().enumerate() {
            for epoch in [0u64, 23, 24, 1 << 40, u64::MAX] {
                for snakes in [1u8, 2, 4] {
                    let header = MatchHeader {
                        epoch,
                        round: (i as u32) * 70_000,
                        env: EnvSpec::Snake(SnakeParams {
                            snakes,
                            max_turns: 17 * u32::from(snakes),
                            ..SnakeParams::duel(7 + snakes)
                        }),
                        a: PlayerId([i as u8; 32]),
                        b: PlayerId([0xee; 32]),
                    };
                    let actions = PackedActions {
                        turns: 3,
                        bytes: vec![0x1b; usize::from(snakes) * 30],
                    };
                    let payload = ResultPayload {
                        v,
                        header: header.clone(),
                        seed_a: [1; 32],
                        seed_b: [2; 32],
                        actions: vec![actions; usize::from(snakes % 2) + 1],
                        result: Outcome::Score(epoch as u32),
                    };
                    assert_eq!(
                        payload.transcript_hash_and_match_id(),
                        (payload.transcript_hash(), header.match_id())
                    );
                    // Below 24 the version is one byte and the header is found in place.
                    let bytes = wire::encode(&payload);
                    assert_eq!(
                        payload.header_encoding(&bytes).is_some(),
                        v < 24,
                        "version {v}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 75);
    }
}
