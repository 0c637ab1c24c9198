//! Platform's persistence: one [`Store`] trait with a crash-safe RocksDB backend
//! (`RocksStore`, the default `rocksdb` feature) and an in-memory backend ([`MemoryStore`]) that behave the same.
//!
//! Data is split into [`Column`]s (one RocksDB column family each). Writes go through
//! [`WriteBatch`]es, applied atomically: after a crash a batch is either wholly present or
//! wholly absent, and every batch whose `write` returned is present.

mod batch;
mod column;
mod error;
mod memory;
#[cfg(feature = "rocksdb")]
mod rocks;
mod store;

pub use batch::{BatchOp, WriteBatch};
pub use column::Column;
pub use error::{SchemaFound, StoreError};
pub use memory::MemoryStore;
#[cfg(feature = "rocksdb")]
pub use rocks::{Durability, RocksStore, SCHEMA_VERSION};
pub use store::{Entry, Store};
