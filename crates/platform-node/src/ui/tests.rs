//! The dashboard's values, computed from a view and a store built by hand: leaderboard ranks and
//! weight shares, outliers in a journey, search, weights history and the chart.

use std::sync::Arc;

use platform_app::{ChallengeEntry, Committed};
use platform_storage::MemoryStore;
use platform_types::{
    Action, Block, BlockHeaderFields, BlockRef, ChallengeId, ChallengeSpec, Envelope, Epoch, Evaluation,
    EvaluationStatus, Hash, Height, Keypair, MechanismId, Metagraph, NetUid, Neuron, PublicKey, QuorumCertificate,
    RuntimePolicy, ScoringConfig, SubmissionId, SubnetParams, Uid, Validator, ValidatorSet, View, VoteKind,
    blake2b_256,
};
use serde_json::json;

use super::chart;
use super::weights::{self, EpochWeights};
use crate::records::Records;
use crate::view::ReadView;

fn key(name: &str) -> Keypair {
    Keypair::from_suri(&format!("//{name}")).expect("key")
}

fn spec(id: &str, mechanism: u8) -> ChallengeSpec {
    ChallengeSpec {
        id: ChallengeId::new(id).expect("id"),
        name: format!("the {id} challenge"),
        module_hash: blake2b_256(id.as_bytes()),
        module_size: 10,
        policy: RuntimePolicy::default(),
        scoring: ScoringConfig::default(),
        mechanism: MechanismId::new(mechanism),
        emission_share_ppb: 1_000_000_000,
        params: Vec::new(),
        phases: Default::default(),
    }
}

/// Four validators of equal stake, challenge `alpha` on mechanism 0, and `scores[i]` as
/// validator i's score of one submission per miner.
fn view(miners: &[(&Keypair, [u32; 4])]) -> (ReadView, Vec<PublicKey>, Vec<SubmissionId>) {
    let validators: Vec<PublicKey> = (0..4).map(|i| key(&format!("V{i}")).public()).collect();
    let mut view = ReadView::starting();
    view.state.registry.validators = ValidatorSet {
        epoch: Epoch::new(0),
        validators: validators
            .iter()
            .enumerate()
            .map(|(i, v)| Validator { hotkey: *v, uid: Uid::new(i as u16), stake: 10 })
            .collect(),
    };
    view.state
        .registry
        .challenges
        .insert("alpha".into(), ChallengeEntry { spec: spec("alpha", 0), since: Height::new(1) });
    let mut ids = Vec::new();
    for (n, (miner, scores)) in miners.iter().enumerate() {
        let id = SubmissionId(blake2b_256(&[n as u8]));
        let evaluations: platform_app::Evaluations = validators
            .iter()
            .zip(scores)
            .map(|(v, s)| (*v, (EvaluationStatus::Scored, *s, blake2b_256(&s.to_le_bytes()))))
            .collect();
        let committed = Committed {
            challenge: ChallengeId::new("alpha").expect("id"),
            miner: miner.public(),
            height: Height::new(5 + n as u64),
            block_hash: Hash::ZERO,
            epoch: Epoch::new(2),
            evaluations,
            revealed: None,
        };
        view.state.submissions.insert(id, Arc::new(committed));
        view.state.by_challenge.entry("alpha".into()).or_default().push_back(id);
        ids.push(id);
    }
    (view, validators, ids)
}

fn weights(epoch: u64, pairs: &[(u16, u16)]) -> EpochWeights {
    let record = json!({
        "epoch": epoch, "height": 40 + epoch,
        "mechanisms": [{
            "mechanism": 0,
            "uids": pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            "weights": pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            "chain": { "path": "set", "ok": true, "inclusion": { "block": 99 }, "error": null },
        }],
    });
    EpochWeights::from_record(&record).expect("a record")
}

#[test]
fn the_leaderboard_ranks_miners_and_shows_their_share_of_the_agreed_weights() {
    let (a, b) = (key("MinerA"), key("MinerB"));
    let (mut view, _, ids) = view(&[(&a, [600_000_000; 4]), (&b, [900_000_000; 4])]);
    let neurons = [&a, &b]
        .iter()
        .enumerate()
        .map(|(i, m)| Neuron { uid: Uid::new(10 + i as u16), hotkey: m.public(), stake: 0, validator_permit: false })
        .collect();
    let params = SubnetParams::unrestricted(10);
    let block = BlockRef { number: 1, hash: Hash::ZERO };
    let graph = Metagraph { netuid: NetUid::new(1), block, neurons, owner_coldkey: None, owner_hotkey: None, params };
    view.metagraph = Some(Arc::new(graph));
    let agreed = weights(3, &[(10, 16_384), (11, 49_151)]);
    let board = view.leaderboard("alpha", Some(&agreed)).expect("alpha exists");
    assert_eq!(board.weights_epoch, Some(3));
    let rows: Vec<_> =
        board.rows.iter().map(|r| (r.rank, r.miner.clone(), r.uid, r.score_ppb, r.weight_share_ppb)).collect();
    assert_eq!(
        rows,
        vec![
            (1, b.public().to_ss58(), Some(11), 900_000_000, Some(749_996_185)),
            (2, a.public().to_ss58(), Some(10), 600_000_000, Some(250_003_814)),
        ]
    );
    assert_eq!(board.rows[0].submission, ids[1].to_string());
    assert_eq!((board.rows[0].evaluations, board.rows[0].confidence_ppb), (4, 1_000_000_000));
    assert!(view.leaderboard("nope", None).is_none());
}

#[test]
fn a_journey_marks_the_validator_excluded_as_an_outlier() {
    let miner = key("Miner");
    let (view, validators, ids) = view(&[(&miner, [700_000_000, 700_000_000, 100_000_000, 700_000_000])]);
    let records = Records::new(Arc::new(MemoryStore::new()));
    let journey = view.journey(&ids[0], &records, None).expect("known");
    assert_eq!((journey.status.as_str(), journey.is_final), ("scored", true));
    assert_eq!((journey.score_ppb, journey.confidence_ppb), (Some(700_000_000), Some(750_000_000)));
    let outlier: Vec<_> = journey.evaluations.iter().filter(|e| e.outlier).map(|e| e.validator.clone()).collect();
    assert_eq!(outlier, vec![validators[2].to_ss58()]);
    assert!(!journey.admitted, "not stored here");
    assert!(view.journey(&SubmissionId(Hash::ZERO), &records, None).is_none());
    assert!(journey.evaluations.iter().all(|e| e.fuel_used.is_none()), "no block stored: fuel unknown");

    // The fuel comes from the signed evaluations in the blocks after the submission's (5).
    let evaluator = key("V1");
    let evaluation = Evaluation {
        submission: ids[0],
        challenge: ChallengeId::new("alpha").expect("id"),
        validator: evaluator.public(),
        status: EvaluationStatus::Scored,
        score_ppb: 700_000_000,
        fuel_used: 4_321,
        output_hash: Hash::ZERO,
        epoch: Epoch::new(2),
    };
    let batch = platform_types::EvaluationBatch::new(vec![evaluation]).expect("batch");
    let envelope = Envelope::seal(&evaluator, NetUid::new(1), &batch);
    let fields = |height: u64| BlockHeaderFields {
        height: Height::new(height),
        epoch: Epoch::new(2),
        chain: BlockRef { number: 1, hash: Hash::ZERO },
        parent_hash: Hash::ZERO,
        parent_state_root: Hash::ZERO,
        proposer: evaluator.public(),
        validators_hash: Hash::ZERO,
    };
    for (height, actions) in [(6, vec![]), (7, vec![Action::Evaluations(envelope)])] {
        let block = Block::new(fields(height), actions);
        let certificate = QuorumCertificate {
            kind: VoteKind::Commit,
            height: Height::new(height),
            view: View::new(0),
            block_hash: block.hash(),
            votes: vec![],
        };
        records.put_block(&block, &certificate).expect("stored");
    }
    let journey = view.journey(&ids[0], &records, None).expect("known");
    let fuel: Vec<_> = journey.evaluations.iter().map(|e| (e.validator.clone(), e.fuel_used)).collect();
    assert!(fuel.contains(&(evaluator.public().to_ss58(), Some(4_321))), "{fuel:?}");
    assert_eq!(fuel.iter().filter(|(_, f)| f.is_some()).count(), 1);
}

#[test]
fn search_lists_a_miners_submissions_newest_first() {
    let (a, b) = (key("MinerA"), key("MinerB"));
    let (view, _, ids) = view(&[(&a, [1; 4]), (&b, [2; 4]), (&a, [3; 4])]);
    let records = Records::new(Arc::new(MemoryStore::new()));
    let found = view.search(&a.public().to_ss58(), &records);
    assert_eq!(found.miner, Some(a.public().to_ss58()));
    let listed: Vec<_> = found.submissions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed, vec![ids[2].to_string(), ids[0].to_string()]);
    let nothing = view.search("not a key", &records);
    assert!(nothing.miner.is_none() && nothing.submissions.is_empty());
}

/// A submission retired from the state (kept in the store) is still listed for its miner, in
/// height order with the others, and its journey still shows its evaluations.
#[test]
fn retired_submissions_are_still_searched_and_shown() {
    let (a, b) = (key("MinerA"), key("MinerB"));
    let (mut view, _, ids) = view(&[(&a, [1; 4]), (&b, [2; 4]), (&a, [3; 4])]);
    let records = Records::new(Arc::new(MemoryStore::new()));
    let retired = view.state.submissions.remove(&ids[0]).expect("held");
    records.put_retired(&[(ids[0], Arc::unwrap_or_clone(retired))]).expect("kept");
    let found = view.search(&a.public().to_ss58(), &records);
    let listed: Vec<_> = found.submissions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed, vec![ids[2].to_string(), ids[0].to_string()]);
    assert!(found.submissions[1].score_ppb.is_some(), "the retired one's score");
    let journey = view.journey(&ids[0], &records, None).expect("known");
    assert_eq!(journey.evaluations.len(), 4);
    assert!(journey.is_final);
    assert!(view.search(&b.public().to_ss58(), &records).submissions.len() == 1, "another miner's are not listed");
}

#[test]
fn challenges_count_this_epochs_submissions() {
    let miner = key("Miner");
    let (mut view, _, _) = view(&[(&miner, [1; 4]), (&miner, [2; 4])]);
    view.state.tip.epoch = Epoch::new(2);
    let rows = view.challenge_rows();
    assert_eq!(rows.challenges.len(), 1);
    let alpha = &rows.challenges[0];
    assert_eq!((alpha.submissions_this_epoch, alpha.submissions_total), (2, 2));
    assert_eq!((alpha.mechanism, alpha.emission_share_ppb), (0, 1_000_000_000));
    view.state.tip.epoch = Epoch::new(3);
    assert_eq!(view.challenge_rows().challenges[0].submissions_this_epoch, 0);
}

#[test]
fn the_weights_history_reads_back_newest_first_and_charts_the_top_uids() {
    let records = Records::new(Arc::new(MemoryStore::new()));
    for (epoch, pairs) in [(1u64, [(3u16, 100u16), (4, 300)]), (2, [(3, 200), (4, 200)]), (3, [(3, 300), (4, 100)])] {
        let w = weights(epoch, &pairs);
        let record = json!({
            "epoch": w.epoch, "height": w.height,
            "mechanisms": [{ "mechanism": 0, "uids": [pairs[0].0, pairs[1].0], "weights": [pairs[0].1, pairs[1].1],
                             "chain": { "path": "set", "ok": true, "inclusion": { "block": 7 }, "error": null } }],
        });
        records.put_weights_record(epoch, record.to_string().as_bytes()).expect("stored");
    }
    let history = weights::weights(&records, 10);
    assert_eq!(history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), vec![3, 2, 1]);
    let newest = &history.epochs[0].mechanisms[0];
    assert_eq!((newest.landed, newest.block, newest.path.as_deref()), (true, Some(7), Some("set")));
    assert_eq!(history.epochs[0].share_ppb(0, 3), Some(750_000_000));
    assert_eq!(history.epochs[0].share_ppb(1, 3), None);
    assert_eq!(chart::top_uids(&history, 0), vec![3, 4]);
    let svg = chart::weights_svg(&history, 0, 600, 300).expect("drawn");
    assert!(svg.starts_with("<svg") && svg.contains("uid 3") && svg.contains("uid 4"), "{svg}");
    // No history: an empty chart, not an error.
    assert!(
        chart::weights_svg(&weights::weights(&Records::new(Arc::new(MemoryStore::new())), 10), 0, 600, 300).is_ok()
    );
}

#[test]
fn weights_on_chain_are_matched_to_the_agreed_vectors_validator_by_validator() {
    assert!(weights::same_weights(&[(1, 100), (2, 0), (3, 50)], &[(3, 32_768), (1, 65_535)]));
    assert!(!weights::same_weights(&[(1, 100), (3, 50)], &[(1, 100), (3, 51)]));
    assert!(!weights::same_weights(&[(1, 100)], &[(1, 100), (2, 1)]));

    let records = Records::new(Arc::new(MemoryStore::new()));
    let agreed = |epoch: u64, uids: [u16; 2], values: [u16; 2], on_chain: serde_json::Value| {
        json!({
            "epoch": epoch, "height": epoch * 10,
            "mechanisms": [{ "mechanism": 0, "uids": uids, "weights": values,
                             "chain": { "path": "set", "ok": true, "inclusion": { "block": epoch * 10 }, "error": null } }],
            "on_chain": on_chain,
        })
    };
    let reading = |rows: &[(&str, &[(u16, u16)])]| {
        json!({ "block": 77, "validators": rows.iter().enumerate().map(|(i, (h, w))| json!({
            "hotkey": h, "uid": i, "mechanisms": [{ "mechanism": 0, "weights": w.iter().map(|p| [p.0, p.1]).collect::<Vec<_>>() }],
        })).collect::<Vec<_>>() })
    };
    let names: Vec<String> = (0..4).map(|i| key(&format!("V{i}")).public().to_ss58()).collect();
    records.put_weights_record(1, agreed(1, [3, 4], [65_535, 100], json!(null)).to_string().as_bytes()).expect("1");
    records.put_weights_record(2, agreed(2, [3, 4], [100, 65_535], json!(null)).to_string().as_bytes()).expect("2");
    let third = reading(&[
        (&names[0], &[(3, 100), (4, 65_535)]),
        (&names[1], &[(3, 65_535), (4, 100)]),
        (&names[2], &[(3, 65_535)]),
        (&names[3], &[]),
    ]);
    records.put_weights_record(3, agreed(3, [3, 4], [100, 65_535], third).to_string().as_bytes()).expect("3");
    let history = weights::weights(&records, 10);
    let status: Vec<_> = names.iter().map(|n| history.on_chain_status(n)).collect();
    assert_eq!(
        status,
        vec![
            (Some(2), "matches epoch 2".to_owned()),
            (Some(1), "matches epoch 1".to_owned()),
            (None, "differs".to_owned()),
            (None, "none set".to_owned()),
        ]
    );
    let matches = |epoch: u64| {
        history.epochs.iter().find(|e| e.epoch == epoch).expect("epoch").mechanisms[0].on_chain_matches.clone()
    };
    assert_eq!(matches(2), vec![names[0].clone()]);
    assert_eq!(matches(1), vec![names[1].clone()]);
    assert!(matches(3).is_empty(), "nothing read after epoch 3 yet");
    assert_eq!(history.on_chain_status("5Unknown"), (None, "not read yet".to_owned()));
}
