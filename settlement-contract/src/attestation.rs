//! Attestations: what staked accounts sign about an epoch, as EIP-712 typed data.
//!
//! Domain: `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`
//! with name `"NetsSettlement"`, version `"1"`, the chain's id and the contract's address.
//! Type: `Attestation(uint64 epoch,bytes32 outcomesRoot,bytes32 rewardsRoot,uint128 totalPayout)`.
//! A staker signs `keccak256(0x1901 ++ domainSeparator ++ hashStruct(attestation))` with its
//! secp256k1 account key; signatures travel in the compact 64-byte form of EIP-2098.

use alloy::primitives::{Address, B256, U256};
use alloy::signers::Signature as EcdsaSignature;
use alloy::sol_types::{Eip712Domain, SolStruct};
use nets_tournament::epoch::EpochSummary;
use nets_tournament::hash::Hash32;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::bindings::NetsSettlement;
use crate::keys::AccountKey;

/// The EIP-712 domain name.
pub const DOMAIN_NAME: &str = "NetsSettlement";
/// The EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";

/// The EIP-712 domain of the contract at `contract` on `chain_id`.
pub fn domain(chain_id: u64, contract: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(contract),
        None,
    )
}

/// What an epoch settles: the statement staked accounts attest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EpochRoots {
    /// The epoch.
    pub epoch: u64,
    /// Root over the epoch's accepted outcomes and forfeits.
    pub outcomes_root: Hash32,
    /// Root over the cumulative reward table after the epoch.
    pub rewards_root: Hash32,
    /// The reward table's total (cumulative), which the contract checks against its funds.
    pub total_payout: u128,
}

impl EpochRoots {
    /// The roots of a closed epoch, or `None` if its reward table's total overflows.
    pub fn from_summary(summary: &EpochSummary) -> Option<Self> {
        Some(Self {
            epoch: summary.epoch,
            outcomes_root: summary.outcomes_root,
            rewards_root: summary.rewards_root,
            total_payout: summary.rewards.total()?,
        })
    }

    /// The contract's struct.
    pub fn to_sol(&self) -> NetsSettlement::Attestation {
        NetsSettlement::Attestation {
            epoch: self.epoch,
            outcomesRoot: B256::from(self.outcomes_root.0),
            rewardsRoot: B256::from(self.rewards_root.0),
            totalPayout: self.total_payout,
        }
    }

    /// The EIP-712 digest a staker signs.
    pub fn digest(&self, domain: &Eip712Domain) -> B256 {
        self.to_sol().eip712_signing_hash(domain)
    }

    /// Signs these roots with `key` in `domain`.
    pub fn sign(
        &self,
        key: &AccountKey,
        domain: &Eip712Domain,
    ) -> Result<SignedAttestation, Error> {
        let (r, vs) = key.sign_digest(&self.digest(domain))?;
        Ok(SignedAttestation {
            roots: *self,
            signer: key.address(),
            r,
            vs,
        })
    }
}

/// A staker's signature over [`EpochRoots`]: what nodes gossip to each other, aggregate and
/// submit, and what slashing evidence is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedAttestation {
    /// What is attested.
    pub roots: EpochRoots,
    /// The account that signed (claimed; [`Self::verify`] checks it).
    pub signer: Address,
    /// The signature's `r`.
    pub r: B256,
    /// The signature's `s` with the recovery parity in its top bit (EIP-2098).
    pub vs: B256,
}

impl SignedAttestation {
    /// The contract's signature struct.
    pub fn signature(&self) -> NetsSettlement::Signature {
        NetsSettlement::Signature {
            r: self.r,
            vs: self.vs,
        }
    }

    /// Recovers the signer in `domain` and checks that it is [`Self::signer`]. Rejects the
    /// high-`s` twins the contract rejects.
    pub fn verify(&self, domain: &Eip712Domain) -> Result<(), Error> {
        let vs = U256::from_be_bytes(self.vs.0);
        let parity = vs.bit(255);
        let mut s = vs;
        s.set_bit(255, false);
        let signature = EcdsaSignature::new(U256::from_be_bytes(self.r.0), s, parity);
        if signature.normalize_s().is_some() {
            return Err(Error::InvalidAttestation(
                "signature s is in the upper half of the curve order".into(),
            ));
        }
        let recovered = signature
            .recover_address_from_prehash(&self.roots.digest(domain))
            .map_err(|e| Error::InvalidAttestation(format!("no signer recovers: {e}")))?;
        if recovered != self.signer {
            return Err(Error::InvalidAttestation(format!(
                "signed by {recovered}, not by {}",
                self.signer
            )));
        }
        Ok(())
    }
}

/// Checks that `signed` all attest `roots` with valid signatures in `domain`, and orders them
/// as the contract wants them: by signer, ascending, each signer once.
pub fn aggregate(
    roots: &EpochRoots,
    signed: &[SignedAttestation],
    domain: &Eip712Domain,
) -> Result<Vec<NetsSettlement::Signature>, Error> {
    let mut by_signer = std::collections::BTreeMap::new();
    for attestation in signed {
        if attestation.roots != *roots {
            return Err(Error::InvalidAttestation(format!(
                "{} attests other roots than those aggregated",
                attestation.signer
            )));
        }
        attestation.verify(domain)?;
        by_signer
            .entry(attestation.signer)
            .or_insert_with(|| attestation.signature());
    }
    if by_signer.is_empty() {
        return Err(Error::InvalidAttestation("no signatures".into()));
    }
    Ok(by_signer.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> EpochRoots {
        EpochRoots {
            epoch: 4,
            outcomes_root: Hash32([1; 32]),
            rewards_root: Hash32([2; 32]),
            total_payout: 1_000,
        }
    }

    #[test]
    fn signatures_verify_and_bind_their_contents_and_domain() {
        let key = AccountKey::derive_from_ed25519(&[9; 32]);
        let d = domain(31337, Address::repeat_byte(0x11));
        let signed = roots().sign(&key, &d).unwrap();
        assert!(signed.verify(&d).is_ok());
        // Another contract, chain or content: the signer no longer recovers.
        assert!(
            signed
                .verify(&domain(31337, Address::repeat_byte(0x12)))
                .is_err()
        );
        assert!(
            signed
                .verify(&domain(1, Address::repeat_byte(0x11)))
                .is_err()
        );
        let mut altered = signed;
        altered.roots.total_payout += 1;
        assert!(altered.verify(&d).is_err());
        // An s in the upper half of the order (the malleable twins) is refused.
        let half_order = U256::from_str_radix(
            "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
            16,
        )
        .unwrap();
        let mut twin = signed;
        twin.vs = B256::from(half_order + U256::from(1));
        assert!(twin.verify(&d).is_err());
    }

    #[test]
    fn aggregate_sorts_dedups_and_refuses_mixtures() {
        let d = domain(31337, Address::repeat_byte(0x11));
        let keys: Vec<AccountKey> = (0..5u8)
            .map(|i| AccountKey::derive_from_ed25519(&[i; 32]))
            .collect();
        let mut signed: Vec<SignedAttestation> =
            keys.iter().map(|k| roots().sign(k, &d).unwrap()).collect();
        signed.push(signed[0]);
        let sigs = aggregate(&roots(), &signed, &d).unwrap();
        assert_eq!(sigs.len(), 5);
        let mut signers: Vec<Address> = keys.iter().map(AccountKey::address).collect();
        signers.sort();
        for (sig, signer) in sigs.iter().zip(&signers) {
            let s = signed.iter().find(|s| s.signer == *signer).unwrap();
            assert_eq!(sig.r, s.r);
        }
        let mut other = roots();
        other.epoch += 1;
        signed.push(other.sign(&keys[0], &d).unwrap());
        assert!(matches!(
            aggregate(&roots(), &signed, &d),
            Err(Error::InvalidAttestation(_))
        ));
        assert!(aggregate(&roots(), &[], &d).is_err());
    }
}
