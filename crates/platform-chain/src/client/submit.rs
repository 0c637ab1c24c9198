//! Extrinsics signed, submitted and followed to inclusion, and their failures explained.

use platform_types::{Hash, Keypair, NetUid, PublicKey};
use subxt::dynamic::Value;
use subxt::error::DispatchError;
use subxt::tx::TxStatus;

use super::{SubxtChain, account, rpc_err};
use crate::calls::PALLET;
use crate::chain::Chain;
use crate::dispatch::{CallContext, module_error, pool_error};
use crate::error::ChainError;
use crate::signer::HotkeySigner;
use crate::types::{Inclusion, WeightVector};

impl SubxtChain {
    /// Registers `hotkey` on `netuid` by burning TAO from `coldkey` (`burned_register`).
    pub async fn burned_register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &PublicKey,
    ) -> Result<Inclusion, ChainError> {
        let payload =
            subxt::dynamic::tx(PALLET, "burned_register", vec![Value::u128(u128::from(netuid.get())), account(hotkey)]);
        self.submit_payload(coldkey, &payload, netuid, None).await
    }

    /// Signs, submits and follows `payload` until it is in a block.
    pub(super) async fn submit_payload(
        &self,
        signer: &Keypair,
        payload: &subxt::tx::DynamicPayload,
        netuid: NetUid,
        weights: Option<&WeightVector>,
    ) -> Result<Inclusion, ChainError> {
        let hotkey = signer.public();
        let mut progress =
            match self.client.tx().sign_and_submit_then_watch_default(payload, &HotkeySigner(signer)).await {
                Ok(p) => p,
                Err(e) => return Err(self.explain(e, netuid, &hotkey, weights).await),
            };
        let extrinsic = Hash::from_bytes(progress.extrinsic_hash().0);
        while let Some(status) = progress.next().await {
            let status = match status {
                Ok(s) => s,
                Err(e) => return Err(self.explain(e, netuid, &hotkey, weights).await),
            };
            let in_block = match status {
                TxStatus::InBestBlock(b) | TxStatus::InFinalizedBlock(b) => b,
                TxStatus::Error { message } | TxStatus::Invalid { message } | TxStatus::Dropped { message } => {
                    return Err(pool_error(&message));
                }
                _ => continue,
            };
            let block_hash = in_block.block_hash();
            let events = match in_block.wait_for_success().await {
                Ok(events) => events,
                Err(e) => return Err(self.explain(e, netuid, &hotkey, weights).await),
            };
            let names = events
                .iter()
                .filter_map(Result::ok)
                .map(|ev| format!("{}::{}", ev.pallet_name(), ev.variant_name()))
                .collect();
            return Ok(Inclusion { block: self.header_ref(block_hash).await?, extrinsic, events: names });
        }
        Err(ChainError::Rpc("the transaction status stream ended before inclusion".into()))
    }

    /// Turns a subxt error into a typed one, reading the subnet's parameters for context.
    async fn explain(
        &self,
        error: subxt::Error,
        netuid: NetUid,
        hotkey: &PublicKey,
        weights: Option<&WeightVector>,
    ) -> ChainError {
        let params = self.subnet_params(netuid, None).await.ok();
        let ctx = CallContext { netuid: netuid.get(), hotkey, weights, params };
        match error {
            subxt::Error::Runtime(DispatchError::Module(module)) => match module.details() {
                Ok(details) => {
                    module_error(details.pallet.name(), &details.variant.name, &details.variant.docs.join(" "), &ctx)
                }
                Err(_) => ChainError::Dispatch(module.to_string()),
            },
            subxt::Error::Runtime(other) => ChainError::Dispatch(other.to_string()),
            subxt::Error::Transaction(e) => pool_error(&e.to_string()),
            other => {
                let text = other.to_string();
                if text.contains("Invalid Transaction") { pool_error(&text) } else { rpc_err(text) }
            }
        }
    }
}
