//! The typed errors of this crate.

use thiserror::Error;

/// A value from outside (peer, miner, owner, file) that does not form a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The bytes are not a protobuf message of the expected type.
    #[error("malformed {message} message: {reason}")]
    Malformed {
        /// The message type being decoded.
        message: &'static str,
        /// What the protobuf decoder reported.
        reason: String,
    },
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A fixed-length field has the wrong length.
    #[error("field `{field}` must be {expected} bytes, found {found}")]
    BadLength {
        /// The field.
        field: &'static str,
        /// The required length.
        expected: usize,
        /// The length received.
        found: usize,
    },
    /// A field or message exceeds its size limit.
    #[error("`{field}` is too large: {size} > {max}")]
    TooLarge {
        /// The field or message.
        field: &'static str,
        /// The size received.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A field holds a value outside its domain.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why it is rejected.
        reason: &'static str,
    },
}

/// Why a secret URI, mnemonic, seed or wallet file does not give a hotkey.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The secret URI does not have the `phrase//hard/soft///password` shape.
    #[error(
        "invalid secret URI: expected `<mnemonic or 0x seed>[//hard][/soft]...[///password]` \
         with non-empty junctions"
    )]
    InvalidUri,
    /// A word is not in the BIP39 English word list.
    #[error("invalid mnemonic: word {index} ({word:?}) is not in the BIP39 English word list")]
    UnknownWord {
        /// 1-based position of the word.
        index: usize,
        /// The word as given.
        word: String,
    },
    /// The mnemonic's checksum does not match.
    #[error("invalid mnemonic: checksum mismatch (a word is wrong or out of order)")]
    BadChecksum,
    /// Word count other than 12, 15, 18, 21 or 24.
    #[error("invalid mnemonic: {0} words, expected 12, 15, 18, 21 or 24")]
    BadWordCount(usize),
    /// A raw seed that is not hex.
    #[error("invalid seed: not hexadecimal")]
    SeedNotHex,
    /// A raw seed of the wrong length.
    #[error("invalid seed: {0} bytes, expected 32 (64 hex digits after 0x)")]
    SeedLength(usize),
    /// An SS58 address that does not decode.
    #[error("invalid SS58 address: {0}")]
    BadAddress(&'static str),
    /// A wallet file that cannot be read or parsed.
    #[error("cannot read hotkey file {path}: {reason}")]
    WalletFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// A signature that does not verify, or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The public key bytes are not a valid ristretto point.
    #[error("signer is not a valid sr25519 public key")]
    BadPublicKey,
    /// The signature bytes are malformed (e.g. missing the schnorrkel marker bit).
    #[error("signature is malformed")]
    Malformed,
    /// Well-formed, but it does not verify for this signer and message.
    #[error("signature does not verify")]
    Invalid,
}

/// Reads a fixed-length byte field, naming it in the error when the length is wrong.
pub(crate) fn fixed<const N: usize>(field: &'static str, bytes: &[u8]) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::BadLength { field, expected: N, found: bytes.len() })
}
