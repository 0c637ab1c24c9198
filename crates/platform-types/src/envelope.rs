//! Signed envelopes: how every message travels between nodes.
//!
//! A signature covers a fixed 15-byte header followed by the payload bytes exactly as they
//! travel, so verifying never re-encodes anything:
//!
//! ```text
//! "platform/v1" 0x00 | kind: u8 | netuid: u16 LE | payload
//! ```
//!
//! The header binds the signature to one message kind and one subnet: a submission signed for
//! subnet 100 does not verify on subnet 101, and a prepare vote never passes for a commit vote.

use parity_scale_codec::{Decode, Encode};

use crate::error::{DecodeError, SignatureError};
use crate::hash::{Hash, blake2b_256};
use crate::ids::NetUid;
use crate::keys::{Keypair, PublicKey, Signature};
use crate::wire::{self, Message, WireMessage};

/// Prefix of every signed header.
pub const DOMAIN_PREFIX: &[u8; 12] = b"platform/v1\0";

/// What an envelope carries. Part of the signed header.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode)]
#[repr(u8)]
pub enum MessageKind {
    /// A miner's [`crate::Submission`].
    Submission = 1,
    /// The owner's [`crate::SudoAction`].
    SudoAction = 3,
    /// A leader's [`crate::Proposal`].
    Proposal = 4,
    /// A prepare [`crate::Vote`].
    Prepare = 5,
    /// A commit [`crate::Vote`].
    Commit = 6,
    /// A [`crate::ViewChange`].
    ViewChange = 7,
    /// A [`crate::NewView`].
    NewView = 8,
    /// A [`crate::Checkpoint`].
    Checkpoint = 9,
    /// A [`crate::PeerBinding`].
    PeerBinding = 10,
    /// A validator's [`crate::EvaluationBatch`] (2 was a single evaluation).
    EvaluationBatch = 11,
}

impl MessageKind {
    /// Every kind, in wire order.
    pub const ALL: [MessageKind; 10] = [
        MessageKind::Submission,
        MessageKind::SudoAction,
        MessageKind::Proposal,
        MessageKind::Prepare,
        MessageKind::Commit,
        MessageKind::ViewChange,
        MessageKind::NewView,
        MessageKind::Checkpoint,
        MessageKind::PeerBinding,
        MessageKind::EvaluationBatch,
    ];

    /// The kind with this wire number.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| *kind as u8 == value)
    }
}

/// The bytes a signature covers: the domain header followed by the payload.
pub fn signing_bytes(kind: MessageKind, netuid: NetUid, payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN_PREFIX.len() + 3 + payload.len());
    message.extend_from_slice(DOMAIN_PREFIX);
    message.push(kind as u8);
    message.extend_from_slice(&netuid.get().to_le_bytes());
    message.extend_from_slice(payload);
    message
}

/// A signed message: `{kind, payload bytes, signer, signature}`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Envelope {
    /// What `payload` holds.
    pub kind: MessageKind,
    /// The encoded message.
    pub payload: Vec<u8>,
    /// Who signed.
    pub signer: PublicKey,
    /// sr25519 signature over [`signing_bytes`].
    pub signature: Signature,
}

/// Why an envelope was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The envelope or its payload does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The signature does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The envelope holds another kind of message than the one asked for.
    #[error("unexpected {found:?} message")]
    WrongKind {
        /// The kind received.
        found: MessageKind,
    },
    /// The message names an author (miner, validator) other than the signer.
    #[error("message claims author {claimed} but is signed by {signer}")]
    SignerMismatch {
        /// The author the message names.
        claimed: PublicKey,
        /// The key that signed it.
        signer: PublicKey,
    },
}

/// A message whose envelope signature has been verified, with who signed it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signed<M> {
    /// The decoded message.
    pub message: M,
    /// The verified signer.
    pub signer: PublicKey,
    /// The envelope it arrived in (kept for forwarding and for certificates).
    pub envelope: Envelope,
}

impl Envelope {
    /// Signs an already-encoded payload.
    pub fn sign(keypair: &Keypair, netuid: NetUid, kind: MessageKind, payload: Vec<u8>) -> Self {
        let signature = keypair.sign_raw(&signing_bytes(kind, netuid, &payload));
        Envelope { kind, payload, signer: keypair.public(), signature }
    }

    /// Encodes and signs a message.
    pub fn seal<M: WireMessage>(keypair: &Keypair, netuid: NetUid, message: &M) -> Self {
        Envelope::sign(keypair, netuid, message.kind(), message.to_bytes())
    }

    /// Checks the signature for `netuid`.
    pub fn verify(&self, netuid: NetUid) -> Result<(), SignatureError> {
        self.signer.verify_raw(&signing_bytes(self.kind, netuid, &self.payload), &self.signature)
    }

    /// Checks the kind, decodes the payload as `M`, checks the author it names (if any) is the
    /// signer, and verifies the signature. The signature is checked last: it is the most
    /// expensive step, and garbage is rejected before it.
    pub fn open<M: WireMessage>(&self, netuid: NetUid) -> Result<Signed<M>, EnvelopeError> {
        let message = self.decode_as::<M>()?;
        self.verify(netuid)?;
        Ok(Signed { message, signer: self.signer, envelope: self.clone() })
    }

    /// Decodes the payload according to its kind and verifies the signature.
    pub fn open_any(&self, netuid: NetUid) -> Result<Signed<Message>, EnvelopeError> {
        let message = Message::decode(self.kind, &self.payload)?;
        self.check_claimed(message.claimed_signer())?;
        self.verify(netuid)?;
        Ok(Signed { message, signer: self.signer, envelope: self.clone() })
    }

    /// Decodes the payload as `M` and checks it against the header, without the signature.
    pub(crate) fn decode_as<M: WireMessage>(&self) -> Result<M, EnvelopeError> {
        if !M::KINDS.contains(&self.kind) {
            return Err(EnvelopeError::WrongKind { found: self.kind });
        }
        let message = M::from_bytes(&self.payload)?;
        self.check_decoded(&message)?;
        Ok(message)
    }

    fn check_decoded<M: WireMessage>(&self, message: &M) -> Result<(), EnvelopeError> {
        if message.kind() != self.kind {
            return Err(EnvelopeError::WrongKind { found: self.kind });
        }
        self.check_claimed(message.claimed_signer())
    }

    fn check_claimed(&self, claimed: Option<PublicKey>) -> Result<(), EnvelopeError> {
        match claimed {
            Some(claimed) if claimed != self.signer => {
                Err(EnvelopeError::SignerMismatch { claimed, signer: self.signer })
            }
            _ => Ok(()),
        }
    }

    /// Verifies many envelopes at once with schnorrkel's batch verification, which costs
    /// about half as much per signature as one-by-one checks. `Ok` means every signature
    /// verifies; on `Err` at least one does not (check them one by one to find which).
    ///
    /// Signers repeat within a batch (a subnet's miners submit again and again; a gossiped
    /// batch of evaluations has one signer), so the envelopes are taken grouped by signer and
    /// each signer's key enters the batch equation once, with the sum of its signatures'
    /// coefficients, instead of once per signature: the multiscalar multiplication, most of a
    /// batch's cost, then has one point per signature plus one per signer rather than two per
    /// signature.
    pub fn verify_batch(envelopes: &[&Envelope], netuid: NetUid) -> Result<(), SignatureError> {
        let context = schnorrkel::signing_context(crate::keys::SIGNING_CONTEXT);
        let mut grouped: Vec<&Envelope> = envelopes.to_vec();
        grouped.sort_by(|a, b| a.signer.as_bytes().cmp(b.signer.as_bytes()));
        let mut messages = Vec::with_capacity(grouped.len());
        let mut signatures = Vec::with_capacity(grouped.len());
        let mut keys: Vec<schnorrkel::PublicKey> = Vec::with_capacity(grouped.len());
        for (i, envelope) in grouped.iter().enumerate() {
            messages.push(signing_bytes(envelope.kind, netuid, &envelope.payload));
            signatures.push(
                schnorrkel::Signature::from_bytes(envelope.signature.as_bytes())
                    .map_err(|_| SignatureError::Malformed)?,
            );
            // The previous envelope's signer again: its key, already looked up.
            let key = match keys.last() {
                Some(key) if grouped[i - 1].signer == envelope.signer => *key,
                _ => envelope.signer.point()?,
            };
            keys.push(key);
        }
        let transcripts = messages.iter().map(|m| context.bytes(m));
        // `true`: consecutive equal keys are merged into one term (hence the grouping above).
        schnorrkel::verify_batch(transcripts, &signatures, &keys, true).map_err(|_| SignatureError::Invalid)
    }

    /// Opens many envelopes as `M`: each is decoded and checked like [`Envelope::open`], and
    /// the signatures of those that decode are verified together ([`Envelope::verify_batch`]);
    /// only when that fails is each checked alone, to say which. One result per envelope, in
    /// order.
    pub fn open_batch<M: WireMessage>(
        envelopes: Vec<Envelope>,
        netuid: NetUid,
    ) -> Vec<Result<Signed<M>, EnvelopeError>> {
        let decoded: Vec<Result<(M, Envelope), EnvelopeError>> =
            envelopes.into_iter().map(|envelope| Ok((envelope.decode_as::<M>()?, envelope))).collect();
        let candidates: Vec<&Envelope> = decoded.iter().filter_map(|d| d.as_ref().ok().map(|(_, e)| e)).collect();
        let all_valid = candidates.is_empty() || Envelope::verify_batch(&candidates, netuid).is_ok();
        decoded
            .into_iter()
            .map(|d| {
                let (message, envelope) = d?;
                if !all_valid {
                    envelope.verify(netuid)?;
                }
                Ok(Signed { message, signer: envelope.signer, envelope })
            })
            .collect()
    }

    /// The `EnvelopeBatch` of envelopes given by their wire encodings ([`Envelope::to_bytes`],
    /// or the bytes received): each is carried as it is, not decoded and encoded again.
    pub fn join_batch<B: AsRef<[u8]>>(envelopes: &[B]) -> Vec<u8> {
        wire::join_batch(envelopes)
    }

    /// The wire encodings of the envelopes of an `EnvelopeBatch` of at most `max_size` bytes,
    /// as they are in it (decode each with [`Envelope::from_bytes`]). Nothing is checked here.
    pub fn split_batch(bytes: &[u8], max_size: usize) -> Result<Vec<Vec<u8>>, DecodeError> {
        if bytes.len() > max_size {
            return Err(DecodeError::TooLarge { field: "envelope batch", size: bytes.len(), max: max_size });
        }
        wire::split_batch(bytes)
    }

    /// blake2b-256 of the payload: the id of what the envelope carries (e.g. a submission id).
    pub fn payload_hash(&self) -> Hash {
        blake2b_256(&self.payload)
    }

    /// The envelope's wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode_envelope(self)
    }

    /// Decodes an envelope of at most `max_size` bytes. The signature is not checked here.
    pub fn from_bytes(bytes: &[u8], max_size: usize) -> Result<Self, DecodeError> {
        if bytes.len() > max_size {
            return Err(DecodeError::TooLarge { field: "envelope", size: bytes.len(), max: max_size });
        }
        wire::decode_envelope(bytes)
    }
}
