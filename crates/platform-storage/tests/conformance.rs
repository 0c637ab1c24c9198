//! One behavioural suite, run against every backend.

use std::sync::Arc;

use platform_storage::{Column, MemoryStore, RocksStore, Store, WriteBatch};

fn batch_round_trip(store: &dyn Store) {
    let mut batch = WriteBatch::new();
    batch.put(Column::Blocks, b"k1", b"v1").put(Column::Evaluations, b"k1", b"other").put(Column::Blocks, b"k2", b"v2");
    store.write(batch).expect("write");
    assert_eq!(store.get(Column::Blocks, b"k1").expect("get"), Some(b"v1".to_vec()));
    assert_eq!(store.get(Column::Evaluations, b"k1").expect("get"), Some(b"other".to_vec()), "columns are separate");
    assert_eq!(store.get(Column::Audit, b"k1").expect("get"), None);
    // A buffered write is read back like any other.
    let mut batch = WriteBatch::new();
    batch.put(Column::Audit, b"k1", b"buffered").delete(Column::Blocks, b"k2");
    store.write_buffered(batch).expect("buffered write");
    assert_eq!(store.get(Column::Audit, b"k1").expect("get"), Some(b"buffered".to_vec()));
    assert_eq!(store.get(Column::Blocks, b"k2").expect("get"), None);
}

fn later_ops_win_within_a_batch(store: &dyn Store) {
    let mut batch = WriteBatch::new();
    batch.put(Column::Registry, b"a", b"1").put(Column::Registry, b"a", b"2").delete(Column::Registry, b"b");
    store.write(batch).expect("write");
    assert_eq!(store.get(Column::Registry, b"a").expect("get"), Some(b"2".to_vec()));
    let mut batch = WriteBatch::new();
    batch.put(Column::Registry, b"c", b"3").delete(Column::Registry, b"c");
    store.write(batch).expect("write");
    assert_eq!(store.get(Column::Registry, b"c").expect("get"), None);
    store.delete(Column::Registry, b"a").expect("delete");
    assert_eq!(store.get(Column::Registry, b"a").expect("get"), None);
}

fn scans_are_ordered_bounded_and_pageable(store: &dyn Store) {
    for i in [5u8, 1, 3, 2, 4] {
        store.put(Column::Submissions, &[b'p', i], &[i]).expect("put");
    }
    store.put(Column::Submissions, b"q", b"outside").expect("put");
    store.put(Column::Submissions, b"o", b"outside").expect("put");
    let all = store.scan(Column::Submissions, b"p", None, 100).expect("scan");
    assert_eq!(all.iter().map(|(k, _)| k[1]).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    let first = store.scan(Column::Submissions, b"p", None, 2).expect("scan");
    assert_eq!(first.len(), 2);
    let next = store.scan(Column::Submissions, b"p", Some(&first[1].0), 2).expect("scan");
    assert_eq!(next.iter().map(|(k, _)| k[1]).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(store.last(Column::Submissions, b"p").expect("last").map(|(k, _)| k), Some(vec![b'p', 5]));
    assert_eq!(store.last(Column::Submissions, b"z").expect("last"), None);
    assert_eq!(store.last(Column::Submissions, b"").expect("last").map(|(k, _)| k), Some(b"q".to_vec()));
    assert!(store.scan(Column::Submissions, b"p", None, 0).expect("scan").is_empty());
}

fn last_handles_0xff_prefixes(store: &dyn Store) {
    store.put(Column::Weights, &[0xff, 0xff, 1], b"x").expect("put");
    store.put(Column::Weights, &[0xff, 0xff, 0xff], b"y").expect("put");
    assert_eq!(store.last(Column::Weights, &[0xff, 0xff]).expect("last").map(|(_, v)| v), Some(b"y".to_vec()));
}

fn concurrent_writers_all_land(store: Arc<dyn Store>) {
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..50u8 {
                    store.put(Column::Audit, &[t, i], &[i]).expect("put");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    assert_eq!(store.scan(Column::Audit, b"", None, 1000).expect("scan").len(), 200);
}

macro_rules! suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[test]
            fn batch_round_trip() {
                let (_guard, store) = $make;
                super::batch_round_trip(&store);
            }

            #[test]
            fn later_ops_win_within_a_batch() {
                let (_guard, store) = $make;
                super::later_ops_win_within_a_batch(&store);
            }

            #[test]
            fn scans_are_ordered_bounded_and_pageable() {
                let (_guard, store) = $make;
                super::scans_are_ordered_bounded_and_pageable(&store);
            }

            #[test]
            fn last_handles_0xff_prefixes() {
                let (_guard, store) = $make;
                super::last_handles_0xff_prefixes(&store);
            }

            #[test]
            fn concurrent_writers_all_land() {
                let (_guard, store) = $make;
                super::concurrent_writers_all_land(Arc::new(store));
            }
        }
    };
}

suite!(memory, ((), MemoryStore::new()));
suite!(rocks, {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RocksStore::open(&dir.path().join("db")).expect("open");
    (dir, store)
});
