//! The JSON-RPC chain: any EVM endpoint (anvil, a testnet, an L2) through alloy, over http or
//! https (rustls).
//!
//! Connecting checks that the endpoint answers and serves the configured chain id. Every
//! transaction is first estimated (which runs it: a revert comes back as the contract's
//! decoded error and nothing is sent), then checked against the sender's balance, signed
//! locally with the sender's [`AccountKey`] and sent; the call returns once it is mined.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::types::{BlockNumberOrTag, TransactionRequest};
use alloy::transports::{RpcError, TransportErrorKind};

use crate::Error;
use crate::chain::{Chain, Receipt, TxRequest};
use crate::keys::AccountKey;

/// The gas of the smallest transaction.
const INTRINSIC_GAS: u64 = 21_000;

/// Where the chain is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// The endpoint, e.g. `http://127.0.0.1:8545`.
    pub url: String,
    /// The chain id the endpoint must serve (attestations are signed for it).
    pub chain_id: u64,
}

/// A chain behind a JSON-RPC endpoint.
#[derive(Clone, Debug)]
pub struct RpcChain {
    provider: RootProvider,
    url: String,
    chain_id: u64,
}

impl RpcChain {
    /// Connects to `config.url` and checks its chain id.
    pub async fn connect(config: &RpcConfig) -> Result<Self, Error> {
        let url: alloy::transports::http::reqwest::Url =
            config.url.parse().map_err(|e| Error::Unreachable {
                url: config.url.clone(),
                reason: format!("not a URL: {e}"),
            })?;
        let provider = RootProvider::new_http(url);
        let actual = provider
            .get_chain_id()
            .await
            .map_err(|e| rpc_error(&config.url, e))?;
        if actual != config.chain_id {
            return Err(Error::WrongChainId {
                expected: config.chain_id,
                actual,
            });
        }
        Ok(Self {
            provider,
            url: config.url.clone(),
            chain_id: actual,
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying alloy provider, for anything not covered here.
    pub fn provider(&self) -> &RootProvider {
        &self.provider
    }

    fn error(&self, e: RpcError<TransportErrorKind>) -> Error {
        rpc_error(&self.url, e)
    }

    async fn dev_request(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<(), Error> {
        self.provider
            .raw_request::<_, serde_json::Value>(method.into(), params)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                RpcError::ErrorResp(payload) => {
                    Error::Unsupported(format!("{method}: {}", payload.message))
                }
                other => self.error(other),
            })
    }
}

impl Chain for RpcChain {
    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    async fn send(&mut self, from: &AccountKey, tx: TxRequest) -> Result<Receipt, Error> {
        let sender = from.address();
        let mut request = TransactionRequest::default()
            .with_from(sender)
            .with_value(tx.value)
            .with_chain_id(self.chain_id);
        request = match tx.to {
            Some(to) => request.with_to(to).with_input(tx.data),
            None => request.with_deploy_code(tx.data),
        };
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| self.error(e))?;
        // Running it first: a revert is reported with its reason and costs nothing.
        let gas = match self.provider.estimate_gas(request.clone()).await {
            Ok(gas) => gas,
            Err(RpcError::ErrorResp(payload))
                if payload
                    .message
                    .to_lowercase()
                    .contains("insufficient funds") =>
            {
                let balance = self
                    .provider
                    .get_balance(sender)
                    .await
                    .map_err(|e| self.error(e))?;
                // At least the value and the gas of the smallest transaction.
                let needed = U256::from(INTRINSIC_GAS)
                    .saturating_mul(U256::from(fees.max_fee_per_gas))
                    .saturating_add(tx.value);
                return Err(Error::UnfundedKey {
                    address: sender,
                    balance,
                    needed,
                });
            }
            Err(e) => return Err(self.error(e)),
        };
        let gas_limit = gas.saturating_add(gas / 5);
        let needed = U256::from(gas_limit)
            .saturating_mul(U256::from(fees.max_fee_per_gas))
            .saturating_add(tx.value);
        let balance = self
            .provider
            .get_balance(sender)
            .await
            .map_err(|e| self.error(e))?;
        if balance < needed {
            return Err(Error::UnfundedKey {
                address: sender,
                balance,
                needed,
            });
        }
        let request = request
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let wallet = EthereumWallet::from(from.signer().clone());
        let signing = ProviderBuilder::new()
            .wallet(wallet)
            .connect_provider(self.provider.clone());
        let receipt = signing
            .send_transaction(request)
            .await
            .map_err(|e| self.error(e))?
            .get_receipt()
            .await
            .map_err(|e| Error::Rpc(format!("waiting for the receipt: {e}")))?;
        if !receipt.status() {
            return Err(Error::Halted(format!(
                "transaction {} failed on chain after a successful estimate",
                receipt.transaction_hash
            )));
        }
        Ok(Receipt {
            tx_hash: receipt.transaction_hash,
            gas_used: receipt.gas_used,
            contract_address: receipt.contract_address,
            logs: receipt
                .inner
                .logs()
                .iter()
                .map(|log| log.inner.clone())
                .collect(),
        })
    }

    async fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, Error> {
        let request = TransactionRequest::default().with_to(to).with_input(data);
        self.provider.call(request).await.map_err(|e| self.error(e))
    }

    async fn balance(&mut self, address: Address) -> Result<U256, Error> {
        self.provider
            .get_balance(address)
            .await
            .map_err(|e| self.error(e))
    }

    async fn code(&mut self, address: Address) -> Result<Bytes, Error> {
        self.provider
            .get_code_at(address)
            .await
            .map_err(|e| self.error(e))
    }

    async fn timestamp(&mut self) -> Result<u64, Error> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.error(e))?
            .ok_or_else(|| Error::Rpc("no latest block".into()))?;
        Ok(block.header.timestamp)
    }

    async fn advance_time(&mut self, seconds: u64) -> Result<(), Error> {
        self.dev_request("evm_increaseTime", serde_json::json!([seconds]))
            .await?;
        self.dev_request("evm_mine", serde_json::json!([])).await
    }

    async fn set_balance(&mut self, address: Address, amount: U256) -> Result<(), Error> {
        self.dev_request("anvil_setBalance", serde_json::json!([address, amount]))
            .await
    }
}

/// Sorts a JSON-RPC failure: a revert (with its data), an endpoint that does not answer, or
/// another error.
fn rpc_error(url: &str, e: RpcError<TransportErrorKind>) -> Error {
    match e {
        RpcError::ErrorResp(payload) => match payload.as_revert_data() {
            Some(data) => Error::reverted(data),
            None if payload.message.contains("revert") => Error::reverted(Bytes::new()),
            None => Error::Rpc(format!("{} (code {})", payload.message, payload.code)),
        },
        RpcError::Transport(kind) => Error::Unreachable {
            url: url.to_string(),
            reason: kind.to_string(),
        },
        other => Error::Rpc(other.to_string()),
    }
}
