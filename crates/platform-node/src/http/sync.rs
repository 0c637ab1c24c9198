//! The public history: `POST /sync` (the sync protocol's requests, asked in JSON, answered in
//! the protobuf peers get) and `GET /blobs/{hash}`, for auditors and anyone else; what is served
//! is checked by whoever reads it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform_types::{Hash, SubmissionId};
use serde_json::Value;

use super::{Api, ApiError, bad, heavy_read, parse_hash, unavailable};

/// The largest `POST /sync` request body (a request for [`platform_types::MAX_SYNC_SUBMISSIONS`]
/// submission ids fits).
pub(super) const MAX_SYNC_REQUEST_BYTES: usize = 512 * 1024;

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
pub(super) async fn sync(State(api): State<Api>, Json(query): Json<Value>) -> Result<Response, ApiError> {
    let request = sync_request(&query).map_err(bad)?;
    let records = api.records.clone();
    let answer = tokio::task::spawn_blocking(move || records.public_sync(&request)).await.map_err(|_| unavailable())?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response())
}

/// `GET /blobs/{hash}`: a challenge's module or an ordered submission's payload, by its
/// blake2b-256 hash (`Records::public_blob`).
pub(super) async fn blob(State(api): State<Api>, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let records = api.records.clone();
    let _permit = heavy_read()?;
    match tokio::task::spawn_blocking(move || records.public_blob(&hash)).await.map_err(|_| unavailable())? {
        Some(bytes) => Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no public blob {hash} here"))),
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
