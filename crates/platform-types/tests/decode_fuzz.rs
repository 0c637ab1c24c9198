//! Arbitrary bytes fed to every decoder: each returns a value or an error, never panics.

use platform_types::*;
use proptest::prelude::*;

fn all_decoders(bytes: &[u8]) {
    let _ = Envelope::from_bytes(bytes, limits::MAX_ENVELOPE_BYTES);
    for kind in MessageKind::ALL {
        let _ = Message::decode(kind, bytes);
    }
    let _ = Block::from_bytes(bytes);
    let _ = ChallengeSpec::from_bytes(bytes);
    let _ = ValidatorSet::from_bytes(bytes);
    let _ = QuorumCertificate::from_bytes(bytes);
    let _ = WeightsProposal::from_bytes(bytes);
    let _ = SyncRequest::from_bytes(bytes);
    let _ = SyncResponse::from_bytes(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = PublicKey::from_ss58(text);
        let _ = Keypair::from_suri(text);
        let _ = Hash::from_hex(text);
        let _ = text.parse::<Version>();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        all_decoders(&bytes);
    }

    #[test]
    fn mutated_valid_envelopes_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let keypair = Keypair::from_suri("//Alice").expect("alice");
        let vote = Vote { kind: VoteKind::Commit, height: Height::new(3), view: View::new(1), block_hash: Hash::from_bytes([4; 32]) };
        let mut bytes = Envelope::seal(&keypair, NetUid::new(1), &vote).to_bytes();
        for (position, value) in flips {
            let index = position % bytes.len();
            bytes[index] ^= value;
        }
        all_decoders(&bytes);
        if let Ok(envelope) = Envelope::from_bytes(&bytes, limits::MAX_ENVELOPE_BYTES) {
            let _ = envelope.open_any(NetUid::new(1));
        }
    }
}
