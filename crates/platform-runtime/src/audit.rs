//! The runtime's audit log: one record per evaluation, persisted through platform-storage.
//!
//! Keys are a big-endian sequence number in [`Column::Audit`], so a scan returns records in the
//! order they were written; values are SCALE-encoded [`AuditRecord`]s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parity_scale_codec::{Decode, Encode};
use platform_storage::{Column, Store, WriteBatch};
use platform_types::Hash;

use crate::error::RuntimeError;

/// What was evaluated and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AuditRecord {
    /// blake2b-256 of the challenge module as registered.
    pub module_hash: Hash,
    /// blake2b-256 of the encoded input (followed by the challenge's parameters, when it has any).
    pub input_hash: Hash,
    /// blake2b-256 of the module's output ([`Hash::ZERO`] when there was none).
    pub output_hash: Hash,
    /// Fuel used, nested runs included.
    pub fuel_used: u64,
    /// Fuel used inside nested runs.
    pub nested_fuel_used: u64,
    /// Wall time, in microseconds (informational: not deterministic).
    pub duration_micros: u64,
    /// Host calls made.
    pub host_calls: u32,
    /// How it ended.
    pub result: AuditResult,
}

/// The end of an evaluation, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum AuditResult {
    /// The module scored the submission.
    Scored {
        /// Score in ppb.
        score_ppb: u32,
    },
    /// The module rejected the submission.
    Rejected {
        /// The module's reason.
        reason: String,
    },
    /// The evaluation failed with a runtime error.
    Failed {
        /// [`RuntimeError::kind`].
        kind: String,
        /// The error's message.
        message: String,
    },
    /// The module's epoch scorer gave one verdict per answer (a variant added after the others,
    /// so records written before it decode unchanged).
    Epoch {
        /// Answers scored.
        answers: u32,
    },
}

/// Appends audit records to a store.
pub struct AuditLog {
    store: Arc<dyn Store>,
    next: AtomicU64,
}

impl AuditLog {
    /// Opens the log, continuing after the last record already in `store`.
    pub fn open(store: Arc<dyn Store>) -> Result<AuditLog, RuntimeError> {
        let last = store.last(Column::Audit, &[]).map_err(|e| RuntimeError::Audit(e.to_string()))?;
        let next = match last {
            Some((key, _)) => key
                .try_into()
                .map(|k: [u8; 8]| u64::from_be_bytes(k) + 1)
                .map_err(|_| RuntimeError::Audit("audit column holds a key that is not a sequence number".into()))?,
            None => 0,
        };
        Ok(AuditLog { store, next: AtomicU64::new(next) })
    }

    /// Persists `record`; returns its sequence number.
    ///
    /// The write is buffered ([`Store::write_buffered`]): it survives the validator's process
    /// being killed, and a crash of the machine loses at most the records written since the
    /// store's last synced write. An evaluation waits on no disk sync for its record (one per
    /// evaluation would queue behind, and delay, admission's synced writes). What such a loss
    /// costs: the record, which is informational — the verdict itself is signed, gossiped and
    /// committed in a block, and an evaluation whose verdict is not committed is run again after
    /// a restart, writing its record again.
    pub fn append(&self, record: &AuditRecord) -> Result<u64, RuntimeError> {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        let mut batch = WriteBatch::new();
        batch.put(Column::Audit, seq.to_be_bytes(), record.encode());
        self.store.write_buffered(batch).map_err(|e| RuntimeError::Audit(e.to_string()))?;
        Ok(seq)
    }

    /// Up to `limit` records with sequence numbers from `from`, in order.
    pub fn read(&self, from: u64, limit: usize) -> Result<Vec<(u64, AuditRecord)>, RuntimeError> {
        let start_after = from.checked_sub(1).map(u64::to_be_bytes);
        let entries = self
            .store
            .scan(Column::Audit, &[], start_after.as_ref().map(|k| &k[..]), limit)
            .map_err(|e| RuntimeError::Audit(e.to_string()))?;
        entries
            .into_iter()
            .map(|(key, value)| {
                let seq = key.try_into().map(u64::from_be_bytes).map_err(|_| RuntimeError::Audit("bad key".into()))?;
                let record = AuditRecord::decode(&mut &value[..]).map_err(|e| RuntimeError::Audit(e.to_string()))?;
                Ok((seq, record))
            })
            .collect()
    }
}
