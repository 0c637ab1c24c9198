//! The copy of the application state the node publishes as its HTTP read view after each turn
//! that changed it (every committed block at least): with every miner's replay window full —
//! a 256-uid subnet, each miner at the default rate limit (60 submissions a minute) for the
//! window's hour, 921 600 submissions remembered — against the copy of the genesis state, in
//! the same run. Then what the windows cost a block: recording a full block's submissions
//! (4 096, spread over the miners) into the full windows while a published copy still holds
//! them. Last, the work of a snapshot height (every 100 blocks the state root covers the whole
//! state captured 50 blocks before, encoded and hashed) with 100 000 live submissions evaluated
//! by 4 and by 16 validators, against the genesis state's: encoding the capture (the snapshot
//! writer's thread), and what the snapshot height's block does on the event loop once it is.
//!
//! ```sh
//! cargo bench -p platform-benches --bench state
//! ```
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::sync::Arc;

use platform_app::REPLAY_WINDOW_MS;
use platform_app::snapshot::Capture;
use platform_app::{AppState, Committed, Evaluations, Snapshot};
use platform_types::{
    ChallengeId, Epoch, EvaluationStatus, Hash, Height, Keypair, PublicKey, SubmissionId, ValidatorSet, blake2b_256,
};
use std::hint::black_box;

/// Miners of the subnet (its uids).
const MINERS: u64 = 256;
/// Submissions a miner may send a minute by default (`miner_rate_per_minute`).
const PER_MINUTE: u64 = 60;
/// Submissions one block orders at most.
const BLOCK: u64 = 4_096;

fn genesis() -> AppState {
    AppState::genesis(ValidatorSet { epoch: Epoch::new(0), validators: Vec::new() })
}

/// `count` hotkeys derived from `//{role}0`, `//{role}1`, ...
fn hotkeys(role: &str, count: u64) -> Vec<PublicKey> {
    (0..count).map(|i| Keypair::from_suri(&format!("//{role}{i}")).expect("key").public()).collect()
}

/// The genesis state with every replay window holding an hour of its miner's submissions.
fn full_windows() -> AppState {
    let mut state = genesis();
    let per_window = PER_MINUTE * REPLAY_WINDOW_MS / 60_000;
    for (m, miner) in (0u64..).zip(hotkeys("Miner", MINERS)) {
        let window = state.replays.entry(miner).or_default();
        for i in 0..per_window {
            let id = SubmissionId(blake2b_256(&[m.to_le_bytes(), i.to_le_bytes()].concat()));
            window.record(i * 60_000 / PER_MINUTE, id);
        }
    }
    state
}

fn read_view_copy(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_copy");
    let fresh = genesis();
    group.bench_function("baseline_genesis", |b| b.iter(|| black_box(&fresh).clone()));
    let full = full_windows();
    group.bench_function("replay_windows_full", |b| b.iter(|| black_box(&full).clone()));
    group.finish();
}

fn record_block(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay_windows");
    group.sample_size(10);
    let full = full_windows();
    let miners: Vec<_> = full.replays.keys().copied().collect();
    // Signed after every id the full windows hold (theirs span the hour before this).
    let after = REPLAY_WINDOW_MS;
    group.bench_function("record_a_block_into_full_windows_while_a_view_holds_them", |b| {
        b.iter_batched(
            || {
                let state = full.clone();
                let view = state.clone();
                (state, view)
            },
            |(mut state, view)| {
                for i in 0..BLOCK {
                    let miner = miners[(i % MINERS) as usize];
                    let id = SubmissionId(blake2b_256(&[u64::MAX.to_le_bytes(), i.to_le_bytes()].concat()));
                    state.replays.entry(miner).or_default().record(after + i, id);
                }
                (state, view)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Live submissions in the state at the snapshot height measured.
const LIVE: u64 = 100_000;

/// The genesis state holding [`LIVE`] committed submissions, each evaluated by `validators`.
fn live_submissions(validators: u64) -> AppState {
    let mut state = genesis();
    let keys = hotkeys("Validator", validators);
    let miners = hotkeys("Miner", MINERS);
    let challenge = ChallengeId::new("regression").expect("id");
    for i in 0..LIVE {
        let id = blake2b_256(&i.to_le_bytes());
        let mut evaluations = Evaluations::default();
        for key in &keys {
            evaluations.insert(*key, (EvaluationStatus::Scored, 500_000_000, id));
        }
        let committed = Committed {
            challenge: challenge.clone(),
            miner: miners[(i % MINERS) as usize],
            height: Height::new(i / BLOCK),
            block_hash: Hash::ZERO,
            epoch: Epoch::new(0),
            evaluations,
            revealed: None,
        };
        state.submissions.insert(SubmissionId(id), Arc::new(committed));
    }
    state
}

/// The snapshot a capture gives once encoded, at a made-up snapshot height.
fn snapshot_of(capture: &Capture) -> Snapshot {
    capture.snapshot(Height::new(1), Hash::ZERO, Hash::ZERO, Hash::ZERO)
}

/// What a snapshot height costs: encoding the captured state (on the snapshot writer's thread
/// since session 40, on the event loop before), and what the snapshot height's block still does
/// on the loop once the capture is encoded.
fn snapshot_height(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_height");
    group.sample_size(10);
    let fresh = genesis();
    group.bench_function("baseline_genesis", |b| {
        b.iter(|| {
            let capture = black_box(&fresh).capture();
            capture.encode();
            snapshot_of(&capture)
        })
    });
    for validators in [4, 16] {
        let state = live_submissions(validators);
        let name = format!("{LIVE}_live_submissions_{validators}_evaluations_each");
        group.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| {
                let capture = black_box(&state).capture();
                capture.encode();
                snapshot_of(&capture)
            })
        });
        let capture = state.capture();
        capture.encode();
        let name = format!("on_the_loop_encoded_ahead_{name}");
        group.bench_function(name, |b| b.iter(|| snapshot_of(black_box(&capture))));
    }
    group.finish();
}

criterion_group!(benches, read_view_copy, record_block, snapshot_height);
criterion_main!(benches);
