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
//! And an epoch's weights committing with those 100 000 submissions final: the block's commit
//! retiring them all against an empty block's commit; then holding them for the snapshot
//! writer's thread (the event loop's part) and storing them (that thread's).
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
use platform_app::{ChallengeEntry, Context};
use platform_node::records::Records;
use platform_storage::RocksStore;
use platform_types::{
    Action, Block, BlockHeaderFields, BlockRef, ChallengeId, ChallengeSpec, Epoch, EvaluationStatus, Hash, Height,
    Keypair, MechanismId, NetUid, Phases, PublicKey, RuntimePolicy, ScoringConfig, SubmissionId, Uid, Validator,
    ValidatorSet, VerifiedEnvelopes, WeightsProposal, blake2b_256,
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

/// The state of [`live_submissions`] with its 4 evaluators as the validator set, its challenge
/// registered and weights last committed in epoch 0: every live submission is final and retires
/// with the next weights.
fn retiring_state() -> AppState {
    let mut state = live_submissions(4);
    let validators = hotkeys("Validator", 4);
    state.registry.validators = ValidatorSet {
        epoch: Epoch::new(0),
        validators: (0u16..)
            .zip(&validators)
            .map(|(uid, hotkey)| Validator { hotkey: *hotkey, uid: Uid::new(uid), stake: 1 })
            .collect(),
    };
    let id = ChallengeId::new("regression").expect("id");
    let spec = ChallengeSpec {
        id: id.clone(),
        name: "regression".into(),
        module_hash: Hash::ZERO,
        module_size: 0,
        policy: RuntimePolicy::default(),
        scoring: ScoringConfig::default(),
        mechanism: MechanismId::new(0),
        emission_share_ppb: 1_000_000_000,
        params: Vec::new(),
        phases: Phases::One,
    };
    state.registry.challenges.insert(id.as_str().to_owned(), ChallengeEntry { spec, since: Height::new(0) });
    let mut ids: Vec<(Height, SubmissionId)> = state.submissions.iter().map(|(id, c)| (c.height, *id)).collect();
    ids.sort();
    state.by_challenge.insert(id.as_str().to_owned(), ids.into_iter().map(|(_, id)| id).collect());
    state.registry.weights_epoch = Some(Epoch::new(0));
    state.tip.height = Height::new(LIVE / BLOCK + 1);
    state
}

/// A block of `epoch` after `state`'s tip holding `actions`.
fn block_after(state: &AppState, epoch: u64, actions: Vec<Action>) -> Block {
    let fields = BlockHeaderFields {
        height: state.tip.height.next(),
        epoch: Epoch::new(epoch),
        chain: BlockRef { number: 0, hash: Hash::ZERO },
        parent_hash: state.tip.hash,
        parent_state_root: state.tip.state_root,
        proposer: hotkeys("Validator", 1)[0],
        validators_hash: Hash::ZERO,
    };
    Block::new(fields, actions)
}

/// An epoch's weights committing: retiring every final submission (with the EMA's memory
/// recomputed) in the block's commit on the event loop, then writing the retired submissions
/// to the store, also on the loop (`ordering.rs`), against an empty block applied to the same
/// state in the same run.
fn epoch_transition(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch_transition");
    group.sample_size(10);
    let state = retiring_state();
    let verified = VerifiedEnvelopes::new(16);
    let ctx = Context {
        netuid: NetUid::new(1),
        sudo: &[],
        metagraph_at: &|_| None,
        chain: None,
        min_stake: 0,
        lookup: &|_| None,
        verified: &verified,
    };
    let weights =
        block_after(&state, 1, vec![Action::Weights(WeightsProposal { epoch: Epoch::new(1), mechanisms: Vec::new() })]);
    let empty = block_after(&state, 0, Vec::new());
    // The node's read view holds a copy of the state while the block applies.
    let copies = || (state.clone(), state.clone());
    let apply = |block: &Block, (mut state, view): (AppState, AppState)| {
        let effects = state.apply_block(block, &ctx);
        (state, view, effects)
    };
    group.bench_function("baseline_empty_block", |b| {
        b.iter_batched(copies, |pair| apply(&empty, pair), BatchSize::PerIteration)
    });
    let retiring = format!("weights_retiring_{LIVE}_submissions_4_evaluations_each");
    group.bench_function(&retiring, |b| b.iter_batched(copies, |pair| apply(&weights, pair), BatchSize::PerIteration));
    let (_, _, effects) = apply(&weights, copies());
    assert_eq!(effects.retired.len() as u64, LIVE, "every submission retires");
    let dir = tempfile::tempdir().expect("tempdir");
    let records = Records::new(Arc::new(RocksStore::open(dir.path()).expect("store")));
    // What the loop does with them since session 40 (holds them, readable, for the snapshot
    // writer's thread), and what that thread does (stores them; the loop did before).
    group.bench_function(format!("hold_the_{LIVE}_retired"), |b| {
        b.iter_batched(|| effects.retired.clone(), |retired| records.hold_retired(retired), BatchSize::PerIteration)
    });
    group.bench_function(format!("store_the_{LIVE}_retired"), |b| {
        b.iter(|| records.put_retired(black_box(&effects.retired)).expect("stored"))
    });
    group.finish();
}

criterion_group!(benches, read_view_copy, record_block, snapshot_height, epoch_transition);
criterion_main!(benches);
