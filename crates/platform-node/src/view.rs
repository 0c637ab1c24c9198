//! What the event loop publishes for readers, and the HTTP API's answers computed from it off
//! the loop: `/health`'s status, and a read-only [`ReadView`] of the state. The view is
//! rebuilt when something it shows changes (a commit, a consensus step, a module, a sudo
//! action, a metagraph read) and costs O(1) to build: the application state's large maps are
//! persistent ([`imbl`]). A query never waits for the loop, and an expensive one (`/scores`)
//! runs on a blocking thread.

use std::collections::BTreeSet;
use std::sync::Arc;

use platform_app::AppState;
use platform_chain::Metagraph;
use platform_types::{
    ChallengeId, Epoch, EvaluationStatus, Hash, Height, Phase, PublicKey, SubmissionId, ValidatorSet,
};
use serde_json::{Value, json};

use crate::core::*;
use crate::records::Records;

/// The state as the HTTP API shows it: a snapshot the loop publishes.
pub(crate) struct ReadView {
    /// The application state at the last commit.
    pub state: AppState,
    /// The latest metagraph read (uids in the leaderboard).
    pub metagraph: Option<Arc<Metagraph>>,
    /// Challenges whose module this validator has loaded.
    pub modules_loaded: BTreeSet<String>,
    /// The height and view being decided, their leader, and whether this validator votes.
    pub position: Position,
    /// Sudo actions applied or refused, with the height.
    pub sudo_results: imbl::HashMap<Hash, (Height, Result<(), String>)>,
    /// Sudo actions admitted and not yet ordered.
    pub pending_sudo: Vec<Hash>,
}

/// Where consensus stands, as `/leader` and `/consensus/info` show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub height: u64,
    pub view: u64,
    pub leader: Option<PublicKey>,
    pub voting: bool,
}

impl ReadView {
    /// The view before the loop runs (the API answers 503 then).
    pub fn starting() -> ReadView {
        ReadView {
            state: AppState::genesis(ValidatorSet { epoch: platform_types::Epoch::new(0), validators: Vec::new() }),
            metagraph: None,
            modules_loaded: BTreeSet::new(),
            position: Position::default(),
            sudo_results: imbl::HashMap::new(),
            pending_sudo: Vec::new(),
        }
    }

    /// The answer to `query` (not [`Query::Health`], which is the published status). Reads
    /// the store for what the view does not hold (admitted, unordered submissions; the
    /// weights sent to the chain).
    pub fn answer(&self, query: Query, records: &Records) -> Value {
        match query {
            Query::Health => Value::Null,
            Query::Challenges => Value::Array(
                self.state
                    .registry
                    .challenges
                    .values()
                    .map(|e| {
                        let loaded = self.modules_loaded.contains(e.spec.id.as_str());
                        crate::json::challenge(&e.spec, e.since.get(), loaded)
                    })
                    .collect(),
            ),
            Query::Submission(id) => self.submission_status(&id, records),
            Query::Task => self.task(),
            Query::Scores(challenge) => self.scores(challenge.as_deref()),
            Query::Weights => match records.latest_weights_record() {
                Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Query::Consensus => {
                let (tip, p) = (&self.state.tip, &self.position);
                json!({
                    "height": p.height, "view": p.view, "leader": p.leader.map(|l| l.to_ss58()),
                    "tip": { "height": tip.height.get(), "hash": tip.hash.to_string(),
                             "state_root": tip.state_root.to_string(), "epoch": tip.epoch.get() },
                    "validators": self.state.registry.validators.validators.iter()
                        .map(|v| json!({ "hotkey": v.hotkey.to_ss58(), "uid": v.uid.get(), "stake": v.stake })).collect::<Vec<_>>(),
                    "voting": p.voting,
                })
            }
            Query::Sudo(hash) => match self.sudo_results.get(&hash) {
                Some((height, Ok(()))) => json!({ "status": "committed", "height": height.get() }),
                Some((height, Err(reason))) => {
                    json!({ "status": "rejected", "height": height.get(), "reason": reason })
                }
                None if self.pending_sudo.contains(&hash) => json!({ "status": "pending" }),
                None => json!({ "status": "unknown" }),
            },
        }
    }

    /// `GET /submissions/{id}`'s answer. Every field is present in every state: what is not
    /// known yet is null, `[]`, `false` or 0. A submission stored here and not ordered yet is
    /// pending; `reason` is this validator's rejection reason, kept in the store.
    pub fn submission_status(&self, id: &SubmissionId, records: &Records) -> Value {
        let retired = records.retired(id).filter(|_| !self.state.submissions.contains_key(id));
        let Some(c) = self.state.submissions.get(id).map(|c| &**c).or(retired.as_ref()) else {
            return match records.submission_info(id) {
                Some(s) => {
                    let held = self.state.commitment(id);
                    let status = if held.is_some() { "committed" } else { "pending" };
                    json!({
                        "id": id.to_string(), "status": status, "final": false, "retired": false,
                        "challenge": s.challenge.as_str(), "miner": s.miner.to_ss58(),
                        "height": held.map(|(_, c)| c.height.get()), "epoch": null, "score_ppb": null,
                        "evaluated_stake_ppb": 0, "evaluations": [], "reason": null,
                        "phase": phase_name(&s.phase), "reveal": held.map(|held| self.reveal_json(&s.challenge, held)),
                        "reveals": reveals(&s.phase), "seed": null,
                    })
                }
                None => json!({ "id": id.to_string(), "status": "unknown" }),
            };
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
            "retired": retired.is_some(),
            "challenge": c.challenge.as_str(),
            "miner": c.miner.to_ss58(),
            "height": c.height.get(),
            "epoch": c.epoch.get(),
            "score_ppb": aggregate_ppb(&self.state, c),
            "evaluated_stake_ppb": (evaluated * 1_000_000_000 / total.max(1)) as u64,
            "evaluations": c.evaluations.iter().map(|(v, (status, score, output))| json!({
                "validator": v.to_ss58(),
                "status": match status { EvaluationStatus::Scored => "scored", EvaluationStatus::Rejected => "rejected" },
                "score_ppb": score,
                "output_hash": output.to_string() })).collect::<Vec<_>>(),
            "reason": records.reason(id),
            "phase": if c.revealed.is_some() { "reveal" } else { "answer" },
            "reveal": null,
            "reveals": c.revealed.as_ref().map(|r| r.commitment.to_string()),
            "seed": Hash::from_bytes(match &c.revealed {
                Some(r) => *r.sampling_seed.as_bytes(),
                None => crate::evaluator::seed(&c.block_hash, id),
            }).to_string(),
        })
    }

    /// What a miner needs to reveal a commitment the state holds: the seeds, the last height
    /// a block may order its reveal at, whether it is revealed.
    fn reveal_json(&self, challenge: &ChallengeId, (task_epoch, c): (Epoch, &platform_app::Commitment)) -> Value {
        let window = self.state.challenge(challenge).and_then(|e| e.spec.phases.reveal_blocks()).unwrap_or(0);
        json!({
            "task_epoch": task_epoch.get(),
            "task_seed": c.task_seed.to_string(),
            "sampling_seed": c.sampling_seed().to_string(),
            "last_height": c.height.get() + u64::from(window),
            "revealed": c.revealed,
        })
    }

    /// `GET /challenges/{id}/epochs/{epoch}`: what this validator's epoch scorer ran on for a
    /// closed epoch of a challenge — the seed, every answer in order with its payload, each
    /// answering miner's participation — so that anyone can run the scorer again and compare
    /// its verdicts with the signed ones. Errors: 404 (no such challenge, or the epoch has not
    /// closed), 410 (its answers are no longer all held), 413 (their payloads exceed the
    /// challenge's input cap, which rejects every answer).
    pub fn epoch(&self, challenge: &str, epoch: Epoch, records: &Records) -> Result<Value, (u16, String)> {
        let entry =
            self.state.registry.challenges.get(challenge).ok_or((404, format!("unknown challenge {challenge:?}")))?;
        if epoch >= self.state.tip.epoch {
            let now = self.state.tip.epoch;
            return Err((404, format!("epoch {epoch} has not closed (this validator is in epoch {now})")));
        }
        let id = &entry.spec.id;
        let held: Vec<crate::epoch_answers::EpochAnswer> =
            crate::epoch_answers::held_answers(&self.state, |e| e == epoch, None)
                .into_iter()
                .filter(|(c, _, _)| c == id)
                .flat_map(|(_, _, answers)| answers)
                .collect();
        let gone = |e: String| (410, format!("the answers of epoch {epoch} are no longer all held here: {e}"));
        let mut answers = held.clone();
        answers.extend(crate::epoch_answers::retired_answers(&self.state, records, id, epoch, &held).map_err(gone)?);
        let seed = crate::epoch_answers::in_commit_order(id, epoch, &mut answers);
        let participation = self
            .state
            .epoch_participation(challenge, epoch, answers.iter().map(|a| &a.miner))
            .ok_or_else(|| gone("the participation history is pruned".into()))?;
        let limit = u64::from(entry.spec.policy.max_input_bytes);
        let mut size = crate::evaluator::epoch_input_bytes([]);
        let mut out = Vec::with_capacity(answers.len());
        for a in &answers {
            let payload = match records.payload(&a.id).map_err(|e| gone(e.to_string()))? {
                crate::records::StoredPayload::Bytes(bytes) => bytes,
                crate::records::StoredPayload::MissingBlob(hash) => {
                    return Err(gone(format!("blob {hash} is not stored")));
                }
            };
            size = size.saturating_add(crate::evaluator::epoch_answer_bytes(payload.len() as u64));
            if size > limit {
                return Err((
                    413,
                    format!(
                        "the epoch's answers pass challenge {challenge}'s input cap of {limit} bytes: every answer was rejected"
                    ),
                ));
            }
            out.push(json!({
                "id": a.id.to_string(),
                "miner": a.miner.to_ss58(),
                "miner_key": Hash::from_bytes(*a.miner.as_bytes()).to_string(),
                "height": a.height.get(),
                "payload": format!("0x{}", hex::encode(&payload)),
            }));
        }
        Ok(json!({
            "challenge": challenge,
            "epoch": epoch.get(),
            "seed": seed.map(|s| Hash::from_bytes(s).to_string()),
            "answers": out,
            "participation": answers.iter().map(|a| {
                let bits = participation.get(a.miner.as_bytes()).copied().unwrap_or(0);
                (a.miner.to_ss58(), json!(bits))
            }).collect::<serde_json::Map<String, Value>>(),
        }))
    }

    /// `GET /task`: the tip's epoch and the task seeds a commitment may answer now.
    pub fn task(&self) -> Value {
        json!({
            "epoch": self.state.tip.epoch.get(),
            "height": self.state.tip.height.get(),
            "task_seeds": self.state.task_seeds.iter()
                .map(|(epoch, seed)| json!({ "epoch": epoch.get(), "seed": seed.to_string() }))
                .collect::<Vec<_>>(),
        })
    }

    /// The leaderboards: per challenge, each miner's best final aggregate since the
    /// challenge's current version ([`ReadView::leaderboard`], the dashboard's too).
    /// O(submissions): run it off the event loop.
    pub fn scores(&self, only: Option<&str>) -> Value {
        let mut out = serde_json::Map::new();
        for id in self.state.registry.challenges.keys() {
            if only.is_some_and(|o| o != id) {
                continue;
            }
            let rows = self.leaderboard(id, None).map(|board| board.rows).unwrap_or_default();
            let rows = rows
                .into_iter()
                .map(|r| {
                    json!({ "rank": r.rank, "miner": r.miner, "uid": r.uid,
                            "score_ppb": r.score_ppb, "submission": r.submission })
                })
                .collect();
            out.insert(id.clone(), Value::Array(rows));
        }
        Value::Object(out)
    }
}

/// The robust stake-weighted aggregate of a committed submission's scores so far.
pub(crate) fn aggregate_ppb(state: &AppState, c: &platform_app::Committed) -> Option<u32> {
    let outlier_z = state.challenge(&c.challenge).map_or(2_000, |e| e.spec.scoring.outlier_z_milli);
    platform_scoring::aggregate(&c.scores(&state.registry.validators), outlier_z).map(|a| a.mean_ppb)
}

/// What `/health` shows, as plain values: compared with the last published before the JSON is
/// built, so a turn that changed none of it costs a comparison, not an encoding.
#[derive(Clone, PartialEq, Debug, Default)]
pub(crate) struct StatusKey {
    healthy: bool,
    required_version: Option<platform_types::Version>,
    outdated: Option<platform_types::Version>,
    height: u64,
    epoch: u64,
    chain_block: Option<u64>,
    mempool: usize,
    abstained: u64,
    last_abstention: Option<SubmissionId>,
    weights_path: Option<Value>,
}

impl Core {
    /// Publishes `/health`'s status when something it shows changed since the last one.
    pub(crate) fn publish_status(&mut self) {
        let healthy = self.outdated.is_none() && self.voting();
        self.metrics.voting.set(i64::from(healthy));
        let key = StatusKey {
            healthy,
            required_version: self.state.registry.required_version,
            outdated: self.outdated,
            height: self.state.tip.height.get(),
            epoch: self.state.tip.epoch.get(),
            chain_block: self.chain.head().map(|b| b.number),
            mempool: self.mempool.len(),
            abstained: self.metrics.evaluations_abstained.get(),
            last_abstention: self.abstained.as_ref().map(|(id, _)| *id),
            weights_path: self.weights_path.clone(),
        };
        if self.status_key.as_ref() == Some(&key) {
            return;
        }
        let status = json!({
            "status": if healthy { "ok" } else { "degraded" },
            "version": node_version().to_string(),
            "required_version": key.required_version.map(|v| v.to_string()),
            "outdated": key.outdated.map(|v| format!("running {} but the network requires {v}: this validator does not vote", node_version())),
            "voting": healthy,
            "height": key.height,
            "epoch": key.epoch,
            "chain_block": key.chain_block,
            "mempool": key.mempool,
            "evaluations_abstained": key.abstained,
            "last_abstention": self.abstained.as_ref().map(|(id, reason)| json!({ "submission": id.to_string(), "reason": reason })),
            "weights_path": key.weights_path,
        });
        self.status_key = Some(key);
        self.status.send_replace(status);
    }

    fn position(&self) -> Position {
        let (height, view, leader) = match &self.machine {
            Some(m) => (m.height().get(), m.view().get(), Some(m.committee().leader(m.height(), m.view()))),
            None => (self.state.tip.height.next().get(), 0, None),
        };
        Position { height, view, leader, voting: self.voting() }
    }

    /// Publishes a new [`ReadView`] when something it shows changed since the last one, and
    /// `/health`'s status with it (first: a reader that sees the new view sees the status that
    /// goes with it, such as a required version that stopped this validator voting). Whether it
    /// published.
    pub(crate) fn publish_view(&mut self) -> bool {
        let position = self.position();
        if !self.view_dirty && position == self.view.borrow().position {
            return false;
        }
        self.view_dirty = false;
        self.publish_status();
        let view = ReadView {
            state: self.state.clone(),
            metagraph: self.metagraph.clone(),
            modules_loaded: self.modules_loaded.clone(),
            position,
            sudo_results: self.sudo_results.clone(),
            pending_sudo: self.mempool.sudo().iter().map(|e| e.payload_hash()).collect(),
        };
        self.view.send_replace(Arc::new(view));
        true
    }
}

/// A submission's phase as the API names it.
fn phase_name(phase: &Phase) -> &'static str {
    match phase {
        Phase::Answer => "answer",
        Phase::Commit { .. } => "commitment",
        Phase::Reveal { .. } => "reveal",
    }
}

/// The commitment a reveal opens, in hex.
fn reveals(phase: &Phase) -> Option<String> {
    match phase {
        Phase::Reveal { commitment } => Some(commitment.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
