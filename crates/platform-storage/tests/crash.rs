//! Crash safety, proven: a child process writes numbered batches and is killed with SIGKILL at
//! random moments, many times. After each kill the store is reopened and checked: every batch
//! the child acknowledged is wholly present, and no batch is partly present.
//!
//! The child is this test binary re-run with `CRASH_CHILD_DIR` set (see `child_writer`). One
//! variant has each child roll its write-ahead log over first, so that the batches it is killed
//! writing go into a recycled log file, written over the records of its previous use.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use platform_storage::{Column, Durability, RocksStore, Store, WriteBatch};
use rand::{Rng, SeedableRng};

/// Keys per batch, spread over several column families.
const KEYS_PER_BATCH: u32 = 8;
const COLUMNS: [Column; 4] = [Column::Blocks, Column::Evaluations, Column::Submissions, Column::Consensus];
const ROUNDS: usize = 40;

fn key(batch: u32, part: u32) -> Vec<u8> {
    format!("batch/{batch:08}/{part}").into_bytes()
}

fn value(batch: u32, part: u32) -> Vec<u8> {
    // Large enough that a batch spans many WAL blocks, so a torn write is possible in principle.
    let mut v = format!("{batch}:{part}:").into_bytes();
    v.resize(4096, (batch % 251) as u8);
    v
}

/// Which batches are present, checking that each is all-or-nothing.
fn complete_batches(store: &RocksStore) -> Vec<u32> {
    let mut present = Vec::new();
    let mut candidate = 0u32;
    loop {
        let parts: Vec<bool> = (0..KEYS_PER_BATCH)
            .map(|part| {
                let column = COLUMNS[part as usize % COLUMNS.len()];
                match store.get(column, &key(candidate, part)).expect("get") {
                    Some(v) => {
                        assert_eq!(v, value(candidate, part), "batch {candidate} part {part} corrupted");
                        true
                    }
                    None => false,
                }
            })
            .collect();
        match (parts.iter().all(|p| *p), parts.iter().any(|p| *p)) {
            (true, _) => present.push(candidate),
            (false, true) => panic!("batch {candidate} is partially present: {parts:?}"),
            (false, false) => break,
        }
        candidate += 1;
    }
    // Nothing beyond the first gap either.
    for later in candidate + 1..candidate + 64 {
        for part in 0..KEYS_PER_BATCH {
            let column = COLUMNS[part as usize % COLUMNS.len()];
            assert!(store.get(column, &key(later, part)).expect("get").is_none(), "batch {later} present after a gap");
        }
    }
    present
}

/// The child: writes batches from `start` on and prints `ack N` after each `write` returns.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os("CRASH_CHILD_DIR") else {
        return; // Only does something when run as the child of `sigkill_never_loses_or_tears_a_batch`.
    };
    let mode = std::env::var("CRASH_CHILD_DURABILITY").unwrap_or_default();
    let durability = match mode.as_str() {
        "buffered" => Durability::Buffered,
        _ => Durability::Sync,
    };
    let store = RocksStore::open_with(Path::new(&dir), durability).expect("child opens store");
    let start: u32 = std::env::var("CRASH_CHILD_START").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    if std::env::var_os("CRASH_CHILD_ROLL").is_some() {
        roll_into_recycled_log(&store, Path::new(&dir));
    }
    for batch_no in start.. {
        let mut batch = WriteBatch::new();
        for part in 0..KEYS_PER_BATCH {
            batch.put(COLUMNS[part as usize % COLUMNS.len()], key(batch_no, part), value(batch_no, part));
        }
        match mode.as_str() {
            "buffered-writes" => store.write_buffered(batch).expect("write"),
            _ => store.write(batch).expect("write"),
        }
        println!("ack {batch_no}");
    }
}

/// Writes filler (buffered, the same keys over and over) until the store writes into a log file
/// it recycled, as RocksDB's own log says; panics if it never does (recycling is off).
fn roll_into_recycled_log(store: &RocksStore, dir: &Path) {
    let filler = vec![0x5a; 4096];
    // Each pass is 32 MiB, the write-ahead log's bound: each rolls the log over once.
    for _ in 0..4 {
        for _ in 0..32 {
            let mut batch = WriteBatch::new();
            for key in 0..256u32 {
                batch.put(Column::Metadata, format!("filler/{key}").into_bytes(), filler.clone());
            }
            store.write_buffered(batch).expect("filler");
        }
        let log = std::fs::read_to_string(dir.join("LOG")).unwrap_or_default();
        if log.contains("from recycle list") {
            return;
        }
    }
    panic!("the store never wrote into a recycled log file");
}

fn crash_rounds(durability: &str, seed: u64) {
    crash_rounds_with(durability, seed, ROUNDS, false);
}

fn crash_rounds_with(durability: &str, seed: u64, rounds: usize, roll: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acknowledged: Option<u32> = None;
    let mut next = 0u32;
    for round in 0..rounds {
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        if roll {
            command.env("CRASH_CHILD_ROLL", "1");
        }
        let mut child = command
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env("CRASH_CHILD_DIR", &path)
            .env("CRASH_CHILD_START", next.to_string())
            .env("CRASH_CHILD_DURABILITY", durability)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let lines = std::sync::mpsc::sync_channel::<u32>(1 << 16);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest prints `test child_writer ... ` without a newline before the first ack.
                if let Some(n) = line.split("ack ").nth(1).and_then(|n| n.trim().parse().ok())
                    && lines.0.send(n).is_err()
                {
                    break;
                }
            }
        });
        // Wait for the child to start writing, then kill it at a random moment.
        let first = lines.1.recv_timeout(Duration::from_secs(30)).expect("child acknowledged a first batch");
        assert_eq!(first, next, "the child resumes after the last complete batch");
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..20_000)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        while let Ok(n) = lines.1.try_recv() {
            acknowledged = Some(acknowledged.map_or(n, |a: u32| a.max(n)));
        }
        acknowledged = Some(acknowledged.map_or(first, |a| a.max(first)));

        let store = RocksStore::open(&path).expect("reopen after SIGKILL");
        let present = complete_batches(&store);
        let highest = present.last().copied();
        let acked = acknowledged.expect("some batch acknowledged");
        assert!(highest >= Some(acked), "round {round}: acknowledged batch {acked} lost (highest present {highest:?})");
        assert_eq!(present.len() as u32, highest.map_or(0, |h| h + 1), "round {round}: a gap in the batches");
        next = highest.map_or(0, |h| h + 1);
    }
    assert!(next as usize > rounds, "the children wrote too little to prove anything: {next} batches");
}

#[test]
fn sigkill_never_loses_or_tears_a_batch() {
    crash_rounds("sync", 0x5eed);
}

#[test]
fn sigkill_never_loses_or_tears_a_buffered_batch() {
    crash_rounds("buffered", 0xb0ff);
}

/// Synced batches written over a recycled log file's old records: recovery stops where the
/// new records end, so nothing acknowledged is lost and nothing old comes back.
#[test]
fn sigkill_while_writing_a_recycled_log_never_loses_or_tears_a_batch() {
    crash_rounds_with("sync", 0x7ec1, 12, true);
}

/// `Store::write_buffered` on a store that syncs its other writes: as safe against SIGKILL.
#[test]
fn sigkill_never_loses_or_tears_a_buffered_write_on_a_synced_store() {
    crash_rounds("buffered-writes", 0xb0f5);
}
