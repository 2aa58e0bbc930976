//! The settlement seam: what the simulator needs from the chain, and an in-memory model of
//! the contract behind it.
//!
//! The [`Settlement`] trait is the whole interface: stakes, entries (the entrant list of a
//! league epoch is chain state, so every node pairs from the same list), a public beacon,
//! attestations with a stake quorum, reward claims by Merkle proof against the finalised
//! rewards root, and slashing on evidence. [`ModelChain`] implements it with the tournament
//! core's own checks (signature of attestations, [`merkle::verify`] for claims,
//! [`verify_evidence`] for slashing) and keeps the books: every unit entered is either paid
//! out, still claimable, or carried; the simulator checks that nothing is created or lost.
//! [`ContractChain`](crate::contract::ContractChain) runs the real contract on the embedded
//! chain behind the same trait, and is the default; the model is kept as a baseline and for
//! populations whose aggregate attestations would not fit in a block.

use std::collections::{BTreeMap, BTreeSet};

use nets_tournament::economics::RewardTable;
use nets_tournament::evidence::{Evidence, verify_evidence};
use nets_tournament::hash::{Hash32, keccak256};
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::league::Attestation;
use nets_tournament::merkle::{self, Proof};

/// Why the chain refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The key has no stake (never deposited, or slashed).
    #[error("no stake")]
    NotStaked,
    /// Already entered, attested or claimed.
    #[error("duplicate")]
    Duplicate,
    /// A signature, proof or piece of evidence does not hold.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Not enough funds in escrow.
    #[error("insufficient escrow")]
    Escrow,
    /// The backend cannot do this (the contract convicts fewer offences than the model).
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// The chain failed or reverted.
    #[error("chain: {0}")]
    Backend(String),
}

/// Public randomness for pairing a league's epoch: the block hash at the epoch's start on a
/// public chain; here a hash keyed by the run's seed, the same for both backends.
pub fn beacon(seed: u64, league: Hash32, epoch: u64) -> Hash32 {
    keccak256(&[
        b"nets/simnet/beacon",
        &seed.to_le_bytes(),
        &league.0,
        &epoch.to_le_bytes(),
    ])
}

/// Roots finalised for a league epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finalised {
    /// Outcomes root.
    pub outcomes_root: Hash32,
    /// Rewards root (cumulative table).
    pub rewards_root: Hash32,
    /// Total of the cumulative table.
    pub total: u128,
}

/// The chain as the simulator sees it.
pub trait Settlement: Send + Sync {
    /// What stands behind the trait, for reports.
    fn describe(&self) -> String;
    /// Deposits `amount` of stake for the node with `key` (which also binds the key).
    fn deposit_stake(&mut self, key: &Keypair, amount: u128) -> Result<(), ChainError>;
    /// The stake of `player`.
    fn stake(&self, player: &PlayerId) -> u128;
    /// Withdraws a departing player's stake.
    fn withdraw_stake(&mut self, player: &PlayerId) -> u128;
    /// Pays `fee` to enter `league` in `epoch`.
    fn enter(
        &mut self,
        league: Hash32,
        epoch: u64,
        player: PlayerId,
        fee: u128,
    ) -> Result<(), ChainError>;
    /// The entrants of a league epoch and their fees.
    fn entries(&self, league: Hash32, epoch: u64) -> BTreeMap<PlayerId, u128>;
    /// Public randomness for pairing the league's epoch.
    fn beacon(&self, league: Hash32, epoch: u64) -> Hash32;
    /// Records an attestation; returns the roots if this one completed a quorum.
    fn attest(&mut self, attestation: &Attestation) -> Result<Option<Finalised>, ChainError>;
    /// The finalised roots of a league epoch.
    fn finalised(&self, league: Hash32, epoch: u64) -> Option<Finalised>;
    /// The latest finalised epoch of `league`.
    fn latest(&self, league: Hash32) -> Option<(u64, Finalised)>;
    /// Pays `player` the part of its cumulative `balance` it has not claimed yet, against the
    /// latest finalised rewards root of `league`.
    fn claim(
        &mut self,
        league: Hash32,
        player: PlayerId,
        balance: u128,
        proof: &Proof,
    ) -> Result<u128, ChainError>;
    /// What `player` has claimed from `league` so far.
    fn claimed(&self, league: Hash32, player: &PlayerId) -> u128;
    /// Slashes the culprit of two conflicting attestations; returns it and the amount. Other
    /// evidence is judged off chain: it convicts in the epoch's reward table, and the
    /// conviction is slashed with [`Settlement::slash_convicted`].
    fn slash(&mut self, evidence: &Evidence) -> Result<(PlayerId, u128), ChainError>;
    /// Slashes `player`, listed as convicted in the latest finalised rewards table of
    /// `league` (its conviction leaf and `proof`); returns the amount.
    fn slash_convicted(
        &mut self,
        league: Hash32,
        player: PlayerId,
        proof: &Proof,
    ) -> Result<u128, ChainError>;
    /// Entry fees held and not yet claimed.
    fn escrow(&self) -> u128;
    /// Stake taken by slashing (kept by the chain, paid to no one).
    fn burned(&self) -> u128;
    /// Checks the backend's books against themselves (and against the chain, for a real
    /// one); names every discrepancy.
    fn audit(&mut self) -> Result<(), String>;
    /// Transactions sent and the gas they used, for a backend that runs them.
    fn usage(&self) -> Option<(u64, u64)> {
        None
    }
    /// What went wrong on the way that the caller could not see (an aggregate that did not
    /// fit in a block, ...), for the report.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The roots one attestation votes for: outcomes root, rewards root, total payout.
type Vote = (Hash32, Hash32, u128);

/// An in-memory model of the settlement contract.
#[derive(Debug, Default)]
pub struct ModelChain {
    stakes: BTreeMap<PlayerId, u128>,
    slashed: BTreeSet<PlayerId>,
    entries: BTreeMap<(Hash32, u64), BTreeMap<PlayerId, u128>>,
    escrow: u128,
    burned: u128,
    attestations: BTreeMap<(Hash32, u64), BTreeMap<PlayerId, Vote>>,
    finalised: BTreeMap<(Hash32, u64), Finalised>,
    latest: BTreeMap<Hash32, (u64, Finalised)>,
    claimed: BTreeMap<(Hash32, PlayerId), u128>,
    seed: u64,
}

impl ModelChain {
    /// A chain whose beacon is keyed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// Whether `player` was slashed.
    pub fn is_slashed(&self, player: &PlayerId) -> bool {
        self.slashed.contains(player)
    }

    /// The latest finalised rewards root of `league`: what claims and convictions prove
    /// against.
    fn rewards_root(&self, league: Hash32) -> Result<Hash32, ChainError> {
        self.latest
            .get(&league)
            .map(|(_, f)| f.rewards_root)
            .ok_or_else(|| ChainError::Invalid("nothing finalised".into()))
    }

    /// Takes `player`'s whole stake, once; with no stake there is nothing to take (the
    /// contract's `NothingToSlash`).
    fn take(&mut self, player: PlayerId) -> Result<u128, ChainError> {
        if self.slashed.contains(&player) || self.stake(&player) == 0 {
            return Err(ChainError::Duplicate);
        }
        self.slashed.insert(player);
        let amount = self.stakes.remove(&player).unwrap_or(0);
        self.burned = self.burned.saturating_add(amount);
        Ok(amount)
    }

    /// Total stake of unslashed stakers: the quorum's base.
    pub fn total_stake(&self) -> u128 {
        self.stakes.values().sum()
    }
}

impl Settlement for ModelChain {
    fn describe(&self) -> String {
        "model chain (in-memory contract model)".into()
    }

    fn deposit_stake(&mut self, key: &Keypair, amount: u128) -> Result<(), ChainError> {
        let player = key.id();
        if self.slashed.contains(&player) {
            return Err(ChainError::NotStaked);
        }
        let s = self.stakes.entry(player).or_insert(0);
        *s = s.saturating_add(amount);
        Ok(())
    }

    fn stake(&self, player: &PlayerId) -> u128 {
        self.stakes.get(player).copied().unwrap_or(0)
    }

    fn withdraw_stake(&mut self, player: &PlayerId) -> u128 {
        self.stakes.remove(player).unwrap_or(0)
    }

    fn enter(
        &mut self,
        league: Hash32,
        epoch: u64,
        player: PlayerId,
        fee: u128,
    ) -> Result<(), ChainError> {
        if self.stake(&player) == 0 {
            return Err(ChainError::NotStaked);
        }
        let list = self.entries.entry((league, epoch)).or_default();
        if list.contains_key(&player) {
            return Err(ChainError::Duplicate);
        }
        list.insert(player, fee);
        self.escrow = self.escrow.saturating_add(fee);
        Ok(())
    }

    fn entries(&self, league: Hash32, epoch: u64) -> BTreeMap<PlayerId, u128> {
        self.entries
            .get(&(league, epoch))
            .cloned()
            .unwrap_or_default()
    }

    fn beacon(&self, league: Hash32, epoch: u64) -> Hash32 {
        beacon(self.seed, league, epoch)
    }

    fn attest(&mut self, a: &Attestation) -> Result<Option<Finalised>, ChainError> {
        if self.stake(&a.signer) == 0 {
            return Err(ChainError::NotStaked);
        }
        a.verify().map_err(|e| ChainError::Invalid(e.to_string()))?;
        let key = (a.league, a.epoch);
        let votes = self.attestations.entry(key).or_default();
        if votes.contains_key(&a.signer) {
            return Err(ChainError::Duplicate);
        }
        let root = (a.outcomes_root, a.rewards_root, a.total_payout);
        votes.insert(a.signer, root);
        if self.finalised.contains_key(&key) {
            return Ok(None);
        }
        let weight: u128 = votes
            .iter()
            .filter(|(_, r)| **r == root)
            .map(|(p, _)| self.stakes.get(p).copied().unwrap_or(0))
            .sum();
        let total = self.total_stake();
        // Strictly more than two thirds of all stake.
        if weight.saturating_mul(3) > total.saturating_mul(2) {
            let f = Finalised {
                outcomes_root: a.outcomes_root,
                rewards_root: a.rewards_root,
                total: a.total_payout,
            };
            self.finalised.insert(key, f);
            let newer = self.latest.get(&a.league).is_none_or(|(e, _)| *e < a.epoch);
            if newer {
                self.latest.insert(a.league, (a.epoch, f));
            }
            return Ok(Some(f));
        }
        Ok(None)
    }

    fn finalised(&self, league: Hash32, epoch: u64) -> Option<Finalised> {
        self.finalised.get(&(league, epoch)).copied()
    }

    fn latest(&self, league: Hash32) -> Option<(u64, Finalised)> {
        self.latest.get(&league).copied()
    }

    fn claimed(&self, league: Hash32, player: &PlayerId) -> u128 {
        self.claimed.get(&(league, *player)).copied().unwrap_or(0)
    }

    fn claim(
        &mut self,
        league: Hash32,
        player: PlayerId,
        balance: u128,
        proof: &Proof,
    ) -> Result<u128, ChainError> {
        let root = self.rewards_root(league)?;
        if !merkle::verify(root, RewardTable::leaf(&player, balance), proof) {
            return Err(ChainError::Invalid("bad reward proof".into()));
        }
        let done = self.claimed.entry((league, player)).or_insert(0);
        let due = balance.saturating_sub(*done);
        if due > self.escrow {
            return Err(ChainError::Escrow);
        }
        *done = balance.max(*done);
        self.escrow = self.escrow.saturating_sub(due);
        Ok(due)
    }

    fn slash(&mut self, evidence: &Evidence) -> Result<(PlayerId, u128), ChainError> {
        if !matches!(evidence, Evidence::ConflictingAttestations { .. }) {
            return Err(ChainError::Unsupported(
                "match evidence is slashed through the reward table's convictions",
            ));
        }
        let culprit = verify_evidence(evidence).map_err(|e| ChainError::Invalid(e.to_string()))?;
        Ok((culprit, self.take(culprit)?))
    }

    fn slash_convicted(
        &mut self,
        league: Hash32,
        player: PlayerId,
        proof: &Proof,
    ) -> Result<u128, ChainError> {
        let root = self.rewards_root(league)?;
        if !merkle::verify(root, RewardTable::conviction_leaf(&player), proof) {
            return Err(ChainError::Invalid("bad conviction proof".into()));
        }
        self.take(player)
    }

    fn escrow(&self) -> u128 {
        self.escrow
    }

    fn burned(&self) -> u128 {
        self.burned
    }

    fn audit(&mut self) -> Result<(), String> {
        // The model is its own chain: only its invariant can be checked.
        let claimable: u128 = self.latest.values().map(|(_, f)| f.total).sum();
        let claimed: u128 = self.claimed.values().sum();
        if claimed > claimable {
            return Err(format!("{claimed} claimed, only {claimable} finalised"));
        }
        Ok(())
    }
}
