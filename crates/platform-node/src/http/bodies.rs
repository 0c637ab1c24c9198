//! Request bodies in memory at once, bounded over all clients. A write's body is read whole
//! before it is decoded (a submission's blob, a challenge module: up to tens of MiB each, held
//! again as the JSON's text and as the decoded bytes), so without a bound a few hundred clients
//! sending large bodies together would take the node's memory. Each `POST` reserves its
//! declared length (`Content-Length`, or the route's limit for a body sent in chunks) from one
//! [`BodyBudget`] before its body is read, and is answered 503 at once when the budget is spent;
//! the reservation ends with the request.
//!
//! A reservation must not be held by a client that sends slowly: a body has to arrive within
//! [`body_deadline`] of its request (a base plus a time per MiB declared), or the request is
//! answered 408 and its reservation freed. The deadline covers the body only: once it has
//! arrived, the request's own work (a signature check, a synced write) is not cut short.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::Semaphore;

use super::ApiError;

/// The bodies of requests being read or handled at once, in bytes, at most (the process holds
/// about two and a half times as much while it decodes them).
pub(crate) const BODY_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// The budget's unit: a request reserves its length rounded up to it (at least one).
const UNIT: usize = 64 * 1024;

/// Time a body may take to arrive: `BASE` plus `PER_MIB` for each MiB its request declares
/// (a 72 MiB body, the largest the API takes, may take about two minutes: over 0.5 MiB/s).
const BASE: Duration = Duration::from_secs(30);
const PER_MIB: Duration = Duration::from_secs(1);

/// The time a body of `bytes` may take to arrive.
pub(crate) fn body_deadline(bytes: usize) -> Duration {
    BASE + PER_MIB * u32::try_from(bytes.div_ceil(1024 * 1024)).unwrap_or(u32::MAX)
}

/// Bytes of request bodies that may be in memory at once, shared by the routes that read one.
#[derive(Clone)]
pub(crate) struct BodyBudget {
    units: Arc<Semaphore>,
    /// The whole budget, in bytes.
    bytes: usize,
    /// The time a body of a given length may take to arrive.
    deadline: fn(usize) -> Duration,
}

/// A route's share of a [`BodyBudget`]: the budget and the route's body limit.
#[derive(Clone)]
pub(crate) struct RouteBodies {
    budget: BodyBudget,
    limit: usize,
}

impl BodyBudget {
    /// A budget of `bytes` (rounded down to whole units, at least one) whose bodies must
    /// arrive within `deadline` of their length.
    pub(crate) fn new(bytes: usize, deadline: fn(usize) -> Duration) -> BodyBudget {
        let units = (bytes / UNIT).max(1);
        BodyBudget { units: Arc::new(Semaphore::new(units)), bytes: units * UNIT, deadline }
    }

    /// This budget for a route whose bodies are at most `limit` bytes, which must fit in the
    /// budget (else a body of the route's largest size would never be read).
    pub(crate) fn route(&self, limit: usize) -> RouteBodies {
        assert!(limit <= self.bytes, "a route's body limit ({limit}) past the budget ({})", self.bytes);
        RouteBodies { budget: self.clone(), limit }
    }
}

/// Middleware of a route with a body: reserves its length from the budget (503 when spent),
/// reads the body against its deadline (408 when late), then runs the route.
pub(crate) async fn bounded_body(State(route): State<RouteBodies>, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // Past the route's limit the body is refused unread (413) by the route itself; a body sent
    // in chunks may be as long as the limit.
    let bytes = declared.map_or(route.limit, |n| usize::try_from(n).unwrap_or(usize::MAX).min(route.limit));
    let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
    let Ok(_reserved) = route.budget.units.clone().try_acquire_many_owned(units) else {
        let mut refused = ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many request bodies are being received at once; retry shortly".into(),
        )
        .into_response();
        refused.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return refused;
    };
    let late = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, deadline_body(body, (route.budget.deadline)(bytes), late.clone()));
    let response = next.run(request).await;
    if late.load(Ordering::Relaxed) {
        return ApiError(StatusCode::REQUEST_TIMEOUT, "the request's body did not arrive in time".into())
            .into_response();
    }
    response
}

/// `body`, ending in an error (and setting `late`) if it has not all arrived within `within`.
fn deadline_body(body: Body, within: Duration, late: Arc<AtomicBool>) -> Body {
    let timer = Box::pin(tokio::time::sleep(within));
    let chunks = futures::stream::unfold(Some((body.into_data_stream(), timer, late)), |state| async move {
        let (mut chunks, mut timer, late) = state?;
        tokio::select! {
            chunk = chunks.next() => chunk.map(|c| (c, Some((chunks, timer, late)))),
            () = &mut timer => {
                late.store(true, Ordering::Relaxed);
                Some((Err(axum::Error::new("the request's body did not arrive in time")), None))
            }
        }
    });
    Body::from_stream(chunks)
}

#[cfg(test)]
#[path = "bodies_tests.rs"]
mod tests;
