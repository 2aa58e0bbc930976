//! The settlement client: one deployed contract on one [`Chain`], with a method per thing a
//! node or the simulator does (stake, bind its key, deposit, attest, finalise, claim, report
//! an equivocator or a convicted player) and reads of the contract's state.

use alloy::primitives::{Address, B256, Bytes, FixedBytes, Log, U256};
use alloy::sol_types::{Eip712Domain, SolCall, SolConstructor, SolEventInterface};
use nets_tournament::economics::RewardTable;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::merkle::{self, Proof};

use crate::Error;
use crate::attestation::{EpochRoots, SignedAttestation, aggregate, domain};
use crate::bindings::NetsSettlement;
use crate::bindings::NetsSettlement::NetsSettlementEvents;
use crate::chain::{Chain, Receipt, TxRequest};
use crate::keys::{AccountKey, sign_binding};

/// The longest proof accepted: a tree of up to 2^64 leaves.
pub const MAX_PROOF_LEN: usize = 64;

/// The contract's deployment parameters (immutable once deployed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameters {
    /// Seconds between an epoch reaching the quorum and its finalisation, for evidence of
    /// equivocation to arrive and revoke it.
    pub challenge_window: u64,
    /// Seconds between a request to unstake and the withdrawal. Must exceed the challenge
    /// window, so that the stake behind a quorum stays slashable until the epoch finalises.
    pub unbonding_delay: u64,
    /// Share of the total active stake an aggregate must bring, in basis points. Above 5000,
    /// so that two different roots cannot both reach it without someone signing both.
    pub quorum_bps: u16,
    /// Share of a slashed stake paid to whoever reported the evidence, in basis points.
    pub reporter_bps: u16,
}

impl Default for Parameters {
    /// A one-hour challenge window, a seven-day unbonding delay, a quorum of two thirds of the
    /// stake (6667 basis points) and a tenth of a slashed stake to the reporter.
    fn default() -> Self {
        Self {
            challenge_window: 3600,
            unbonding_delay: 7 * 24 * 3600,
            quorum_bps: 6667,
            reporter_bps: 1000,
        }
    }
}

/// The contract-wide state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The lowest epoch that can still be attested or finalised.
    pub next_epoch: u64,
    /// The latest finalised epoch, if any.
    pub finalised_epoch: Option<u64>,
    /// Its outcomes root (zero before the first finalisation).
    pub outcomes_root: Hash32,
    /// Its rewards root, which claims are paid against (zero before the first
    /// finalisation).
    pub rewards_root: Hash32,
    /// Its reward table's total.
    pub total_payout: u128,
    /// Everything claimed so far.
    pub total_claimed: u128,
    /// Deposits plus slashed stake kept for rewards.
    pub reward_funds: u128,
    /// Sum of active stakes.
    pub total_stake: u128,
    /// Sum of unbonding stakes.
    pub total_unbonding: u128,
    /// The contract's balance in wei.
    pub balance: U256,
}

impl Status {
    /// What the contract owes: stakes (active and unbonding) and unclaimed reward funds. The
    /// contract's balance is never below it.
    pub fn obligations(&self) -> U256 {
        U256::from(self.total_stake)
            .saturating_add(U256::from(self.total_unbonding))
            .saturating_add(U256::from(self.reward_funds))
            .saturating_sub(U256::from(self.total_claimed))
    }
}

/// One account's stake and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StakeStatus {
    /// Bonded stake (votes).
    pub active: u128,
    /// Stake on its way out.
    pub unbonding: u128,
    /// When `unbonding` may be withdrawn.
    pub unbonding_until: u64,
    /// Convicted of equivocation.
    pub slashed: bool,
    /// The ed25519 key the account bound, if any.
    pub key: Option<PlayerId>,
}

/// One epoch's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochStatus {
    /// The first 24 bytes of the EIP-712 digest of the attestation that reached the quorum,
    /// if one did (see [`EpochRoots::digest`]).
    pub quorum_digest: Option<FixedBytes<24>>,
    /// When it reached the quorum.
    pub quorum_at: Option<u64>,
    /// When it may be finalised (quorum time plus the challenge window).
    pub finalisable_at: Option<u64>,
    /// Whether the epoch is closed: finalised, or passed over by a later finalisation.
    pub closed: bool,
}

/// A deployed settlement contract on a chain.
#[derive(Debug)]
pub struct Settlement<C> {
    chain: C,
    address: Address,
    domain: Eip712Domain,
}

impl<C: Chain> Settlement<C> {
    /// Deploys a new contract with `params`, from `deployer`.
    pub async fn deploy(
        chain: C,
        deployer: &AccountKey,
        params: Parameters,
    ) -> Result<Self, Error> {
        Ok(Self::deploy_with_receipt(chain, deployer, params).await?.0)
    }

    /// [`Settlement::deploy`], also returning the creation's receipt (its gas, for reports).
    pub async fn deploy_with_receipt(
        mut chain: C,
        deployer: &AccountKey,
        params: Parameters,
    ) -> Result<(Self, Receipt), Error> {
        let args = NetsSettlement::constructorCall {
            challengeWindow_: params.challenge_window,
            unbondingDelay_: params.unbonding_delay,
            quorumBps_: params.quorum_bps,
            reporterBps_: params.reporter_bps,
        }
        .abi_encode();
        let code: Bytes = [NetsSettlement::BYTECODE.as_ref(), &args].concat().into();
        let receipt = chain
            .send(
                deployer,
                TxRequest {
                    to: None,
                    data: code,
                    value: U256::ZERO,
                },
            )
            .await?;
        let address = receipt
            .contract_address
            .ok_or_else(|| Error::Decode("a creation without a contract address".into()))?;
        Ok((Self::new(chain, address), receipt))
    }

    /// The contract already deployed at `address`; fails if there is no code there.
    pub async fn at(mut chain: C, address: Address) -> Result<Self, Error> {
        if chain.code(address).await?.is_empty() {
            return Err(Error::NoContract(address));
        }
        Ok(Self::new(chain, address))
    }

    fn new(chain: C, address: Address) -> Self {
        let domain = domain(chain.chain_id(), address);
        Self {
            chain,
            address,
            domain,
        }
    }

    /// The contract's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The chain.
    pub fn chain(&self) -> &C {
        &self.chain
    }

    /// Gives the chain back (to share it once the contract is deployed).
    pub fn into_chain(self) -> C {
        self.chain
    }

    /// The chain, to move time or fund accounts on a devnet.
    pub fn chain_mut(&mut self) -> &mut C {
        &mut self.chain
    }

    /// The EIP-712 domain attestations are signed in.
    pub fn domain(&self) -> &Eip712Domain {
        &self.domain
    }

    /// Signs `roots` with `key` for this contract: what a staked node gossips.
    pub fn sign_attestation(
        &self,
        key: &AccountKey,
        roots: &EpochRoots,
    ) -> Result<SignedAttestation, Error> {
        roots.sign(key, &self.domain)
    }

    // ---------------------------------------------------------------- transactions

    /// Bonds `amount` wei more stake for `from`.
    pub async fn stake(&mut self, from: &AccountKey, amount: u128) -> Result<Receipt, Error> {
        self.transact(from, &NetsSettlement::stakeCall {}, U256::from(amount))
            .await
    }

    /// Starts unbonding `amount` of `from`'s active stake.
    pub async fn unstake(&mut self, from: &AccountKey, amount: u128) -> Result<Receipt, Error> {
        self.transact(from, &NetsSettlement::unstakeCall { amount }, U256::ZERO)
            .await
    }

    /// Withdraws `from`'s unbonded stake.
    pub async fn withdraw(&mut self, from: &AccountKey) -> Result<Receipt, Error> {
        self.transact(from, &NetsSettlement::withdrawCall {}, U256::ZERO)
            .await
    }

    /// Binds `from`'s account to `identity`'s ed25519 key, with the key's signature over the
    /// binding (see [`crate::keys::binding_message`]).
    pub async fn bind_key(
        &mut self,
        from: &AccountKey,
        identity: &Keypair,
    ) -> Result<Receipt, Error> {
        let signature = sign_binding(
            identity,
            self.chain.chain_id(),
            self.address,
            from.address(),
        );
        let (first, second) = signature.split_at(32);
        let call = NetsSettlement::bindKeyCall {
            key: B256::from(identity.id().0),
            keySignature: [B256::from_slice(first), B256::from_slice(second)],
        };
        self.transact(from, &call, U256::ZERO).await
    }

    /// Deposits `amount` wei to fund `player`'s entries.
    pub async fn deposit(
        &mut self,
        from: &AccountKey,
        player: &PlayerId,
        amount: u128,
    ) -> Result<Receipt, Error> {
        let call = NetsSettlement::depositCall {
            key: B256::from(player.0),
        };
        self.transact(from, &call, U256::from(amount)).await
    }

    /// Submits `signed` attestations of `roots` as one aggregate, from `submitter` (anyone).
    /// They are checked and sorted first (see [`aggregate`]).
    pub async fn attest(
        &mut self,
        submitter: &AccountKey,
        roots: &EpochRoots,
        signed: &[SignedAttestation],
    ) -> Result<Receipt, Error> {
        let signatures = aggregate(roots, signed, &self.domain)?;
        let call = NetsSettlement::attestCall {
            att: roots.to_sol(),
            signatures,
        };
        self.transact(submitter, &call, U256::ZERO).await
    }

    /// Finalises `roots`' epoch, from `submitter` (anyone).
    pub async fn finalise(
        &mut self,
        submitter: &AccountKey,
        roots: &EpochRoots,
    ) -> Result<Receipt, Error> {
        let call = NetsSettlement::finaliseCall {
            att: roots.to_sol(),
        };
        self.transact(submitter, &call, U256::ZERO).await
    }

    /// Claims `from`'s cumulative `balance` in the finalised rewards table with its Merkle
    /// `proof` (from [`RewardTable::proof`]). The proof is checked here first: a malformed or
    /// non-verifying one fails without a transaction.
    pub async fn claim(
        &mut self,
        from: &AccountKey,
        balance: u128,
        proof: &Proof,
    ) -> Result<Receipt, Error> {
        let siblings = proof_words(proof)?;
        let key = self
            .key_of(from.address())
            .await?
            .ok_or(Error::KeyNotBound(from.address()))?;
        let root = self.read(&NetsSettlement::rewardsRootCall {}).await?;
        if root != B256::ZERO {
            let leaf = RewardTable::leaf(&key, balance);
            if !merkle::verify(Hash32(root.0), leaf, proof) {
                return Err(Error::ProofRejected { balance });
            }
        }
        let call = NetsSettlement::claimCall {
            balance,
            proof: siblings,
        };
        self.transact(from, &call, U256::ZERO).await
    }

    /// Reports two conflicting attestations by one account for one epoch, from `reporter`,
    /// who receives the reporter's share of the slashed stake.
    pub async fn slash(
        &mut self,
        reporter: &AccountKey,
        first: &SignedAttestation,
        second: &SignedAttestation,
    ) -> Result<Receipt, Error> {
        let call = NetsSettlement::slashCall {
            a: first.roots.to_sol(),
            sa: first.signature(),
            b: second.roots.to_sol(),
            sb: second.signature(),
        };
        self.transact(reporter, &call, U256::ZERO).await
    }

    /// Reports `player` as convicted of match fraud in the finalised rewards table (its
    /// conviction leaf and `proof`, from [`RewardTable::conviction_proof`]), from `reporter`,
    /// who receives the reporter's share of the slashed stake. The proof is checked here first.
    pub async fn slash_convicted(
        &mut self,
        reporter: &AccountKey,
        player: &PlayerId,
        proof: &Proof,
    ) -> Result<Receipt, Error> {
        let siblings = proof_words(proof)?;
        let root = self.read(&NetsSettlement::rewardsRootCall {}).await?;
        if root != B256::ZERO
            && !merkle::verify(Hash32(root.0), RewardTable::conviction_leaf(player), proof)
        {
            return Err(Error::ConvictionNotShown(*player));
        }
        let call = NetsSettlement::slashConvictedCall {
            key: B256::from(player.0),
            proof: siblings,
        };
        self.transact(reporter, &call, U256::ZERO).await
    }

    /// Sends any contract call from `from` with `value` wei: the typed way to call a function
    /// the helpers above do not cover, or with arguments they would refuse.
    pub async fn transact<T: SolCall>(
        &mut self,
        from: &AccountKey,
        call: &T,
        value: U256,
    ) -> Result<Receipt, Error> {
        let tx = TxRequest {
            to: Some(self.address),
            data: call.abi_encode().into(),
            value,
        };
        self.chain.send(from, tx).await
    }

    // ---------------------------------------------------------------- reads

    /// Runs a view call.
    pub async fn read<T: SolCall>(&mut self, call: &T) -> Result<T::Return, Error> {
        let data = self
            .chain
            .call(self.address, call.abi_encode().into())
            .await?;
        T::abi_decode_returns(&data).map_err(|e| Error::Decode(e.to_string()))
    }

    /// The contract-wide state.
    pub async fn status(&mut self) -> Result<Status, Error> {
        let next_epoch = self.read(&NetsSettlement::nextEpochCall {}).await?;
        let rewards_root = self.read(&NetsSettlement::rewardsRootCall {}).await?;
        let outcomes_root = self.read(&NetsSettlement::outcomesRootCall {}).await?;
        Ok(Status {
            next_epoch,
            finalised_epoch: if rewards_root == B256::ZERO && outcomes_root == B256::ZERO {
                None
            } else {
                next_epoch.checked_sub(1)
            },
            outcomes_root: Hash32(outcomes_root.0),
            rewards_root: Hash32(rewards_root.0),
            total_payout: self.read(&NetsSettlement::totalPayoutCall {}).await?,
            total_claimed: self.read(&NetsSettlement::totalClaimedCall {}).await?,
            reward_funds: self.read(&NetsSettlement::rewardFundsCall {}).await?,
            total_stake: self.read(&NetsSettlement::totalStakeCall {}).await?,
            total_unbonding: self.read(&NetsSettlement::totalUnbondingCall {}).await?,
            balance: self.chain.balance(self.address).await?,
        })
    }

    /// `account`'s stake and bound key.
    pub async fn stake_of(&mut self, account: Address) -> Result<StakeStatus, Error> {
        let a = self.read(&NetsSettlement::accountsCall(account)).await?;
        Ok(StakeStatus {
            active: a.active,
            unbonding: a.unbonding,
            unbonding_until: a.unbondingUntil,
            slashed: a.slashed,
            key: self.key_of(account).await?,
        })
    }

    /// The ed25519 key `account` bound, if any.
    pub async fn key_of(&mut self, account: Address) -> Result<Option<PlayerId>, Error> {
        let key = self.read(&NetsSettlement::keyOfCall(account)).await?;
        Ok((key != B256::ZERO).then_some(PlayerId(key.0)))
    }

    /// The account `player`'s key is bound to, if any.
    pub async fn account_of(&mut self, player: &PlayerId) -> Result<Option<Address>, Error> {
        let record = self
            .read(&NetsSettlement::keysCall(B256::from(player.0)))
            .await?;
        Ok((record.account != Address::ZERO).then_some(record.account))
    }

    /// The cumulative amount `player`'s key has claimed.
    pub async fn claimed(&mut self, player: &PlayerId) -> Result<u128, Error> {
        let record = self
            .read(&NetsSettlement::keysCall(B256::from(player.0)))
            .await?;
        Ok(record.claimed.to::<u128>())
    }

    /// `epoch`'s progress toward finalisation.
    pub async fn epoch(&mut self, epoch: u64) -> Result<EpochStatus, Error> {
        let quorum = self.read(&NetsSettlement::quorumsCall(epoch)).await?;
        let next_epoch = self.read(&NetsSettlement::nextEpochCall {}).await?;
        let (quorum_digest, quorum_at, finalisable_at) = if quorum.digest == FixedBytes::ZERO {
            (None, None, None)
        } else {
            let window = self.read(&NetsSettlement::challengeWindowCall {}).await?;
            (
                Some(quorum.digest),
                Some(quorum.reachedAt),
                quorum.reachedAt.checked_add(window),
            )
        };
        Ok(EpochStatus {
            quorum_digest,
            quorum_at,
            finalisable_at,
            closed: epoch < next_epoch,
        })
    }

    /// The contract's events in `receipt`, decoded (logs of other contracts are skipped).
    pub fn events(&self, receipt: &Receipt) -> Vec<NetsSettlementEvents> {
        receipt
            .logs
            .iter()
            .filter(|log| log.address == self.address)
            .filter_map(|log: &Log| NetsSettlementEvents::decode_log(log).ok())
            .map(|log| log.data)
            .collect()
    }
}

/// A proof's siblings as the contract takes them, or an error for a proof longer than
/// [`MAX_PROOF_LEN`] (refused before any transaction).
fn proof_words(proof: &Proof) -> Result<Vec<B256>, Error> {
    if proof.siblings().len() > MAX_PROOF_LEN {
        return Err(Error::MalformedProof(format!(
            "{} siblings, at most {MAX_PROOF_LEN}",
            proof.siblings().len()
        )));
    }
    Ok(proof.siblings().iter().map(|h| B256::from(h.0)).collect())
}

/// A proof from raw bytes: concatenated 32-byte siblings, leaf level first.
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof, Error> {
    if !bytes.len().is_multiple_of(32) {
        return Err(Error::MalformedProof(format!(
            "{} bytes is not a whole number of 32-byte hashes",
            bytes.len()
        )));
    }
    let siblings: Vec<Hash32> = bytes
        .chunks_exact(32)
        .filter_map(|chunk| <[u8; 32]>::try_from(chunk).ok().map(Hash32))
        .collect();
    if siblings.len() > MAX_PROOF_LEN {
        return Err(Error::MalformedProof(format!(
            "{} siblings, at most {MAX_PROOF_LEN}",
            siblings.len()
        )));
    }
    Ok(Proof(siblings))
}
