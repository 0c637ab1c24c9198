//! The key layout of `data/`'s default column: what each record is stored under.

use platform_types::{Hash, PublicKey, SubmissionId};

pub(super) const GENESIS_KEY: &[u8] = b"genesis/validators";
/// The validator set this node derived from the metagraph while it has no genesis: what it
/// vouches for when asked, until a genesis is adopted (`platform_app::GenesisVotes`).
pub(super) const CANDIDATE_KEY: &[u8] = b"genesis/candidate";
/// Prefix of the weights this validator sent to the chain, one JSON record per epoch.
pub(super) const WEIGHTS_PREFIX: &[u8] = b"history/";
pub(super) const P2P_KEY: &[u8] = b"p2p/identity";
/// Acknowledged submissions no committed block has ordered yet, by id (empty values): what a
/// restart puts back in the mempool, read without scanning every submission ever stored.
pub(super) const PENDING_PREFIX: &[u8] = b"pending/";

pub(crate) fn pending_key(id: &SubmissionId) -> Vec<u8> {
    [PENDING_PREFIX, id.0.as_bytes()].concat()
}

/// Which submissions reference a stored blob (empty values): pruning deletes a blob only once
/// no stored submission references it.
pub(super) const BLOB_REF_PREFIX: &[u8] = b"blobref/";

pub(crate) fn blob_refs_prefix(hash: &Hash) -> Vec<u8> {
    [BLOB_REF_PREFIX, hash.as_bytes()].concat()
}

pub(crate) fn blob_ref_key(hash: &Hash, id: &SubmissionId) -> Vec<u8> {
    [BLOB_REF_PREFIX, hash.as_bytes(), id.0.as_bytes()].concat()
}

pub(crate) fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

pub(super) fn weights_key(epoch: u64) -> Vec<u8> {
    format!("history/{epoch:020}").into_bytes()
}

pub(crate) fn reason_key(id: &SubmissionId) -> Vec<u8> {
    [&b"reason/"[..], id.0.as_bytes()].concat()
}

pub(crate) fn retired_key(id: &SubmissionId) -> Vec<u8> {
    [&b"retired/"[..], id.0.as_bytes()].concat()
}

pub(super) const RETIRED_BY_MINER_PREFIX: &[u8] = b"retiredby/";

/// A miner's retired submission, newest first in key order (the height inverted).
pub(crate) fn retired_by_miner_key(miner: &PublicKey, height: platform_types::Height, id: &SubmissionId) -> Vec<u8> {
    [RETIRED_BY_MINER_PREFIX, miner.as_bytes(), &(u64::MAX - height.get()).to_be_bytes(), id.0.as_bytes()].concat()
}

pub(super) fn weights_epoch(key: &[u8]) -> Option<u64> {
    std::str::from_utf8(key.strip_prefix(WEIGHTS_PREFIX)?).ok()?.parse().ok()
}
