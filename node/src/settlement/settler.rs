//! Settlement from a running node: a task beside the event loop that anchors each closed
//! epoch on the settlement contract (`docs/settlement.md`).
//!
//! What it does, pass after pass (every second, backing off while the chain fails):
//!
//! 1. **Join** once: fund the account on development chains, bond stake up to the configured
//!    amount, bind the node's ed25519 key to the account.
//! 2. **At an epoch's close** the loop hands it the epoch's [`EpochSummary`] (first league).
//!    If the node played in the epoch it deposits its entry fee (once: the deposit is recorded
//!    in the store). It signs its [`EpochRoots`], keeps the signature and hands it to the loop,
//!    which gossips it on `nets/1/attestations`.
//! 3. **Attestations** of other stakers arrive through gossip, already checked against the
//!    domain they name; the settler keeps those of its contract in the store. Two by one
//!    signer for one epoch over different roots are evidence: it submits them for slashing.
//! 4. **Aggregate**: once the signatures over its own roots carry the quorum of the stake and
//!    the epoch has no quorum on chain, it submits them in one transaction. Signers take
//!    turns, lowest address first and the next one `turn_ms` later, so that one transaction
//!    is usually enough and a silent submitter is replaced.
//! 5. **Finalise** once the challenge window passed (same turns), then **claim** what the
//!    node is owed under the finalised rewards root, and **report the convicted**: players the
//!    finalised table lists as convicted of match fraud whose accounts still hold stake are
//!    slashed on a proof of their conviction leaf (`slashConvicted`).
//!
//! A failed chain call is logged with its step, shown in the status and retried on a later
//! pass; the epoch's items, deposits and attestations are in the store, so waiting (or a
//! restart) loses nothing. The node keeps playing meanwhile: nothing here blocks the loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use nets_settlement::alloy::primitives::{Address, B256};
use nets_settlement::bindings::NetsSettlement;
use nets_settlement::{
    AccountKey, Chain, EmbeddedChain, EmbeddedConfig, EpochRoots, RpcChain, RpcConfig, Settlement,
    SignedAttestation,
};
use nets_tournament::epoch::EpochSummary;
use nets_tournament::hash::Hash32;
use nets_tournament::identity::{Keypair, PlayerId};
use nets_tournament::merkle::Proof;
use nets_tournament::wire::{self, WireError};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::settlement::chain::{
    self as onchain, AnyChain, SettleError, SettleOptions, SettlingNode, SharedChain, at,
};
use crate::store::{Durability, Store};

/// Largest encoded attestation message.
pub const MAX_ATTESTATION: usize = 512;

/// A staker's signed attestation as gossiped: the domain it was signed in (chain and
/// contract), the roots and the signature. Canonical CBOR ([`wire`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationMsg {
    /// The chain id of the domain.
    pub chain_id: u64,
    /// The contract of the domain.
    pub contract: [u8; 20],
    /// The epoch.
    pub epoch: u64,
    /// Root over the epoch's outcomes.
    pub outcomes_root: Hash32,
    /// Root over the cumulative reward table.
    pub rewards_root: Hash32,
    /// The reward table's total.
    pub total_payout: u128,
    /// The signing account.
    pub signer: [u8; 20],
    /// The signature's `r`.
    pub r: Hash32,
    /// The signature's `s` with the recovery parity in its top bit (EIP-2098).
    pub vs: Hash32,
}

impl AttestationMsg {
    /// The message for `signed`, made in the domain of `contract` on `chain_id`.
    pub fn new(chain_id: u64, contract: Address, signed: &SignedAttestation) -> Self {
        Self {
            chain_id,
            contract: contract.into_array(),
            epoch: signed.roots.epoch,
            outcomes_root: signed.roots.outcomes_root,
            rewards_root: signed.roots.rewards_root,
            total_payout: signed.roots.total_payout,
            signer: signed.signer.into_array(),
            r: Hash32(signed.r.0),
            vs: Hash32(signed.vs.0),
        }
    }

    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes canonical bytes (the signature is not checked yet: see [`Self::check`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        wire::decode(bytes, MAX_ATTESTATION)
    }

    /// The contract whose domain it was signed in.
    pub fn contract(&self) -> Address {
        Address::from(self.contract)
    }

    /// The signed attestation.
    pub fn signed(&self) -> SignedAttestation {
        SignedAttestation {
            roots: EpochRoots {
                epoch: self.epoch,
                outcomes_root: self.outcomes_root,
                rewards_root: self.rewards_root,
                total_payout: self.total_payout,
            },
            signer: Address::from(self.signer),
            r: B256::from(self.r.0),
            vs: B256::from(self.vs.0),
        }
    }

    /// Checks that the signer signed it in the domain it names.
    pub fn check(&self) -> Result<SignedAttestation, String> {
        let signed = self.signed();
        signed
            .verify(&nets_settlement::attestation::domain(
                self.chain_id,
                self.contract(),
            ))
            .map_err(|e| e.to_string())?;
        Ok(signed)
    }
}

/// Where the settler's chain is.
#[derive(Clone, Debug)]
pub enum ChainSource {
    /// An embedded chain kept in a directory (the node's `chain/`).
    Embedded {
        /// The directory.
        dir: PathBuf,
        /// Its chain id.
        chain_id: u64,
    },
    /// An embedded chain shared with other nodes of this process (a devnet).
    Shared(SharedChain),
    /// A JSON-RPC endpoint.
    Rpc(RpcConfig),
}

/// How a node settles.
#[derive(Debug)]
pub struct SettlerConfig {
    /// The chain.
    pub source: ChainSource,
    /// The contract; `None` on an embedded chain: the one recorded there, else a new one.
    pub contract: Option<Address>,
    /// The account that stakes, signs and sends.
    pub account: AccountKey,
    /// The node's identity (its player id is what claims are paid to).
    pub identity: Keypair,
    /// Stake kept bonded, faucet funding on development chains, entry fee per epoch played,
    /// and the parameters of a contract this node deploys.
    pub options: SettleOptions,
    /// Move a development chain's clock up to the wall clock before each pass (embedded
    /// chains have no clock of their own).
    pub follow_clock: bool,
    /// Time between the turns of successive submitters.
    pub turn_ms: u64,
    /// Also sign other roots for every epoch and gossip them: an equivocator, for simulations
    /// (simnet's full-stack mode); false for a real node.
    pub equivocate: bool,
}

/// What the loop hands the settler.
#[derive(Debug)]
pub enum SettleIn {
    /// Summaries of closed epochs (of the league settled).
    Closed(Vec<EpochSummary>),
    /// An attestation from gossip, its signature checked.
    Attestation(AttestationMsg),
}

/// The settler's state, for the API's status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementStatus {
    /// The chain, in words.
    pub chain: String,
    /// The contract, once connected.
    pub contract: Option<String>,
    /// The node's account.
    pub account: String,
    /// Stake bonded and key bound.
    pub joined: bool,
    /// The latest finalised epoch on chain.
    pub finalised_epoch: Option<u64>,
    /// Epochs this node signed an attestation for.
    pub attested: Vec<u64>,
    /// What this node's key claimed, in wei (decimal).
    pub claimed: String,
    /// Accounts this node reported for equivocation.
    pub reported: Vec<String>,
    /// The last failure, if the last pass failed.
    pub last_error: Option<String>,
    /// What the last pass waited for (funds an aggregate needs), if anything.
    pub waiting: Option<String>,
}

/// Something the settler did on chain (what a devnet reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettleEvent {
    /// Stake bonded (gas 0: already bonded) and key bound (gas 0: already bound).
    Joined {
        /// Active stake.
        stake: u128,
        /// Gas of the stake transaction.
        stake_gas: u64,
        /// Gas of the binding.
        bind_gas: u64,
    },
    /// An entry fee deposited.
    Deposited {
        /// The epoch.
        epoch: u64,
        /// Wei.
        amount: u128,
        /// Gas.
        gas: u64,
    },
    /// An aggregate submitted.
    Attested {
        /// The roots.
        roots: EpochRoots,
        /// The accounts whose signatures it carried.
        signers: Vec<Address>,
        /// Gas.
        gas: u64,
    },
    /// An epoch finalised.
    Finalised {
        /// The roots.
        roots: EpochRoots,
        /// Gas.
        gas: u64,
    },
    /// A claim paid.
    Claimed {
        /// The finalised epoch claimed under.
        epoch: u64,
        /// Paid now.
        amount: u128,
        /// Cumulative balance.
        cumulative: u128,
        /// Gas.
        gas: u64,
    },
    /// An equivocator reported.
    Slashed {
        /// Its account.
        signer: Address,
        /// The epoch it equivocated in.
        epoch: u64,
        /// Gas.
        gas: u64,
    },
    /// A player convicted of match fraud in the finalised reward table, reported and slashed.
    SlashedConvicted {
        /// The convicted player.
        player: PlayerId,
        /// The account its key is bound to.
        account: Address,
        /// The finalised epoch whose table convicts it.
        epoch: u64,
        /// Gas.
        gas: u64,
    },
}

/// The channels between the loop and a started settler.
#[derive(Debug)]
pub struct SettlerLink {
    /// Into the settler.
    pub input: mpsc::Sender<SettleIn>,
    /// Attestations to gossip, from the settler.
    pub publish: mpsc::Receiver<Vec<u8>>,
    /// The settler's status.
    pub status: watch::Receiver<SettlementStatus>,
}

/// Pass interval while all goes well.
const PASS_MS: u64 = 1_000;
/// Longest wait between passes while the chain fails.
const MAX_BACKOFF_MS: u64 = 15_000;

/// Starts a settler task; it runs until `shutdown`. `events`, if given, receives what it did.
pub fn spawn(
    config: SettlerConfig,
    store: Store,
    events: Option<mpsc::UnboundedSender<(PlayerId, SettleEvent)>>,
    shutdown: CancellationToken,
) -> SettlerLink {
    let (input_tx, mut input_rx) = mpsc::channel(1024);
    let (publish_tx, publish_rx) = mpsc::channel(64);
    let (status_tx, status_rx) = watch::channel(SettlementStatus::default());
    let mut settler = Settler::new(config, store, events);
    tokio::spawn(async move {
        let mut wait = 0u64;
        let mut next_pass = tokio::time::Instant::now();
        loop {
            // The deadline stands while inputs arrive: they must not postpone the pass.
            let sleep = tokio::time::sleep_until(next_pass);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(input) = input_rx.recv() => {
                    settler.on_input(input);
                    continue;
                }
                _ = sleep => {}
            }
            let now = crate::clock::now_ms();
            let result = settler.pass(now).await;
            wait = match &result {
                Ok(()) => PASS_MS,
                Err(_) => wait.saturating_mul(2).clamp(PASS_MS, MAX_BACKOFF_MS),
            };
            next_pass = tokio::time::Instant::now() + Duration::from_millis(wait);
            if let Err(e) = &result {
                tracing::warn!("settlement: {e} (retrying in {} s)", wait / 1000);
            }
            for bytes in settler.outbox.drain(..) {
                let _ = publish_tx.try_send(bytes);
            }
            status_tx.send_replace(settler.status(result.err()));
        }
    });
    SettlerLink {
        input: input_tx,
        publish: publish_rx,
        status: status_rx,
    }
}

/// One node's settlement state.
#[derive(Debug)]
pub struct Settler {
    source: ChainSource,
    contract: Option<Address>,
    node: SettlingNode,
    options: SettleOptions,
    follow_clock: bool,
    turn_ms: u64,
    /// Signs other roots too (a simulated equivocator).
    #[cfg_attr(not(feature = "adversaries"), allow(dead_code))]
    equivocate: bool,
    store: Store,
    events: Option<mpsc::UnboundedSender<(PlayerId, SettleEvent)>>,
    settlement: Option<Settlement<AnyChain>>,
    chain_name: String,
    joined: bool,
    /// Closed epochs' summaries, by epoch.
    summaries: BTreeMap<u64, EpochSummary>,
    /// Our own signatures, by epoch.
    ours: BTreeMap<u64, SignedAttestation>,
    /// Every attestation of our contract, by epoch and signer (more than one: equivocation).
    seen: BTreeMap<(u64, Address), Vec<SignedAttestation>>,
    /// Attestation messages not yet checked against our domain (before connecting).
    pending: Vec<AttestationMsg>,
    /// When this node first saw an epoch's quorum in hand, and its window over, by epoch.
    quorum_since: BTreeMap<u64, u64>,
    finalisable_since: BTreeMap<u64, u64>,
    /// Epochs anchored under other roots than ours (reported once).
    dissent: BTreeSet<u64>,
    /// Equivocators reported (or found already slashed).
    reported: BTreeSet<Address>,
    /// Convicted players reported (or found slashed already), never looked at again.
    convicts_reported: BTreeSet<PlayerId>,
    /// Our attestations to gossip.
    outbox: Vec<Vec<u8>>,
    claimed: u128,
    /// The finalised epoch this node last claimed under (nothing more to claim until the
    /// next finalisation).
    claimed_under: Option<u64>,
    /// The contract's quorum, in basis points, once read.
    quorum_bps: Option<u16>,
    finalised_epoch: Option<u64>,
    /// What the last pass waited for, if anything.
    waiting: Option<String>,
}

impl Settler {
    /// A settler that has not connected yet.
    pub fn new(
        config: SettlerConfig,
        store: Store,
        events: Option<mpsc::UnboundedSender<(PlayerId, SettleEvent)>>,
    ) -> Self {
        let chain_name = match &config.source {
            ChainSource::Embedded { dir, .. } => format!("embedded chain in {}", dir.display()),
            ChainSource::Shared(_) => "shared embedded chain".into(),
            ChainSource::Rpc(rpc) => format!("chain at {}", rpc.url),
        };
        Self {
            source: config.source,
            contract: config.contract,
            node: SettlingNode {
                identity: config.identity,
                account: config.account,
                summaries: Vec::new(),
            },
            options: config.options,
            follow_clock: config.follow_clock,
            turn_ms: config.turn_ms,
            equivocate: config.equivocate,
            store,
            events,
            settlement: None,
            chain_name,
            joined: false,
            summaries: BTreeMap::new(),
            ours: BTreeMap::new(),
            seen: BTreeMap::new(),
            pending: Vec::new(),
            quorum_since: BTreeMap::new(),
            finalisable_since: BTreeMap::new(),
            dissent: BTreeSet::new(),
            reported: BTreeSet::new(),
            convicts_reported: BTreeSet::new(),
            outbox: Vec::new(),
            claimed: 0,
            claimed_under: None,
            quorum_bps: None,
            finalised_epoch: None,
            waiting: None,
        }
    }

    /// Takes an input from the loop.
    pub fn on_input(&mut self, input: SettleIn) {
        match input {
            SettleIn::Closed(summaries) => {
                for s in summaries {
                    self.summaries.insert(s.epoch, s);
                }
            }
            SettleIn::Attestation(msg) => self.pending.push(msg),
        }
    }

    /// The attestation messages this node made, to gossip (drained).
    pub fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outbox)
    }

    /// The status, with `error` from the last pass.
    pub fn status(&self, error: Option<SettleError>) -> SettlementStatus {
        SettlementStatus {
            chain: self.chain_name.clone(),
            contract: self.settlement.as_ref().map(|s| s.address().to_string()),
            account: self.node.account.address().to_string(),
            joined: self.joined,
            finalised_epoch: self.finalised_epoch,
            attested: self.ours.keys().copied().collect(),
            claimed: self.claimed.to_string(),
            reported: self.reported.iter().map(|a| a.to_string()).collect(),
            last_error: error.map(|e| e.to_string()),
            waiting: self.waiting.clone(),
        }
    }

    /// Whether the chain is this node's own (an embedded chain in its data dir).
    fn private_chain(&self) -> bool {
        matches!(self.source, ChainSource::Embedded { .. })
    }

    fn emit(&self, event: SettleEvent) {
        if let Some(events) = &self.events {
            let _ = events.send((self.node.identity.id(), event));
        }
    }

    /// Connects to the chain and the contract (deploying one on a fresh embedded chain).
    async fn connect(&mut self) -> Result<(), SettleError> {
        if self.settlement.is_some() {
            return Ok(());
        }
        let (chain, recorded_in) = match &self.source {
            ChainSource::Embedded { dir, chain_id } => {
                let config = EmbeddedConfig {
                    chain_id: *chain_id,
                    ..EmbeddedConfig::default()
                };
                let chain = EmbeddedChain::open(dir, config).map_err(at(format!(
                    "opening the embedded chain in {}",
                    dir.display()
                )))?;
                (AnyChain::Embedded(chain), Some(dir.clone()))
            }
            ChainSource::Shared(shared) => (AnyChain::Shared(shared.clone()), None),
            ChainSource::Rpc(rpc) => {
                let chain = RpcChain::connect(rpc)
                    .await
                    .map_err(at(format!("connecting to {}", rpc.url)))?;
                (AnyChain::Rpc(chain), None)
            }
        };
        let recorded = recorded_in.as_ref().and_then(|dir| {
            std::fs::read_to_string(dir.join(onchain::CONTRACT_FILE))
                .ok()
                .and_then(|t| t.trim().parse::<Address>().ok())
        });
        let settlement = match self.contract.or(recorded) {
            Some(address) => Settlement::at(chain, address)
                .await
                .map_err(at(format!("finding the contract at {address}")))?,
            None => {
                let (settlement, _) =
                    onchain::deploy(chain, &self.node.account, self.options.params).await?;
                if let Some(dir) = &recorded_in {
                    onchain::write_contract(dir, settlement.address())
                        .map_err(at("recording the contract's address"))?;
                }
                tracing::info!(contract = %settlement.address(), "deployed a settlement contract");
                settlement
            }
        };
        tracing::info!(
            chain = %self.chain_name,
            contract = %settlement.address(),
            account = %self.node.account.address(),
            "settling"
        );
        // Attestations kept from an earlier run; among them our own, which stand: signing other
        // roots for an epoch already signed would be equivocation.
        if let Ok(kept) = self.store.attestations(0) {
            let chain_id = settlement.chain().chain_id();
            let me = self.node.account.address();
            for bytes in kept {
                let Ok(msg) = AttestationMsg::from_bytes(&bytes) else {
                    continue;
                };
                if msg.chain_id == chain_id && msg.contract() == settlement.address() {
                    let signed = msg.signed();
                    if signed.signer == me {
                        self.ours.entry(signed.roots.epoch).or_insert(signed);
                    }
                }
                self.pending.push(msg);
            }
        }
        self.settlement = Some(settlement);
        Ok(())
    }

    /// One pass over everything there is to do at `now_ms`; the first failure ends it (the
    /// next pass starts over, and every step is idempotent).
    pub async fn pass(&mut self, now_ms: u64) -> Result<(), SettleError> {
        self.connect().await?;
        let Some(mut settlement) = self.settlement.take() else {
            return Ok(());
        };
        let result = self.pass_on(&mut settlement, now_ms).await;
        self.settlement = Some(settlement);
        result
    }

    async fn pass_on(
        &mut self,
        s: &mut Settlement<AnyChain>,
        now_ms: u64,
    ) -> Result<(), SettleError> {
        self.waiting = None;
        self.take_pending(s);
        if self.follow_clock {
            let now = now_ms / 1000;
            let chain_now = s
                .chain_mut()
                .timestamp()
                .await
                .map_err(at("reading the chain's time"))?;
            if chain_now < now {
                s.chain_mut()
                    .advance_time(now.saturating_sub(chain_now))
                    .await
                    .map_err(at("moving the chain's clock"))?;
            }
        }
        if !self.joined {
            let account = onchain::join(s, &self.node, &self.options).await?;
            self.joined = true;
            self.emit(SettleEvent::Joined {
                stake: account.stake,
                stake_gas: account.stake_gas,
                bind_gas: account.bind_gas,
            });
        }
        let status = s
            .status()
            .await
            .map_err(at("reading the contract's status"))?;
        self.finalised_epoch = status.finalised_epoch;
        // Epochs before the finalised one are settled (or passed over): forget them.
        let keep = status.next_epoch.saturating_sub(1);
        self.summaries = self.summaries.split_off(&keep);
        self.ours = self.ours.split_off(&keep);
        self.seen = self.seen.split_off(&(keep, Address::ZERO));
        let open: Vec<u64> = self
            .summaries
            .range(status.next_epoch..)
            .map(|(e, _)| *e)
            .collect();
        let mut funds = status.reward_funds;
        for epoch in &open {
            let deposited = self.deposit(s, *epoch, funds).await?;
            funds = funds.saturating_add(deposited);
            self.sign(s, *epoch)?;
        }
        self.report_equivocators(s).await?;
        // An immutable of the contract: read once.
        let quorum_bps = match self.quorum_bps {
            Some(q) => q,
            None => {
                let q = s
                    .read(&NetsSettlement::quorumBpsCall {})
                    .await
                    .map_err(at("reading the quorum"))?;
                *self.quorum_bps.insert(q)
            }
        };
        for epoch in open {
            self.anchor(s, epoch, now_ms, status.total_stake, quorum_bps)
                .await?;
        }
        self.claim(s).await
    }

    /// Checks gossiped attestations against our domain and keeps those of our contract.
    fn take_pending(&mut self, s: &Settlement<AnyChain>) {
        let chain_id = s.chain().chain_id();
        for msg in std::mem::take(&mut self.pending) {
            if msg.chain_id != chain_id || msg.contract() != s.address() {
                continue;
            }
            let signed = msg.signed();
            // The loop checked the signature in the domain the message names, which is ours.
            let _ = self
                .store
                .put_attestation(msg.epoch, &msg.to_bytes(), Durability::Background);
            let list = self.seen.entry((msg.epoch, signed.signer)).or_default();
            if !list.contains(&signed) {
                list.push(signed);
            }
        }
    }

    /// Deposits the entry fee for `epoch` if this node is among its entrants (it entered or
    /// played: the summary's standings list every entrant) and has not yet. On a
    /// chain of its own the node is the only depositor, so it pays whatever the epoch's
    /// reward table needs beyond the funds: every entrant's fee. Returns what it deposited
    /// now.
    async fn deposit(
        &mut self,
        s: &mut Settlement<AnyChain>,
        epoch: u64,
        funds: u128,
    ) -> Result<u128, SettleError> {
        let me = self.node.identity.id();
        let Some(summary) = self.summaries.get(&epoch) else {
            return Ok(0);
        };
        let entrant = summary.standings.contains_key(&me);
        let fee = if self.private_chain() {
            summary.rewards.total().unwrap_or(0).saturating_sub(funds)
        } else if entrant {
            self.options.entry_fee
        } else {
            0
        };
        if fee == 0 || self.store.deposit(epoch).ok().flatten().is_some() {
            return Ok(0);
        }
        let receipt = s
            .deposit(&self.node.account, &me, fee)
            .await
            .map_err(at(format!("depositing the entry fee of epoch {epoch}")))?;
        if let Err(e) = self.store.put_deposit(epoch, fee) {
            tracing::error!("cannot record the deposit of epoch {epoch}: {e}");
        }
        self.emit(SettleEvent::Deposited {
            epoch,
            amount: fee,
            gas: receipt.gas_used,
        });
        Ok(fee)
    }

    /// Signs our roots of `epoch` once, keeps the signature and queues it for gossip.
    fn sign(&mut self, s: &Settlement<AnyChain>, epoch: u64) -> Result<(), SettleError> {
        if self.ours.contains_key(&epoch) {
            return Ok(());
        }
        let Some(summary) = self.summaries.get(&epoch) else {
            return Ok(());
        };
        let roots = EpochRoots::from_summary(summary).ok_or(SettleError::Overflow { epoch })?;
        let signed = s
            .sign_attestation(&self.node.account, &roots)
            .map_err(at(format!("signing epoch {epoch}")))?;
        let msg = AttestationMsg::new(s.chain().chain_id(), s.address(), &signed);
        let bytes = msg.to_bytes();
        let _ = self.store.put_attestation(epoch, &bytes, Durability::Now);
        let list = self.seen.entry((epoch, signed.signer)).or_default();
        if !list.contains(&signed) {
            list.push(signed);
        }
        self.ours.insert(epoch, signed);
        self.outbox.push(bytes);
        tracing::info!(epoch, rewards_root = %roots.rewards_root, "attested");
        #[cfg(feature = "adversaries")]
        if self.equivocate {
            // A second signature over other roots, gossiped like the first and kept nowhere.
            let other = EpochRoots {
                outcomes_root: nets_tournament::hash::keccak256(&[
                    b"nets/equivocation",
                    &roots.outcomes_root.0,
                ]),
                ..roots
            };
            let forged = s
                .sign_attestation(&self.node.account, &other)
                .map_err(at(format!("signing other roots of epoch {epoch}")))?;
            self.outbox
                .push(AttestationMsg::new(s.chain().chain_id(), s.address(), &forged).to_bytes());
            tracing::info!(epoch, "equivocated (simulated equivocator)");
        }
        Ok(())
    }

    /// Reports every signer seen signing two different roots for one epoch.
    async fn report_equivocators(
        &mut self,
        s: &mut Settlement<AnyChain>,
    ) -> Result<(), SettleError> {
        let conflicts: Vec<(SignedAttestation, SignedAttestation)> = self
            .seen
            .values()
            .filter_map(|list| match list.as_slice() {
                [a, b, ..] => Some((*a, *b)),
                _ => None,
            })
            .filter(|(a, _)| !self.reported.contains(&a.signer))
            .collect();
        for (a, b) in conflicts {
            match s.slash(&self.node.account, &a, &b).await {
                Ok(receipt) => {
                    tracing::warn!(signer = %a.signer, epoch = a.roots.epoch, "reported an equivocator");
                    self.emit(SettleEvent::Slashed {
                        signer: a.signer,
                        epoch: a.roots.epoch,
                        gas: receipt.gas_used,
                    });
                }
                // Someone else was quicker, or it holds nothing: nothing left to do.
                Err(e) if matches!(e.revert_name(), Some("NothingToSlash")) => {}
                Err(e) => {
                    return Err(at(format!("reporting {} for equivocation", a.signer))(e));
                }
            }
            self.reported.insert(a.signer);
        }
        Ok(())
    }

    /// Submits the aggregate of our roots of `epoch` or finalises it, in our turn.
    async fn anchor(
        &mut self,
        s: &mut Settlement<AnyChain>,
        epoch: u64,
        now_ms: u64,
        total_stake: u128,
        quorum_bps: u16,
    ) -> Result<(), SettleError> {
        let Some(mine) = self.ours.get(&epoch).copied() else {
            return Ok(());
        };
        let progress = s
            .epoch(epoch)
            .await
            .map_err(at(format!("reading epoch {epoch}")))?;
        // The signatures over our roots, by signer (equivocators left out).
        let agreeing: BTreeMap<Address, SignedAttestation> = self
            .seen
            .range((epoch, Address::ZERO)..=(epoch, Address::repeat_byte(0xff)))
            .filter(|(_, list)| list.len() == 1)
            .filter_map(|(_, list)| list.first().filter(|a| a.roots == mine.roots))
            .map(|a| (a.signer, *a))
            .collect();
        let rank = agreeing
            .keys()
            .position(|a| *a == mine.signer)
            .unwrap_or(agreeing.len());
        let turn = self.turn_ms.saturating_mul(rank as u64);
        match progress.quorum_digest {
            None => {
                // Signers without active stake (slashed, say for a conviction, or gone) would
                // make the contract refuse the whole aggregate: leave them out.
                let mut weight = 0u128;
                let mut staked = BTreeMap::new();
                for (signer, signed) in agreeing {
                    let stake = s
                        .stake_of(signer)
                        .await
                        .map_err(at(format!("reading the stake of {signer}")))?;
                    if stake.active > 0 {
                        weight = weight.saturating_add(stake.active);
                        staked.insert(signer, signed);
                    }
                }
                let agreeing = staked;
                let reached = weight.saturating_mul(10_000)
                    >= total_stake.saturating_mul(u128::from(quorum_bps));
                if !reached || total_stake == 0 {
                    return Ok(());
                }
                let since = *self.quorum_since.entry(epoch).or_insert(now_ms);
                if now_ms < since.saturating_add(turn) {
                    return Ok(());
                }
                let funds = s
                    .status()
                    .await
                    .map_err(at("reading the contract's status"))?
                    .reward_funds;
                if funds < mine.roots.total_payout {
                    // Entrants' deposits may still be on their way: wait, without backing off.
                    self.waiting = Some(
                        SettleError::Underfunded {
                            epoch,
                            funds,
                            payout: mine.roots.total_payout,
                        }
                        .to_string(),
                    );
                    return Ok(());
                }
                let signers: Vec<Address> = agreeing.keys().copied().collect();
                let signatures: Vec<SignedAttestation> = agreeing.into_values().collect();
                let receipt = s
                    .attest(&self.node.account, &mine.roots, &signatures)
                    .await
                    .map_err(at(format!("submitting the aggregate of epoch {epoch}")))?;
                tracing::info!(
                    epoch,
                    signers = signatures.len(),
                    gas = receipt.gas_used,
                    "anchored"
                );
                self.emit(SettleEvent::Attested {
                    roots: mine.roots,
                    signers,
                    gas: receipt.gas_used,
                });
            }
            Some(digest) => {
                let ours = mine.roots.digest(s.domain());
                if digest.as_slice() != ours.get(..24).unwrap_or_default() {
                    if self.dissent.insert(epoch) {
                        tracing::warn!(
                            epoch,
                            "the stake anchored other roots than this node computed for the epoch"
                        );
                    }
                    return Ok(());
                }
                let Some(finalisable_at) = progress.finalisable_at else {
                    return Ok(());
                };
                // A chain that mines only on demand (anvil) keeps its last block's time
                // until the next transaction, which will carry the wall clock's.
                let chain_now = s
                    .chain_mut()
                    .timestamp()
                    .await
                    .map_err(at("reading the chain's time"))?
                    .max(if self.follow_clock { 0 } else { now_ms / 1000 });
                if chain_now < finalisable_at {
                    return Ok(());
                }
                let since = *self.finalisable_since.entry(epoch).or_insert(now_ms);
                if now_ms < since.saturating_add(turn) {
                    return Ok(());
                }
                match s.finalise(&self.node.account, &mine.roots).await {
                    Ok(receipt) => {
                        tracing::info!(epoch, gas = receipt.gas_used, "finalised");
                        self.emit(SettleEvent::Finalised {
                            roots: mine.roots,
                            gas: receipt.gas_used,
                        });
                    }
                    // Finalised (or passed over) by someone else meanwhile.
                    Err(e) if matches!(e.revert_name(), Some("EpochClosed")) => {}
                    Err(e) => return Err(at(format!("finalising epoch {epoch}"))(e)),
                }
            }
        }
        Ok(())
    }

    /// Reports the players the finalised table (ours) convicts, given with their proofs, if
    /// their accounts still hold stake; runs once per finalised epoch, after this node's
    /// claim. Whoever is quicker pays the gas and earns the reporter's share.
    async fn report_convicted(
        &mut self,
        s: &mut Settlement<AnyChain>,
        epoch: u64,
        convictions: Vec<(PlayerId, Proof)>,
    ) -> Result<(), SettleError> {
        for (player, proof) in convictions {
            let player = &player;
            let account = s
                .account_of(player)
                .await
                .map_err(at("reading a convicted player's account"))?;
            let Some(account) = account else {
                // No account, no stake to take: looked at again when the next epoch finalises.
                continue;
            };
            let stake = s
                .stake_of(account)
                .await
                .map_err(at("reading a convicted player's stake"))?;
            if stake.slashed {
                // A slashed account never stakes again, and the key stays bound to it.
                self.convicts_reported.insert(*player);
                continue;
            }
            if stake.active == 0 && stake.unbonding == 0 {
                continue;
            }
            match s.slash_convicted(&self.node.account, player, &proof).await {
                Ok(receipt) => {
                    tracing::warn!(%player, %account, epoch, "reported a convicted player");
                    self.emit(SettleEvent::SlashedConvicted {
                        player: *player,
                        account,
                        epoch,
                        gas: receipt.gas_used,
                    });
                }
                Err(e) if matches!(e.revert_name(), Some("NothingToSlash")) => {}
                Err(e) => {
                    return Err(at(format!("reporting {player} for match fraud"))(e));
                }
            }
            self.convicts_reported.insert(*player);
        }
        Ok(())
    }

    /// Claims what this node is owed under the finalised root, if it computed that root.
    async fn claim(&mut self, s: &mut Settlement<AnyChain>) -> Result<(), SettleError> {
        let status = s
            .status()
            .await
            .map_err(at("reading the contract's status"))?;
        self.finalised_epoch = status.finalised_epoch;
        let Some(epoch) = status.finalised_epoch else {
            return Ok(());
        };
        if self.claimed_under == Some(epoch) {
            return Ok(());
        }
        let Some(summary) = self.summaries.get(&epoch) else {
            return Ok(());
        };
        if summary.rewards_root != status.rewards_root {
            return Ok(());
        }
        // The convictions still to report, with their proofs (usually none).
        let convictions: Vec<(PlayerId, Proof)> = summary
            .rewards
            .conviction_proofs()
            .into_iter()
            .filter(|(p, _)| !self.convicts_reported.contains(p))
            .collect();
        let claimed = match onchain::claim_from(s, &self.node, summary).await {
            Ok(c) => c,
            Err(e) => {
                // Another signer may have finalised a later epoch between the status read and
                // the claim (its cumulative root replaces this one): not a failure, the next
                // pass claims under the newer root.
                let now = s
                    .status()
                    .await
                    .map_err(at("reading the contract's status"))?;
                if now.finalised_epoch != Some(epoch) {
                    tracing::debug!(epoch, "a later epoch was finalised during the claim");
                    return Ok(());
                }
                return Err(e);
            }
        };
        if let Some(claim) = claimed {
            tracing::info!(epoch, amount = claim.amount, "claimed");
            self.emit(SettleEvent::Claimed {
                epoch,
                amount: claim.amount,
                cumulative: claim.cumulative,
                gas: claim.gas,
            });
        }
        self.claimed = s
            .claimed(&self.node.identity.id())
            .await
            .map_err(at("reading what this node claimed"))?;
        self.claimed_under = Some(epoch);
        // Best effort: another node may report first, or a later epoch may finalise
        // meanwhile (its table lists the same convictions, and the next pass reports them).
        if let Err(e) = self.report_convicted(s, epoch, convictions).await {
            tracing::info!(epoch, "reporting the convicted: {e}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use nets_settlement::alloy::primitives::U256;
    use nets_settlement::{EmbeddedConfig, Parameters};
    use nets_tournament::economics::{Payout, RewardTable, Standing};

    use super::*;

    /// A closed epoch whose entrants are `entrants` and whose cumulative table is `balances`.
    fn summary(
        epoch: u64,
        outcomes: u8,
        entrants: &[PlayerId],
        balances: &[(PlayerId, u128)],
    ) -> EpochSummary {
        let rewards = RewardTable {
            balances: balances.iter().copied().collect(),
            ..RewardTable::default()
        };
        EpochSummary {
            epoch,
            outcomes_root: Hash32([outcomes; 32]),
            rewards_root: rewards.root(),
            games: Vec::new(),
            ratings: BTreeMap::new(),
            standings: entrants.iter().map(|p| (*p, Standing::default())).collect(),
            payout: Payout::default(),
            rewards,
        }
    }

    /// Settlers of `n` nodes on one shared in-memory chain, with an entry fee of `fee`.
    struct Net {
        settlers: Vec<Settler>,
        chain: SharedChain,
        contract: Address,
        events: mpsc::UnboundedReceiver<(PlayerId, SettleEvent)>,
        now: u64,
        _dirs: Vec<tempfile::TempDir>,
    }

    const T0: u64 = 2_000_000_000_000;

    fn key(i: usize) -> Keypair {
        Keypair::from_secret([u8::try_from(i).unwrap() + 1; 32])
    }

    fn ids(n: usize) -> Vec<PlayerId> {
        (0..n).map(|i| key(i).id()).collect()
    }

    async fn network(n: usize, fee: u128) -> Net {
        let mut chain = EmbeddedChain::in_memory(EmbeddedConfig::default());
        chain
            .advance_time_now(T0 / 1000 - chain.timestamp_now())
            .unwrap();
        let params = Parameters {
            challenge_window: 2,
            ..Parameters::default()
        };
        let deployer = AccountKey::derive_from_ed25519(&[99; 32]);
        let (settlement, _) = onchain::deploy(chain, &deployer, params).await.unwrap();
        let contract = settlement.address();
        let chain = SharedChain::new(settlement.into_chain());
        let (tx, events) = mpsc::unbounded_channel();
        let mut settlers = Vec::new();
        let mut dirs = Vec::new();
        for i in 0..n {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            dirs.push(dir);
            let identity = key(i);
            let config = SettlerConfig {
                source: ChainSource::Shared(chain.clone()),
                contract: Some(contract),
                account: AccountKey::derive_from_identity(&identity),
                identity,
                options: SettleOptions {
                    entry_fee: fee,
                    ..SettleOptions::default()
                },
                follow_clock: true,
                turn_ms: 1_000,
                equivocate: false,
            };
            settlers.push(Settler::new(config, store, Some(tx.clone())));
        }
        let mut net = Net {
            settlers,
            chain,
            contract,
            events,
            now: T0,
            _dirs: dirs,
        };
        // Every node stakes before the first epoch closes (as running nodes do).
        for r in net.round().await {
            r.expect("joins");
        }
        net
    }

    impl Net {
        /// One pass of every settler a second later, then everything they made is gossiped
        /// to all (checked as the loop checks it). The passes' results, by node.
        async fn round(&mut self) -> Vec<Result<(), SettleError>> {
            self.now += 1_000;
            let mut results = Vec::new();
            let mut gossip = Vec::new();
            for s in &mut self.settlers {
                results.push(s.pass(self.now).await);
                gossip.extend(s.take_outbox());
            }
            for bytes in gossip {
                self.gossip(&bytes);
            }
            results
        }

        fn gossip(&mut self, bytes: &[u8]) {
            let msg = AttestationMsg::from_bytes(bytes).expect("decodes");
            msg.check().expect("verifies");
            for s in &mut self.settlers {
                s.on_input(SettleIn::Attestation(msg.clone()));
            }
        }

        fn close(&mut self, node: usize, summaries: Vec<EpochSummary>) {
            self.settlers[node].on_input(SettleIn::Closed(summaries));
        }

        async fn settlement(&self) -> Settlement<AnyChain> {
            Settlement::at(AnyChain::Shared(self.chain.clone()), self.contract)
                .await
                .unwrap()
        }

        fn events(&mut self) -> Vec<(PlayerId, SettleEvent)> {
            let mut out = Vec::new();
            while let Ok(e) = self.events.try_recv() {
                out.push(e);
            }
            out
        }
    }

    fn attested(events: &[(PlayerId, SettleEvent)]) -> Vec<(u64, usize)> {
        events
            .iter()
            .filter_map(|(_, e)| match e {
                SettleEvent::Attested { roots, signers, .. } => Some((roots.epoch, signers.len())),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn epochs_are_anchored_by_the_majority_and_every_creditor_is_paid() {
        let ids = ids(4);
        let mut net = network(4, 20).await;
        let epoch0 = summary(0, 7, &ids, &[(ids[0], 30), (ids[1], 10)]);
        let epoch3 = summary(3, 8, &ids, &[(ids[0], 50), (ids[1], 10), (ids[2], 20)]);
        for i in 0..4 {
            let mut mine = vec![epoch0.clone(), epoch3.clone()];
            if i == 3 {
                // The last node saw another outcome in epoch 3.
                mine[1] = summary(3, 9, &ids, &[(ids[0], 50), (ids[1], 30)]);
            }
            net.close(i, mine);
        }
        for _ in 0..12 {
            for r in net.round().await {
                r.expect("every pass succeeds");
            }
        }
        let events = net.events();
        // One aggregate per epoch (the signers take turns), the dissenter's signature left out.
        assert_eq!(attested(&events), vec![(0, 4), (3, 3)]);
        let mut s = net.settlement().await;
        let status = s.status().await.unwrap();
        assert_eq!(status.finalised_epoch, Some(3));
        assert_eq!(status.outcomes_root, Hash32([8; 32]));
        // Fees of 20 for 4 entrants in 2 epochs; every creditor claimed its balance.
        assert_eq!(status.reward_funds, 160);
        assert_eq!(status.total_claimed, 80);
        assert_eq!(status.balance, status.obligations());
        for (player, balance) in [(ids[0], 50), (ids[1], 10), (ids[2], 20), (ids[3], 0)] {
            assert_eq!(s.claimed(&player).await.unwrap(), balance);
        }
        let st = net.settlers[0].status(None);
        assert!(st.joined && st.last_error.is_none());
        assert_eq!(st.finalised_epoch, Some(3));
        assert_eq!(st.claimed, "50");
        // The dissenter sees the finalised root is not its own and claims nothing more.
        assert_eq!(net.settlers[3].status(None).claimed, "0");
    }

    #[tokio::test]
    async fn a_split_stays_open_and_an_underfunded_table_waits_for_funds() {
        let ids = ids(2);
        // Equal stakes disagreeing: neither half reaches two thirds.
        let mut net = network(2, 100).await;
        net.close(0, vec![summary(0, 7, &ids, &[(ids[0], 30)])]);
        net.close(1, vec![summary(0, 9, &ids, &[(ids[0], 30)])]);
        for _ in 0..6 {
            for r in net.round().await {
                r.expect("a split is no error");
            }
        }
        assert!(attested(&net.events()).is_empty());
        assert_eq!(
            net.settlement()
                .await
                .status()
                .await
                .unwrap()
                .finalised_epoch,
            None
        );

        // Fees of 10 each cannot pay 30: the aggregate waits, with a clear error, until
        // someone deposits the difference; then it settles without anything being redone.
        let mut net = network(2, 10).await;
        let table = summary(0, 7, &ids, &[(ids[0], 30)]);
        net.close(0, vec![table.clone()]);
        net.close(1, vec![table]);
        for _ in 0..4 {
            for r in net.round().await {
                r.expect("waiting for funds is no failure");
            }
        }
        let mut events = net.events();
        assert!(attested(&events).is_empty());
        let waiting = net.settlers[0].status(None).waiting.unwrap_or_default();
        assert!(
            waiting.contains("(20 wei) do not cover the reward table's total (30 wei)"),
            "{waiting}"
        );
        let donor = AccountKey::derive_from_ed25519(&[42; 32]);
        let mut s = net.settlement().await;
        s.chain_mut()
            .set_balance(donor.address(), U256::from(1_000))
            .await
            .unwrap();
        s.deposit(&donor, &ids[1], 10).await.unwrap();
        for _ in 0..6 {
            for r in net.round().await {
                r.expect("funded now");
            }
        }
        let status = s.status().await.unwrap();
        assert_eq!(status.finalised_epoch, Some(0));
        assert_eq!(status.total_claimed, 30);
        // Each node deposited once, however many passes it made.
        events.extend(net.events());
        let deposits = events
            .iter()
            .filter(|(_, e)| matches!(e, SettleEvent::Deposited { .. }))
            .count();
        assert_eq!(deposits, 2);
    }

    #[tokio::test]
    async fn an_equivocator_is_reported_slashed_and_left_out() {
        let ids = ids(3);
        let mut net = network(3, 0).await;
        let table = summary(0, 7, &ids, &[]);
        for i in 0..3 {
            net.close(i, vec![table.clone()]);
        }
        // Node 2's account also signs other roots for epoch 0, and that reaches the others.
        let other = EpochRoots {
            outcomes_root: Hash32([1; 32]),
            ..EpochRoots::from_summary(&table).unwrap()
        };
        let s = net.settlement().await;
        let equivocator = AccountKey::derive_from_identity(&key(2));
        let forged = s.sign_attestation(&equivocator, &other).unwrap();
        drop(s);
        net.round().await;
        let msg = AttestationMsg::new(31337, net.contract, &forged);
        net.gossip(&msg.to_bytes());
        for _ in 0..8 {
            for r in net.round().await {
                r.expect("passes succeed");
            }
        }
        let events = net.events();
        let slashed: Vec<Address> = events
            .iter()
            .filter_map(|(_, e)| match e {
                SettleEvent::Slashed {
                    signer, epoch: 0, ..
                } => Some(*signer),
                _ => None,
            })
            .collect();
        assert_eq!(slashed, vec![equivocator.address()], "reported once");
        let mut s = net.settlement().await;
        let stake = s.stake_of(equivocator.address()).await.unwrap();
        assert!(stake.slashed && stake.active == 0);
        // The honest two thirds still anchored the epoch, without the equivocator.
        assert_eq!(attested(&events), vec![(0, 2)]);
        assert_eq!(s.status().await.unwrap().finalised_epoch, Some(0));
    }

    #[tokio::test]
    async fn a_player_the_finalised_table_convicts_is_reported_once_and_slashed() {
        let ids = ids(4);
        let mut net = network(4, 0).await;
        // Everyone's table convicts node 3 of match fraud in epoch 0.
        let mut table = summary(0, 7, &ids, &[]);
        table.rewards.convicted.insert(ids[3]);
        table.rewards_root = table.rewards.root();
        for i in 0..4 {
            net.close(i, vec![table.clone()]);
        }
        for _ in 0..10 {
            for r in net.round().await {
                r.expect("passes succeed");
            }
        }
        let events = net.events();
        let convicted = AccountKey::derive_from_identity(&key(3)).address();
        let reports: Vec<(PlayerId, Address)> = events
            .iter()
            .filter_map(|(_, e)| match e {
                SettleEvent::SlashedConvicted {
                    player,
                    account,
                    epoch: 0,
                    ..
                } => Some((*player, *account)),
                _ => None,
            })
            .collect();
        assert_eq!(reports, vec![(ids[3], convicted)], "reported once");
        let mut s = net.settlement().await;
        let stake = s.stake_of(convicted).await.unwrap();
        assert!(stake.slashed && stake.active == 0);
        for honest in 0..3 {
            let account = AccountKey::derive_from_identity(&key(honest)).address();
            assert!(!s.stake_of(account).await.unwrap().slashed);
        }
        let status = s.status().await.unwrap();
        assert_eq!(status.finalised_epoch, Some(0));
        assert_eq!(status.balance, status.obligations());
        drop(s);
        // The next epoch: the slashed player still signs the roots everyone computed, and its
        // signature is left out of the aggregate (the contract would refuse it).
        let mut next = summary(1, 8, &ids, &[]);
        next.rewards.convicted.insert(ids[3]);
        next.rewards_root = next.rewards.root();
        for i in 0..4 {
            net.close(i, vec![next.clone()]);
        }
        for _ in 0..10 {
            for r in net.round().await {
                r.expect("passes succeed");
            }
        }
        assert!(attested(&net.events()).contains(&(1, 3)));
        let mut s = net.settlement().await;
        assert_eq!(s.status().await.unwrap().finalised_epoch, Some(1));
    }

    #[tokio::test]
    async fn a_restarted_node_keeps_the_roots_it_signed() {
        let ids = ids(3);
        let mut net = network(3, 0).await;
        let table = summary(0, 7, &ids, &[]);
        for i in 0..3 {
            net.close(i, vec![table.clone()]);
        }
        net.round().await;
        // Node 2 restarts and computes other roots for epoch 0 (it caught up on more items).
        let store = net.settlers[2].store.clone();
        let identity = key(2);
        let config = SettlerConfig {
            source: ChainSource::Shared(net.chain.clone()),
            contract: Some(net.contract),
            account: AccountKey::derive_from_identity(&identity),
            identity,
            options: SettleOptions::default(),
            follow_clock: true,
            turn_ms: 1_000,
            equivocate: false,
        };
        net.settlers[2] = Settler::new(config, store, None);
        net.close(2, vec![summary(0, 9, &ids, &[])]);
        for _ in 0..8 {
            for r in net.round().await {
                r.expect("passes succeed");
            }
        }
        // It signed nothing new: nobody equivocated, all three signatures anchored the epoch.
        let events = net.events();
        assert!(
            !events
                .iter()
                .any(|(_, e)| matches!(e, SettleEvent::Slashed { .. }))
        );
        assert_eq!(attested(&events), vec![(0, 3)]);
        let status = net.settlement().await.status().await.unwrap();
        assert_eq!(status.finalised_epoch, Some(0));
        assert_eq!(status.outcomes_root, Hash32([7; 32]));
    }

    #[test]
    fn attestation_messages_round_trip_and_refuse_tampering() {
        let key = AccountKey::derive_from_ed25519(&[5; 32]);
        let contract = Address::repeat_byte(0x11);
        let roots = EpochRoots {
            epoch: 9,
            outcomes_root: Hash32([1; 32]),
            rewards_root: Hash32([2; 32]),
            total_payout: u128::MAX,
        };
        let signed = roots
            .sign(&key, &nets_settlement::attestation::domain(7, contract))
            .unwrap();
        let msg = AttestationMsg::new(7, contract, &signed);
        let bytes = msg.to_bytes();
        assert!(bytes.len() <= MAX_ATTESTATION);
        let back = AttestationMsg::from_bytes(&bytes).unwrap();
        assert_eq!(back, msg);
        assert_eq!(back.check().unwrap(), signed);
        let mut other_chain = msg.clone();
        other_chain.chain_id = 8;
        assert!(other_chain.check().is_err());
        let mut other_epoch = msg;
        other_epoch.epoch = 10;
        assert!(other_epoch.check().is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(AttestationMsg::from_bytes(&trailing).is_err());
        assert!(AttestationMsg::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }
}
