//! Batch writes to RocksDB (both durability modes) against the in-memory store, and synced
//! writes into a store's first write-ahead log against the same writes into a recycled one.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use platform_storage::{Column, Durability, MemoryStore, RocksStore, Store, WriteBatch};
use std::hint::black_box;
use std::path::Path;

fn batch(counter: &mut u64, keys: usize) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for _ in 0..keys {
        *counter += 1;
        batch.put(Column::Evaluations, counter.to_be_bytes(), [0xab; 256]);
    }
    batch
}

fn batch_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_write");
    for keys in [1usize, 64] {
        group.throughput(Throughput::Elements(keys as u64));
        let memory = MemoryStore::new();
        let mut counter = 0u64;
        group.bench_function(BenchmarkId::new("baseline_memory", keys), |b| {
            b.iter(|| memory.write(black_box(batch(&mut counter, keys))).expect("write"))
        });
        for (name, durability) in [("rocks_buffered", Durability::Buffered), ("rocks_sync", Durability::Sync)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = RocksStore::open_with(dir.path(), durability).expect("open");
            let mut counter = 0u64;
            group.bench_function(BenchmarkId::new(name, keys), |b| {
                b.iter(|| store.write(black_box(batch(&mut counter, keys))).expect("write"))
            });
        }
    }
    group.finish();
}

/// Bytes of one synced write below: about what admission's group commit writes at 64 in flight
/// (some 20 submissions of a few hundred bytes).
const SYNCED_KEYS: usize = 16;

/// Synced writes appended to a fresh store's first write-ahead log (each append grows the file,
/// so fdatasync writes its inode as well) against the same writes into a store whose log has
/// rolled over a few times, so that it writes over a recycled file whose size does not change.
fn recycled_log(c: &mut Criterion) {
    let mut group = c.benchmark_group("synced_write_log");
    group.throughput(Throughput::Elements(SYNCED_KEYS as u64));
    let fresh_dir = tempfile::tempdir().expect("tempdir");
    let fresh = RocksStore::open(fresh_dir.path()).expect("open");
    let mut counter = 0u64;
    group.bench_function("baseline_first_log", |b| {
        b.iter(|| fresh.write(black_box(batch(&mut counter, SYNCED_KEYS))).expect("write"))
    });
    // The baseline is only what it says while the store still writes its first log.
    assert_eq!(logs(fresh_dir.path()), 1, "the fresh store's log rolled during the measurement: measure for less time");

    let rolled_dir = tempfile::tempdir().expect("tempdir");
    let rolled = RocksStore::open(rolled_dir.path()).expect("open");
    roll_log(&rolled, &mut counter);
    group.bench_function("recycled_log", |b| {
        b.iter(|| rolled.write(black_box(batch(&mut counter, SYNCED_KEYS))).expect("write"))
    });
    group.finish();
}

/// Writes (buffered) five times the write-ahead log's bound, so that the log rolls several
/// times and the obsolete files are kept for reuse.
fn roll_log(store: &RocksStore, counter: &mut u64) {
    let value = vec![0x5a; 4096];
    for _ in 0..(160 << 20) / (256 * value.len()) {
        let mut batch = WriteBatch::new();
        for _ in 0..256 {
            *counter += 1;
            batch.put(Column::Evaluations, counter.to_be_bytes(), value.clone());
        }
        store.write_buffered(batch).expect("write");
    }
}

/// Write-ahead log files in a store's directory.
fn logs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read the store's directory")
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log")))
        .count()
}

criterion_group!(benches, batch_writes, recycled_log);
criterion_main!(benches);
