//! Items of the shared record: what nodes gossip, store and fetch from each other.
//!
//! Every item is one canonical CBOR value; its id is the keccak256 of those bytes, which is
//! also its gossipsub message id, so an item has one id everywhere (store, gossip, fetch).
//! [`Item::validate`] is what a node checks before it stores or forwards an item: signatures,
//! replay, claim and evidence rules of the tournament core.

use serde::{Deserialize, Serialize};

use crate::evidence::{Evidence, verify_evidence};
use crate::hash::{Hash32, keccak256};
use crate::league::Entry;
use crate::messages::{MatchHeader, MatchMessage, OutcomeRecord};
use crate::timeout::{TimeoutClaim, check_claim};
use crate::verify::verify;
use crate::wire;

use super::Topic;

/// Largest encoded item.
pub const MAX_ITEM: usize = wire::MAX_RECORD;

/// One item of the shared record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A player's entry into a league for an epoch.
    Entry(Entry),
    /// A match outcome signed by both players.
    Outcome(OutcomeRecord),
    /// A claim that a player went silent.
    Claim(TimeoutClaim),
    /// The accused's answer to a claim: its next valid message.
    Answer {
        /// The match the answer belongs to.
        header: MatchHeader,
        /// The answer.
        message: MatchMessage,
    },
    /// Proof that a key cheated, filed under an epoch.
    Evidence {
        /// The epoch the evidence counts in.
        epoch: u64,
        /// The proof.
        evidence: Evidence,
    },
}

/// Why an item is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// Not a canonical encoding of an item.
    #[error("malformed item: {0}")]
    Wire(#[from] wire::WireError),
    /// The tournament core refused it.
    #[error("invalid {kind}: {reason}")]
    Invalid {
        /// Item kind.
        kind: &'static str,
        /// Why.
        reason: String,
    },
}

impl Item {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes canonical bytes (nothing verified yet).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ItemError> {
        Ok(wire::decode(bytes, MAX_ITEM)?)
    }

    /// The item's id: keccak256 of its canonical bytes.
    pub fn id_of(bytes: &[u8]) -> Hash32 {
        keccak256(&[bytes])
    }

    /// The epoch the item counts in.
    pub fn epoch(&self) -> u64 {
        match self {
            Item::Entry(e) => e.epoch,
            Item::Outcome(r) => r.payload.header.epoch,
            Item::Claim(c) => c.header.epoch,
            Item::Answer { header, .. } => header.epoch,
            Item::Evidence { epoch, .. } => *epoch,
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Entry(_) => "entry",
            Item::Outcome(_) => "outcome",
            Item::Claim(_) => "claim",
            Item::Answer { .. } => "answer",
            Item::Evidence { .. } => "evidence",
        }
    }

    /// The gossip topic the item travels on.
    pub fn topic(&self) -> Topic {
        match self {
            Item::Entry(_) => Topic::Entries,
            Item::Outcome(_) => Topic::Outcomes,
            Item::Claim(_) | Item::Answer { .. } => Topic::Claims,
            Item::Evidence { .. } => Topic::Evidence,
        }
    }

    /// Checks the item as every honest node does before storing or forwarding it.
    pub fn validate(&self) -> Result<(), ItemError> {
        let invalid = |reason: String| ItemError::Invalid {
            kind: self.kind(),
            reason,
        };
        match self {
            Item::Entry(entry) => entry.verify().map_err(|e| invalid(e.to_string())),
            Item::Outcome(record) => verify(record)
                .map(|_| ())
                .map_err(|e| invalid(e.to_string())),
            Item::Claim(claim) => check_claim(claim)
                .map(|_| ())
                .map_err(|e| invalid(e.to_string())),
            Item::Answer { header, message } => {
                if message.match_id != header.match_id() {
                    return Err(invalid("the answer is for another match".into()));
                }
                if header.seat_of(&message.sender).is_none() {
                    return Err(invalid("the sender does not play in the match".into()));
                }
                message
                    .verify_signature()
                    .map_err(|e| invalid(e.to_string()))
            }
            Item::Evidence { evidence, .. } => verify_evidence(evidence)
                .map(|_| ())
                .map_err(|e| invalid(e.to_string())),
        }
    }
}
