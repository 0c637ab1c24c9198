//! The protobuf wire format (`proto/platform_network/v1/*.proto`) and its validated conversion to and
//! from the domain types. The generated prost types never leave this module: callers see
//! [`Codec`] (bytes ⇄ domain value) and [`WireMessage`] (a value that travels in an envelope).
//!
//! Decoding is total: any byte string yields a value that passed every check of its type, or
//! a [`DecodeError`] naming the field at fault. It never panics.

mod challenge;
mod consensus;
mod message;
mod metagraph;
mod sync;
mod work;

use prost::Message as _;

use crate::envelope::{Envelope, MessageKind};
use crate::error::DecodeError;
use crate::hash::Hash;
use crate::ids::{ChallengeId, Uid};
use crate::keys::{PublicKey, Signature};

// `dead_code`: `EnvelopeBatch` is written and read as `RawEnvelopeBatch`, its twin on the wire
// (a test holds them equal), so that envelopes travel as received.
#[allow(missing_docs, dead_code, clippy::all, clippy::unwrap_used, unreachable_pub)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/platform_network.v1.rs"));
}

pub use message::Message;

/// A protocol value with a validated binary encoding.
pub trait Codec: Sized {
    /// The value's name in error messages.
    const NAME: &'static str;
    /// Encodes the value.
    fn to_bytes(&self) -> Vec<u8>;
    /// Decodes and validates a value.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// A value that travels signed in an [`Envelope`].
pub trait WireMessage: Codec {
    /// The envelope kinds this type may travel as.
    const KINDS: &'static [MessageKind];
    /// The envelope kind of this value.
    fn kind(&self) -> MessageKind;
    /// The hotkey the message claims as its author, which must be the envelope's signer.
    fn claimed_signer(&self) -> Option<PublicKey> {
        None
    }
}

/// Implements [`Codec`] through a prost type, given `From<&Domain> for Pb` and
/// `TryFrom<Pb> for Domain`.
macro_rules! codec {
    ($domain:ty, $pb:ty, $name:literal) => {
        impl $crate::wire::Codec for $domain {
            const NAME: &'static str = $name;

            fn to_bytes(&self) -> Vec<u8> {
                prost::Message::encode_to_vec(&<$pb>::from(self))
            }

            fn from_bytes(bytes: &[u8]) -> Result<Self, $crate::error::DecodeError> {
                let message = <$pb as prost::Message>::decode(bytes).map_err(|e| $crate::wire::malformed($name, e))?;
                <$domain>::try_from(message)
            }
        }
    };
}
pub(crate) use codec;

/// Implements [`WireMessage`] for a type that always travels as one kind.
macro_rules! single_kind {
    ($domain:ty, $kind:expr $(, signer = $field:ident)?) => {
        impl $crate::wire::WireMessage for $domain {
            const KINDS: &'static [$crate::envelope::MessageKind] = &[$kind];

            fn kind(&self) -> $crate::envelope::MessageKind {
                $kind
            }

            $(
                fn claimed_signer(&self) -> Option<$crate::keys::PublicKey> {
                    Some(self.$field)
                }
            )?
        }
    };
}
pub(crate) use single_kind;

pub(crate) fn malformed(message: &'static str, error: prost::DecodeError) -> DecodeError {
    DecodeError::Malformed { message, reason: error.to_string() }
}

pub(crate) fn required<T>(field: &'static str, value: Option<T>) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(field))
}

pub(crate) fn hash(field: &'static str, bytes: &[u8]) -> Result<Hash, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::MissingField(field));
    }
    Hash::from_slice(field, bytes)
}

pub(crate) fn public_key(field: &'static str, bytes: &[u8]) -> Result<PublicKey, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::MissingField(field));
    }
    PublicKey::from_slice(field, bytes)
}

pub(crate) fn uid(field: &'static str, value: u32) -> Result<Uid, DecodeError> {
    u16::try_from(value).map(Uid::new).map_err(|_| DecodeError::Invalid { field, reason: "exceeds 65535" })
}

pub(crate) fn challenge_id(value: &str) -> Result<ChallengeId, DecodeError> {
    ChallengeId::new(value)
}

pub(crate) fn bounded<T>(field: &'static str, items: Vec<T>, max: usize) -> Result<Vec<T>, DecodeError> {
    if items.len() > max {
        return Err(DecodeError::TooLarge { field, size: items.len(), max });
    }
    Ok(items)
}

pub(crate) fn message_kind(value: i32) -> Result<MessageKind, DecodeError> {
    u8::try_from(value)
        .ok()
        .and_then(MessageKind::from_u8)
        .ok_or(DecodeError::Invalid { field: "kind", reason: "unknown message kind" })
}

impl From<&Envelope> for pb::Envelope {
    fn from(envelope: &Envelope) -> Self {
        pb::Envelope {
            kind: envelope.kind as i32,
            payload: envelope.payload.clone(),
            signer: envelope.signer.as_bytes().to_vec(),
            signature: envelope.signature.as_bytes().to_vec(),
        }
    }
}

impl TryFrom<pb::Envelope> for Envelope {
    type Error = DecodeError;

    fn try_from(envelope: pb::Envelope) -> Result<Self, DecodeError> {
        if envelope.signature.is_empty() {
            return Err(DecodeError::MissingField("signature"));
        }
        Ok(Envelope {
            kind: message_kind(envelope.kind)?,
            payload: envelope.payload,
            signer: public_key("signer", &envelope.signer)?,
            signature: Signature::from_slice("signature", &envelope.signature)?,
        })
    }
}

pub(crate) fn encode_envelope(envelope: &Envelope) -> Vec<u8> {
    pb::Envelope::from(envelope).encode_to_vec()
}

/// `EnvelopeBatch` with each envelope left as its bytes: a repeated message field and a
/// repeated bytes field of the same tag are the same on the wire, so envelopes are relayed as
/// received, never decoded and encoded again.
#[derive(Clone, PartialEq, prost::Message)]
struct RawEnvelopeBatch {
    #[prost(bytes = "vec", repeated, tag = "1")]
    envelopes: Vec<Vec<u8>>,
}

pub(crate) fn join_batch<B: AsRef<[u8]>>(envelopes: &[B]) -> Vec<u8> {
    let len: usize = envelopes
        .iter()
        .map(|e| {
            let n = e.as_ref().len();
            prost::encoding::key_len(1) + prost::encoding::encoded_len_varint(n as u64) + n
        })
        .sum();
    let mut out = Vec::with_capacity(len);
    for envelope in envelopes {
        let bytes = envelope.as_ref();
        prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(bytes.len() as u64, &mut out);
        out.extend_from_slice(bytes);
    }
    out
}

pub(crate) fn split_batch(bytes: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
    Ok(RawEnvelopeBatch::decode(bytes).map_err(|e| malformed("EnvelopeBatch", e))?.envelopes)
}

pub(crate) fn decode_envelope(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let message = pb::Envelope::decode(bytes).map_err(|e| malformed("Envelope", e))?;
    Envelope::try_from(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    /// A batch joined from envelopes' bytes is the `EnvelopeBatch` message the .proto defines,
    /// byte for byte, so peers decoding it with any protobuf library read the same envelopes.
    #[test]
    fn a_joined_batch_is_the_protobuf_envelope_batch() {
        let envelopes: Vec<Envelope> = (0..3u8)
            .map(|i| Envelope {
                kind: MessageKind::Submission,
                payload: vec![i; 40 + usize::from(i) * 200],
                signer: Keypair::from_suri(&format!("//K{i}")).expect("key").public(),
                signature: Signature::from_bytes([i; 64]),
            })
            .collect();
        let encoded: Vec<Vec<u8>> = envelopes.iter().map(encode_envelope).collect();
        let protobuf =
            pb::EnvelopeBatch { envelopes: envelopes.iter().map(pb::Envelope::from).collect() }.encode_to_vec();
        assert_eq!(join_batch(&encoded), protobuf);
        assert_eq!(split_batch(&protobuf).expect("splits"), encoded);
        assert!(join_batch::<Vec<u8>>(&[]).is_empty());
    }
}
