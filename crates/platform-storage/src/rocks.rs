//! The RocksDB backend: one column family per [`Column`], atomic write batches, and a schema
//! version checked on open.

use std::path::{Path, PathBuf};

use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions, WriteOptions};

use crate::batch::{BatchOp, WriteBatch};
use crate::column::Column;
use crate::error::{SchemaFound, StoreError};
use crate::store::{Entry, Store, prefix_upper_bound};

/// The on-disk layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// When a write counts as done.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Durability {
    /// `write` returns after the write-ahead log is fsynced: survives power loss.
    #[default]
    Sync,
    /// `write` returns once the write-ahead log is in the OS page cache: survives a crash of
    /// the process (including SIGKILL) but not of the machine. Much faster.
    Buffered,
}

/// A [`Store`] in a RocksDB directory.
pub struct RocksStore {
    db: DB,
    path: PathBuf,
    durability: Durability,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore").field("path", &self.path).field("durability", &self.durability).finish()
    }
}

fn backend(error: rocksdb::Error) -> StoreError {
    StoreError::Backend(error.into_string())
}

impl RocksStore {
    /// Opens (or creates) the store at `path` with [`Durability::Sync`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        RocksStore::open_with(path, Durability::Sync)
    }

    /// Opens (or creates) the store at `path`.
    ///
    /// Fails with [`StoreError::Locked`] if another process has it open,
    /// [`StoreError::UnknownSchema`] if it was written by an incompatible build or holds unknown
    /// column families, and [`StoreError::NotAStore`] if the directory holds something else.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let existed = path.join("CURRENT").exists();
        if !existed && path.is_dir() {
            let mut entries = path.read_dir().map_err(|e| StoreError::Backend(e.to_string()))?;
            if entries.next().is_some() {
                return Err(StoreError::NotAStore { path: path.to_path_buf() });
            }
        }
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_keep_log_file_num(4);
        // A restart replays the write-ahead log into memory before it can read anything: past
        // this size the column families holding the oldest of it are flushed, so the replay
        // stays short however much was written since (snapshots write megabytes at a time).
        options.set_max_total_wal_size(MAX_WAL_BYTES);
        // A write-ahead log that is no longer needed is written over as the next one instead of
        // deleted: a synced write into a file that already has its blocks and its size makes
        // fdatasync flush data only, not the inode too (docs/benchmarks.md: "Synced writes into a
        // recycled log"). The bundled RocksDB (10.4) allows it with the default point-in-time
        // recovery, which stops replaying where the records of the file's previous use begin.
        options.set_recycle_log_file_num(RECYCLED_WALS);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let unknown_schema =
            |found| StoreError::UnknownSchema { path: path.to_path_buf(), found, expected: SCHEMA_VERSION };
        if existed {
            let families = DB::list_cf(&options, path).map_err(backend)?;
            let known = |name: &String| name == "default" || Column::ALL.iter().any(|c| c.name() == name);
            if !families.iter().all(known) {
                return Err(unknown_schema(SchemaFound::Unrecognised));
            }
        }
        let descriptors =
            Column::ALL.iter().map(|c| ColumnFamilyDescriptor::new(c.name(), options.clone())).collect::<Vec<_>>();
        let db = DB::open_cf_descriptors(&options, path, descriptors).map_err(|e| {
            let message = e.into_string();
            if message.contains("LOCK") || message.contains("lock") {
                StoreError::Locked { path: path.to_path_buf() }
            } else {
                StoreError::Backend(message)
            }
        })?;
        let store = RocksStore { db, path: path.to_path_buf(), durability };
        match store.get(Column::Metadata, SCHEMA_KEY)? {
            Some(bytes) if bytes == SCHEMA_VERSION.to_le_bytes() => {}
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(|b| SchemaFound::Version(u32::from_le_bytes(b)))
                    .unwrap_or(SchemaFound::Unrecognised);
                return Err(unknown_schema(found));
            }
            // A new store, or one whose creation was interrupted before anything was written.
            None if store.is_empty()? => store.put(Column::Metadata, SCHEMA_KEY, &SCHEMA_VERSION.to_le_bytes())?,
            None => return Err(unknown_schema(SchemaFound::Unrecognised)),
        }
        Ok(store)
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `batch` atomically; `sync`: returns only after the write-ahead log is fsynced.
    fn apply(&self, batch: WriteBatch, sync: bool) -> Result<(), StoreError> {
        let mut rocks_batch = rocksdb::WriteBatch::default();
        for op in batch.ops() {
            match op {
                BatchOp::Put { column, key, value } => rocks_batch.put_cf(self.family(*column)?, key, value),
                BatchOp::Delete { column, key } => rocks_batch.delete_cf(self.family(*column)?, key),
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(sync);
        self.db.write_opt(rocks_batch, &options).map_err(backend)
    }

    fn family(&self, column: Column) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StoreError::Backend(format!("column family {} missing", column.name())))
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        for column in Column::ALL {
            if self.db.iterator_cf(self.family(column)?, IteratorMode::Start).next().is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The write-ahead log's bound (see [`RocksStore::open_with`]).
const MAX_WAL_BYTES: u64 = 32 << 20;

/// Write-ahead log files kept for reuse once obsolete (their disk space stays allocated).
const RECYCLED_WALS: usize = 2;

impl Store for RocksStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.family(column)?, key).map_err(backend)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.apply(batch, self.durability == Durability::Sync)
    }

    fn write_buffered(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.apply(batch, false)
    }

    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let start = match start_after {
            Some(after) if after >= prefix => after,
            _ => prefix,
        };
        let mut entries = Vec::new();
        for item in self.db.iterator_cf(self.family(column)?, IteratorMode::From(start, Direction::Forward)) {
            if entries.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(backend)?;
            if !key.starts_with(prefix) {
                break;
            }
            if Some(&*key) == start_after {
                continue;
            }
            entries.push((key.into_vec(), value.into_vec()));
        }
        Ok(entries)
    }

    fn last(&self, column: Column, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        let mut options = ReadOptions::default();
        if let Some(upper) = prefix_upper_bound(prefix) {
            options.set_iterate_upper_bound(upper);
        }
        let mut iterator = self.db.iterator_cf_opt(self.family(column)?, options, IteratorMode::End);
        match iterator.next() {
            Some(item) => {
                let (key, value) = item.map_err(backend)?;
                Ok(key.starts_with(prefix).then(|| (key.into_vec(), value.into_vec())))
            }
            None => Ok(None),
        }
    }
}
