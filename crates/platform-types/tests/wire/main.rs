//! The wire format: golden vectors (so it changes only on purpose), round trips, and the
//! validation every decoder applies.
//!
//! Regenerate the vectors after an intended format change with
//! `UPDATE_GOLDEN=1 cargo test -p platform-types --test wire`, and say so in the commit.
//!
//! Here: one sample of every message and the golden vectors; signatures and their domains in
//! [`signatures`]; decoders' bounds and validation in [`validation`]; the sync protocol in
//! [`sync`].

mod signatures;
mod sync;
mod validation;

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

/// Two verdicts by one validator: a score and a rejection.
fn evaluation_batch() -> EvaluationBatch {
    let rejected =
        Evaluation { submission: SubmissionId(h(9)), status: EvaluationStatus::Rejected, score_ppb: 0, ..evaluation() };
    EvaluationBatch::new(vec![evaluation(), rejected]).expect("batch")
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
            Action::Evaluations(Envelope {
                kind: MessageKind::EvaluationBatch,
                payload: evaluation_batch().to_bytes(),
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
        ("evaluation_batch", evaluation_batch().to_bytes()),
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
        ("sync_response_submissions", sync::sync_submissions().to_bytes()),
        ("sync_request_snapshot", SyncRequest::Snapshot.to_bytes()),
        ("sync_request_chunk", SyncRequest::Chunk { height: Height::new(100), index: 3 }.to_bytes()),
        ("sync_response_snapshot", sync::sync_snapshot().to_bytes()),
        ("sync_response_chunk", SyncResponse::Chunk(Some(vec![1, 2, 3])).to_bytes()),
        ("signing_bytes_submission", signing_bytes(MessageKind::Submission, NETUID, &[0xaa, 0xbb])),
        ("block_hash", block().hash().as_bytes().to_vec()),
    ]
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
            Message::EvaluationBatch(m) => m.to_bytes(),
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
    roundtrip("evaluation_batch", MessageKind::EvaluationBatch);
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
