use platform_storage::MemoryStore;

use super::*;

/// Block 1 ordering `actions`, with a certificate (no votes: the store does not check them).
fn first_block(actions: Vec<platform_types::Action>) -> (Block, QuorumCertificate) {
    use platform_types::{BlockHeaderFields, BlockRef, Epoch, Height, PublicKey, View, VoteKind};
    let fields = BlockHeaderFields {
        height: Height::new(1),
        epoch: Epoch::new(0),
        chain: BlockRef::default(),
        parent_hash: Hash::ZERO,
        parent_state_root: Hash::ZERO,
        proposer: PublicKey::from_bytes([1; 32]),
        validators_hash: Hash::ZERO,
    };
    let block = Block::new(fields, actions);
    let certificate = QuorumCertificate {
        kind: VoteKind::Commit,
        height: Height::new(1),
        view: View::new(0),
        block_hash: block.hash(),
        votes: Vec::new(),
    };
    (block, certificate)
}

/// Hole: after 1 000 epochs `/weights/history` showed the oldest records, not the newest.
#[test]
fn weights_history_is_the_newest_records_newest_first() {
    let records = Records::new(Arc::new(MemoryStore::new()));
    assert!(records.weights_history(10).expect("history").is_empty());
    for epoch in 1..=1_005u64 {
        records.put_weights_record(epoch, epoch.to_string().as_bytes()).expect("put");
    }
    let history = records.weights_history(1_000).expect("history");
    let epochs: Vec<u64> =
        history.iter().map(|v| std::str::from_utf8(v).expect("utf8").parse().expect("epoch")).collect();
    assert_eq!(epochs.len(), 1_000);
    assert_eq!(epochs.first(), Some(&1_005));
    assert_eq!(epochs.last(), Some(&6));
    assert!(epochs.windows(2).all(|w| w[0] == w[1] + 1));
    assert_eq!(records.latest_weights_record().expect("latest").as_deref(), Some(&b"1005"[..]));
}

/// A restart puts back in the mempool the acknowledged submissions no stored block orders,
/// found through their pending marks, not by reading every submission ever stored.
#[test]
fn pending_submissions_are_those_no_stored_block_orders() {
    use platform_types::{Action, PublicKey};
    let records = Records::new(Arc::new(MemoryStore::new()));
    let ids: Vec<SubmissionId> = (1..=3u8).map(|i| SubmissionId(Hash::from_bytes([i; 32]))).collect();
    let envelope = |i: u8| {
        Envelope {
            kind: platform_types::MessageKind::Submission,
            payload: vec![i],
            signer: PublicKey::from_bytes([i; 32]),
            signature: platform_types::Signature::from_bytes([0; 64]),
        }
        .to_bytes()
    };
    let bodies: Vec<Vec<u8>> = (1..=3u8).map(envelope).collect();
    records.put_admitted(ids.iter().zip(&bodies).map(|(id, b)| (id, &b[..], None))).expect("stored");
    // A body fetched for a committing block is not pending.
    let fetched = SubmissionId(Hash::from_bytes([9; 32]));
    records.put_submissions([(&fetched, &envelope(9)[..])]).expect("stored");
    let pending = |r: &Records| r.pending_submissions().into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(pending(&records), ids);

    let (block, certificate) = first_block(vec![Action::Submission(ids[0]), Action::Submission(ids[2])]);
    records.put_block(&block, &certificate).expect("stored");
    assert_eq!(pending(&records), vec![ids[1]], "the two ordered are no longer pending");
    assert!(records.has_submission(&ids[0]), "their bodies stay");
}

/// Hole: the public history (`POST /sync`, `GET /blobs/{hash}`, open to anyone) must not show
/// a miner's answer before a block orders it, or another miner could copy it first. It serves
/// ordered submissions' bodies and payloads, and modules; not what is still pending.
#[test]
fn the_public_history_shows_no_submission_still_pending() {
    use platform_types::{Action, Height, PublicKey};
    let records = Records::new(Arc::new(MemoryStore::new()));
    let envelope = |i: u8| Envelope {
        kind: platform_types::MessageKind::Submission,
        payload: vec![i],
        signer: PublicKey::from_bytes([i; 32]),
        signature: platform_types::Signature::from_bytes([0; 64]),
    };
    let (ordered, waiting) = (envelope(1), envelope(2));
    let ids = [SubmissionId(ordered.payload_hash()), SubmissionId(waiting.payload_hash())];
    let blobs =
        [b"ordered payload".to_vec(), b"waiting payload".to_vec()].map(|b| (platform_types::blake2b_256(&b), b));
    let bodies = [ordered.to_bytes(), waiting.to_bytes()];
    records.put_admitted((0..2).map(|i| (&ids[i], bodies[i].as_slice(), Some(&blobs[i])))).expect("stored");
    let module = b"module bytes";
    records.put_blob(&platform_types::blake2b_256(module), module).expect("stored");
    let (block, certificate) = first_block(vec![Action::Submission(ids[0])]);
    records.put_block(&block, &certificate).expect("stored");

    assert_eq!(records.public_blob(&blobs[0].0), Some(blobs[0].1.clone()), "an ordered payload");
    assert_eq!(records.public_blob(&blobs[1].0), None, "a payload still waiting");
    assert!(records.blob(&blobs[1].0).is_some(), "(held, for the validators)");
    assert_eq!(records.public_blob(&platform_types::blake2b_256(module)).as_deref(), Some(&module[..]), "a module");
    let answer = records.public_sync(&SyncRequest::Submissions(ids.to_vec()));
    assert_eq!(SyncResponse::from_bytes(&answer).expect("decodes"), SyncResponse::Submissions(vec![ordered]));
    let to_peers = Provider::sync(&records, &SyncRequest::Submissions(ids.to_vec()).to_bytes());
    let SyncResponse::Submissions(both) = SyncResponse::from_bytes(&to_peers).expect("decodes") else {
        panic!("submissions")
    };
    assert_eq!(both.len(), 2, "validators still get both");
    let blocks = records.public_sync(&SyncRequest::Blocks { from: Height::new(1) });
    assert_eq!(SyncResponse::from_bytes(&blocks).expect("decodes"), SyncResponse::Blocks(vec![(block, certificate)]));
}

#[test]
fn weights_history_skips_epochs_without_weights() {
    let records = Records::new(Arc::new(MemoryStore::new()));
    for epoch in [3u64, 10, 11, 500, 501] {
        records.put_weights_record(epoch, epoch.to_string().as_bytes()).expect("put");
    }
    let history = records.weights_history(4).expect("history");
    assert_eq!(history, vec![b"501".to_vec(), b"500".to_vec(), b"11".to_vec(), b"10".to_vec()]);
    assert_eq!(records.weights_history(100).expect("history").len(), 5);
}

/// A retired submission of `miner` committed at `height`.
fn retired(miner: u8, height: u64) -> (SubmissionId, platform_app::Committed) {
    use platform_types::{ChallengeId, Epoch, Height, PublicKey};
    let id = SubmissionId(platform_types::blake2b_256(&[miner, height as u8]));
    let committed = platform_app::Committed {
        challenge: ChallengeId::new("alpha").expect("id"),
        miner: PublicKey::from_bytes([miner; 32]),
        height: Height::new(height),
        block_hash: Hash::ZERO,
        epoch: Epoch::new(0),
        evaluations: Default::default(),
        revealed: None,
    };
    (id, committed)
}

/// Retired submissions the event loop holds for the writer thread read as stored from the
/// moment they are held (a submission's status, an epoch's answers, a miner's history), and
/// the same once the thread has stored them and let them go: no gap in between.
#[test]
fn retired_submissions_held_for_the_writer_read_as_stored_before_and_after() {
    let records = Records::new(Arc::new(MemoryStore::new()));
    let older = retired(7, 3);
    records.put_retired(std::slice::from_ref(&older)).expect("stored");
    let (a, b) = (retired(7, 5), retired(8, 5));
    let held = records.hold_retired(vec![a.clone(), b.clone()]);
    let miner = a.1.miner;
    let check = |records: &Records| {
        use parity_scale_codec::Encode;
        assert_eq!(records.retired(&a.0).map(|c| c.encode()), Some(a.1.encode()));
        assert_eq!(records.retired(&b.0).map(|c| c.encode()), Some(b.1.encode()));
        let history: Vec<SubmissionId> = records.retired_of(&miner, 10).into_iter().map(|(id, _)| id).collect();
        assert_eq!(history, vec![a.0, older.0], "newest first, each once");
        assert_eq!(records.retired_of(&miner, 1).len(), 1);
    };
    check(&records);
    assert!(records.store().get(Column::Evaluations, &retired_key(&a.0)).expect("read").is_none(), "not yet stored");
    records.store_held(&held).expect("stored");
    assert!(records.retiring.lock().is_empty(), "let go once stored");
    check(&records);
}
