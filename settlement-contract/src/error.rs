//! What can go wrong talking to the contract, in one error type for both backends.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::{SolInterface, decode_revert_reason};
use nets_tournament::identity::PlayerId;

use crate::bindings::NetsSettlement::NetsSettlementErrors;

/// Why a settlement operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The contract refused the call with one of its custom errors (or another revert).
    #[error("the contract reverted: {0}")]
    Reverted(Revert),
    /// The EVM stopped the transaction without a revert (out of gas, invalid opcode, …).
    #[error("the transaction halted: {0}")]
    Halted(String),
    /// The JSON-RPC endpoint did not answer.
    #[error("the JSON-RPC endpoint {url} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The endpoint serves another chain than the one configured.
    #[error("wrong chain: expected chain id {expected}, the endpoint serves {actual}")]
    WrongChainId {
        /// The configured chain id.
        expected: u64,
        /// The endpoint's chain id.
        actual: u64,
    },
    /// The sending account cannot pay for the transaction (value plus gas).
    #[error(
        "account {address} is unfunded: it holds {balance} wei, the transaction needs {needed}"
    )]
    UnfundedKey {
        /// The account.
        address: Address,
        /// Its balance.
        balance: U256,
        /// What the transaction needs: its value plus the most its gas may cost (a lower
        /// bound when the endpoint refused to estimate the gas for lack of funds).
        needed: U256,
    },
    /// A Merkle proof that cannot be one (too long, or bytes that are not 32-byte hashes).
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    /// A well-formed proof that does not show the claim under the finalised rewards root;
    /// refused before sending a transaction that would revert.
    #[error(
        "the proof does not show a balance of {balance} for this key under the finalised rewards root"
    )]
    ProofRejected {
        /// The claimed cumulative balance.
        balance: u128,
    },
    /// A well-formed proof that does not show the player's conviction under the finalised
    /// rewards root; refused before sending a transaction that would revert.
    #[error("the proof does not show {0} as convicted under the finalised rewards root")]
    ConvictionNotShown(PlayerId),
    /// The account has no ed25519 key bound, so it cannot claim.
    #[error("account {0} has no node key bound")]
    KeyNotBound(Address),
    /// Signed attestations that cannot be aggregated (different contents, bad signature).
    #[error("invalid attestation: {0}")]
    InvalidAttestation(String),
    /// A secp256k1 account key that cannot be loaded.
    #[error("invalid account key: {0}")]
    InvalidKey(String),
    /// There is no contract at the address.
    #[error("no contract code at {0}")]
    NoContract(Address),
    /// The operation is not available on this chain (e.g. moving time on a public chain).
    #[error("not supported by this chain: {0}")]
    Unsupported(String),
    /// The JSON-RPC endpoint answered with an error that is none of the above.
    #[error("JSON-RPC error: {0}")]
    Rpc(String),
    /// The embedded EVM refused the transaction itself (bad nonce, gas, …).
    #[error("embedded EVM: {0}")]
    Evm(String),
    /// Reading or writing the embedded chain's state directory failed.
    #[error("embedded chain state at {path}: {reason}")]
    State {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The contract answered something the bindings cannot decode.
    #[error("cannot decode the contract's answer: {0}")]
    Decode(String),
    /// The anvil binary is missing or did not start.
    #[error("anvil: {0}")]
    Anvil(String),
}

impl Error {
    /// The name of the contract's custom error, if the call reverted with one
    /// (`"QuorumNotReached"`, `"InvalidProof"`, …).
    pub fn revert_name(&self) -> Option<&'static str> {
        match self {
            Error::Reverted(revert) => revert.name(),
            _ => None,
        }
    }

    /// The decoded custom error, if the call reverted with one.
    pub fn contract_error(&self) -> Option<&NetsSettlementErrors> {
        match self {
            Error::Reverted(revert) => revert.decoded.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn reverted(data: Bytes) -> Self {
        Error::Reverted(Revert::new(data))
    }
}

/// A revert: the raw data and, when it is one of the contract's custom errors, the decoded
/// error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    /// The revert data as returned by the EVM.
    pub data: Bytes,
    /// The decoded custom error.
    pub decoded: Option<NetsSettlementErrors>,
}

impl Revert {
    /// Decodes `data` against the contract's custom errors.
    pub fn new(data: Bytes) -> Self {
        let decoded = NetsSettlementErrors::abi_decode(&data).ok();
        Self { data, decoded }
    }

    /// The custom error's name, e.g. `"NotStaked"`.
    pub fn name(&self) -> Option<&'static str> {
        self.decoded.as_ref().map(error_name)
    }
}

impl std::fmt::Display for Revert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.decoded {
            Some(decoded) => write!(f, "{decoded:?}"),
            None => match decode_revert_reason(&self.data) {
                Some(reason) => f.write_str(&reason),
                None if self.data.is_empty() => f.write_str("no reason given"),
                None => write!(f, "unknown revert data {}", self.data),
            },
        }
    }
}

/// The Solidity name of a custom error.
fn error_name(error: &NetsSettlementErrors) -> &'static str {
    use NetsSettlementErrors as E;
    match error {
        E::InvalidParameters(_) => "InvalidParameters",
        E::ZeroAmount(_) => "ZeroAmount",
        E::AmountTooLarge(_) => "AmountTooLarge",
        E::AccountSlashed(_) => "AccountSlashed",
        E::InsufficientStake(_) => "InsufficientStake",
        E::NothingToWithdraw(_) => "NothingToWithdraw",
        E::StillUnbonding(_) => "StillUnbonding",
        E::ZeroKey(_) => "ZeroKey",
        E::AccountAlreadyBound(_) => "AccountAlreadyBound",
        E::KeyAlreadyBound(_) => "KeyAlreadyBound",
        E::KeyNotBound(_) => "KeyNotBound",
        E::EpochClosed(_) => "EpochClosed",
        E::NoSignatures(_) => "NoSignatures",
        E::InvalidSignature(_) => "InvalidSignature",
        E::SignersNotSorted(_) => "SignersNotSorted",
        E::NotStaked(_) => "NotStaked",
        E::InsufficientFunds(_) => "InsufficientFunds",
        E::QuorumNotReached(_) => "QuorumNotReached",
        E::ChallengeWindowOpen(_) => "ChallengeWindowOpen",
        E::PayoutBelowClaimed(_) => "PayoutBelowClaimed",
        E::NothingFinalised(_) => "NothingFinalised",
        E::InvalidProof(_) => "InvalidProof",
        E::NothingToClaim(_) => "NothingToClaim",
        E::ExceedsTotalPayout(_) => "ExceedsTotalPayout",
        E::NotConflicting(_) => "NotConflicting",
        E::SignersDiffer(_) => "SignersDiffer",
        E::NothingToSlash(_) => "NothingToSlash",
        E::UnknownKey(_) => "UnknownKey",
        E::TransferFailed(_) => "TransferFailed",
        E::Reentrancy(_) => "Reentrancy",
    }
}
