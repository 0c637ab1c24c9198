//! The bytes that cross the boundary (mirror of the host's `abi` module).

use alloc::string::String;
use alloc::vec::Vec;

/// The ABI version this SDK speaks. Version 2 added the epoch scorer ([`EpochInput`]); the
/// per-submission input kept its bytes, and the layout tag they start with
/// ([`EVALUATE_INPUT_VERSION`]), so a module built for version 1 runs unchanged. Version 3 added
/// the `params` host function ([`crate::host::params`]) and changed no bytes. Version 4 added
/// two-phase challenges: a reveal's input carries its commitment ([`REVEAL_INPUT_VERSION`]);
/// other inputs keep their bytes.
pub const ABI_VERSION: u32 = 4;
/// The tag a per-submission [`Input`] starts with (its layout, unchanged since version 1).
pub const EVALUATE_INPUT_VERSION: u32 = 1;
/// The tag a reveal's [`Input`] starts with: the per-submission layout with the commitment
/// between the miner and the payload.
pub const REVEAL_INPUT_VERSION: u32 = 3;
/// The tag an [`EpochInput`] starts with.
pub const EPOCH_INPUT_VERSION: u32 = 2;
/// The fixed part of one answer in an [`EpochInput`]: submission id, miner, payload length.
const ANSWER_HEADER: usize = 32 + 32 + 4;
/// Parts per billion: a score of 1.0.
pub const PPB: u32 = 1_000_000_000;

/// One evaluation's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input<'a> {
    /// Seed derived from consensus; the only randomness there is. For a reveal, its
    /// commitment's *sampling seed*, drawn after the commitment was ordered.
    pub seed: [u8; 32],
    /// The epoch the score counts for.
    pub epoch: u64,
    /// The miner's hotkey (sr25519 public key).
    pub miner: [u8; 32],
    /// For the reveal of a two-phase challenge, the commitment it opens; `None` for an answer.
    pub commitment: Option<Commitment<'a>>,
    /// The miner's payload (a reveal's: the openings).
    pub payload: &'a [u8],
}

/// What a reveal's [`Input`] carries of its commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commitment<'a> {
    /// The task seed of the epoch the commitment answered (public when the miner committed).
    pub task_seed: [u8; 32],
    /// The commitment's payload, as the miner submitted it.
    pub payload: &'a [u8],
}

impl<'a> Input<'a> {
    /// Decodes `layout u32 (= 1) | seed [32] | epoch u64 | miner [32] | payload_len u32 |
    /// payload`, or a reveal's `layout u32 (= 3) | seed [32] | epoch u64 | miner [32] | task_seed
    /// [32] | commitment_len u32 | commitment | payload_len u32 | payload`.
    pub fn decode(bytes: &'a [u8]) -> Option<Input<'a>> {
        let (layout, seed, epoch, rest) = read_any_header(bytes)?;
        let (miner, mut rest) = rest.split_first_chunk::<32>()?;
        let commitment = match layout {
            EVALUATE_INPUT_VERSION => None,
            REVEAL_INPUT_VERSION => {
                let (task_seed, tail) = rest.split_first_chunk::<32>()?;
                let (len, tail) = tail.split_first_chunk::<4>()?;
                let len = u32::from_le_bytes(*len) as usize;
                if len > tail.len() {
                    return None;
                }
                let (payload, tail) = tail.split_at(len);
                rest = tail;
                Some(Commitment { task_seed: *task_seed, payload })
            }
            _ => return None,
        };
        let (len, payload) = rest.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*len) as usize != payload.len() {
            return None;
        }
        Some(Input { seed, epoch, miner: *miner, commitment, payload })
    }

    /// Encodes the input as the host does (for native tests and tools).
    pub fn encode(&self) -> Vec<u8> {
        let committed = self.commitment.map_or(0, |c| 36 + c.payload.len());
        let mut out = Vec::with_capacity(80 + committed + self.payload.len());
        let layout = if self.commitment.is_some() { REVEAL_INPUT_VERSION } else { EVALUATE_INPUT_VERSION };
        write_header(&mut out, layout, &self.seed, self.epoch);
        out.extend_from_slice(&self.miner);
        if let Some(commitment) = &self.commitment {
            out.extend_from_slice(&commitment.task_seed);
            out.extend_from_slice(&(commitment.payload.len() as u32).to_le_bytes());
            out.extend_from_slice(commitment.payload);
        }
        out.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(self.payload);
        out
    }
}

/// Reads the start every input shares, `layout u32 | seed [32] | epoch u64`, when its layout
/// tag is `layout`; returns the seed, the epoch and the bytes after them.
fn read_header(bytes: &[u8], layout: u32) -> Option<([u8; 32], u64, &[u8])> {
    let (tag, seed, epoch, rest) = read_any_header(bytes)?;
    (tag == layout).then_some((seed, epoch, rest))
}

/// Reads `layout u32 | seed [32] | epoch u64`; returns them and the bytes after them.
fn read_any_header(bytes: &[u8]) -> Option<(u32, [u8; 32], u64, &[u8])> {
    let (tag, rest) = bytes.split_first_chunk::<4>()?;
    let (seed, rest) = rest.split_first_chunk::<32>()?;
    let (epoch, rest) = rest.split_first_chunk::<8>()?;
    Some((u32::from_le_bytes(*tag), *seed, u64::from_le_bytes(*epoch), rest))
}

/// Writes what [`read_header`] reads.
fn write_header(out: &mut Vec<u8>, layout: u32, seed: &[u8; 32], epoch: u64) {
    out.extend_from_slice(&layout.to_le_bytes());
    out.extend_from_slice(seed);
    out.extend_from_slice(&epoch.to_le_bytes());
}

/// One committed answer an epoch scorer sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer<'a> {
    /// The submission's id (blake2b-256 of its signed envelope).
    pub submission: [u8; 32],
    /// The miner's hotkey.
    pub miner: [u8; 32],
    /// The miner's payload.
    pub payload: &'a [u8],
}

/// What an epoch scorer sees: every committed answer of one epoch to the challenge, in the
/// order consensus committed them, identical on every validator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochInput<'a> {
    /// Seed derived from the epoch's committed answers; the only randomness there is.
    pub seed: [u8; 32],
    /// The epoch scored.
    pub epoch: u64,
    /// The answers, in commit order.
    pub answers: Vec<Answer<'a>>,
}

impl<'a> EpochInput<'a> {
    /// Decodes `version u32 (= 2) | seed [32] | epoch u64 | count u32 | count ×
    /// (submission [32] | miner [32] | payload_len u32 | payload)`; `None` on any other bytes,
    /// trailing bytes included.
    pub fn decode(bytes: &'a [u8]) -> Option<EpochInput<'a>> {
        let (seed, epoch, rest) = read_header(bytes, EPOCH_INPUT_VERSION)?;
        let (count, mut rest) = rest.split_first_chunk::<4>()?;
        let count = u32::from_le_bytes(*count) as usize;
        // A count the bytes cannot hold is refused before anything is reserved for it.
        if count > rest.len() / ANSWER_HEADER {
            return None;
        }
        let mut answers = Vec::with_capacity(count);
        for _ in 0..count {
            let (submission, tail) = rest.split_first_chunk::<32>()?;
            let (miner, tail) = tail.split_first_chunk::<32>()?;
            let (len, tail) = tail.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            if len > tail.len() {
                return None;
            }
            let (payload, tail) = tail.split_at(len);
            answers.push(Answer { submission: *submission, miner: *miner, payload });
            rest = tail;
        }
        if !rest.is_empty() {
            return None;
        }
        Some(EpochInput { seed, epoch, answers })
    }

    /// Encodes the input as the host does.
    pub fn encode(&self) -> Vec<u8> {
        let payloads: usize = self.answers.iter().map(|a| ANSWER_HEADER + a.payload.len()).sum();
        let mut out = Vec::with_capacity(48 + payloads);
        write_header(&mut out, EPOCH_INPUT_VERSION, &self.seed, self.epoch);
        out.extend_from_slice(&(self.answers.len() as u32).to_le_bytes());
        for answer in &self.answers {
            out.extend_from_slice(&answer.submission);
            out.extend_from_slice(&answer.miner);
            out.extend_from_slice(&(answer.payload.len() as u32).to_le_bytes());
            out.extend_from_slice(answer.payload);
        }
        out
    }
}

/// Encodes an epoch scorer's output: `count u32 | count × verdict`, one verdict per answer in
/// the input's order, each as [`Verdict::encode`] writes it.
pub fn encode_verdicts(verdicts: &[Verdict]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(verdicts.len() as u32).to_le_bytes());
    for verdict in verdicts {
        out.extend_from_slice(&verdict.encode());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> (Vec<u8>, Vec<u8>) {
        (vec![1, 2, 3], vec![])
    }

    #[test]
    fn an_epoch_input_round_trips_in_commit_order() {
        let (a, b) = sample();
        let input = EpochInput {
            seed: [7; 32],
            epoch: 42,
            answers: vec![
                Answer { submission: [1; 32], miner: [2; 32], payload: &a },
                Answer { submission: [3; 32], miner: [4; 32], payload: &b },
            ],
        };
        let bytes = input.encode();
        assert_eq!(&bytes[..4], &EPOCH_INPUT_VERSION.to_le_bytes());
        assert_eq!(EpochInput::decode(&bytes), Some(input));
        // A per-submission input is not an epoch input, nor the other way round.
        assert_eq!(Input::decode(&bytes), None);
        let single = Input { seed: [0; 32], epoch: 1, miner: [0; 32], commitment: None, payload: &a }.encode();
        assert_eq!(EpochInput::decode(&single), None);
    }

    #[test]
    fn a_reveal_input_carries_its_commitment_and_an_answer_keeps_its_bytes() {
        let (commitment, openings) = (vec![9u8; 32], vec![1u8, 2, 3]);
        let answer = Input { seed: [1; 32], epoch: 2, miner: [3; 32], commitment: None, payload: &openings };
        let bytes = answer.encode();
        assert_eq!(&bytes[..4], &EVALUATE_INPUT_VERSION.to_le_bytes());
        assert_eq!(bytes.len(), 4 + 32 + 8 + 32 + 4 + 3, "the version-1 layout, unchanged");
        assert_eq!(Input::decode(&bytes), Some(answer.clone()));
        let reveal =
            Input { commitment: Some(Commitment { task_seed: [4; 32], payload: &commitment }), ..answer.clone() };
        let bytes = reveal.encode();
        assert_eq!(&bytes[..4], &REVEAL_INPUT_VERSION.to_le_bytes());
        assert_eq!(Input::decode(&bytes), Some(reveal));
        for cut in [bytes.len() - 1, 4 + 32 + 8 + 32 + 10, 4 + 32 + 8 + 32 + 32 + 2] {
            assert_eq!(Input::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut long = bytes.clone();
        let len_at = 4 + 32 + 8 + 32 + 32;
        long[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Input::decode(&long), None, "a commitment longer than the input");
        let mut unknown = bytes.clone();
        unknown[..4].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(Input::decode(&unknown), None);
    }

    #[test]
    fn a_hostile_epoch_input_is_refused_without_reserving_for_its_count() {
        let (a, _) = sample();
        let input = EpochInput {
            seed: [0; 32],
            epoch: 1,
            answers: vec![Answer { submission: [1; 32], miner: [2; 32], payload: &a }],
        };
        let bytes = input.encode();
        let count_at = 4 + 32 + 8;
        let mut huge = bytes.clone();
        huge[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(EpochInput::decode(&huge), None);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(EpochInput::decode(&trailing), None);
        let mut long_payload = bytes.clone();
        let len_at = count_at + 4 + 64;
        long_payload[len_at..len_at + 4].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(EpochInput::decode(&long_payload), None);
        assert_eq!(EpochInput::decode(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn verdicts_are_counted_then_concatenated() {
        let verdicts = [Verdict::scored(5), Verdict::rejected("no")];
        let bytes = encode_verdicts(&verdicts);
        let mut want = 2u32.to_le_bytes().to_vec();
        want.extend(verdicts[0].encode());
        want.extend(verdicts[1].encode());
        assert_eq!(bytes, want);
    }
}
