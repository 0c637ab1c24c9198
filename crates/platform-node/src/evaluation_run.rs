//! One evaluation as the evaluation actor runs it, off the event loop: the payload read from
//! the store (a blob this node lacks fetched from peers and its hash checked), the module run
//! on the evaluation worker, and the one answer the core hears — [`Input::Evaluated`] with the
//! verdict (signed by the core in its next batch), or [`Input::Abstained`] with why. An epoch's scoring reads its answers'
//! payloads in turn, no further than the scorer's input cap.

use platform_p2p::Client;
use platform_runtime::ChallengeModule;
use platform_types::{SubmissionId, blake2b_256};
use tracing::warn;

use crate::core::Input;
use crate::evaluations::{EpochTargets, Target};
use crate::evaluator::{self, Worker};
use crate::records::{Records, StoredPayload};

/// A committed submission's payload: from the store, or from peers for a blob this node
/// lacks; `Err` when the body itself is missing, `Ok(None)` when no peer had the blob.
async fn payload(records: &Records, p2p: &Client, id: &SubmissionId) -> Result<Option<Vec<u8>>, String> {
    Ok(match records.payload(id)? {
        StoredPayload::Bytes(bytes) => Some(bytes),
        StoredPayload::MissingBlob(hash) => p2p.fetch_blob(hash).await.ok().filter(|b| blake2b_256(b) == hash),
    })
}

/// What the core hears of this validator's verdict on `id`; a rejection's reason is
/// kept for `GET /submissions/{id}` (written here rather than on the event loop).
pub(crate) fn evaluated(records: &Records, id: SubmissionId, verdict: evaluator::OwnVerdict) -> Input {
    if let Some(reason) = verdict.reason
        && let Err(e) = records.put_reason(&id, &reason)
    {
        warn!(%id, %e, "cannot keep the rejection reason");
    }
    Input::Evaluated { id, evaluation: verdict.evaluation }
}

/// Reads the payload and evaluates it on the worker: exactly one [`Input::Evaluated`] or
/// [`Input::Abstained`].
pub(crate) async fn evaluate(
    worker: &Worker,
    records: &Records,
    p2p: &Client,
    target: Target,
    module: ChallengeModule,
) -> Input {
    let Target { id, challenge, block_hash, epoch, miner, revealed } = target;
    let opens = match &revealed {
        Some(r) => Some(evaluator::Opens::new(r, payload(records, p2p, &r.commitment).await.ok().flatten())),
        None => None,
    };
    let payload = match payload(records, p2p, &id).await {
        Ok(payload) => payload,
        Err(reason) => return Input::Abstained { id, reason },
    };
    let job = evaluator::Job { id, challenge, block_hash, epoch, miner, payload, opens };
    match worker.evaluate(module, job).await {
        Some(Ok(verdict)) => evaluated(records, id, verdict),
        Some(Err(abstention)) => Input::Abstained { id, reason: abstention.reason },
        None => Input::Abstained { id, reason: "the evaluation thread stopped".to_owned() },
    }
}

/// Reads every answer's payload and scores the epoch on the worker: for each answer not in
/// `skip`, one [`Input::Evaluated`] or [`Input::Abstained`].
pub(crate) async fn score_epoch(
    worker: &Worker,
    records: &Records,
    p2p: &Client,
    epoch: EpochTargets,
    module: ChallengeModule,
) -> Vec<Input> {
    let EpochTargets { challenge, epoch, seed, answers, skip, participation } = epoch;
    let ids: Vec<SubmissionId> = answers.iter().map(|(id, _)| *id).filter(|id| !skip.contains(id)).collect();
    let abstain = |reason: String| ids.iter().map(|&id| Input::Abstained { id, reason: reason.clone() }).collect();
    let answers_held = Vec::with_capacity(answers.len());
    let mut job = evaluator::EpochJob { challenge, epoch, seed, answers: answers_held, too_large: None, participation };
    // Read in turn, and no further than the scorer's input cap: past it the sandbox would
    // refuse the input, and holding every payload of a busy epoch could exhaust memory.
    let limit = u64::from(module.policy().max_input_bytes);
    let mut size = evaluator::epoch_input_bytes([]);
    for (id, miner) in answers {
        if job.too_large.is_some() {
            job.answers.push(evaluator::Answer { id, miner, payload: None });
            continue;
        }
        match payload(records, p2p, &id).await {
            Ok(payload) => {
                let len = payload.as_ref().map_or(0, |p| p.len() as u64);
                size = size.saturating_add(evaluator::epoch_answer_bytes(len));
                job.answers.push(evaluator::Answer { id, miner, payload });
            }
            Err(reason) => return abstain(format!("{reason} ({id}, needed to score epoch {})", epoch.get())),
        }
        if size > limit {
            job.too_large = Some(size);
            for answer in &mut job.answers {
                answer.payload = None;
            }
        }
    }
    match worker.evaluate_epoch(module, job).await {
        Some(Ok(verdicts)) => {
            verdicts.into_iter().filter(|(id, _)| !skip.contains(id)).map(|(id, s)| evaluated(records, id, s)).collect()
        }
        Some(Err(abstention)) => abstain(abstention.reason),
        None => abstain("the evaluation thread stopped".to_owned()),
    }
}
