//! The HTTP server's connections, bounded. Every open connection costs the process a file
//! descriptor and a task, so a client that opens connections and sends nothing (or a request
//! head a byte at a time) could otherwise exhaust the descriptors the store and the P2P layer
//! need. Here at most [`MAX_CONNECTIONS`] are open at once (the next waits in the kernel's
//! backlog until one closes), and a connection that has not sent a whole request head within
//! [`HEAD_TIMEOUT`] of waiting for one — a new connection, or a kept-alive one between
//! requests — is closed. A request's body has its own deadline (`bodies.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{debug, warn};

/// HTTP connections open at once, at most (the systemd unit allows the process 65 536 files).
pub(crate) const MAX_CONNECTIONS: usize = 4096;

/// Time a connection has to send a whole request head once the server waits for one.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Time requests under way at shutdown have to finish before their connections are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` is notified (or its sender dropped), with at
/// most `max_connections` open and each waiting at most `head_timeout` for a request head;
/// then stops accepting, lets requests under way finish (for up to ten seconds) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    head_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    // Told to the connections at shutdown: each finishes its request under way, then closes.
    let (closing, closing_rx) = watch::channel(false);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = shutdown.changed() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(head_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        debug!(%e, "HTTP connection ended");
                    }
                    return;
                }
                _ = closing.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a slot until it ends: all slots back means all have ended.
    let all = u32::try_from(max_connections.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await.is_err() {
        warn!("HTTP requests still under way at shutdown were cut short");
    }
}

/// Waits after a failed accept: a second when the process is out of files or memory (the
/// error repeats until something closes), not at all for an error of one connection.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    warn!(%e, "cannot accept HTTP connections; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
