//! What every decoder refuses (the field named), and round trips of the values with bounds:
//! metagraph snapshots, a challenge's parameters, two-phase specs and submissions.

use super::*;

#[test]
fn decoders_reject_invalid_values_with_the_field_named() {
    let mut bad_inline = submission();
    bad_inline.payload_size = 5;
    assert!(matches!(
        Submission::from_bytes(&bad_inline.to_bytes()),
        Err(DecodeError::Invalid { field: "payload_size", .. })
    ));

    let too_big = Submission {
        payload: Payload::Inline(vec![0; limits::MAX_INLINE_PAYLOAD_BYTES + 1]),
        payload_size: (limits::MAX_INLINE_PAYLOAD_BYTES + 1) as u64,
        ..submission()
    };
    assert!(matches!(Submission::from_bytes(&too_big.to_bytes()), Err(DecodeError::TooLarge { .. })));

    let mut unsorted = weights();
    unsorted.mechanisms[0].uids.swap(0, 1);
    assert!(matches!(
        WeightsProposal::from_bytes(&unsorted.to_bytes()),
        Err(DecodeError::Invalid { field: "uids", .. })
    ));

    let mut tampered = block();
    tampered.actions.pop();
    assert!(matches!(Block::from_bytes(&tampered.to_bytes()), Err(DecodeError::Invalid { field: "actions_root", .. })));

    let mut bad_spec = spec();
    bad_spec.policy.memory_pages_max = 0;
    assert!(matches!(
        ChallengeSpec::from_bytes(&bad_spec.to_bytes()),
        Err(DecodeError::Invalid { field: "memory_pages_max", .. })
    ));

    let rejected_with_score = Evaluation {
        submission: SubmissionId(h(5)),
        challenge: ChallengeId::new("x").expect("id"),
        validator: alice().public(),
        status: EvaluationStatus::Rejected,
        score_ppb: 1,
        fuel_used: 0,
        output_hash: h(0),
        epoch: Epoch::new(0),
    };
    assert!(EvaluationBatch::new(vec![rejected_with_score]).is_err());

    // Missing fields: an empty message has none of the required ones.
    assert_eq!(Submission::from_bytes(&[]), Err(DecodeError::MissingField("payload")));
    assert_eq!(
        Vote::from_bytes(&[]).map(|_| ()),
        Err(DecodeError::Invalid { field: "kind", reason: "unknown message kind" })
    );
    assert!(matches!(Envelope::from_bytes(&[], 100), Err(DecodeError::MissingField(_))));
    assert!(matches!(Envelope::from_bytes(&[0; 101], 100), Err(DecodeError::TooLarge { .. })));
    assert!(matches!(Envelope::from_bytes(&[0xff, 0xff], 100), Err(DecodeError::Malformed { .. })));
}

#[test]
fn a_metagraph_snapshot_round_trips_and_refuses_unordered_uids() {
    let mut block = block();
    let decoded = Block::from_bytes(&block.to_bytes()).expect("decodes");
    assert_eq!(decoded, block);
    let Some(Action::Metagraph(m)) = block.actions.iter_mut().find(|a| matches!(a, Action::Metagraph(_))) else {
        panic!("the sample block holds a metagraph")
    };
    m.neurons.reverse();
    let bytes = block.to_bytes();
    assert!(matches!(Block::from_bytes(&bytes), Err(DecodeError::Invalid { field: "neurons", .. })));
}

/// A challenge's parameters travel in the owner's signed action and come back as they went;
/// more than `MAX_PARAMS_BYTES` are refused when decoding, and none encode as before (the
/// golden vectors above have none).
#[test]
fn a_challenges_parameters_round_trip_and_are_bounded() {
    let with = |params: Vec<u8>| SudoAction {
        command: SudoCommand::UpdateChallenge(ChallengeSpec { params, ..spec() }),
        nonce: 5,
        timestamp_ms: 6,
    };
    let action = with(vec![1, 2, 1]);
    assert_eq!(SudoAction::from_bytes(&action.to_bytes()), Ok(action));
    let most = with(vec![9; limits::MAX_PARAMS_BYTES]);
    assert_eq!(SudoAction::from_bytes(&most.to_bytes()), Ok(most));
    let over = with(vec![9; limits::MAX_PARAMS_BYTES + 1]);
    assert!(
        matches!(SudoAction::from_bytes(&over.to_bytes()), Err(DecodeError::TooLarge { field: "params", .. })),
        "{:?}",
        SudoAction::from_bytes(&over.to_bytes())
    );
    assert!(ChallengeSpec { params: vec![0; limits::MAX_PARAMS_BYTES + 1], ..spec() }.validate().is_err());
}

/// A two-phase challenge's spec and a commitment and a reveal round-trip (an answer and a
/// one-phase spec keep the bytes they had before phases existed: the golden vectors above).
#[test]
fn phases_round_trip_and_a_reveal_window_past_its_bound_is_refused() {
    let two_phase = ChallengeSpec { phases: Phases::CommitReveal { reveal_blocks: 500 }, ..spec() };
    assert_eq!(ChallengeSpec::from_bytes(&two_phase.to_bytes()), Ok(two_phase));
    let too_long = ChallengeSpec { phases: Phases::CommitReveal { reveal_blocks: 501 }, ..spec() };
    assert!(matches!(
        ChallengeSpec::from_bytes(&too_long.to_bytes()),
        Err(DecodeError::Invalid { field: "reveal_blocks", .. })
    ));
    for phase in
        [Phase::Commit { task_epoch: Epoch::new(9) }, Phase::Reveal { commitment: SubmissionId(h(4)) }, Phase::Answer]
    {
        let sent = Submission { phase, ..submission() };
        assert_eq!(Submission::from_bytes(&sent.to_bytes()).map(|s| s.phase), Ok(phase));
    }
}

#[test]
fn an_evaluation_batch_is_one_validators_verdicts_on_different_submissions() {
    let batch = evaluation_batch();
    assert_eq!(EvaluationBatch::from_bytes(&batch.to_bytes()).expect("decodes"), batch);
    assert_eq!(batch.validator(), alice().public());

    let bob = Keypair::from_suri("//Bob").expect("bob").public();
    let by_bob = Evaluation { submission: SubmissionId(h(10)), validator: bob, ..evaluation() };
    assert!(matches!(
        EvaluationBatch::new(vec![evaluation(), by_bob]),
        Err(DecodeError::Invalid { field: "verdicts", .. })
    ));
    assert!(matches!(
        EvaluationBatch::new(vec![evaluation(), evaluation()]),
        Err(DecodeError::Invalid { field: "verdicts", .. })
    ));
    assert_eq!(EvaluationBatch::new(Vec::new()), Err(DecodeError::MissingField("verdicts")));
    let many: Vec<Evaluation> = (0..=limits::MAX_BATCH_EVALUATIONS)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Evaluation { submission: SubmissionId(Hash::from_bytes(id)), ..evaluation() }
        })
        .collect();
    assert!(matches!(EvaluationBatch::new(many.clone()), Err(DecodeError::TooLarge { field: "verdicts", .. })));
    let most = EvaluationBatch::new(many[..limits::MAX_BATCH_EVALUATIONS].to_vec()).expect("at the bound");
    // The bound holds when decoding too (the encoder is given one verdict too many by hand).
    let mut wire = most.to_bytes();
    wire.extend_from_slice(
        &EvaluationBatch::new(vec![many[limits::MAX_BATCH_EVALUATIONS].clone()]).expect("one").to_bytes()[34..],
    );
    assert!(matches!(EvaluationBatch::from_bytes(&wire), Err(DecodeError::TooLarge { field: "verdicts", .. })));
}
