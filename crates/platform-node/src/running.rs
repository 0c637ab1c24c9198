//! The handle of a running validator ([`start`](crate::start) returns it): submit, ask, cut it
//! off the network for a test, and shut it down, closing its store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_p2p::Client;
use platform_storage::Store;
use platform_types::{Envelope, Hash, SubmissionId};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::warn;

use crate::core::{Query, Rejection};
use crate::http::Api;

/// A running validator.
pub struct RunningNode {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// The libp2p peer id.
    pub peer_id: String,
    /// Addresses peers can dial (with `/p2p/<peer id>`).
    pub p2p_addresses: Vec<String>,
    pub(crate) api: Api,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) tasks: JoinSet<()>,
    pub(crate) failure: watch::Receiver<Option<String>>,
    pub(crate) p2p: Client,
    /// The store, closed by [`shutdown`](Self::shutdown) once nothing else holds it: RocksDB
    /// must be closed before the process exits, or its background threads outlive the statics
    /// they lock (an abort at exit).
    pub(crate) store: Arc<dyn Store>,
}

/// How long [`RunningNode::shutdown`] waits for the threads still holding the store (an
/// evaluation or a snapshot being written) to finish.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

impl RunningNode {
    /// Cuts this validator off the network (every connection closed as soon as it opens) or
    /// lets it reconnect, as SIGUSR2 does to a `validator-node` process: a partition, for tests.
    pub async fn isolate(&self, isolated: bool) {
        let _ = self.p2p.set_isolated(isolated).await;
    }

    /// Accepts a signed submission as `POST /submissions` does (with the blob of a large
    /// payload); answers once it is stored, with its id.
    pub async fn submit(&self, envelope: Envelope, blob: Option<Vec<u8>>) -> Result<SubmissionId, Rejection> {
        let bytes = envelope.to_bytes();
        Ok(self.api.submit(envelope, bytes, blob).await?)
    }

    /// Accepts a signed sudo action as `POST /sudo` does (with the module of an added or
    /// updated challenge); answers with the action's id.
    pub async fn sudo(&self, envelope: Envelope, module: Option<Vec<u8>>) -> Result<Hash, Rejection> {
        Ok(self.api.sudo(envelope, module).await?)
    }

    /// Answers a read-only question with the JSON the HTTP API returns.
    pub async fn query(&self, query: Query) -> Result<Value, Rejection> {
        Ok(crate::http::query(&self.api, query).await?)
    }

    /// Waits until the event loop runs: the genesis validator set is agreed and the state
    /// recovered. Fails when the node failed to start, or after `timeout`.
    pub async fn started(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut status = self.api.status.clone();
        loop {
            if let Some(reason) = self.failure.borrow().clone() {
                return Err(reason);
            }
            if crate::http::starting(&status.borrow_and_update()).is_none() {
                return Ok(());
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(format!("not started within {timeout:?}: still agreeing on the genesis validator set"));
            }
            let _ = tokio::time::timeout(remaining.min(Duration::from_millis(200)), status.changed()).await;
        }
    }

    /// Waits until the node fails in the background (it could not start after agreeing on the
    /// genesis validator set) and says why; never returns while it runs.
    pub async fn failure(&self) -> String {
        let mut failure = self.failure.clone();
        loop {
            if let Some(reason) = failure.borrow_and_update().clone() {
                return reason;
            }
            if failure.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Stops every task, waits for them, then for the threads that hold the store (the
    /// evaluation worker finishing its evaluation, the snapshot writer its snapshot): when this
    /// returns the store is closed, so the data directory can be opened again at once.
    pub async fn shutdown(self) {
        let RunningNode { api, shutdown, mut tasks, store, .. } = self;
        let _ = shutdown.send(true);
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                _ = &mut deadline => { tasks.abort_all(); break }
            }
        }
        // Aborted tasks are dropped (and drop their handles) as the runtime gets to them.
        while tasks.join_next().await.is_some() {}
        drop(api);
        // The last handle closes the store as it is dropped; this one waits to be the last, so
        // that the close (which waits for RocksDB's background work) is over when this returns.
        let deadline = Instant::now() + CLOSE_WAIT;
        while Arc::strong_count(&store) > 1 {
            if Instant::now() >= deadline {
                warn!(holders = Arc::strong_count(&store) - 1, "the store is still held after shutdown");
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = tokio::task::spawn_blocking(move || drop(store)).await;
    }
}
