//! Pruning: what a validator deletes so that its disk grows with the retention window, not with
//! the network's whole history. Runs on the snapshot writer's thread after each snapshot.
//!
//! - Blocks and their certificates below the *prune height*: the lower of the retention
//!   window's start (`retain_blocks` below the snapshot) and the block after the oldest kept
//!   snapshot's captured state (a restart needs the blocks after a snapshot it can start
//!   from). With them go the bodies of the submissions they ordered, their refusal reasons and
//!   their payload blobs (never a blob a registered challenge's module is), and the checkpoints
//!   of deleted snapshots.
//! - Acknowledged submissions that no block ordered within [`PENDING_TTL_MS`] of their signed
//!   timestamp, with their blobs: no validator admits a submission that old, so none will.
//!
//! Each page of deletions is one atomic write, from the lowest height up: a crash leaves a
//! store whose oldest blocks are gone and the rest whole.

use std::collections::{HashMap, HashSet};

use platform_storage::{Column, StoreError, WriteBatch};
use platform_types::{Action, Block, Codec, Envelope, Hash, Height, Payload, Submission, SubmissionId};

use crate::records::Records;

/// How long an acknowledged submission may stay unordered before its body and blob expire.
pub(crate) const PENDING_TTL_MS: u64 = 60 * 60 * 1000;

/// What pruning is told by the event loop, with each snapshot.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Blocks below this height may go (the retention window's start); `None`: keep all.
    pub below: Option<Height>,
    /// Blobs that must stay whatever references them: the registered challenges' modules.
    pub keep_blobs: HashSet<Hash>,
    /// The wall clock, for expiring pending submissions.
    pub now_ms: u64,
}

/// What one pruning pass deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pruned {
    pub blocks: u64,
    pub submissions: u64,
    pub blobs: u64,
    pub checkpoints: u64,
    pub expired: u64,
    pub audit: u64,
}

const AUDIT_MARK_PREFIX: &[u8] = b"auditmark/";

/// Where the runtime's audit log stood when the snapshot at `height` was stored.
pub(crate) fn audit_mark_key(height: Height) -> Vec<u8> {
    [AUDIT_MARK_PREFIX, &height.get().to_be_bytes()].concat()
}

impl Records {
    /// The highest height this validator holds the state after: its newest stored block or
    /// snapshot's captured state (0 for an empty store).
    pub fn last_height(&self) -> Result<u64, StoreError> {
        let block =
            self.store().last(Column::Blocks, &[])?.and_then(|(key, _)| key.try_into().ok()).map(u64::from_be_bytes);
        let snapshot = self.snapshot_manifests()?.first().map(|m| m.captured.get());
        Ok(block.unwrap_or(0).max(snapshot.unwrap_or(0)))
    }

    /// The lowest stored block height, if any.
    pub fn first_height(&self) -> Option<u64> {
        self.blocks_from(1, 1).ok()?.first().map(|(b, _)| b.header.height.get())
    }

    /// Prunes as `plan` says (see the module documentation).
    pub(crate) fn prune(&self, plan: &Plan) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        let kept = self.snapshot_manifests()?;
        if let Some(mut below) = plan.below {
            // Never past the oldest kept snapshot's state: a restart may need to start from it.
            if let Some(oldest) = kept.iter().map(|m| m.captured).min() {
                below = below.min(oldest.next());
            }
            self.prune_blocks(below, plan, &mut pruned)?;
            let keep: HashSet<Height> = kept.iter().map(|m| m.height.next()).collect();
            pruned.checkpoints = self.prune_checkpoints(below, &keep)?;
            pruned.audit = self.prune_audit(below)?;
        }
        pruned.expired = self.expire_pending(plan)?;
        Ok(pruned)
    }

    /// Deletes the runtime's audit records written before the newest snapshot below `below`
    /// (the evaluations of the blocks pruned, give or take the blocks of one snapshot
    /// interval), with the marks that said where the log stood.
    fn prune_audit(&self, below: Height) -> Result<u64, StoreError> {
        let marks = self.store().scan(Column::Metadata, AUDIT_MARK_PREFIX, None, 4096)?;
        let mut until = None;
        let mut batch = WriteBatch::new();
        for (key, value) in marks {
            let height = key[AUDIT_MARK_PREFIX.len()..].try_into().map(u64::from_be_bytes).unwrap_or(u64::MAX);
            if height >= below.get() {
                break;
            }
            until = <[u8; 8]>::try_from(value.as_slice()).ok().map(u64::from_be_bytes).or(until);
            batch.delete(Column::Metadata, key);
        }
        let mut deleted = 0;
        if let Some(until) = until {
            loop {
                let page = self.store().scan(Column::Audit, &[], None, 1024)?;
                let doomed: Vec<Vec<u8>> = page
                    .into_iter()
                    .map(|(key, _)| key)
                    .take_while(|key| <[u8; 8]>::try_from(key.as_slice()).is_ok_and(|k| u64::from_be_bytes(k) < until))
                    .collect();
                if doomed.is_empty() {
                    break;
                }
                deleted += doomed.len() as u64;
                let mut page_batch = WriteBatch::new();
                for key in doomed {
                    page_batch.delete(Column::Audit, key);
                }
                self.store().write(page_batch)?;
            }
        }
        self.store().write(batch)?;
        Ok(deleted)
    }

    fn prune_blocks(&self, below: Height, plan: &Plan, pruned: &mut Pruned) -> Result<(), StoreError> {
        loop {
            let page = self.blocks_from(1, 64).map_err(StoreError::Backend)?;
            let doomed: Vec<&Block> = page.iter().map(|(b, _)| b).take_while(|b| b.header.height < below).collect();
            if doomed.is_empty() {
                return Ok(());
            }
            let mut batch = WriteBatch::new();
            let mut dropped = HashMap::new();
            for block in &doomed {
                let key = block.header.height.get().to_be_bytes();
                batch.delete(Column::Blocks, key);
                batch.delete(Column::Certificates, key);
                for action in &block.actions {
                    if let Action::Submission(id) = action {
                        pruned.blobs += u64::from(self.delete_submission_in(&mut batch, id, plan, &mut dropped));
                        pruned.submissions += 1;
                    }
                }
            }
            pruned.blocks += doomed.len() as u64;
            self.store().write(batch)?;
        }
    }

    /// Deletes a submission's body, reason, pending mark and reference to its payload blob in
    /// `batch`, and the blob too once no other stored submission references it (`dropped`:
    /// the references this batch already deletes, by blob) and it is no module; whether the
    /// blob went.
    fn delete_submission_in(
        &self,
        batch: &mut WriteBatch,
        id: &SubmissionId,
        plan: &Plan,
        dropped: &mut HashMap<Hash, HashSet<Vec<u8>>>,
    ) -> bool {
        let blob = self
            .store()
            .get(Column::Submissions, id.0.as_bytes())
            .ok()
            .flatten()
            .and_then(|bytes| Envelope::from_bytes(&bytes, platform_types::limits::MAX_ENVELOPE_BYTES).ok())
            .and_then(|envelope| Submission::from_bytes(&envelope.payload).ok())
            .and_then(|s| match s.payload {
                Payload::Blob(hash) => Some(hash),
                Payload::Inline(_) => None,
            });
        batch.delete(Column::Submissions, id.0.as_bytes().to_vec());
        batch.delete(Column::Evaluations, crate::records::reason_key(id));
        if let Some(retired) = self.retired(id) {
            batch.delete(Column::Evaluations, crate::records::retired_by_miner_key(&retired.miner, retired.height, id));
        }
        batch.delete(Column::Evaluations, crate::records::retired_key(id));
        batch.delete(Column::Metadata, crate::records::pending_key(id));
        let Some(hash) = blob else { return false };
        let reference = crate::records::blob_ref_key(&hash, id);
        batch.delete(Column::Metadata, reference.clone());
        let gone = dropped.entry(hash).or_default();
        gone.insert(reference);
        if plan.keep_blobs.contains(&hash) {
            return false;
        }
        // Up to 64 references are looked at; a blob with more stays (rare, and bounded).
        let prefix = crate::records::blob_refs_prefix(&hash);
        let Ok(refs) = self.store().scan(Column::Metadata, &prefix, None, 64) else { return false };
        let unreferenced = refs.len() < 64 && refs.iter().all(|(key, _)| gone.contains(key));
        if unreferenced {
            batch.delete(Column::Blobs, hash.as_bytes().to_vec());
        }
        unreferenced
    }

    /// Deletes the checkpoints below `below` but those in `keep`; how many.
    fn prune_checkpoints(&self, below: Height, keep: &HashSet<Height>) -> Result<u64, StoreError> {
        let heights: Vec<Height> =
            self.checkpoint_heights()?.into_iter().filter(|h| *h < below && !keep.contains(h)).collect();
        let mut batch = WriteBatch::new();
        for height in &heights {
            batch.delete(Column::Consensus, crate::snapshots::checkpoint_key(*height));
        }
        self.store().write(batch)?;
        Ok(heights.len() as u64)
    }

    /// Deletes the pending submissions older than [`PENDING_TTL_MS`]; how many.
    fn expire_pending(&self, plan: &Plan) -> Result<u64, StoreError> {
        let cutoff = plan.now_ms.saturating_sub(PENDING_TTL_MS);
        let mut batch = WriteBatch::new();
        let mut dropped = HashMap::new();
        let mut expired = 0;
        for (id, envelope) in self.pending_submissions() {
            let stale = Submission::from_bytes(&envelope.payload).map_or(true, |s| s.timestamp_ms < cutoff);
            if stale {
                self.delete_submission_in(&mut batch, &id, plan, &mut dropped);
                expired += 1;
            }
        }
        self.store().write(batch)?;
        Ok(expired)
    }
}

#[cfg(test)]
#[path = "pruning_tests.rs"]
mod tests;
