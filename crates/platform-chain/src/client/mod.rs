//! [`SubxtChain`]: the [`Chain`] over subxt's dynamic API and a reconnecting WebSocket client.

mod metagraph;
mod submit;

use std::sync::Arc;
use std::time::Duration;

use platform_types::{Hash, Keypair, MechanismId, NetUid, PublicKey};
use subxt::backend::legacy::LegacyRpcMethods;
use subxt::backend::rpc::RpcClient;
use subxt::backend::rpc::reconnecting_rpc_client::{ExponentialBackoff, RpcClient as ReconnectingClient};
use subxt::dynamic::{DecodedValueThunk, Value};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::storage::Storage;
use subxt::utils::{AccountId32, H256};
use subxt::{OnlineClient, SubstrateConfig};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::calls::{Capabilities, ChainMetadata, PALLET, WeightsCall};
use crate::chain::{BlockStream, Chain};
use crate::commit::netuid_index;
use crate::error::ChainError;
use crate::path::{DEFAULT_BLOCK_TIME_SECS, WeightsContext};
use crate::sender::SenderState;
use crate::types::{Head, Inclusion};
use platform_types::{BlockRef, EpochState, Metagraph, SubnetParams};

type Client = OnlineClient<SubstrateConfig>;

/// How to connect and reconnect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long the first connection may take before `connect` gives up.
    pub connect_timeout: Duration,
    /// First delay between reconnection attempts; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest delay between reconnection attempts.
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Storage reads in flight at once when reading a metagraph.
    pub read_concurrency: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            read_concurrency: 32,
        }
    }
}

/// Aborts a background task when the last clone of the client is dropped.
struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A Bittensor chain reached over WebSocket JSON-RPC. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct SubxtChain {
    client: Client,
    rpc: LegacyRpcMethods<SubstrateConfig>,
    endpoint: String,
    read_concurrency: usize,
    _updater: Arc<TaskGuard>,
}

impl std::fmt::Debug for SubxtChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubxtChain").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

fn rpc_err(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(e.to_string())
}

fn decode_err(what: &str) -> impl Fn(subxt::ext::scale_decode::Error) -> ChainError + '_ {
    move |e| ChainError::Decode { what: what.to_string(), reason: e.to_string() }
}

fn account(key: &PublicKey) -> Value {
    Value::from_bytes(key.as_bytes())
}

impl SubxtChain {
    /// Connects to `endpoint` (`ws://` or `wss://`). The connection re-establishes itself with
    /// exponential backoff when it drops; requests made meanwhile wait for it.
    pub async fn connect(endpoint: &str, options: ConnectOptions) -> Result<Self, ChainError> {
        let connect_err = |reason: String| ChainError::Connect { endpoint: endpoint.to_string(), reason };
        let backoff = ExponentialBackoff::from_millis(options.initial_backoff.as_millis().max(1) as u64)
            .max_delay(options.max_backoff);
        let build = ReconnectingClient::builder()
            .retry_policy(backoff)
            .request_timeout(options.request_timeout)
            .max_response_size(256 * 1024 * 1024)
            .build(endpoint.to_string());
        let reconnecting = tokio::time::timeout(options.connect_timeout, build)
            .await
            .map_err(|_| connect_err(format!("no connection within {:?}", options.connect_timeout)))?
            .map_err(|e| connect_err(e.to_string()))?;
        let rpc_client = RpcClient::new(reconnecting);
        let client = Client::from_rpc_client(rpc_client.clone()).await.map_err(|e| connect_err(e.to_string()))?;
        let updater = client.updater();
        let task = tokio::spawn(async move {
            if let Err(e) = updater.perform_runtime_updates().await {
                warn!(error = %e, "runtime upgrade follower stopped");
            }
        });
        Ok(SubxtChain {
            client,
            rpc: LegacyRpcMethods::new(rpc_client),
            endpoint: endpoint.to_string(),
            read_concurrency: options.read_concurrency.max(1),
            _updater: Arc::new(TaskGuard(task)),
        })
    }

    /// The connected runtime's metadata.
    pub fn metadata(&self) -> ChainMetadata {
        ChainMetadata(self.client.metadata())
    }

    /// The runtime's spec version.
    pub fn spec_version(&self) -> u32 {
        self.client.runtime_version().spec_version
    }

    async fn storage_at(
        &self,
        at: Option<BlockRef>,
    ) -> Result<(Storage<SubstrateConfig, Client>, BlockRef), ChainError> {
        let block = match at {
            Some(b) => b,
            None => self.block(Head::Best).await?,
        };
        Ok((self.client.storage().at(H256(*block.hash.as_bytes())), block))
    }

    async fn read<T: DecodeAsType>(
        storage: &Storage<SubstrateConfig, Client>,
        entry: &str,
        keys: Vec<Value>,
    ) -> Result<T, ChainError> {
        let address = subxt::dynamic::storage(PALLET, entry, keys);
        let thunk: DecodedValueThunk = storage.fetch_or_default(&address).await.map_err(rpc_err)?;
        thunk.as_type::<T>().map_err(decode_err(entry))
    }

    /// An entry with no default (`OptionQuery`): `None` when it is not set.
    async fn read_optional<T: DecodeAsType>(
        storage: &Storage<SubstrateConfig, Client>,
        entry: &str,
        keys: Vec<Value>,
    ) -> Result<Option<T>, ChainError> {
        let address = subxt::dynamic::storage(PALLET, entry, keys);
        match storage.fetch(&address).await.map_err(rpc_err)? {
            Some(thunk) => thunk.as_type::<T>().map(Some).map_err(decode_err(entry)),
            None => Ok(None),
        }
    }

    async fn header_ref(&self, hash: H256) -> Result<BlockRef, ChainError> {
        let header = self
            .rpc
            .chain_get_header(Some(hash))
            .await
            .map_err(rpc_err)?
            .ok_or_else(|| ChainError::Rpc(format!("no header for block {hash:?}")))?;
        Ok(BlockRef { number: u64::from(header.number), hash: Hash::from_bytes(hash.0) })
    }
}

impl Chain for SubxtChain {
    async fn block(&self, head: Head) -> Result<BlockRef, ChainError> {
        let hash = match head {
            Head::Best => self
                .rpc
                .chain_get_block_hash(None)
                .await
                .map_err(rpc_err)?
                .ok_or_else(|| ChainError::Rpc("the node has no best block".into()))?,
            Head::Finalized => self.rpc.chain_get_finalized_head().await.map_err(rpc_err)?,
        };
        self.header_ref(hash).await
    }

    async fn blocks(&self, head: Head) -> Result<BlockStream, ChainError> {
        let (tx, rx) = mpsc::channel(64);
        let client = self.client.clone();
        let subscribe = move |client: Client| async move {
            match head {
                Head::Best => client.blocks().subscribe_best().await,
                Head::Finalized => client.blocks().subscribe_finalized().await,
            }
        };
        // Fail now, not in the task, when the first subscription is refused.
        let mut stream = subscribe(client.clone()).await.map_err(rpc_err)?;
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(250);
            loop {
                while let Some(item) = stream.next().await {
                    let out = match item {
                        Ok(block) => {
                            delay = Duration::from_millis(250);
                            Ok(BlockRef { number: u64::from(block.number()), hash: Hash::from_bytes(block.hash().0) })
                        }
                        Err(e) if e.is_disconnected_will_reconnect() => {
                            debug!("chain connection lost; re-subscribing");
                            break;
                        }
                        Err(e) => Err(rpc_err(e)),
                    };
                    if tx.send(out).await.is_err() {
                        return;
                    }
                }
                loop {
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    match subscribe(client.clone()).await {
                        Ok(s) => {
                            stream = s;
                            break;
                        }
                        Err(e) => {
                            warn!(error = %e, "block subscription failed; retrying");
                            delay = (delay * 2).min(Duration::from_secs(30));
                        }
                    }
                }
            }
        });
        Ok(BlockStream(rx))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&self.metadata())
    }

    async fn subnet_params(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<SubnetParams, ChainError> {
        let (storage, _) = self.storage_at(at).await?;
        let n = || vec![Value::u128(u128::from(netuid.get()))];
        let mechanism_count = if self.capabilities().mechanism_count {
            Self::read::<u8>(&storage, "MechanismCountCurrent", n()).await?
        } else {
            1
        };
        Ok(SubnetParams {
            tempo: Self::read(&storage, "Tempo", n()).await?,
            weights_version_key: Self::read(&storage, "WeightsVersionKey", n()).await?,
            weights_rate_limit: Self::read(&storage, "WeightsSetRateLimit", n()).await?,
            commit_reveal_enabled: Self::read(&storage, "CommitRevealWeightsEnabled", n()).await?,
            reveal_period_epochs: Self::read(&storage, "RevealPeriodEpochs", n()).await?,
            mechanism_count,
            min_allowed_weights: Self::read(&storage, "MinAllowedWeights", n()).await?,
            max_weights_limit: if self.metadata().has_storage("MaxWeightsLimit") {
                Self::read(&storage, "MaxWeightsLimit", n()).await?
            } else {
                u16::MAX
            },
        })
    }

    async fn epoch_state(&self, netuid: NetUid, at: BlockRef) -> Result<Option<EpochState>, ChainError> {
        if !self.capabilities().dynamic_tempo {
            return Ok(None);
        }
        let (storage, block) = self.storage_at(Some(at)).await?;
        let n = || vec![Value::u128(u128::from(netuid.get()))];
        Ok(Some(EpochState {
            block: block.number,
            period: u32::from(Self::read::<u16>(&storage, "Tempo", n()).await?),
            last_epoch_block: Self::read(&storage, "LastEpochBlock", n()).await?,
            pending_epoch_at: Self::read(&storage, "PendingEpochAt", n()).await?,
            epoch_index: Self::read(&storage, "SubnetEpochIndex", n()).await?,
            blocks_since_last_step: Self::read(&storage, "BlocksSinceLastStep", n()).await?,
        }))
    }

    async fn weights_context(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<WeightsContext, ChainError> {
        let (storage, block) = self.storage_at(at).await?;
        let params = self.subnet_params(netuid, Some(block)).await?;
        let caps = self.capabilities();
        let epoch = match self.epoch_state(netuid, block).await? {
            Some(state) => state,
            None => params.schedule(netuid).epoch_state(block.number),
        };
        let commit_reveal_version = if caps.commit_reveal_version {
            Self::read(&storage, "CommitRevealWeightsVersion", vec![]).await?
        } else {
            0
        };
        Ok(WeightsContext {
            block,
            params,
            epoch,
            dynamic_tempo: caps.dynamic_tempo,
            commit_reveal_version,
            block_time_secs: self.metadata().block_time_secs().unwrap_or(DEFAULT_BLOCK_TIME_SECS),
        })
    }

    async fn sender_state(
        &self,
        netuid: NetUid,
        mechanism: MechanismId,
        hotkey: PublicKey,
        commit_epoch: u64,
        at: BlockRef,
    ) -> Result<SenderState, ChainError> {
        let (storage, _) = self.storage_at(Some(at)).await?;
        let net = || Value::u128(u128::from(netuid.get()));
        let index = || Value::u128(u128::from(netuid_index(netuid.get(), mechanism.get())));
        let Some(uid) = Self::read_optional::<u16>(&storage, "Uids", vec![net(), account(&hotkey)]).await? else {
            return Ok(SenderState::default());
        };
        let last_update: Vec<u64> = Self::read(&storage, "LastUpdate", vec![index()]).await?;
        let timelocked_unrevealed = if self.metadata().has_storage("TimelockedWeightCommits") {
            let commits: Vec<(AccountId32, u64, Vec<u8>, u64)> =
                Self::read(&storage, "TimelockedWeightCommits", vec![index(), Value::u128(u128::from(commit_epoch))])
                    .await?;
            commits.iter().filter(|(who, ..)| who.0 == *hotkey.as_bytes()).count() as u32
        } else {
            0
        };
        Ok(SenderState {
            uid: Some(uid),
            last_update: last_update.get(usize::from(uid)).copied().unwrap_or(0),
            timelocked_unrevealed,
        })
    }
    async fn metagraph(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<Metagraph, ChainError> {
        self.read_metagraph(netuid, at).await
    }

    async fn weights(
        &self,
        netuid: NetUid,
        mechanism: MechanismId,
        uid: u16,
        at: Option<BlockRef>,
    ) -> Result<Vec<(u16, u16)>, ChainError> {
        let (storage, _) = self.storage_at(at).await?;
        let index = netuid_index(netuid.get(), mechanism.get());
        Self::read(&storage, "Weights", vec![Value::u128(u128::from(index)), Value::u128(u128::from(uid))]).await
    }

    async fn submit(&self, signer: &Keypair, call: &WeightsCall) -> Result<Inclusion, ChainError> {
        let payload = call.payload(&self.capabilities())?;
        let (netuid, weights) = match call {
            WeightsCall::Set(w) | WeightsCall::Reveal { weights: w, .. } => (w.netuid, Some(w)),
            WeightsCall::Commit { netuid, .. } | WeightsCall::CommitTimelocked { netuid, .. } => (*netuid, None),
        };
        self.submit_payload(signer, &payload, netuid, weights).await
    }
}
