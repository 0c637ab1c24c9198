//! Batch writes to RocksDB (both durability modes) against the in-memory store.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use platform_storage::{Column, Durability, MemoryStore, RocksStore, Store, WriteBatch};
use std::hint::black_box;

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

criterion_group!(benches, batch_writes);
criterion_main!(benches);
