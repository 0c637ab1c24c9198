//! sr25519 hotkeys, read exactly as btcli and subkey read them.
//!
//! A secret URI is `<phrase>[//hard][/soft]...[///password]`, where the phrase is a BIP39
//! English mnemonic (12–24 words, checksum checked) or a raw 32-byte seed written `0x…`;
//! with no phrase (`//Alice`) the Substrate development phrase is used. URI parsing,
//! junction encoding come from `subxt-signer`, the mnemonic-to-seed step from Parity's
//! `substrate-bip39`; the keys themselves are schnorrkel's, derived with schnorrkel's own
//! HDKD functions.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{LazyLock, Mutex};

use bip39::{Language, Mnemonic};
use parity_scale_codec::{Decode, Encode};
use schnorrkel::derive::{ChainCode, Derivation};
use schnorrkel::{ExpansionMode, MiniSecretKey};
use subxt_signer::{DeriveJunction, ExposeSecret, SecretUri};
use zeroize::Zeroizing;

use crate::error::{DecodeError, KeyError, SignatureError};
use crate::ss58;

/// The signing context Substrate uses for sr25519; signatures made here verify in Substrate
/// tooling and vice versa.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";

/// A 32-byte sr25519 public key: a hotkey's identity, the same bytes as a Substrate `AccountId32`.
/// Displays as its SS58 address (prefix 42).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Wraps raw bytes. Whether they are a valid curve point is checked when verifying.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        PublicKey(bytes)
    }

    /// Reads a key from a slice that must be exactly 32 bytes long.
    pub fn from_slice(field: &'static str, bytes: &[u8]) -> Result<Self, DecodeError> {
        crate::error::fixed(field, bytes).map(PublicKey)
    }

    /// Parses an SS58 address of any prefix.
    pub fn from_ss58(address: &str) -> Result<Self, KeyError> {
        ss58::decode(address).map(|(_, account)| PublicKey(account))
    }

    /// The SS58 address with Bittensor's prefix (42).
    pub fn to_ss58(&self) -> String {
        ss58::encode(ss58::BITTENSOR_PREFIX, &self.0)
    }

    /// The raw key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `0x`-prefixed hex of the key bytes.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Verifies a signature made with the `substrate` context over exactly `message`.
    pub fn verify_raw(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let public = self.point()?;
        let signature = schnorrkel::Signature::from_bytes(&signature.0).map_err(|_| SignatureError::Malformed)?;
        public.verify_simple(SIGNING_CONTEXT, message, &signature).map_err(|_| SignatureError::Invalid)
    }
}

/// Signers whose key was decompressed lately, at most this many (the memory is cleared when
/// full): miners and validators sign again and again, and decompressing a key (a square root in
/// the field) is a large share of checking a signature.
const DECOMPRESSED_CAPACITY: usize = 8192;

static DECOMPRESSED: LazyLock<Mutex<HashMap<[u8; 32], schnorrkel::PublicKey>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

impl PublicKey {
    /// The key as a curve point, decompressed once per signer while it is remembered; only
    /// valid keys are remembered.
    pub(crate) fn point(&self) -> Result<schnorrkel::PublicKey, SignatureError> {
        let remembered = DECOMPRESSED.lock().ok().and_then(|m| m.get(&self.0).copied());
        if let Some(point) = remembered {
            return Ok(point);
        }
        let point = schnorrkel::PublicKey::from_bytes(&self.0).map_err(|_| SignatureError::BadPublicKey)?;
        if let Ok(mut memory) = DECOMPRESSED.lock() {
            if memory.len() >= DECOMPRESSED_CAPACITY {
                memory.clear();
            }
            memory.insert(self.0, point);
        }
        Ok(point)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_ss58())
    }
}

/// A 64-byte sr25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Signature([u8; 64]);

impl Signature {
    /// Wraps raw bytes. Whether they are well-formed is checked when verifying.
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Signature(bytes)
    }

    /// Reads a signature from a slice that must be exactly 64 bytes long.
    pub fn from_slice(field: &'static str, bytes: &[u8]) -> Result<Self, DecodeError> {
        crate::error::fixed(field, bytes).map(Signature)
    }

    /// The raw signature bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(0x{})", hex::encode(self.0))
    }
}

/// An sr25519 keypair: a hotkey that signs. `Debug` shows only the public half.
#[derive(Clone)]
pub struct Keypair(schnorrkel::Keypair);

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

/// A freshly generated hotkey with the mnemonic that recreates it.
pub struct GeneratedKey {
    /// The BIP39 phrase; keep it secret.
    pub phrase: Zeroizing<String>,
    /// The keypair the phrase gives.
    pub keypair: Keypair,
}

impl Keypair {
    /// Reads a secret URI (mnemonic or `0x` seed, derivation junctions, `///password`).
    pub fn from_suri(suri: &str) -> Result<Self, KeyError> {
        let uri = SecretUri::from_str(suri.trim()).map_err(|_| KeyError::InvalidUri)?;
        let phrase = uri.phrase.expose_secret();
        let mini = if let Some(hex_seed) = phrase.strip_prefix("0x") {
            // As in Substrate, a raw seed ignores the password.
            let seed = Zeroizing::new(hex::decode(hex_seed).map_err(|_| KeyError::SeedNotHex)?);
            mini_secret(&seed)?
        } else {
            let mnemonic = parse_mnemonic(phrase)?;
            let password = uri.password.as_ref().map(|p| p.expose_secret());
            mini_from_mnemonic(&mnemonic, password.unwrap_or(""))?
        };
        let mut secret = mini.expand(ExpansionMode::Ed25519);
        for junction in &uri.junctions {
            secret = match junction {
                DeriveJunction::Soft(code) => secret.derived_key_simple(ChainCode(*code), []).0,
                DeriveJunction::Hard(code) => {
                    secret.hard_derive_mini_secret_key(Some(ChainCode(*code)), b"").0.expand(ExpansionMode::Ed25519)
                }
            };
        }
        Ok(Keypair(secret.into()))
    }

    /// Generates a new hotkey from a fresh mnemonic of `words` words (12, 15, 18, 21 or 24).
    pub fn generate(words: usize) -> Result<GeneratedKey, KeyError> {
        let mnemonic = Mnemonic::generate_in(Language::English, words).map_err(|_| KeyError::BadWordCount(words))?;
        let phrase = Zeroizing::new(mnemonic.to_string());
        let keypair = Keypair(mini_from_mnemonic(&mnemonic, "")?.expand_to_keypair(ExpansionMode::Ed25519));
        Ok(GeneratedKey { phrase, keypair })
    }

    /// Loads an unencrypted btcli hotkey file (`~/.bittensor/wallets/<w>/hotkeys/<h>`): JSON
    /// with `secretPhrase`, `secretSeed` or `privateKey`. When the file states `publicKey` or
    /// `ss58Address`, the derived key must match it.
    pub fn from_wallet_file(path: &Path) -> Result<Self, KeyError> {
        let fail = |reason: String| KeyError::WalletFile { path: path.display().to_string(), reason };
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?);
        if text.starts_with("$NACL") || text.starts_with("$BT") {
            return Err(fail("the file is encrypted; decrypt it with btcli or pass the mnemonic instead".into()));
        }
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(format!("not JSON: {e}")))?;
        let field = |name: &str| json.get(name).and_then(|v| v.as_str());
        let keypair = if let Some(phrase) = field("secretPhrase") {
            Keypair::from_suri(phrase)?
        } else if let Some(seed) = field("secretSeed") {
            Keypair::from_suri(seed)?
        } else if let Some(private) = field("privateKey") {
            let bytes =
                Zeroizing::new(hex::decode(private.trim_start_matches("0x")).map_err(|_| KeyError::SeedNotHex)?);
            let secret = schnorrkel::SecretKey::from_ed25519_bytes(&bytes)
                .map_err(|_| fail("privateKey is not a 64-byte sr25519 secret key".into()))?;
            Keypair(secret.into())
        } else {
            return Err(fail("no secretPhrase, secretSeed or privateKey field".into()));
        };
        let public = keypair.public();
        let stated_hex = field("publicKey").or(field("accountId"));
        if let Some(stated) = stated_hex
            && !stated.trim_start_matches("0x").eq_ignore_ascii_case(&hex::encode(public.as_bytes()))
        {
            return Err(fail("the secret does not match the file's publicKey".into()));
        }
        if let Some(stated) = field("ss58Address")
            && PublicKey::from_ss58(stated).ok() != Some(public)
        {
            return Err(fail("the secret does not match the file's ss58Address".into()));
        }
        Ok(keypair)
    }

    /// The public key (hotkey address).
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.public.to_bytes())
    }

    /// Signs exactly `message` with the `substrate` context, as Substrate tooling does.
    /// Protocol messages are signed through [`crate::Envelope`], which adds a domain header.
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        let context = schnorrkel::signing_context(SIGNING_CONTEXT);
        Signature(self.0.sign(context.bytes(message)).to_bytes())
    }
}

/// Where btcli keeps a wallet's hotkey: `<base>/<wallet>/hotkeys/<hotkey>`, with `base`
/// defaulting to `~/.bittensor/wallets`.
pub fn wallet_hotkey_path(base: Option<&Path>, wallet: &str, hotkey: &str) -> PathBuf {
    let base = base.map(Path::to_path_buf).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".bittensor").join("wallets")
    });
    base.join(wallet).join("hotkeys").join(hotkey)
}

fn parse_mnemonic(phrase: &str) -> Result<Mnemonic, KeyError> {
    Mnemonic::parse_in(Language::English, phrase).map_err(|e| match e {
        bip39::Error::UnknownWord(index) => KeyError::UnknownWord {
            index: index + 1,
            word: phrase.split_whitespace().nth(index).unwrap_or_default().to_owned(),
        },
        bip39::Error::InvalidChecksum => KeyError::BadChecksum,
        _ => KeyError::BadWordCount(phrase.split_whitespace().count()),
    })
}

/// Substrate's mnemonic-to-key step: PBKDF2 over the mnemonic's *entropy* (not its words, as
/// plain BIP39 does), salted with `"mnemonic" + password`.
fn mini_from_mnemonic(mnemonic: &Mnemonic, password: &str) -> Result<MiniSecretKey, KeyError> {
    let (entropy, len) = mnemonic.to_entropy_array();
    substrate_bip39::mini_secret_from_entropy(&entropy[..len], password)
        .map_err(|_| KeyError::BadWordCount(mnemonic.word_count()))
}

fn mini_secret(seed: &[u8]) -> Result<MiniSecretKey, KeyError> {
    if seed.len() != 32 {
        return Err(KeyError::SeedLength(seed.len()));
    }
    MiniSecretKey::from_bytes(seed).map_err(|_| KeyError::SeedLength(seed.len()))
}
