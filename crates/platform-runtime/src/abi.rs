//! The guest ABI, version 1: what a challenge module exports, and the bytes that cross the
//! boundary. `docs/runtime-abi.md` is the prose form of this file; the guest SDK mirrors it.

use platform_types::limits::PPB;

use crate::error::RuntimeError;

/// The ABI version written at the start of every input (the guest SDK's, by construction).
pub use platform_challenge_sdk::ABI_VERSION;
/// A challenge's answer for one submission: the guest SDK's type, decoded by [`decode_verdict`].
pub use platform_challenge_sdk::Verdict;
/// Export: `(len: i32) -> i32`, returns a guest pointer to `len` writable bytes (0 on failure).
pub const EXPORT_ALLOC: &str = "platform_alloc";
/// Export of a challenge: `(ptr: i32, len: i32) -> i64`, returns `ptr << 32 | len` of its output.
pub const EXPORT_EVALUATE: &str = "platform_evaluate";
/// Export of a module run in the nested sandbox, same signature as [`EXPORT_EVALUATE`].
pub const EXPORT_RUN: &str = "platform_run";
/// Export: the module's linear memory.
pub const EXPORT_MEMORY: &str = "memory";

/// Everything a challenge sees of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalInput {
    /// Seed derived from consensus for this epoch; the only source of randomness.
    pub seed: [u8; 32],
    /// The epoch the evaluation counts for.
    pub epoch: u64,
    /// The miner's hotkey (sr25519 public key).
    pub miner: [u8; 32],
    /// The miner's payload, as submitted.
    pub payload: Vec<u8>,
}

impl EvalInput {
    /// Encodes as `abi_version u32 | seed [32] | epoch u64 | miner [32] | payload_len u32 | payload`,
    /// integers little-endian.
    pub fn encode(&self) -> Vec<u8> {
        platform_challenge_sdk::Input { seed: self.seed, epoch: self.epoch, miner: self.miner, payload: &self.payload }
            .encode()
    }
}

/// Decodes a module's output: `0u8 | score_ppb u32 | detail_len u32 | detail` or
/// `1u8 | reason_len u32 | reason (UTF-8)`. Anything else, including trailing bytes, is refused.
pub fn decode_verdict(bytes: &[u8]) -> Result<Verdict, RuntimeError> {
    let bad = |what: &str| RuntimeError::MalformedOutput(what.to_owned());
    let (&tag, rest) = bytes.split_first().ok_or_else(|| bad("empty output"))?;
    let mut reader = Reader { bytes: rest };
    let verdict = match tag {
        0 => {
            let score_ppb = reader.u32().ok_or_else(|| bad("truncated score"))?;
            if score_ppb > PPB {
                return Err(bad("score above 1e9 ppb"));
            }
            let detail = reader.bytes().ok_or_else(|| bad("truncated detail"))?.to_vec();
            Verdict::Scored { score_ppb, detail }
        }
        1 => {
            let reason = reader.bytes().ok_or_else(|| bad("truncated reason"))?;
            let reason = String::from_utf8(reason.to_vec()).map_err(|_| bad("reason is not UTF-8"))?;
            Verdict::Rejected { reason }
        }
        other => return Err(RuntimeError::MalformedOutput(format!("unknown verdict tag {other}"))),
    };
    if !reader.bytes.is_empty() {
        return Err(bad("trailing bytes after the verdict"));
    }
    Ok(verdict)
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.bytes.split_first_chunk::<4>()?;
        self.bytes = rest;
        Some(u32::from_le_bytes(*head))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(head)
    }
}

/// Splits the `ptr << 32 | len` value an entry point returns.
pub(crate) fn unpack(packed: i64) -> (u32, u32) {
    let packed = packed as u64;
    ((packed >> 32) as u32, packed as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_and_reject_junk() {
        for v in [
            Verdict::Scored { score_ppb: 0, detail: vec![] },
            Verdict::Scored { score_ppb: PPB, detail: vec![1, 2, 3] },
            Verdict::Rejected { reason: "bad coefficients".into() },
        ] {
            assert_eq!(decode_verdict(&v.encode()), Ok(v));
        }
        let mut over = Verdict::Scored { score_ppb: PPB, detail: vec![] }.encode();
        over[1..5].copy_from_slice(&(PPB + 1).to_le_bytes());
        assert!(decode_verdict(&over).is_err());
        let input = EvalInput { seed: [1; 32], epoch: 2, miner: [3; 32], payload: vec![4, 5] };
        let encoded = input.encode();
        assert_eq!(&encoded[..4], &ABI_VERSION.to_le_bytes());
        assert_eq!(encoded.len(), 4 + 32 + 8 + 32 + 4 + 2);
        assert!(decode_verdict(&over).is_err());
        let mut trailing = Verdict::Rejected { reason: "x".into() }.encode();
        trailing.push(0);
        assert!(decode_verdict(&trailing).is_err());
        assert!(decode_verdict(&[]).is_err());
        assert!(decode_verdict(&[7]).is_err());
        assert!(decode_verdict(&[0, 1, 2]).is_err());
    }

    #[test]
    fn unpack_splits_high_and_low_halves() {
        assert_eq!(unpack(((0x1234u64 << 32) | 0x10) as i64), (0x1234, 0x10));
        assert_eq!(unpack(-1), (u32::MAX, u32::MAX));
    }
}
