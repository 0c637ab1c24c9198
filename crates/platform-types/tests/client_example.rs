//! The worked example of `docs/wire-protocol.md` ("Submitting from another language"): every
//! byte string the document shows is recomputed here, and its signed envelope must open. A client
//! written from the document alone computes the same bytes (`examples/python` checks them too).

use std::path::PathBuf;

use platform_types::*;

const NETUID: NetUid = NetUid::new(1);

fn doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/wire-protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The value on the document's line `name: value` inside the worked example.
fn shown(doc: &str, name: &str) -> String {
    let start = doc.find("### Worked example").expect("the document has a worked example");
    doc[start..]
        .lines()
        .find_map(|line| line.trim().strip_prefix(name)?.trim().strip_prefix(':').map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("the worked example shows no `{name}:` line"))
}

fn example() -> (Keypair, Submission) {
    let key = Keypair::from_suri(&format!("0x{}", "01".repeat(32))).expect("seed");
    let payload = b"1 -2 0.25 5 -0.5".to_vec();
    let submission = Submission {
        challenge: ChallengeId::new("regression").expect("id"),
        miner: key.public(),
        payload_size: payload.len() as u64,
        payload: Payload::Inline(payload),
        metadata: vec![],
        nonce: 7,
        timestamp_ms: 1_764_000_000_000,
        phase: Default::default(),
    };
    (key, submission)
}

#[test]
fn the_documented_example_bytes_are_what_the_code_computes() {
    let doc = doc();
    let (key, submission) = example();
    let payload = submission.to_bytes();
    let signed = signing_bytes(MessageKind::Submission, NETUID, &payload);
    let computed = [
        ("miner public key", key.public().to_hex()),
        ("miner SS58", key.public().to_ss58()),
        ("Submission bytes", hex::encode(&payload)),
        ("signed bytes", hex::encode(&signed)),
        ("submission id", blake2b_256(&payload).to_string()),
    ];
    let mut wrong = Vec::new();
    for (name, value) in &computed {
        if shown(&doc, name) != *value {
            wrong.push(format!("{name}: {value}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the document shows other bytes than the code computes; the code says:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_documented_envelope_opens_as_the_example_submission() {
    let doc = doc();
    let (key, submission) = example();
    let text = shown(&doc, "Envelope bytes");
    let bytes = hex::decode(&text).unwrap_or_else(|e| {
        // Print a fresh one to paste (signatures are randomised, so any valid one will do).
        let fresh = Envelope::seal(&key, NETUID, &submission);
        panic!("the document's envelope is not hex ({e}); a valid one is {}", hex::encode(fresh.to_bytes()))
    });
    let envelope = Envelope::from_bytes(&bytes, limits::MAX_ENVELOPE_BYTES).expect("the envelope decodes");
    let opened = envelope.open::<Submission>(NETUID).unwrap_or_else(|e| {
        let fresh = Envelope::seal(&key, NETUID, &submission);
        panic!("the document's envelope does not open ({e}); a valid one is {}", hex::encode(fresh.to_bytes()))
    });
    assert_eq!(opened.message, submission);
    assert_eq!(shown(&doc, "signature"), hex::encode(envelope.signature.as_bytes()));
    assert!(envelope.open::<Submission>(NetUid::new(2)).is_err(), "signed for subnet 1 only");
}
