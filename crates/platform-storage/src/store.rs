//! The storage trait every backend implements.

use crate::batch::WriteBatch;
use crate::column::Column;
use crate::error::StoreError;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A key-value store split into [`Column`]s.
///
/// Contract, identical for every backend (one test suite checks them all):
/// - [`Store::write`] applies a batch atomically: readers and a restart after a crash see all
///   of it or none of it. When it returns `Ok`, the batch is durable.
/// - [`Store::write_buffered`] applies a batch atomically too, and when it returns `Ok` the
///   batch survives a crash of the process (SIGKILL included); a crash of the machine may lose
///   it until the next [`Store::write`] returns (a later durable write makes every earlier one
///   durable). For records that are cheap to lose and written often.
/// - Reads see every batch whose `write` has returned.
/// - Scans return keys in ascending bytewise order.
/// - Methods are safe to call from several threads at once.
pub trait Store: Send + Sync {
    /// The value of `key` in `column`, if any.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies `batch` atomically and durably.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// Applies `batch` atomically, durable against a crash of the process but not necessarily
    /// of the machine (see the trait's contract). Backends that do not buffer write durably.
    fn write_buffered(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.write(batch)
    }

    /// Up to `limit` entries whose key starts with `prefix` and sorts after `start_after`
    /// (from the first such key if `None`), in ascending key order. Page through a prefix by
    /// passing the last key of the previous page.
    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;

    /// The entry with the greatest key starting with `prefix`, if any.
    fn last(&self, column: Column, prefix: &[u8]) -> Result<Option<Entry>, StoreError>;

    /// Writes one key (a batch of one).
    fn put(&self, column: Column, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.put(column, key, value);
        self.write(batch)
    }

    /// Deletes one key (a batch of one).
    fn delete(&self, column: Column, key: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.delete(column, key);
        self.write(batch)
    }
}

/// The smallest key greater than every key starting with `prefix`, or `None` when no such
/// key exists (empty prefix, or all bytes 0xff).
pub(crate) fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < u8::MAX {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_upper_bound;

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_upper_bound(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_upper_bound(&[0xff, 0xff]), None);
        assert_eq!(prefix_upper_bound(b""), None);
    }
}
