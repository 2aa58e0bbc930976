//! The one source of randomness inside an environment.
//!
//! Every random choice a game makes comes from a [`GameRng`]: ChaCha with 8 rounds, keyed by
//! the 32-byte match seed, stream 0, read as little-endian 32-bit words from word 0. Bounded
//! integers are drawn with [`GameRng::below`], whose algorithm is fixed here rather than
//! borrowed from a general-purpose crate, so that a change of library version can never change
//! a game.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// A seeded, reproducible random stream (ChaCha8).
#[derive(Clone, Debug, PartialEq)]
pub struct GameRng {
    inner: ChaCha8Rng,
}

impl GameRng {
    /// A stream keyed by `seed`, positioned at word 0.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            inner: ChaCha8Rng::from_seed(seed),
        }
    }

    /// The next raw 32-bit word of the stream.
    #[inline]
    pub fn next_word(&mut self) -> u32 {
        self.inner.next_u32()
    }

    /// A uniform integer in `0..n`, by Lemire's multiply-and-reject method on 32-bit words:
    /// take a word `x`, form the 64-bit product `x * n`; if its low half is below
    /// `2^32 mod n` draw again, otherwise the high half is the answer. `n == 0` returns 0
    /// without drawing.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        // Lemire's "nearly divisionless" form of the same method: the threshold `2^32 mod n`
        // is below `n`, so a low half of at least `n` is accepted without computing it (the
        // division). Same words drawn, same answers.
        let mut product = u64::from(self.next_word()) * u64::from(n);
        if (product as u32) < n {
            let threshold = n.wrapping_neg() % n;
            while (product as u32) < threshold {
                product = u64::from(self.next_word()) * u64::from(n);
            }
        }
        (product >> 32) as u32
    }

    /// Shuffles `items` in place with Fisher–Yates, from the last index down: for `i` from
    /// `len - 1` to 1, swap `items[i]` with `items[below(i + 1)]`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// How many 32-bit words have been drawn so far.
    pub fn word_pos(&self) -> u128 {
        self.inner.get_word_pos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_is_reproducible() {
        let mut a = GameRng::from_seed([7; 32]);
        let mut b = GameRng::from_seed([7; 32]);
        for n in 1..500u32 {
            let x = a.below(n);
            assert!(x < n);
            assert_eq!(x, b.below(n));
        }
        assert_eq!(a.below(0), 0);
    }

    /// The textbook form of `below`, computing the threshold on every call.
    fn below_reference(rng: &mut GameRng, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u64::from(rng.next_word()) * u64::from(n);
            if (product as u32) >= threshold {
                return (product >> 32) as u32;
            }
        }
    }

    #[test]
    fn below_matches_the_textbook_form() {
        let mut a = GameRng::from_seed([3; 32]);
        let mut b = GameRng::from_seed([3; 32]);
        // Small bounds, bounds near powers of two and bounds above 2^31 (where about half the
        // words are rejected), so that rejections are exercised.
        let bounds = (0..700u32)
            .chain((1..32).flat_map(|k| [(1u32 << k) - 1, 1 << k, (1 << k) + 1]))
            .chain([u32::MAX, u32::MAX - 1, (1 << 31) + 12_345, 3_000_000_000]);
        for n in bounds {
            for _ in 0..20 {
                assert_eq!(a.below(n), below_reference(&mut b, n), "n = {n}");
                assert_eq!(a.word_pos(), b.word_pos(), "n = {n}");
            }
        }
    }

    #[test]
    fn stream_is_chacha8_from_word_zero() {
        // The first word of ChaCha8 keyed with zeros, stream 0, counter 0 (a published test
        // vector of the ChaCha8 keystream: 3e00ef2f...).
        let mut rng = GameRng::from_seed([0; 32]);
        assert_eq!(rng.next_word().to_le_bytes(), [0x3e, 0x00, 0xef, 0x2f]);
        assert_eq!(rng.word_pos(), 1);
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut rng = GameRng::from_seed([1; 32]);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[rng.below(6) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }
}
