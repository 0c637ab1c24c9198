//! [`FailoverChain`]: one [`Chain`] over several endpoints of the same network.
//!
//! A single subxt client reconnects to its one endpoint for ever, and requests made meanwhile
//! wait: an endpoint that is down stops the validator's chain work until it returns. With several
//! endpoints, a read that fails for a transport reason, or takes longer than
//! [`FailoverOptions::call_timeout`], moves the client to the next endpoint that connects and is
//! asked again there; a block stream that stays silent for [`FailoverOptions::stall`] does the
//! same. A submission is not resent here (it may have reached the pool): its transport error is
//! returned, the client moves on, and the caller's retry goes to the new endpoint. While on a
//! fallback, the first endpoint is tried again every [`FailoverOptions::return_after`], and the
//! client goes back to it once it answers.

use std::future::Future;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use platform_types::{BlockRef, EpochState, Keypair, MechanismId, Metagraph, NetUid, PublicKey, SubnetParams};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::calls::{Capabilities, WeightsCall};
use crate::chain::{BlockStream, Chain};
use crate::client::{ConnectOptions, SubxtChain};
use crate::error::ChainError;
use crate::path::WeightsContext;
use crate::sender::SenderState;
use crate::types::{Head, Inclusion};

/// When a [`FailoverChain`] moves between endpoints.
#[derive(Debug, Clone)]
pub struct FailoverOptions {
    /// How each endpoint is connected to.
    pub connect: ConnectOptions,
    /// A read slower than this counts as the endpoint failing.
    pub call_timeout: Duration,
    /// The same for a whole metagraph read: several reads per neuron (stake, child keys), so it
    /// takes far longer than one read on a large subnet behind a distant endpoint.
    pub metagraph_timeout: Duration,
    /// A submission slower than this counts as the endpoint failing (inclusion takes a block).
    pub submit_timeout: Duration,
    /// A block stream silent this long counts as the endpoint failing.
    pub stall: Duration,
    /// How often the first endpoint is tried again while a fallback is in use.
    pub return_after: Duration,
}

impl Default for FailoverOptions {
    fn default() -> Self {
        FailoverOptions {
            connect: ConnectOptions { connect_timeout: Duration::from_secs(10), ..ConnectOptions::default() },
            call_timeout: Duration::from_secs(20),
            metagraph_timeout: Duration::from_secs(300),
            submit_timeout: Duration::from_secs(90),
            stall: Duration::from_secs(60),
            return_after: Duration::from_secs(60),
        }
    }
}

/// Splits a comma-separated endpoint list and checks each is a `ws://` or `wss://` URL.
pub fn parse_endpoints(list: &str) -> Result<Vec<String>, String> {
    let endpoints: Vec<String> = list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(String::from).collect();
    if endpoints.is_empty() {
        return Err("no endpoint given".into());
    }
    for endpoint in &endpoints {
        if !(endpoint.starts_with("ws://") || endpoint.starts_with("wss://")) {
            return Err(format!("{endpoint:?} is not a ws:// or wss:// URL"));
        }
    }
    Ok(endpoints)
}

struct Inner {
    endpoints: Vec<String>,
    options: FailoverOptions,
    active: RwLock<(usize, SubxtChain)>,
    switching: tokio::sync::Mutex<()>,
}

/// A [`Chain`] over several endpoints; see the module documentation. Cloning is cheap and shares
/// the connections.
#[derive(Clone)]
pub struct FailoverChain {
    inner: Arc<Inner>,
    _return: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for FailoverChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailoverChain")
            .field("endpoints", &self.inner.endpoints)
            .field("active", &self.active_endpoint())
            .finish()
    }
}

impl Inner {
    fn current(&self) -> (usize, SubxtChain) {
        self.active.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set(&self, index: usize, chain: SubxtChain) {
        *self.active.write().unwrap_or_else(std::sync::PoisonError::into_inner) = (index, chain);
    }

    /// Moves off endpoint `from` to the next one that connects (in order, wrapping). False when
    /// none does: the client stays where it is (its endpoint may come back).
    async fn fail_over(&self, from: usize, why: &str) -> bool {
        let _turn = self.switching.lock().await;
        if self.current().0 != from {
            return true; // another caller moved already
        }
        let n = self.endpoints.len();
        for step in 1..n {
            let index = (from + step) % n;
            let endpoint = &self.endpoints[index];
            match SubxtChain::connect(endpoint, self.options.connect.clone()).await {
                Ok(chain) => {
                    warn!(from = %self.endpoints[from], to = %endpoint, reason = why, "chain endpoint failed over");
                    self.set(index, chain);
                    return true;
                }
                Err(e) => warn!(%endpoint, %e, "fallback chain endpoint unavailable"),
            }
        }
        false
    }

    /// While on a fallback: goes back to the first endpoint once it connects and answers.
    async fn try_return(&self) {
        if self.current().0 == 0 {
            return;
        }
        let Ok(chain) = SubxtChain::connect(&self.endpoints[0], self.options.connect.clone()).await else { return };
        if !matches!(tokio::time::timeout(self.options.call_timeout, chain.block(Head::Best)).await, Ok(Ok(_))) {
            return;
        }
        let _turn = self.switching.lock().await;
        info!(endpoint = %self.endpoints[0], "back on the first chain endpoint");
        self.set(0, chain);
    }
}

/// Whether an error says the endpoint, not the request, failed.
fn transport(e: &ChainError) -> bool {
    matches!(e, ChainError::Rpc(_) | ChainError::Connect { .. })
}

impl FailoverChain {
    /// Connects to the first of `endpoints` that answers (in order).
    pub async fn connect(endpoints: Vec<String>, options: FailoverOptions) -> Result<Self, ChainError> {
        let mut last = None;
        let mut connected = None;
        for (index, endpoint) in endpoints.iter().enumerate() {
            match SubxtChain::connect(endpoint, options.connect.clone()).await {
                Ok(chain) => {
                    connected = Some((index, chain));
                    break;
                }
                Err(e) => {
                    warn!(%endpoint, %e, "chain endpoint unavailable");
                    last = Some(e);
                }
            }
        }
        let Some((index, chain)) = connected else {
            return Err(last.unwrap_or_else(|| ChainError::Connect {
                endpoint: String::new(),
                reason: "no endpoint given".into(),
            }));
        };
        let inner = Arc::new(Inner {
            endpoints,
            options,
            active: RwLock::new((index, chain)),
            switching: tokio::sync::Mutex::new(()),
        });
        let weak: Weak<Inner> = Arc::downgrade(&inner);
        let every = inner.options.return_after;
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                inner.try_return().await;
            }
        });
        Ok(FailoverChain { inner, _return: Arc::new(AbortOnDrop(task)) })
    }

    /// The endpoint in use.
    pub fn active_endpoint(&self) -> String {
        let (index, _) = self.inner.current();
        self.inner.endpoints[index].clone()
    }

    /// The client of the endpoint in use.
    pub fn active(&self) -> SubxtChain {
        self.inner.current().1
    }

    /// Runs a read on the active endpoint; on a transport failure or a timeout
    /// ([`FailoverOptions::call_timeout`]), fails over and asks once more.
    async fn read<T, F, Fut>(&self, what: &str, f: F) -> Result<T, ChainError>
    where
        F: Fn(SubxtChain) -> Fut,
        Fut: Future<Output = Result<T, ChainError>>,
    {
        self.read_within(self.inner.options.call_timeout, what, f).await
    }

    /// [`Self::read`] with its own timeout.
    async fn read_within<T, F, Fut>(&self, timeout: Duration, what: &str, f: F) -> Result<T, ChainError>
    where
        F: Fn(SubxtChain) -> Fut,
        Fut: Future<Output = Result<T, ChainError>>,
    {
        let (index, chain) = self.inner.current();
        let error = match tokio::time::timeout(timeout, f(chain)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) if !transport(&e) => return Err(e),
            Ok(Err(e)) => e,
            Err(_) => ChainError::Rpc(format!("{what} took longer than {timeout:?}")),
        };
        if !self.inner.fail_over(index, &error.to_string()).await {
            return Err(error);
        }
        let (_, chain) = self.inner.current();
        tokio::time::timeout(timeout, f(chain))
            .await
            .unwrap_or_else(|_| Err(ChainError::Rpc(format!("{what} took longer than {timeout:?}"))))
    }
}

impl Chain for FailoverChain {
    async fn block(&self, head: Head) -> Result<BlockRef, ChainError> {
        self.read("reading the head", |c| async move { c.block(head).await }).await
    }

    async fn blocks(&self, head: Head) -> Result<BlockStream, ChainError> {
        let (tx, rx) = mpsc::channel(64);
        let inner = Arc::downgrade(&self.inner);
        let stall = self.inner.options.stall;
        // Fail now, not in the task, when the first subscription is refused.
        let (mut index, chain) = self.inner.current();
        let mut stream = chain.blocks(head).await?;
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    next = stream.next() => next,
                    _ = tokio::time::sleep(stall) => None,
                    _ = tx.closed() => return,
                };
                let Some(inner) = inner.upgrade() else { return };
                match next {
                    Some(item) => {
                        if tx.send(item).await.is_err() {
                            return;
                        }
                        if inner.current().0 == index {
                            continue; // still on the same endpoint
                        }
                    }
                    None => {
                        if !inner.fail_over(index, &format!("no block for {stall:?}")).await {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                    }
                }
                // Follow the endpoint in use now.
                let (now_index, chain) = inner.current();
                match chain.blocks(head).await {
                    Ok(s) => {
                        stream = s;
                        index = now_index;
                    }
                    Err(e) => {
                        warn!(%e, "cannot follow the chain on the new endpoint; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
        });
        Ok(BlockStream(rx))
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.current().1.capabilities()
    }

    async fn subnet_params(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<SubnetParams, ChainError> {
        self.read("reading subnet parameters", |c| async move { c.subnet_params(netuid, at).await }).await
    }

    async fn epoch_state(&self, netuid: NetUid, at: BlockRef) -> Result<Option<EpochState>, ChainError> {
        self.read("reading the epoch state", |c| async move { c.epoch_state(netuid, at).await }).await
    }

    async fn weights_context(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<WeightsContext, ChainError> {
        self.read("reading the weights context", |c| async move { c.weights_context(netuid, at).await }).await
    }

    async fn sender_state(
        &self,
        netuid: NetUid,
        mechanism: MechanismId,
        hotkey: PublicKey,
        commit_epoch: u64,
        at: BlockRef,
    ) -> Result<SenderState, ChainError> {
        self.read("reading the sender's state", |c| async move {
            c.sender_state(netuid, mechanism, hotkey, commit_epoch, at).await
        })
        .await
    }

    async fn metagraph(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<Metagraph, ChainError> {
        let timeout = self.inner.options.metagraph_timeout;
        self.read_within(timeout, "reading the metagraph", |c| async move { c.metagraph(netuid, at).await }).await
    }

    async fn weights(
        &self,
        netuid: NetUid,
        mechanism: MechanismId,
        uid: u16,
        at: Option<BlockRef>,
    ) -> Result<Vec<(u16, u16)>, ChainError> {
        self.read("reading weights", |c| async move { c.weights(netuid, mechanism, uid, at).await }).await
    }

    async fn submit(&self, signer: &Keypair, call: &WeightsCall) -> Result<Inclusion, ChainError> {
        let timeout = self.inner.options.submit_timeout;
        let (index, chain) = self.inner.current();
        let error = match tokio::time::timeout(timeout, chain.submit(signer, call)).await {
            Ok(Ok(inclusion)) => return Ok(inclusion),
            Ok(Err(e)) if !transport(&e) => return Err(e),
            Ok(Err(e)) => e,
            Err(_) => ChainError::Rpc(format!("no inclusion within {timeout:?}")),
        };
        // Not resent here: it may be in the pool already. The caller retries on the new endpoint.
        self.inner.fail_over(index, &error.to_string()).await;
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_lists_are_checked() {
        assert_eq!(parse_endpoints("ws://a:1, wss://b/x ,").expect("ok"), vec!["ws://a:1", "wss://b/x"]);
        assert!(parse_endpoints("").is_err());
        assert!(parse_endpoints("ws://a,http://b").expect_err("http").contains("http://b"));
    }
}
