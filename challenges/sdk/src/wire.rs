//! The bytes that cross the boundary (mirror of the host's `abi` module).

use alloc::string::String;
use alloc::vec::Vec;

/// The ABI version this SDK speaks.
pub const ABI_VERSION: u32 = 1;
/// Parts per billion: a score of 1.0.
pub const PPB: u32 = 1_000_000_000;

/// One evaluation's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input<'a> {
    /// Seed derived from consensus for the epoch; the only randomness there is.
    pub seed: [u8; 32],
    /// The epoch the score counts for.
    pub epoch: u64,
    /// The miner's hotkey (sr25519 public key).
    pub miner: [u8; 32],
    /// The miner's payload.
    pub payload: &'a [u8],
}

impl<'a> Input<'a> {
    /// Decodes `abi_version u32 | seed [32] | epoch u64 | miner [32] | payload_len u32 | payload`.
    pub fn decode(bytes: &'a [u8]) -> Option<Input<'a>> {
        let (version, rest) = bytes.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*version) != ABI_VERSION {
            return None;
        }
        let (seed, rest) = rest.split_first_chunk::<32>()?;
        let (epoch, rest) = rest.split_first_chunk::<8>()?;
        let (miner, rest) = rest.split_first_chunk::<32>()?;
        let (len, payload) = rest.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*len) as usize != payload.len() {
            return None;
        }
        Some(Input { seed: *seed, epoch: u64::from_le_bytes(*epoch), miner: *miner, payload })
    }

    /// Encodes the input as the host does (for native tests and tools).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + self.payload.len());
        out.extend_from_slice(&ABI_VERSION.to_le_bytes());
        out.extend_from_slice(&self.seed);
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.miner);
        out.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(self.payload);
        out
    }
}

/// A challenge's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Scored, in ppb (clamped to 0..=1e9), with optional challenge-defined detail bytes.
    Scored {
        /// The score.
        score_ppb: u32,
        /// Detail bytes (covered by the output hash every validator compares).
        detail: Vec<u8>,
    },
    /// The submission is invalid for this challenge.
    Rejected {
        /// Why, for the miner.
        reason: String,
    },
}

impl Verdict {
    /// A score with no detail.
    pub fn scored(score_ppb: u32) -> Verdict {
        Verdict::Scored { score_ppb: score_ppb.min(PPB), detail: Vec::new() }
    }

    /// A rejection.
    pub fn rejected(reason: impl Into<String>) -> Verdict {
        Verdict::Rejected { reason: reason.into() }
    }

    /// The score (0 for a rejection).
    pub fn score_ppb(&self) -> u32 {
        match self {
            Verdict::Scored { score_ppb, .. } => *score_ppb,
            Verdict::Rejected { .. } => 0,
        }
    }

    /// Encodes `0 | score u32 | detail_len u32 | detail` or `1 | reason_len u32 | reason`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Verdict::Scored { score_ppb, detail } => {
                out.push(0);
                out.extend_from_slice(&(*score_ppb).min(PPB).to_le_bytes());
                out.extend_from_slice(&(detail.len() as u32).to_le_bytes());
                out.extend_from_slice(detail);
            }
            Verdict::Rejected { reason } => {
                out.push(1);
                out.extend_from_slice(&(reason.len() as u32).to_le_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
        }
        out
    }
}
