//! Keys: the secp256k1 account a node sends transactions and signs attestations with, and the
//! binding of that account to the node's ed25519 identity.
//!
//! A node's identity is an ed25519 key (its player id and libp2p identity); the chain needs a
//! secp256k1 account. A node either loads an explicit account key (a file or an environment
//! variable holding 32 hex bytes, for real deployments where the account is funded on
//! purpose) or, on devnets, derives it from its ed25519 secret:
//!
//! ```text
//! k_i = keccak256("nets/secp256k1-account/v1" ++ ed25519 secret (32 bytes) ++ i (u32, big-endian))
//! ```
//!
//! for `i = 0, 1, …`, the first `k_i` that is a valid secp256k1 scalar (non-zero, below the
//! group order; `i = 0` fails with probability about 2^-128). The derivation is one-way (the
//! account key reveals nothing of the ed25519 secret) and domain-separated (the digest can
//! never collide with another use of the secret).

use std::fmt;
use std::path::Path;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use nets_tournament::hash::keccak256;
use nets_tournament::identity::{Keypair, PlayerId};

use crate::Error;

/// The domain tag of the account key derivation.
pub const DERIVATION_DOMAIN: &[u8] = b"nets/secp256k1-account/v1";

/// The domain tag of the ed25519 signature over an account binding.
pub const BINDING_DOMAIN: &[u8] = b"nets/1/account-binding\0";

/// A secp256k1 account key: sends transactions and signs attestations.
#[derive(Clone)]
pub struct AccountKey {
    signer: PrivateKeySigner,
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({})", self.address())
    }
}

impl AccountKey {
    /// The account key derived from an ed25519 secret (see the module docs). For devnets and
    /// simulations: anyone holding the node's identity secret holds this key too.
    pub fn derive_from_ed25519(secret: &[u8; 32]) -> Self {
        let mut counter: u32 = 0;
        loop {
            let digest = keccak256(&[DERIVATION_DOMAIN, secret, &counter.to_be_bytes()]);
            if let Ok(signer) = PrivateKeySigner::from_bytes(&B256::from(digest.0)) {
                return Self { signer };
            }
            counter = counter.wrapping_add(1);
        }
    }

    /// The account key derived from a node's identity (see [`Self::derive_from_ed25519`]).
    pub fn derive_from_identity(identity: &Keypair) -> Self {
        Self::derive_from_ed25519(&identity.secret())
    }

    /// An explicit key: 32 bytes, a valid secp256k1 scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        PrivateKeySigner::from_bytes(&B256::from(*bytes))
            .map(|signer| Self { signer })
            .map_err(|e| Error::InvalidKey(e.to_string()))
    }

    /// An explicit key written as 64 hex digits, with or without `0x`, surrounding whitespace
    /// ignored.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = hex::decode(digits).map_err(|e| Error::InvalidKey(format!("not hex: {e}")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| Error::InvalidKey(format!("{} bytes, expected 32", b.len())))?;
        Self::from_bytes(&bytes)
    }

    /// An explicit key from a file holding it in hex (see [`Self::from_hex`]).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidKey(format!("cannot read {}: {e}", path.display())))?;
        Self::from_hex(&text).map_err(|e| Error::InvalidKey(format!("{}: {e}", path.display())))
    }

    /// An explicit key from the environment variable `name`, in hex.
    pub fn from_env(name: &str) -> Result<Self, Error> {
        let text = std::env::var(name)
            .map_err(|e| Error::InvalidKey(format!("environment variable {name}: {e}")))?;
        Self::from_hex(&text).map_err(|e| Error::InvalidKey(format!("{name}: {e}")))
    }

    /// The account address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The key bytes (for a key file).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.signer.to_bytes().0
    }

    /// The alloy signer, for use with an alloy wallet.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// Signs a 32-byte digest, returning the compact (EIP-2098) form the contract takes:
    /// `r` and `s` with the recovery parity in the top bit of `s`.
    pub(crate) fn sign_digest(&self, digest: &B256) -> Result<(B256, B256), Error> {
        let signature = self
            .signer
            .sign_hash_sync(digest)
            .map_err(|e| Error::InvalidKey(format!("signing failed: {e}")))?;
        let mut vs = signature.s();
        if signature.v() {
            vs.set_bit(255, true);
        }
        Ok((B256::from(signature.r()), B256::from(vs)))
    }
}

/// The bytes a node's ed25519 key signs to bind `account` on `chain_id`'s `contract`:
/// `"nets/1/account-binding\0" ++ chain id (32 bytes, big-endian) ++ contract (20 bytes) ++
/// account (20 bytes)`.
pub fn binding_message(chain_id: u64, contract: Address, account: Address) -> Vec<u8> {
    let mut message = Vec::with_capacity(BINDING_DOMAIN.len().saturating_add(72));
    message.extend_from_slice(BINDING_DOMAIN);
    message.extend_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    message.extend_from_slice(contract.as_slice());
    message.extend_from_slice(account.as_slice());
    message
}

/// The ed25519 signature of `identity` over the binding of `account` (see
/// [`binding_message`]).
pub fn sign_binding(
    identity: &Keypair,
    chain_id: u64,
    contract: Address,
    account: Address,
) -> [u8; 64] {
    let key = SigningKey::from_bytes(&identity.secret());
    key.sign(&binding_message(chain_id, contract, account))
        .to_bytes()
}

/// Whether `signature` is `player`'s valid (strict) signature over the binding of `account`:
/// the check the network makes off chain for every `KeyBound` event.
pub fn verify_binding(
    player: &PlayerId,
    chain_id: u64,
    contract: Address,
    account: Address,
    signature: &[u8; 64],
) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&player.0) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    let message = binding_message(chain_id, contract, account);
    key.verify_strict(&message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_domain_separated() {
        let a = AccountKey::derive_from_ed25519(&[7; 32]);
        let b = AccountKey::derive_from_ed25519(&[7; 32]);
        let c = AccountKey::derive_from_ed25519(&[8; 32]);
        assert_eq!(a.address(), b.address());
        assert_ne!(a.address(), c.address());
        let expected = keccak256(&[DERIVATION_DOMAIN, &[7; 32], &0u32.to_be_bytes()]);
        assert_eq!(a.to_bytes(), expected.0);
        // The raw secret is not the key.
        assert_ne!(a.to_bytes(), [7; 32]);
    }

    #[test]
    fn explicit_keys_parse_and_bad_ones_are_refused() {
        let key = AccountKey::derive_from_ed25519(&[1; 32]);
        let text = format!("0x{}\n", hex::encode(key.to_bytes()));
        assert_eq!(
            AccountKey::from_hex(&text).unwrap().address(),
            key.address()
        );
        assert!(matches!(
            AccountKey::from_hex("0x1234"),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(
            AccountKey::from_hex("zz"),
            Err(Error::InvalidKey(_))
        ));
        // Zero is not a secp256k1 scalar.
        assert!(AccountKey::from_bytes(&[0; 32]).is_err());
        assert!(AccountKey::from_bytes(&[0xff; 32]).is_err());
        let missing = AccountKey::from_file(Path::new("/nonexistent/nets/key"));
        assert!(matches!(missing, Err(Error::InvalidKey(_))));
    }

    #[test]
    fn bindings_verify_only_for_their_account() {
        let identity = Keypair::from_secret([3; 32]);
        let contract = Address::repeat_byte(0xcc);
        let account = AccountKey::derive_from_identity(&identity).address();
        let signature = sign_binding(&identity, 31337, contract, account);
        assert!(verify_binding(
            &identity.id(),
            31337,
            contract,
            account,
            &signature
        ));
        assert!(!verify_binding(
            &identity.id(),
            1,
            contract,
            account,
            &signature
        ));
        assert!(!verify_binding(
            &identity.id(),
            31337,
            contract,
            Address::repeat_byte(1),
            &signature
        ));
        let other = Keypair::from_secret([4; 32]);
        assert!(!verify_binding(
            &other.id(),
            31337,
            contract,
            account,
            &signature
        ));
    }
}
