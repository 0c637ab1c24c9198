//! The newer weights calls (mechanisms, timelocked commits) encoded against mainnet's metadata
//! (finney, spec 365), and compared byte for byte with their documented SCALE layout.

mod common;

use parity_scale_codec::{Compact, Encode};
use platform_chain::{Capabilities, ChainError, ChainMetadata, WeightVector, WeightsCall};
use platform_types::{Hash, MechanismId, NetUid};

fn finney() -> Option<ChainMetadata> {
    let bytes = common::finney_metadata()?;
    Some(ChainMetadata::decode(&bytes).expect("finney metadata decodes"))
}

fn weights(mechanism: u8) -> WeightVector {
    WeightVector {
        netuid: NetUid::new(100),
        mechanism: MechanismId::new(mechanism),
        uids: vec![0, 5, 4095],
        values: vec![65535, 1000, 1],
        version_key: 7,
    }
}

/// The expected call data: pallet and call index from the metadata, then the arguments
/// SCALE-encoded by hand in the order and with the types subtensor documents.
fn expected(metadata: &ChainMetadata, call: &str, args: Vec<u8>) -> Vec<u8> {
    let (pallet, index) = metadata.call_index(call).unwrap_or_else(|| panic!("finney has {call}"));
    assert_eq!(pallet, 7, "SubtensorModule is pallet 7");
    let mut out = vec![pallet, index];
    out.extend(args);
    out
}

#[test]
fn finney_has_every_weights_call() {
    let Some(metadata) = finney() else { return };
    let caps = Capabilities::of(&metadata);
    assert!(caps.set_weights && caps.commit_reveal);
    assert!(caps.mechanism_weights && caps.mechanism_commit_reveal && caps.timelocked_commits);
    assert!(caps.mechanism_timelocked_commits && caps.commit_reveal_version);
    assert!(caps.mechanism_count && caps.stake_per_subnet && caps.owner_hotkey);
    // Spec 365 predates dynamic tempo: the legacy epoch rule applies there.
    assert!(!caps.dynamic_tempo);
}

#[test]
fn set_mechanism_weights_encodes_as_documented() {
    let Some(metadata) = finney() else { return };
    let w = weights(1);
    let data = WeightsCall::Set(w.clone()).call_data(&metadata).expect("encodes");
    let args = (100u16, 1u8, &w.uids, &w.values, 7u64).encode();
    assert_eq!(data, expected(&metadata, "set_mechanism_weights", args));
}

#[test]
fn mechanism_zero_uses_plain_set_weights() {
    let Some(metadata) = finney() else { return };
    let w = weights(0);
    let data = WeightsCall::Set(w.clone()).call_data(&metadata).expect("encodes");
    let args = (100u16, &w.uids, &w.values, 7u64).encode();
    assert_eq!(data, expected(&metadata, "set_weights", args));
}

#[test]
fn commit_and_reveal_mechanism_weights_encode_as_documented() {
    let Some(metadata) = finney() else { return };
    let hash = Hash::from_bytes([0xab; 32]);
    let commit = WeightsCall::Commit { netuid: NetUid::new(100), mechanism: MechanismId::new(2), hash };
    let data = commit.call_data(&metadata).expect("encodes");
    let args = (100u16, 2u8, [0xabu8; 32]).encode();
    assert_eq!(data, expected(&metadata, "commit_mechanism_weights", args));

    let w = weights(2);
    let salt = vec![1u16, 2, 3, 4, 5, 6, 7, 8];
    let data = WeightsCall::Reveal { weights: w.clone(), salt: salt.clone() }.call_data(&metadata).expect("encodes");
    let args = (100u16, 2u8, &w.uids, &w.values, &salt, 7u64).encode();
    assert_eq!(data, expected(&metadata, "reveal_mechanism_weights", args));
}

#[test]
fn timelocked_commit_encodes_as_documented() {
    let Some(metadata) = finney() else { return };
    let ciphertext: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let call = WeightsCall::CommitTimelocked {
        netuid: NetUid::new(100),
        mechanism: MechanismId::new(1),
        commit: ciphertext.clone(),
        reveal_round: 123_456_789,
        commit_reveal_version: 4,
    };
    let data = call.call_data(&metadata).expect("encodes");
    let mut args = (100u16, 1u8).encode();
    args.extend(Compact(ciphertext.len() as u32).encode());
    args.extend(&ciphertext);
    args.extend((123_456_789u64, 4u16).encode());
    assert_eq!(data, expected(&metadata, "commit_timelocked_mechanism_weights", args));
}

#[test]
fn a_timelocked_commit_for_mechanism_zero_uses_the_plain_call() {
    let Some(metadata) = finney() else { return };
    let hotkey = platform_types::PublicKey::from_bytes([4; 32]);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
    let commit = platform_chain::tlock::weights_commit(&hotkey, &weights(0), 5_000_000, &mut rng).expect("commit");
    let call = WeightsCall::CommitTimelocked {
        netuid: NetUid::new(100),
        mechanism: MechanismId::new(0),
        commit: commit.clone(),
        reveal_round: 5_000_000,
        commit_reveal_version: 4,
    };
    let data = call.call_data(&metadata).expect("encodes");
    let mut args = 100u16.encode();
    args.extend(commit.encode());
    args.extend((5_000_000u64, 4u16).encode());
    assert_eq!(data, expected(&metadata, "commit_timelocked_weights", args));
}

#[test]
fn malformed_weights_are_refused_before_encoding() {
    let Some(metadata) = finney() else { return };
    let mut w = weights(0);
    w.values.pop();
    assert!(matches!(WeightsCall::Set(w).call_data(&metadata), Err(ChainError::InvalidWeights(_))));
    let mut w = weights(0);
    w.uids[1] = 0;
    assert!(matches!(WeightsCall::Set(w).call_data(&metadata), Err(ChainError::InvalidWeights(_))));
}
