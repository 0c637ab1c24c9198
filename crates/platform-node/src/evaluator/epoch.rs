//! Challenges that score whole epochs (`platform_score_epoch`, docs/runtime-abi.md): an epoch's
//! committed answers, the scorer's input built from them, its seed, and one run of the scorer
//! turned into each answer's signed evaluation, under the same rules as one submission's.

use platform_runtime::{ChallengeModule, EpochAnswer, EpochInput, Runtime, RuntimeError};
use platform_types::{ChallengeId, Epoch, Hash, PublicKey, SubmissionId, blake2b_256_parts};
use tracing::debug;

use super::{ATTEMPTS, Abstention, Author, EpochEvaluated, OwnVerdict, Result, failure, judged};

/// Runs `job` through `module`'s epoch scorer (blocking), trying again up to [`ATTEMPTS`] times
/// after a local failure: each answer's verdict written as `author` as its submission's
/// evaluation, or the abstention (for all of them: the scores depend on every answer, so
/// without one payload none can be computed).
pub fn evaluate_epoch(runtime: &Runtime, module: &ChallengeModule, author: &Author, job: EpochJob) -> EpochEvaluated {
    let (challenge, epoch) = (job.challenge.clone(), job.epoch);
    if let Some(size) = job.too_large {
        let error = RuntimeError::InputTooLarge { size, limit: u64::from(module.policy().max_input_bytes) };
        let verdicts = job.answers.iter().map(|a| {
            let result = failure(&error);
            (a.id, OwnVerdict { evaluation: author.verdict(a.id, &challenge, epoch, &result), reason: result.reason })
        });
        return Ok(verdicts.collect());
    }
    let (ids, input) = job.into_input()?;
    let mut attempt = 1;
    let results = loop {
        match run_epoch(runtime, module, &input, ids.len()) {
            EpochRun::Verdicts(results) => break results,
            EpochRun::Abstain(reason) if attempt >= ATTEMPTS => return Err(Abstention { reason }),
            EpochRun::Abstain(reason) => {
                debug!(%challenge, epoch = epoch.get(), attempt, %reason, "epoch scoring failed locally; trying again");
                attempt += 1;
            }
        }
    };
    Ok(ids
        .into_iter()
        .zip(results)
        .map(|(id, result)| {
            let evaluation = author.verdict(id, &challenge, epoch, &result);
            (id, OwnVerdict { evaluation, reason: result.reason })
        })
        .collect())
}

/// What one run of an epoch scorer came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochRun {
    /// Each answer's verdict, in the input's order: what every honest validator computes.
    Verdicts(Vec<Result>),
    /// A failure of this machine ([`Outcome::Abstain`]).
    Abstain(String),
}

/// Runs `module`'s epoch scorer once over `input` of `answers` answers (blocking): a
/// deterministic failure rejects every answer alike.
pub fn run_epoch(runtime: &Runtime, module: &ChallengeModule, input: &EpochInput, answers: usize) -> EpochRun {
    match runtime.score_epoch(module, input) {
        Ok(outcome) => EpochRun::Verdicts(
            outcome
                .verdicts
                .into_iter()
                .map(|(verdict, output_hash)| {
                    let (status, score_ppb, reason) = judged(verdict);
                    Result { status, score_ppb, fuel_used: outcome.fuel_used, output_hash, reason }
                })
                .collect(),
        ),
        Err(error) if error.is_deterministic() => EpochRun::Verdicts((0..answers).map(|_| failure(&error)).collect()),
        Err(error) => EpochRun::Abstain(error.to_string()),
    }
}

/// One epoch's committed answers to a challenge that scores epochs ([`evaluate_epoch`]).
pub struct EpochJob {
    /// The challenge.
    pub challenge: ChallengeId,
    /// The epoch (every answer was ordered in one of its blocks).
    pub epoch: Epoch,
    /// [`epoch_seed`].
    pub seed: [u8; 32],
    /// Every answer ordered in the epoch, in commit order (height, then submission id).
    pub answers: Vec<Answer>,
    /// The scorer's input passed the policy's `max_input_bytes` (at this size) while the
    /// payloads were read, so they were not all read: every answer is rejected as the sandbox
    /// rejects such an input, without holding them ([`epoch_input_bytes`]).
    pub too_large: Option<u64>,
    /// The answering miners' participation, served to the scorer.
    pub participation: platform_runtime::Participation,
}

/// The size of an epoch scorer's encoded input (`platform_runtime::EpochInput::encode`) with
/// answers of `payload_lens` bytes: what a validator counts while it reads the payloads, to stop
/// at the policy's input cap instead of holding every one.
pub fn epoch_input_bytes(payload_lens: impl IntoIterator<Item = u64>) -> u64 {
    const HEADER: u64 = 4 + 32 + 8 + 4; // layout tag, seed, epoch, count
    payload_lens.into_iter().fold(HEADER, |size, len| size.saturating_add(epoch_answer_bytes(len)))
}

/// What one answer of `payload_len` bytes adds to [`epoch_input_bytes`].
pub fn epoch_answer_bytes(payload_len: u64) -> u64 {
    const ANSWER: u64 = 32 + 32 + 4; // submission id, miner, payload length
    ANSWER.saturating_add(payload_len)
}

impl EpochJob {
    /// The answers' ids and the scorer's input, in the answers' order; the abstention when a
    /// payload is missing (every verdict depends on every answer).
    pub fn into_input(self) -> std::result::Result<(Vec<SubmissionId>, EpochInput), Abstention> {
        let mut input = EpochInput {
            seed: self.seed,
            epoch: self.epoch.get(),
            answers: Vec::new(),
            participation: self.participation,
        };
        let mut ids = Vec::with_capacity(self.answers.len());
        for answer in self.answers {
            let Some(payload) = answer.payload else {
                return Err(Abstention { reason: format!("payload of {} unavailable", answer.id) });
            };
            ids.push(answer.id);
            input.answers.push(EpochAnswer {
                submission: *answer.id.0.as_bytes(),
                miner: *answer.miner.as_bytes(),
                payload,
            });
        }
        Ok((ids, input))
    }
}

/// One answer of an [`EpochJob`].
pub struct Answer {
    /// The submission.
    pub id: SubmissionId,
    /// The miner.
    pub miner: PublicKey,
    /// The payload bytes; `None` when no peer could provide them (this validator abstains).
    pub payload: Option<Vec<u8>>,
}

/// The seed of an epoch's scoring: bound to the block that ordered its last answer, which no
/// miner knew when it submitted.
pub fn epoch_seed(challenge: &ChallengeId, epoch: Epoch, last_block_hash: &Hash) -> [u8; 32] {
    *blake2b_256_parts(&[
        b"platform/epoch-seed/v1",
        challenge.as_str().as_bytes(),
        &epoch.get().to_le_bytes(),
        last_block_hash.as_bytes(),
    ])
    .as_bytes()
}
