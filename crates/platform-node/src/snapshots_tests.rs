use std::sync::Arc;

use platform_storage::{RocksStore, Store};
use platform_types::{Hash, blake2b_256};

use super::*;

/// A snapshot at height 100 (of the state after block 50) of these chunks.
fn snapshot_of(chunks: Vec<Vec<u8>>) -> Snapshot {
    let manifest = Manifest {
        height: Height::new(100),
        captured: Height::new(50),
        block_hash: Hash::ZERO,
        prev_root: Hash::ZERO,
        registry_hash: Hash::ZERO,
        len: chunks.iter().map(|c| c.len() as u64).sum(),
        chunks: chunks.iter().map(|c| blake2b_256(c)).collect(),
    };
    Snapshot { manifest, chunks: chunks.into() }
}

fn no_pruning() -> Plan {
    Plan { below: None, keep_blobs: Default::default(), now_ms: 0 }
}

/// Dropping the writer (as the node's event loop does at shutdown) waits for the snapshot
/// being written: it is stored whole, and the thread no longer holds the store, so the store
/// closes before the process exits.
#[test]
fn dropping_the_writer_finishes_the_snapshot_and_releases_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path()).expect("store"));
    let writer = SnapshotWriter::start(Records::new(store.clone())).expect("thread");
    let snapshot = snapshot_of((0..32u8).map(|i| vec![i; 1 << 20]).collect());
    let manifest = snapshot.manifest.clone();
    writer.write(snapshot, no_pruning());
    drop(writer);
    assert_eq!(Arc::strong_count(&store), 1, "the writer thread still holds the store");
    let records = Records::new(store);
    assert_eq!(records.snapshot_manifests().expect("read"), vec![manifest.clone()]);
    assert!(records.snapshot(&manifest).expect("read").is_some(), "stored whole");
}

/// Retired submissions handed to the writer are stored before a snapshot handed in after
/// them (the snapshot that no longer holds them is never on disk alone), and dropping the
/// writer waits for both.
#[test]
fn retired_submissions_are_stored_before_a_later_snapshot() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path()).expect("store"));
    let records = Records::new(store.clone());
    let writer = SnapshotWriter::start(records.clone()).expect("thread");
    let committed = Committed {
        challenge: platform_types::ChallengeId::new("alpha").expect("id"),
        miner: platform_types::PublicKey::from_bytes([3; 32]),
        height: Height::new(7),
        block_hash: Hash::ZERO,
        epoch: platform_types::Epoch::new(0),
        evaluations: Default::default(),
        revealed: None,
    };
    let id = SubmissionId(blake2b_256(b"retired"));
    writer.retire(&records, vec![(id, committed.clone())]);
    assert_eq!(records.retired(&id).map(|c| c.encode()), Some(committed.encode()), "readable at once");
    writer.write(snapshot_of(vec![vec![1u8; 1 << 20]]), no_pruning());
    drop(writer);
    let reopened = Records::new(store);
    assert_eq!(reopened.retired(&id).map(|c| c.encode()), Some(committed.encode()), "stored, not only held");
    assert_eq!(reopened.snapshot_manifests().expect("read").len(), 1);
}

/// A capture handed to the writer is encoded on its thread: nobody else asks for it here,
/// and it ends up encoded (so the snapshot height's block, on the event loop, finds it so).
#[test]
fn a_capture_handed_to_the_writer_is_encoded_on_its_thread() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path()).expect("store"));
    let writer = SnapshotWriter::start(Records::new(store)).expect("thread");
    let state = platform_app::AppState::genesis(platform_types::ValidatorSet {
        epoch: platform_types::Epoch::new(0),
        validators: Vec::new(),
    });
    let capture = Arc::new(state.capture());
    assert!(!capture.is_encoded());
    writer.encode(capture.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !capture.is_encoded() {
        assert!(std::time::Instant::now() < deadline, "not encoded within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
