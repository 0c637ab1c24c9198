//! The journey page (one submission from admission to its score, each validator's evaluation
//! with its fuel) and the search page (a miner's submissions).

use std::collections::{BTreeMap, HashMap};

use platform_types::{EvaluationStatus, PublicKey, SubmissionId};
use serde::Serialize;
use serde_json::Value;

use super::weights::EpochWeights;
use crate::records::Records;
use crate::view::ReadView;

/// A miner's submissions listed by a search, newest first, at most.
pub(crate) const SEARCH_LIMIT: usize = 200;

/// `/ui/submissions/{id}` and `/dashboard/submissions/{id}`: a submission's journey.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Journey {
    pub id: String,
    /// `pending` (admitted, not ordered), `evaluating`, `partially_evaluated`, `scored`, `rejected`.
    pub status: String,
    pub challenge: String,
    pub miner: String,
    pub uid: Option<u16>,
    /// Admitted by this validator (stored here).
    pub admitted: bool,
    /// The block that ordered it, and its epoch.
    pub height: Option<u64>,
    pub epoch: Option<u64>,
    pub evaluations: Vec<EvaluationRow>,
    /// Final once validators holding enough stake evaluated it.
    pub is_final: bool,
    pub score_ppb: Option<u32>,
    pub confidence_ppb: Option<u32>,
    /// The miner's uid's share of the challenge's mechanism in the last agreed weights, ppb.
    pub weight_share_ppb: Option<u64>,
    /// This validator's reason, when the challenge refused the payload here.
    pub reason: Option<String>,
}

/// One validator's committed evaluation.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct EvaluationRow {
    pub validator: String,
    pub status: String,
    pub score_ppb: u32,
    pub output_hash: String,
    /// Fuel the evaluation used, as its signed evaluation states (`None` when its block is not
    /// within [`JOURNEY_BLOCKS`] blocks of the submission's, or no longer stored).
    pub fuel_used: Option<u64>,
    /// Excluded from the aggregate as an outlier.
    pub outlier: bool,
}

/// Blocks after a submission's searched for its evaluations' fuel.
pub(crate) const JOURNEY_BLOCKS: u64 = 1_000;

/// The fuel each of `evaluators` reported for submission `id`, read from the signed evaluations
/// in the blocks after `height` (stops once all are found, or after [`JOURNEY_BLOCKS`]).
fn fuel_used(records: &Records, id: &SubmissionId, height: u64, evaluators: usize) -> HashMap<PublicKey, u64> {
    let mut found = HashMap::new();
    let mut from = height + 1;
    while found.len() < evaluators && from <= height + JOURNEY_BLOCKS {
        let page = records.blocks_from(from, 100).unwrap_or_default();
        let Some((last, _)) = page.last() else { break };
        from = last.header.height.get() + 1;
        for (block, _) in &page {
            for action in &block.actions {
                let batch = action.evaluation_batch();
                for evaluation in batch.iter().flat_map(|b| b.evaluations()) {
                    if evaluation.submission == *id {
                        found.insert(evaluation.validator, evaluation.fuel_used);
                    }
                }
            }
        }
    }
    found
}

/// `/ui/search` and `/dashboard/search`: a miner's submissions.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Search {
    pub query: String,
    /// The submission the query names, when it is a known submission id.
    pub submission: Option<String>,
    pub miner: Option<String>,
    pub submissions: Vec<SearchRow>,
}

/// One submission found.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct SearchRow {
    pub id: String,
    pub challenge: String,
    pub height: u64,
    pub score_ppb: Option<u32>,
}

impl ReadView {
    /// A submission's journey (`None`: neither ordered nor stored here).
    pub(crate) fn journey(
        &self,
        id: &SubmissionId,
        records: &Records,
        weights: Option<&EpochWeights>,
    ) -> Option<Journey> {
        let status = self.submission_status(id, records);
        let text = |k: &str| status.get(k).and_then(Value::as_str).map(str::to_owned);
        let state = text("status")?;
        if state == "unknown" {
            return None;
        }
        let miner_text = text("miner").unwrap_or_default();
        let miner = PublicKey::from_ss58(&miner_text).ok();
        let uid = miner.as_ref().and_then(|m| self.uid(m));
        // Still in the state, or retired from it and kept in the store.
        let retired = records.retired(id).filter(|_| !self.state.submissions.contains_key(id));
        let committed = self.state.submissions.get(id).map(|c| &**c).or(retired.as_ref());
        let (mut evaluations, mut confidence, mut mechanism) = (Vec::new(), None, None);
        if let Some(c) = committed {
            let entry = self.state.challenge(&c.challenge);
            mechanism = entry.map(|e| e.spec.mechanism.get());
            let outlier_z = entry.map_or(2_000, |e| e.spec.scoring.outlier_z_milli);
            let validators = &self.state.registry.validators;
            // The scores in the order `Committed::scores` gives them (members only).
            let members: Vec<&PublicKey> =
                c.evaluations.keys().filter(|v| validators.validators.iter().any(|m| &m.hotkey == *v)).collect();
            let flags = platform_scoring::outliers(&c.scores(validators), outlier_z);
            let outlier: BTreeMap<&PublicKey, bool> = members.into_iter().zip(flags).collect();
            confidence = platform_scoring::aggregate(&c.scores(validators), outlier_z).map(|a| a.confidence_ppb);
            let fuel = fuel_used(records, id, c.height.get(), c.evaluations.len());
            evaluations = c
                .evaluations
                .iter()
                .map(|(v, (status, score, output))| EvaluationRow {
                    validator: v.to_ss58(),
                    status: match status {
                        EvaluationStatus::Scored => "scored".into(),
                        EvaluationStatus::Rejected => "rejected".into(),
                    },
                    score_ppb: *score,
                    output_hash: output.to_string(),
                    fuel_used: fuel.get(v).copied(),
                    outlier: outlier.get(v).copied().unwrap_or(false),
                })
                .collect();
        }
        let is_final = status.get("final").and_then(Value::as_bool).unwrap_or(false);
        Some(Journey {
            id: id.to_string(),
            status: state,
            challenge: text("challenge").unwrap_or_default(),
            miner: miner_text,
            uid,
            admitted: records.has_submission(id),
            height: status.get("height").and_then(Value::as_u64),
            epoch: status.get("epoch").and_then(Value::as_u64),
            evaluations,
            is_final,
            score_ppb: status.get("score_ppb").and_then(Value::as_u64).map(|s| s as u32),
            confidence_ppb: confidence,
            weight_share_ppb: match (uid, mechanism, weights) {
                (Some(u), Some(m), Some(w)) if is_final => w.share_ppb(m, u),
                _ => None,
            },
            reason: text("reason"),
        })
    }

    /// The submissions of the miner `query` names (an SS58 hotkey), newest first: those in the
    /// state and those retired from it that the store keeps.
    pub(crate) fn search(&self, query: &str, records: &Records) -> Search {
        let query = query.trim();
        let Ok(miner) = PublicKey::from_ss58(query) else {
            return Search { query: query.to_owned(), submission: None, miner: None, submissions: Vec::new() };
        };
        let row = |id: &SubmissionId, c: &platform_app::Committed| SearchRow {
            id: id.to_string(),
            challenge: c.challenge.as_str().to_owned(),
            height: c.height.get(),
            score_ppb: crate::view::aggregate_ppb(&self.state, c),
        };
        let mut found: Vec<SearchRow> =
            self.state.submissions.iter().filter(|(_, c)| c.miner == miner).map(|(id, c)| row(id, c)).collect();
        found.extend(records.retired_of(&miner, SEARCH_LIMIT).iter().map(|(id, c)| row(id, c)));
        found.sort_by(|a, b| b.height.cmp(&a.height).then(a.id.cmp(&b.id)));
        found.truncate(SEARCH_LIMIT);
        Search { query: query.to_owned(), submission: None, miner: Some(miner.to_ss58()), submissions: found }
    }
}
