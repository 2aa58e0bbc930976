//! Rankings: the node core's epoch fold ([`nets_tournament::node::fold`]) over the store, as
//! tables a person reads (text, CSV, JSON). Two nodes holding the same items export
//! byte-identical rankings, whatever order the items arrived in; and a running node and a
//! stopped node's data dir give the same export.

use std::fmt::Write as _;

use nets_tournament::epoch::EpochSummary;
use nets_tournament::hash::Hash32;
use nets_tournament::league::League;
use nets_tournament::rating::leaderboard;
use serde::Serialize;

use crate::store::{Store, StoreError};

pub use nets_tournament::node::fold::{SummaryCache, latest_ratings, summaries, summaries_cached};

/// Why rankings could not be computed: the store failed, or an epoch's pot overflowed.
pub type RankingsError = nets_tournament::node::fold::FoldError<StoreError>;

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
