//! The sync protocol's messages on the wire (one codec with the rest).

use super::*;

pub(crate) fn manifest() -> Manifest {
    Manifest {
        height: Height::new(100),
        captured: Height::new(50),
        block_hash: h(1),
        prev_root: h(2),
        registry_hash: h(3),
        len: (CHUNK_BYTES + 5) as u64,
        chunks: vec![h(4), h(5)],
    }
}

pub(crate) fn sync_snapshot() -> SyncResponse {
    let checkpoint =
        Checkpoint { header: block().header, commit: certificate(VoteKind::Commit), validators: validators() };
    SyncResponse::Snapshot(Some(Box::new((checkpoint, manifest()))))
}

pub(crate) fn sync_submissions() -> SyncResponse {
    SyncResponse::Submissions(vec![Envelope {
        kind: MessageKind::Submission,
        payload: submission().to_bytes(),
        signer: alice().public(),
        signature: Signature::from_bytes([3; 64]),
    }])
}

/// The sync protocol, one wire codec with the rest (it was SCALE inside the node).
#[test]
fn sync_messages_round_trip_and_refuse_what_is_out_of_bounds() {
    let requests = [
        SyncRequest::Genesis,
        SyncRequest::Blocks { from: Height::new(1) },
        SyncRequest::Submissions(vec![SubmissionId(h(1)), SubmissionId(h(2))]),
        SyncRequest::Snapshot,
        SyncRequest::Chunk { height: Height::new(100), index: 0 },
    ];
    for request in requests {
        assert_eq!(SyncRequest::from_bytes(&request.to_bytes()).expect("decodes"), request);
    }
    let responses = [
        SyncResponse::Genesis(None),
        SyncResponse::Genesis(Some(validators())),
        SyncResponse::Blocks(vec![(block(), certificate(VoteKind::Commit))]),
        sync_submissions(),
        sync_snapshot(),
        SyncResponse::Snapshot(None),
        SyncResponse::Chunk(None),
        SyncResponse::Chunk(Some(vec![7; CHUNK_BYTES])),
    ];
    for response in responses {
        assert_eq!(SyncResponse::from_bytes(&response.to_bytes()).expect("decodes"), response);
    }
    let zero = SyncRequest::Blocks { from: Height::new(0) }.to_bytes();
    assert!(matches!(SyncRequest::from_bytes(&zero), Err(DecodeError::Invalid { field: "from", .. })));
    let many = SyncRequest::Submissions(vec![SubmissionId(h(1)); MAX_SYNC_SUBMISSIONS + 1]).to_bytes();
    assert!(matches!(SyncRequest::from_bytes(&many), Err(DecodeError::TooLarge { field: "ids", .. })));
    let blocks = vec![(block(), certificate(VoteKind::Commit)); MAX_SYNC_BLOCKS + 1];
    let too_many = SyncResponse::Blocks(blocks).to_bytes();
    assert!(matches!(SyncResponse::from_bytes(&too_many), Err(DecodeError::TooLarge { field: "blocks", .. })));
    assert!(SyncRequest::from_bytes(&[]).is_err(), "an empty request names nothing");
    let big = SyncResponse::Chunk(Some(vec![0; CHUNK_BYTES + 1])).to_bytes();
    assert!(matches!(SyncResponse::from_bytes(&big), Err(DecodeError::TooLarge { field: "data", .. })));
    let SyncResponse::Snapshot(Some(offer)) = sync_snapshot() else { unreachable!() };
    let (checkpoint, mut manifest) = *offer;
    manifest.chunks = vec![h(1); MAX_CHUNKS + 1];
    let chunks = SyncResponse::Snapshot(Some(Box::new((checkpoint, manifest)))).to_bytes();
    assert!(matches!(SyncResponse::from_bytes(&chunks), Err(DecodeError::TooLarge { field: "chunks", .. })));
}
