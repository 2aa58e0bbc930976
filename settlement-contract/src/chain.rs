//! The chain: what the settlement client needs from an EVM, behind one trait with two
//! backends, [`EmbeddedChain`](crate::EmbeddedChain) (revm in process) and
//! [`RpcChain`](crate::RpcChain) (any JSON-RPC endpoint).

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, Log, U256};

use crate::Error;
use crate::keys::AccountKey;

/// A transaction to send: a call (or, without `to`, a contract creation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxRequest {
    /// The callee; `None` creates a contract from `data`.
    pub to: Option<Address>,
    /// Calldata (or creation code).
    pub data: Bytes,
    /// Wei sent along.
    pub value: U256,
}

/// What a successful transaction left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction hash (the embedded chain hashes the sender, nonce and request, as it
    /// signs nothing).
    pub tx_hash: B256,
    /// Gas used, as in a receipt (after refunds).
    pub gas_used: u64,
    /// The created contract, for a creation.
    pub contract_address: Option<Address>,
    /// The logs emitted.
    pub logs: Vec<Log>,
}

/// An EVM chain as the settlement client sees it. Every method is async so that the JSON-RPC
/// backend fits a tokio program; the embedded backend's futures complete on their first poll
/// (see [`complete_now`]).
///
/// A transaction that would revert is not sent: it fails with [`Error::Reverted`] and changes
/// nothing (the JSON-RPC backend simulates before sending, the embedded one does not commit).
pub trait Chain {
    /// The chain id.
    fn chain_id(&self) -> u64;

    /// Sends `tx` from `from`'s account and waits until it is included.
    fn send(
        &mut self,
        from: &AccountKey,
        tx: TxRequest,
    ) -> impl Future<Output = Result<Receipt, Error>> + Send;

    /// Runs a read-only call against the latest state.
    fn call(
        &mut self,
        to: Address,
        data: Bytes,
    ) -> impl Future<Output = Result<Bytes, Error>> + Send;

    /// The balance of `address`, in wei.
    fn balance(&mut self, address: Address) -> impl Future<Output = Result<U256, Error>> + Send;

    /// The code at `address` (empty for an account without code).
    fn code(&mut self, address: Address) -> impl Future<Output = Result<Bytes, Error>> + Send;

    /// The latest block's timestamp, in seconds.
    fn timestamp(&mut self) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Development chains only: moves the clock `seconds` forward (and mines a block). The
    /// embedded chain's clock moves only through this; on anvil it uses `evm_increaseTime`;
    /// other endpoints answer [`Error::Unsupported`].
    fn advance_time(&mut self, seconds: u64) -> impl Future<Output = Result<(), Error>> + Send;

    /// Development chains only: sets the balance of `address` (a faucet).
    fn set_balance(
        &mut self,
        address: Address,
        amount: U256,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Polls `future` once and returns its output if it is ready. The embedded chain's futures
/// always are, so a synchronous program (a simulator on a virtual clock) can drive
/// `Settlement<EmbeddedChain>` without an async runtime:
/// `complete_now(settlement.stake(&key, 1)).ok_or(..)??`. `None` means the future waits on
/// I/O (a JSON-RPC call) and needs a runtime.
pub fn complete_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}
