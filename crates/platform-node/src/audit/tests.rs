use std::time::Duration;

use platform_app::Committed;
use platform_types::{Action, EvaluationStatus, Keypair};

use super::*;
use crate::sim::actions::challenge_and_submissions;
use crate::sim::net::Net;

fn options(net: &Net) -> AuditOptions {
    AuditOptions {
        netuid: net.nodes[0].cfg.netuid,
        sudo: Vec::new(),
        min_stake_rao: net.nodes[0].cfg.min_stake_rao,
        snapshot_interval: net.nodes[0].cfg.snapshot_interval,
        sample: 1,
    }
}

/// Four simulated validators through a challenge, six submissions and an epoch's weights.
fn history() -> Net {
    let mut net = Net::new(4, 11);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(60), |net| net.weights.iter().all(|w| !w.is_empty())).expect("weights");
    net
}

#[test]
fn an_honest_history_agrees_block_by_block_and_epoch_by_epoch() {
    let net = history();
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let report = replay(&net.nodes[1].records, &options(&net), Some(&runtime)).expect("replays");
    assert_eq!(report.started_from, "genesis");
    assert_eq!(report.last_height, net.nodes[1].state.tip.height.get());
    assert_eq!(report.blocks, report.last_height);
    assert!(report.broken.is_empty(), "{:?}", report.broken);
    assert!(!report.epochs.is_empty(), "the epoch's weights were committed");
    assert!(report.epochs.iter().all(|e| e.recomputed == Agreement::Agreed));
    // Every submission run again with the module the owner signed: every validator's verdict
    // is the re-run's.
    let e = &report.evaluations;
    assert_eq!((e.rerun, e.agreed, e.differing.len()), (6, 24, 0), "{e:?}");
    assert!(e.not_rerun.is_empty(), "{e:?}");
    assert!(!report.differs());
}

/// A source that changed a committed block (here the weights it committed) cannot show a
/// certificate for it: the replay stops there, loudly.
#[test]
fn a_block_changed_after_commit_fails_its_certificate() {
    let net = history();
    let records = &net.nodes[2].records;
    let height = net.nodes[2].state.tip.height.get();
    let (at, mut block, certificate) = (1..=height)
        .find_map(|h| {
            let (block, certificate) = records.blocks_from(h, 1).ok()?.into_iter().next()?;
            block.actions.iter().any(|a| matches!(a, Action::Weights(_))).then_some((h, block, certificate))
        })
        .expect("a block committing weights");
    for action in &mut block.actions {
        if let Action::Weights(proposal) = action {
            proposal.mechanisms[0].weights[0] ^= 1;
        }
    }
    let block = Block::new(block.header.fields(), block.actions);
    records.put_block(&block, &certificate).expect("stored");
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let report = replay(records, &options(&net), Some(&runtime)).expect("replays");
    assert_eq!(report.last_height, at - 1, "the replay stops before the changed block");
    assert_eq!(report.broken.len(), 1, "{:?}", report.broken);
    assert_eq!(report.broken[0].height, at);
    assert!(report.broken[0].reason.contains("certificate"), "{}", report.broken[0].reason);
    assert!(report.differs());
}

/// A source that claims another genesis validator set: no block certifies under it.
#[test]
fn a_forged_genesis_set_certifies_nothing() {
    let net = history();
    let records = &net.nodes[3].records;
    let mut genesis = records.genesis().expect("readable").expect("stored");
    for (i, validator) in genesis.validators.iter_mut().enumerate() {
        validator.hotkey = Keypair::from_suri(&format!("//Forger{i}")).expect("key").public();
    }
    records.put_genesis(&genesis).expect("stored");
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let report = replay(records, &options(&net), Some(&runtime)).expect("replays");
    assert_eq!((report.blocks, report.broken.len()), (0, 1), "{:?}", report.broken);
}

/// A verdict a validator signed that the re-run does not give is named with its validator.
#[test]
fn differing_verdicts_are_counted_per_validator() {
    let key = |s: &str| Keypair::from_suri(s).expect("key").public();
    let mut committed = Committed {
        challenge: platform_types::ChallengeId::new("c").expect("id"),
        miner: key("//M"),
        height: platform_types::Height::new(1),
        block_hash: Hash::ZERO,
        epoch: platform_types::Epoch::new(1),
        evaluations: Default::default(),
        revealed: None,
    };
    let truth = (EvaluationStatus::Scored, 7, Hash::from_bytes([7; 32]));
    committed.evaluations.insert(key("//A"), truth);
    committed.evaluations.insert(key("//B"), (EvaluationStatus::Scored, 999_999_993, truth.2));
    let mut audit = EvaluationAudit::default();
    compare(&mut audit, &SubmissionId(Hash::from_bytes([1; 32])), &committed, truth);
    assert_eq!(audit.agreed, 1);
    assert_eq!(audit.differing_by_validator.get(&key("//B").to_ss58()), Some(&1));
    assert_eq!(audit.differing_by_validator.len(), 1);
    assert!(audit.differing[0].committed.starts_with("scored 999999993"), "{:?}", audit.differing);
}

#[test]
fn the_first_difference_names_a_uid() {
    assert_eq!(first_difference(&[(1, 5), (2, 6)], &[(1, 5), (2, 6)]), None);
    assert_eq!(first_difference(&[(1, 5), (2, 6)], &[(1, 5), (2, 7)]), Some(Agreement::Differs { first_uid: Some(2) }));
    assert_eq!(first_difference(&[(1, 5)], &[(1, 5), (3, 1)]), Some(Agreement::Differs { first_uid: Some(3) }));
    assert_eq!(first_difference(&[(4, 5)], &[(2, 5)]), Some(Agreement::Differs { first_uid: Some(2) }));
}
