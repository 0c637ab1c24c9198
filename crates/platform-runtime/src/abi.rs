//! The guest ABI, version 4: what a challenge module exports, and the bytes that cross the
//! boundary. `docs/runtime-abi.md` is the prose form of this file; the guest SDK mirrors it.

use platform_types::limits::PPB;

use crate::error::RuntimeError;

/// The ABI version (the guest SDK's, by construction), part of every compiled module's cache key.
pub use platform_challenge_sdk::ABI_VERSION;
/// A challenge's answer for one submission: the guest SDK's type, decoded by [`decode_verdict`].
pub use platform_challenge_sdk::Verdict;
/// The layout tags inputs start with: per-submission (unchanged since version 1), epoch, and a
/// two-phase challenge's reveal.
pub use platform_challenge_sdk::{EPOCH_INPUT_VERSION, EVALUATE_INPUT_VERSION, REVEAL_INPUT_VERSION};
/// Export: `(len: i32) -> i32`, returns a guest pointer to `len` writable bytes (0 on failure).
pub const EXPORT_ALLOC: &str = "platform_alloc";
/// Export of a challenge: `(ptr: i32, len: i32) -> i64`, returns `ptr << 32 | len` of its output.
pub const EXPORT_EVALUATE: &str = "platform_evaluate";
/// Optional export of a challenge that scores an epoch's answers together, same signature as
/// [`EXPORT_EVALUATE`]; its output is one verdict per answer ([`decode_epoch_verdicts`]).
pub const EXPORT_SCORE_EPOCH: &str = "platform_score_epoch";
/// Export of a module run in the nested sandbox, same signature as [`EXPORT_EVALUATE`].
pub const EXPORT_RUN: &str = "platform_run";
/// Export: the module's linear memory.
pub const EXPORT_MEMORY: &str = "memory";

/// Everything a challenge sees of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalInput {
    /// Seed derived from consensus data; the only source of randomness. For a reveal, its
    /// commitment's sampling seed.
    pub seed: [u8; 32],
    /// The epoch the evaluation counts for.
    pub epoch: u64,
    /// The miner's hotkey (sr25519 public key).
    pub miner: [u8; 32],
    /// For the reveal of a two-phase challenge, the commitment it opens.
    pub commitment: Option<EvalCommitment>,
    /// The miner's payload, as submitted.
    pub payload: Vec<u8>,
}

/// What a reveal's input carries of its commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalCommitment {
    /// The task seed of the epoch the commitment answered.
    pub task_seed: [u8; 32],
    /// The commitment's payload.
    pub payload: Vec<u8>,
}

impl EvalInput {
    /// Encodes as `layout u32 (= 1) | seed [32] | epoch u64 | miner [32] | payload_len u32 |
    /// payload`, or for a reveal `layout u32 (= 3) | seed [32] | epoch u64 | miner [32] |
    /// task_seed [32] | commitment_len u32 | commitment | payload_len u32 | payload`, integers
    /// little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let commitment = self
            .commitment
            .as_ref()
            .map(|c| platform_challenge_sdk::Commitment { task_seed: c.task_seed, payload: &c.payload });
        platform_challenge_sdk::Input {
            seed: self.seed,
            epoch: self.epoch,
            miner: self.miner,
            commitment,
            payload: &self.payload,
        }
        .encode()
    }
}

/// One committed answer an epoch scorer sees ([`EpochInput`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochAnswer {
    /// The submission's id.
    pub submission: [u8; 32],
    /// The miner's hotkey.
    pub miner: [u8; 32],
    /// The miner's payload, as submitted.
    pub payload: Vec<u8>,
}

/// Everything an epoch scorer sees: every committed answer of one epoch to the challenge, in
/// commit order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochInput {
    /// Seed derived from consensus data for this epoch's scoring.
    pub seed: [u8; 32],
    /// The epoch scored.
    pub epoch: u64,
    /// The answers, in commit order.
    pub answers: Vec<EpochAnswer>,
    /// Each answering miner's participation in the 32 epochs ending at this one (bit k: an
    /// answer ordered in epoch `epoch - k`), served by the `participation` host function (not
    /// part of the encoded input; the audit record's input hash covers it).
    pub participation: crate::host::Participation,
}

impl EpochInput {
    /// Encodes as `version u32 (= 2) | seed [32] | epoch u64 | count u32 | count × (submission
    /// [32] | miner [32] | payload_len u32 | payload)`, integers little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let answers = self
            .answers
            .iter()
            .map(|a| platform_challenge_sdk::Answer { submission: a.submission, miner: a.miner, payload: &a.payload })
            .collect();
        platform_challenge_sdk::EpochInput { seed: self.seed, epoch: self.epoch, answers }.encode()
    }
}

/// Decodes an epoch scorer's output, `count u32 | count × verdict`, which must hold exactly
/// `answers` verdicts (each as [`decode_verdict`] reads one) and nothing after them. Returns
/// each verdict with the bytes it was encoded as (what a validator hashes and signs).
pub fn decode_epoch_verdicts(bytes: &[u8], answers: usize) -> Result<Vec<(Verdict, &[u8])>, RuntimeError> {
    let bad = |what: String| RuntimeError::MalformedOutput(what);
    let (count, mut rest) = bytes.split_first_chunk::<4>().ok_or_else(|| bad("truncated verdict count".into()))?;
    let count = u32::from_le_bytes(*count) as usize;
    if count != answers {
        return Err(bad(format!("{count} verdicts for {answers} answers")));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let len = verdict_len(rest).ok_or_else(|| bad(format!("verdict {i} is truncated or has an unknown tag")))?;
        let (one, tail) = rest.split_at(len);
        out.push((decode_verdict(one).map_err(|e| bad(format!("verdict {i}: {e}")))?, one));
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the verdicts".into()));
    }
    Ok(out)
}

/// The length of the verdict at the start of `bytes`, when it is all there.
fn verdict_len(bytes: &[u8]) -> Option<usize> {
    let (&tag, rest) = bytes.split_first()?;
    let mut reader = Reader { bytes: rest };
    match tag {
        0 => {
            reader.u32()?;
            reader.bytes()?;
        }
        1 => {
            reader.bytes()?;
        }
        _ => return None,
    }
    Some(bytes.len() - reader.bytes.len())
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
        let input = EvalInput { seed: [1; 32], epoch: 2, miner: [3; 32], commitment: None, payload: vec![4, 5] };
        let encoded = input.encode();
        assert_eq!(&encoded[..4], &EVALUATE_INPUT_VERSION.to_le_bytes());
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
    fn epoch_verdicts_must_be_one_per_answer_and_nothing_more() {
        let verdicts = [Verdict::Scored { score_ppb: 7, detail: vec![1] }, Verdict::Rejected { reason: "late".into() }];
        let bytes = platform_challenge_sdk::encode_verdicts(&verdicts);
        let decoded = decode_epoch_verdicts(&bytes, 2).expect("two verdicts");
        assert_eq!(decoded.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>(), verdicts);
        assert_eq!(decoded[1].1, verdicts[1].encode().as_slice());
        assert!(decode_epoch_verdicts(&bytes, 3).is_err(), "fewer verdicts than answers");
        assert!(decode_epoch_verdicts(&bytes, 1).is_err(), "more verdicts than answers");
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_epoch_verdicts(&trailing, 2).is_err());
        assert!(decode_epoch_verdicts(&bytes[..bytes.len() - 1], 2).is_err());
        let mut over = bytes.clone();
        over[5..9].copy_from_slice(&(PPB + 1).to_le_bytes());
        assert!(decode_epoch_verdicts(&over, 2).is_err(), "a score above 1e9");
        assert!(decode_epoch_verdicts(&[], 0).is_err());
        assert_eq!(decode_epoch_verdicts(&0u32.to_le_bytes(), 0).map(|v| v.len()), Ok(0));
    }

    #[test]
    fn unpack_splits_high_and_low_halves() {
        assert_eq!(unpack(((0x1234u64 << 32) | 0x10) as i64), (0x1234, 0x10));
        assert_eq!(unpack(-1), (u32::MAX, u32::MAX));
    }
}
