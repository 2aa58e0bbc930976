//! Evidence of fraud: statements a key signed that prove it cheated. Anyone can verify it
//! with [`verify_evidence`], which names the culprit; the settlement layer slashes on it.

use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, MessageError};
use crate::identity::PlayerId;
use crate::messages::{MatchHeader, MatchMessage, OutcomeRecord};

/// A proof that one key broke the rules.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Evidence {
    /// Two different messages signed by one key for the same position of one match (two moves
    /// for one turn, two results, …).
    Equivocation {
        /// One.
        first: MatchMessage,
        /// The other.
        second: MatchMessage,
    },
    /// A signed message that breaks the rules after a valid chain: a reveal that does not
    /// open its commitment, a result that the game did not give, an illegal move.
    InvalidMessage {
        /// The match.
        header: MatchHeader,
        /// The valid conversation before it.
        chain: Vec<MatchMessage>,
        /// The offending message.
        message: MatchMessage,
        /// What the detecting node found wrong (informative; verification recomputes it).
        reason: String,
    },
    /// Two different attestations by one key for one epoch of one league.
    ConflictingAttestations {
        /// One.
        first: crate::league::Attestation,
        /// The other.
        second: crate::league::Attestation,
    },
    /// Two outcome records of one match whose results differ, both signed by one player.
    ConflictingResults {
        /// One.
        first: OutcomeRecord,
        /// The other.
        second: OutcomeRecord,
    },
}

/// Why evidence does not prove anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evidence does not hold: {0}")]
pub struct EvidenceError(pub String);

/// Verifies evidence; returns the key it convicts.
pub fn verify_evidence(evidence: &Evidence) -> Result<PlayerId, EvidenceError> {
    let fail = |s: &str| EvidenceError(s.to_string());
    match evidence {
        Evidence::Equivocation { first, second } => {
            if first.match_id != second.match_id || first.seq != second.seq {
                return Err(fail("the messages are for different positions"));
            }
            if first.sender != second.sender {
                return Err(fail("the messages have different senders"));
            }
            if first == second {
                return Err(fail("the messages are identical"));
            }
            first
                .verify_signature()
                .and(second.verify_signature())
                .map_err(|e| EvidenceError(e.to_string()))?;
            Ok(first.sender)
        }
        Evidence::InvalidMessage {
            header,
            chain,
            message,
            ..
        } => {
            let mut conv = Conversation::from_chain(header.clone(), chain)
                .map_err(|(_, e)| EvidenceError(format!("the chain itself is invalid: {e}")))?;
            match conv.push(message.clone()) {
                Err(MessageError::Fault { sender, .. }) => Ok(sender),
                Err(MessageError::Equivocation { sender, .. }) => Ok(sender),
                Ok(()) => Err(fail("the message is valid")),
                Err(e) => Err(EvidenceError(format!("not attributable: {e}"))),
            }
        }
        Evidence::ConflictingAttestations { first, second } => {
            if first.signer != second.signer {
                return Err(fail("the attestations have different signers"));
            }
            if first.epoch != second.epoch || first.league != second.league {
                return Err(fail("the attestations are for different epochs or leagues"));
            }
            if first == second {
                return Err(fail("the attestations are identical"));
            }
            first
                .verify()
                .and(second.verify())
                .map_err(|e| EvidenceError(e.to_string()))?;
            Ok(first.signer)
        }
        Evidence::ConflictingResults { first, second } => {
            if first.payload.header != second.payload.header {
                return Err(fail("the records are for different matches"));
            }
            if first.payload == second.payload {
                return Err(fail("the records agree"));
            }
            let header = &first.payload.header;
            let (fa, fb) = (first.payload.signed_bytes(), second.payload.signed_bytes());
            for (player, s1, s2) in [
                (header.a, &first.sig_a, &second.sig_a),
                (header.b, &first.sig_b, &second.sig_b),
            ] {
                let d = crate::identity::Domain::MatchResult;
                if player.verify(d, &fa, s1).is_ok() && player.verify(d, &fb, s2).is_ok() {
                    return Ok(player);
                }
            }
            Err(fail("no player signed both records"))
        }
    }
}
