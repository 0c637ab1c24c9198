//! What opening a data directory checks: persistence, the lock, the schema version.

use platform_storage::{Column, RocksStore, SCHEMA_VERSION, Store, StoreError};

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    RocksStore::open(&path).expect("create").put(Column::Blocks, b"h1", b"block").expect("put");
    let store = RocksStore::open(&path).expect("reopen");
    assert_eq!(store.get(Column::Blocks, b"h1").expect("get"), Some(b"block".to_vec()));
}

#[test]
fn a_second_opener_gets_a_clear_lock_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let _first = RocksStore::open(&path).expect("open");
    let error = RocksStore::open(&path).expect_err("locked");
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(error.to_string().contains("locked by another process"));
}

#[test]
fn an_unknown_schema_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    RocksStore::open(&path)
        .expect("create")
        .put(Column::Metadata, b"schema_version", &(SCHEMA_VERSION + 1).to_le_bytes())
        .expect("put");
    let error = RocksStore::open(&path).expect_err("refused");
    assert!(matches!(error, StoreError::UnknownSchema { .. }), "{error}");
    assert!(error.to_string().contains(&format!("schema version {}", SCHEMA_VERSION + 1)), "{error}");
}

#[test]
fn foreign_column_families_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let _db = rocksdb::DB::open_cf(&options, &path, ["someone_elses_data"]).expect("foreign db");
    }
    assert!(matches!(RocksStore::open(&path), Err(StoreError::UnknownSchema { .. })));
}

#[test]
fn a_non_empty_foreign_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "not a database").expect("write");
    assert!(matches!(RocksStore::open(dir.path()), Err(StoreError::NotAStore { .. })));
}
