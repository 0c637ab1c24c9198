//! The on-disk module cache (hits, corruption) and the audit log.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{good_module, input, module_with, policy};
use platform_runtime::{AuditLog, AuditResult, Runtime, RuntimeOptions};
use platform_storage::{Column, Entry, MemoryStore, Store, StoreError, WriteBatch};
use platform_types::blake2b_256;

fn with_cache(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeOptions { cache_dir: Some(dir.to_path_buf()), ..RuntimeOptions::default() }).expect("runtime")
}

#[test]
fn a_second_runtime_loads_from_disk_and_a_corrupt_entry_is_recompiled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = good_module();
    let first = with_cache(dir.path());
    first.load(&wasm, &policy()).expect("load");
    first.load(&wasm, &policy()).expect("load again");
    let stats = first.cache_stats();
    assert_eq!((stats.compiles, stats.memory_hits, stats.disk_hits), (1, 1, 0));

    let second = with_cache(dir.path());
    let module = second.load(&wasm, &policy()).expect("load from disk");
    assert_eq!(second.cache_stats().disk_hits, 1);
    assert_eq!(second.cache_stats().compiles, 0);
    assert!(second.evaluate(&module, &input(b"")).is_ok());

    // Flip one byte in the middle of the entry: detected, recompiled, rewritten.
    let path = second.cache_entry_path(&wasm, &policy()).expect("cache path");
    let mut bytes = std::fs::read(&path).expect("entry");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&path, &bytes).expect("corrupt");
    let third = with_cache(dir.path());
    let module = third.load(&wasm, &policy()).expect("recompiled");
    let stats = third.cache_stats();
    assert_eq!((stats.corrupt, stats.compiles, stats.disk_hits), (1, 1, 0));
    assert!(third.evaluate(&module, &input(b"")).is_ok());
    // A truncated entry is caught the same way.
    std::fs::write(&path, &bytes[..20]).expect("truncate");
    let fourth = with_cache(dir.path());
    fourth.load(&wasm, &policy()).expect("recompiled");
    assert_eq!(fourth.cache_stats().corrupt, 1);
    // The rewritten entry is good again.
    let fifth = with_cache(dir.path());
    fifth.load(&wasm, &policy()).expect("load");
    assert_eq!(fifth.cache_stats().disk_hits, 1);

    // The memory cap is part of the key: another policy is another entry.
    let mut other = policy();
    other.memory_pages_max += 1;
    assert_ne!(fifth.cache_entry_path(&wasm, &other), Some(path));
}

#[test]
fn every_evaluation_is_audited_and_the_log_survives_reopening() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let rt = Runtime::new(RuntimeOptions { audit: Some(Arc::clone(&store)), ..RuntimeOptions::default() }).expect("rt");
    let good = good_module();
    let looping = module_with("", "(loop br 0)");
    let extra = r#"(import "platform" "log" (func $log (param i32 i32)))"#;
    let logging = module_with(extra, "(call $log (i32.const 2048) (i32.const 1))");

    let good_module = rt.load(&good, &policy()).expect("load");
    let outcome = rt.evaluate(&good_module, &input(b"abc")).expect("ok");
    rt.evaluate(&rt.load(&looping, &policy()).expect("load"), &input(b"")).expect_err("out of fuel");
    let logged = rt.evaluate(&rt.load(&logging, &policy()).expect("load"), &input(b"")).expect("ok");
    assert_eq!((logged.host_calls, logged.logs.len()), (1, 1));

    let log = AuditLog::open(Arc::clone(&store)).expect("open");
    let records = log.read(0, 10).expect("read");
    assert_eq!(records.len(), 3);
    let (seq, first) = &records[0];
    assert_eq!(*seq, 0);
    assert_eq!(first.module_hash, blake2b_256(&good));
    assert_eq!(first.input_hash, blake2b_256(&input(b"abc").encode()));
    assert_eq!(first.output_hash, outcome.output_hash);
    assert_eq!(first.fuel_used, outcome.fuel_used);
    assert_eq!(first.result, AuditResult::Scored { score_ppb: 42 });
    assert!(matches!(&records[1].1.result, AuditResult::Failed { kind, .. } if kind == "out_of_fuel"));
    assert_eq!(records[1].1.fuel_used, policy().fuel_limit);
    assert_eq!(records[2].1.host_calls, 1);

    // A reopened log continues the sequence.
    let rt2 =
        Runtime::new(RuntimeOptions { audit: Some(Arc::clone(&store)), ..RuntimeOptions::default() }).expect("rt");
    rt2.evaluate(&rt2.load(&good, &policy()).expect("load"), &input(b"")).expect("ok");
    let records = log.read(3, 10).expect("read");
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), vec![3]);
}

/// A test double: a [`MemoryStore`] that counts its synced and its buffered writes.
#[derive(Default)]
struct CountingStoreDouble {
    inner: MemoryStore,
    synced: AtomicUsize,
    buffered: AtomicUsize,
}

impl Store for CountingStoreDouble {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(column, key)
    }
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.synced.fetch_add(1, Ordering::SeqCst);
        self.inner.write(batch)
    }
    fn write_buffered(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.buffered.fetch_add(1, Ordering::SeqCst);
        self.inner.write(batch)
    }
    fn scan(
        &self,
        column: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.inner.scan(column, prefix, after, limit)
    }
    fn last(&self, column: Column, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        self.inner.last(column, prefix)
    }
}

/// An evaluation's audit record waits for no disk sync: on a validator under load one synced
/// write per evaluation queued behind, and delayed, admission's synced writes.
#[test]
fn an_evaluations_audit_record_waits_for_no_disk_sync() {
    let store = Arc::new(CountingStoreDouble::default());
    let shared: Arc<dyn Store> = store.clone();
    let rt = Runtime::new(RuntimeOptions { audit: Some(shared.clone()), ..RuntimeOptions::default() }).expect("rt");
    let module = rt.load(&good_module(), &policy()).expect("load");
    for payload in [&b"a"[..], b"b", b"c"] {
        rt.evaluate(&module, &input(payload)).expect("ok");
    }
    assert_eq!(store.synced.load(Ordering::SeqCst), 0, "no synced write per evaluation");
    assert_eq!(store.buffered.load(Ordering::SeqCst), 3, "one buffered write per evaluation");
    assert_eq!(AuditLog::open(shared).expect("open").read(0, 10).expect("read").len(), 3, "all recorded");
}
