//! Pairing: who plays whom in a league round, decided by a public draw so that no node can
//! choose its opponents.
//!
//! The entrants are sorted by rating (highest first; ties by the conservative rating, then by
//! id), cut into bands of [`PairingParams::band`] consecutive players, and each band is
//! shuffled with a ChaCha8 stream keyed by `keccak256("nets/pairing" ++ beacon ++ epoch ++
//! round ++ band index)`; neighbours in the shuffled band play, the first of each pair taking
//! seat A. An odd player out of a band moves down to the next band; the last one sits out the
//! round (a bye). The beacon is public randomness both sides can check, such as the previous
//! epoch's anchored outcomes root. Every node with the same entrants, ratings and beacon
//! computes the same pairings.

use nets_envs::GameRng;

use crate::hash::{Hash32, keccak256};
use crate::identity::PlayerId;
use crate::rating::{Glicko2Params, PlayerRating, Ratings};

/// How rounds are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairingParams {
    /// Players per rating band (at least 2). Smaller bands pair closer ratings but make the
    /// draw more predictable.
    pub band: usize,
}

impl Default for PairingParams {
    fn default() -> Self {
        Self { band: 8 }
    }
}

/// One pairing: `a` takes seat A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pairing {
    /// Seat A (commits first).
    pub a: PlayerId,
    /// Seat B.
    pub b: PlayerId,
}

/// The pairings of one round, and the player left without an opponent, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    /// Who plays whom.
    pub pairs: Vec<Pairing>,
    /// The player who sits out.
    pub bye: Option<PlayerId>,
}

/// Draws round `round` of `epoch` among `entrants` (duplicates are ignored).
pub fn draw_round(
    entrants: &[PlayerId],
    ratings: &Ratings,
    beacon: &Hash32,
    epoch: u64,
    round: u32,
    params: PairingParams,
) -> Round {
    let default: PlayerRating = Glicko2Params::default().new_player();
    let mut sorted: Vec<(i64, i64, PlayerId)> = entrants
        .iter()
        .map(|id| {
            let c = ratings.get(id).unwrap_or(&default).canonical();
            let conservative = c
                .rating_milli
                .saturating_sub(c.deviation_milli.saturating_mul(2));
            (c.rating_milli, conservative, *id)
        })
        .collect();
    sorted.sort_by(|x, y| y.0.cmp(&x.0).then(y.1.cmp(&x.1)).then(x.2.cmp(&y.2)));
    sorted.dedup_by_key(|e| e.2);
    let band = params.band.max(2);
    let mut pairs = Vec::new();
    let mut carry: Option<PlayerId> = None;
    for (index, chunk) in sorted.chunks(band).enumerate() {
        let mut players: Vec<PlayerId> = carry.take().into_iter().collect();
        players.extend(chunk.iter().map(|e| e.2));
        let key = keccak256(&[
            b"nets/pairing",
            &beacon.0,
            &epoch.to_le_bytes(),
            &round.to_le_bytes(),
            &(index as u64).to_le_bytes(),
        ]);
        GameRng::from_seed(key.0).shuffle(&mut players);
        let mut it = players.chunks_exact(2);
        for pair in &mut it {
            if let [a, b] = pair {
                pairs.push(Pairing { a: *a, b: *b });
            }
        }
        carry = it.remainder().first().copied();
    }
    Round { pairs, bye: carry }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn players(n: u8) -> Vec<PlayerId> {
        (0..n).map(|i| PlayerId([i; 32])).collect()
    }

    #[test]
    fn everyone_plays_once_and_the_draw_is_reproducible() {
        let ps = players(21);
        let ratings = Ratings::new();
        let beacon = Hash32([9; 32]);
        let r1 = draw_round(&ps, &ratings, &beacon, 3, 0, PairingParams::default());
        let r2 = draw_round(&ps, &ratings, &beacon, 3, 0, PairingParams::default());
        assert_eq!(r1, r2);
        let mut seen = BTreeSet::new();
        for p in &r1.pairs {
            assert_ne!(p.a, p.b);
            assert!(seen.insert(p.a) && seen.insert(p.b));
        }
        assert_eq!(r1.pairs.len(), 10);
        assert!(r1.bye.is_some_and(|b| !seen.contains(&b)));
        // The input order does not matter.
        let mut reversed = ps.clone();
        reversed.reverse();
        assert_eq!(
            draw_round(&reversed, &ratings, &beacon, 3, 0, PairingParams::default()),
            r1
        );
        // Another beacon gives another draw.
        let other = draw_round(
            &ps,
            &ratings,
            &Hash32([8; 32]),
            3,
            0,
            PairingParams::default(),
        );
        assert_ne!(other, r1);
    }

    #[test]
    fn pairs_stay_within_rating_bands() {
        let ps = players(32);
        let params = Glicko2Params::default();
        let mut ratings = Ratings::new();
        for (i, p) in ps.iter().enumerate() {
            let mut r = params.new_player();
            r.rating = 1000.0 + 50.0 * i as f64;
            ratings.insert(*p, r);
        }
        for round in 0..10 {
            let r = draw_round(
                &ps,
                &ratings,
                &Hash32([1; 32]),
                0,
                round,
                PairingParams { band: 4 },
            );
            for p in &r.pairs {
                let band = |id: &PlayerId| (31 - usize::from(id.0[0])) / 4;
                assert_eq!(band(&p.a), band(&p.b), "{p:?} crosses bands");
            }
        }
    }
}
