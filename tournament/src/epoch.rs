//! Epochs: fixed windows of time whose outcomes are batched, rated, paid and anchored.
//!
//! An [`EpochLedger`] collects what a node accepted during one epoch of one league: verified
//! outcome records (de-duplicated by id; two different records of one match convict whoever
//! signed both), timeout claims and their answers, and evidence. [`EpochLedger::close`] turns
//! it into an [`EpochSummary`]: the canonical list of results, the new ratings, the payout and
//! the two Merkle roots to anchor. Everything in it depends only on the set of items, never
//! on the order they arrived in, so two honest nodes that saw the same items compute
//! bit-identical summaries.
//!
//! # Leaves of the outcomes root
//! Sorted by hash: `leaf_hash(0x01 ++ record id)` for each accepted outcome record and
//! `leaf_hash(0x02 ++ keccak256(claim bytes))` for each claim that became a forfeit.

use std::collections::{BTreeMap, BTreeSet};

use nets_envs::Outcome;

use crate::conversation::Conversation;
use crate::economics::{EconomicsError, Payout, RewardTable, Standing, slash_list, split_pot};
use crate::evidence::{Evidence, verify_evidence};
use crate::hash::{Hash32, keccak256};
use crate::identity::PlayerId;
use crate::merkle::{MerkleTree, leaf_hash};
use crate::messages::{MatchMessage, OutcomeRecord};
use crate::rating::{GameResult, Glicko2Params, Ratings, Score, rate_period};
use crate::timeout::{TimeoutClaim, answers_checked_claim, check_claim_conversation};
use crate::verify::{VerifyError, verify};

/// Epoch timing: epoch `n` covers `[genesis + n * length, genesis + (n + 1) * length)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochClock {
    /// Start of epoch 0 (caller's time unit).
    pub genesis: u64,
    /// Length of an epoch (at least 1).
    pub length: u64,
}

impl EpochClock {
    /// The epoch containing `now` (0 before genesis).
    pub fn epoch_at(&self, now: u64) -> u64 {
        now.saturating_sub(self.genesis)
            .checked_div(self.length)
            .unwrap_or(0)
    }

    /// When epoch `epoch` closes.
    pub fn close_of(&self, epoch: u64) -> u64 {
        epoch
            .saturating_add(1)
            .saturating_mul(self.length)
            .saturating_add(self.genesis)
    }
}

/// Why an item was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The record does not verify.
    #[error(transparent)]
    Invalid(#[from] VerifyError),
    /// The item belongs to another epoch.
    #[error("item of epoch {got} offered to the ledger of epoch {expected}")]
    WrongEpoch {
        /// This ledger's epoch.
        expected: u64,
        /// The item's.
        got: u64,
    },
    /// The claim or evidence does not hold.
    #[error("{0}")]
    Rejected(String),
}

/// What adding an item did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Added {
    /// New, and worth forwarding.
    New,
    /// Already known.
    Duplicate,
    /// It conflicts with a record of the same match: both are set aside and this evidence
    /// convicts the double signer (forward it).
    Conflict(Box<Evidence>),
    /// An answer to no claim known yet: kept, and applied when its claim arrives.
    Held,
}

/// What a node accepted in one epoch of one league.
#[derive(Clone, Debug, Default)]
pub struct EpochLedger {
    epoch: u64,
    outcomes: BTreeMap<Hash32, OutcomeRecord>,
    by_match: BTreeMap<Hash32, Hash32>,
    disputed: BTreeSet<Hash32>,
    claims: BTreeMap<Hash32, TimeoutClaim>,
    /// Each claim's accused and conversation, checked once when the claim was added.
    checked: BTreeMap<Hash32, (PlayerId, Conversation)>,
    answered: BTreeSet<Hash32>,
    /// Answers that came before their claim, by the hash of their bytes.
    held_answers: BTreeMap<Hash32, MatchMessage>,
    convicted: BTreeMap<PlayerId, Hash32>,
    evidence: BTreeMap<Hash32, Evidence>,
}

/// The closed epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochSummary {
    /// The epoch.
    pub epoch: u64,
    /// Root over the accepted outcomes and forfeits.
    pub outcomes_root: Hash32,
    /// Root over the cumulative reward table after this epoch.
    pub rewards_root: Hash32,
    /// The rated games, canonical order.
    pub games: Vec<GameResult>,
    /// Ratings after the epoch.
    pub ratings: Ratings,
    /// Per-player standings.
    pub standings: BTreeMap<PlayerId, Standing>,
    /// What the pot paid.
    pub payout: Payout,
    /// Cumulative balances after the epoch.
    pub rewards: RewardTable,
}

impl EpochLedger {
    /// An empty ledger for `epoch`.
    pub fn new(epoch: u64) -> Self {
        Self {
            epoch,
            ..Self::default()
        }
    }

    /// The epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Accepted records, by id.
    pub fn outcomes(&self) -> &BTreeMap<Hash32, OutcomeRecord> {
        &self.outcomes
    }

    /// Verifies and adds an outcome record.
    pub fn add_outcome(&mut self, record: OutcomeRecord) -> Result<Added, LedgerError> {
        let epoch = record.payload.header.epoch;
        if epoch != self.epoch {
            return Err(LedgerError::WrongEpoch {
                expected: self.epoch,
                got: epoch,
            });
        }
        let id = record.id();
        if self.outcomes.contains_key(&id) {
            return Ok(Added::Duplicate);
        }
        verify(&record)?;
        let match_id = record.payload.header.match_id();
        if let Some(other_id) = self.by_match.get(&match_id).copied()
            && let Some(other) = self.outcomes.get(&other_id).cloned()
        {
            let evidence = Evidence::ConflictingResults {
                first: other,
                second: record.clone(),
            };
            self.disputed.insert(match_id);
            self.outcomes.insert(id, record);
            self.add_evidence(evidence.clone())?;
            return Ok(Added::Conflict(Box::new(evidence)));
        }
        self.by_match.insert(match_id, id);
        self.outcomes.insert(id, record);
        Ok(Added::New)
    }

    /// Checks and adds a timeout claim.
    pub fn add_claim(&mut self, claim: TimeoutClaim) -> Result<Added, LedgerError> {
        if claim.header.epoch != self.epoch {
            return Err(LedgerError::WrongEpoch {
                expected: self.epoch,
                got: claim.header.epoch,
            });
        }
        let key = keccak256(&[&claim.to_bytes()]);
        if self.claims.contains_key(&key) {
            return Ok(Added::Duplicate);
        }
        let checked =
            check_claim_conversation(&claim).map_err(|e| LedgerError::Rejected(e.to_string()))?;
        // An answer that came first voids the claim as if it came after.
        let (accused, conversation) = &checked;
        if self
            .held_answers
            .values()
            .any(|a| answers_checked_claim(accused, conversation, a))
        {
            self.answered.insert(key);
        }
        self.checked.insert(key, checked);
        self.claims.insert(key, claim);
        Ok(Added::New)
    }

    /// Records an answer: the claims it answers are void. An answer that answers no claim
    /// known yet is held, and voids the claims it answers when they arrive
    /// ([`Added::Held`]), so the summary does not depend on which came first.
    pub fn add_answer(&mut self, answer: &MatchMessage) -> Result<Added, LedgerError> {
        // Only a claim of the answer's own match can be answered (the conversation refuses
        // other matches' messages), and the claims were checked when added: one signature
        // to verify per candidate claim.
        let hit: Vec<Hash32> = self
            .checked
            .iter()
            .filter(|(_, (_, conv))| conv.match_id() == answer.match_id)
            .filter(|(_, (accused, conv))| answers_checked_claim(accused, conv, answer))
            .map(|(k, _)| *k)
            .collect();
        if hit.is_empty() {
            answer
                .verify_signature()
                .map_err(|e| LedgerError::Rejected(e.to_string()))?;
            let key = keccak256(&[&crate::wire::encode(answer)]);
            return Ok(match self.held_answers.insert(key, answer.clone()) {
                None => Added::Held,
                Some(_) => Added::Duplicate,
            });
        }
        let mut added = Added::Duplicate;
        for k in hit {
            if self.answered.insert(k) {
                added = Added::New;
            }
        }
        Ok(added)
    }

    /// Verifies and adds evidence of fraud.
    pub fn add_evidence(&mut self, evidence: Evidence) -> Result<Added, LedgerError> {
        let culprit =
            verify_evidence(&evidence).map_err(|e| LedgerError::Rejected(e.to_string()))?;
        let key = keccak256(&[&crate::wire::encode(&evidence)]);
        if self.evidence.insert(key, evidence).is_some() {
            return Ok(Added::Duplicate);
        }
        // One key per culprit, the lowest: the same whatever order the evidence came in.
        self.convicted
            .entry(culprit)
            .and_modify(|k| *k = (*k).min(key))
            .or_insert(key);
        Ok(Added::New)
    }

    /// Closes the epoch: ratings from `before`, the pot from `entries` (player, fee paid), and
    /// the reward table from `rewards_before`.
    pub fn close(
        &self,
        before: &Ratings,
        params: &Glicko2Params,
        entries: &BTreeMap<PlayerId, u128>,
        rewards_before: &RewardTable,
    ) -> Result<EpochSummary, EconomicsError> {
        let mut leaves = Vec::new();
        let mut games = Vec::new();
        let mut standings: BTreeMap<PlayerId, Standing> = entries
            .keys()
            .map(|id| (*id, Standing::default()))
            .collect();
        let mut settled_matches = BTreeSet::new();
        for (id, record) in &self.outcomes {
            let h = &record.payload.header;
            let match_id = h.match_id();
            settled_matches.insert(match_id);
            if self.disputed.contains(&match_id) {
                continue;
            }
            leaves.push(leaf_hash(&[&[1u8][..], &id.0].concat()));
            let score_a = match record.payload.result {
                Outcome::Winner(0) => Score::Win,
                Outcome::Winner(_) => Score::Loss,
                Outcome::Draw | Outcome::Score(_) => Score::Draw,
            };
            games.push(GameResult {
                a: h.a,
                b: h.b,
                score_a,
            });
            tally(&mut standings, h.a, score_a);
            tally(&mut standings, h.b, score_a.flip());
        }
        // Unanswered, valid claims by keys not convicted of fraud in the epoch (a cheat cannot
        // win by timeout), per match.
        let mut open: BTreeMap<Hash32, Vec<(&Hash32, &TimeoutClaim, PlayerId)>> = BTreeMap::new();
        for (key, claim) in &self.claims {
            let match_id = claim.header.match_id();
            if self.answered.contains(key)
                || settled_matches.contains(&match_id)
                || self.convicted.contains_key(&claim.claimant)
            {
                continue;
            }
            // Checked when added.
            if let Some((accused, _)) = self.checked.get(key) {
                open.entry(match_id)
                    .or_default()
                    .push((key, claim, *accused));
            }
        }
        for (match_id, claims) in open {
            // Both sides claiming the other is silent (a partition, or a withheld message
            // published in a claim): no forfeit for either.
            let accused: BTreeSet<PlayerId> = claims.iter().map(|c| c.2).collect();
            if accused.len() > 1 {
                continue;
            }
            // One forfeit per match, whatever the number of claims about it: the first by key.
            let Some(&(key, claim, accused)) = claims.first() else {
                continue;
            };
            settled_matches.insert(match_id);
            leaves.push(leaf_hash(&[&[2u8][..], &key.0].concat()));
            games.push(GameResult {
                a: claim.claimant,
                b: accused,
                score_a: Score::Win,
            });
            tally(&mut standings, claim.claimant, Score::Win);
            tally(&mut standings, accused, Score::Loss);
            let s = standings.entry(accused).or_default();
            s.forfeits = s.forfeits.saturating_add(1);
        }
        for culprit in self.convicted.keys() {
            standings.entry(*culprit).or_default().fraud = true;
        }
        leaves.sort();
        let outcomes_root = MerkleTree::new(leaves).root();
        let ratings = rate_period(before, &games, params);
        let pot = entries
            .values()
            .try_fold(0u128, |acc, fee| acc.checked_add(*fee))
            .ok_or(EconomicsError::Overflow)?;
        // Only entrants share the pot.
        let paying: BTreeMap<PlayerId, Standing> = standings
            .iter()
            .filter(|(id, _)| entries.contains_key(id))
            .map(|(id, s)| (*id, *s))
            .collect();
        let payout = split_pot(pot, &paying)?;
        let mut rewards = rewards_before.clone();
        rewards.credit(&payout)?;
        rewards.convicted.extend(slash_list(&standings));
        Ok(EpochSummary {
            epoch: self.epoch,
            outcomes_root,
            rewards_root: rewards.root(),
            games,
            ratings,
            standings,
            payout,
            rewards,
        })
    }
}

fn tally(standings: &mut BTreeMap<PlayerId, Standing>, player: PlayerId, score: Score) {
    let s = standings.entry(player).or_default();
    match score {
        Score::Win => s.wins = s.wins.saturating_add(1),
        Score::Draw => s.draws = s.draws.saturating_add(1),
        Score::Loss => s.losses = s.losses.saturating_add(1),
    }
}
