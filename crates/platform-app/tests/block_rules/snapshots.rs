//! State snapshots: a restart from one equals the full replay, the root covers the whole
//! state, and a tampered snapshot from a peer is refused.

use crate::common::*;

/// Blocks between snapshot heights in these histories, and so between a capture and its
/// snapshot height (half of it).
const INTERVAL: u64 = 4;
const LAG: u64 = INTERVAL / 2;

/// A history with every kind of state: challenges, submissions of two miners, evaluations,
/// committed weights with an EMA memory. Snapshots every [`INTERVAL`] heights; returns the
/// blocks, the state after each (index: height), and each snapshot taken.
fn history_with_snapshots(net: &mut Net) -> (Vec<Block>, Vec<AppState>, Vec<platform_app::Snapshot>) {
    let mut state = net.genesis();
    state.snapshot_interval = INTERVAL;
    net.see_chain_up_to(10);
    let mut blocks = Vec::new();
    let mut states = vec![state.clone()];
    let mut snapshots = Vec::new();
    let mut commit = |net: &Net, state: &mut AppState, actions: Vec<Action>| {
        let block = net.next_block(state, actions);
        net.check(state, &block).expect("valid");
        let effects = net.apply(state, &block);
        assert_eq!(effects.capture.is_some(), state.is_capture_height(block.header.height));
        snapshots.extend(effects.snapshot);
        states.push(state.clone());
        blocks.push(block);
    };
    let scoring = ScoringConfig { ema_alpha_ppb: 500_000_000, ..ScoringConfig::default() };
    let add = net.add_scored_challenge("alpha", scoring);
    commit(net, &mut state, vec![add]);
    let add = net.add_challenge("beta");
    commit(net, &mut state, vec![add]);
    let rival = net.rival.public();
    for tag in 1..=8u8 {
        let challenge = if tag % 2 == 0 { "alpha" } else { "beta" };
        let (id, submit) =
            if tag % 3 == 0 { net.submission_by(challenge, tag, rival) } else { net.submission(challenge, tag) };
        commit(net, &mut state, vec![submit]);
        let epoch = state.submissions[&id].epoch;
        let evaluations =
            net.validators.iter().map(|v| net.scored(v, id, challenge, epoch, 100_000_000 * u32::from(tag))).collect();
        commit(net, &mut state, evaluations);
        if tag == 4 {
            net.see_chain_up_to(30);
            let read = net.read_at(30);
            let weights = weights::compute(&state, &read, epoch_at(30));
            commit(net, &mut state, vec![Action::Metagraph(read), Action::Weights(weights)]);
        }
    }
    (blocks, states, snapshots)
}

/// Restart from a snapshot equals restart by full replay: from every snapshot of a history,
/// the restored state is the one captured [`LAG`] blocks below the snapshot height, and
/// applying the blocks after it gives the same tip, root, registry, submissions and memory.
#[test]
fn a_state_restored_from_a_snapshot_equals_the_full_replay() {
    let mut net = Net::new();
    let (blocks, states, snapshots) = history_with_snapshots(&mut net);
    let state = states.last().expect("a state");
    assert!(snapshots.len() >= 4, "{} snapshots", snapshots.len());
    assert!(!state.smoothed.is_empty());
    assert_eq!(state.submissions.len(), 4, "the four final before the weights retired with them");
    assert!(!state.retired.is_empty() && !state.replays.is_empty());
    for snapshot in &snapshots {
        let (height, captured) = (snapshot.manifest.height, snapshot.manifest.captured);
        assert_eq!(height.get() % INTERVAL, 0, "snapshots at multiples of the interval only");
        assert_eq!(captured.get(), height.get() - LAG, "of the state {LAG} blocks below");
        assert_eq!(states[height.get() as usize].tip.state_root, snapshot.manifest.root(), "the root covers it");
        let mut restored = AppState::from_snapshot(snapshot, INTERVAL).expect("own snapshot");
        assert_eq!(restored.tip, states[captured.get() as usize].tip, "the state captured at {captured}");
        for block in blocks.iter().filter(|b| b.header.height > captured) {
            net.apply(&mut restored, block);
            let at = &states[block.header.height.get() as usize];
            assert_eq!(restored.tip, at.tip, "the root at {} after restoring {height}", block.header.height);
        }
        assert_eq!(restored.tip, state.tip, "from {height}");
        assert_eq!(restored.registry, state.registry);
        assert_eq!(restored.smoothed, state.smoothed);
        assert_eq!(restored.champions, state.champions);
        assert_eq!(restored.by_challenge, state.by_challenge);
        assert_eq!(restored.retired, state.retired);
        assert_eq!(restored.replays, state.replays);
        let ids = |s: &AppState| {
            let mut v: Vec<_> = s.submissions.iter().map(|(id, c)| (*id, c.height, c.evaluations.clone())).collect();
            v.sort_by_key(|(id, ..)| *id);
            v
        };
        assert_eq!(ids(&restored), ids(state));
    }
}

/// The snapshot a snapshot height's root covers of the captured state, as a manifest gives it.
fn snapshot_of(state: &AppState, like: &platform_app::Manifest) -> platform_app::Snapshot {
    snapshot_of_capture(&state.capture(), like)
}

/// The root at a snapshot height covers the whole captured state: two states that differ only
/// in a submission's evaluations (which the chained root before did not cover) get different
/// roots.
#[test]
fn the_root_at_a_snapshot_height_covers_every_submission() {
    let mut net = Net::new();
    let (_, states, snapshots) = history_with_snapshots(&mut net);
    let snapshot = snapshots.last().expect("a snapshot");
    let at = &states[snapshot.manifest.captured.get() as usize];
    let mut other = at.clone();
    let id = *other.submissions.iter().find(|(_, c)| !c.evaluations.is_empty()).expect("an evaluated submission").0;
    std::sync::Arc::make_mut(other.submissions.get_mut(&id).expect("held")).evaluations.clear();
    assert_ne!(snapshot_of(&other, &snapshot.manifest).manifest.root(), snapshot.manifest.root());
    assert_eq!(snapshot_of(at, &snapshot.manifest), *snapshot, "the encoding is deterministic");
}

/// Applying a capture height's block does not encode the state: the node hands the capture to
/// another thread, and the snapshot height's block, [`LAG`] blocks later, takes the encoding
/// that thread made instead of encoding the state again on the caller's.
#[test]
fn a_snapshot_height_takes_the_capture_encoded_ahead_on_another_thread() {
    let mut net = Net::new();
    let mut state = net.genesis();
    state.snapshot_interval = INTERVAL;
    net.see_chain_up_to(10);
    let add = net.add_challenge("alpha");
    let block = net.next_block(&state, vec![add]);
    net.apply(&mut state, &block);
    let mut capture = None;
    while capture.is_none() {
        let (_, submit) = net.submission("alpha", state.tip.height.get() as u8 + 1);
        let block = net.next_block(&state, vec![submit]);
        capture = net.apply(&mut state, &block).capture;
    }
    let capture = capture.expect("captured");
    assert_eq!(capture.height(), state.tip.height);
    assert!(!capture.is_encoded(), "applying the capture height's block encodes nothing");
    let encoder = std::thread::spawn({
        let capture = capture.clone();
        move || capture.encode()
    });
    encoder.join().expect("encoded");
    assert!(capture.is_encoded());
    let mut snapshot = None;
    for _ in 0..LAG {
        let (_, submit) = net.submission("alpha", state.tip.height.get() as u8 + 1);
        let block = net.next_block(&state, vec![submit]);
        snapshot = net.apply(&mut state, &block).snapshot;
    }
    let snapshot = snapshot.expect("a snapshot at the snapshot height");
    assert_eq!(snapshot.manifest.captured, capture.height());
    let encoded_ahead = snapshot_of_capture(&capture, &snapshot.manifest);
    assert!(std::sync::Arc::ptr_eq(&snapshot.chunks, &encoded_ahead.chunks), "the chunks encoded ahead, not new ones");
    assert_eq!(state.tip.state_root, snapshot.manifest.root());
    assert!(state.captured.is_none(), "the capture is let go once its snapshot height is applied");
}

/// The snapshot a capture gives at the snapshot height a manifest names.
fn snapshot_of_capture(
    capture: &platform_app::snapshot::Capture,
    like: &platform_app::Manifest,
) -> platform_app::Snapshot {
    capture.snapshot(like.height, like.block_hash, like.prev_root, like.registry_hash)
}

/// A snapshot from a peer is checked before anything of it is used: a manifest that does not
/// give the certified root, a chunk that does not match, a chunk count that does not fit.
#[test]
fn a_tampered_snapshot_is_refused() {
    use platform_app::SnapshotError;
    let mut net = Net::new();
    let (_, _, snapshots) = history_with_snapshots(&mut net);
    let good = snapshots.last().expect("a snapshot");
    let (height, root) = (good.manifest.height, good.manifest.root());
    assert_eq!(good.manifest.check(height, &root), Ok(()));
    assert_eq!(good.manifest.check(height.next(), &root), Err(SnapshotError::Root), "another height");
    assert_eq!(good.manifest.check(height, &Hash::from_bytes([9; 32])), Err(SnapshotError::Root), "another root");

    let mut lying = good.clone();
    lying.manifest.prev_root = Hash::from_bytes([1; 32]);
    assert_eq!(lying.manifest.check(height, &root), Err(SnapshotError::Root), "a manifest changed");
    let mut elsewhen = good.clone();
    elsewhen.manifest.captured = elsewhen.manifest.captured.next();
    assert_eq!(elsewhen.manifest.check(height, &root), Err(SnapshotError::Root), "the capture height is covered");
    assert!(
        matches!(AppState::from_snapshot(&elsewhen, INTERVAL), Err(SnapshotError::Body(_))),
        "a state captured at another height than the manifest says"
    );
    let mut above = good.clone();
    above.manifest.captured = height;
    assert!(matches!(above.manifest.check(height, &root), Err(SnapshotError::Manifest(_))), "captured at its height");

    let mut flipped = good.clone();
    std::sync::Arc::make_mut(&mut flipped.chunks)[0][10] ^= 1;
    assert_eq!(flipped.manifest.check_chunk(0, &flipped.chunks[0]), Err(SnapshotError::Chunk(0)));
    assert!(matches!(AppState::from_snapshot(&flipped, INTERVAL), Err(SnapshotError::Chunk(0))));

    let mut short = good.clone();
    std::sync::Arc::make_mut(&mut short.chunks)[0].pop();
    assert_eq!(short.manifest.check_chunk(0, &short.chunks[0]), Err(SnapshotError::Chunk(0)), "a chunk cut short");

    let mut padded = good.clone();
    padded.manifest.len += 1;
    assert!(matches!(padded.manifest.check(height, &root), Err(SnapshotError::Root)), "length is covered");
    let mut huge = good.clone();
    huge.manifest.chunks = vec![Hash::ZERO; platform_app::snapshot::MAX_CHUNKS + 1];
    assert!(matches!(huge.manifest.check(height, &root), Err(SnapshotError::Manifest(_))), "too many chunks");
}
