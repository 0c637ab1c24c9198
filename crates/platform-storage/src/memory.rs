//! The in-memory backend: for tests, simulations and ephemeral nodes.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use crate::batch::{BatchOp, WriteBatch};
use crate::column::Column;
use crate::error::StoreError;
use crate::store::{Entry, Store, prefix_upper_bound};

type Columns = [BTreeMap<Vec<u8>, Vec<u8>>; Column::ALL.len()];

/// A [`Store`] held in memory. Batches are atomic with respect to readers; nothing survives
/// the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    columns: RwLock<Columns>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Columns>, StoreError> {
        self.columns.read().map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }
}

impl Store for MemoryStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read()?[column.index()].get(key).cloned())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut columns = self.columns.write().map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        for op in batch.ops() {
            match op {
                BatchOp::Put { column, key, value } => {
                    columns[column.index()].insert(key.clone(), value.clone());
                }
                BatchOp::Delete { column, key } => {
                    columns[column.index()].remove(key);
                }
            }
        }
        Ok(())
    }

    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let columns = self.read()?;
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        Ok(columns[column.index()]
            .range((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn last(&self, column: Column, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        let columns = self.read()?;
        let upper = match prefix_upper_bound(prefix) {
            Some(upper) => Bound::Excluded(upper),
            None => Bound::Unbounded,
        };
        Ok(columns[column.index()]
            .range((Bound::Included(prefix.to_vec()), upper))
            .next_back()
            .map(|(key, value)| (key.clone(), value.clone())))
    }
}
