//! Conversion of the sync protocol (`proto/platform_network/v1/sync.proto`).

use super::{bounded, codec, hash, pb, required};
use crate::domain::{MAX_SYNC_BLOCKS, MAX_SYNC_SUBMISSIONS, SyncRequest, SyncResponse};
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
        })
    }
}

codec!(SyncRequest, pb::SyncRequest, "SyncRequest");
codec!(SyncResponse, pb::SyncResponse, "SyncResponse");
