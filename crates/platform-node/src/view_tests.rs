use platform_app::Committed;
use platform_storage::MemoryStore;
use platform_types::{ChallengeId, Envelope, Epoch, Keypair, NetUid, Payload, Submission, Uid, Validator, blake2b_256};

use super::*;

fn key(name: &str) -> Keypair {
    Keypair::from_suri(&format!("//{name}")).expect("key")
}

/// The API's answers need nothing but a published view and the store: no event loop runs
/// here at all.
#[test]
fn queries_are_answered_from_the_view_and_the_store_alone() {
    let (v, miner) = (key("V"), key("Miner"));
    let records = Records::new(Arc::new(MemoryStore::new()));
    let mut view = ReadView::starting();
    view.state.registry.validators = ValidatorSet {
        epoch: Epoch::new(0),
        validators: vec![Validator { hotkey: v.public(), uid: Uid::new(0), stake: 10 }],
    };
    let challenge = ChallengeId::new("alpha").expect("id");
    let committed_id = SubmissionId(blake2b_256(b"committed"));
    let mut evaluations = platform_app::Evaluations::default();
    evaluations.insert(v.public(), (EvaluationStatus::Rejected, 0, Hash::ZERO));
    view.state.submissions.insert(
        committed_id,
        Arc::new(Committed {
            challenge: challenge.clone(),
            miner: miner.public(),
            height: Height::new(3),
            block_hash: Hash::ZERO,
            epoch: Epoch::new(1),
            evaluations,
            revealed: None,
        }),
    );
    records.put_reason(&committed_id, "not a number").expect("reason");
    let rejected = view.answer(Query::Submission(committed_id), &records);
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["reason"], "not a number");

    // Admitted and stored, not ordered yet: pending, with every field present.
    let submission = Submission {
        challenge,
        miner: miner.public(),
        payload: Payload::Inline(b"1 2".to_vec()),
        payload_size: 3,
        metadata: vec![],
        nonce: 1,
        timestamp_ms: 1,
        phase: Default::default(),
    };
    let envelope = Envelope::seal(&miner, NetUid::new(1), &submission);
    let pending_id = SubmissionId(envelope.payload_hash());
    records.put_submissions([(&pending_id, &envelope.to_bytes()[..])]).expect("stored");
    let pending = view.answer(Query::Submission(pending_id), &records);
    assert_eq!(pending["status"], "pending", "{pending}");
    assert_eq!((pending["final"].clone(), pending["evaluations"].clone()), (json!(false), json!([])));

    let unknown = view.answer(Query::Submission(SubmissionId(Hash::ZERO)), &records);
    assert_eq!(unknown["status"], "unknown");
    view.position = Position { height: 4, view: 1, leader: Some(v.public()), voting: true };
    let consensus = view.answer(Query::Consensus, &records);
    assert_eq!((consensus["height"].clone(), consensus["view"].clone()), (json!(4), json!(1)));
    assert_eq!(view.answer(Query::Sudo(Hash::ZERO), &records)["status"], "unknown");
    assert_eq!(view.answer(Query::Weights, &records), Value::Null);
}
