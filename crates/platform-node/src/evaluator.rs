//! Running one committed submission in the sandbox, off the node's event loop. The result is
//! what every honest validator computes: the seed comes from the committing block, and a module
//! that fails (fuel, memory, trap, bad output) is a deterministic rejection, not an error.
//!
//! Evaluations run one at a time on the node's [`Worker`] thread, at a lowered scheduling
//! priority, and the worker signs each result there too: admitting submissions (verifying,
//! storing, acknowledging) and consensus come first, and evaluation takes the CPU they leave.
//! The results do not depend on when they run.

use platform_runtime::{ChallengeModule, EvalInput, Runtime, RuntimeError, Verdict};
use platform_types::{
    ChallengeId, Envelope, Epoch, Evaluation, EvaluationStatus, Hash, Keypair, NetUid, PublicKey, SubmissionId,
    blake2b_256, blake2b_256_parts,
};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

/// Nice value of the evaluation thread (Linux: per thread); 10 gives it about a tenth of a core
/// shared with busy default-priority threads, and all of an idle one.
const EVALUATION_NICE: i32 = 10;

/// Evaluations queued for the worker, at most (the senders wait beyond it).
const QUEUE: usize = 64;

type Task = (ChallengeModule, Job, oneshot::Sender<Envelope>);

/// Who signs evaluations. `invert_scores` is the `wrong-scores` fault: a dishonest validator
/// for tests, whose scores are `1e9 - score`.
pub struct Signer {
    /// The validator's hotkey.
    pub keypair: Keypair,
    /// The subnet.
    pub netuid: NetUid,
    /// The `wrong-scores` fault.
    pub invert_scores: bool,
}

impl Signer {
    fn seal(&self, job: &Job, result: &Result) -> Envelope {
        let mut score_ppb = result.score_ppb;
        if self.invert_scores && result.status == EvaluationStatus::Scored {
            let ppb = platform_types::limits::PPB;
            score_ppb = ppb - score_ppb.min(ppb);
        }
        let evaluation = Evaluation {
            submission: job.id,
            challenge: job.challenge.clone(),
            validator: self.keypair.public(),
            status: result.status,
            score_ppb,
            fuel_used: result.fuel_used,
            output_hash: result.output_hash,
            epoch: job.epoch,
        };
        Envelope::seal(&self.keypair, self.netuid, &evaluation)
    }
}

/// The evaluation thread's handle. Cheap to clone; the thread ends when every handle is gone.
#[derive(Clone)]
pub struct Worker {
    queue: mpsc::Sender<Task>,
}

impl Worker {
    /// Starts the thread, which evaluates on `runtime` and signs with `signer`.
    pub fn start(runtime: Runtime, signer: Signer) -> std::io::Result<Worker> {
        let (queue, mut tasks) = mpsc::channel::<Task>(QUEUE);
        std::thread::Builder::new().name("platform-eval".into()).spawn(move || {
            lower_priority();
            while let Some((module, mut job, reply)) = tasks.blocking_recv() {
                let result = run(&runtime, &module, &mut job);
                let _ = reply.send(signer.seal(&job, &result));
            }
        })?;
        Ok(Worker { queue })
    }

    /// Evaluates `job` with `module` once the evaluations queued before it are done; the
    /// [`Evaluation`] this validator signed, or `None` when the worker has stopped.
    pub async fn evaluate(&self, module: ChallengeModule, job: Job) -> Option<Envelope> {
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
    /// Its challenge.
    pub challenge: ChallengeId,
    /// Hash of the block that ordered it.
    pub block_hash: Hash,
    /// That block's epoch.
    pub epoch: Epoch,
    /// The miner.
    pub miner: PublicKey,
    /// The payload bytes; `None` when no peer could provide them (a rejection).
    pub payload: Option<Vec<u8>>,
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

/// Runs the job (blocking: call from a blocking thread). The payload moves into the sandbox's
/// input rather than being copied: `job.payload` is `None` afterwards.
pub fn run(runtime: &Runtime, module: &ChallengeModule, job: &mut Job) -> Result {
    let Some(payload) = job.payload.take() else { return unavailable() };
    let input = EvalInput {
        seed: seed(&job.block_hash, &job.id),
        epoch: job.epoch.get(),
        miner: *job.miner.as_bytes(),
        payload,
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

/// The rejection of a submission whose payload no peer could provide.
fn unavailable() -> Result {
    Result {
        status: EvaluationStatus::Rejected,
        score_ppb: 0,
        fuel_used: 0,
        output_hash: blake2b_256(b"platform/failure/PayloadUnavailable"),
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
