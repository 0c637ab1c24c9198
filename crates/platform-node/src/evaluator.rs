//! Running one committed submission in the sandbox, off the node's event loop. The result is
//! what every honest validator computes: the seed comes from the committing block, and a module
//! that fails deterministically (fuel, memory, trap, bad output) is a rejection, signed like a
//! score. A failure of this machine rather than of the submission — the wall-clock deadline, the
//! engine, the audit log — is never signed: the evaluation is tried again ([`ATTEMPTS`] in all),
//! then this validator abstains, visibly (log, metric, `/health`), and the other validators'
//! evaluations decide the submission.
//!
//! A challenge whose module exports an epoch scorer (`platform_score_epoch`, docs/runtime-abi.md)
//! is not evaluated submission by submission: once its epoch has closed, the epoch's committed
//! answers run together ([`evaluate_epoch`]), in commit order with a seed from the last one's
//! block, and the scorer's verdict on each answer is signed as that submission's evaluation,
//! exactly like one of its own. The same rules hold: a deterministic failure rejects every
//! answer, a local one is tried again and then abstained from.
//!
//! Evaluations run one at a time on the node's [`Worker`] thread, at a lowered scheduling
//! priority, and the worker signs each result there too: admitting submissions (verifying,
//! storing, acknowledging) and consensus come first, and evaluation takes the CPU they leave.
//! The results do not depend on when they run.

use platform_runtime::{ChallengeModule, EvalCommitment, EvalInput, Runtime, RuntimeError, Verdict};
use platform_types::{
    ChallengeId, Epoch, Evaluation, EvaluationStatus, Hash, PublicKey, SubmissionId, blake2b_256, blake2b_256_parts,
};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

mod epoch;

pub use epoch::{
    Answer, EpochJob, EpochRun, epoch_answer_bytes, epoch_input_bytes, epoch_seed, evaluate_epoch, run_epoch,
};

/// Nice value of the evaluation thread (Linux: per thread); 10 gives it about a tenth of a core
/// shared with busy default-priority threads, and all of an idle one.
const EVALUATION_NICE: i32 = 10;

/// Evaluations queued for the worker, at most (the senders wait beyond it).
const QUEUE: usize = 64;

/// Runs of one evaluation that failed locally before this validator abstains.
pub const ATTEMPTS: u32 = 3;

/// What the worker thread is handed.
enum Task {
    One(ChallengeModule, Job, oneshot::Sender<Evaluated>),
    Epoch(ChallengeModule, EpochJob, oneshot::Sender<EpochEvaluated>),
}

/// What the worker hands back for an epoch: each answer's [`Evaluation`], in the order of the
/// answers, or why this validator abstains from all of them.
pub type EpochEvaluated = std::result::Result<Vec<(SubmissionId, OwnVerdict)>, Abstention>;

/// What the worker hands back: this validator's [`Evaluation`], or why it abstains.
pub type Evaluated = std::result::Result<OwnVerdict, Abstention>;

/// Longest rejection reason kept for `GET /submissions/{id}`, in bytes (longer ones are cut).
pub const MAX_REASON_BYTES: usize = 512;

/// This validator's verdict, signed later in a batch with others ([`crate::evaluation_pool`]),
/// and, for a rejection, the challenge's reason (not signed: the output hash in the evaluation
/// commits to the module's verdict, reason included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnVerdict {
    /// The verdict, as this validator will sign it.
    pub evaluation: Evaluation,
    /// Why the challenge refused the payload, at most [`MAX_REASON_BYTES`]; `None` when scored.
    pub reason: Option<String>,
}

/// This validator could not reach a verdict it may sign (see [`Outcome::Abstain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abstention {
    /// The last local failure, e.g. "wall-clock deadline of 10000 ms exceeded".
    pub reason: String,
}

/// Whose verdicts the worker writes. `invert_scores` is the `wrong-scores` fault: a dishonest
/// validator for tests, whose scores are `1e9 - score`.
pub struct Author {
    /// The validator's hotkey (its batches of verdicts are signed by the event loop).
    pub validator: PublicKey,
    /// The `wrong-scores` fault.
    pub invert_scores: bool,
}

impl Author {
    fn verdict(&self, submission: SubmissionId, challenge: &ChallengeId, epoch: Epoch, result: &Result) -> Evaluation {
        let mut score_ppb = result.score_ppb;
        if self.invert_scores && result.status == EvaluationStatus::Scored {
            let ppb = platform_types::limits::PPB;
            score_ppb = ppb - score_ppb.min(ppb);
        }
        Evaluation {
            submission,
            challenge: challenge.clone(),
            validator: self.validator,
            status: result.status,
            score_ppb,
            fuel_used: result.fuel_used,
            output_hash: result.output_hash,
            epoch,
        }
    }
}

/// The evaluation thread's handle. Cheap to clone; the thread ends when every handle is gone.
#[derive(Clone)]
pub struct Worker {
    queue: mpsc::Sender<Task>,
}

impl Worker {
    /// Starts the thread, which evaluates on `runtime` and writes verdicts as `author`.
    pub fn start(runtime: Runtime, author: Author) -> std::io::Result<Worker> {
        let (queue, mut tasks) = mpsc::channel::<Task>(QUEUE);
        std::thread::Builder::new().name("platform-eval".into()).spawn(move || {
            lower_priority();
            while let Some(task) = tasks.blocking_recv() {
                match task {
                    Task::One(module, job, reply) => {
                        let _ = reply.send(evaluate(&runtime, &module, &author, job));
                    }
                    Task::Epoch(module, job, reply) => {
                        let _ = reply.send(evaluate_epoch(&runtime, &module, &author, job));
                    }
                }
            }
        })?;
        Ok(Worker { queue })
    }

    /// Evaluates `job` with `module` once the evaluations queued before it are done: the
    /// [`Evaluation`] this validator signed or its abstention; `None` when the worker has stopped.
    pub async fn evaluate(&self, module: ChallengeModule, job: Job) -> Option<Evaluated> {
        let (reply, result) = oneshot::channel();
        self.queue.send(Task::One(module, job, reply)).await.ok()?;
        result.await.ok()
    }

    /// Scores an epoch's answers with `module`'s epoch scorer, in turn with the other
    /// evaluations ([`evaluate_epoch`]); `None` when the worker has stopped.
    pub async fn evaluate_epoch(&self, module: ChallengeModule, job: EpochJob) -> Option<EpochEvaluated> {
        let (reply, result) = oneshot::channel();
        self.queue.send(Task::Epoch(module, job, reply)).await.ok()?;
        result.await.ok()
    }
}

/// Runs `job` (blocking), trying again up to [`ATTEMPTS`] times after a local failure: the
/// verdict written as `author`, or the abstention. What the evaluation thread does with each job
/// (and the simulator's validators, in step).
pub fn evaluate(runtime: &Runtime, module: &ChallengeModule, author: &Author, mut job: Job) -> Evaluated {
    let mut attempt = 1;
    loop {
        match run(runtime, module, &mut job) {
            Outcome::Verdict(result) => {
                let evaluation = author.verdict(job.id, &job.challenge, job.epoch, &result);
                return Ok(OwnVerdict { evaluation, reason: result.reason });
            }
            Outcome::Abstain(reason) if attempt >= ATTEMPTS => return Err(Abstention { reason }),
            Outcome::Abstain(reason) => {
                debug!(id = %job.id, attempt, %reason, "evaluation failed locally; trying again");
                attempt += 1;
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux, PRIO_PROCESS with pid 0 names the calling thread, not the whole process.
    if let Err(e) = rustix::process::setpriority_process(None, EVALUATION_NICE) {
        debug!(error = %e, "evaluation thread keeps the default priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {
    debug!(nice = EVALUATION_NICE, "evaluation thread keeps the default priority on this platform");
}

/// The evaluation's inputs.
pub struct Job {
    /// The submission.
    pub id: SubmissionId,
    /// Its challenge.
    pub challenge: ChallengeId,
    /// Hash of the block that ordered it.
    pub block_hash: Hash,
    /// That block's epoch.
    pub epoch: Epoch,
    /// The miner.
    pub miner: PublicKey,
    /// The payload bytes; `None` when no peer could provide them (this validator abstains).
    pub payload: Option<Vec<u8>>,
    /// For the reveal of a two-phase challenge, the commitment it opens.
    pub opens: Option<Opens>,
}

/// What a reveal is evaluated with besides its payload (`platform_app::Revealed`, with the
/// commitment's payload read).
pub struct Opens {
    /// The task seed the commitment answered.
    pub task_seed: Hash,
    /// The commitment's sampling seed: the reveal's evaluation seed.
    pub sampling_seed: Hash,
    /// The commitment's payload; `None` when it could not be read (this validator abstains).
    pub commitment: Option<Vec<u8>>,
}

impl Opens {
    /// `revealed` with the commitment's payload as `read` gives it.
    pub fn new(revealed: &platform_app::Revealed, commitment: Option<Vec<u8>>) -> Opens {
        Opens { task_seed: revealed.task_seed, sampling_seed: revealed.sampling_seed, commitment }
    }
}

/// What the sandbox said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Result {
    /// Scored or rejected.
    pub status: EvaluationStatus,
    /// Score in parts per billion (0 when rejected).
    pub score_ppb: u32,
    /// Fuel the evaluation used.
    pub fuel_used: u64,
    /// Hash of the module's output (or of the failure's kind).
    pub output_hash: Hash,
    /// Why the payload was refused (the module's reason, or the sandbox failure), cut to
    /// [`MAX_REASON_BYTES`]; `None` when scored.
    pub reason: Option<String>,
}

/// `reason` cut to at most [`MAX_REASON_BYTES`] on a character boundary.
fn bounded(mut reason: String) -> String {
    if reason.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

/// The evaluation seed of a submission: bound to the committing block, unknown to the miner
/// when it submitted.
pub fn seed(block_hash: &Hash, id: &SubmissionId) -> [u8; 32] {
    *blake2b_256_parts(&[b"platform/seed/v1", block_hash.as_bytes(), id.0.as_bytes()]).as_bytes()
}

/// A verdict as an evaluation states it: status, score, and the reason of a rejection.
fn judged(verdict: Verdict) -> (EvaluationStatus, u32, Option<String>) {
    match verdict {
        Verdict::Scored { score_ppb, .. } => (EvaluationStatus::Scored, score_ppb, None),
        Verdict::Rejected { reason } => (EvaluationStatus::Rejected, 0, Some(bounded(reason))),
    }
}

/// What one run of an evaluation came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// What every honest validator computes: signed and gossiped.
    Verdict(Result),
    /// A failure of this machine, not of the submission ([`RuntimeError::is_deterministic`] is
    /// false): nothing may be signed.
    Abstain(String),
}

/// Runs the job (blocking: call from a blocking thread). The payload moves into the sandbox's
/// input rather than being copied; it is back in `job.payload` after a local failure, so the
/// job can run again, and gone after a verdict.
pub fn run(runtime: &Runtime, module: &ChallengeModule, job: &mut Job) -> Outcome {
    // No peer could provide the payload: a failure of the network as this node sees it.
    let Some(payload) = job.payload.take() else { return Outcome::Abstain("payload unavailable".into()) };
    let (seed, commitment) = match &mut job.opens {
        None => (seed(&job.block_hash, &job.id), None),
        Some(opens) => {
            let Some(commitment) = opens.commitment.take() else {
                job.payload = Some(payload);
                return Outcome::Abstain("the payload of the commitment it reveals is unavailable".into());
            };
            let commitment = EvalCommitment { task_seed: *opens.task_seed.as_bytes(), payload: commitment };
            (*opens.sampling_seed.as_bytes(), Some(commitment))
        }
    };
    let input = EvalInput { seed, epoch: job.epoch.get(), miner: *job.miner.as_bytes(), commitment, payload };
    match runtime.evaluate(module, &input) {
        Ok(outcome) => {
            let (status, score_ppb, reason) = judged(outcome.verdict);
            Outcome::Verdict(Result {
                status,
                score_ppb,
                fuel_used: outcome.fuel_used,
                output_hash: outcome.output_hash,
                reason,
            })
        }
        Err(error) if error.is_deterministic() => Outcome::Verdict(failure(&error)),
        Err(error) => {
            job.payload = Some(input.payload);
            if let (Some(opens), Some(commitment)) = (&mut job.opens, input.commitment) {
                opens.commitment = Some(commitment.payload);
            }
            Outcome::Abstain(error.to_string())
        }
    }
}

/// The rejection for a deterministic sandbox failure: the hash names the failure's kind only,
/// so validators agree even when messages carry details. Only for errors whose
/// [`RuntimeError::is_deterministic`] holds.
fn failure(error: &RuntimeError) -> Result {
    let kind = format!("{error:?}");
    let kind = kind.split(['(', ' ', '{']).next().unwrap_or("error");
    Result {
        status: EvaluationStatus::Rejected,
        score_ppb: 0,
        fuel_used: 0,
        output_hash: blake2b_256(format!("platform/failure/{kind}").as_bytes()),
        reason: Some(bounded(format!("the sandbox refused the run: {error}"))),
    }
}

#[cfg(test)]
mod tests;
