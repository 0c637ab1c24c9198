//! Drand-timelocked weight commits, in the format the runtime decrypts.
//!
//! With commit-reveal v4 a validator does not reveal its weights itself: it commits them
//! encrypted to a future round of drand's *quicknet* beacon, and the runtime decrypts the commit
//! with that round's signature once the beacon has published it (`reveal_commits.rs` in
//! subtensor). The scheme is Boneh–Franklin identity-based encryption over BLS12-381 with the
//! round's number as identity (`SHA-256(round as u64 big-endian)`), wrapping an AES-GCM key; the
//! arithmetic is the `timelock` crate's, the same scheme and serialization the runtime links.
//!
//! What this module adds: quicknet's constants, the plaintext the runtime expects
//! ([`WeightsTlockPayload`], SCALE), and the ciphertext's compressed arkworks encoding.

use std::sync::OnceLock;

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use parity_scale_codec::{Decode, Encode};
use platform_types::{EpochState, PublicKey};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use timelock::curves::drand::TinyBLS381;
use timelock::ibe::fullident::Identity;
use timelock::stream_ciphers::AESGCMStreamCipherProvider;
use timelock::tlock::{EngineBLS, TLECiphertext, tld, tle};

use crate::error::ChainError;
use crate::types::WeightVector;

/// Drand quicknet's group public key (G2, compressed), as published in the beacon's chain info.
pub const QUICKNET_PUBLIC_KEY_HEX: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";

/// Quicknet's genesis, in Unix seconds: round 1 was published then.
pub const QUICKNET_GENESIS_SECS: u64 = 1_692_803_367;

/// Seconds between quicknet rounds.
pub const QUICKNET_PERIOD_SECS: u64 = 3;

/// Largest plaintext [`encrypt`] takes. A weights payload for 4 096 uids is about 16 KiB; the
/// bound only keeps a caller's mistake from allocating without limit.
pub const MAX_PLAINTEXT_BYTES: usize = 1 << 20;

/// The plaintext of a timelocked weights commit, exactly as the runtime decodes it (SCALE).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct WeightsTlockPayload {
    /// The committing hotkey's public key (32 bytes); the runtime checks it against the signer.
    pub hotkey: Vec<u8>,
    /// Destination uids.
    pub uids: Vec<u16>,
    /// One value per uid.
    pub values: Vec<u16>,
    /// The version key sent with the weights.
    pub version_key: u64,
}

impl WeightsTlockPayload {
    /// The payload committing `weights` for `hotkey`.
    pub fn new(hotkey: &PublicKey, weights: &WeightVector) -> Self {
        WeightsTlockPayload {
            hotkey: hotkey.as_bytes().to_vec(),
            uids: weights.uids.clone(),
            values: weights.values.clone(),
            version_key: weights.version_key,
        }
    }
}

type PublicKeyGroup = <TinyBLS381 as EngineBLS>::PublicKeyGroup;
type SignatureGroup = <TinyBLS381 as EngineBLS>::SignatureGroup;

fn crypto(reason: impl std::fmt::Display) -> ChainError {
    ChainError::Timelock(reason.to_string())
}

/// Quicknet's public key, decoded and subgroup-checked once.
fn quicknet_key() -> Result<PublicKeyGroup, ChainError> {
    static KEY: OnceLock<Result<PublicKeyGroup, String>> = OnceLock::new();
    KEY.get_or_init(|| {
        let bytes = hex::decode(QUICKNET_PUBLIC_KEY_HEX).map_err(|e| e.to_string())?;
        PublicKeyGroup::deserialize_compressed(&bytes[..]).map_err(|e| format!("{e:?}"))
    })
    .clone()
    .map_err(|e| crypto(format!("quicknet public key: {e}")))
}

/// The identity a round's signature unlocks: `SHA-256(round as big-endian u64)`.
fn round_identity(round: u64) -> Identity {
    Identity::new(b"", vec![Sha256::digest(round.to_be_bytes()).to_vec()])
}

/// The drand round published at `unix_secs` or just before it (rounds start at 1).
pub fn round_at(unix_secs: f64) -> u64 {
    let since = (unix_secs - QUICKNET_GENESIS_SECS as f64) / QUICKNET_PERIOD_SECS as f64;
    if since.is_nan() || since < 1.0 {
        return 1;
    }
    since.floor() as u64
}

/// Blocks past the predicted first reveal block that a commit's round aims at, so that the
/// runtime has ingested the round's pulse by then (the SDK's margin).
pub const REVEAL_MARGIN_BLOCKS: u64 = 3;

/// The drand round to encrypt a commit to, sent now (`now_unix_secs`) against the head state
/// `state`: the round published [`REVEAL_MARGIN_BLOCKS`] blocks after the first block in which
/// the runtime reveals the commit, counting `block_time_secs` per block from now (the Bittensor
/// SDK's computation, `get_encrypted_commit_v2`). The clock is an argument so that every caller
/// — and every test — says which instant it means.
pub fn reveal_round(
    state: &EpochState,
    reveal_period_epochs: u64,
    block_time_secs: f64,
    now_unix_secs: f64,
) -> Result<u64, ChainError> {
    let first = state.first_reveal_block(reveal_period_epochs).map_err(|e| crypto(e.to_string()))?;
    let blocks = first.saturating_add(REVEAL_MARGIN_BLOCKS).saturating_sub(state.block);
    Ok(round_at(now_unix_secs + blocks as f64 * block_time_secs))
}

/// Encrypts `plaintext` so that quicknet's signature of `round` decrypts it; returns the
/// compressed ciphertext the runtime deserializes. `rng` draws the ephemeral key and nonce.
pub fn encrypt<R: RngCore + CryptoRng>(plaintext: &[u8], round: u64, rng: &mut R) -> Result<Vec<u8>, ChainError> {
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(crypto(format!(
            "plaintext of {} bytes exceeds the {MAX_PLAINTEXT_BYTES}-byte bound",
            plaintext.len()
        )));
    }
    if round == 0 {
        return Err(crypto("drand rounds start at 1"));
    }
    let mut ephemeral = [0u8; 32];
    rng.fill_bytes(&mut ephemeral);
    let ciphertext = tle::<TinyBLS381, AESGCMStreamCipherProvider, _>(
        quicknet_key()?,
        ephemeral,
        plaintext,
        round_identity(round),
        rng,
    )
    .map_err(|e| crypto(format!("encryption failed: {e:?}")))?;
    let mut bytes = Vec::with_capacity(plaintext.len() + 256);
    ciphertext.serialize_compressed(&mut bytes).map_err(|e| crypto(format!("serialization failed: {e:?}")))?;
    Ok(bytes)
}

/// Decrypts a compressed ciphertext with a round's signature (48 bytes, compressed G1, as drand
/// publishes it). Fails on a malformed ciphertext or signature, and on the wrong round's
/// signature. The runtime does this on reveal; here it serves tests and operators' checks.
pub fn decrypt(ciphertext: &[u8], signature: &[u8]) -> Result<Vec<u8>, ChainError> {
    let ciphertext = TLECiphertext::<TinyBLS381>::deserialize_compressed(ciphertext)
        .map_err(|e| crypto(format!("malformed ciphertext: {e:?}")))?;
    let signature =
        SignatureGroup::deserialize_compressed(signature).map_err(|e| crypto(format!("malformed signature: {e:?}")))?;
    tld::<TinyBLS381, AESGCMStreamCipherProvider>(ciphertext, signature)
        .map_err(|e| crypto(format!("decryption failed: {e:?}")))
}

/// The timelocked commit of `weights` by `hotkey` for `round`: [`WeightsTlockPayload`] in SCALE,
/// encrypted.
pub fn weights_commit<R: RngCore + CryptoRng>(
    hotkey: &PublicKey,
    weights: &WeightVector,
    round: u64,
    rng: &mut R,
) -> Result<Vec<u8>, ChainError> {
    weights.validate()?;
    encrypt(&WeightsTlockPayload::new(hotkey, weights).encode(), round, rng)
}

#[cfg(test)]
mod tests {
    use platform_types::{MechanismId, NetUid};
    use rand::SeedableRng;

    use super::*;

    /// Quicknet's signature of round 1 000 (public beacon data, also used by the timelock
    /// crate's own tests).
    const ROUND_1000_SIGNATURE: &str =
        "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

    fn weights() -> WeightVector {
        WeightVector {
            netuid: NetUid::new(7),
            mechanism: MechanismId::new(0),
            uids: vec![0, 3, 9],
            values: vec![65535, 100, 7],
            version_key: 42,
        }
    }

    fn sig() -> Vec<u8> {
        hex::decode(ROUND_1000_SIGNATURE).expect("hex")
    }

    #[test]
    fn a_commit_for_a_round_opens_with_that_rounds_signature() {
        let hotkey = PublicKey::from_bytes([5; 32]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let commit = weights_commit(&hotkey, &weights(), 1000, &mut rng).expect("commit");
        let plain = decrypt(&commit, &sig()).expect("decrypt");
        let payload = WeightsTlockPayload::decode(&mut &plain[..]).expect("payload");
        assert_eq!(payload, WeightsTlockPayload::new(&hotkey, &weights()));
        assert_eq!(payload.hotkey, vec![5; 32]);
    }

    #[test]
    fn another_rounds_signature_does_not_open_it() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let commit = encrypt(b"weights", 1001, &mut rng).expect("commit");
        assert!(matches!(decrypt(&commit, &sig()), Err(ChainError::Timelock(_))));
    }

    #[test]
    fn a_tampered_ciphertext_is_refused() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let commit = encrypt(b"weights", 1000, &mut rng).expect("commit");
        // The header (first bytes) and the AES-GCM body; the trailing cipher-suite label is not
        // authenticated by the scheme, and the runtime does not read it.
        for at in [0, 100, commit.len() / 2, commit.len() - 20] {
            let mut bad = commit.clone();
            bad[at] ^= 1;
            assert!(decrypt(&bad, &sig()).is_err(), "flipped byte {at} went unnoticed");
        }
        assert!(decrypt(&commit[..commit.len() - 1], &sig()).is_err());
        assert!(decrypt(&commit, &sig()[..47]).is_err());
    }

    #[test]
    fn rounds_follow_the_beacons_clock() {
        let genesis = QUICKNET_GENESIS_SECS as f64;
        assert_eq!(round_at(0.0), 1);
        assert_eq!(round_at(genesis), 1);
        assert_eq!(round_at(genesis + 3.0), 1);
        assert_eq!(round_at(genesis + 5.99), 1);
        assert_eq!(round_at(genesis + 6.0), 2);
        assert_eq!(round_at(genesis + 3000.0), 1000);
        assert_eq!(round_at(f64::NAN), 1);
    }

    #[test]
    fn the_reveal_round_is_the_margin_past_the_first_reveal_block() {
        let state = EpochState {
            block: 10,
            period: 50,
            last_epoch_block: 10,
            pending_epoch_at: 0,
            epoch_index: 0,
            blocks_since_last_step: 0,
        };
        let now = QUICKNET_GENESIS_SECS as f64 + 3_000.0; // round 1000
        // Reveal at block 60; aim 3 blocks later: 53 blocks of 12 s = 636 s = 212 rounds.
        assert_eq!(reveal_round(&state, 1, 12.0, now), Ok(1212));
        assert_eq!(reveal_round(&state, 1, 12.0, now + 2.9), Ok(1212));
        assert_eq!(reveal_round(&state, 1, 12.0, now + 3.0), Ok(1213));
        assert!(reveal_round(&EpochState { period: 0, ..state }, 1, 12.0, now).is_err());
    }

    #[test]
    fn round_zero_and_oversized_plaintexts_are_refused() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        assert!(encrypt(b"x", 0, &mut rng).is_err());
        assert!(encrypt(&vec![0; MAX_PLAINTEXT_BYTES + 1], 5, &mut rng).is_err());
    }
}
