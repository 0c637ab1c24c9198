//! The HTTP JSON API (`docs/openapi.yaml`). Handlers decode and verify signatures themselves,
//! in parallel, and hand the event loop only checked values.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platform_p2p::Client;
use platform_runtime::Runtime;
use platform_types::limits::MAX_ENVELOPE_BYTES;
use platform_types::{Hash, NetUid, PublicKey, SubmissionId};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::core::{Input, Query, Rejection};
use crate::metrics::Metrics;
use crate::records::Records;
use crate::verifier::Verifier;

mod bodies;
mod serve;
mod sync;
mod writes;

pub(crate) use serve::{HEAD_TIMEOUT, MAX_CONNECTIONS, serve};

use bodies::{BODY_BUDGET_BYTES, BodyBudget, RouteBodies, body_deadline, bounded_body};

use sync::{MAX_SYNC_REQUEST_BYTES, blob, sync};
use writes::{submit, sudo};

/// What the handlers share: one reference, cloned for every request (axum hands each handler
/// its own copy of the state), so a request costs one reference count, not one per field.
#[derive(Clone)]
pub(crate) struct Api(Arc<ApiParts>);

impl Api {
    pub(crate) fn new(parts: ApiParts) -> Api {
        Api(Arc::new(parts))
    }
}

impl std::ops::Deref for Api {
    type Target = ApiParts;
    fn deref(&self) -> &ApiParts {
        &self.0
    }
}

/// The handles and settings behind [`Api`].
pub(crate) struct ApiParts {
    pub inputs: mpsc::Sender<Input>,
    pub status: watch::Receiver<Value>,
    /// What the loop last published: queries are answered from it, never by the loop.
    pub view: watch::Receiver<Arc<crate::view::ReadView>>,
    pub p2p: Client,
    pub records: Records,
    pub runtime: Runtime,
    pub netuid: NetUid,
    pub hotkey: PublicKey,
    pub metrics: Arc<Metrics>,
    pub verifier: Verifier,
    /// The data directory (its file system's free space is in `/metrics`).
    pub data_dir: std::path::PathBuf,
}

pub(crate) struct ApiError(pub StatusCode, pub String);

impl From<ApiError> for Rejection {
    fn from(e: ApiError) -> Self {
        Rejection::new(e.0.as_u16(), e.1)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError(StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST), r.reason)
    }
}

fn bad(reason: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, reason.into())
}

fn unavailable() -> ApiError {
    ApiError(StatusCode::SERVICE_UNAVAILABLE, "the validator is shutting down".into())
}

type Reply = Result<Json<Value>, ApiError>;

/// Reads that may each hold a large share of memory (a blob of up to 64 MiB, an epoch's
/// answers up to a challenge's input cap) served at once, over all clients: a client that asks
/// for more while these run is told to retry (429) instead of growing the node's memory.
const HEAVY_READS: usize = 4;
static HEAVY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HEAVY_READS);

/// A permit for one heavy read, or 429.
fn heavy_read() -> Result<tokio::sync::SemaphorePermit<'static>, ApiError> {
    HEAVY.try_acquire().map_err(|_| {
        ApiError(StatusCode::TOO_MANY_REQUESTS, format!("{HEAVY_READS} large reads are under way; retry shortly"))
    })
}

/// The largest body of a write (`POST /submissions`, `POST /sudo`): an envelope and a blob
/// (a challenge module of up to 32 MiB), each as hex.
const MAX_WRITE_BODY_BYTES: usize = 2 * (MAX_ENVELOPE_BYTES + 32 * 1024 * 1024);

/// The router. The routes with a body read it within one [`BodyBudget`] (`bodies.rs`).
pub(crate) fn router(api: Api) -> Router {
    let budget = BodyBudget::new(BODY_BUDGET_BYTES, body_deadline);
    let bounded = |limit: usize| {
        axum::middleware::from_fn_with_state::<_, _, (State<RouteBodies>, axum::extract::Request)>(
            budget.route(limit),
            bounded_body,
        )
    };
    Router::new()
        .route("/health", get(health))
        .route("/identity", get(identity))
        .route("/peers", get(peers))
        .route("/challenges", get(|s: State<Api>| ask(s, Query::Challenges)))
        .route("/submissions", post(submit).layer(bounded(MAX_WRITE_BODY_BYTES)))
        .route("/submissions/{id}", get(submission))
        .route("/task", get(|s: State<Api>| ask(s, Query::Task)))
        .route("/challenges/{id}/epochs/{epoch}", get(epoch_answers))
        .route("/scores", get(scores))
        .route("/weights", get(|s: State<Api>| ask(s, Query::Weights)))
        .route("/weights/history", get(weights_history))
        .route("/leader", get(leader))
        .route("/consensus/info", get(|s: State<Api>| ask(s, Query::Consensus)))
        .route("/sudo", post(sudo).layer(bounded(MAX_WRITE_BODY_BYTES)))
        .route("/sudo/{id}", get(sudo_status))
        .route("/metrics", get(metrics))
        .route(
            "/sync",
            post(sync)
                .layer::<_, std::convert::Infallible>(bounded(MAX_SYNC_REQUEST_BYTES))
                .layer(DefaultBodyLimit::max(MAX_SYNC_REQUEST_BYTES)),
        )
        .route("/blobs/{hash}", get(blob))
        .merge(crate::ui::routes())
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such endpoint (see docs/openapi.yaml)".into()) })
        .layer(DefaultBodyLimit::max(MAX_WRITE_BODY_BYTES))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(api)
}

/// Every error answers `{"error": "<reason>"}`, also those the framework produces itself
/// (404 for an unknown path, 405 with its `Allow` header, 413, 415 and 422 from the JSON
/// extractor, 400 for a bad path or query): their text becomes the reason.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    // JSON already, or a dashboard page saying what went wrong.
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let reason = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        text => text.to_owned(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    Response::from_parts(parts, axum::body::Body::from(json!({ "error": reason }).to_string()))
}

/// The status the node shows until its event loop runs (it is agreeing on the genesis
/// validator set with the others).
pub(crate) fn starting_status() -> Value {
    json!({
        "status": "starting",
        "voting": false,
        "detail": "agreeing on the genesis validator set with the other validators",
    })
}

/// What the node is waiting for, while its status is [`starting_status`].
pub(crate) fn starting(status: &Value) -> Option<&str> {
    (status.get("status").and_then(Value::as_str) == Some("starting"))
        .then(|| status.get("detail").and_then(Value::as_str).unwrap_or("starting"))
}

/// Answers `query` from the published view on a blocking thread (store reads, and `/scores`
/// walks every committed submission): the event loop is not involved.
pub(crate) async fn query(api: &Api, query: Query) -> Result<Value, ApiError> {
    api.ready()?;
    if let Query::Health = query {
        return Ok(api.status.borrow().clone());
    }
    let (view, records) = (api.view.borrow().clone(), api.records.clone());
    tokio::task::spawn_blocking(move || view.answer(query, &records)).await.map_err(|_| unavailable())
}

async fn ask(State(api): State<Api>, q: Query) -> Reply {
    Ok(Json(query(&api, q).await?))
}

async fn health(State(api): State<Api>) -> Response {
    let status = api.status.borrow().clone();
    let code = if status.get("voting").and_then(Value::as_bool) == Some(true) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(status)).into_response()
}

async fn identity(State(api): State<Api>) -> Reply {
    let listen = api.p2p.listen_addresses().await.unwrap_or_default();
    Ok(Json(json!({
        "hotkey": api.hotkey.to_ss58(),
        "peer_id": api.p2p.local_peer().to_string(),
        "listen_addresses": listen,
        "netuid": api.netuid.get(),
        "version": crate::core::node_version().to_string(),
    })))
}

async fn peers(State(api): State<Api>) -> Reply {
    let peers = api.p2p.peers().await.map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(Value::Array(
        peers
            .into_iter()
            .map(|(peer, hotkey)| json!({ "peer_id": peer.to_string(), "hotkey": hotkey.map(|h| h.to_ss58()) }))
            .collect(),
    )))
}

impl Api {
    /// Refuses at once (503, saying why) while the event loop does not run yet: the validator
    /// is still agreeing on the genesis validator set with the others.
    pub(crate) fn ready(&self) -> Result<(), ApiError> {
        match starting(&self.status.borrow()) {
            Some(detail) => {
                Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, format!("the validator is starting: {detail}")))
            }
            None => Ok(()),
        }
    }
}

fn parse_hash(text: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(text.trim_start_matches("0x")).map_err(|_| bad(format!("{text:?} is not a 32-byte hex id")))
}

async fn submission(State(api): State<Api>, Path(id): Path<String>) -> Reply {
    let id = SubmissionId(parse_hash(&id)?);
    let answer = query(&api, Query::Submission(id)).await?;
    if answer.get("status").and_then(Value::as_str) == Some("unknown") {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no submission {id} on this validator")));
    }
    Ok(Json(answer))
}

/// `GET /challenges/{id}/epochs/{epoch}` ([`crate::view::ReadView::epoch`]).
async fn epoch_answers(State(api): State<Api>, Path((challenge, epoch)): Path<(String, String)>) -> Reply {
    api.ready()?;
    let epoch = epoch.parse::<u64>().map_err(|_| bad(format!("{epoch:?} is not an epoch number")))?;
    let _permit = heavy_read()?;
    let (view, records) = (api.view.borrow().clone(), api.records.clone());
    let answer =
        tokio::task::spawn_blocking(move || view.epoch(&challenge, platform_types::Epoch::new(epoch), &records))
            .await
            .map_err(|_| unavailable())?;
    answer.map(Json).map_err(|(code, reason)| {
        ApiError(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), reason)
    })
}

#[derive(Deserialize)]
struct ScoresQuery {
    challenge: Option<String>,
}

async fn scores(State(api): State<Api>, UrlQuery(q): UrlQuery<ScoresQuery>) -> Reply {
    let answer = query(&api, Query::Scores(q.challenge.clone())).await?;
    if let Some(challenge) = q.challenge {
        return match answer.get(&challenge) {
            Some(rows) => Ok(Json(rows.clone())),
            None => Err(ApiError(StatusCode::NOT_FOUND, format!("unknown challenge {challenge:?}"))),
        };
    }
    Ok(Json(answer))
}

async fn weights_history(State(api): State<Api>) -> Reply {
    let rows =
        api.records.weights_history(1_000).map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(Value::Array(rows.iter().filter_map(|v| serde_json::from_slice(v).ok()).collect())))
}

async fn leader(State(api): State<Api>) -> Reply {
    let info = query(&api, Query::Consensus).await?;
    Ok(Json(json!({ "height": info["height"], "view": info["view"], "leader": info["leader"] })))
}

async fn sudo_status(State(api): State<Api>, Path(id): Path<String>) -> Reply {
    let hash = parse_hash(&id)?;
    let answer = query(&api, Query::Sudo(hash)).await?;
    if answer.get("status").and_then(Value::as_str) == Some("unknown") {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no sudo action {hash} on this validator")));
    }
    Ok(Json(answer))
}

async fn metrics(State(api): State<Api>) -> Response {
    if let Ok(peers) = api.p2p.peers().await {
        api.metrics.peers.set(peers.len() as i64);
        let connected = peers.into_iter().filter_map(|(_, hotkey)| hotkey).collect();
        let view = api.view.borrow().clone();
        api.metrics.set_connected_stake(&view.state.registry.validators, &api.hotkey, &connected);
    }
    let (metrics, dir) = (api.metrics.clone(), api.data_dir.clone());
    let _ = tokio::task::spawn_blocking(move || metrics.set_storage(&dir)).await;
    if let Ok(counters) = api.p2p.counters().await {
        api.metrics.guard.set(&counters);
    }
    ([("content-type", "text/plain; version=0.0.4")], api.metrics.render()).into_response()
}

#[cfg(test)]
mod heavy_read_tests {
    use super::*;

    /// At most [`HEAVY_READS`] large reads at once: the next is refused with 429 until one ends.
    #[test]
    fn large_reads_beyond_the_bound_are_told_to_retry() {
        let held: Vec<_> = (0..HEAVY_READS).map(|_| heavy_read().ok().expect("within the bound")).collect();
        let refused = heavy_read().err().map(|e| e.0);
        assert_eq!(refused, Some(StatusCode::TOO_MANY_REQUESTS), "one too many");
        drop(held);
        assert!(heavy_read().is_ok(), "free again once they end");
    }
}
