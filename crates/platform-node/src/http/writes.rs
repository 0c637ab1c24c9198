//! The API's writes: `POST /submissions` and `POST /sudo`. A body's envelope is decoded and its
//! signature checked here, off the event loop (a submission's in a batch with those arriving
//! meanwhile); the cheap admission checks come before any expensive work (a blob hashed, a
//! module compiled), and the event loop is handed only checked values.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform_types::limits::{MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES};
use platform_types::{
    DecodeError, Envelope, EnvelopeError, Hash, Payload, SubmissionId, SudoAction, SudoCommand, blake2b_256,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::oneshot;

use super::{Api, ApiError, bad, unavailable};
use crate::core::{Input, Precheck};

/// Body of `POST /submissions` and `POST /sudo`.
#[derive(Deserialize)]
pub(super) struct Signed {
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
    envelope_of(decode_hex("envelope", &body.envelope)?)
}

/// The envelope whose wire encoding is `bytes`, and those bytes.
fn envelope_of(bytes: Vec<u8>) -> Result<(Envelope, Vec<u8>), ApiError> {
    let envelope = Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES).map_err(|e| {
        let status = decode_status(&e);
        let what = if status == StatusCode::PAYLOAD_TOO_LARGE { "envelope too large" } else { "malformed envelope" };
        ApiError(status, format!("{what}: {e}"))
    })?;
    Ok((envelope, bytes))
}

/// How a `POST /submissions` body is written, from its `Content-Type` (parameters ignored).
#[derive(Debug, PartialEq)]
enum BodyFormat {
    /// `{"envelope": hex, "blob"?: hex}`: `application/json` or `application/*+json`.
    Json,
    /// The envelope's wire bytes as they are (`application/octet-stream`), for an inline
    /// payload: half the bytes of the JSON's hex, and nothing to parse but the envelope.
    Wire,
}

fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "application/octet-stream" => Ok(BodyFormat::Wire),
        "application/json" => Ok(BodyFormat::Json),
        t if t.starts_with("application/") && t.ends_with("+json") => Ok(BodyFormat::Json),
        _ => Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected request with `Content-Type: application/json` (or `application/octet-stream`: the envelope's wire bytes)"
                .into(),
        )),
    }
}

impl Api {
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
        let handed = std::time::Instant::now();
        let opened = self.verifier.open(envelope).await.ok_or_else(unavailable)?;
        self.metrics.admission_check.observe(handed.elapsed().as_secs_f64());
        let signed = opened.map_err(|e| envelope_error("submission", e))?;
        let blob = match signed.message.payload {
            Payload::Blob(hash) => {
                let blob = blob.ok_or_else(|| bad("a blob payload needs its bytes in \"blob\" (a JSON body)"))?;
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
        let checked = std::time::Instant::now();
        self.inputs.send(input).await.map_err(|_| unavailable())?;
        let answer = answer.await.map_err(|_| unavailable())?;
        self.metrics.admission_store.observe(checked.elapsed().as_secs_f64());
        Ok(answer?)
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

/// `POST /submissions`: a JSON body, or the envelope's wire bytes ([`BodyFormat`]).
/// The body's format is judged from its header before the body is read.
pub(super) async fn submit(State(api): State<Api>, request: Request) -> Result<Response, ApiError> {
    let format = body_format(request.headers())?;
    let body = Bytes::from_request(request, &()).await.map_err(|e| ApiError(e.status(), e.body_text()))?;
    let (envelope, bytes, blob) = match format {
        BodyFormat::Wire => {
            let (envelope, bytes) = envelope_of(body.to_vec())?;
            (envelope, bytes, None)
        }
        BodyFormat::Json => {
            let Json(body) = Json::<Signed>::from_bytes(&body).map_err(|e| ApiError(e.status(), e.body_text()))?;
            let (envelope, bytes) = decode_envelope(&body)?;
            let blob = body.blob.as_deref().map(|b| decode_hex("blob", b)).transpose()?;
            (envelope, bytes, blob)
        }
    };
    let id = api.submit(envelope, bytes, blob).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string(), "status": "pending" }))).into_response())
}

pub(super) async fn sudo(State(api): State<Api>, Json(body): Json<Signed>) -> Result<Response, ApiError> {
    let (envelope, _) = decode_envelope(&body)?;
    let module = body.blob.as_deref().map(|m| decode_hex("module", m)).transpose()?;
    let id = api.sudo(envelope, module).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string(), "status": "pending" }))).into_response())
}
