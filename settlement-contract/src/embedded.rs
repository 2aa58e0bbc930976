//! The embedded chain: an EVM (revm, Cancun rules) inside the process, running the same
//! bytecode a public chain would, with its state optionally persisted in a directory.
//!
//! It is a chain of one: no consensus, no mempool, no signatures (the sender is taken as
//! given) and no gas price (gas is measured, not charged), so it suits a single node's devnet,
//! tests and the simulator. Time moves only when the caller says so
//! ([`Chain::advance_time`]), which keeps runs deterministic.
//!
//! Persistence: with a directory, the whole state (accounts, code, storage, block number and
//! time) is rewritten after every change to `<dir>/chain.json`, atomically (a temporary file,
//! flushed, then renamed over the old one), so a restart finds every stake, root and claim.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, Bytes, TxKind, U256, keccak256};
use revm::context::result::{EVMError, ExecutionResult, InvalidTransaction};
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Database, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::chain::{Chain, Receipt, TxRequest};
use crate::keys::AccountKey;

/// The gas limit of every transaction and block.
pub const GAS_LIMIT: u64 = 30_000_000;
/// The file the state is kept in, inside the state directory.
pub const STATE_FILE: &str = "chain.json";

/// How to start an embedded chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// The chain id (part of every attestation's EIP-712 domain).
    pub chain_id: u64,
    /// The timestamp of the first block, in seconds.
    pub genesis_timestamp: u64,
}

impl Default for EmbeddedConfig {
    /// Chain id 31337 (anvil's, so the same keys sign the same attestations on both) and a
    /// genesis time of 1 000 000 s.
    fn default() -> Self {
        Self {
            chain_id: 31337,
            genesis_timestamp: 1_000_000,
        }
    }
}

/// An in-process EVM chain.
pub struct EmbeddedChain {
    db: CacheDB<EmptyDB>,
    chain_id: u64,
    number: u64,
    timestamp: u64,
    dir: Option<PathBuf>,
}

impl fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("chain_id", &self.chain_id)
            .field("number", &self.number)
            .field("timestamp", &self.timestamp)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EmbeddedChain {
    /// A fresh chain kept in memory only.
    pub fn in_memory(config: EmbeddedConfig) -> Self {
        Self {
            db: CacheDB::new(EmptyDB::new()),
            chain_id: config.chain_id,
            number: 0,
            timestamp: config.genesis_timestamp,
            dir: None,
        }
    }

    /// The chain persisted in `dir`: loaded from `dir/chain.json` if it exists (then `config`
    /// must name the same chain id), otherwise started fresh and written there. The directory
    /// is created if needed.
    pub fn open(dir: &Path, config: EmbeddedConfig) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| state_error(dir, e))?;
        let path = dir.join(STATE_FILE);
        let mut chain = match std::fs::read(&path) {
            Ok(bytes) => {
                let state: StateFile =
                    serde_json::from_slice(&bytes).map_err(|e| state_error(&path, e))?;
                Self::from_state(state, &path)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::in_memory(config),
            Err(e) => return Err(state_error(&path, e)),
        };
        if chain.chain_id != config.chain_id {
            return Err(Error::WrongChainId {
                expected: config.chain_id,
                actual: chain.chain_id,
            });
        }
        chain.dir = Some(dir.to_path_buf());
        chain.persist()?;
        Ok(chain)
    }

    /// The latest block number.
    pub fn block_number(&self) -> u64 {
        self.number
    }

    /// The state directory, if the chain is persisted.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Sends a transaction synchronously (what [`Chain::send`] does).
    pub fn send_now(&mut self, from: &AccountKey, tx: TxRequest) -> Result<Receipt, Error> {
        let caller = from.address();
        let nonce = self.account_info(caller)?.map_or(0, |info| info.nonce);
        let tx_hash = keccak256(
            [
                caller.as_slice(),
                &nonce.to_be_bytes(),
                tx.to.as_ref().map_or(&[][..], |a| a.as_slice()),
                &tx.value.to_be_bytes::<32>(),
                &tx.data,
            ]
            .concat(),
        );
        let (result, state) = self.execute(caller, tx, Some(nonce))?;
        match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => {
                self.db.commit(state);
                self.persist()?;
                Ok(Receipt {
                    tx_hash,
                    gas_used: gas.tx_gas_used(),
                    contract_address: output.address().copied(),
                    logs,
                })
            }
            ExecutionResult::Revert { output, .. } => Err(Error::reverted(output)),
            ExecutionResult::Halt { reason, .. } => Err(Error::Halted(format!("{reason:?}"))),
        }
    }

    /// Runs a read-only call synchronously (what [`Chain::call`] does).
    pub fn call_now(&mut self, to: Address, data: Bytes) -> Result<Bytes, Error> {
        let tx = TxRequest {
            to: Some(to),
            data,
            value: U256::ZERO,
        };
        match self.execute(Address::ZERO, tx, None)?.0 {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(Error::reverted(output)),
            ExecutionResult::Halt { reason, .. } => Err(Error::Halted(format!("{reason:?}"))),
        }
    }

    /// Moves the clock `seconds` forward and starts a new block.
    pub fn advance_time_now(&mut self, seconds: u64) -> Result<(), Error> {
        self.timestamp = self.timestamp.saturating_add(seconds);
        self.number = self.number.saturating_add(1);
        self.persist()
    }

    /// Sets the balance of `address`.
    pub fn set_balance_now(&mut self, address: Address, amount: U256) -> Result<(), Error> {
        let mut info = self.account_info(address)?.unwrap_or_default();
        info.balance = amount;
        self.db.insert_account_info(address, info);
        self.persist()
    }

    /// The balance of `address`.
    pub fn balance_now(&mut self, address: Address) -> Result<U256, Error> {
        Ok(self
            .account_info(address)?
            .map_or(U256::ZERO, |info| info.balance))
    }

    /// The code at `address`.
    pub fn code_now(&mut self, address: Address) -> Result<Bytes, Error> {
        let Some(info) = self.account_info(address)? else {
            return Ok(Bytes::new());
        };
        let code = match info.code {
            Some(code) => code,
            None => self
                .db
                .code_by_hash(info.code_hash)
                .map_err(|e| Error::Evm(e.to_string()))?,
        };
        Ok(code.original_bytes())
    }

    /// The latest block's timestamp.
    pub fn timestamp_now(&self) -> u64 {
        self.timestamp
    }

    fn account_info(&mut self, address: Address) -> Result<Option<AccountInfo>, Error> {
        self.db
            .basic(address)
            .map_err(|e| Error::Evm(e.to_string()))
    }

    /// Executes `tx` against the current state without committing. `nonce: None` is a call:
    /// no nonce check.
    fn execute(
        &mut self,
        caller: Address,
        tx: TxRequest,
        nonce: Option<u64>,
    ) -> Result<(ExecutionResult, revm::state::EvmState), Error> {
        let (chain_id, number, timestamp) = (self.chain_id, self.number, self.timestamp);
        let ctx = Context::mainnet()
            .with_db(&mut self.db)
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(SpecId::CANCUN);
                cfg.chain_id = chain_id;
                cfg.disable_nonce_check = nonce.is_none();
            })
            .modify_block_chained(|block| {
                block.number = U256::from(number);
                block.timestamp = U256::from(timestamp);
                block.gas_limit = GAS_LIMIT;
                block.basefee = 0;
            });
        let mut evm = ctx.build_mainnet();
        let kind = match tx.to {
            Some(to) => TxKind::Call(to),
            None => TxKind::Create,
        };
        let env = TxEnv::builder()
            .caller(caller)
            .kind(kind)
            .data(tx.data)
            .value(tx.value)
            .gas_limit(GAS_LIMIT)
            .gas_price(0)
            .nonce(nonce.unwrap_or(0))
            .chain_id(Some(chain_id))
            .build()
            .map_err(|e| Error::Evm(format!("{e:?}")))?;
        match evm.transact(env) {
            Ok(outcome) => Ok((outcome.result, outcome.state)),
            Err(EVMError::Transaction(InvalidTransaction::LackOfFundForMaxFee {
                fee,
                balance,
            })) => Err(Error::UnfundedKey {
                address: caller,
                balance: *balance,
                needed: *fee,
            }),
            Err(e) => Err(Error::Evm(e.to_string())),
        }
    }

    fn persist(&self) -> Result<(), Error> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join(STATE_FILE);
        let bytes =
            serde_json::to_vec_pretty(&self.to_state()?).map_err(|e| state_error(&path, e))?;
        write_atomically(&path, &bytes)
    }

    fn to_state(&self) -> Result<StateFile, Error> {
        let mut accounts = BTreeMap::new();
        for (address, account) in &self.db.cache.accounts {
            let info = &account.info;
            let code = match &info.code {
                Some(code) => code.original_bytes(),
                None => self
                    .db
                    .cache
                    .contracts
                    .get(&info.code_hash)
                    .map(Bytecode::original_bytes)
                    .unwrap_or_default(),
            };
            let storage: BTreeMap<U256, U256> = account
                .storage
                .iter()
                .filter(|(_, value)| !value.is_zero())
                .map(|(slot, value)| (*slot, *value))
                .collect();
            if info.balance.is_zero() && info.nonce == 0 && code.is_empty() && storage.is_empty() {
                continue;
            }
            accounts.insert(
                *address,
                AccountState {
                    balance: info.balance,
                    nonce: info.nonce,
                    code,
                    storage,
                },
            );
        }
        Ok(StateFile {
            version: STATE_VERSION,
            chain_id: self.chain_id,
            number: self.number,
            timestamp: self.timestamp,
            accounts,
        })
    }

    fn from_state(state: StateFile, path: &Path) -> Result<Self, Error> {
        if state.version != STATE_VERSION {
            return Err(state_error(
                path,
                format!("state version {}, expected {STATE_VERSION}", state.version),
            ));
        }
        let mut db = CacheDB::new(EmptyDB::new());
        for (address, account) in state.accounts {
            let bytecode = Bytecode::new_raw_checked(account.code)
                .map_err(|e| state_error(path, format!("code of {address}: {e:?}")))?;
            let info = AccountInfo::new(
                account.balance,
                account.nonce,
                bytecode.hash_slow(),
                bytecode,
            );
            db.insert_account_info(address, info);
            for (slot, value) in account.storage {
                db.insert_account_storage(address, slot, value)
                    .map_err(|e| state_error(path, e))?;
            }
        }
        Ok(Self {
            db,
            chain_id: state.chain_id,
            number: state.number,
            timestamp: state.timestamp,
            dir: None,
        })
    }
}

impl Chain for EmbeddedChain {
    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    async fn send(&mut self, from: &AccountKey, tx: TxRequest) -> Result<Receipt, Error> {
        self.send_now(from, tx)
    }

    async fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, Error> {
        self.call_now(to, data)
    }

    async fn balance(&mut self, address: Address) -> Result<U256, Error> {
        self.balance_now(address)
    }

    async fn code(&mut self, address: Address) -> Result<Bytes, Error> {
        self.code_now(address)
    }

    async fn timestamp(&mut self) -> Result<u64, Error> {
        Ok(self.timestamp)
    }

    async fn advance_time(&mut self, seconds: u64) -> Result<(), Error> {
        self.advance_time_now(seconds)
    }

    async fn set_balance(&mut self, address: Address, amount: U256) -> Result<(), Error> {
        self.set_balance_now(address, amount)
    }
}

const STATE_VERSION: u32 = 1;

/// The persisted state: sorted maps, so the same state is always the same file.
#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    chain_id: u64,
    number: u64,
    timestamp: u64,
    accounts: BTreeMap<Address, AccountState>,
}

#[derive(Serialize, Deserialize)]
struct AccountState {
    balance: U256,
    nonce: u64,
    code: Bytes,
    storage: BTreeMap<U256, U256>,
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one: a
/// temporary file beside it, flushed to disk, renamed over it, and the directory flushed.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| state_error(&tmp, e))?;
    file.write_all(bytes).map_err(|e| state_error(&tmp, e))?;
    file.sync_all().map_err(|e| state_error(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| state_error(path, e))?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        // Best effort: not every platform can flush a directory.
        let _ = dir.sync_all();
    }
    Ok(())
}

fn state_error(path: &Path, reason: impl fmt::Display) -> Error {
    Error::State {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}
