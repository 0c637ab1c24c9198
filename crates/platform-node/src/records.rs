//! What the node keeps under `data/`, and how peers read it (blobs by hash, blocks for
//! catch-up, the genesis validator set).

use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_p2p::Provider;
use platform_storage::{Column, Store, StoreError, WriteBatch};
use platform_types::limits::MAX_ENVELOPE_BYTES;
use platform_types::{Block, Codec, Envelope, Hash, QuorumCertificate, Submission, SubmissionId, ValidatorSet};

const GENESIS_KEY: &[u8] = b"genesis/validators";
const P2P_KEY: &[u8] = b"p2p/identity";
/// Blocks returned per catch-up request.
pub const SYNC_BATCH: u64 = 64;

/// A request a validator sends another over the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// The genesis validator set.
    Genesis,
    /// Committed blocks with their certificates, from this height on.
    Blocks {
        /// First height wanted.
        from: u64,
    },
    /// Submission envelopes by id (a committed block orders ids only).
    Submissions(Vec<[u8; 32]>),
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// Encoded genesis validator set, if the peer has one.
    Genesis(Option<Vec<u8>>),
    /// Encoded (block, commit certificate) pairs in height order.
    Blocks(Vec<(Vec<u8>, Vec<u8>)>),
    /// Encoded submission envelopes the peer holds.
    Submissions(Vec<Vec<u8>>),
}

/// Storage operations of the node, over any [`Store`].
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn Store>,
}

fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

impl Records {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Records { store }
    }

    /// The store itself.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Persists a committed block and its certificate atomically.
    pub fn put_block(&self, block: &Block, certificate: &QuorumCertificate) -> Result<(), StoreError> {
        let key = height_key(block.header.height.get());
        let mut batch = WriteBatch::new();
        batch.put(Column::Blocks, key, block.to_bytes());
        batch.put(Column::Certificates, key, certificate.to_bytes());
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

    /// Persists accepted submissions in one synced write (admission groups them so that one
    /// fsync serves every submission that arrived while the previous one ran).
    pub fn put_submissions<'a>(
        &self,
        submissions: impl IntoIterator<Item = (&'a SubmissionId, &'a Envelope)>,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        for (id, envelope) in submissions {
            batch.put(Column::Submissions, id.0.as_bytes().to_vec(), envelope.to_bytes());
        }
        self.store.write(batch)
    }

    /// An accepted submission.
    pub fn submission(&self, id: &SubmissionId) -> Option<Submission> {
        let bytes = self.store.get(Column::Submissions, id.0.as_bytes()).ok().flatten()?;
        let envelope = Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES).ok()?;
        Submission::from_bytes(&envelope.payload).ok()
    }

    /// Whether a submission's body is stored (read, not decoded: the block rules decode it).
    pub fn has_submission(&self, id: &SubmissionId) -> bool {
        self.store.get(Column::Submissions, id.0.as_bytes()).ok().flatten().is_some()
    }

    /// What the block rules need to know about a stored submission.
    pub fn submission_info(&self, id: &SubmissionId) -> Option<crate::state::SubmissionInfo> {
        self.submission(id).map(|s| crate::state::SubmissionInfo { challenge: s.challenge, miner: s.miner })
    }

    /// Every stored submission envelope, in id order (for the mempool after a restart).
    pub fn all_submissions(&self) -> Vec<(SubmissionId, Envelope)> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let Ok(page) = self.store.scan(Column::Submissions, &[], after.as_deref(), 1024) {
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, bytes) in page {
                let (Ok(hash), Ok(envelope)) =
                    (Hash::from_slice("submission id", &key), Envelope::from_bytes(&bytes, MAX_ENVELOPE_BYTES))
                else {
                    continue;
                };
                out.push((SubmissionId(hash), envelope));
            }
        }
        out
    }

    /// A content-addressed blob (a module or a large payload).
    pub fn blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.store.get(Column::Blobs, hash.as_bytes()).ok().flatten()
    }

    /// Stores a blob under its hash.
    pub fn put_blob(&self, hash: &Hash, bytes: &[u8]) -> Result<(), StoreError> {
        self.store.put(Column::Blobs, hash.as_bytes(), bytes)
    }
}

impl Provider for Records {
    fn blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        Records::blob(self, hash)
    }

    fn sync(&self, request: &[u8]) -> Vec<u8> {
        let response = match SyncRequest::decode(&mut &request[..]) {
            Ok(SyncRequest::Genesis) => SyncResponse::Genesis(self.genesis().ok().flatten().map(|set| set.to_bytes())),
            Ok(SyncRequest::Blocks { from }) => {
                let blocks = self.blocks_from(from, SYNC_BATCH as usize).unwrap_or_default();
                SyncResponse::Blocks(blocks.iter().map(|(b, c)| (b.to_bytes(), c.to_bytes())).collect())
            }
            Ok(SyncRequest::Submissions(ids)) => SyncResponse::Submissions(
                ids.iter().take(4096).filter_map(|id| self.store.get(Column::Submissions, id).ok().flatten()).collect(),
            ),
            Err(_) => SyncResponse::Blocks(Vec::new()),
        };
        response.encode()
    }
}
