//! SIGKILL while snapshots are being written: a child process stores snapshots of several MiB
//! the way the snapshot writer does (`Records::put_snapshot`: one RocksDB batch holding the
//! manifest, every chunk and the deletion of all but the newest two) and is killed at random
//! moments, many times. After each kill the store is reopened: every snapshot it lists is
//! whole and exactly what was written, the newest one the child acknowledged is there, and at
//! most two are kept — so a restart never starts from half a snapshot.
//!
//! The child is this test binary run again with `SNAPSHOT_CHILD_DIR` set (see
//! `child_snapshot_writer`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use platform_app::Snapshot;
use platform_node::records::Records;
use platform_storage::RocksStore;
use platform_types::{CHUNK_BYTES, Hash, Height, Manifest, blake2b_256};
use rand::{Rng, SeedableRng};

/// Chunks per snapshot: 6 MiB, so that a kill lands inside a write often.
const CHUNKS: usize = 6;
const ROUNDS: usize = 16;

/// The snapshot of `height`: its content follows from the height, so a reader can tell a
/// snapshot from a mixture of two.
fn snapshot(height: u64) -> Snapshot {
    let chunks: Vec<Vec<u8>> = (0..CHUNKS as u64).map(|i| vec![(height * 7 + i) as u8; CHUNK_BYTES]).collect();
    let manifest = Manifest {
        height: Height::new(height),
        captured: Height::new(height - 1),
        block_hash: blake2b_256(&height.to_le_bytes()),
        prev_root: Hash::ZERO,
        registry_hash: Hash::ZERO,
        len: (CHUNKS * CHUNK_BYTES) as u64,
        chunks: chunks.iter().map(|c| blake2b_256(c)).collect(),
    };
    Snapshot { manifest, chunks: chunks.into() }
}

/// The child: stores the snapshots of heights from `SNAPSHOT_CHILD_START` on, printing
/// `ack H` once each is stored.
#[test]
fn child_snapshot_writer() {
    let Some(dir) = std::env::var_os("SNAPSHOT_CHILD_DIR") else {
        return; // Only does something as the child of the test below.
    };
    let start: u64 = std::env::var("SNAPSHOT_CHILD_START").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let records = Records::new(Arc::new(RocksStore::open(Path::new(&dir)).expect("child opens the store")));
    for height in start.. {
        records.put_snapshot(&snapshot(height)).expect("stored");
        println!("ack {height}");
    }
}

#[test]
fn sigkill_while_writing_snapshots_never_leaves_a_partial_one() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("db");
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    let mut next = 1u64;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "child_snapshot_writer", "--nocapture", "--test-threads=1"])
            .env("SNAPSHOT_CHILD_DIR", &path)
            .env("SNAPSHOT_CHILD_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().expect("stdout");
        let (acks, acked) = std::sync::mpsc::channel::<u64>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(height) = line.split("ack ").nth(1).and_then(|n| n.trim().parse().ok())
                    && acks.send(height).is_err()
                {
                    break;
                }
            }
        });
        let first = acked.recv_timeout(Duration::from_secs(60)).expect("the child stored a first snapshot");
        assert_eq!(first, next);
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..400)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        reader.join().expect("reader");
        let last_acked = acked.try_iter().last().unwrap_or(first);

        let records = Records::new(Arc::new(RocksStore::open(&path).expect("reopens after the kill")));
        let manifests = records.snapshot_manifests().expect("read");
        assert!((1..=2).contains(&manifests.len()), "round {round}: {} snapshots kept", manifests.len());
        let newest = manifests[0].height.get();
        assert!(newest >= last_acked, "round {round}: acknowledged {last_acked}, newest stored {newest}");
        assert!(newest <= last_acked + 1, "round {round}: {newest} was never written");
        for manifest in &manifests {
            let height = manifest.height.get();
            let stored = records.snapshot(manifest).expect("read").expect("whole");
            assert_eq!(stored, snapshot(height), "round {round}: the snapshot at {height} is exactly what was written");
        }
        next = newest + 1;
    }
}
