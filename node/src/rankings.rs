//! Rankings: what a node's stored items say about a league, epoch by epoch.
//!
//! Every closed epoch is replayed through the tournament core's [`EpochLedger`] in item-id
//! order, and ratings chain from one epoch to the next (quantized between periods). The result
//! is a pure function of the stored items, so two nodes holding the same items export
//! byte-identical rankings, whatever order the items arrived in; and a running node and a
//! stopped node's data dir give the same export.
//!
//! Entries: every player with an outcome or a claim in the league's epoch is an entrant and
//! pays the league's entry fee into the epoch's pot (the fee schedule is the network's).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use nets_tournament::economics::{FeeSchedule, RewardTable};
use nets_tournament::epoch::{EpochLedger, EpochSummary};
use nets_tournament::hash::{Hash32, keccak256};
use nets_tournament::identity::PlayerId;
use nets_tournament::league::League;
use nets_tournament::rating::{Glicko2Params, Ratings, leaderboard, quantize};
use serde::Serialize;

use crate::item::Item;
use crate::store::{Store, StoreError};

/// Why rankings could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RankingsError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pot of an epoch could not be split (an overflow).
    #[error("epoch {epoch}: {reason}")]
    Economics {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: String,
    },
}

/// Computes the summaries of `league`'s epochs `0..closed` from the store (epochs without
/// any item of the league are skipped; ratings still decay across them only when the
/// player plays again, as Glicko-2 counts rating periods with games).
pub fn summaries(
    store: &Store,
    league: &League,
    closed: u64,
) -> Result<Vec<EpochSummary>, RankingsError> {
    summaries_cached(store, league, closed, &mut SummaryCache::default())
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
pub fn summaries_cached(
    store: &Store,
    league: &League,
    closed: u64,
    cache: &mut SummaryCache,
) -> Result<Vec<EpochSummary>, RankingsError> {
    let params = Glicko2Params::default();
    let fee = league.entry_fee(&FeeSchedule::default()).unwrap_or(0);
    let cached = cache.leagues.entry(league.id()).or_default();
    let mut ratings = Ratings::new();
    let mut rewards = RewardTable::default();
    let mut out = Vec::new();
    for (at, epoch) in store.epochs()?.into_iter().enumerate() {
        if epoch >= closed {
            break;
        }
        let ids = store.epoch_ids(epoch)?;
        let parts: Vec<&[u8]> = ids.iter().map(|id| &id.0[..]).collect();
        let items = keccak256(&parts);
        let reuse = cached
            .get(at)
            .is_some_and(|c| c.epoch == epoch && c.items == items);
        if !reuse {
            // This epoch and every later one are summarized again.
            cached.truncate(at);
            let summary = summarize(store, league, epoch, &ratings, &rewards, &params, fee)?;
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
fn summarize(
    store: &Store,
    league: &League,
    epoch: u64,
    ratings: &Ratings,
    rewards: &RewardTable,
    params: &Glicko2Params,
    fee: u128,
) -> Result<Option<EpochSummary>, RankingsError> {
    let mut ledger = EpochLedger::new(epoch);
    let mut entries: BTreeMap<PlayerId, u128> = BTreeMap::new();
    let items = store.epoch_items(epoch)?;
    let mut answers = Vec::new();
    let mut any = false;
    for item in items {
        match item {
            Item::Outcome(record) if record.payload.header.env == league.env => {
                any = true;
                entries.insert(record.payload.header.a, fee);
                entries.insert(record.payload.header.b, fee);
                // Stored items were validated; a refusal here changes nothing.
                let _ = ledger.add_outcome(record);
            }
            Item::Claim(claim) if claim.header.env == league.env => {
                any = true;
                entries.insert(claim.header.a, fee);
                entries.insert(claim.header.b, fee);
                let _ = ledger.add_claim(claim);
            }
            Item::Answer { header, message } if header.env == league.env => {
                answers.push(message);
            }
            Item::Evidence { evidence, .. } => {
                let _ = ledger.add_evidence(evidence);
            }
            _ => {}
        }
    }
    // Answers after every claim of the epoch, whatever order they were stored in.
    for answer in &answers {
        let _ = ledger.add_answer(answer);
    }
    if !any {
        return Ok(None);
    }
    ledger
        .close(ratings, params, &entries, rewards)
        .map(Some)
        .map_err(|e| RankingsError::Economics {
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

/// One row of a rankings table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// 1 for the best.
    pub rank: usize,
    /// The player (hex of its ed25519 key, which is also its peer's key).
    pub player: String,
    /// Rating, rounded.
    pub rating: i64,
    /// Deviation, rounded.
    pub deviation: i64,
    /// Volatility, in millionths.
    pub volatility_micro: i64,
    /// Games rated so far.
    pub games: u64,
    /// Wins so far.
    pub wins: u64,
    /// Draws so far.
    pub draws: u64,
    /// Losses so far.
    pub losses: u64,
    /// Timeout forfeits this player was found guilty of in the epoch.
    pub forfeits: u32,
    /// Whether evidence convicted this player of fraud in the epoch.
    pub fraud: bool,
    /// Cumulative reward balance.
    pub balance: u128,
}

/// The rankings of one league after one epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochRankings {
    /// The league id, hex.
    pub league: String,
    /// The epoch.
    pub epoch: u64,
    /// Root over the epoch's outcomes and forfeits, hex.
    pub outcomes_root: String,
    /// Root over the cumulative reward table, hex.
    pub rewards_root: String,
    /// Rows, best first.
    pub rows: Vec<Row>,
}

/// The rankings table after `summary`.
pub fn table(league: &Hash32, summary: &EpochSummary) -> EpochRankings {
    let rows = leaderboard(&summary.ratings)
        .into_iter()
        .enumerate()
        .map(|(i, (id, r))| {
            let c = r.canonical();
            Row {
                rank: i + 1,
                player: hex::encode(id.0),
                rating: r.display_rating(),
                deviation: (c.deviation_milli + 500).div_euclid(1000),
                volatility_micro: (c.volatility_nano + 500).div_euclid(1000),
                games: r.games,
                wins: r.wins,
                draws: r.draws,
                losses: r.losses,
                forfeits: summary.standings.get(&id).map(|s| s.forfeits).unwrap_or(0),
                fraud: summary.standings.get(&id).is_some_and(|s| s.fraud),
                balance: summary.rewards.balances.get(&id).copied().unwrap_or(0),
            }
        })
        .collect();
    EpochRankings {
        league: hex::encode(league.0),
        epoch: summary.epoch,
        outcomes_root: hex::encode(summary.outcomes_root.0),
        rewards_root: hex::encode(summary.rewards_root.0),
        rows,
    }
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON document: an array of epoch tables.
    Json,
    /// One CSV table, a row per player and epoch.
    Csv,
}

/// Renders tables in a format. Both are deterministic byte for byte.
pub fn render(tables: &[EpochRankings], format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(tables).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Csv => {
            let mut s = String::from(
                "league,epoch,rank,player,rating,deviation,volatility_micro,games,wins,draws,losses,forfeits,fraud,balance,outcomes_root,rewards_root\n",
            );
            for t in tables {
                for r in &t.rows {
                    let _ = writeln!(
                        s,
                        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        t.league,
                        t.epoch,
                        r.rank,
                        r.player,
                        r.rating,
                        r.deviation,
                        r.volatility_micro,
                        r.games,
                        r.wins,
                        r.draws,
                        r.losses,
                        r.forfeits,
                        r.fraud,
                        r.balance,
                        t.outcomes_root,
                        t.rewards_root
                    );
                }
            }
            s
        }
    }
}

/// Tables of `league` for its closed epochs (all of them, or only `epoch`).
pub fn export(
    store: &Store,
    league: &League,
    closed: u64,
    epoch: Option<u64>,
) -> Result<Vec<EpochRankings>, RankingsError> {
    let id = league.id();
    Ok(summaries(store, league, closed)?
        .iter()
        .filter(|s| epoch.is_none_or(|e| e == s.epoch))
        .map(|s| table(&id, s))
        .collect())
}
