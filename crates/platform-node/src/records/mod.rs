//! What the node keeps under `data/`, and how peers read it (blobs by hash, blocks for
//! catch-up, the genesis validator set).

use std::sync::Arc;

use platform_p2p::Provider;
use platform_storage::{Column, Store, StoreError, WriteBatch};
use platform_types::limits::MAX_ENVELOPE_BYTES;
use platform_types::{
    Block, Codec, Envelope, Hash, MAX_SYNC_BLOCKS, MAX_SYNC_SUBMISSIONS, QuorumCertificate, Submission, SubmissionId,
    SyncRequest, SyncResponse, ValidatorSet,
};

mod keys;
mod retired;

pub(crate) use keys::*;
pub use retired::Held;

/// A stored submission's payload ([`Records::payload`]).
#[derive(Debug, PartialEq, Eq)]
pub enum StoredPayload {
    /// The bytes.
    Bytes(Vec<u8>),
    /// A blob payload not stored here, by hash.
    MissingBlob(Hash),
}

/// Storage operations of the node, over any [`Store`].
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn Store>,
    /// Retired submissions handed to a thread to write, read as if stored meanwhile.
    retiring: Arc<retired::Retiring>,
}

impl Records {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Records { store, retiring: Arc::default() }
    }

    /// The store itself.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Persists a committed block and its certificate atomically; the submissions it orders
    /// are no longer pending.
    pub fn put_block(&self, block: &Block, certificate: &QuorumCertificate) -> Result<(), StoreError> {
        let key = height_key(block.header.height.get());
        let mut batch = WriteBatch::new();
        batch.put(Column::Blocks, key, block.to_bytes());
        batch.put(Column::Certificates, key, certificate.to_bytes());
        for action in &block.actions {
            if let platform_types::Action::Submission(id) = action {
                batch.delete(Column::Metadata, pending_key(id));
            }
        }
        self.store.write(batch)
    }

    /// Committed blocks from `from` on, at most `limit`.
    pub fn blocks_from(&self, from: u64, limit: usize) -> Result<Vec<(Block, QuorumCertificate)>, String> {
        let start = from.checked_sub(1).map(height_key);
        let blocks = self
            .store
            .scan(Column::Blocks, &[], start.as_ref().map(|k| k.as_slice()), limit)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(blocks.len());
        for (key, bytes) in blocks {
            let block = Block::from_bytes(&bytes).map_err(|e| format!("stored block: {e}"))?;
            let cert_bytes = self
                .store
                .get(Column::Certificates, &key)
                .map_err(|e| e.to_string())?
                .ok_or("a stored block has no certificate")?;
            let certificate =
                QuorumCertificate::from_bytes(&cert_bytes).map_err(|e| format!("stored certificate: {e}"))?;
            out.push((block, certificate));
        }
        Ok(out)
    }

    /// Stores the genesis candidate (see [`CANDIDATE_KEY`]).
    pub fn put_genesis_candidate(&self, set: &ValidatorSet) -> Result<(), StoreError> {
        self.store.put(Column::Metadata, CANDIDATE_KEY, &set.to_bytes())
    }

    /// What this node vouches for when asked for the genesis: the stored genesis, else its
    /// candidate.
    fn genesis_vouched(&self) -> Option<ValidatorSet> {
        [GENESIS_KEY, CANDIDATE_KEY]
            .into_iter()
            .find_map(|key| self.store.get(Column::Metadata, key).ok().flatten())
            .and_then(|bytes| ValidatorSet::from_bytes(&bytes).ok())
    }

    /// The genesis validator set, once fixed.
    pub fn genesis(&self) -> Result<Option<ValidatorSet>, String> {
        match self.store.get(Column::Metadata, GENESIS_KEY).map_err(|e| e.to_string())? {
            Some(bytes) => ValidatorSet::from_bytes(&bytes).map(Some).map_err(|e| format!("stored genesis: {e}")),
            None => Ok(None),
        }
    }

    /// Fixes the genesis validator set.
    pub fn put_genesis(&self, set: &ValidatorSet) -> Result<(), StoreError> {
        self.store.put(Column::Metadata, GENESIS_KEY, &set.to_bytes())
    }

    /// The node's libp2p identity seed, created on first use.
    pub fn p2p_identity(&self) -> Result<[u8; 32], StoreError> {
        if let Some(bytes) = self.store.get(Column::Metadata, P2P_KEY)?
            && let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return Ok(seed);
        }
        let seed: [u8; 32] = rand::random();
        self.store.put(Column::Metadata, P2P_KEY, &seed)?;
        Ok(seed)
    }

    /// Persists the bodies of submissions a committing block orders (each as its envelope's
    /// wire bytes), fetched from peers, in one synced write.
    pub fn put_submissions<'a>(
        &self,
        submissions: impl IntoIterator<Item = (&'a SubmissionId, &'a [u8])>,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        for (id, envelope) in submissions {
            batch.put(Column::Submissions, id.0.as_bytes().to_vec(), envelope.to_vec());
        }
        self.store.write(batch)
    }

    /// Persists admitted submissions (each as its envelope's wire bytes, as received, and
    /// marked pending until a block orders it) with the blobs of their large payloads, in one
    /// synced write: a blob is stored only with the submission admission accepted.
    pub fn put_admitted<'a>(
        &self,
        submissions: impl IntoIterator<Item = (&'a SubmissionId, &'a [u8], Option<&'a (Hash, Vec<u8>)>)>,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        for (id, envelope, blob) in submissions {
            batch.put(Column::Submissions, id.0.as_bytes().to_vec(), envelope.to_vec());
            batch.put(Column::Metadata, pending_key(id), Vec::new());
            if let Some((hash, bytes)) = blob {
                batch.put(Column::Blobs, hash.as_bytes().to_vec(), bytes.clone());
                batch.put(Column::Metadata, blob_ref_key(hash, id), Vec::new());
            }
        }
        self.store.write(batch)
    }

    /// An accepted submission.
    pub fn submission(&self, id: &SubmissionId) -> Option<Submission> {
        let bytes = self.store.get(Column::Submissions, id.0.as_bytes()).ok().flatten()?;
        let envelope = Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES).ok()?;
        Submission::from_bytes(&envelope.payload).ok()
    }

    /// A stored submission's payload: its bytes (inline, or a stored blob matching its hash), or
    /// the hash of a blob payload this store lacks, to fetch elsewhere; `Err` when the
    /// submission's body is not stored.
    pub fn payload(&self, id: &SubmissionId) -> Result<StoredPayload, String> {
        let submission = self.submission(id).ok_or("the submission's body is not stored")?;
        Ok(match submission.payload {
            platform_types::Payload::Inline(bytes) => StoredPayload::Bytes(bytes),
            platform_types::Payload::Blob(hash) => {
                match self.blob(&hash).filter(|b| platform_types::blake2b_256(b) == hash) {
                    Some(bytes) => StoredPayload::Bytes(bytes),
                    None => StoredPayload::MissingBlob(hash),
                }
            }
        })
    }

    /// Whether a submission's body is stored (read, not decoded: the block rules decode it).
    pub fn has_submission(&self, id: &SubmissionId) -> bool {
        self.store.get(Column::Submissions, id.0.as_bytes()).ok().flatten().is_some()
    }

    /// What the block rules need to know about a stored submission.
    pub fn submission_info(&self, id: &SubmissionId) -> Option<platform_app::SubmissionInfo> {
        self.submission(id).map(|s| platform_app::SubmissionInfo::of(&s))
    }

    /// The envelopes of the acknowledged submissions no stored block orders, in id order (for
    /// the mempool after a restart): as many reads as there are, whatever the history.
    pub fn pending_submissions(&self) -> Vec<(SubmissionId, Envelope)> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let Ok(page) = self.store.scan(Column::Metadata, PENDING_PREFIX, after.as_deref(), 1024) {
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, _) in page {
                let Ok(hash) = Hash::from_slice("submission id", &key[PENDING_PREFIX.len()..]) else { continue };
                let Some(bytes) = self.store.get(Column::Submissions, hash.as_bytes()).ok().flatten() else { continue };
                if let Ok(envelope) = Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES) {
                    out.push((SubmissionId(hash), envelope));
                }
            }
        }
        out
    }

    /// The hashes of every stored blob, read a few at a time (values are read with the keys).
    pub fn blob_hashes(&self) -> Vec<Hash> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let Ok(page) = self.store.scan(Column::Blobs, &[], after.as_deref(), 16) {
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            out.extend(page.iter().filter_map(|(key, _)| Hash::from_slice("blob hash", key).ok()));
        }
        out
    }

    /// Records what the chain answered to this validator's weights of `epoch` (JSON).
    pub fn put_weights_record(&self, epoch: u64, record: &[u8]) -> Result<(), StoreError> {
        self.store.put(Column::Weights, &weights_key(epoch), record)
    }

    /// The newest weights record.
    pub fn latest_weights_record(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.last(Column::Weights, WEIGHTS_PREFIX)?.map(|(_, value)| value))
    }

    /// The newest `limit` weights records, newest first.
    pub fn weights_history(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let Some(last) = self.store.last(Column::Weights, WEIGHTS_PREFIX)?.and_then(|(key, _)| weights_epoch(&key))
        else {
            return Ok(Vec::new());
        };
        // Walk back from the newest epoch in windows of the epochs still wanted (one record
        // per epoch at most, so a window never holds more than it asks for).
        let mut newest = Vec::new();
        let mut upper = last.saturating_add(1);
        while newest.len() < limit && upper > 0 {
            let want = limit - newest.len();
            let lower = upper.saturating_sub(want as u64);
            let after = lower.checked_sub(1).map(weights_key);
            let end = weights_key(upper);
            let page = self.store.scan(Column::Weights, WEIGHTS_PREFIX, after.as_deref(), want)?;
            newest.extend(page.into_iter().filter(|(key, _)| *key < end).rev().map(|(_, value)| value));
            upper = lower;
        }
        Ok(newest)
    }

    /// Keeps why this validator's evaluation of `id` was a rejection (the challenge's reason).
    pub fn put_reason(&self, id: &SubmissionId, reason: &str) -> Result<(), StoreError> {
        self.store.put(Column::Evaluations, &reason_key(id), reason.as_bytes())
    }

    /// The rejection reason kept by [`Records::put_reason`], if any.
    pub fn reason(&self, id: &SubmissionId) -> Option<String> {
        let bytes = self.store.get(Column::Evaluations, &reason_key(id)).ok().flatten()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A content-addressed blob (a module or a large payload).
    pub fn blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.store.get(Column::Blobs, hash.as_bytes()).ok().flatten()
    }

    /// Stores a blob under its hash.
    pub fn put_blob(&self, hash: &Hash, bytes: &[u8]) -> Result<(), StoreError> {
        self.store.put(Column::Blobs, hash.as_bytes(), bytes)
    }

    /// Whether a block ordered this stored submission (it is no longer pending).
    pub fn ordered(&self, id: &SubmissionId) -> bool {
        self.has_submission(id) && matches!(self.store.get(Column::Metadata, &pending_key(id)), Ok(None))
    }

    /// A blob anyone may read (the public history, `GET /blobs/{hash}`): a challenge's module,
    /// or the payload of a submission a block ordered — never the payload only submissions still
    /// waiting to be ordered reference (a miner's answer is not shown to the other miners before
    /// it is ordered).
    pub fn public_blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        let prefix = blob_refs_prefix(hash);
        let refs = self.store.scan(Column::Metadata, &prefix, None, 64).ok()?;
        let ordered = |key: &[u8]| {
            let id = key.get(prefix.len()..).and_then(|b| <[u8; 32]>::try_from(b).ok());
            id.is_some_and(|id| self.ordered(&SubmissionId(Hash::from_bytes(id))))
        };
        if !refs.is_empty() && !refs.iter().any(|(key, _)| ordered(key)) {
            return None;
        }
        self.blob(hash)
    }

    /// The answer to a sync request from anyone (the public history, `POST /sync`): as
    /// [`Provider::sync`] answers a validator, but with the bodies of only the submissions a
    /// block ordered.
    pub fn public_sync(&self, request: &SyncRequest) -> Vec<u8> {
        match request {
            SyncRequest::Submissions(ids) => {
                let ordered: Vec<SubmissionId> = ids.iter().filter(|id| self.ordered(id)).copied().collect();
                Provider::sync(self, &SyncRequest::Submissions(ordered).to_bytes())
            }
            other => Provider::sync(self, &other.to_bytes()),
        }
    }
}

impl Provider for Records {
    fn blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        Records::blob(self, hash)
    }

    fn sync(&self, request: &[u8]) -> Vec<u8> {
        let response = match SyncRequest::from_bytes(request) {
            Ok(SyncRequest::Genesis) => SyncResponse::Genesis(self.genesis_vouched()),
            Ok(SyncRequest::Blocks { from }) => {
                SyncResponse::Blocks(self.blocks_from(from.get(), MAX_SYNC_BLOCKS).unwrap_or_default())
            }
            Ok(SyncRequest::Submissions(ids)) => SyncResponse::Submissions(
                ids.iter()
                    .take(MAX_SYNC_SUBMISSIONS)
                    .filter_map(|id| self.store.get(Column::Submissions, id.0.as_bytes()).ok().flatten())
                    .filter_map(|bytes| Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES).ok())
                    .collect(),
            ),
            Ok(SyncRequest::Snapshot) => SyncResponse::Snapshot(self.snapshot_offer().map(Box::new)),
            Ok(SyncRequest::Chunk { height, index }) => {
                SyncResponse::Chunk(self.snapshot_chunk(height, index as usize).ok().flatten())
            }
            // A request this node cannot read gets an empty answer.
            Err(_) => SyncResponse::Blocks(Vec::new()),
        };
        response.to_bytes()
    }
}

#[cfg(test)]
mod tests;
