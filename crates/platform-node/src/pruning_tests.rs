use std::sync::Arc;

use platform_app::{Manifest, Snapshot};
use platform_storage::MemoryStore;
use platform_types::{
    BlockHeaderFields, BlockRef, ChallengeId, Checkpoint, Epoch, Keypair, NetUid, QuorumCertificate, Validator,
    ValidatorSet, View, VoteKind, blake2b_256,
};

use super::*;

struct History {
    records: Records,
    miner: Keypair,
}

impl History {
    fn new() -> History {
        History { records: Records::new(Arc::new(MemoryStore::new())), miner: Keypair::from_suri("//M").expect("key") }
    }

    /// An admitted submission (body, pending mark, blob and its reference).
    fn admit(&self, tag: u8, blob: Option<&[u8]>, timestamp_ms: u64) -> SubmissionId {
        let payload = match blob {
            Some(bytes) => Payload::Blob(blake2b_256(bytes)),
            None => Payload::Inline(vec![tag]),
        };
        let submission = Submission {
            challenge: ChallengeId::new("c").expect("id"),
            miner: self.miner.public(),
            payload,
            payload_size: 1,
            metadata: Vec::new(),
            nonce: u64::from(tag),
            timestamp_ms,
            phase: Default::default(),
        };
        let envelope = Envelope::seal(&self.miner, NetUid::new(1), &submission);
        let id = SubmissionId(envelope.payload_hash());
        let blob = blob.map(|b| (blake2b_256(b), b.to_vec()));
        self.records.put_admitted([(&id, &envelope.to_bytes()[..], blob.as_ref())]).expect("stored");
        id
    }

    fn block(&self, height: u64, actions: Vec<Action>) {
        let block = Block::new(
            BlockHeaderFields {
                height: Height::new(height),
                epoch: Epoch::new(0),
                chain: BlockRef::default(),
                parent_hash: Hash::ZERO,
                parent_state_root: Hash::ZERO,
                proposer: self.miner.public(),
                validators_hash: Hash::ZERO,
            },
            actions,
        );
        let certificate = QuorumCertificate {
            kind: VoteKind::Commit,
            height: block.header.height,
            view: View::new(0),
            block_hash: block.hash(),
            votes: Vec::new(),
        };
        self.records.put_block(&block, &certificate).expect("stored");
        let checkpoint = Checkpoint {
            header: block.header.clone(),
            commit: certificate,
            validators: ValidatorSet {
                epoch: Epoch::new(0),
                validators: vec![Validator { hotkey: self.miner.public(), uid: platform_types::Uid::new(0), stake: 1 }],
            },
        };
        self.records.put_checkpoint(&checkpoint).expect("stored");
    }

    fn snapshot(&self, height: u64) {
        let bytes = vec![height as u8; 3];
        let manifest = Manifest {
            height: Height::new(height),
            // Snapshots every 4 blocks: the state of each is captured 2 below it.
            captured: Height::new(height - 2),
            block_hash: Hash::ZERO,
            prev_root: Hash::ZERO,
            registry_hash: Hash::ZERO,
            len: 3,
            chunks: vec![blake2b_256(&bytes)],
        };
        self.records.put_snapshot(&Snapshot { manifest, chunks: vec![bytes].into() }).expect("stored");
    }

    fn heights(&self) -> Vec<u64> {
        self.records.blocks_from(1, 100).expect("read").iter().map(|(b, _)| b.header.height.get()).collect()
    }
}

fn plan(below: u64, keep: &[&[u8]], now_ms: u64) -> Plan {
    Plan { below: Some(Height::new(below)), keep_blobs: keep.iter().map(|b| blake2b_256(b)).collect(), now_ms }
}

/// Blocks go from the bottom up to the retention window's start, never past the oldest kept
/// snapshot's captured state; the bodies they ordered go with them; a blob goes once no stored submission
/// references it, and a challenge's module never; checkpoints go but those of kept snapshots.
#[test]
fn pruning_keeps_the_window_the_snapshots_need_and_what_is_still_referenced() {
    let h = History::new();
    let now = 10 * PENDING_TTL_MS;
    let (shared, module): (&[u8], &[u8]) = (b"shared payload", b"module bytes");
    let mut ids = Vec::new();
    for height in 1..=12u64 {
        let blob = match height {
            2 | 5 => Some(shared),
            3 => Some(module),
            _ => None,
        };
        let id = h.admit(height as u8, blob, now);
        ids.push(id);
        h.block(height, vec![Action::Submission(id)]);
    }
    h.snapshot(4);
    h.snapshot(8);

    // The window would start at 7, but the oldest kept snapshot (at 4) holds the state after
    // block 2: blocks 1-2 go.
    let pruned = h.records.prune(&plan(7, &[module], now)).expect("pruned");
    assert_eq!(h.heights(), (3..=12).collect::<Vec<_>>());
    assert_eq!((pruned.blocks, pruned.submissions), (2, 2));
    assert!(ids[..2].iter().all(|id| !h.records.has_submission(id)), "their bodies went");
    assert!(ids[2..].iter().all(|id| h.records.has_submission(id)), "the others stay");
    assert!(h.records.blob(&blake2b_256(shared)).is_some(), "block 5 still references the shared blob");
    assert!(h.records.blob(&blake2b_256(module)).is_some(), "a module never goes");
    let checkpoints =
        |h: &History| h.records.checkpoint_heights().expect("read").iter().map(|c| c.get()).collect::<Vec<_>>();
    assert_eq!(checkpoints(&h), (3..=12).collect::<Vec<_>>(), "checkpoints below 3 went");

    // A newer snapshot replaces the one at 4: now blocks up to 6 (below the state the snapshot
    // at 8 holds) may go, and the shared blob with its last reference. The checkpoint of the
    // snapshot at 8 stays.
    h.snapshot(12);
    let pruned = h.records.prune(&plan(11, &[module], now)).expect("pruned");
    assert_eq!(h.heights(), (7..=12).collect::<Vec<_>>());
    assert_eq!(pruned.blobs, 1);
    assert!(h.records.blob(&blake2b_256(shared)).is_none(), "no stored submission references it now");
    assert_eq!(checkpoints(&h), vec![7, 8, 9, 10, 11, 12]);
    assert_eq!(h.records.first_height(), Some(7));
}

/// Hole: the runtime's audit log (a record per evaluation) was never pruned. Each snapshot
/// notes where the log stood; pruning past a snapshot deletes what was logged before it.
#[test]
fn the_audit_log_is_pruned_with_the_blocks() {
    let h = History::new();
    let log = |seq: u64| h.records.store().put(Column::Audit, &seq.to_be_bytes(), b"record").expect("log");
    let logged = |h: &History| {
        let entries = h.records.store().scan(Column::Audit, &[], None, 100).expect("read");
        entries.into_iter().map(|(k, _)| u64::from_be_bytes(k.try_into().expect("seq"))).collect::<Vec<_>>()
    };
    for height in 1..=16u64 {
        h.block(height, Vec::new());
        log(height - 1);
        if height % 4 == 0 {
            h.snapshot(height);
        }
    }
    // Snapshots at 12 and 16 on disk (of the states after 10 and 14); the marks of those at 4
    // and 8 stay until pruned past.
    let pruned = h.records.prune(&plan(7, &[], 0)).expect("pruned");
    assert_eq!(pruned.audit, 4, "logged before the snapshot at 4");
    assert_eq!(logged(&h), (4..16).collect::<Vec<_>>());
    let pruned = h.records.prune(&plan(11, &[], 0)).expect("pruned");
    assert_eq!(pruned.audit, 4, "logged before the snapshot at 8");
    assert_eq!(logged(&h), (8..16).collect::<Vec<_>>());
    let pruned = h.records.prune(&plan(11, &[], 0)).expect("pruned");
    assert_eq!(pruned.audit, 0, "nothing more until a newer snapshot is passed");
}

/// Hole: a submission acknowledged but never ordered (and its blob) stayed forever. Now it
/// expires an hour after its signed timestamp, blob and all; a recent one stays pending.
#[test]
fn acknowledged_submissions_never_ordered_expire_with_their_blobs() {
    let h = History::new();
    let now = 10 * PENDING_TTL_MS;
    let old = h.admit(1, Some(b"old blob"), now - PENDING_TTL_MS - 1);
    let recent = h.admit(2, Some(b"recent blob"), now - 1_000);
    let pruned = h.records.prune(&Plan { below: None, keep_blobs: HashSet::new(), now_ms: now }).expect("pruned");
    assert_eq!(pruned.expired, 1);
    assert!(!h.records.has_submission(&old) && h.records.blob(&blake2b_256(b"old blob")).is_none());
    assert!(h.records.has_submission(&recent) && h.records.blob(&blake2b_256(b"recent blob")).is_some());
    let pending: Vec<SubmissionId> = h.records.pending_submissions().into_iter().map(|(id, _)| id).collect();
    assert_eq!(pending, vec![recent]);
}
