//! Hashing: keccak256 everywhere, so that every digest the market relies on can also be
//! recomputed in the settlement contract at the cost of one opcode.

use std::fmt;

use keccak_asm::{Digest, Keccak256};
use serde::{Deserialize, Serialize};

/// A 32-byte keccak256 digest.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hash32(#[serde(with = "crate::wire::bytes32")] pub [u8; 32]);

impl Hash32 {
    /// All zeros: the `prev` of the first message of a conversation.
    pub const ZERO: Self = Self([0; 32]);

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(self.0))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", hex::encode(self.0))
    }
}

/// keccak256 of the concatenation of `parts`.
///
/// The permutation is the CRYPTOGAMS assembly (through `keccak-asm`, the implementation alloy
/// uses): about a fifth faster per block than the portable Rust one on x86-64, and this is
/// the hash behind every transcript id, match seed and Merkle node.
pub fn keccak256(parts: &[&[u8]]) -> Hash32 {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash32(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak256_of_empty_input_is_the_ethereum_constant() {
        assert_eq!(
            keccak256(&[]).to_string(),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(keccak256(&[b"ab", b"c"]), keccak256(&[b"abc"]));
    }
}
