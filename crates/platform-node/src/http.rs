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
use platform_types::limits::{MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES};
use platform_types::{
    DecodeError, Envelope, EnvelopeError, Hash, NetUid, Payload, PublicKey, SubmissionId, SudoAction, SudoCommand,
    blake2b_256,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use crate::core::{Input, Precheck, Query, Rejection};
use crate::metrics::Metrics;
use crate::records::Records;
use crate::verifier::Verifier;

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

/// The router.
pub(crate) fn router(api: Api) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/identity", get(identity))
        .route("/peers", get(peers))
        .route("/challenges", get(|s: State<Api>| ask(s, Query::Challenges)))
        .route("/submissions", post(submit))
        .route("/submissions/{id}", get(submission))
        .route("/task", get(|s: State<Api>| ask(s, Query::Task)))
        .route("/challenges/{id}/epochs/{epoch}", get(epoch_answers))
        .route("/scores", get(scores))
        .route("/weights", get(|s: State<Api>| ask(s, Query::Weights)))
        .route("/weights/history", get(weights_history))
        .route("/leader", get(leader))
        .route("/consensus/info", get(|s: State<Api>| ask(s, Query::Consensus)))
        .route("/sudo", post(sudo))
        .route("/sudo/{id}", get(sudo_status))
        .route("/metrics", get(metrics))
        .route("/sync", post(sync).layer(DefaultBodyLimit::max(MAX_SYNC_REQUEST_BYTES)))
        .route("/blobs/{hash}", get(blob))
        .merge(crate::ui::routes())
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such endpoint (see docs/openapi.yaml)".into()) })
        .layer(DefaultBodyLimit::max(2 * (MAX_ENVELOPE_BYTES + 32 * 1024 * 1024)))
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

/// Body of `POST /submissions` and `POST /sudo`.
#[derive(Deserialize)]
struct Signed {
    /// Hex of the signed envelope's wire bytes.
    envelope: String,
    /// Hex of a blob the envelope refers to (a large payload, or a challenge module).
    #[serde(default, alias = "module")]
    blob: Option<String>,
}

/// Hex as the API documents it: an optional `0x`, then pairs of hex digits, nothing else (no
/// whitespace: Unicode's, which `str::trim` removes, made a control character read as an empty
/// blob).
fn decode_hex(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| bad(format!("{field} is not hex: {e}")))
}

/// Bytes that do not decode: 413 for a field or message over its limit, else 400.
fn decode_status(e: &DecodeError) -> StatusCode {
    match e {
        DecodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A message that does not decode is malformed (400, or 413 for a field over its limit); one
/// whose signature, kind or author does not hold is not authenticated (401).
fn envelope_error(what: &str, e: EnvelopeError) -> ApiError {
    let status = match &e {
        EnvelopeError::Decode(d) => decode_status(d),
        EnvelopeError::Signature(_) | EnvelopeError::WrongKind { .. } | EnvelopeError::SignerMismatch { .. } => {
            StatusCode::UNAUTHORIZED
        }
    };
    ApiError(status, format!("{what} refused: {e}"))
}

/// The envelope of a request, and its bytes as sent.
fn decode_envelope(body: &Signed) -> Result<(Envelope, Vec<u8>), ApiError> {
    let bytes = decode_hex("envelope", &body.envelope)?;
    let envelope = Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES).map_err(|e| {
        let status = decode_status(&e);
        let what = if status == StatusCode::PAYLOAD_TOO_LARGE { "envelope too large" } else { "malformed envelope" };
        ApiError(status, format!("{what}: {e}"))
    })?;
    Ok((envelope, bytes))
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

    fn store_blob(&self, expected: Hash, blob: &[u8]) -> Result<(), ApiError> {
        if blake2b_256(blob) != expected {
            return Err(bad(format!("the attached blob does not hash to {expected}")));
        }
        self.records
            .put_blob(&expected, blob)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let p2p = self.p2p.clone();
        tokio::spawn(async move {
            let _ = p2p.provide(expected).await;
        });
        Ok(())
    }

    /// Checks a submission's signature (in a batch with the submissions arriving meanwhile)
    /// and hands it to admission; answers once it is stored. The blob of a large payload is
    /// hashed only after the cheap admission checks passed, and stored only with the admitted
    /// submission.
    /// `bytes` is the envelope's wire encoding as received: stored and relayed as it is.
    pub(crate) async fn submit(
        &self,
        envelope: Envelope,
        bytes: Vec<u8>,
        blob: Option<Vec<u8>>,
    ) -> Result<SubmissionId, ApiError> {
        self.ready()?;
        let signed =
            self.verifier.open(envelope).await.ok_or_else(unavailable)?.map_err(|e| envelope_error("submission", e))?;
        let blob = match signed.message.payload {
            Payload::Blob(hash) => {
                let blob = blob.ok_or_else(|| bad("a blob payload needs its bytes in \"blob\""))?;
                if blob.len() as u64 != signed.message.payload_size || blob.len() as u64 > MAX_PAYLOAD_BYTES {
                    return Err(bad("the blob's length differs from payload_size"));
                }
                let id = SubmissionId(signed.envelope.payload_hash());
                self.precheck(Precheck::Submission(id, signed.message.clone())).await?;
                let blob = tokio::task::spawn_blocking(move || (blake2b_256(&blob) == hash).then_some(blob))
                    .await
                    .map_err(|_| unavailable())?
                    .ok_or_else(|| bad(format!("the attached blob does not hash to {hash}")))?;
                Some((hash, blob))
            }
            Payload::Inline(_) => None,
        };
        let (reply, answer) = oneshot::channel();
        let input = Input::Submit { signed, bytes, local: true, blob, reply: Some(reply) };
        self.inputs.send(input).await.map_err(|_| unavailable())?;
        Ok(answer.await.map_err(|_| unavailable())??)
    }

    /// The admission checks that cost nothing, asked of the event loop before expensive work.
    async fn precheck(&self, check: Precheck) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.inputs.send(Input::Precheck { check, reply }).await.map_err(|_| unavailable())?;
        Ok(answer.await.map_err(|_| unavailable())??)
    }

    /// Checks the owner's signature and key, then compiles and stores an attached module, and
    /// hands the action to admission. Nothing is compiled for a key that is not the owner's.
    pub(crate) async fn sudo(&self, envelope: Envelope, module: Option<Vec<u8>>) -> Result<Hash, ApiError> {
        self.ready()?;
        let signed = envelope.open::<SudoAction>(self.netuid).map_err(|e| envelope_error("sudo action", e))?;
        self.precheck(Precheck::Sudo { signer: signed.signer, hash: signed.envelope.payload_hash() }).await?;
        if let SudoCommand::AddChallenge(spec) | SudoCommand::UpdateChallenge(spec) = &signed.message.command
            && module.is_none()
            && self.records.blob(&spec.module_hash).is_none()
        {
            return Err(bad(format!(
                "module {} is not held by this validator; send it with the action",
                spec.module_hash
            )));
        }
        if let SudoCommand::AddChallenge(spec) | SudoCommand::UpdateChallenge(spec) = &signed.message.command
            && let Some(wasm) = module
        {
            if wasm.len() as u64 != spec.module_size {
                return Err(bad(format!("module is {} bytes but the action says {}", wasm.len(), spec.module_size)));
            }
            let (runtime, policy, check) = (self.runtime.clone(), spec.policy, wasm.clone());
            tokio::task::spawn_blocking(move || runtime.load(&check, &policy))
                .await
                .map_err(|_| unavailable())?
                .map_err(|e| bad(format!("module refused: {e}")))?;
            self.store_blob(spec.module_hash, &wasm)?;
        }
        let (reply, answer) = oneshot::channel();
        self.inputs.send(Input::Sudo { signed, local: true, reply: Some(reply) }).await.map_err(|_| unavailable())?;
        Ok(answer.await.map_err(|_| unavailable())??)
    }
}

async fn submit(State(api): State<Api>, Json(body): Json<Signed>) -> Result<Response, ApiError> {
    let (envelope, bytes) = decode_envelope(&body)?;
    let blob = body.blob.as_deref().map(|b| decode_hex("blob", b)).transpose()?;
    let id = api.submit(envelope, bytes, blob).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string(), "status": "pending" }))).into_response())
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

async fn sudo(State(api): State<Api>, Json(body): Json<Signed>) -> Result<Response, ApiError> {
    let (envelope, _) = decode_envelope(&body)?;
    let module = body.blob.as_deref().map(|m| decode_hex("module", m)).transpose()?;
    let id = api.sudo(envelope, module).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string(), "status": "pending" }))).into_response())
}

async fn sudo_status(State(api): State<Api>, Path(id): Path<String>) -> Reply {
    let hash = parse_hash(&id)?;
    let answer = query(&api, Query::Sudo(hash)).await?;
    if answer.get("status").and_then(Value::as_str) == Some("unknown") {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no sudo action {hash} on this validator")));
    }
    Ok(Json(answer))
}

/// The largest `POST /sync` request body (a request for [`platform_types::MAX_SYNC_SUBMISSIONS`]
/// submission ids fits).
const MAX_SYNC_REQUEST_BYTES: usize = 512 * 1024;

/// The sync protocol's request a `POST /sync` body names (docs/openapi.yaml, `SyncQuery`): an
/// object with one key — `{"genesis": {}}`, `{"blocks": {"from": H}}`, `{"submissions": [id,
/// ...]}`, `{"snapshot": {}}` or `{"chunk": {"height": H, "index": I}}` — and nothing else.
pub(crate) fn sync_request(query: &Value) -> Result<platform_types::SyncRequest, String> {
    use platform_types::{Height, SyncRequest};
    let fields = |value: &Value, names: &[&str]| -> Result<Vec<u64>, String> {
        let object = value.as_object().ok_or("expected an object")?;
        if let Some(other) = object.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(format!("unknown field {other:?}"));
        }
        names
            .iter()
            .map(|name| object.get(*name).and_then(Value::as_u64).ok_or(format!("{name:?}: a non-negative integer")))
            .collect()
    };
    let object = query.as_object().filter(|o| o.len() == 1).ok_or("expected an object with one key")?;
    let (key, value) = object.iter().next().ok_or("expected an object with one key")?;
    Ok(match key.as_str() {
        "genesis" => fields(value, &[]).map(|_| SyncRequest::Genesis)?,
        "snapshot" => fields(value, &[]).map(|_| SyncRequest::Snapshot)?,
        "blocks" => match fields(value, &["from"])?[..] {
            [0] => return Err("blocks start at height 1".into()),
            [from] => SyncRequest::Blocks { from: Height::new(from) },
            _ => unreachable!("one field asked"),
        },
        "chunk" => match fields(value, &["height", "index"])?[..] {
            [height, index] => SyncRequest::Chunk {
                height: Height::new(height),
                index: u32::try_from(index).map_err(|_| "\"index\": at most 4294967295")?,
            },
            _ => unreachable!("two fields asked"),
        },
        "submissions" => {
            let ids = value.as_array().ok_or("\"submissions\": an array of ids")?;
            if ids.len() > platform_types::MAX_SYNC_SUBMISSIONS {
                return Err(format!("at most {} ids a request", platform_types::MAX_SYNC_SUBMISSIONS));
            }
            let id = |v: &Value| {
                v.as_str()
                    .and_then(|t| Hash::from_hex(t).ok())
                    .map(SubmissionId)
                    .ok_or(format!("{v} is not a 32-byte hex id"))
            };
            SyncRequest::Submissions(ids.iter().map(id).collect::<Result<_, _>>()?)
        }
        other => return Err(format!("unknown request {other:?}")),
    })
}

/// `POST /sync`: the committed history, for anyone (an auditor): a query (JSON, [`sync_request`]) in, the
/// protobuf `SyncResponse` a validator's peers would get out — the genesis set, committed blocks
/// with their certificates, snapshots and their chunks — but with the bodies of ordered
/// submissions only (`Records::public_sync`). What is served is checked by whoever reads it
/// (certificates, hashes); nothing here is trusted.
async fn sync(State(api): State<Api>, Json(query): Json<Value>) -> Result<Response, ApiError> {
    let request = sync_request(&query).map_err(bad)?;
    let records = api.records.clone();
    let answer = tokio::task::spawn_blocking(move || records.public_sync(&request)).await.map_err(|_| unavailable())?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response())
}

/// `GET /blobs/{hash}`: a challenge's module or an ordered submission's payload, by its
/// blake2b-256 hash (`Records::public_blob`).
async fn blob(State(api): State<Api>, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let records = api.records.clone();
    let _permit = heavy_read()?;
    match tokio::task::spawn_blocking(move || records.public_blob(&hash)).await.map_err(|_| unavailable())? {
        Some(bytes) => Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no public blob {hash} here"))),
    }
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

#[cfg(test)]
mod sync_query_tests {
    use platform_types::{Height, SyncRequest};
    use serde_json::json;

    use super::sync_request;

    /// Only the shapes docs/openapi.yaml's `SyncQuery` allows are requests (schemathesis found an
    /// array taken for an empty object, and height 0 taken for 1).
    #[test]
    fn a_sync_query_is_one_key_of_the_documented_shape() {
        assert_eq!(sync_request(&json!({ "genesis": {} })), Ok(SyncRequest::Genesis));
        assert_eq!(sync_request(&json!({ "blocks": { "from": 7 } })), Ok(SyncRequest::Blocks { from: Height::new(7) }));
        let chunk = sync_request(&json!({ "chunk": { "height": 8, "index": 2 } }));
        assert_eq!(chunk, Ok(SyncRequest::Chunk { height: Height::new(8), index: 2 }));
        let id = format!("0x{}", "ab".repeat(32));
        assert!(
            matches!(sync_request(&json!({ "submissions": [id] })), Ok(SyncRequest::Submissions(ids)) if ids.len() == 1)
        );
        for refused in [
            json!({ "genesis": [] }),
            json!({ "genesis": { "x": 1 } }),
            json!({ "blocks": { "from": 0 } }),
            json!({ "blocks": [5] }),
            json!({ "blocks": { "from": 1, "to": 2 } }),
            json!({ "chunk": { "height": 1, "index": 4_294_967_296u64 } }),
            json!({ "submissions": ["zz"] }),
            json!({ "genesis": {}, "snapshot": {} }),
            json!({ "tip": {} }),
            json!([]),
        ] {
            assert!(sync_request(&refused).is_err(), "{refused}");
        }
    }
}
