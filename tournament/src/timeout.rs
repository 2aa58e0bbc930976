//! Timeout claims: how a player proves that its peer went silent.
//!
//! A claim carries the whole conversation so far, signed message by message, and is signed by
//! the claimant. Anyone can check it with [`check_claim`]: every message must be valid in
//! order (the same rules the players apply), and the next message must be due from the other
//! player. The accused answers by publishing its next valid message, which extends the claim's
//! chain ([`answers_claim`]). The rule every node applies at the close of the epoch: a valid
//! claim with no valid answer seen is the accused's forfeit. So the decision depends only on
//! signed evidence, never on anyone's clock.

use serde::{Deserialize, Serialize};

use crate::conversation::Conversation;
use crate::identity::{Domain, Keypair, PlayerId, Signature};
use crate::messages::{MatchHeader, MatchMessage, VERSION};
use crate::wire;

/// A signed claim that the other player is silent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeoutClaim {
    /// Protocol version.
    pub v: u8,
    /// The match.
    pub header: MatchHeader,
    /// Who claims.
    pub claimant: PlayerId,
    /// The conversation up to the silence.
    pub evidence: Vec<MatchMessage>,
    /// The claimant's signature in [`Domain::TimeoutClaim`].
    pub sig: Signature,
}

#[derive(Serialize)]
struct Unsigned<'a> {
    v: u8,
    header: &'a MatchHeader,
    claimant: &'a PlayerId,
    evidence: &'a [MatchMessage],
}

/// Why a claim is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// The claimant's signature does not verify, or it does not play in the match.
    #[error("claim signature: {0}")]
    Signature(String),
    /// A message of the evidence is not valid in its place.
    #[error("evidence message {index}: {reason}")]
    Evidence {
        /// Position in the evidence.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The next message is due from the claimant itself (or nobody).
    #[error("the next message is due from the claimant, not the accused")]
    ClaimantsTurn,
}

impl TimeoutClaim {
    /// Signs a claim over `evidence`.
    pub fn sign(key: &Keypair, header: MatchHeader, evidence: Vec<MatchMessage>) -> Self {
        let claimant = key.id();
        let bytes = wire::encode(&Unsigned {
            v: VERSION,
            header: &header,
            claimant: &claimant,
            evidence: &evidence,
        });
        Self {
            v: VERSION,
            header,
            claimant,
            evidence,
            sig: key.sign(Domain::TimeoutClaim, &bytes),
        }
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes canonical bytes (not verified: see [`check_claim`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, wire::WireError> {
        let c: Self = wire::decode(bytes, wire::MAX_RECORD)?;
        if c.v != VERSION {
            return Err(wire::WireError::Version(c.v));
        }
        Ok(c)
    }

    fn rebuild(&self) -> Result<Conversation, ClaimError> {
        Conversation::from_chain(self.header.clone(), &self.evidence).map_err(|(index, e)| {
            ClaimError::Evidence {
                index,
                reason: e.to_string(),
            }
        })
    }
}

/// Checks a claim; returns the accused (the player whose message is due).
pub fn check_claim(claim: &TimeoutClaim) -> Result<PlayerId, ClaimError> {
    check_claim_conversation(claim).map(|(accused, _)| accused)
}

/// [`check_claim`], also returning the claim's conversation as rebuilt from its evidence, so
/// that answers can be tried against it without verifying the evidence again
/// ([`answers_checked_claim`]).
pub fn check_claim_conversation(
    claim: &TimeoutClaim,
) -> Result<(PlayerId, Conversation), ClaimError> {
    let seat = claim
        .header
        .seat_of(&claim.claimant)
        .ok_or_else(|| ClaimError::Signature("the claimant does not play in this match".into()))?;
    let bytes = wire::encode(&Unsigned {
        v: claim.v,
        header: &claim.header,
        claimant: &claim.claimant,
        evidence: &claim.evidence,
    });
    claim
        .claimant
        .verify(Domain::TimeoutClaim, &bytes, &claim.sig)
        .map_err(|e| ClaimError::Signature(e.to_string()))?;
    let conv = claim.rebuild()?;
    match conv.next_sender() {
        Some(next) if next == seat.other() => Ok((claim.header.player(next), conv)),
        _ => Err(ClaimError::ClaimantsTurn),
    }
}

/// Whether `answer` is `accused`'s valid next message after `conv`, a claim's conversation
/// checked by [`check_claim_conversation`]: one signature to verify.
pub fn answers_checked_claim(
    accused: &PlayerId,
    conv: &Conversation,
    answer: &MatchMessage,
) -> bool {
    answer.sender == *accused && conv.clone().push(answer.clone()).is_ok()
}

/// Whether `answer` is the accused's valid next message after the claim's evidence.
pub fn answers_claim(claim: &TimeoutClaim, answer: &MatchMessage) -> bool {
    let Ok(accused) = check_claim(claim) else {
        return false;
    };
    let Ok(mut conv) = claim.rebuild() else {
        return false;
    };
    answer.sender == accused && conv.push(answer.clone()).is_ok()
}
