//! Verification of outcome records: both signatures, then a replay of the game.

use nets_envs::Outcome;
use nets_envs::log::replay_actions;

use crate::hash::Hash32;
use crate::identity::Domain;
use crate::messages::{OutcomeRecord, VERSION, match_seed};

/// Why an outcome record is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Wrong protocol version.
    #[error("unsupported version {0}")]
    Version(u8),
    /// A player signature does not verify.
    #[error("signature of seat {seat}: {reason}")]
    Signature {
        /// "A" or "B".
        seat: &'static str,
        /// Why.
        reason: String,
    },
    /// Both seats are the same key.
    #[error("a player cannot play itself")]
    SelfPlay,
    /// The action logs do not replay to a finished game.
    #[error("replay: {0}")]
    Replay(String),
    /// Replaying gives another result than the one signed.
    #[error("the record claims {claimed:?} but replay gives {replayed:?}")]
    WrongResult {
        /// Signed.
        claimed: Outcome,
        /// Recomputed.
        replayed: Outcome,
    },
}

/// A record that passed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The record's id (transcript hash).
    pub id: Hash32,
    /// The result in seats.
    pub result: Outcome,
    /// Turns played (the longer log for solo tasks).
    pub turns: u32,
}

/// Checks both signatures and replays the game; returns the verified result.
pub fn verify(record: &OutcomeRecord) -> Result<Verified, VerifyError> {
    // The transcript hash is both what the players signed and the record's id: hash once,
    // and take the match id from the same encoding of the payload.
    let (id, match_id) = record.payload.transcript_hash_and_match_id();
    check_signatures(record, &id)?;
    replay(record, id, &match_id)
}

fn check_signatures(record: &OutcomeRecord, id: &Hash32) -> Result<(), VerifyError> {
    let bytes = id.0;
    let h = &record.payload.header;
    h.a.verify(Domain::MatchResult, &bytes, &record.sig_a)
        .map_err(|e| VerifyError::Signature {
            seat: "A",
            reason: e.to_string(),
        })?;
    h.b.verify(Domain::MatchResult, &bytes, &record.sig_b)
        .map_err(|e| VerifyError::Signature {
            seat: "B",
            reason: e.to_string(),
        })
}

/// The replay half of [`verify`] (signatures already checked).
fn replay(record: &OutcomeRecord, id: Hash32, match_id: &Hash32) -> Result<Verified, VerifyError> {
    let p = &record.payload;
    if p.v != VERSION {
        return Err(VerifyError::Version(p.v));
    }
    if p.header.a == p.header.b {
        return Err(VerifyError::SelfPlay);
    }
    let seed = match_seed(match_id, &p.seed_a, &p.seed_b);
    let run = |actions| -> Result<(Outcome, u32), VerifyError> {
        let game = p
            .header
            .env
            .start(seed)
            .map_err(|e| VerifyError::Replay(e.to_string()))?;
        let end = replay_actions(game, actions, |_, _| {})
            .map_err(|e| VerifyError::Replay(e.to_string()))?;
        let outcome = end
            .outcome()
            .copied()
            .ok_or_else(|| VerifyError::Replay("the log ends before the game does".into()))?;
        Ok((outcome, end.turn()))
    };
    let (replayed, turns) = match p.actions.as_slice() {
        [duel] if !p.header.is_solo() => run(duel)?,
        [a, b] if p.header.is_solo() => {
            let (sa, ta) = run(a)?;
            let (sb, tb) = run(b)?;
            let outcome = match (sa, sb) {
                (Outcome::Score(x), Outcome::Score(y)) if x > y => Outcome::Winner(0),
                (Outcome::Score(x), Outcome::Score(y)) if x < y => Outcome::Winner(1),
                _ => Outcome::Draw,
            };
            (outcome, ta.max(tb))
        }
        _ => {
            return Err(VerifyError::Replay(format!(
                "{} action logs for a {} match",
                p.actions.len(),
                if p.header.is_solo() { "solo" } else { "duel" }
            )));
        }
    };
    if replayed != p.result {
        return Err(VerifyError::WrongResult {
            claimed: p.result,
            replayed,
        });
    }
    Ok(Verified {
        id,
        result: replayed,
        turns,
    })
}

/// Verifies many records; the result for each is exactly what [`verify`] gives.
///
/// Signatures are checked one by one with strict verification, not with ed25519 batch
/// verification: the batch equation accepts, with a probability that depends on the other
/// items of the batch, a signature whose `R` carries a small torsion component, which strict
/// verification refuses. A key's owner could make such a signature on purpose, and nodes
/// batching differently would then disagree on which records are valid, and so on the
/// epoch's roots. Acceptance must be one deterministic rule; [`crate::identity::verify_batch`]
/// stays available for screening where a false accept cannot matter.
pub fn verify_many(records: &[OutcomeRecord]) -> Vec<Result<Verified, VerifyError>> {
    records.iter().map(verify).collect()
}
