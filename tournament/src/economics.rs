//! The economics of a league epoch: entry fees into a pot, the pot paid out by performance,
//! penalties for proven fraud and forfeits, and the cumulative reward table whose Merkle root
//! the settlement contract pays claims against. The rules are set out in `docs/economics.md`.
//!
//! Amounts are integers in the token's base unit; every sum is checked, and the payouts of an
//! epoch add up to exactly its pot (no unit created or lost).

use std::collections::{BTreeMap, BTreeSet};

use crate::hash::Hash32;
use crate::identity::PlayerId;
use crate::merkle::{MerkleTree, Proof, leaf_hash};

/// Points a result is worth in the pot's split.
pub const WIN_POINTS: u128 = 2;
/// Points of a draw.
pub const DRAW_POINTS: u128 = 1;

/// The fee schedule of a league's tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeSchedule {
    /// Entry fee of tier 0, in base units.
    pub base_fee: u128,
    /// Each tier up multiplies the fee by this.
    pub tier_factor: u128,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self {
            base_fee: 1_000_000,
            tier_factor: 4,
        }
    }
}

impl FeeSchedule {
    /// The entry fee of `tier`, or `None` if it overflows.
    pub fn fee(&self, tier: u8) -> Option<u128> {
        self.tier_factor
            .checked_pow(u32::from(tier))?
            .checked_mul(self.base_fee)
    }
}

/// One player's record in a league epoch, for the payout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// Wins (including wins by the opponent's forfeit).
    pub wins: u32,
    /// Draws.
    pub draws: u32,
    /// Losses.
    pub losses: u32,
    /// Timeout forfeits this player was found guilty of.
    pub forfeits: u32,
    /// Whether evidence convicted this player of fraud in the epoch.
    pub fraud: bool,
}

impl Standing {
    /// Points toward the pot: 2 per win, 1 per draw; none for a player who forfeited or
    /// cheated in the epoch.
    pub fn points(&self) -> u128 {
        if self.fraud || self.forfeits > 0 {
            return 0;
        }
        u128::from(self.wins)
            .saturating_mul(WIN_POINTS)
            .saturating_add(u128::from(self.draws).saturating_mul(DRAW_POINTS))
    }
}

/// Why a payout could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EconomicsError {
    /// A sum overflowed `u128`.
    #[error("amount overflow")]
    Overflow,
}

/// Splits `pot` among `standings` by points: `pot * points / total` each (rounded down), the
/// remainder to the player with the most points (ties: lowest id). With no points at all
/// (nobody won or drew, or all were penalised) every entrant that is not convicted of fraud
/// gets its fee back, in equal shares of the pot, remainder as above; with no such entrant the
/// pot is returned to no one and carried over (`carried`).
pub fn split_pot(
    pot: u128,
    standings: &BTreeMap<PlayerId, Standing>,
) -> Result<Payout, EconomicsError> {
    let mut weights: Vec<(PlayerId, u128)> =
        standings.iter().map(|(id, s)| (*id, s.points())).collect();
    let total: u128 = weights
        .iter()
        .try_fold(0u128, |acc, (_, w)| acc.checked_add(*w))
        .ok_or(EconomicsError::Overflow)?;
    if total == 0 {
        weights = standings
            .iter()
            .filter(|(_, s)| !s.fraud)
            .map(|(id, _)| (*id, 1))
            .collect();
    }
    let total: u128 = weights.iter().map(|(_, w)| *w).sum();
    let mut paid = BTreeMap::new();
    if total == 0 || pot == 0 {
        return Ok(Payout { paid, carried: pot });
    }
    let mut distributed = 0u128;
    for (id, w) in &weights {
        let share = mul_div(pot, *w, total).ok_or(EconomicsError::Overflow)?;
        distributed = distributed
            .checked_add(share)
            .ok_or(EconomicsError::Overflow)?;
        if share > 0 {
            paid.insert(*id, share);
        }
    }
    let dust = pot
        .checked_sub(distributed)
        .ok_or(EconomicsError::Overflow)?;
    if dust > 0 {
        let top = weights
            .iter()
            .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)))
            .map(|(id, _)| *id);
        if let Some(top) = top {
            let entry = paid.entry(top).or_insert(0);
            *entry = entry.checked_add(dust).ok_or(EconomicsError::Overflow)?;
        }
    }
    Ok(Payout { paid, carried: 0 })
}

/// `a * b / c` without intermediate overflow for `b <= c` (shares never exceed the pot).
fn mul_div(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    // a * b / c = (a / c) * b + (a % c) * b / c, each term bounded when b <= c.
    let q = a.checked_div(c)?.checked_mul(b)?;
    let r = a.checked_rem(c)?.checked_mul(b)?.checked_div(c)?;
    q.checked_add(r)
}

/// What an epoch's pot paid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payout {
    /// Amount per player (players paid nothing are absent).
    pub paid: BTreeMap<PlayerId, u128>,
    /// Pot left unpaid, carried to the next epoch.
    pub carried: u128,
}

/// Cumulative claimable balances: the Merkle leaves of reward claims. A player claims the
/// difference between its cumulative balance and what it already claimed, so one proof
/// against the latest root settles everything owed so far.
///
/// The same tree lists the players convicted of fraud so far, one leaf each after the balance
/// leaves: with the rewards root, the stakers who attest it vouch for the convictions, and the
/// contract slashes a convicted player's stake on a proof of its leaf (`slashConvicted`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewardTable {
    /// Cumulative balance per player.
    pub balances: BTreeMap<PlayerId, u128>,
    /// Players convicted of fraud, in this epoch or before (cumulative, like the balances).
    pub convicted: BTreeSet<PlayerId>,
}

impl RewardTable {
    /// Adds an epoch's payout.
    pub fn credit(&mut self, payout: &Payout) -> Result<(), EconomicsError> {
        for (id, amount) in &payout.paid {
            let b = self.balances.entry(*id).or_insert(0);
            *b = b.checked_add(*amount).ok_or(EconomicsError::Overflow)?;
        }
        Ok(())
    }

    /// The total of all balances.
    pub fn total(&self) -> Option<u128> {
        self.balances
            .values()
            .try_fold(0u128, |acc, v| acc.checked_add(*v))
    }

    /// The leaf of `player`: `leaf_hash(player key (32 bytes) ++ balance (16 bytes,
    /// big-endian))`.
    pub fn leaf(player: &PlayerId, balance: u128) -> Hash32 {
        let mut bytes = [0u8; 48];
        let (key, amount) = bytes.split_at_mut(32);
        key.copy_from_slice(&player.0);
        amount.copy_from_slice(&balance.to_be_bytes());
        leaf_hash(&bytes)
    }

    /// The leaf that lists `player` as convicted: `leaf_hash(player key (32 bytes))`, a key
    /// alone, where a balance leaf has 16 more bytes.
    pub fn conviction_leaf(player: &PlayerId) -> Hash32 {
        leaf_hash(&player.0)
    }

    /// The Merkle tree: the balance leaves in player order, then the conviction leaves in
    /// player order. Without convictions it is the tree of the balances alone.
    pub fn tree(&self) -> MerkleTree {
        MerkleTree::new(
            self.balances
                .iter()
                .map(|(id, b)| Self::leaf(id, *b))
                .chain(self.convicted.iter().map(Self::conviction_leaf)),
        )
    }

    /// The root to anchor.
    pub fn root(&self) -> Hash32 {
        self.tree().root()
    }

    /// The claim proof of `player`: its balance and Merkle proof.
    pub fn proof(&self, player: &PlayerId) -> Option<(u128, Proof)> {
        let index = self.balances.keys().position(|k| k == player)?;
        let balance = *self.balances.get(player)?;
        Some((balance, self.tree().proof(index)?))
    }

    /// The proof that `player` is listed as convicted, if it is.
    pub fn conviction_proof(&self, player: &PlayerId) -> Option<Proof> {
        let index = self.convicted.iter().position(|k| k == player)?;
        self.tree().proof(self.balances.len().checked_add(index)?)
    }

    /// Every convicted player with the proof of its conviction, from one tree (none built
    /// when nobody is convicted).
    pub fn conviction_proofs(&self) -> Vec<(PlayerId, Proof)> {
        if self.convicted.is_empty() {
            return Vec::new();
        }
        let tree = self.tree();
        let offset = self.balances.len();
        self.convicted
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((*p, tree.proof(offset.checked_add(i)?)?)))
            .collect()
    }
}

/// Players to slash, from the epoch's convictions.
pub fn slash_list(standings: &BTreeMap<PlayerId, Standing>) -> BTreeSet<PlayerId> {
    standings
        .iter()
        .filter(|(_, s)| s.fraud)
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(i: u8) -> PlayerId {
        PlayerId([i; 32])
    }

    #[test]
    fn pot_is_split_by_points_with_the_dust_to_the_top() {
        let mut s = BTreeMap::new();
        s.insert(
            id(1),
            Standing {
                wins: 2,
                ..Standing::default()
            },
        );
        s.insert(
            id(2),
            Standing {
                draws: 1,
                losses: 1,
                ..Standing::default()
            },
        );
        s.insert(
            id(3),
            Standing {
                losses: 2,
                ..Standing::default()
            },
        );
        let p = split_pot(100, &s).unwrap();
        // Points 4, 1, 0 of 5: 80 and 20.
        assert_eq!(p.paid.get(&id(1)), Some(&80));
        assert_eq!(p.paid.get(&id(2)), Some(&20));
        assert_eq!(p.paid.get(&id(3)), None);
        let p = split_pot(101, &s).unwrap();
        assert_eq!(p.paid.get(&id(1)), Some(&81));
    }

    #[test]
    fn forfeits_and_fraud_earn_nothing() {
        let mut s = BTreeMap::new();
        s.insert(
            id(1),
            Standing {
                wins: 3,
                forfeits: 1,
                ..Standing::default()
            },
        );
        s.insert(
            id(2),
            Standing {
                wins: 1,
                fraud: true,
                ..Standing::default()
            },
        );
        s.insert(
            id(3),
            Standing {
                draws: 1,
                ..Standing::default()
            },
        );
        let p = split_pot(90, &s).unwrap();
        assert_eq!(p.paid.len(), 1);
        assert_eq!(p.paid.get(&id(3)), Some(&90));
        assert_eq!(slash_list(&s).into_iter().collect::<Vec<_>>(), vec![id(2)]);
    }

    #[test]
    fn fees_grow_by_tier_and_overflow_is_caught() {
        let f = FeeSchedule::default();
        assert_eq!(f.fee(0), Some(1_000_000));
        assert_eq!(f.fee(2), Some(16_000_000));
        assert_eq!(f.fee(200), None);
    }

    #[test]
    fn reward_proofs_verify() {
        let mut t = RewardTable::default();
        let mut payout = Payout::default();
        for i in 0..9 {
            payout.paid.insert(id(i), u128::from(i) * 1000 + 1);
        }
        t.credit(&payout).unwrap();
        t.credit(&payout).unwrap();
        let root = t.root();
        for i in 0..9 {
            let (balance, proof) = t.proof(&id(i)).unwrap();
            assert_eq!(balance, 2 * (u128::from(i) * 1000 + 1));
            assert!(crate::merkle::verify(
                root,
                RewardTable::leaf(&id(i), balance),
                &proof
            ));
            assert!(!crate::merkle::verify(
                root,
                RewardTable::leaf(&id(i), balance + 1),
                &proof
            ));
        }
    }

    #[test]
    fn convictions_are_leaves_of_the_rewards_tree_and_leave_it_alone_when_there_are_none() {
        let mut t = RewardTable::default();
        let mut payout = Payout::default();
        for i in 0..5 {
            payout.paid.insert(id(i), u128::from(i) + 1);
        }
        t.credit(&payout).unwrap();
        let balances_only =
            MerkleTree::new(t.balances.iter().map(|(p, b)| RewardTable::leaf(p, *b))).root();
        assert_eq!(t.root(), balances_only);
        assert_eq!(t.conviction_proof(&id(1)), None);
        // Player 1 has a balance and a conviction; player 9 only a conviction.
        t.convicted.extend([id(1), id(9)]);
        let root = t.root();
        assert_ne!(root, balances_only);
        for p in [id(1), id(9)] {
            let proof = t.conviction_proof(&p).unwrap();
            assert!(crate::merkle::verify(
                root,
                RewardTable::conviction_leaf(&p),
                &proof
            ));
            assert!(!crate::merkle::verify(
                root,
                RewardTable::conviction_leaf(&id(2)),
                &proof
            ));
        }
        assert_eq!(t.conviction_proof(&id(2)), None);
        // All at once, from one tree: the same proofs.
        let all = t.conviction_proofs();
        assert_eq!(all.len(), 2);
        for (p, proof) in all {
            assert_eq!(t.conviction_proof(&p), Some(proof));
        }
        // Balances still prove, and a balance proof proves no conviction.
        let (balance, proof) = t.proof(&id(2)).unwrap();
        assert!(crate::merkle::verify(
            root,
            RewardTable::leaf(&id(2), balance),
            &proof
        ));
        assert!(!crate::merkle::verify(
            root,
            RewardTable::conviction_leaf(&id(2)),
            &proof
        ));
        assert_eq!(t.total(), Some(15));
    }

    proptest! {
        #[test]
        fn payouts_add_up_to_the_pot(
            pot in 0u128..u128::MAX / 2,
            players in proptest::collection::vec((0u32..50, 0u32..50, 0u32..50, 0u32..2, any::<bool>()), 0..40),
        ) {
            let standings: BTreeMap<PlayerId, Standing> = players
                .iter()
                .enumerate()
                .map(|(i, &(wins, draws, losses, forfeits, fraud))| {
                    let mut key = [0u8; 32];
                    key[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    (PlayerId(key), Standing { wins, draws, losses, forfeits, fraud })
                })
                .collect();
            let p = split_pot(pot, &standings).unwrap();
            let paid: u128 = p.paid.values().sum();
            prop_assert_eq!(paid + p.carried, pot);
            for (id, _) in p.paid.iter() {
                prop_assert!(!standings[id].fraud);
            }
        }
    }
}
