//! Platform's shared vocabulary: ids, blake2b hashes, sr25519 hotkeys, signed envelopes and the
//! validated wire protocol every other crate speaks.
//!
//! - [`Keypair`] reads hotkeys exactly as btcli and subkey do (BIP39 mnemonics with derivation
//!   paths, `0x` seeds, dev URIs, btcli wallet files); [`PublicKey`] prints as SS58.
//! - [`Envelope`] carries every network message: `{kind, payload, signer, signature}`, the
//!   signature covering a domain header and the payload bytes as sent.
//! - The domain types ([`Submission`], [`EvaluationBatch`], [`SudoAction`], [`Block`], votes,
//!   certificates, …) convert to and from protobuf through [`Codec`], with validation.
//! - [`ReplayGuard`] rejects replayed `(signer, nonce)` pairs within a time window.

mod domain;
mod envelope;
mod error;
mod hash;
mod ids;
mod keys;
pub mod limits;
mod recent;
mod replay;
pub mod ss58;
mod verified;
mod wire;

pub use domain::*;
pub use envelope::{DOMAIN_PREFIX, Envelope, EnvelopeError, MessageKind, Signed, signing_bytes};
pub use error::{DecodeError, KeyError, SignatureError};
pub use hash::{Hash, blake2b_256, blake2b_256_parts, hash_of};
pub use ids::{ChallengeId, Epoch, Height, MechanismId, NetUid, SubmissionId, Uid, View};
pub use keys::{GeneratedKey, Keypair, PublicKey, SIGNING_CONTEXT, Signature, wallet_hotkey_path};
pub use recent::Recent;
pub use replay::{ReplayError, ReplayGuard};
pub use verified::VerifiedEnvelopes;
pub use wire::{Codec, Message, WireMessage};
