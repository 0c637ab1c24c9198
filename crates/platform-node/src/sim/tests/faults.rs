//! Crashes, restarts, snapshots, partitions, stalls and lost messages.

use std::time::Duration;

use crate::sim::actions::challenge_and_submissions;
use crate::sim::net::Net;
use crate::sim::*;

/// The network is cut twice, the cut moving (one validator off, then two others), while a
/// Byzantine leader lies: nothing is lost for good — once the cut heals every validator has
/// the same blocks and the honest ones set the same weights for every epoch.
#[test]
fn a_moving_partition_heals_and_every_promise_holds() {
    for seed in 0..4 {
        let scenario = Scenario {
            validators: 4,
            byzantine: 1,
            behaviour: Behaviour::WrongWeights,
            seed,
            epochs: 2,
            restart: false,
            partitions: true,
            set_change: false,
            tempo_change: false,
            loss_permille: 0,
        };
        run(&scenario).unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }
    // The cut does cut: a run with it loses messages.
    let mut net = Net::new(4, 3);
    net.cuts.push(crate::sim::net::Cut { side: vec![2], from: Duration::ZERO, until: Duration::from_millis(500) });
    net.run_to(3, Duration::from_secs(30)).expect("three of four commit");
    assert!(net.cut_off > 0);
    // Validator 2 hears nothing while cut off: all four at height 3 only after the cut healed
    // (without the cut, four validators commit three blocks in about 100 ms).
    assert!(net.elapsed >= Duration::from_millis(500), "{:?}", net.elapsed);
}

/// Hole found by the sweep (n = 7, two silent, seed 44): a block prepared by a quorum just
/// before the network was cut had to be re-proposed in every later view (PBFT), but after the
/// stall its chain link was more than `CHAIN_LAG` blocks behind the chain, so every validator
/// refused it in every view and nothing else could be proposed: the network never committed
/// again. A re-proposed prepared block is now checked by the rules any validator can
/// recompute, its link's freshness having been checked by the quorum that prepared it.
#[test]
fn a_block_prepared_before_a_long_stall_is_committed_after_it() {
    let scenario = Scenario {
        validators: 7,
        byzantine: 2,
        behaviour: Behaviour::Silent,
        seed: 44,
        epochs: 2,
        restart: true,
        partitions: true,
        set_change: false,
        tempo_change: false,
        loss_permille: 0,
    };
    run(&scenario).unwrap_or_else(|v| panic!("{v}"));
}

/// Hole found by the sweep (n = 16, five silent, 1 % loss, seed 1): a validator that missed a
/// submission's gossip waited for the body when a proposal ordered it, then refused the
/// proposal, in every view: with exactly a quorum running, nothing committed again. The bodies a
/// proposal orders that a validator lacks are now asked of its peers at once.
#[test]
fn a_validator_that_missed_a_submission_fetches_it_to_vote() {
    let scenario = Scenario {
        validators: 16,
        byzantine: 5,
        behaviour: Behaviour::Silent,
        seed: 1,
        epochs: 2,
        restart: true,
        partitions: true,
        set_change: true,
        tempo_change: false,
        loss_permille: 10,
    };
    run(&scenario).unwrap_or_else(|v| panic!("{v}"));
}

/// With exactly a quorum running and 1 % of messages lost, a lost vote or view change used to
/// cost a whole view, each twice as long as the last: after its second weights the network
/// committed nothing for minutes (found by the durability check above: the late submission was
/// never ordered). The consensus machine now sends its messages of the round again at every tick.
#[test]
fn with_exactly_a_quorum_running_and_lost_messages_a_late_submission_is_still_ordered() {
    let scenario = Scenario {
        validators: 16,
        byzantine: 5,
        behaviour: Behaviour::Silent,
        seed: 1,
        epochs: 2,
        restart: true,
        partitions: false,
        set_change: true,
        tempo_change: false,
        loss_permille: 10,
    };
    run(&scenario).unwrap_or_else(|v| panic!("{v}"));
}

/// A validator crashes after a few blocks and starts again from its store (state replayed
/// from the stored blocks, its consensus safety record kept): it catches up through the sync
/// server of the others and ends with the same blocks and the same weights.
#[test]
fn a_validator_restarted_from_its_store_catches_up_and_agrees() {
    let mut net = Net::new(4, 21);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(4, Duration::from_secs(30)).expect("commits");
    let before = net.nodes[2].state.tip.height.get();
    net.restart(2);
    assert_eq!(net.nodes[2].state.tip.height.get(), before, "the state is replayed from the stored blocks");
    net.run_until(Duration::from_secs(120), |net| net.weights.iter().all(|w| w.len() >= 2)).expect("weights");
    let height = net.nodes.iter().map(|n| n.state.tip.height.get()).min().expect("nodes") as usize;
    assert!(height > before as usize, "the restarted validator went on");
    let first = net.blocks(0, height);
    assert!((1..4).all(|i| net.blocks(i, height) == first), "the same blocks on all four");
    assert!(net.weights.iter().all(|w| w[..2] == net.weights[0][..2]), "the same weights: {:?}", net.weights);
}

/// A restart starts from the newest stored snapshot and applies only the blocks after it; a
/// snapshot whose chunk was damaged on disk is skipped for the one before it, and with none
/// usable the state is replayed from genesis: the same state every way.
#[test]
fn a_restart_starts_from_the_newest_usable_snapshot() {
    let mut net = Net::new(4, 21);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(7, Duration::from_secs(30)).expect("commits");
    let node = &net.nodes[2];
    let held = node.state.tip;
    let manifests = node.records.snapshot_manifests().expect("listed");
    let heights: Vec<u64> = manifests.iter().map(|m| m.height.get()).collect();
    let newest = held.height.get() / 2 * 2;
    assert_eq!(heights, vec![newest, newest - 2], "the newest two snapshots are kept");
    let genesis =
        platform_app::weights::validator_set(&net.metagraph, node.cfg.min_stake_rao, platform_types::Epoch::new(0))
            .expect("set");
    let owner: Vec<_> = net.metagraph.owner_hotkey.into_iter().collect();
    let replay = || {
        let verified = platform_types::VerifiedEnvelopes::new(64);
        crate::recovery::replay(&node.records, genesis.clone(), &node.cfg, &owner, &verified).expect("replays").0.tip
    };
    let start = || crate::recovery::starting_state(&node.records, genesis.clone(), 2).tip.height.get();
    // Each holds the state one block (half the interval of 2) below its height.
    assert_eq!((start(), replay()), (newest - 1, held));

    let damage = |height: platform_types::Height| {
        let key = crate::snapshots::chunk_key(height, 0);
        node.records.store().put(platform_storage::Column::Registry, &key, b"damaged").expect("written");
    };
    damage(manifests[0].height);
    assert_eq!((start(), replay()), (newest - 3, held), "the damaged newest is skipped");
    damage(manifests[1].height);
    assert_eq!((start(), replay()), (0, held), "with none usable, from genesis");
}

/// What a joiner believes of a snapshot offer: a validator's own offer (its newest snapshot and
/// the checkpoint after it) passes against the set the chain gives; a manifest changed on the
/// way, a certificate short of a quorum, or a checkpoint of another block is a forgery; an offer
/// whose signers no longer hold two thirds of the stake the chain gives cannot be believed.
#[test]
fn a_snapshot_offer_is_believed_only_with_a_certificate_the_chain_backs() {
    use crate::state_sync::{Refusal, check_offer};
    let mut net = Net::new(4, 5);
    net.run_to(9, Duration::from_secs(30)).expect("commits");
    let node = &net.nodes[1];
    let (checkpoint, manifest) = node.records.snapshot_offer().expect("an offer");
    assert_eq!(checkpoint.header.height, manifest.height.next());
    let netuid = node.cfg.netuid;
    let chain =
        platform_app::weights::validator_set(&net.metagraph, node.cfg.min_stake_rao, platform_types::Epoch::new(0))
            .expect("set");
    assert_eq!(check_offer(&checkpoint, &manifest, netuid, &chain), Ok(()));
    let snapshot = node.records.snapshot(&manifest).expect("read").expect("whole");
    assert_eq!(manifest.root(), checkpoint.header.parent_state_root);
    let restored = platform_app::AppState::from_snapshot(&snapshot, 2).expect("decodes");
    assert_eq!(restored.tip.height, manifest.captured);
    let (after, _) = node.records.blocks_from(manifest.captured.get() + 1, 1).expect("read").remove(0);
    assert_eq!(restored.tip.state_root, after.header.parent_state_root, "the state captured is the chain's");

    let forged = |r: Result<(), Refusal>| matches!(r, Err(Refusal::Forged(_)));
    let mut other_root = manifest.clone();
    other_root.prev_root = platform_types::Hash::from_bytes([7; 32]);
    assert!(forged(check_offer(&checkpoint, &other_root, netuid, &chain)), "a changed manifest");
    let mut short = checkpoint.clone();
    short.commit.votes.truncate(2);
    assert!(forged(check_offer(&short, &manifest, netuid, &chain)), "two of four votes");
    let older = node.records.checkpoint(platform_types::Height::new(manifest.height.get() - 1)).expect("stored");
    assert!(forged(check_offer(&older, &manifest, netuid, &chain)), "the checkpoint of another snapshot");

    // The chain now gives most of the stake to a validator that did not sign.
    let mut moved = chain.clone();
    moved.validators[0].stake *= 100;
    let signers: Vec<_> = checkpoint.commit.votes.iter().map(|v| v.signer).collect();
    if !signers.contains(&moved.validators[0].hotkey) {
        assert!(matches!(check_offer(&checkpoint, &manifest, netuid, &moved), Err(Refusal::Unproven(_))));
    }
    let newcomer = platform_types::Validator {
        hotkey: platform_types::Keypair::from_suri("//Newcomer").expect("key").public(),
        uid: platform_types::Uid::new(99),
        stake: moved.validators.iter().map(|v| v.stake).sum::<u64>() * 2,
    };
    moved.validators.push(newcomer);
    assert!(matches!(check_offer(&checkpoint, &manifest, netuid, &moved), Err(Refusal::Unproven(_))));
}

/// Nothing acknowledged is lost across a restart: a validator acknowledges a submission (written
/// to its store, answered) and crashes before relaying it to anyone; started again from its
/// store, it relays it, and every validator orders it.
#[test]
fn a_submission_acknowledged_just_before_a_crash_is_ordered_after_the_restart() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_to(3, LIMIT).expect("runs");
    let late = clients::acknowledge_then_crash(&mut net, 3, &miner).expect("acknowledged");
    assert!((0..3).all(|i| net.nodes[i].mempool.get(&late.id).is_none()), "only the crashed one has it");
    net.restart(3);
    net.run_until(Duration::from_secs(60), |net| (0..4).all(|i| late.ordered_by(net, i))).expect("ordered by all");
}

/// Submissions leave the state after the weights that follow them and are kept in the store:
/// every committed submission is in the state or retired on disk, final, and its status still
/// answers; the later weights still reward the miner, whose submissions all retired.
#[test]
fn committed_submissions_retire_to_the_store_and_still_count() {
    let mut net = Net::new(4, 31);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(120), |net| net.weights.iter().all(|w| w.len() >= 3)).expect("weights");
    let node = &net.nodes[0];
    let height = node.state.tip.height.get() as usize;
    let ids: Vec<platform_types::SubmissionId> = node
        .records
        .blocks_from(1, height)
        .expect("read")
        .iter()
        .flat_map(|(b, _)| b.actions.clone())
        .filter_map(|a| match a {
            Action::Submission(id) => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 6);
    let retired: Vec<_> = ids.iter().filter_map(|id| node.records.retired(id)).collect();
    assert_eq!(retired.len(), 6, "all six retired ({} still in the state)", node.state.submissions.len());
    assert!(node.state.submissions.is_empty());
    assert!(retired.iter().all(|c| c.is_final(&node.state.registry.validators)));
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    let last = net.weights[0].last().expect("weights");
    assert!(last.mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "still rewarded: {last:?}");
    let view = crate::view::ReadView { state: node.state.clone(), ..crate::view::ReadView::starting() };
    let status = view.submission_status(&ids[0], &node.records);
    assert_eq!((status["retired"].as_bool(), status["final"].as_bool()), (Some(true), Some(true)), "{status}");
}
