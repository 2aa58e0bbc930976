//! Settlement on the embedded chain: the real `NetsSettlement` contract, its bytecode run by
//! revm inside the process, behind the simulator's [`Settlement`] seam.
//!
//! The contract settles one league, as a node's settler does, so the chain carries one
//! deployment per league. What the simulator asks maps onto the contract like this:
//!
//! - **Stake**: a node's account (its secp256k1 key derived from its ed25519 identity, as
//!   netsd derives it) is funded from the node's capital and bonds the stake, split evenly
//!   over the league contracts (the first takes the remainder), then binds the node's key in
//!   each. Leaving unstakes everything and withdraws it once the unbonding delay has passed.
//! - **Entries** are `deposit(key)` transactions; the entrant list of a league epoch is read
//!   from their `Deposited` events, as any indexer of the chain would.
//! - **Attestations**: a node's tournament attestation is checked, then the node's account
//!   signs the same roots as EIP-712 typed data. The signatures of one set of roots are pooled;
//!   when the pool holds the quorum of the contract's total stake, one aggregate transaction
//!   records it and a second finalises the epoch. The challenge window is zero, so that the
//!   epoch finalises in the step that reaches its quorum, as with the [`ModelChain`]; evidence
//!   is judged after finalisation either way.
//! - **Claims** are `claim(balance, proof)` transactions from the player's account.
//! - **Slashing**, two ways. Two attestations by one account for one epoch are evidence the
//!   contract checks itself (`slash`): the simulator holds every node's keys, so for a
//!   tournament [`Evidence::ConflictingAttestations`] the equivocator's account signs both
//!   roots (what the equivocator's node would have gossiped) and a reporter submits them.
//!   Fraud in matches (forged results, equivocating moves) the contract cannot check
//!   (ed25519, a replay): the epoch's ledger convicts the culprit, the finalised rewards
//!   table lists it, and `slashConvicted` takes its stake on a proof of that leaf
//!   ([`Settlement::slash_convicted`]). The reporter's share is zero. A double attestation's
//!   stake joins the contract's reward funds, a convicted player's is burned by the contract;
//!   either way the simulator counts it as burned (paid to no one).
//!
//! Gas is not charged (the embedded chain measures it only), so each account is funded with
//! exactly the value it sends. Reads that run on every step (stakes, entrants, claimed
//! amounts) come from a mirror the adapter keeps from the receipts of its own transactions;
//! [`Settlement::audit`] checks that mirror and the contracts' books against the chain.
//!
//! [`ModelChain`]: crate::settlement::ModelChain

use std::collections::{BTreeMap, BTreeSet};

use nets_node::settlement::chain::{AnyChain, SharedChain};
use nets_settlement::alloy::primitives::{Address, U256};
use nets_settlement::bindings::NetsSettlement::NetsSettlementEvents;
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, EpochRoots, Parameters, Receipt,
    SignedAttestation, complete_now,
};
use nets_tournament::evidence::{Evidence, verify_evidence};
use nets_tournament::hash::{Hash32, keccak256};
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::league::Attestation;
use nets_tournament::merkle::Proof;

use crate::settlement::{ChainError, Finalised, Settlement, beacon};

type Contract = nets_settlement::Settlement<AnyChain>;

/// Parameters of the simulator's deployments: no challenge window (finalise at the quorum), a
/// one-second unbonding delay (the contract requires it to exceed the window), two thirds of
/// the stake for a quorum, and no reporter's share (no slashed stake goes to a node).
pub const PARAMETERS: Parameters = Parameters {
    challenge_window: 0,
    unbonding_delay: 1,
    quorum_bps: 6667,
    reporter_bps: 0,
};

/// Runs a chain call that the embedded chain completes at once.
fn now<T>(
    future: impl std::future::Future<Output = Result<T, nets_settlement::Error>>,
) -> Result<T, ChainError> {
    match complete_now(future) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(ChainError::Backend(e.to_string())),
        None => Err(ChainError::Backend(
            "the embedded chain did not answer at once".into(),
        )),
    }
}

/// Signatures pooled for one set of roots of one league epoch.
#[derive(Default)]
struct Pool {
    signed: Vec<SignedAttestation>,
    weight: u128,
    /// Why its aggregate failed, if it did: it is not sent again.
    failed: bool,
}

/// One league's deployment and the adapter's mirror of it.
struct LeagueContract {
    contract: Contract,
    /// Active stake per account, from the adapter's own transactions.
    stakes: BTreeMap<Address, u128>,
    total_stake: u128,
    /// Accounts that attested, per epoch.
    attested: BTreeMap<u64, BTreeSet<Address>>,
    pools: BTreeMap<(u64, Hash32), Pool>,
    entries: BTreeMap<u64, BTreeMap<PlayerId, u128>>,
    finalised: BTreeMap<u64, Finalised>,
    latest: Option<(u64, Finalised)>,
    claimed: BTreeMap<PlayerId, u128>,
    deposited: u128,
    paid: u128,
    /// Stake slashed for double attestations: it joins the reward funds (convicted stake is
    /// burned instead).
    slashed_to_funds: u128,
}

/// The real settlement contract on an embedded chain, one deployment per league.
pub struct ContractChain {
    chain: SharedChain,
    operator: AccountKey,
    leagues: BTreeMap<Hash32, LeagueContract>,
    order: Vec<Hash32>,
    accounts: BTreeMap<PlayerId, AccountKey>,
    burned: u128,
    seed: u64,
    transactions: u64,
    gas: u64,
    notes: Vec<String>,
}

impl std::fmt::Debug for ContractChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContractChain({} leagues)", self.leagues.len())
    }
}

impl ContractChain {
    /// A fresh embedded chain with one contract per league of `leagues`, deployed with
    /// [`PARAMETERS`]; `seed` keys the pairing beacon and the operator's account.
    pub fn new(seed: u64, leagues: &[Hash32]) -> Result<Self, ChainError> {
        let chain = SharedChain::new(EmbeddedChain::in_memory(EmbeddedConfig::default()));
        let operator = AccountKey::derive_from_ed25519(
            &keccak256(&[b"nets/simnet/operator", &seed.to_le_bytes()]).0,
        );
        let mut out = Self {
            chain: chain.clone(),
            operator,
            leagues: BTreeMap::new(),
            order: Vec::new(),
            accounts: BTreeMap::new(),
            burned: 0,
            seed,
            transactions: 0,
            gas: 0,
            notes: Vec::new(),
        };
        for league in leagues {
            if out.leagues.contains_key(league) {
                continue;
            }
            let (contract, receipt) = now(Contract::deploy_with_receipt(
                AnyChain::Shared(chain.clone()),
                &out.operator,
                PARAMETERS,
            ))?;
            out.count(&receipt);
            out.order.push(*league);
            out.leagues.insert(
                *league,
                LeagueContract {
                    contract,
                    stakes: BTreeMap::new(),
                    total_stake: 0,
                    attested: BTreeMap::new(),
                    pools: BTreeMap::new(),
                    entries: BTreeMap::new(),
                    finalised: BTreeMap::new(),
                    latest: None,
                    claimed: BTreeMap::new(),
                    deposited: 0,
                    paid: 0,
                    slashed_to_funds: 0,
                },
            );
        }
        Ok(out)
    }

    /// The contract of `league`.
    pub fn address(&self, league: &Hash32) -> Option<Address> {
        self.leagues.get(league).map(|l| l.contract.address())
    }

    fn count(&mut self, receipt: &Receipt) {
        self.transactions += 1;
        self.gas = self.gas.saturating_add(receipt.gas_used);
    }

    /// Funds `address` with `value` more wei, from the node's capital (off chain).
    fn fund(&mut self, address: Address, value: u128) -> Result<(), ChainError> {
        let mut chain = AnyChain::Shared(self.chain.clone());
        let balance = now(chain.balance(address))?;
        now(chain.set_balance(address, balance.saturating_add(U256::from(value))))
    }

    fn league(&mut self, league: &Hash32) -> Result<&mut LeagueContract, ChainError> {
        self.leagues
            .get_mut(league)
            .ok_or_else(|| ChainError::Invalid("unknown league".into()))
    }

    fn account(&self, player: &PlayerId) -> Result<AccountKey, ChainError> {
        self.accounts
            .get(player)
            .cloned()
            .ok_or(ChainError::NotStaked)
    }

    /// Sends a transaction through `f` on `league`'s contract and counts it.
    fn send(
        &mut self,
        league: &Hash32,
        f: impl FnOnce(&mut Contract) -> Result<Receipt, ChainError>,
    ) -> Result<(Receipt, Vec<NetsSettlementEvents>), ChainError> {
        let lc = self.league(league)?;
        let receipt = f(&mut lc.contract)?;
        let events = lc.contract.events(&receipt);
        self.count(&receipt);
        Ok((receipt, events))
    }

    /// Bonds `amount` for `account`, split evenly over the league contracts (the first takes
    /// the remainder), and binds `key` in each.
    fn stake_everywhere(
        &mut self,
        key: &Keypair,
        account: &AccountKey,
        amount: u128,
    ) -> Result<(), ChainError> {
        let address = account.address();
        let n = self.order.len().max(1) as u128;
        let share = amount / n;
        let first = amount - share * (n - 1);
        for (i, league) in self.order.clone().iter().enumerate() {
            let part = if i == 0 { first } else { share };
            if part > 0 {
                self.fund(address, part)?;
                self.send(league, |c| now(c.stake(account, part)))?;
                let lc = self.league(league)?;
                *lc.stakes.entry(address).or_insert(0) += part;
                lc.total_stake = lc.total_stake.saturating_add(part);
            }
            self.send(league, |c| now(c.bind_key(account, key)))?;
        }
        Ok(())
    }

    /// Sends a slashing transaction through `f` on `league`'s contract and books what its
    /// `Slashed` events took: the account's stake there is gone, counted as burned (for the
    /// simulator's books: it is paid to no one), and joins the contract's reward funds when
    /// `to_funds`. A culprit with nothing left to take is [`ChainError::Duplicate`].
    fn take(
        &mut self,
        league: &Hash32,
        to_funds: bool,
        f: impl FnOnce(&mut Contract) -> Result<Receipt, ChainError>,
    ) -> Result<u128, ChainError> {
        let (_, events) = self.send(league, f).map_err(|e| match e {
            ChainError::Backend(m) if m.contains("NothingToSlash") => ChainError::Duplicate,
            other => other,
        })?;
        let mut amount = 0u128;
        let lc = self.league(league)?;
        for e in events {
            if let NetsSettlementEvents::Slashed(s) = e {
                amount = amount.saturating_add(s.amount);
                let active = lc.stakes.remove(&s.account).unwrap_or(0);
                lc.total_stake = lc.total_stake.saturating_sub(active);
            }
        }
        if to_funds {
            lc.slashed_to_funds = lc.slashed_to_funds.saturating_add(amount);
        }
        self.burned = self.burned.saturating_add(amount);
        Ok(amount)
    }
}

/// The contract's statement of a tournament attestation.
fn roots_of(a: &Attestation) -> EpochRoots {
    EpochRoots {
        epoch: a.epoch,
        outcomes_root: a.outcomes_root,
        rewards_root: a.rewards_root,
        total_payout: a.total_payout,
    }
}

impl Settlement for ContractChain {
    fn describe(&self) -> String {
        format!(
            "NetsSettlement contract on the embedded chain (revm), one deployment per league ({})",
            self.leagues.len()
        )
    }

    fn deposit_stake(&mut self, key: &Keypair, amount: u128) -> Result<(), ChainError> {
        let player = key.id();
        if self.accounts.contains_key(&player) {
            return Err(ChainError::Duplicate);
        }
        let account = AccountKey::derive_from_identity(key);
        self.accounts.insert(player, account.clone());
        let result = self.stake_everywhere(key, &account, amount);
        if result.is_err() {
            // Nothing half done: what was bonded comes back, and the node holds no stake.
            self.withdraw_stake(&player);
        }
        result
    }

    fn stake(&self, player: &PlayerId) -> u128 {
        let Some(account) = self.accounts.get(player) else {
            return 0;
        };
        let address = account.address();
        self.leagues
            .values()
            .filter_map(|l| l.stakes.get(&address))
            .sum()
    }

    fn withdraw_stake(&mut self, player: &PlayerId) -> u128 {
        let Ok(account) = self.account(player) else {
            return 0;
        };
        let address = account.address();
        let mut unbonding = Vec::new();
        for league in self.order.clone() {
            let active = self
                .leagues
                .get(&league)
                .and_then(|l| l.stakes.get(&address))
                .copied()
                .unwrap_or(0);
            if active > 0
                && self
                    .send(&league, |c| now(c.unstake(&account, active)))
                    .is_ok()
            {
                if let Ok(lc) = self.league(&league) {
                    lc.stakes.remove(&address);
                    lc.total_stake = lc.total_stake.saturating_sub(active);
                }
                unbonding.push(league);
            }
        }
        if unbonding.is_empty() {
            return 0;
        }
        // The chain's clock moves only when told: let the unbonding delay pass.
        let mut chain = AnyChain::Shared(self.chain.clone());
        if now(chain.advance_time(PARAMETERS.unbonding_delay)).is_err() {
            return 0;
        }
        let mut total = 0u128;
        for league in unbonding {
            if let Ok((_, events)) = self.send(&league, |c| now(c.withdraw(&account))) {
                for e in events {
                    if let NetsSettlementEvents::Withdrawn(w) = e {
                        total = total.saturating_add(w.amount);
                    }
                }
            }
        }
        total
    }

    fn enter(
        &mut self,
        league: Hash32,
        epoch: u64,
        player: PlayerId,
        fee: u128,
    ) -> Result<(), ChainError> {
        let account = self.account(&player)?;
        let lc = self.league(&league)?;
        if !lc.stakes.contains_key(&account.address()) {
            return Err(ChainError::NotStaked);
        }
        if lc
            .entries
            .get(&epoch)
            .is_some_and(|e| e.contains_key(&player))
        {
            return Err(ChainError::Duplicate);
        }
        self.fund(account.address(), fee)?;
        let (_, events) = self.send(&league, |c| now(c.deposit(&account, &player, fee)))?;
        let lc = self.league(&league)?;
        for e in events {
            if let NetsSettlementEvents::Deposited(d) = e {
                let key = PlayerId(d.key.0);
                *lc.entries.entry(epoch).or_default().entry(key).or_insert(0) += d.amount;
                lc.deposited = lc.deposited.saturating_add(d.amount);
            }
        }
        Ok(())
    }

    fn entries(&self, league: Hash32, epoch: u64) -> BTreeMap<PlayerId, u128> {
        self.leagues
            .get(&league)
            .and_then(|l| l.entries.get(&epoch))
            .cloned()
            .unwrap_or_default()
    }

    fn beacon(&self, league: Hash32, epoch: u64) -> Hash32 {
        beacon(self.seed, league, epoch)
    }

    fn attest(&mut self, a: &Attestation) -> Result<Option<Finalised>, ChainError> {
        let account = self.account(&a.signer)?;
        let address = account.address();
        let league = a.league;
        let roots = roots_of(a);
        let lc = self.league(&league)?;
        let weight = lc.stakes.get(&address).copied().unwrap_or(0);
        if weight == 0 {
            return Err(ChainError::NotStaked);
        }
        a.verify().map_err(|e| ChainError::Invalid(e.to_string()))?;
        if !lc.attested.entry(a.epoch).or_default().insert(address) {
            return Err(ChainError::Duplicate);
        }
        if lc.finalised.contains_key(&a.epoch) {
            return Ok(None);
        }
        let signed = lc
            .contract
            .sign_attestation(&account, &roots)
            .map_err(|e| ChainError::Backend(e.to_string()))?;
        let digest = keccak256(&[
            &a.outcomes_root.0,
            &a.rewards_root.0,
            &a.total_payout.to_le_bytes(),
        ]);
        let pool = lc.pools.entry((a.epoch, digest)).or_default();
        if pool.failed {
            return Ok(None);
        }
        pool.signed.push(signed);
        pool.weight = pool.weight.saturating_add(weight);
        // The contract's rule: the aggregate's stake times 10 000 reaches the total times the
        // quorum's basis points.
        let reached = pool.weight.saturating_mul(10_000)
            >= lc
                .total_stake
                .saturating_mul(u128::from(PARAMETERS.quorum_bps));
        if !reached {
            return Ok(None);
        }
        let signed = std::mem::take(&mut pool.signed);
        let signers = signed.len();
        let operator = self.operator.clone();
        let mut chain = AnyChain::Shared(self.chain.clone());
        let result = self
            .send(&league, |c| now(c.attest(&operator, &roots, &signed)))
            .and_then(|_| self.send(&league, |c| now(c.finalise(&operator, &roots))));
        let events = match result {
            Ok((_, events)) => events,
            Err(e) => {
                // Not sent again: the same aggregate would fail the same way.
                if let Some(pool) = self
                    .leagues
                    .get_mut(&league)
                    .and_then(|lc| lc.pools.get_mut(&(a.epoch, digest)))
                {
                    pool.failed = true;
                }
                let block = now(chain.timestamp()).unwrap_or(0);
                self.notes.push(format!(
                    "epoch {} not anchored: the aggregate of {signers} signatures failed ({e}) at chain time {block}",
                    a.epoch
                ));
                return Err(e);
            }
        };
        let finalised = events
            .iter()
            .any(|e| matches!(e, NetsSettlementEvents::EpochFinalised(f) if f.epoch == a.epoch));
        if !finalised {
            return Err(ChainError::Backend(
                "finalise emitted no EpochFinalised".into(),
            ));
        }
        let f = Finalised {
            outcomes_root: a.outcomes_root,
            rewards_root: a.rewards_root,
            total: a.total_payout,
        };
        let lc = self.league(&league)?;
        lc.finalised.insert(a.epoch, f);
        if lc.latest.is_none_or(|(e, _)| e < a.epoch) {
            lc.latest = Some((a.epoch, f));
        }
        lc.pools.retain(|(e, _), _| *e > a.epoch);
        Ok(Some(f))
    }

    fn finalised(&self, league: Hash32, epoch: u64) -> Option<Finalised> {
        self.leagues
            .get(&league)
            .and_then(|l| l.finalised.get(&epoch))
            .copied()
    }

    fn latest(&self, league: Hash32) -> Option<(u64, Finalised)> {
        self.leagues.get(&league).and_then(|l| l.latest)
    }

    fn claim(
        &mut self,
        league: Hash32,
        player: PlayerId,
        balance: u128,
        proof: &Proof,
    ) -> Result<u128, ChainError> {
        let account = self.account(&player)?;
        if self.claimed(league, &player) >= balance {
            return Ok(0);
        }
        let (_, events) = self
            .send(&league, |c| now(c.claim(&account, balance, proof)))
            .map_err(|e| match e {
                ChainError::Backend(m) if m.contains("ExceedsTotalPayout") => ChainError::Escrow,
                other => other,
            })?;
        let mut paid = 0u128;
        for e in events {
            if let NetsSettlementEvents::Claimed(c) = e {
                paid = paid.saturating_add(c.amount);
            }
        }
        let lc = self.league(&league)?;
        lc.claimed.insert(player, balance);
        lc.paid = lc.paid.saturating_add(paid);
        Ok(paid)
    }

    fn claimed(&self, league: Hash32, player: &PlayerId) -> u128 {
        self.leagues
            .get(&league)
            .and_then(|l| l.claimed.get(player))
            .copied()
            .unwrap_or(0)
    }

    fn slash(&mut self, evidence: &Evidence) -> Result<(PlayerId, u128), ChainError> {
        let Evidence::ConflictingAttestations { first, second } = evidence else {
            return Err(ChainError::Unsupported(
                "match evidence is slashed through the reward table's convictions",
            ));
        };
        let culprit = verify_evidence(evidence).map_err(|e| ChainError::Invalid(e.to_string()))?;
        if first.league != second.league {
            return Err(ChainError::Invalid("attestations of two leagues".into()));
        }
        let account = self.account(&culprit)?;
        let league = first.league;
        let lc = self.league(&league)?;
        let sign = |a: &Attestation| {
            lc.contract
                .sign_attestation(&account, &roots_of(a))
                .map_err(|e| ChainError::Backend(e.to_string()))
        };
        let (sa, sb) = (sign(first)?, sign(second)?);
        let operator = self.operator.clone();
        let amount = self.take(&league, true, |c| now(c.slash(&operator, &sa, &sb)))?;
        Ok((culprit, amount))
    }

    fn slash_convicted(
        &mut self,
        league: Hash32,
        player: PlayerId,
        proof: &Proof,
    ) -> Result<u128, ChainError> {
        let operator = self.operator.clone();
        self.take(&league, false, |c| {
            now(c.slash_convicted(&operator, &player, proof))
        })
    }

    fn escrow(&self) -> u128 {
        let fees: u128 = self
            .leagues
            .values()
            .map(|l| l.deposited.saturating_sub(l.paid))
            .sum();
        fees
    }

    fn burned(&self) -> u128 {
        self.burned
    }

    fn audit(&mut self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (i, league) in self.order.iter().enumerate() {
            let Some(lc) = self.leagues.get_mut(league) else {
                continue;
            };
            let status = now(lc.contract.status()).map_err(|e| e.to_string())?;
            // Balance = stakes + unclaimed reward funds: nothing created, nothing lost.
            let owed = status.obligations();
            if status.balance != owed {
                problems.push(format!(
                    "league {i}: the contract holds {} but owes {owed}",
                    status.balance
                ));
            }
            if status.total_stake != lc.total_stake {
                problems.push(format!(
                    "league {i}: total stake {} on chain, {} in the mirror",
                    status.total_stake, lc.total_stake
                ));
            }
            if status.total_claimed != lc.paid {
                problems.push(format!(
                    "league {i}: {} claimed on chain, {} in the mirror",
                    status.total_claimed, lc.paid
                ));
            }
            let funds = lc.deposited.saturating_add(lc.slashed_to_funds);
            if status.reward_funds != funds {
                problems.push(format!(
                    "league {i}: reward funds {} on chain, {funds} deposited and slashed",
                    status.reward_funds
                ));
            }
            let finalised = status.finalised_epoch;
            if finalised != lc.latest.map(|(e, _)| e) {
                problems.push(format!(
                    "league {i}: epoch {finalised:?} finalised on chain, {:?} in the mirror",
                    lc.latest.map(|(e, _)| e)
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn usage(&self) -> Option<(u64, u64)> {
        Some((self.transactions, self.gas))
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

#[cfg(test)]
mod tests {
    use nets_tournament::economics::RewardTable;
    use nets_tournament::messages::{Body, MatchMessage};

    use super::*;

    fn keys(n: u8) -> Vec<Keypair> {
        (1..=n).map(|i| Keypair::from_secret([i; 32])).collect()
    }

    const LEAGUE: Hash32 = Hash32([7; 32]);
    const OTHER: Hash32 = Hash32([8; 32]);

    /// Three staked players in two leagues, each entered in `LEAGUE` epoch 0 for 100.
    fn staked() -> (ContractChain, Vec<Keypair>) {
        let mut chain = ContractChain::new(1, &[LEAGUE, OTHER]).unwrap();
        let ks = keys(3);
        for k in &ks {
            chain.deposit_stake(k, 1_001).unwrap();
            chain.enter(LEAGUE, 0, k.id(), 100).unwrap();
        }
        (chain, ks)
    }

    /// The first player won everything.
    fn table(ks: &[Keypair]) -> RewardTable {
        let mut t = RewardTable::default();
        t.balances.insert(ks[0].id(), 300);
        t
    }

    #[test]
    fn stakes_split_over_the_leagues_and_entries_are_read_back_from_deposit_events() {
        let (mut chain, ks) = staked();
        assert_eq!(chain.stake(&ks[0].id()), 1_001);
        let first = chain.leagues.get(&LEAGUE).unwrap();
        let address = AccountKey::derive_from_identity(&ks[0]).address();
        assert_eq!(first.stakes.get(&address), Some(&501));
        let entries = chain.entries(LEAGUE, 0);
        assert_eq!(entries.len(), 3);
        assert!(entries.values().all(|fee| *fee == 100));
        assert!(chain.entries(OTHER, 0).is_empty());
        assert_eq!(
            chain.enter(LEAGUE, 0, ks[0].id(), 100),
            Err(ChainError::Duplicate)
        );
        let stranger = Keypair::from_secret([99; 32]);
        assert_eq!(
            chain.enter(LEAGUE, 0, stranger.id(), 100),
            Err(ChainError::NotStaked)
        );
        assert_eq!(chain.escrow(), 300);
        chain.audit().unwrap();
    }

    #[test]
    fn more_than_two_thirds_of_the_stake_finalise_on_chain_and_claims_pay_by_proof() {
        let (mut chain, ks) = staked();
        let t = table(&ks);
        let sign = |k: &Keypair| Attestation::sign(k, LEAGUE, 0, Hash32([1; 32]), t.root(), 300);
        // A forged attestation is refused before it reaches the chain.
        let mut forged = sign(&ks[0]);
        forged.total_payout = 299;
        assert!(matches!(chain.attest(&forged), Err(ChainError::Invalid(_))));
        assert_eq!(chain.attest(&sign(&ks[0])), Ok(None));
        assert_eq!(chain.attest(&sign(&ks[0])), Err(ChainError::Duplicate));
        // Two of three is not more than two thirds.
        assert_eq!(chain.attest(&sign(&ks[1])), Ok(None));
        let f = chain.attest(&sign(&ks[2])).unwrap().unwrap();
        assert_eq!(f.rewards_root, t.root());
        assert_eq!(chain.finalised(LEAGUE, 0), Some(f));
        assert_eq!(chain.latest(LEAGUE), Some((0, f)));
        assert_eq!(chain.finalised(OTHER, 0), None);
        let (balance, proof) = t.proof(&ks[0].id()).unwrap();
        // A proof for another balance is refused by the chain.
        assert!(chain.claim(LEAGUE, ks[0].id(), 301, &proof).is_err());
        assert_eq!(chain.claim(LEAGUE, ks[0].id(), balance, &proof), Ok(300));
        assert_eq!(chain.claim(LEAGUE, ks[0].id(), balance, &proof), Ok(0));
        assert_eq!(chain.claimed(LEAGUE, &ks[0].id()), 300);
        assert_eq!(chain.escrow(), 0);
        chain.audit().unwrap();
        let (transactions, gas) = chain.usage().unwrap();
        assert!(transactions > 0 && gas > 0);
    }

    #[test]
    fn a_double_attestation_is_slashed_on_its_evidence_and_match_evidence_is_not() {
        let (mut chain, ks) = staked();
        let a = Attestation::sign(&ks[2], LEAGUE, 0, Hash32([1; 32]), Hash32([2; 32]), 0);
        let b = Attestation::sign(&ks[2], LEAGUE, 0, Hash32([1; 32]), Hash32([3; 32]), 0);
        let evidence = Evidence::ConflictingAttestations {
            first: a.clone(),
            second: b,
        };
        let (culprit, amount) = chain.slash(&evidence).unwrap();
        assert_eq!(culprit, ks[2].id());
        // The stake in this league's contract (half, plus the odd unit), not the other half.
        assert_eq!(amount, 501);
        assert_eq!(chain.burned(), 501);
        assert_eq!(chain.stake(&ks[2].id()), 500);
        assert_eq!(chain.slash(&evidence), Err(ChainError::Duplicate));
        assert_eq!(chain.attest(&a), Err(ChainError::NotStaked));
        // Evidence that does not hold is refused, whatever its kind.
        let c = Attestation::sign(&ks[1], LEAGUE, 0, Hash32([1; 32]), Hash32([3; 32]), 0);
        let mixed = Evidence::ConflictingAttestations {
            first: a,
            second: c,
        };
        assert!(matches!(chain.slash(&mixed), Err(ChainError::Invalid(_))));
        // Two moves for one turn: valid evidence, which the contract cannot check (it is
        // slashed through the conviction in the reward table).
        let mv = |code| {
            MatchMessage::sign(
                &ks[0],
                Hash32([5; 32]),
                3,
                Hash32([6; 32]),
                Body::Move { turn: 1, code },
            )
        };
        let moves = Evidence::Equivocation {
            first: mv(0),
            second: mv(1),
        };
        assert_eq!(verify_evidence(&moves), Ok(ks[0].id()));
        assert!(matches!(
            chain.slash(&moves),
            Err(ChainError::Unsupported(_))
        ));
        assert_eq!(chain.stake(&ks[0].id()), 1_001);
        chain.audit().unwrap();
    }

    #[test]
    fn a_conviction_in_the_finalised_table_is_slashed_once_on_its_proof() {
        let (mut chain, ks) = staked();
        let mut t = table(&ks);
        t.convicted.insert(ks[1].id());
        for k in &ks {
            let a = Attestation::sign(k, LEAGUE, 0, Hash32([1; 32]), t.root(), 300);
            chain.attest(&a).unwrap();
        }
        assert!(chain.finalised(LEAGUE, 0).is_some());
        let proof = t.conviction_proof(&ks[1].id()).unwrap();
        // Not for a player the table does not convict, nor in another league's contract.
        assert!(chain.slash_convicted(LEAGUE, ks[0].id(), &proof).is_err());
        assert!(chain.slash_convicted(OTHER, ks[1].id(), &proof).is_err());
        assert_eq!(chain.slash_convicted(LEAGUE, ks[1].id(), &proof), Ok(501));
        assert_eq!(
            chain.slash_convicted(LEAGUE, ks[1].id(), &proof),
            Err(ChainError::Duplicate)
        );
        assert_eq!(chain.stake(&ks[1].id()), 500);
        assert_eq!(chain.burned(), 501);
        chain.audit().unwrap();
    }

    #[test]
    fn leaving_unstakes_and_withdraws_everything_after_the_delay() {
        let (mut chain, ks) = staked();
        assert_eq!(chain.withdraw_stake(&ks[1].id()), 1_001);
        assert_eq!(chain.stake(&ks[1].id()), 0);
        assert_eq!(chain.withdraw_stake(&ks[1].id()), 0);
        assert_eq!(
            chain.attest(&Attestation::sign(
                &ks[1],
                LEAGUE,
                0,
                Hash32::ZERO,
                Hash32::ZERO,
                0
            )),
            Err(ChainError::NotStaked)
        );
        chain.audit().unwrap();
    }
}
