//! The wire format: golden vectors (so it changes only on purpose), round trips, and the
//! validation every decoder applies.
//!
//! Regenerate the vectors after an intended format change with
//! `UPDATE_GOLDEN=1 cargo test -p platform-types --test wire`, and say so in the commit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use platform_types::*;

const NETUID: NetUid = NetUid::new(100);

fn alice() -> Keypair {
    Keypair::from_suri("//Alice").expect("alice")
}

fn h(byte: u8) -> Hash {
    Hash::from_bytes([byte; 32])
}

fn spec() -> ChallengeSpec {
    ChallengeSpec {
        id: ChallengeId::new("regression").expect("id"),
        name: "Seeded regression".into(),
        module_hash: h(1),
        module_size: 12_345,
        policy: RuntimePolicy::default(),
        scoring: ScoringConfig {
            normalisation: Normalisation::ChampionTakesAll { margin_ppb: 10_000_000, owner_share_ppb: 0 },
            ..ScoringConfig::default()
        },
        mechanism: MechanismId::new(0),
        emission_share_ppb: 500_000_000,
        params: Vec::new(),
        phases: Default::default(),
    }
}

fn submission() -> Submission {
    Submission {
        challenge: ChallengeId::new("regression").expect("id"),
        miner: alice().public(),
        payload: Payload::Inline(vec![1, 2, 3, 4]),
        payload_size: 4,
        metadata: vec![("model".into(), "linear-v1".into())],
        nonce: 7,
        timestamp_ms: 1_764_000_000_000,
        phase: Default::default(),
    }
}

fn evaluation() -> Evaluation {
    Evaluation {
        submission: SubmissionId(h(5)),
        challenge: ChallengeId::new("regression").expect("id"),
        validator: alice().public(),
        status: EvaluationStatus::Scored,
        score_ppb: 750_000_000,
        fuel_used: 123_456,
        output_hash: h(6),
        epoch: Epoch::new(2),
    }
}

fn block() -> Block {
    let sudo = Envelope {
        kind: MessageKind::SudoAction,
        payload: SudoAction {
            command: SudoCommand::RemoveChallenge(ChallengeId::new("old").expect("id")),
            nonce: 1,
            timestamp_ms: 2,
        }
        .to_bytes(),
        signer: alice().public(),
        signature: Signature::from_bytes([9; 64]),
    };
    Block::new(
        BlockHeaderFields {
            height: Height::new(5),
            epoch: Epoch::new(2),
            chain: BlockRef { number: 4_321, hash: h(6) },
            parent_hash: h(3),
            parent_state_root: h(4),
            proposer: alice().public(),
            validators_hash: validators().hash(),
        },
        vec![
            Action::Submission(SubmissionId(h(5))),
            Action::Sudo(sudo),
            Action::Weights(weights()),
            Action::ValidatorSet(validators()),
            Action::Metagraph(metagraph()),
            Action::Evaluation(Envelope {
                kind: MessageKind::Evaluation,
                payload: evaluation().to_bytes(),
                signer: alice().public(),
                signature: Signature::from_bytes([8; 64]),
            }),
        ],
    )
}

fn metagraph() -> Metagraph {
    Metagraph {
        netuid: NETUID,
        block: BlockRef { number: 4_320, hash: h(7) },
        neurons: vec![
            Neuron { uid: Uid::new(0), hotkey: alice().public(), stake: 5_000_000_000_000, validator_permit: true },
            Neuron { uid: Uid::new(3), hotkey: alice().public(), stake: 0, validator_permit: false },
        ],
        owner_coldkey: None,
        owner_hotkey: Some(alice().public()),
        params: SubnetParams {
            weights_version_key: 7,
            weights_rate_limit: 100,
            commit_reveal_enabled: true,
            mechanism_count: 2,
            ..SubnetParams::unrestricted(360)
        },
    }
}

fn weights() -> WeightsProposal {
    WeightsProposal {
        epoch: Epoch::new(2),
        mechanisms: vec![MechanismWeights {
            mechanism: MechanismId::new(0),
            uids: vec![Uid::new(0), Uid::new(3), Uid::new(9)],
            weights: vec![65_535, 1_000, 7],
        }],
    }
}

fn validators() -> ValidatorSet {
    ValidatorSet {
        epoch: Epoch::new(3),
        validators: vec![Validator { hotkey: alice().public(), uid: Uid::new(0), stake: 2_000_000_000_000 }],
    }
}

fn vote_envelope(kind: VoteKind) -> Envelope {
    let vote = Vote { kind, height: Height::new(5), view: View::new(1), block_hash: block().hash() };
    Envelope {
        kind: kind.message_kind(),
        payload: vote.to_bytes(),
        signer: alice().public(),
        signature: Signature::from_bytes([8; 64]),
    }
}

fn certificate(kind: VoteKind) -> QuorumCertificate {
    QuorumCertificate {
        kind,
        height: Height::new(5),
        view: View::new(1),
        block_hash: block().hash(),
        votes: vec![vote_envelope(kind)],
    }
}

fn view_change() -> ViewChange {
    ViewChange {
        height: Height::new(5),
        view: View::new(2),
        prepared: Some(PreparedProof { certificate: certificate(VoteKind::Prepare), block: block() }),
    }
}

fn new_view() -> NewView {
    let change = Envelope {
        kind: MessageKind::ViewChange,
        payload: view_change().to_bytes(),
        signer: alice().public(),
        signature: Signature::from_bytes([6; 64]),
    };
    NewView { height: Height::new(5), view: View::new(2), view_changes: vec![change] }
}

/// One sample of every wire message kind and every stored type, by name.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("challenge_spec", spec().to_bytes()),
        (
            "sudo_add_challenge",
            SudoAction { command: SudoCommand::AddChallenge(spec()), nonce: 1, timestamp_ms: 2 }.to_bytes(),
        ),
        (
            "sudo_update_challenge",
            SudoAction { command: SudoCommand::UpdateChallenge(spec()), nonce: 3, timestamp_ms: 4 }.to_bytes(),
        ),
        (
            "sudo_remove_challenge",
            SudoAction {
                command: SudoCommand::RemoveChallenge(ChallengeId::new("regression").expect("id")),
                nonce: 5,
                timestamp_ms: 6,
            }
            .to_bytes(),
        ),
        (
            "sudo_set_required_version",
            SudoAction {
                command: SudoCommand::SetRequiredVersion("1.2.3".parse().expect("version")),
                nonce: 7,
                timestamp_ms: 8,
            }
            .to_bytes(),
        ),
        ("submission_inline", submission().to_bytes()),
        (
            "submission_blob",
            Submission { payload: Payload::Blob(h(2)), payload_size: 1 << 20, ..submission() }.to_bytes(),
        ),
        ("evaluation", evaluation().to_bytes()),
        ("weights_proposal", weights().to_bytes()),
        ("peer_binding", PeerBinding { peer_id: vec![0, 36, 8, 1, 18, 32], timestamp_ms: 9 }.to_bytes()),
        ("validator_set", validators().to_bytes()),
        ("block", block().to_bytes()),
        (
            "proposal",
            Proposal { height: Height::new(5), view: View::new(2), block: block(), justification: Some(new_view()) }
                .to_bytes(),
        ),
        (
            "vote_prepare",
            Vote { kind: VoteKind::Prepare, height: Height::new(5), view: View::new(1), block_hash: h(7) }.to_bytes(),
        ),
        (
            "vote_commit",
            Vote { kind: VoteKind::Commit, height: Height::new(5), view: View::new(1), block_hash: h(7) }.to_bytes(),
        ),
        ("quorum_certificate", certificate(VoteKind::Commit).to_bytes()),
        ("view_change", view_change().to_bytes()),
        ("new_view", new_view().to_bytes()),
        (
            "checkpoint",
            Checkpoint { header: block().header, commit: certificate(VoteKind::Commit), validators: validators() }
                .to_bytes(),
        ),
        ("sync_request_genesis", SyncRequest::Genesis.to_bytes()),
        ("sync_request_blocks", SyncRequest::Blocks { from: Height::new(9) }.to_bytes()),
        ("sync_request_submissions", SyncRequest::Submissions(vec![SubmissionId(h(5))]).to_bytes()),
        ("sync_response_genesis", SyncResponse::Genesis(Some(validators())).to_bytes()),
        ("sync_response_blocks", SyncResponse::Blocks(vec![(block(), certificate(VoteKind::Commit))]).to_bytes()),
        ("sync_response_submissions", sync_submissions().to_bytes()),
        ("sync_request_snapshot", SyncRequest::Snapshot.to_bytes()),
        ("sync_request_chunk", SyncRequest::Chunk { height: Height::new(100), index: 3 }.to_bytes()),
        ("sync_response_snapshot", sync_snapshot().to_bytes()),
        ("sync_response_chunk", SyncResponse::Chunk(Some(vec![1, 2, 3])).to_bytes()),
        ("signing_bytes_submission", signing_bytes(MessageKind::Submission, NETUID, &[0xaa, 0xbb])),
        ("block_hash", block().hash().as_bytes().to_vec()),
    ]
}

fn manifest() -> Manifest {
    Manifest {
        height: Height::new(100),
        block_hash: h(1),
        prev_root: h(2),
        registry_hash: h(3),
        len: (CHUNK_BYTES + 5) as u64,
        chunks: vec![h(4), h(5)],
    }
}

fn sync_snapshot() -> SyncResponse {
    let checkpoint =
        Checkpoint { header: block().header, commit: certificate(VoteKind::Commit), validators: validators() };
    SyncResponse::Snapshot(Some(Box::new((checkpoint, manifest()))))
}

fn sync_submissions() -> SyncResponse {
    SyncResponse::Submissions(vec![Envelope {
        kind: MessageKind::Submission,
        payload: submission().to_bytes(),
        signer: alice().public(),
        signature: Signature::from_bytes([3; 64]),
    }])
}

/// The sync protocol, one wire codec with the rest (it was SCALE inside the node).
#[test]
fn sync_messages_round_trip_and_refuse_what_is_out_of_bounds() {
    let requests = [
        SyncRequest::Genesis,
        SyncRequest::Blocks { from: Height::new(1) },
        SyncRequest::Submissions(vec![SubmissionId(h(1)), SubmissionId(h(2))]),
        SyncRequest::Snapshot,
        SyncRequest::Chunk { height: Height::new(100), index: 0 },
    ];
    for request in requests {
        assert_eq!(SyncRequest::from_bytes(&request.to_bytes()).expect("decodes"), request);
    }
    let responses = [
        SyncResponse::Genesis(None),
        SyncResponse::Genesis(Some(validators())),
        SyncResponse::Blocks(vec![(block(), certificate(VoteKind::Commit))]),
        sync_submissions(),
        sync_snapshot(),
        SyncResponse::Snapshot(None),
        SyncResponse::Chunk(None),
        SyncResponse::Chunk(Some(vec![7; CHUNK_BYTES])),
    ];
    for response in responses {
        assert_eq!(SyncResponse::from_bytes(&response.to_bytes()).expect("decodes"), response);
    }
    let zero = SyncRequest::Blocks { from: Height::new(0) }.to_bytes();
    assert!(matches!(SyncRequest::from_bytes(&zero), Err(DecodeError::Invalid { field: "from", .. })));
    let many = SyncRequest::Submissions(vec![SubmissionId(h(1)); MAX_SYNC_SUBMISSIONS + 1]).to_bytes();
    assert!(matches!(SyncRequest::from_bytes(&many), Err(DecodeError::TooLarge { field: "ids", .. })));
    let blocks = vec![(block(), certificate(VoteKind::Commit)); MAX_SYNC_BLOCKS + 1];
    let too_many = SyncResponse::Blocks(blocks).to_bytes();
    assert!(matches!(SyncResponse::from_bytes(&too_many), Err(DecodeError::TooLarge { field: "blocks", .. })));
    assert!(SyncRequest::from_bytes(&[]).is_err(), "an empty request names nothing");
    let big = SyncResponse::Chunk(Some(vec![0; CHUNK_BYTES + 1])).to_bytes();
    assert!(matches!(SyncResponse::from_bytes(&big), Err(DecodeError::TooLarge { field: "data", .. })));
    let SyncResponse::Snapshot(Some(offer)) = sync_snapshot() else { unreachable!() };
    let (checkpoint, mut manifest) = *offer;
    manifest.chunks = vec![h(1); MAX_CHUNKS + 1];
    let chunks = SyncResponse::Snapshot(Some(Box::new((checkpoint, manifest)))).to_bytes();
    assert!(matches!(SyncResponse::from_bytes(&chunks), Err(DecodeError::TooLarge { field: "chunks", .. })));
}

fn golden_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file)
}

fn read_golden(file: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(golden_path(file)).expect("golden file present");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, hex) = line.split_once(' ').expect("`name hex` lines");
            (name.to_owned(), hex.trim().to_owned())
        })
        .collect()
}

fn check_golden(file: &str, actual: Vec<(&'static str, Vec<u8>)>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut text = String::from("# Golden vectors: `name hex`. Regenerate only for an intended format change.\n");
        for (name, bytes) in &actual {
            text.push_str(&format!("{name} {}\n", hex::encode(bytes)));
        }
        std::fs::write(golden_path(file), text).expect("write golden");
        return;
    }
    let golden = read_golden(file);
    assert_eq!(golden.len(), actual.len(), "{file}: vector count differs; regenerate on purpose");
    for (name, bytes) in actual {
        assert_eq!(
            golden.get(name).map(String::as_str),
            Some(hex::encode(&bytes).as_str()),
            "{file}: vector {name} changed"
        );
    }
}

#[test]
fn every_message_kind_matches_its_golden_vector() {
    check_golden("wire.txt", samples());
}

#[test]
fn golden_vectors_decode_and_reencode_identically() {
    let golden = read_golden("wire.txt");
    let bytes = |name: &str| hex::decode(&golden[name]).expect("hex");
    let roundtrip = |name: &str, kind: MessageKind| {
        let decoded = Message::decode(kind, &bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = match decoded {
            Message::Submission(m) => m.to_bytes(),
            Message::Evaluation(m) => m.to_bytes(),
            Message::SudoAction(m) => m.to_bytes(),
            Message::Proposal(m) => m.to_bytes(),
            Message::Vote(m) => m.to_bytes(),
            Message::ViewChange(m) => m.to_bytes(),
            Message::NewView(m) => m.to_bytes(),
            Message::Checkpoint(m) => m.to_bytes(),
            Message::PeerBinding(m) => m.to_bytes(),
        };
        assert_eq!(again, bytes(name), "{name} re-encodes differently");
    };
    roundtrip("submission_inline", MessageKind::Submission);
    roundtrip("submission_blob", MessageKind::Submission);
    roundtrip("evaluation", MessageKind::Evaluation);
    roundtrip("sudo_add_challenge", MessageKind::SudoAction);
    roundtrip("sudo_set_required_version", MessageKind::SudoAction);
    roundtrip("proposal", MessageKind::Proposal);
    roundtrip("vote_prepare", MessageKind::Prepare);
    roundtrip("vote_commit", MessageKind::Commit);
    roundtrip("view_change", MessageKind::ViewChange);
    roundtrip("new_view", MessageKind::NewView);
    roundtrip("checkpoint", MessageKind::Checkpoint);
    roundtrip("peer_binding", MessageKind::PeerBinding);
    assert_eq!(Block::from_bytes(&bytes("block")).expect("block"), block());
    assert_eq!(ChallengeSpec::from_bytes(&bytes("challenge_spec")).expect("spec"), spec());
}

#[test]
fn key_derivation_matches_its_golden_vectors() {
    let uris = [
        "//Alice",
        "//Bob",
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk//validator/0",
        "legal winner thank year wave sausage worth useful legal winner thank yellow///secret",
        "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60/soft",
    ];
    let actual = uris
        .iter()
        .enumerate()
        .map(|(i, uri)| {
            let name: &'static str = ["alice", "bob", "dev_validator_0", "legal_password", "seed_soft"][i];
            (name, Keypair::from_suri(uri).expect("uri").public().as_bytes().to_vec())
        })
        .collect();
    check_golden("keys.txt", actual);
}

#[test]
fn a_signed_envelope_verifies_only_in_its_domain() {
    let keypair = alice();
    let envelope = Envelope::seal(&keypair, NETUID, &submission());
    let decoded = Envelope::from_bytes(&envelope.to_bytes(), limits::MAX_ENVELOPE_BYTES).expect("decodes");
    let opened: Signed<Submission> = decoded.open(NETUID).expect("opens");
    assert_eq!(opened.message, submission());
    assert_eq!(opened.signer, keypair.public());
    assert!(matches!(decoded.open_any(NETUID).expect("opens").message, Message::Submission(_)));

    assert!(matches!(decoded.open::<Submission>(NetUid::new(101)), Err(EnvelopeError::Signature(_))), "other subnet");
    assert!(matches!(decoded.open::<Evaluation>(NETUID), Err(EnvelopeError::WrongKind { .. })));
    let relabelled = Envelope { kind: MessageKind::Evaluation, ..decoded.clone() };
    assert!(relabelled.open_any(NETUID).is_err(), "kind is covered by the signature");
    let mut tampered = decoded.clone();
    tampered.payload[3] ^= 1;
    assert!(tampered.open_any(NETUID).is_err());

    let bob = Keypair::from_suri("//Bob").expect("bob");
    let forged = Envelope::seal(&bob, NETUID, &submission());
    assert!(
        matches!(forged.open::<Submission>(NETUID), Err(EnvelopeError::SignerMismatch { .. })),
        "miner field must be the signer"
    );
}

#[test]
fn a_prepare_vote_cannot_pass_as_a_commit() {
    let vote = Vote { kind: VoteKind::Prepare, height: Height::new(1), view: View::new(0), block_hash: h(1) };
    let envelope = Envelope::seal(&alice(), NETUID, &vote);
    assert_eq!(envelope.kind, MessageKind::Prepare);
    let as_commit = Envelope::sign(&alice(), NETUID, MessageKind::Commit, vote.to_bytes());
    assert!(as_commit.open::<Vote>(NETUID).is_err());
    assert!(as_commit.open_any(NETUID).is_err());
    assert_eq!(envelope.open::<Vote>(NETUID).expect("opens").message, vote);
}

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
    assert!(Evaluation::from_bytes(&rejected_with_score.to_bytes()).is_err());

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
fn batch_verification_accepts_good_batches_and_rejects_one_bad_signature() {
    let keys: Vec<Keypair> = ["//A", "//B", "//C"].iter().map(|s| Keypair::from_suri(s).expect("key")).collect();
    let vote = Vote { kind: VoteKind::Commit, height: Height::new(1), view: View::new(0), block_hash: h(1) };
    let mut envelopes: Vec<Envelope> = keys.iter().map(|k| Envelope::seal(k, NETUID, &vote)).collect();
    assert_eq!(Envelope::verify_batch(&envelopes.iter().collect::<Vec<_>>(), NETUID), Ok(()));
    assert!(Envelope::verify_batch(&envelopes.iter().collect::<Vec<_>>(), NetUid::new(1)).is_err());
    envelopes[1].signature = envelopes[0].signature;
    assert!(Envelope::verify_batch(&envelopes.iter().collect::<Vec<_>>(), NETUID).is_err());
    assert_eq!(Envelope::verify_batch(&[], NETUID), Ok(()));
}

#[test]
fn batch_verification_with_signers_repeating_in_any_order_checks_every_signature() {
    // Signers interleaved (A B A C B A ...): the batch groups them, each key one term.
    let keys: Vec<Keypair> = ["//A", "//B", "//C"].iter().map(|s| Keypair::from_suri(s).expect("key")).collect();
    let order = [0usize, 1, 0, 2, 1, 0, 0, 2, 1, 1, 0];
    let mut envelopes: Vec<Envelope> = order
        .iter()
        .enumerate()
        .map(|(nonce, &k)| {
            let key = &keys[k];
            Envelope::seal(key, NETUID, &Submission { miner: key.public(), nonce: nonce as u64, ..submission() })
        })
        .collect();
    fn refs(envelopes: &[Envelope]) -> Vec<&Envelope> {
        envelopes.iter().collect()
    }
    assert_eq!(Envelope::verify_batch(&refs(&envelopes), NETUID), Ok(()));
    assert!(Envelope::open_batch::<Submission>(envelopes.clone(), NETUID).iter().all(Result::is_ok));

    // Two signatures of the same signer swapped: each is genuine, but not for its message.
    let mut swapped = envelopes.clone();
    let (first, second) = (swapped[0].signature, swapped[2].signature);
    swapped[0].signature = second;
    swapped[2].signature = first;
    assert!(Envelope::verify_batch(&refs(&swapped), NETUID).is_err());
    let opened = Envelope::open_batch::<Submission>(swapped, NETUID);
    assert!(opened[0].is_err() && opened[2].is_err() && opened[1].is_ok() && opened[5].is_ok());

    // One envelope claiming another signer of the batch: refused, the rest still open.
    envelopes[4].signer = keys[0].public();
    assert!(Envelope::verify_batch(&refs(&envelopes), NETUID).is_err());
    let opened = Envelope::open_batch::<Submission>(envelopes, NETUID);
    assert_eq!(opened.iter().filter(|o| o.is_err()).count(), 1);
    assert!(opened[4].is_err());
}

#[test]
fn an_envelope_batch_round_trips_and_opens_each_envelope_on_its_own_merits() {
    let keys: Vec<Keypair> = ["//A", "//B", "//C", "//D"].iter().map(|s| Keypair::from_suri(s).expect("key")).collect();
    let mut envelopes: Vec<Envelope> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Envelope::seal(k, NETUID, &Submission { miner: k.public(), nonce: i as u64, ..submission() }))
        .collect();
    let encoded: Vec<Vec<u8>> = envelopes.iter().map(Envelope::to_bytes).collect();
    let bytes = Envelope::join_batch(&encoded);
    let split = Envelope::split_batch(&bytes, 1 << 20).expect("splits");
    assert_eq!(split, encoded, "each envelope comes back byte for byte as it went in");
    let decoded: Vec<Envelope> = split.iter().map(|b| Envelope::from_bytes(b, 1 << 16).expect("decodes")).collect();
    assert_eq!(decoded, envelopes);
    assert!(matches!(Envelope::split_batch(&bytes, 16), Err(DecodeError::TooLarge { .. })));
    assert!(Envelope::split_batch(b"\xff\xff\xff", 1 << 20).is_err());

    let opened = Envelope::open_batch::<Submission>(envelopes.clone(), NETUID);
    assert!(opened.iter().all(Result::is_ok));
    assert_eq!(opened[2].as_ref().expect("ok").message.nonce, 2);

    // One forged signature, one message of the wrong kind: those two fail, the rest open.
    envelopes[1].signature = envelopes[0].signature;
    let vote = Vote { kind: VoteKind::Commit, height: Height::new(1), view: View::new(0), block_hash: h(1) };
    envelopes[3] = Envelope::seal(&keys[3], NETUID, &vote);
    let opened = Envelope::open_batch::<Submission>(envelopes, NETUID);
    assert!(opened[0].is_ok() && opened[2].is_ok());
    assert!(matches!(opened[1], Err(EnvelopeError::Signature(_))), "{:?}", opened[1]);
    assert!(matches!(opened[3], Err(EnvelopeError::WrongKind { .. })), "{:?}", opened[3]);
    assert!(Envelope::open_batch::<Submission>(Vec::new(), NETUID).is_empty());
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
