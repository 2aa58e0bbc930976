//! The entrant book: who entered which league for which epoch, as far as the pairing draw is
//! concerned.
//!
//! An entry counts only if it arrived before its epoch's cutoff (half-way through the epoch's
//! warm-up, before the first round is drawn): from then on every node draws from the list it
//! holds, so a late entry must not change one node's list and not another's. A node's own
//! entries always count (it re-reads them from its store after a restart).

use std::collections::BTreeMap;

use crate::hash::Hash32;
use crate::identity::PlayerId;
use crate::league::Entry;

/// Entrants by league and epoch, with the contacts their entries carry.
#[derive(Debug, Default)]
pub struct EntrantBook {
    book: BTreeMap<(Hash32, u64), BTreeMap<PlayerId, Vec<String>>>,
}

/// What [`EntrantBook::note`] did with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noted {
    /// A new entrant.
    New,
    /// The player was an entrant already; its contacts were refreshed.
    Known,
    /// The entry came after the cutoff and does not count.
    Late,
}

impl EntrantBook {
    /// Counts `entry`, which arrived at `now`, for a node whose own player is `me`; `cutoff`
    /// is when the entry's epoch's list was fixed.
    pub fn note(&mut self, entry: Entry, now: u64, cutoff: u64, me: &PlayerId) -> Noted {
        if now >= cutoff && entry.player != *me {
            return Noted::Late;
        }
        let known = self.book.entry((entry.league, entry.epoch)).or_default();
        match known.insert(entry.player, entry.contacts) {
            None => Noted::New,
            Some(_) => Noted::Known,
        }
    }

    /// The entrants of `league` in `epoch`, ascending.
    pub fn entrants(&self, league: &Hash32, epoch: u64) -> Vec<PlayerId> {
        self.book
            .get(&(*league, epoch))
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The contacts `player`'s entry into `league` for `epoch` carries.
    pub fn contacts(&self, league: &Hash32, epoch: u64, player: &PlayerId) -> &[String] {
        self.book
            .get(&(*league, epoch))
            .and_then(|m| m.get(player))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Forgets the epochs before `epoch`.
    pub fn forget_before(&mut self, epoch: u64) {
        self.book.retain(|(_, e), _| *e >= epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;

    #[test]
    fn entries_count_until_the_cutoff_and_ones_own_always() {
        let league = Hash32([1; 32]);
        let (me, other, late) = (
            Keypair::from_secret([1; 32]),
            Keypair::from_secret([2; 32]),
            Keypair::from_secret([3; 32]),
        );
        let mut book = EntrantBook::default();
        let cutoff = 1_000;
        let entry =
            |k: &Keypair, epoch| Entry::sign(k, league, epoch, vec!["/ip4/127.0.0.1/tcp/1".into()]);
        assert_eq!(
            book.note(entry(&other, 4), 10, cutoff, &me.id()),
            Noted::New
        );
        assert_eq!(
            book.note(entry(&other, 4), 20, cutoff, &me.id()),
            Noted::Known
        );
        assert_eq!(
            book.note(entry(&late, 4), cutoff, cutoff, &me.id()),
            Noted::Late
        );
        // A restarted node re-reads its own entry after the cutoff.
        assert_eq!(
            book.note(entry(&me, 4), 5_000, cutoff, &me.id()),
            Noted::New
        );
        let mut want = vec![me.id(), other.id()];
        want.sort();
        assert_eq!(book.entrants(&league, 4), want);
        assert!(book.entrants(&league, 5).is_empty());
        assert!(book.entrants(&Hash32([2; 32]), 4).is_empty());
        assert_eq!(
            book.contacts(&league, 4, &other.id()),
            ["/ip4/127.0.0.1/tcp/1"]
        );
        assert!(book.contacts(&league, 4, &late.id()).is_empty());
        book.forget_before(5);
        assert!(book.entrants(&league, 4).is_empty());
    }
}
