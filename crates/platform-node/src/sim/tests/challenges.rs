//! Challenges: evaluations in the sandbox, epoch scorers, parameters and versions, weights.

use std::time::Duration;

use crate::sim::actions::challenge_and_submissions;
use crate::sim::net::Net;
use crate::sim::*;

/// The pipeline above consensus, simulated: the owner adds a challenge, a miner submits to one
/// validator, every validator evaluates what is committed, and when the chain moves to the next
/// epoch all four ask the chain to set the same weights, which reward the miner.
#[test]
fn four_validators_evaluate_and_agree_on_the_weights_they_set() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    net.run_until(Duration::from_secs(60), |net| net.weights.iter().all(|w| !w.is_empty())).expect("weights");
    let first = &net.weights[0][0];
    assert!(net.weights.iter().all(|w| w[0] == *first), "the same weights from all four: {:?}", net.weights);
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    assert!(first.mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "the miner is rewarded: {first:?}");
    assert_eq!(net.committed_submissions(0), 6, "every submission committed");
}

/// A malformed answer from a registered miner (an empty payload) is admitted, ordered, and
/// rejected by every validator's sandbox alike, as the run's check requires of honest verdicts.
#[test]
fn a_malformed_answer_is_ordered_and_rejected_by_every_validator() {
    let mut net = Net::new(4, 11);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net, 0).expect("set up");
    let (_, malformed) = crate::sim::clients::send(&mut net, 0, &miner);
    net.run_until(Duration::from_secs(60), |net| {
        net.nodes.iter().all(|n| n.state.submissions.get(&malformed).is_some_and(|c| c.evaluations.iter().count() == 4))
    })
    .expect("the malformed answer ordered and evaluated by all four");
    let committed = &net.nodes[0].state.submissions[&malformed];
    for (validator, (status, score, _)) in committed.evaluations.iter() {
        assert_eq!(*status, platform_types::EvaluationStatus::Rejected, "{validator}");
        assert_eq!(*score, 0);
    }
}

/// Every validator evaluates in the real sandbox with the module whose hash the owner signed:
/// those without it fetch it from a peer by that hash; the committed scores are what the module
/// computes (last payload byte x 1e6 ppb) and every validator used the same fuel for the same
/// submission.
#[test]
fn evaluations_run_the_owners_module_in_the_sandbox_fetched_by_hash() {
    use platform_types::{Action, EvaluationBatch, NetUid, Payload};
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    challenge_and_submissions(&mut net, 1).expect("set up");
    net.run_until(Duration::from_secs(60), |net| (0..4).all(|i| !net.weights[i].is_empty())).expect("weights");
    let module = crate::sim::sandbox::module();
    for node in &net.nodes {
        assert_eq!(node.records.blob(&platform_types::blake2b_256(module)).as_deref(), Some(module), "fetched");
    }
    let height = net.nodes[0].state.tip.height.get() as usize;
    let mut fuel: std::collections::HashMap<_, u64> = Default::default();
    let mut evaluations = 0;
    for (block, _) in net.nodes[0].records.blocks_from(1, height).expect("read") {
        for action in &block.actions {
            let Action::Evaluations(envelope) = action else { continue };
            let batch = envelope.open::<EvaluationBatch>(NetUid::new(3)).expect("signed").message;
            for evaluation in batch.evaluations() {
                let submission = net.nodes[0].records.submission(&evaluation.submission).expect("body");
                let Payload::Inline(payload) = submission.payload else { panic!("inline") };
                let last = u32::from(*payload.last().expect("a byte"));
                assert_eq!(evaluation.score_ppb, last * 1_000_000, "the module's score");
                assert!(evaluation.fuel_used > 0);
                let first = *fuel.entry(evaluation.submission).or_insert(evaluation.fuel_used);
                assert_eq!(evaluation.fuel_used, first, "the same fuel at every validator");
                evaluations += 1;
            }
        }
    }
    assert!(evaluations >= 6, "{evaluations} evaluations committed");
}

/// A challenge that scores epochs (issue 23): once the epoch of its answers closes, every
/// validator scores them together, in commit order, and signs the scorer's verdict on each as
/// that submission's evaluation, which is committed like any other. A validator that restarts
/// before its evaluations were committed scores the closed epoch again from its store, to the
/// same verdicts. (Two of the four withhold their evaluations, so that the submissions wait for
/// the restarted one's; the per-submission entry point, which rejects everything, never runs.)
#[test]
fn an_epoch_scorer_gives_every_validator_the_same_verdicts_and_again_after_a_restart() {
    use crate::sim::actions::{add_challenge, submit};
    use crate::sim::setup::{MINER, key};
    let mut net = Net::new(4, 17);
    net.chain_every = Some(Duration::from_millis(100));
    net.change_tempo(2, 29); // epochs of about three seconds
    net.behaviour[2] = Some(Behaviour::WithheldEvaluations);
    net.behaviour[3] = Some(Behaviour::WithheldEvaluations);
    add_challenge(&mut net, 0, "epochal", crate::sim::sandbox::epoch_module()).expect("added");
    let miner = key(MINER);
    let payloads = [b"answer x1".to_vec(), b"answer y1".to_vec(), b"answer z2".to_vec()];
    let ids = submit(&mut net, 0, &miner, "epochal", 100, &payloads);
    let evaluated_by = |net: &Net, validators: &[usize]| {
        let state = &net.nodes[0].state;
        ids.iter().all(|id| {
            state
                .submissions
                .get(id)
                .is_some_and(|c| validators.iter().all(|&v| c.evaluations.contains_key(&net.nodes[v].keypair.public())))
        })
    };
    net.run_until(Duration::from_secs(30), |net| evaluated_by(net, &[0, 1])).expect("scored once the epoch closed");
    net.behaviour[3] = None;
    net.restart(3);
    net.run_until(Duration::from_secs(30), |net| evaluated_by(net, &[0, 1, 3]))
        .expect("scored again after the restart");
    // What the scorer must say: per epoch, in commit order, 1e9 for the answers ending as the
    // first one does.
    let state = &net.nodes[0].state;
    let mut answers: Vec<_> =
        ids.iter().map(|id| (state.submissions[id].epoch, state.submissions[id].height, *id)).collect();
    answers.sort();
    let last_byte = |id: &platform_types::SubmissionId| {
        *payloads[ids.iter().position(|i| i == id).expect("ours")].last().expect("byte")
    };
    let mut scored = 0;
    for (epoch, _, id) in &answers {
        let first = answers.iter().find(|(e, ..)| e == epoch).map(|(.., first)| last_byte(first)).expect("first");
        let expected = if last_byte(id) == first { 1_000_000_000 } else { 0 };
        scored += usize::from(expected > 0);
        let verdicts: Vec<_> = [0, 1, 3]
            .iter()
            .map(|&v| *state.submissions[id].evaluations.get(&net.nodes[v].keypair.public()).expect("evaluated"))
            .collect();
        assert!(verdicts.iter().all(|v| *v == verdicts[0]), "{id}: {verdicts:?}");
        assert_eq!(verdicts[0].0, platform_types::EvaluationStatus::Scored, "{id}");
        assert_eq!(verdicts[0].1, expected, "{id} in epoch {epoch}");
    }
    assert!(scored >= 1 && answers.len() == 3);
    // The public audit scores the closed epochs again as the validators did, and agrees.
    let report = net.audit(0).expect("audits");
    assert!(report.evaluations.differing.is_empty(), "{:?}", report.evaluations);
    assert!(report.evaluations.agreed >= 3 * 3, "{:?}", report.evaluations);
}

/// A validator scoring a closed epoch again after a restart must see every answer of it, also
/// those that have left its state since (final on the others' evaluations, then retired): they
/// are found again in its stored blocks.
#[test]
fn the_answers_of_a_closed_epoch_that_left_the_state_are_found_in_the_stored_blocks() {
    use crate::sim::actions::{add_challenge, submit};
    use crate::sim::setup::{MINER, key};
    let mut net = Net::new(4, 19);
    net.chain_every = Some(Duration::from_millis(100));
    add_challenge(&mut net, 0, "epochal", crate::sim::sandbox::epoch_module()).expect("added");
    let payloads = [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()];
    let ids = submit(&mut net, 0, &key(MINER), "epochal", 100, &payloads);
    let retired = |net: &Net| ids.iter().all(|id| net.nodes[0].records.retired(id).is_some());
    net.run_until(Duration::from_secs(60), retired).expect("scored, final and retired");
    let node = &net.nodes[0];
    let challenge = platform_types::ChallengeId::new("epochal").expect("id");
    let record = |id| node.records.retired(id).expect("retired");
    // Say only the first answer were still held: the others are found.
    let first = record(&ids[0]);
    let held = [crate::epoch_answers::EpochAnswer {
        id: ids[0],
        miner: first.miner,
        height: first.height,
        block_hash: first.block_hash,
        evaluated: false,
    }];
    let found = node.retired_answers(&challenge, first.epoch, &held).expect("all found");
    let mut expected: Vec<_> = ids[1..].iter().filter(|id| record(id).epoch == first.epoch).copied().collect();
    let mut got: Vec<_> = found.iter().map(|a| a.id).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    assert!(found.iter().all(|a| a.height == record(&a.id).height && a.block_hash == record(&a.id).block_hash));
    // Without the epoch's blocks (pruned) the answers are not all known: no scoring from a guess.
    let height = first.height.get();
    node.records.store().delete(platform_storage::Column::Blocks, &crate::records::height_key(height)).expect("delete");
    assert!(node.retired_answers(&challenge, first.epoch, &held).is_err());
}

/// Adds (or updates) challenge "tuned", whose module scores what its one parameter byte says,
/// with `param` as that byte, through validator 0.
fn register_tuned(net: &mut Net, module: &[u8], param: u8, update: bool) {
    use crate::sim::actions::{challenge_spec, register_challenge};
    let spec = platform_types::ChallengeSpec { params: vec![param], ..challenge_spec("tuned", module) };
    register_challenge(net, 0, spec, module, update).expect("registered");
}

/// A challenge's parameters (owner-signed, in its spec) reach its module on every validator,
/// and an update of the parameters alone (the same module) is what later evaluations see.
#[test]
fn a_challenges_parameters_reach_its_module_and_an_update_of_them_takes_effect() {
    use crate::sim::actions::submit;
    use crate::sim::setup::{MINER, key};
    let mut net = Net::new(4, 23);
    net.chain_every = Some(Duration::from_millis(100));
    let module = wat::parse_str(crate::sim::sandbox::PARAMS_MODULE_WAT).expect("wat");
    register_tuned(&mut net, &module, 42, false);
    let miner = key(MINER);
    let verdicts = |net: &Net, ids: &[platform_types::SubmissionId]| -> Option<Vec<u32>> {
        let state = &net.nodes[0].state;
        let mut scores = Vec::new();
        for id in ids {
            let c = state.submissions.get(id)?;
            if c.evaluations.len() < 4 {
                return None;
            }
            scores.extend(c.evaluations.iter().map(|(_, v)| v.1));
        }
        Some(scores)
    };
    let before = submit(&mut net, 0, &miner, "tuned", 100, &[b"a".to_vec(), b"b".to_vec()]);
    net.run_until(Duration::from_secs(30), |net| verdicts(net, &before).is_some()).expect("evaluated");
    assert!(verdicts(&net, &before).expect("all").iter().all(|&s| s == 42_000_000));
    register_tuned(&mut net, &module, 7, true);
    let after = submit(&mut net, 0, &miner, "tuned", 200, &[b"c".to_vec()]);
    net.run_until(Duration::from_secs(30), |net| verdicts(net, &after).is_some()).expect("evaluated");
    assert!(verdicts(&net, &after).expect("all").iter().all(|&s| s == 7_000_000), "{:?}", verdicts(&net, &after));
    // The audit loads the module with each version's parameters too.
    let report = net.audit(1).expect("audits");
    assert!(report.evaluations.differing.is_empty(), "{:?}", report.evaluations);
}

/// A submission ordered under one version of a challenge is never evaluated under a later one
/// (a validator resuming after the owner updated the challenge, here only its parameters, hands
/// such a submission to no evaluation): its verdict could differ from what the others computed
/// and what the audit computes with the version in force at ordering.
#[test]
fn a_submission_is_not_evaluated_under_a_later_version_of_its_challenge() {
    use crate::sim::actions::submit;
    use crate::sim::setup::{MINER, key};
    let mut net = Net::new(4, 29);
    net.chain_every = Some(Duration::from_millis(100));
    net.change_tempo(2, 49); // epochs of about five seconds: nothing retires meanwhile
    let module = wat::parse_str(crate::sim::sandbox::PARAMS_MODULE_WAT).expect("wat");
    register_tuned(&mut net, &module, 42, false);
    let old = submit(&mut net, 0, &key(MINER), "tuned", 100, &[b"a".to_vec()])[0];
    net.run_until(Duration::from_secs(30), |net| net.nodes[1].state.submissions.contains_key(&old)).expect("ordered");
    let asked = |net: &mut Net, id| {
        let node = &mut net.nodes[1];
        node.effects.clear();
        node.start_evaluation(id);
        node.effects.iter().any(
            |e| matches!(e, crate::effects::Effect::Evaluate(crate::evaluations::Request::Evaluate(t)) if t.id == id),
        )
    };
    assert!(asked(&mut net, old), "under the version it was ordered under, it is evaluated");
    register_tuned(&mut net, &module, 7, true);
    assert!(net.nodes[1].state.submissions.contains_key(&old), "still in the state");
    assert!(!asked(&mut net, old), "not under the later version");
    let new = submit(&mut net, 0, &key(MINER), "tuned", 200, &[b"b".to_vec()])[0];
    net.run_until(Duration::from_secs(30), |net| net.nodes[1].state.submissions.contains_key(&new)).expect("ordered");
    assert!(asked(&mut net, new), "one ordered under the later version is");
}
