//! Leagues: one environment with its parameters, at one tier. Entrants of a league are paired
//! with each other, rated together and paid from the league's pot.

use nets_envs::log::EnvSpec;
use serde::{Deserialize, Serialize};

use crate::economics::FeeSchedule;
use crate::hash::{Hash32, keccak256};
use crate::wire;

/// A league.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct League {
    /// The game and its parameters.
    pub env: EnvSpec,
    /// The tier: 0 is the entry level; each tier up costs more to enter and pays more.
    pub tier: u8,
}

impl League {
    /// The league's id: `keccak256("nets/league" ++ cbor(league))`, the key under which nodes
    /// advertise entries and gossip outcomes.
    pub fn id(&self) -> Hash32 {
        keccak256(&[b"nets/league", &wire::encode(self)])
    }

    /// The entry fee under `fees`.
    pub fn entry_fee(&self, fees: &FeeSchedule) -> Option<u128> {
        fees.fee(self.tier)
    }
}

/// An attestation: a staked node's signed statement of what an epoch of a league settled.
/// Attestations are aggregated and submitted to the settlement contract; two different ones
/// by one key for one epoch and league are equivocation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attestation {
    /// Protocol version.
    pub v: u8,
    /// The league.
    pub league: Hash32,
    /// The epoch.
    pub epoch: u64,
    /// Root over the epoch's outcomes and forfeits.
    pub outcomes_root: Hash32,
    /// Root over the cumulative reward table.
    pub rewards_root: Hash32,
    /// Total cumulative balance of the reward table.
    pub total_payout: u128,
    /// The attesting key.
    pub signer: crate::identity::PlayerId,
    /// Signature in [`crate::identity::Domain::EpochAttestation`].
    pub sig: crate::identity::Signature,
}

#[derive(Serialize)]
struct Unsigned<'a> {
    v: u8,
    league: &'a Hash32,
    epoch: u64,
    outcomes_root: &'a Hash32,
    rewards_root: &'a Hash32,
    total_payout: u128,
    signer: &'a crate::identity::PlayerId,
}

impl Attestation {
    /// Signs an attestation.
    pub fn sign(
        key: &crate::identity::Keypair,
        league: Hash32,
        epoch: u64,
        outcomes_root: Hash32,
        rewards_root: Hash32,
        total_payout: u128,
    ) -> Self {
        let mut a = Self {
            v: crate::messages::VERSION,
            league,
            epoch,
            outcomes_root,
            rewards_root,
            total_payout,
            signer: key.id(),
            sig: crate::identity::Signature([0; 64]),
        };
        a.sig = key.sign(crate::identity::Domain::EpochAttestation, &a.signed_bytes());
        a
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        wire::encode(&Unsigned {
            v: self.v,
            league: &self.league,
            epoch: self.epoch,
            outcomes_root: &self.outcomes_root,
            rewards_root: &self.rewards_root,
            total_payout: self.total_payout,
            signer: &self.signer,
        })
    }

    /// Checks the signature.
    pub fn verify(&self) -> Result<(), crate::identity::SignatureError> {
        self.signer.verify(
            crate::identity::Domain::EpochAttestation,
            &self.signed_bytes(),
            &self.sig,
        )
    }
}

/// Most contact addresses an [`Entry`] may carry.
pub const MAX_ENTRY_CONTACTS: usize = 8;
/// Longest contact address of an [`Entry`], in bytes.
pub const MAX_CONTACT_LEN: usize = 256;

/// A player's signed entry into a league for one epoch.
///
/// The entrants of a league in an epoch are the players whose entries every node holds when
/// the epoch's pairings are drawn: nodes gossip entries for epoch `e` during epoch `e - 1`, so
/// that all of them draw from the same list. `contacts` are where the player can be reached
/// (multiaddresses, as text); they are hints for dialling, opaque to the core, and do not
/// count in the entrant list: one player is one entrant however many entries it signs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// Protocol version.
    pub v: u8,
    /// The league entered.
    pub league: Hash32,
    /// The epoch entered.
    pub epoch: u64,
    /// The entrant.
    pub player: crate::identity::PlayerId,
    /// Where the entrant can be reached, at most [`MAX_ENTRY_CONTACTS`] of at most
    /// [`MAX_CONTACT_LEN`] bytes each.
    pub contacts: Vec<String>,
    /// The entrant's signature in [`crate::identity::Domain::LeagueEntry`].
    pub sig: crate::identity::Signature,
}

#[derive(Serialize)]
struct UnsignedEntry<'a> {
    v: u8,
    league: &'a Hash32,
    epoch: u64,
    player: &'a crate::identity::PlayerId,
    contacts: &'a [String],
}

/// Why an entry is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// An unknown protocol version.
    #[error("entry version {0} is not supported")]
    Version(u8),
    /// Too many contact addresses, or one too long.
    #[error(
        "an entry carries at most {MAX_ENTRY_CONTACTS} contacts of at most {MAX_CONTACT_LEN} bytes"
    )]
    Contacts,
    /// The signature does not check.
    #[error(transparent)]
    Signature(#[from] crate::identity::SignatureError),
}

impl Entry {
    /// Signs `key`'s entry into `league` for `epoch`. Contacts beyond the limits are dropped.
    pub fn sign(
        key: &crate::identity::Keypair,
        league: Hash32,
        epoch: u64,
        contacts: Vec<String>,
    ) -> Self {
        let contacts = contacts
            .into_iter()
            .filter(|c| c.len() <= MAX_CONTACT_LEN)
            .take(MAX_ENTRY_CONTACTS)
            .collect();
        let mut e = Self {
            v: crate::messages::VERSION,
            league,
            epoch,
            player: key.id(),
            contacts,
            sig: crate::identity::Signature([0; 64]),
        };
        e.sig = key.sign(crate::identity::Domain::LeagueEntry, &e.signed_bytes());
        e
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        wire::encode(&UnsignedEntry {
            v: self.v,
            league: &self.league,
            epoch: self.epoch,
            player: &self.player,
            contacts: &self.contacts,
        })
    }

    /// Checks the version, the contacts' limits and the signature.
    pub fn verify(&self) -> Result<(), EntryError> {
        if self.v != crate::messages::VERSION {
            return Err(EntryError::Version(self.v));
        }
        if self.contacts.len() > MAX_ENTRY_CONTACTS
            || self.contacts.iter().any(|c| c.len() > MAX_CONTACT_LEN)
        {
            return Err(EntryError::Contacts);
        }
        self.player.verify(
            crate::identity::Domain::LeagueEntry,
            &self.signed_bytes(),
            &self.sig,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Evidence, verify_evidence};
    use crate::identity::Keypair;
    use nets_envs::snake::SnakeParams;

    #[test]
    fn league_ids_differ_by_tier_and_game() {
        let l0 = League {
            env: EnvSpec::Snake(SnakeParams::duel(11)),
            tier: 0,
        };
        let l1 = League {
            tier: 1,
            ..l0.clone()
        };
        let l2 = League {
            env: EnvSpec::Snake(SnakeParams::duel(7)),
            tier: 0,
        };
        assert_ne!(l0.id(), l1.id());
        assert_ne!(l0.id(), l2.id());
        assert_eq!(l1.entry_fee(&FeeSchedule::default()), Some(4_000_000));
    }

    #[test]
    fn an_entry_verifies_and_any_change_to_it_does_not() {
        let k = Keypair::from_secret([6; 32]);
        let e = Entry::sign(
            &k,
            Hash32([1; 32]),
            4,
            vec!["/ip4/127.0.0.1/tcp/4001".into()],
        );
        assert_eq!(e.verify(), Ok(()));
        let decoded: Entry = wire::decode(&wire::encode(&e), wire::MAX_MATCH_MESSAGE).unwrap();
        assert_eq!(decoded, e);
        let mut other_epoch = e.clone();
        other_epoch.epoch = 5;
        assert!(matches!(
            other_epoch.verify(),
            Err(EntryError::Signature(_))
        ));
        let mut other_player = e.clone();
        other_player.player = Keypair::from_secret([7; 32]).id();
        assert!(matches!(
            other_player.verify(),
            Err(EntryError::Signature(_))
        ));
        let mut other_contact = e.clone();
        other_contact.contacts[0].push('1');
        assert!(matches!(
            other_contact.verify(),
            Err(EntryError::Signature(_))
        ));
        let mut stuffed = e.clone();
        stuffed.contacts = vec!["x".into(); MAX_ENTRY_CONTACTS + 1];
        assert_eq!(stuffed.verify(), Err(EntryError::Contacts));
        let mut future = e;
        future.v += 1;
        assert!(matches!(future.verify(), Err(EntryError::Version(_))));
        // Contacts over the limits are dropped when signing, not signed.
        let long = Entry::sign(
            &k,
            Hash32([1; 32]),
            4,
            vec!["y".repeat(MAX_CONTACT_LEN + 1); 20],
        );
        assert!(long.contacts.is_empty());
        assert_eq!(long.verify(), Ok(()));
    }

    #[test]
    fn two_attestations_for_one_epoch_convict_the_signer() {
        let k = Keypair::from_secret([5; 32]);
        let league = Hash32([1; 32]);
        let a = Attestation::sign(&k, league, 3, Hash32([2; 32]), Hash32([3; 32]), 10);
        let b = Attestation::sign(&k, league, 3, Hash32([2; 32]), Hash32([4; 32]), 10);
        assert!(a.verify().is_ok());
        let ev = Evidence::ConflictingAttestations {
            first: a.clone(),
            second: b.clone(),
        };
        assert_eq!(verify_evidence(&ev), Ok(k.id()));
        // Another epoch is no conflict; a forged second one convicts nobody.
        let c = Attestation::sign(&k, league, 4, Hash32([2; 32]), Hash32([4; 32]), 10);
        assert!(
            verify_evidence(&Evidence::ConflictingAttestations {
                first: a.clone(),
                second: c
            })
            .is_err()
        );
        let mut forged = b;
        forged.total_payout = 11;
        assert!(
            verify_evidence(&Evidence::ConflictingAttestations {
                first: a,
                second: forged
            })
            .is_err()
        );
    }
}
