//! Snapshots of the application state on disk: written after each snapshot height by a thread
//! of their own, read at start so that a restart applies only the blocks after the newest one,
//! and served to peers chunk by chunk.
//!
//! A snapshot is one atomic write (its manifest and all its chunks): a crash while writing
//! leaves the previous snapshots and no part of the new one. The oldest are deleted in the same
//! write, so at most [`KEEP`] are on disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{SendError, Sender, channel};

use parity_scale_codec::{Decode, Encode};
use platform_app::snapshot::Capture;
use platform_app::{Committed, Manifest, Snapshot};
use platform_storage::{Column, StoreError, WriteBatch};
use platform_types::{Checkpoint, Codec, Height, SubmissionId};
use tracing::{info, warn};

use crate::pruning::Plan;
use crate::records::{Held, Records};

/// Snapshots kept on disk: the newest, and one before it should the newest be unreadable.
pub(crate) const KEEP: usize = 2;

const MANIFEST_PREFIX: &[u8] = b"snapshot/manifest/";
const CHUNK_PREFIX: &[u8] = b"snapshot/chunk/";
/// Chunks of a snapshot being fetched from peers, each checked before it is kept: a fetch
/// cut short resumes from them.
const STAGING_PREFIX: &[u8] = b"snapshot/staging/";
/// Checkpoints by height (in the consensus column).
const CHECKPOINT_PREFIX: &[u8] = b"checkpoints/";

pub(crate) fn checkpoint_key(height: Height) -> Vec<u8> {
    [CHECKPOINT_PREFIX, &height.get().to_be_bytes()].concat()
}

fn staging_key(height: Height, index: usize) -> Vec<u8> {
    [STAGING_PREFIX, &height.get().to_be_bytes(), &(index as u32).to_be_bytes()].concat()
}

fn manifest_key(height: Height) -> Vec<u8> {
    [MANIFEST_PREFIX, &height.get().to_be_bytes()].concat()
}

pub(crate) fn chunk_key(height: Height, index: usize) -> Vec<u8> {
    [CHUNK_PREFIX, &height.get().to_be_bytes(), &(index as u32).to_be_bytes()].concat()
}

impl Records {
    /// Stores `snapshot` and deletes all but the newest [`KEEP`], in one atomic write.
    pub fn put_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.store().write(self.snapshot_batch(snapshot)?)
    }

    /// A batch storing `snapshot` and deleting all but the newest [`KEEP`].
    fn snapshot_batch(&self, snapshot: &Snapshot) -> Result<WriteBatch, StoreError> {
        let height = snapshot.manifest.height;
        let mut batch = WriteBatch::new();
        for (index, chunk) in snapshot.chunks.iter().enumerate() {
            batch.put(Column::Registry, chunk_key(height, index), chunk.as_slice());
        }
        batch.put(Column::Registry, manifest_key(height), snapshot.manifest.encode());
        // Where the runtime's audit log stood: pruning past this height deletes what was
        // logged before it.
        let audit_next = match self.store().last(Column::Audit, &[])? {
            Some((key, _)) => <[u8; 8]>::try_from(key.as_slice()).map_or(0, |k| u64::from_be_bytes(k) + 1),
            None => 0,
        };
        batch.put(Column::Metadata, crate::pruning::audit_mark_key(height), audit_next.to_be_bytes());
        let older: Vec<Manifest> =
            self.snapshot_manifests()?.into_iter().filter(|m| m.height < height).skip(KEEP - 1).collect();
        for manifest in older {
            self.delete_snapshot_in(&mut batch, &manifest);
        }
        Ok(batch)
    }

    fn delete_snapshot_in(&self, batch: &mut WriteBatch, manifest: &Manifest) {
        for index in 0..manifest.chunks.len() {
            batch.delete(Column::Registry, chunk_key(manifest.height, index));
        }
        batch.delete(Column::Registry, manifest_key(manifest.height));
    }

    /// The manifests of the stored snapshots, newest first (an unreadable one is skipped).
    pub fn snapshot_manifests(&self) -> Result<Vec<Manifest>, StoreError> {
        let entries = self.store().scan(Column::Registry, MANIFEST_PREFIX, None, 64)?;
        let mut manifests: Vec<Manifest> =
            entries.into_iter().filter_map(|(_, bytes)| Manifest::decode(&mut bytes.as_slice()).ok()).collect();
        manifests.sort_by_key(|m| std::cmp::Reverse(m.height));
        Ok(manifests)
    }

    /// Chunk `index` of the snapshot at `height`, as stored (unchecked).
    pub fn snapshot_chunk(&self, height: Height, index: usize) -> Result<Option<Vec<u8>>, StoreError> {
        self.store().get(Column::Registry, &chunk_key(height, index))
    }

    /// The stored snapshot `manifest` describes, with every chunk present (unchecked).
    pub fn snapshot(&self, manifest: &Manifest) -> Result<Option<Snapshot>, StoreError> {
        let mut chunks = Vec::with_capacity(manifest.chunks.len());
        for index in 0..manifest.chunks.len() {
            match self.snapshot_chunk(manifest.height, index)? {
                Some(chunk) => chunks.push(chunk),
                None => return Ok(None),
            }
        }
        Ok(Some(Snapshot { manifest: manifest.clone(), chunks: chunks.into() }))
    }

    /// Stores a checkpoint (the block after a snapshot height, its certificate and signers).
    pub fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.store().put(Column::Consensus, &checkpoint_key(checkpoint.header.height), &checkpoint.to_bytes())
    }

    /// The heights of the stored checkpoints, in order.
    pub fn checkpoint_heights(&self) -> Result<Vec<Height>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.store().scan(Column::Consensus, CHECKPOINT_PREFIX, after.as_deref(), 1024)?;
            let Some((last, _)) = page.last() else { return Ok(out) };
            after = Some(last.clone());
            out.extend(page.iter().filter_map(|(key, _)| {
                let bytes: [u8; 8] = key.get(CHECKPOINT_PREFIX.len()..)?.try_into().ok()?;
                Some(Height::new(u64::from_be_bytes(bytes)))
            }));
        }
    }

    /// The checkpoint at `height`, if stored.
    pub fn checkpoint(&self, height: Height) -> Option<Checkpoint> {
        let bytes = self.store().get(Column::Consensus, &checkpoint_key(height)).ok()??;
        Checkpoint::from_bytes(&bytes).ok()
    }

    /// What this validator serves to a joiner: its newest snapshot whose checkpoint it holds.
    pub fn snapshot_offer(&self) -> Option<(Checkpoint, Manifest)> {
        self.snapshot_manifests()
            .ok()?
            .into_iter()
            .find_map(|m| self.checkpoint(m.height.next()).map(|checkpoint| (checkpoint, m)))
    }

    /// Keeps a fetched chunk (already checked) until the whole snapshot is here.
    pub fn stage_chunk(&self, height: Height, index: usize, chunk: &[u8]) -> Result<(), StoreError> {
        self.store().put(Column::Registry, &staging_key(height, index), chunk)
    }

    /// A chunk staged by an earlier fetch (unchecked).
    pub fn staged_chunk(&self, height: Height, index: usize) -> Option<Vec<u8>> {
        self.store().get(Column::Registry, &staging_key(height, index)).ok()?
    }

    /// Stores a snapshot fetched from peers (as [`Records::put_snapshot`]) with the checkpoint
    /// that certified it, and drops every staged chunk, in one atomic write.
    pub fn put_fetched_snapshot(&self, snapshot: &Snapshot, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let mut batch = self.snapshot_batch(snapshot)?;
        batch.put(Column::Consensus, checkpoint_key(checkpoint.header.height), checkpoint.to_bytes());
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.store().scan(Column::Registry, STAGING_PREFIX, after.as_deref(), 256)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, _) in page {
                batch.delete(Column::Registry, key);
            }
        }
        self.store().write(batch)
    }
}

/// Stores `snapshot`, then prunes as `plan` says (only once the snapshot is stored: pruning
/// never passes the oldest snapshot kept).
fn store_and_prune(records: &Records, snapshot: &Snapshot, plan: &Plan) {
    let (height, bytes) = (snapshot.manifest.height.get(), snapshot.manifest.len);
    let started = std::time::Instant::now();
    if let Err(e) = records.put_snapshot(snapshot) {
        warn!(height, %e, "cannot store a snapshot; restarts replay from the previous one");
        return;
    }
    let stored_ms = started.elapsed().as_millis() as u64;
    match records.prune(plan) {
        Ok(pruned) => info!(
            height,
            bytes,
            stored_ms,
            pruned_blocks = pruned.blocks,
            pruned_submissions = pruned.submissions,
            pruned_blobs = pruned.blobs,
            expired = pruned.expired,
            pruned_audit = pruned.audit,
            total_ms = started.elapsed().as_millis() as u64,
            "snapshot stored"
        ),
        Err(e) => warn!(height, %e, "snapshot stored; pruning failed (retried after the next snapshot)"),
    }
}

/// What the writer thread is asked to do, in the order asked.
enum Job {
    /// Store retired submissions (before any snapshot asked for later: `records/retired.rs`).
    Retired(Held),
    /// Encode a captured state, so that the snapshot height's block finds it encoded.
    Encode(Arc<Capture>),
    /// Store a snapshot, then prune.
    Write(Box<(Snapshot, Plan)>),
}

/// Stores retired submissions, encodes captured states and writes snapshots on a thread of its
/// own, one job at a time, in the order handed in; the event loop never waits for it. Retired
/// submissions and captures are always taken (one batch an epoch, one capture a snapshot
/// interval); a snapshot is dropped while another still waits to be written (the one after it
/// will be: a snapshot only shortens a restart, and the blocks since the previous one are all
/// stored).
pub(crate) enum SnapshotWriter {
    /// Written by a thread, which then prunes as the plan says.
    Thread(WriterThread),
    /// Written at once, by the caller (the simulator: its runs must not depend on threads).
    Inline(Records),
}

/// The writer thread and its queue. Dropping it waits for the jobs handed in, so that the
/// thread's handle on the store is gone when the node's event loop is.
pub(crate) struct WriterThread {
    queue: Option<Sender<Job>>,
    /// Snapshots handed in and not yet taken by the thread.
    waiting: Arc<AtomicUsize>,
    /// Set when the node stops: captures still queued are not encoded (no snapshot height
    /// will take them), the rest is done.
    closing: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once the jobs handed in are done.
        self.closing.store(true, Ordering::SeqCst);
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl SnapshotWriter {
    /// Starts the writer thread over `records`.
    pub fn start(records: Records) -> std::io::Result<SnapshotWriter> {
        let (queue, jobs) = channel::<Job>();
        let waiting = Arc::new(AtomicUsize::new(0));
        let closing = Arc::new(AtomicBool::new(false));
        let (taken, closed) = (waiting.clone(), closing.clone());
        let thread = std::thread::Builder::new().name("snapshot-writer".into()).spawn(move || {
            for job in jobs {
                match job {
                    Job::Retired(held) => store_retired(&records, &held),
                    Job::Encode(_) if closed.load(Ordering::SeqCst) => {}
                    Job::Encode(capture) => encode(&capture),
                    Job::Write(write) => {
                        taken.fetch_sub(1, Ordering::SeqCst);
                        store_and_prune(&records, &write.0, &write.1)
                    }
                }
            }
        })?;
        Ok(SnapshotWriter::Thread(WriterThread { queue: Some(queue), waiting, closing, thread: Some(thread) }))
    }

    /// Hands submissions the state no longer holds to the thread to store; readable meanwhile
    /// ([`Records::hold_retired`]). Inline, stores them at once.
    pub fn retire(&self, records: &Records, retired: Vec<(SubmissionId, Committed)>) {
        if retired.is_empty() {
            return;
        }
        let held = records.hold_retired(retired);
        match self {
            SnapshotWriter::Inline(_) => store_retired(records, &held),
            SnapshotWriter::Thread(thread) => {
                if let Err(SendError(Job::Retired(held))) = thread.send(Job::Retired(held)) {
                    // No thread to hand them to (it stopped): stored here, as they must be.
                    store_retired(records, &held);
                }
            }
        }
    }

    /// Queues the encoding of `capture`; inline, leaves it to the snapshot height's block (the
    /// simulator's runs must not depend on threads).
    pub fn encode(&self, capture: Arc<Capture>) {
        if let SnapshotWriter::Thread(thread) = self {
            let _ = thread.send(Job::Encode(capture));
        }
    }

    /// Queues `snapshot` and the pruning after it (dropped while another waits), or stores and
    /// prunes at once.
    pub fn write(&self, snapshot: Snapshot, plan: Plan) {
        let thread = match self {
            SnapshotWriter::Inline(records) => return store_and_prune(records, &snapshot, &plan),
            SnapshotWriter::Thread(thread) => thread,
        };
        let height = snapshot.manifest.height.get();
        if thread.waiting.load(Ordering::SeqCst) > 0 {
            return warn!(height, "the previous snapshot is still waiting to be written; this one is skipped");
        }
        thread.waiting.fetch_add(1, Ordering::SeqCst);
        if thread.send(Job::Write(Box::new((snapshot, plan)))).is_err() {
            thread.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl WriterThread {
    fn send(&self, job: Job) -> Result<(), SendError<Job>> {
        let Some(queue) = &self.queue else { return Err(SendError(job)) };
        queue.send(job).inspect_err(|_| warn!("the snapshot writer has stopped"))
    }
}

/// Stores retired submissions handed to the thread (see [`SnapshotWriter::retire`]).
fn store_retired(records: &Records, held: &Held) {
    let started = std::time::Instant::now();
    match records.store_held(held) {
        Ok(()) => info!(
            submissions = held.len(),
            store_ms = started.elapsed().as_millis() as u64,
            "retired submissions stored"
        ),
        Err(e) => warn!(%e, "cannot keep the retired submissions; their status reads unknown"),
    }
}

/// Encodes a captured state (timed in the log: it is what a snapshot height's block would
/// otherwise wait for).
fn encode(capture: &Capture) {
    let started = std::time::Instant::now();
    capture.encode();
    info!(
        height = capture.height().get(),
        encode_ms = started.elapsed().as_millis() as u64,
        "state captured and encoded"
    );
}

/// The `wrong-snapshot-chunks` fault ([`crate::config::Fault`]): serves what the records serve,
/// but every snapshot chunk with its first byte changed, as a peer lying to joiners would.
pub(crate) struct WrongChunks(pub Records);

impl platform_p2p::Provider for WrongChunks {
    fn blob(&self, hash: &platform_types::Hash) -> Option<Vec<u8>> {
        platform_p2p::Provider::blob(&self.0, hash)
    }

    fn sync(&self, request: &[u8]) -> Vec<u8> {
        use platform_types::{SyncRequest, SyncResponse};
        let answer = platform_p2p::Provider::sync(&self.0, request);
        match (SyncRequest::from_bytes(request), SyncResponse::from_bytes(&answer)) {
            (Ok(SyncRequest::Chunk { .. }), Ok(SyncResponse::Chunk(Some(mut chunk)))) if !chunk.is_empty() => {
                chunk[0] ^= 0xff;
                SyncResponse::Chunk(Some(chunk)).to_bytes()
            }
            _ => answer,
        }
    }
}

#[cfg(test)]
#[path = "snapshots_tests.rs"]
mod tests;
