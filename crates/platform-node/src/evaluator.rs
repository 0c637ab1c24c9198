//! Running one committed submission in the sandbox, off the node's event loop. The result is
//! what every honest validator computes: the seed comes from the committing block, and a module
//! that fails (fuel, memory, trap, bad output) is a deterministic rejection, not an error.
//!
//! Evaluations run one at a time on the node's [`Worker`] thread, at a lowered scheduling
//! priority: admitting submissions (verifying, storing, acknowledging) and consensus come
//! first, and evaluation takes the CPU they leave. The results do not depend on when they run.

use platform_runtime::{ChallengeModule, EvalInput, Runtime, RuntimeError, Verdict};
use platform_types::{EvaluationStatus, Hash, PublicKey, SubmissionId, blake2b_256, blake2b_256_parts};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

/// Nice value of the evaluation thread (Linux: per thread); 10 gives it about a tenth of a core
/// shared with busy default-priority threads, and all of an idle one.
const EVALUATION_NICE: i32 = 10;

/// Evaluations queued for the worker, at most (the senders wait beyond it).
const QUEUE: usize = 64;

type Task = (ChallengeModule, Job, oneshot::Sender<Result>);

/// The evaluation thread's handle. Cheap to clone; the thread ends when every handle is gone.
#[derive(Clone)]
pub struct Worker {
    queue: mpsc::Sender<Task>,
}

impl Worker {
    /// Starts the thread, which evaluates on `runtime`.
    pub fn start(runtime: Runtime) -> std::io::Result<Worker> {
        let (queue, mut tasks) = mpsc::channel::<Task>(QUEUE);
        std::thread::Builder::new().name("platform-eval".into()).spawn(move || {
            lower_priority();
            while let Some((module, job, reply)) = tasks.blocking_recv() {
                let _ = reply.send(run(&runtime, &module, &job));
            }
        })?;
        Ok(Worker { queue })
    }

    /// Evaluates `job` with `module` once the evaluations queued before it are done; `None`
    /// when the worker has stopped.
    pub async fn evaluate(&self, module: ChallengeModule, job: Job) -> Option<Result> {
        let (reply, result) = oneshot::channel();
        self.queue.send((module, job, reply)).await.ok()?;
        result.await.ok()
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
    /// Hash of the block that ordered it.
    pub block_hash: Hash,
    /// That block's epoch.
    pub epoch: u64,
    /// The miner.
    pub miner: PublicKey,
    /// The payload bytes.
    pub payload: Vec<u8>,
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
}

/// The evaluation seed of a submission: bound to the committing block, unknown to the miner
/// when it submitted.
pub fn seed(block_hash: &Hash, id: &SubmissionId) -> [u8; 32] {
    *blake2b_256_parts(&[b"platform/seed/v1", block_hash.as_bytes(), id.0.as_bytes()]).as_bytes()
}

/// Runs the job (blocking: call from a blocking thread).
pub fn run(runtime: &Runtime, module: &ChallengeModule, job: &Job) -> Result {
    let input = EvalInput {
        seed: seed(&job.block_hash, &job.id),
        epoch: job.epoch,
        miner: *job.miner.as_bytes(),
        payload: job.payload.clone(),
    };
    match runtime.evaluate(module, &input) {
        Ok(outcome) => {
            let (status, score_ppb) = match outcome.verdict {
                Verdict::Scored { score_ppb, .. } => (EvaluationStatus::Scored, score_ppb),
                Verdict::Rejected { .. } => (EvaluationStatus::Rejected, 0),
            };
            Result { status, score_ppb, fuel_used: outcome.fuel_used, output_hash: outcome.output_hash }
        }
        Err(error) => failure(&error),
    }
}

/// A deterministic rejection for a sandbox failure: the hash names the failure's kind only,
/// so validators agree even when messages carry details.
pub fn failure(error: &RuntimeError) -> Result {
    let kind = format!("{error:?}");
    let kind = kind.split(['(', ' ', '{']).next().unwrap_or("error");
    Result {
        status: EvaluationStatus::Rejected,
        score_ppb: 0,
        fuel_used: 0,
        output_hash: blake2b_256(format!("platform/failure/{kind}").as_bytes()),
    }
}
