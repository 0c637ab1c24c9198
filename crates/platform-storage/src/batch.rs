//! Atomic groups of writes.

use crate::column::Column;

/// One operation of a batch.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BatchOp {
    /// Set `key` to `value` in `column`.
    Put {
        /// The column.
        column: Column,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key` from `column` (no error if absent).
    Delete {
        /// The column.
        column: Column,
        /// The key.
        key: Vec<u8>,
    },
}

/// Operations applied all together or not at all, in order (a later op on the same key wins).
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Adds a put.
    pub fn put(&mut self, column: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(BatchOp::Put { column, key: key.into(), value: value.into() });
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, column: Column, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(BatchOp::Delete { column, key: key.into() });
        self
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch has no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}
