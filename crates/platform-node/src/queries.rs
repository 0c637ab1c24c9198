//! Read-only answers: `/health`'s status and the HTTP API's queries.

use std::collections::HashMap;

use platform_chain::Chain;
use platform_types::{EvaluationStatus, PublicKey, SubmissionId};
use serde_json::{Value, json};

use crate::core::*;

impl<C: Chain + Clone + 'static> Core<C> {
    pub(crate) fn publish_status(&self) {
        let healthy = self.outdated.is_none() && self.voting();
        self.metrics.voting.set(i64::from(healthy));
        let status = json!({
            "status": if healthy { "ok" } else { "degraded" },
            "version": node_version().to_string(),
            "required_version": self.state.registry.required_version.map(|v| v.to_string()),
            "outdated": self.outdated.map(|v| format!("running {} but the network requires {v}: this validator does not vote", node_version())),
            "voting": healthy,
            "height": self.state.tip.height.get(),
            "epoch": self.state.tip.epoch.get(),
            "chain_block": self.chain.head().map(|b| b.number),
            "mempool": self.mempool.len(),
            "evaluations_abstained": self.metrics.evaluations_abstained.get(),
            "last_abstention": self.abstained.as_ref().map(|(id, reason)| json!({ "submission": id.to_string(), "reason": reason })),
        });
        self.status.send_replace(status);
    }

    pub(crate) fn answer(&self, query: Query) -> Value {
        match query {
            Query::Health => self.status.borrow().clone(),
            Query::Challenges => Value::Array(
                self.state
                    .registry
                    .challenges
                    .values()
                    .map(|e| {
                        let loaded = self.modules.contains_key(e.spec.id.as_str());
                        crate::json::challenge(&e.spec, e.since.get(), loaded)
                    })
                    .collect(),
            ),
            Query::Submission(id) => self.submission_status(&id),
            Query::Scores(challenge) => self.scores(challenge.as_deref()),
            Query::Weights => self.latest_weights(),
            Query::Consensus => {
                let (height, view, leader) = match &self.machine {
                    Some(m) => (m.height().get(), m.view().get(), Some(m.committee().leader(m.height(), m.view()))),
                    None => (self.state.tip.height.next().get(), 0, None),
                };
                json!({
                    "height": height, "view": view, "leader": leader.map(|l| l.to_ss58()),
                    "tip": { "height": self.state.tip.height.get(), "hash": self.state.tip.hash.to_string(),
                             "state_root": self.state.tip.state_root.to_string(), "epoch": self.state.tip.epoch.get() },
                    "validators": self.state.registry.validators.validators.iter()
                        .map(|v| json!({ "hotkey": v.hotkey.to_ss58(), "uid": v.uid.get(), "stake": v.stake })).collect::<Vec<_>>(),
                    "voting": self.voting(),
                })
            }
            Query::Sudo(hash) => match self.sudo_results.get(&hash) {
                Some((height, Ok(()))) => json!({ "status": "committed", "height": height.get() }),
                Some((height, Err(reason))) => {
                    json!({ "status": "rejected", "height": height.get(), "reason": reason })
                }
                None if self.mempool.sudo().iter().any(|e| e.payload_hash() == hash) => json!({ "status": "pending" }),
                None => json!({ "status": "unknown" }),
            },
        }
    }

    /// The robust stake-weighted aggregate of a committed submission's scores so far.
    pub(crate) fn aggregate_ppb(&self, c: &platform_app::Committed) -> Option<u32> {
        let outlier_z = self.state.challenge(&c.challenge).map_or(2_000, |e| e.spec.scoring.outlier_z_milli);
        platform_scoring::aggregate(&c.scores(&self.state.registry.validators), outlier_z).map(|a| a.mean_ppb)
    }

    /// `GET /submissions/{id}`'s answer (without `reason`, which the HTTP handler reads from
    /// the store). Every field is present in every state: what is not known yet is null, `[]`,
    /// `false` or 0.
    pub(crate) fn submission_status(&self, id: &SubmissionId) -> Value {
        if let Some(s) = self.mempool.get(id) {
            return json!({
                "id": id.to_string(), "status": "pending", "final": false,
                "challenge": s.challenge.as_str(), "miner": s.miner.to_ss58(),
                "height": null, "epoch": null, "score_ppb": null, "evaluated_stake_ppb": 0, "evaluations": [],
            });
        }
        let Some(c) = self.state.submissions.get(id) else {
            return json!({ "id": id.to_string(), "status": "unknown" });
        };
        let validators = &self.state.registry.validators;
        let total: u128 = validators.validators.iter().map(|v| u128::from(v.stake)).sum();
        let evaluated = c.evaluated_stake(validators);
        let rejected: u128 = validators
            .validators
            .iter()
            .filter(|v| matches!(c.evaluations.get(&v.hotkey), Some((EvaluationStatus::Rejected, ..))))
            .map(|v| u128::from(v.stake))
            .sum();
        let is_final = c.is_final(validators);
        // Final and refused by the challenge on validators holding most of the evaluated stake.
        let status = if is_final && rejected * 2 > evaluated {
            "rejected"
        } else if is_final {
            "scored"
        } else if c.evaluations.is_empty() {
            "evaluating"
        } else {
            "partially_evaluated"
        };
        json!({
            "id": id.to_string(),
            "status": status,
            "final": is_final,
            "challenge": c.challenge.as_str(),
            "miner": c.miner.to_ss58(),
            "height": c.height.get(),
            "epoch": c.epoch.get(),
            "score_ppb": self.aggregate_ppb(c),
            "evaluated_stake_ppb": (evaluated * 1_000_000_000 / total.max(1)) as u64,
            "evaluations": c.evaluations.iter().map(|(v, (status, score, output))| json!({
                "validator": v.to_ss58(),
                "status": match status { EvaluationStatus::Scored => "scored", EvaluationStatus::Rejected => "rejected" },
                "score_ppb": score,
                "output_hash": output.to_string() })).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn scores(&self, only: Option<&str>) -> Value {
        let mut out = serde_json::Map::new();
        for (id, entry) in &self.state.registry.challenges {
            if only.is_some_and(|o| o != id) {
                continue;
            }
            let mut best: HashMap<PublicKey, (u32, SubmissionId)> = HashMap::new();
            for sid in self.state.by_challenge.get(id).map(Vec::as_slice).unwrap_or_default() {
                let Some(c) = self.state.submissions.get(sid) else { continue };
                if c.height < entry.since {
                    continue;
                }
                if let Some(score) = self.aggregate_ppb(c) {
                    let slot = best.entry(c.miner).or_insert((score, *sid));
                    if score > slot.0 {
                        *slot = (score, *sid);
                    }
                }
            }
            let mut rows: Vec<_> = best.into_iter().collect();
            rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
            let uid = |h: &PublicKey| self.metagraph.as_ref().and_then(|m| m.uid_of(h)).map(|u| u.get());
            out.insert(
                id.clone(),
                Value::Array(
                    rows.iter()
                        .enumerate()
                        .map(|(rank, (miner, (score, sid)))| {
                            json!({
                            "rank": rank + 1, "miner": miner.to_ss58(), "uid": uid(miner),
                            "score_ppb": score, "submission": sid.to_string() })
                        })
                        .collect(),
                ),
            );
        }
        Value::Object(out)
    }

    pub(crate) fn latest_weights(&self) -> Value {
        match self.records.latest_weights_record() {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}
