//! The epoch fold: what a node's stored items say about a league, epoch by epoch.
//!
//! Every closed epoch's items go through an [`EpochLedger`], and ratings chain from one epoch
//! to the next (quantized between periods). The result is a pure function of the stored
//! items, so two nodes holding the same items compute byte-identical summaries whatever order
//! the items arrived in, and a running node and a stopped node's data dir agree.
//!
//! Entries: every player with a stored entry into the league for the epoch pays the league's
//! entry fee into the epoch's pot, once, whether it played once, many times or not at all
//! (the fee schedule is the network's); so does a player with an outcome or a claim whose
//! entry this node does not hold. An epoch without games in the league is skipped.

use std::collections::BTreeMap;

use crate::economics::{FeeSchedule, RewardTable};
use crate::epoch::{EpochLedger, EpochSummary};
use crate::hash::{Hash32, keccak256};
use crate::identity::PlayerId;
use crate::league::League;
use crate::rating::{Glicko2Params, Ratings, quantize};

use super::item::Item;
use super::log::ItemLog;

/// Why the fold could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FoldError<E: std::fmt::Display> {
    /// Reading the store failed.
    #[error("{0}")]
    Store(E),
    /// The pot of an epoch could not be split (an overflow).
    #[error("epoch {epoch}: {reason}")]
    Economics {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: String,
    },
}

/// Computes the summaries of `league`'s epochs `0..closed` (epochs without any item of the
/// league are skipped; ratings decay across them only when the player plays again, as
/// Glicko-2 counts rating periods with games).
pub fn summaries<L: ItemLog>(
    log: &L,
    league: &League,
    closed: u64,
) -> Result<Vec<EpochSummary>, FoldError<L::Error>> {
    summaries_cached(log, league, closed, &mut SummaryCache::default())
}

/// Summaries computed before, so that a running node does not replay every epoch since
/// genesis at each close: an epoch is summarized again only if its items, or an earlier
/// epoch's, changed since.
#[derive(Debug, Default)]
pub struct SummaryCache {
    leagues: BTreeMap<Hash32, Vec<CachedEpoch>>,
}

#[derive(Debug)]
struct CachedEpoch {
    epoch: u64,
    /// keccak256 over the epoch's item ids, ascending.
    items: Hash32,
    /// `None` for an epoch without games in the league.
    summary: Option<EpochSummary>,
}

/// [`summaries`], reusing and updating `cache`; the same result as without a cache.
pub fn summaries_cached<L: ItemLog>(
    log: &L,
    league: &League,
    closed: u64,
    cache: &mut SummaryCache,
) -> Result<Vec<EpochSummary>, FoldError<L::Error>> {
    let params = Glicko2Params::default();
    let fee = league.entry_fee(&FeeSchedule::default()).unwrap_or(0);
    let cached = cache.leagues.entry(league.id()).or_default();
    let mut ratings = Ratings::new();
    let mut rewards = RewardTable::default();
    let mut out = Vec::new();
    for (at, epoch) in log
        .epochs()
        .map_err(FoldError::Store)?
        .into_iter()
        .enumerate()
    {
        if epoch >= closed {
            break;
        }
        let ids = log.epoch_ids(epoch).map_err(FoldError::Store)?;
        let parts: Vec<&[u8]> = ids.iter().map(|id| &id.0[..]).collect();
        let items = keccak256(&parts);
        let reuse = cached
            .get(at)
            .is_some_and(|c| c.epoch == epoch && c.items == items);
        if !reuse {
            // This epoch and every later one are summarized again.
            cached.truncate(at);
            let summary = summarize(log, league, epoch, &ratings, &rewards, &params, fee)?;
            cached.push(CachedEpoch {
                epoch,
                items,
                summary,
            });
        }
        if let Some(summary) = cached.get(at).and_then(|c| c.summary.as_ref()) {
            ratings = quantize(&summary.ratings);
            rewards = summary.rewards.clone();
            out.push(summary.clone());
        }
    }
    Ok(out)
}

/// One epoch's summary from the ratings and rewards before it; `None` without games.
fn summarize<L: ItemLog>(
    log: &L,
    league: &League,
    epoch: u64,
    ratings: &Ratings,
    rewards: &RewardTable,
    params: &Glicko2Params,
    fee: u128,
) -> Result<Option<EpochSummary>, FoldError<L::Error>> {
    let mut ledger = EpochLedger::new(epoch);
    let mut entries: BTreeMap<PlayerId, u128> = BTreeMap::new();
    let mut any = false;
    // The ledger's summary does not depend on the order items are added in.
    for item in log.epoch_items(epoch).map_err(FoldError::Store)? {
        // Stored items were validated; a refusal here changes nothing.
        match item {
            Item::Outcome(record) if record.payload.header.env == league.env => {
                any = true;
                entries.insert(record.payload.header.a, fee);
                entries.insert(record.payload.header.b, fee);
                let _ = ledger.add_outcome(record);
            }
            Item::Claim(claim) if claim.header.env == league.env => {
                any = true;
                entries.insert(claim.header.a, fee);
                entries.insert(claim.header.b, fee);
                let _ = ledger.add_claim(claim);
            }
            Item::Answer { header, message } if header.env == league.env => {
                let _ = ledger.add_answer(&message);
            }
            Item::Evidence { evidence, .. } => {
                let _ = ledger.add_evidence(evidence);
            }
            Item::Entry(entry) if entry.league == league.id() => {
                entries.insert(entry.player, fee);
            }
            _ => {}
        }
    }
    if !any {
        return Ok(None);
    }
    ledger
        .close(ratings, params, &entries, rewards)
        .map(Some)
        .map_err(|e| FoldError::Economics {
            epoch,
            reason: e.to_string(),
        })
}

/// The ratings after the last of `summaries` (empty if none).
pub fn latest_ratings(summaries: &[EpochSummary]) -> Ratings {
    summaries
        .last()
        .map(|s| quantize(&s.ratings))
        .unwrap_or_default()
}
