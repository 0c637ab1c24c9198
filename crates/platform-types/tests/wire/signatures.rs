//! Signatures on the wire: an envelope verifies only in its domain and as its kind, and batch
//! verification checks every signature of a batch.

use super::*;

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
    assert!(matches!(decoded.open::<EvaluationBatch>(NETUID), Err(EnvelopeError::WrongKind { .. })));
    let relabelled = Envelope { kind: MessageKind::EvaluationBatch, ..decoded.clone() };
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
