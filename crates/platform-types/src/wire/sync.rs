//! Conversion of the sync protocol (`proto/platform_network/v1/sync.proto`).

use super::{bounded, codec, hash, pb, required};
use crate::domain::{
    CHUNK_BYTES, MAX_CHUNKS, MAX_SYNC_BLOCKS, MAX_SYNC_SUBMISSIONS, Manifest, SyncRequest, SyncResponse,
};
use crate::envelope::Envelope;
use crate::error::DecodeError;
use crate::ids::{Height, SubmissionId};

impl From<&SyncRequest> for pb::SyncRequest {
    fn from(r: &SyncRequest) -> Self {
        use pb::sync_request::Request;
        let request = match r {
            SyncRequest::Genesis => Request::Genesis(pb::GenesisRequest {}),
            SyncRequest::Blocks { from } => Request::Blocks(pb::BlocksRequest { from: from.get() }),
            SyncRequest::Submissions(ids) => Request::Submissions(pb::SubmissionsRequest {
                ids: ids.iter().map(|id| id.0.as_bytes().to_vec()).collect(),
            }),
            SyncRequest::Snapshot => Request::Snapshot(pb::SnapshotRequest {}),
            SyncRequest::Chunk { height, index } => {
                Request::Chunk(pb::ChunkRequest { height: height.get(), index: *index })
            }
        };
        pb::SyncRequest { request: Some(request) }
    }
}

impl TryFrom<pb::SyncRequest> for SyncRequest {
    type Error = DecodeError;

    fn try_from(r: pb::SyncRequest) -> Result<Self, DecodeError> {
        use pb::sync_request::Request;
        Ok(match required("request", r.request)? {
            Request::Genesis(_) => SyncRequest::Genesis,
            Request::Blocks(b) if b.from == 0 => {
                return Err(DecodeError::Invalid { field: "from", reason: "heights start at 1" });
            }
            Request::Blocks(b) => SyncRequest::Blocks { from: Height::new(b.from) },
            Request::Submissions(s) => SyncRequest::Submissions(
                bounded("ids", s.ids, MAX_SYNC_SUBMISSIONS)?
                    .iter()
                    .map(|id| hash("ids", id).map(SubmissionId))
                    .collect::<Result<_, _>>()?,
            ),
            Request::Snapshot(_) => SyncRequest::Snapshot,
            Request::Chunk(c) => SyncRequest::Chunk { height: Height::new(c.height), index: c.index },
        })
    }
}

impl From<&Manifest> for pb::SnapshotManifest {
    fn from(m: &Manifest) -> Self {
        pb::SnapshotManifest {
            height: m.height.get(),
            captured: m.captured.get(),
            block_hash: m.block_hash.as_bytes().to_vec(),
            prev_root: m.prev_root.as_bytes().to_vec(),
            registry_hash: m.registry_hash.as_bytes().to_vec(),
            len: m.len,
            chunks: m.chunks.iter().map(|h| h.as_bytes().to_vec()).collect(),
        }
    }
}

impl TryFrom<pb::SnapshotManifest> for Manifest {
    type Error = DecodeError;

    fn try_from(m: pb::SnapshotManifest) -> Result<Self, DecodeError> {
        Ok(Manifest {
            height: Height::new(m.height),
            captured: Height::new(m.captured),
            block_hash: hash("block_hash", &m.block_hash)?,
            prev_root: hash("prev_root", &m.prev_root)?,
            registry_hash: hash("registry_hash", &m.registry_hash)?,
            len: m.len,
            chunks: bounded("chunks", m.chunks, MAX_CHUNKS)?
                .iter()
                .map(|c| hash("chunks", c))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<&SyncResponse> for pb::SyncResponse {
    fn from(r: &SyncResponse) -> Self {
        use pb::sync_response::Response;
        let response = match r {
            SyncResponse::Genesis(set) => {
                Response::Genesis(pb::GenesisResponse { validators: set.as_ref().map(Into::into) })
            }
            SyncResponse::Blocks(blocks) => Response::Blocks(pb::BlocksResponse {
                blocks: blocks
                    .iter()
                    .map(|(block, certificate)| pb::CommittedBlock {
                        block: Some(block.into()),
                        certificate: Some(certificate.into()),
                    })
                    .collect(),
            }),
            SyncResponse::Submissions(envelopes) => Response::Submissions(pb::SubmissionsResponse {
                envelopes: envelopes.iter().map(pb::Envelope::from).collect(),
            }),
            SyncResponse::Snapshot(offer) => Response::Snapshot(pb::SnapshotResponse {
                checkpoint: offer.as_deref().map(|(checkpoint, _)| checkpoint.into()),
                manifest: offer.as_deref().map(|(_, manifest)| manifest.into()),
            }),
            SyncResponse::Chunk(chunk) => {
                Response::Chunk(pb::ChunkResponse { found: chunk.is_some(), data: chunk.clone().unwrap_or_default() })
            }
        };
        pb::SyncResponse { response: Some(response) }
    }
}

impl TryFrom<pb::SyncResponse> for SyncResponse {
    type Error = DecodeError;

    fn try_from(r: pb::SyncResponse) -> Result<Self, DecodeError> {
        use pb::sync_response::Response;
        Ok(match required("response", r.response)? {
            Response::Genesis(g) => SyncResponse::Genesis(g.validators.map(TryInto::try_into).transpose()?),
            Response::Blocks(b) => SyncResponse::Blocks(
                bounded("blocks", b.blocks, MAX_SYNC_BLOCKS)?
                    .into_iter()
                    .map(|c| {
                        Ok((
                            required("block", c.block)?.try_into()?,
                            required("certificate", c.certificate)?.try_into()?,
                        ))
                    })
                    .collect::<Result<_, DecodeError>>()?,
            ),
            Response::Submissions(s) => SyncResponse::Submissions(
                bounded("envelopes", s.envelopes, MAX_SYNC_SUBMISSIONS)?
                    .into_iter()
                    .map(Envelope::try_from)
                    .collect::<Result<_, _>>()?,
            ),
            Response::Snapshot(pb::SnapshotResponse { checkpoint: Some(c), manifest: Some(m) }) => {
                SyncResponse::Snapshot(Some(Box::new((c.try_into()?, m.try_into()?))))
            }
            Response::Snapshot(pb::SnapshotResponse { checkpoint: None, manifest: None }) => {
                SyncResponse::Snapshot(None)
            }
            Response::Snapshot(_) => {
                return Err(DecodeError::Invalid { field: "snapshot", reason: "a checkpoint without a manifest" });
            }
            Response::Chunk(c) if c.data.len() > CHUNK_BYTES => {
                return Err(DecodeError::TooLarge { field: "data", size: c.data.len(), max: CHUNK_BYTES });
            }
            Response::Chunk(c) => SyncResponse::Chunk(c.found.then_some(c.data)),
        })
    }
}

codec!(SyncRequest, pb::SyncRequest, "SyncRequest");
codec!(SyncResponse, pb::SyncResponse, "SyncResponse");
