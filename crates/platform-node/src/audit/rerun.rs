//! Evaluations run again by the audit, as validators ran them: the challenge module whose hash
//! the owner signed, loaded once per version, each submission's stored payload (or a closed
//! epoch's answers together, for a challenge that scores epochs), and the re-run verdict
//! compared with every validator's committed one.

use std::collections::HashMap;

use platform_app::{AppState, Committed, Verdict};
use platform_runtime::{ChallengeModule, Runtime};
use platform_types::{Block, ChallengeSpec, EvaluationStatus, Hash, SubmissionId, blake2b_256};

use super::report::{Differing, EvaluationAudit};
use crate::evaluator::{Answer, EpochJob, EpochRun, Job, Opens, Outcome, run_epoch};
use crate::records::{Records, StoredPayload};

/// Loaded challenge modules by module hash, and why a module could not be loaded.
pub(super) struct Modules<'r> {
    pub(super) runtime: &'r Runtime,
    /// By module hash, policy hash and parameters hash.
    pub(super) loaded: HashMap<(Hash, Hash, Hash), Result<ChallengeModule, String>>,
}

impl Modules<'_> {
    fn get(&mut self, records: &Records, spec: &ChallengeSpec) -> Result<&ChallengeModule, String> {
        let key = (spec.module_hash, platform_types::hash_of(&spec.policy), blake2b_256(&spec.params));
        self.loaded
            .entry(key)
            .or_insert_with(|| {
                let wasm = records.blob(&spec.module_hash).ok_or("challenge module not stored")?;
                if blake2b_256(&wasm) != spec.module_hash {
                    return Err("the stored module is not the one the owner signed".to_owned());
                }
                let module = self.runtime.load(&wasm, &spec.policy);
                module.map(|m| m.with_params(&spec.params)).map_err(|e| format!("challenge module does not load: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A committed submission's payload as stored.
fn stored_payload(records: &Records, id: &SubmissionId) -> Result<Vec<u8>, String> {
    match records.payload(id).map_err(|_| "submission body not stored")? {
        StoredPayload::Bytes(bytes) => Ok(bytes),
        StoredPayload::MissingBlob(_) => Err("payload blob not stored".to_owned()),
    }
}

/// Runs a committed submission again, as a validator evaluated it; `None` when its challenge
/// scores epochs (its verdict comes from [`rescore_epoch`]).
pub(super) fn rerun(
    records: &Records,
    state: &AppState,
    modules: &mut Modules<'_>,
    id: &SubmissionId,
    block: &Block,
) -> Result<Option<Verdict>, String> {
    let committed = state.submissions.get(id).ok_or("not in the state")?;
    let entry = state.challenge(&committed.challenge).ok_or("challenge no longer active")?;
    let runtime = modules.runtime;
    let module = modules.get(records, &entry.spec)?;
    if module.scores_epochs() && committed.revealed.is_none() {
        return Ok(None);
    }
    let payload = stored_payload(records, id)?;
    let opens = match &committed.revealed {
        Some(r) => Some(Opens::new(r, Some(stored_payload(records, &r.commitment)?))),
        None => None,
    };
    let mut job = Job {
        id: *id,
        challenge: committed.challenge.clone(),
        block_hash: block.hash(),
        epoch: committed.epoch,
        miner: committed.miner,
        payload: Some(payload),
        opens,
    };
    match crate::evaluator::run(runtime, module, &mut job) {
        Outcome::Verdict(r) => Ok(Some((r.status, r.score_ppb, r.output_hash))),
        Outcome::Abstain(reason) => Err(format!("local failure: {reason}")),
    }
}

/// Scores a closed epoch's `answers` to `challenge` again, as validators score them when the
/// epoch closes (same answers, order and seed: `crate::evaluations`); `None` when the
/// challenge's module scores submissions one by one.
pub(super) fn rescore_epoch(
    records: &Records,
    state: &AppState,
    modules: &mut Modules<'_>,
    challenge: &platform_types::ChallengeId,
    epoch: platform_types::Epoch,
    answers: &[(SubmissionId, &Committed)],
) -> Result<Option<Vec<(SubmissionId, Verdict)>>, String> {
    let entry = state.challenge(challenge).ok_or("challenge no longer active")?;
    let runtime = modules.runtime;
    let module = modules.get(records, &entry.spec)?;
    let Some((_, last)) = answers.last().filter(|_| module.scores_epochs()) else { return Ok(None) };
    let miners = answers.iter().map(|(_, c)| &c.miner);
    let participation = state
        .epoch_participation(challenge.as_str(), epoch, miners)
        .ok_or("the participation history of the epoch is no longer held")?;
    let mut job = EpochJob {
        challenge: challenge.clone(),
        epoch,
        seed: crate::evaluator::epoch_seed(challenge, epoch, &last.block_hash),
        answers: Vec::with_capacity(answers.len()),
        too_large: None,
        participation,
    };
    for (id, committed) in answers {
        job.answers.push(Answer { id: *id, miner: committed.miner, payload: Some(stored_payload(records, id)?) });
    }
    let (ids, input) = job.into_input().map_err(|a| a.reason)?;
    match run_epoch(runtime, module, &input, ids.len()) {
        EpochRun::Verdicts(results) => {
            Ok(Some(ids.into_iter().zip(results).map(|(id, r)| (id, (r.status, r.score_ppb, r.output_hash))).collect()))
        }
        EpochRun::Abstain(reason) => Err(format!("local failure: {reason}")),
    }
}

pub(super) fn compare(audit: &mut EvaluationAudit, id: &SubmissionId, committed: &Committed, rerun: Verdict) {
    for (validator, verdict) in committed.evaluations.iter() {
        if *verdict == rerun {
            audit.agreed += 1;
            continue;
        }
        let validator = validator.to_ss58();
        *audit.differing_by_validator.entry(validator.clone()).or_default() += 1;
        audit.differing.push(Differing {
            submission: id.to_string(),
            validator,
            committed: verdict_text(verdict.0, verdict.1, &verdict.2),
            rerun: verdict_text(rerun.0, rerun.1, &rerun.2),
        });
    }
}

fn verdict_text(status: EvaluationStatus, score_ppb: u32, output_hash: &Hash) -> String {
    match status {
        EvaluationStatus::Scored => format!("scored {score_ppb} (output {output_hash})"),
        _ => format!("rejected (output {output_hash})"),
    }
}
