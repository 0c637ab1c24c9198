//! State snapshots: a restart from one equals the full replay, the root covers the whole
//! state, and a tampered snapshot from a peer is refused.

use crate::common::*;

/// A history with every kind of state: challenges, submissions of two miners, evaluations,
/// committed weights with an EMA memory. Snapshots every 3 heights; returns the blocks, the
/// state after them, and each snapshot taken with the state it was taken of.
fn history_with_snapshots(net: &mut Net) -> (Vec<Block>, AppState, Vec<(platform_app::Snapshot, AppState)>) {
    let mut state = net.genesis();
    state.snapshot_interval = 3;
    net.see_chain_up_to(10);
    let mut blocks = Vec::new();
    let mut snapshots = Vec::new();
    let mut commit = |net: &Net, state: &mut AppState, actions: Vec<Action>| {
        let block = net.next_block(state, actions);
        net.check(state, &block).expect("valid");
        if let Some(snapshot) = net.apply(state, &block).snapshot {
            snapshots.push((snapshot, state.clone()));
        }
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
    (blocks, state, snapshots)
}

/// Restart from a snapshot equals restart by full replay: from every snapshot of a history,
/// applying the blocks after it gives the same tip, root, registry, submissions and memory.
#[test]
fn a_state_restored_from_a_snapshot_equals_the_full_replay() {
    let mut net = Net::new();
    let (blocks, state, snapshots) = history_with_snapshots(&mut net);
    assert!(snapshots.len() >= 5, "{} snapshots", snapshots.len());
    assert!(!state.smoothed.is_empty());
    assert_eq!(state.submissions.len(), 4, "the four final before the weights retired with them");
    assert!(!state.retired.is_empty() && !state.replays.is_empty());
    for (snapshot, at) in &snapshots {
        let height = snapshot.manifest.height;
        assert_eq!(height.get() % 3, 0, "snapshots at multiples of the interval only");
        let mut restored = AppState::from_snapshot(snapshot, 3).expect("own snapshot");
        assert_eq!(restored.tip, at.tip, "the snapshot's root is the state root at {height}");
        for block in blocks.iter().filter(|b| b.header.height > height) {
            net.apply(&mut restored, block);
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
        assert_eq!(ids(&restored), ids(&state));
    }
}

/// The root at a snapshot height covers the whole state: two states that differ only in a
/// submission's evaluations (which the chained root before did not cover) get different roots.
#[test]
fn the_root_at_a_snapshot_height_covers_every_submission() {
    let mut net = Net::new();
    let (_, _, snapshots) = history_with_snapshots(&mut net);
    let (snapshot, at) = snapshots.last().expect("a snapshot");
    let mut other = at.clone();
    let id = *other.submissions.iter().find(|(_, c)| !c.evaluations.is_empty()).expect("an evaluated submission").0;
    std::sync::Arc::make_mut(other.submissions.get_mut(&id).expect("held")).evaluations.clear();
    let prev_root = snapshot.manifest.prev_root;
    assert_ne!(other.snapshot(prev_root).manifest.root(), snapshot.manifest.root());
    assert_eq!(at.snapshot(prev_root), *snapshot, "the encoding is deterministic");
}

/// A snapshot from a peer is checked before anything of it is used: a manifest that does not
/// give the certified root, a chunk that does not match, a chunk count that does not fit.
#[test]
fn a_tampered_snapshot_is_refused() {
    use platform_app::SnapshotError;
    let mut net = Net::new();
    let (_, _, snapshots) = history_with_snapshots(&mut net);
    let (good, _) = snapshots.last().expect("a snapshot");
    let (height, root) = (good.manifest.height, good.manifest.root());
    assert_eq!(good.manifest.check(height, &root), Ok(()));
    assert_eq!(good.manifest.check(height.next(), &root), Err(SnapshotError::Root), "another height");
    assert_eq!(good.manifest.check(height, &Hash::from_bytes([9; 32])), Err(SnapshotError::Root), "another root");

    let mut lying = good.clone();
    lying.manifest.prev_root = Hash::from_bytes([1; 32]);
    assert_eq!(lying.manifest.check(height, &root), Err(SnapshotError::Root), "a manifest changed");

    let mut flipped = good.clone();
    flipped.chunks[0][10] ^= 1;
    assert_eq!(flipped.manifest.check_chunk(0, &flipped.chunks[0]), Err(SnapshotError::Chunk(0)));
    assert!(matches!(AppState::from_snapshot(&flipped, 3), Err(SnapshotError::Chunk(0))));

    let mut short = good.clone();
    short.chunks[0].pop();
    assert_eq!(short.manifest.check_chunk(0, &short.chunks[0]), Err(SnapshotError::Chunk(0)), "a chunk cut short");

    let mut padded = good.clone();
    padded.manifest.len += 1;
    assert!(matches!(padded.manifest.check(height, &root), Err(SnapshotError::Root)), "length is covered");
    let mut huge = good.clone();
    huge.manifest.chunks = vec![Hash::ZERO; platform_app::snapshot::MAX_CHUNKS + 1];
    assert!(matches!(huge.manifest.check(height, &root), Err(SnapshotError::Manifest(_))), "too many chunks");
}
