//! What each dashboard page shows, computed from the published [`ReadView`] and the store:
//! one typed value per page, which the page renders and its JSON twin (`/dashboard/...`)
//! serialises. Both come from the same value, so the browser test can compare them.

use std::collections::{BTreeMap, HashMap};

use platform_types::Codec;
use platform_types::{Action, Evaluation, EvaluationStatus, PublicKey, SubmissionId};
use serde::Serialize;
use serde_json::Value;

use crate::records::Records;
use crate::view::ReadView;

/// Blocks over which validators' participation is counted.
pub(crate) const PARTICIPATION_WINDOW: u64 = 100;

/// Epochs of agreed weights the weights page shows.
pub(crate) const WEIGHT_EPOCHS: usize = 50;

/// A miner's submissions listed by a search, newest first, at most.
pub(crate) const SEARCH_LIMIT: usize = 200;

/// `/ui` and `/dashboard/network`.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Network {
    /// This validator's hotkey.
    pub validator: String,
    /// `/health`'s status: `ok`, `degraded` or `starting`.
    pub status: String,
    /// Whether this validator votes.
    pub voting: bool,
    /// The height being decided, its view and leader.
    pub height: u64,
    pub view: u64,
    pub leader: Option<String>,
    /// The last committed block.
    pub tip_height: u64,
    pub tip_hash: String,
    pub state_root: String,
    /// The network's epoch.
    pub epoch: u64,
    /// The newest chain block the node has seen.
    pub chain_block: Option<u64>,
    /// The chain block of the subnet's next epoch (when weights are next due), and how many blocks away.
    pub next_epoch_block: Option<u64>,
    pub blocks_to_next_epoch: Option<u64>,
    /// How weights are sent (`direct`, `timelocked`, `commit-reveal`) and why.
    pub weights_path: Option<String>,
    pub weights_path_reason: Option<String>,
    /// Participation is counted over the last `window` committed blocks.
    pub window: u64,
    /// The chain block at which the validators' weights on chain were last read.
    pub weights_read_block: Option<u64>,
    pub validators: Vec<ValidatorRow>,
    pub peers: Vec<PeerRow>,
}

/// One member of the validator set.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct ValidatorRow {
    pub hotkey: String,
    pub uid: u16,
    pub stake: u64,
    /// Its share of the set's stake, ppb.
    pub stake_share_ppb: u64,
    /// This validator.
    pub is_self: bool,
    /// A peer connection to it is open (always true for this validator).
    pub connected: bool,
    /// Commit certificates it signed in the window.
    pub votes: u64,
    /// Evaluations of its that blocks in the window ordered.
    pub evaluations: u64,
    /// Blocks it proposed in the window.
    pub proposed: u64,
    /// The agreed epoch whose weights it had on chain at the last reading (`None`: its weights
    /// on chain match no agreed vector shown, or were not read).
    pub weights_on_chain_epoch: Option<u64>,
    /// `matches epoch N`, `differs`, `none set` or `not read yet`.
    pub weights_on_chain: String,
}

/// A connected peer.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct PeerRow {
    pub peer_id: String,
    pub hotkey: Option<String>,
}

/// `/ui/challenges` and `/dashboard/challenges`.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Challenges {
    /// The network's epoch (submissions are counted for it).
    pub epoch: u64,
    pub challenges: Vec<ChallengeRow>,
}

/// One challenge.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct ChallengeRow {
    pub id: String,
    pub name: String,
    pub module_hash: String,
    pub module_size: u64,
    /// Height its current version took effect at.
    pub since_height: u64,
    pub module_loaded: bool,
    pub mechanism: u8,
    pub emission_share_ppb: u32,
    pub fuel_limit: u64,
    pub memory_pages_max: u32,
    pub deadline_ms: u32,
    pub normalisation: String,
    pub empty_policy: String,
    /// Submissions ordered in the current epoch, and since its current version.
    pub submissions_this_epoch: u64,
    pub submissions_total: u64,
}

/// `/ui/challenges/{id}` and `/dashboard/challenges/{id}`: the leaderboard.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Leaderboard {
    pub challenge: String,
    pub mechanism: u8,
    /// The epoch of the agreed weights the shares come from.
    pub weights_epoch: Option<u64>,
    pub rows: Vec<LeaderRow>,
}

/// One miner on a leaderboard.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub(crate) struct LeaderRow {
    pub rank: usize,
    pub miner: String,
    pub uid: Option<u16>,
    /// Its best final aggregate score, ppb, and the submission that reached it.
    pub score_ppb: u32,
    pub submission: String,
    /// Evaluations counted for that submission, and the share of stake that agreed.
    pub evaluations: usize,
    pub confidence_ppb: u32,
    /// Its uid's share of the challenge's mechanism in the last agreed weights, ppb.
    pub weight_share_ppb: Option<u64>,
}

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
                if let Action::Evaluation(envelope) = action
                    && let Ok(evaluation) = <Evaluation as Codec>::from_bytes(&envelope.payload)
                    && evaluation.submission == *id
                {
                    found.insert(evaluation.validator, evaluation.fuel_used);
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

/// `/ui/weights` and `/dashboard/weights`: the agreed vectors, newest epoch first.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Weights {
    pub epochs: Vec<EpochWeights>,
}

/// One epoch's agreed weights and what the chain said to this validator's submission.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct EpochWeights {
    pub epoch: u64,
    pub height: u64,
    pub mechanisms: Vec<MechanismWeights>,
    /// The validators' weights on chain, read before this epoch's were sent.
    #[serde(skip)]
    pub on_chain: Option<OnChain>,
}

/// One mechanism's weights as read from the chain: `(mechanism, [(uid, weight)])`.
pub(crate) type MechanismReading = (u8, Vec<(u16, u16)>);

/// The validators' weights on chain at one chain block.
#[derive(Debug, Clone, Default)]
pub(crate) struct OnChain {
    pub block: u64,
    /// Per validator hotkey: `(mechanism, weights)` as read.
    pub validators: Vec<(String, Vec<MechanismReading>)>,
}

/// Whether two weight vectors are the same once zero entries are dropped and each is scaled so
/// its largest weight is 65 535 (the chain stores weights max-upscaled).
pub(crate) fn same_weights(a: &[(u16, u16)], b: &[(u16, u16)]) -> bool {
    fn normal(v: &[(u16, u16)]) -> Vec<(u16, u16)> {
        let max = u32::from(v.iter().map(|(_, w)| *w).max().unwrap_or(0));
        let mut out: Vec<(u16, u16)> = v
            .iter()
            .filter(|(_, w)| *w > 0)
            .map(|(u, w)| (*u, ((u32::from(*w) * 65_535 + max / 2) / max.max(1)) as u16))
            .collect();
        out.sort_unstable();
        out
    }
    normal(a) == normal(b)
}

/// One mechanism's vector.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct MechanismWeights {
    pub mechanism: u8,
    /// `(uid, u16 weight)`, as agreed.
    pub weights: Vec<(u16, u16)>,
    /// The path the weights went by (`set`, `commit`, `timelocked`), when they landed.
    pub path: Option<String>,
    /// Whether this validator's submission landed, the block, and the error when it did not.
    pub landed: bool,
    pub block: Option<u64>,
    pub error: Option<String>,
    /// Validators whose weights on chain, read at a later epoch, were this vector.
    pub on_chain_matches: Vec<String>,
}

fn share_ppb(part: u128, total: u128) -> u64 {
    (part * 1_000_000_000).checked_div(total).unwrap_or(0) as u64
}

impl ReadView {
    fn uid(&self, key: &PublicKey) -> Option<u16> {
        self.metagraph.as_ref().and_then(|m| m.uid_of(key)).map(|u| u.get())
    }

    /// The network page: `status` is `/health`'s, `me` this validator, `peers` the open
    /// connections; participation is read from the last [`PARTICIPATION_WINDOW`] stored blocks.
    pub(crate) fn network(
        &self,
        status: &Value,
        me: &PublicKey,
        peers: Vec<PeerRow>,
        records: &Records,
        history: &Weights,
    ) -> Network {
        let tip = &self.state.tip;
        let from = tip.height.get().saturating_sub(PARTICIPATION_WINDOW - 1).max(1);
        let mut votes: HashMap<PublicKey, u64> = HashMap::new();
        let mut evaluations: HashMap<PublicKey, u64> = HashMap::new();
        let mut proposed: HashMap<PublicKey, u64> = HashMap::new();
        for (block, certificate) in records.blocks_from(from, PARTICIPATION_WINDOW as usize).unwrap_or_default() {
            *proposed.entry(block.header.proposer).or_default() += 1;
            for vote in &certificate.votes {
                *votes.entry(vote.signer).or_default() += 1;
            }
            for action in &block.actions {
                if let Action::Evaluation(envelope) = action {
                    *evaluations.entry(envelope.signer).or_default() += 1;
                }
            }
        }
        let connected: Vec<String> = peers.iter().filter_map(|p| p.hotkey.clone()).collect();
        let set = &self.state.registry.validators.validators;
        let total: u128 = set.iter().map(|v| u128::from(v.stake)).sum();
        let validators = set
            .iter()
            .map(|v| {
                let hotkey = v.hotkey.to_ss58();
                let (weights_on_chain_epoch, weights_on_chain) = history.on_chain_status(&hotkey);
                ValidatorRow {
                    weights_on_chain_epoch,
                    weights_on_chain,
                    is_self: &v.hotkey == me,
                    connected: &v.hotkey == me || connected.contains(&hotkey),
                    hotkey,
                    uid: v.uid.get(),
                    stake: v.stake,
                    stake_share_ppb: share_ppb(u128::from(v.stake), total),
                    votes: votes.get(&v.hotkey).copied().unwrap_or(0),
                    evaluations: evaluations.get(&v.hotkey).copied().unwrap_or(0),
                    proposed: proposed.get(&v.hotkey).copied().unwrap_or(0),
                }
            })
            .collect();
        let chain_block = status.get("chain_block").and_then(Value::as_u64);
        let next_epoch_block = self.metagraph.as_ref().map(|m| m.next_epoch_block());
        let path = status.get("weights_path");
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Network {
            validator: me.to_ss58(),
            status: text(status.get("status")).unwrap_or_else(|| "starting".into()),
            voting: self.position.voting,
            height: self.position.height,
            view: self.position.view,
            leader: self.position.leader.map(|l| l.to_ss58()),
            tip_height: tip.height.get(),
            tip_hash: tip.hash.to_string(),
            state_root: tip.state_root.to_string(),
            epoch: tip.epoch.get(),
            chain_block,
            next_epoch_block,
            blocks_to_next_epoch: next_epoch_block.zip(chain_block).map(|(n, c)| n.saturating_sub(c)),
            weights_path: text(path.and_then(|p| p.get("path"))),
            weights_path_reason: text(path.and_then(|p| p.get("reason"))),
            window: PARTICIPATION_WINDOW,
            weights_read_block: history.epochs.iter().find_map(|e| e.on_chain.as_ref()).map(|o| o.block),
            validators,
            peers,
        }
    }

    /// The challenges page.
    pub(crate) fn challenge_rows(&self) -> Challenges {
        let epoch = self.state.tip.epoch;
        let challenges = self
            .state
            .registry
            .challenges
            .values()
            .map(|e| {
                let (mut this_epoch, mut total) = (0, 0);
                for sid in self.state.by_challenge.get(e.spec.id.as_str()).into_iter().flatten() {
                    let Some(c) = self.state.submissions.get(sid) else { continue };
                    if c.height >= e.since {
                        total += 1;
                        this_epoch += u64::from(c.epoch == epoch);
                    }
                }
                // Retired submissions (none of this epoch: they retire after it).
                total +=
                    self.state.retired.get(e.spec.id.as_str()).filter(|r| r.since == e.since).map_or(0, |r| r.count);
                let json = crate::json::challenge(&e.spec, e.since.get(), false);
                let normalisation = json["scoring"]["normalisation"].as_object().and_then(|o| o.keys().next().cloned());
                ChallengeRow {
                    id: e.spec.id.as_str().to_owned(),
                    name: e.spec.name.clone(),
                    module_hash: e.spec.module_hash.to_string(),
                    module_size: e.spec.module_size,
                    since_height: e.since.get(),
                    module_loaded: self.modules_loaded.contains(e.spec.id.as_str()),
                    mechanism: e.spec.mechanism.get(),
                    emission_share_ppb: e.spec.emission_share_ppb,
                    fuel_limit: e.spec.policy.fuel_limit,
                    memory_pages_max: e.spec.policy.memory_pages_max,
                    deadline_ms: e.spec.policy.deadline_ms,
                    normalisation: normalisation.unwrap_or_default(),
                    empty_policy: json["scoring"]["empty_policy"].as_str().unwrap_or_default().to_owned(),
                    submissions_this_epoch: this_epoch,
                    submissions_total: total,
                }
            })
            .collect();
        Challenges { epoch: epoch.get(), challenges }
    }

    /// A challenge's leaderboard (`None`: no such challenge): each miner's best final aggregate
    /// since the challenge's current version, ranked; `weights` the last agreed weights.
    pub(crate) fn leaderboard(&self, challenge: &str, weights: Option<&EpochWeights>) -> Option<Leaderboard> {
        let entry = self.state.registry.challenges.get(challenge)?;
        let outlier_z = entry.spec.scoring.outlier_z_milli;
        let validators = &self.state.registry.validators;
        let mut best: HashMap<PublicKey, (u32, SubmissionId, usize, u32)> = HashMap::new();
        for sid in self.state.by_challenge.get(challenge).into_iter().flatten() {
            let Some(c) = self.state.submissions.get(sid) else { continue };
            if c.height < entry.since {
                continue;
            }
            let Some(agg) = platform_scoring::aggregate(&c.scores(validators), outlier_z) else { continue };
            let row = (agg.mean_ppb, *sid, c.evaluations.len(), agg.confidence_ppb);
            let slot = best.entry(c.miner).or_insert(row);
            if row.0 > slot.0 {
                *slot = row;
            }
        }
        // Each miner's best retired submission, as the scoring counts it.
        let retired = self.state.retired.get(challenge).filter(|r| r.since == entry.since);
        for (miner, (sid, pairs)) in retired.into_iter().flat_map(|r| r.best.iter()) {
            let Some(agg) = platform_scoring::aggregate(&platform_app::retire::scores(pairs), outlier_z) else {
                continue;
            };
            let row = (agg.mean_ppb, *sid, pairs.len(), agg.confidence_ppb);
            let slot = best.entry(*miner).or_insert(row);
            if row.0 > slot.0 {
                *slot = row;
            }
        }
        let mut ranked: Vec<_> = best.into_iter().collect();
        ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
        let mechanism = entry.spec.mechanism.get();
        let rows = ranked
            .into_iter()
            .enumerate()
            .map(|(i, (miner, (score_ppb, sid, evaluations, confidence_ppb)))| {
                let uid = self.uid(&miner);
                LeaderRow {
                    rank: i + 1,
                    miner: miner.to_ss58(),
                    uid,
                    score_ppb,
                    submission: sid.to_string(),
                    evaluations,
                    confidence_ppb,
                    weight_share_ppb: uid.and_then(|u| weights.and_then(|w| w.share_ppb(mechanism, u))),
                }
            })
            .collect();
        Some(Leaderboard { challenge: challenge.to_owned(), mechanism, weights_epoch: weights.map(|w| w.epoch), rows })
    }

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

impl EpochWeights {
    /// `uid`'s share of `mechanism`'s vector, ppb (`None`: no such mechanism in these weights).
    pub(crate) fn share_ppb(&self, mechanism: u8, uid: u16) -> Option<u64> {
        let m = self.mechanisms.iter().find(|m| m.mechanism == mechanism)?;
        let total: u128 = m.weights.iter().map(|(_, w)| u128::from(*w)).sum();
        let mine = m.weights.iter().find(|(u, _)| *u == uid).map_or(0, |(_, w)| u128::from(*w));
        Some(share_ppb(mine, total))
    }

    /// One record of the weights history (what the chain client stored for an agreed vector).
    pub(crate) fn from_record(record: &Value) -> Option<EpochWeights> {
        let mechanisms = record
            .get("mechanisms")?
            .as_array()?
            .iter()
            .map(|m| {
                let nums = |k: &str| -> Vec<u64> {
                    m.get(k)
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_u64).collect())
                        .unwrap_or_default()
                };
                let chain = m.get("chain");
                let flag = chain.and_then(|c| c.get("ok")).and_then(Value::as_bool).unwrap_or(false);
                MechanismWeights {
                    mechanism: m.get("mechanism").and_then(Value::as_u64).unwrap_or(0) as u8,
                    weights: nums("uids").into_iter().zip(nums("weights")).map(|(u, w)| (u as u16, w as u16)).collect(),
                    path: chain.and_then(|c| c.get("path")).and_then(Value::as_str).map(str::to_owned),
                    landed: flag,
                    block: chain.and_then(|c| c.get("inclusion")).and_then(|i| i.get("block")).and_then(Value::as_u64),
                    error: chain.and_then(|c| c.get("error")).and_then(Value::as_str).map(str::to_owned),
                    on_chain_matches: Vec::new(),
                }
            })
            .collect();
        Some(EpochWeights {
            epoch: record.get("epoch")?.as_u64()?,
            height: record.get("height").and_then(Value::as_u64).unwrap_or(0),
            mechanisms,
            on_chain: record.get("on_chain").and_then(OnChain::from_json),
        })
    }

    /// The epoch's vector for `mechanism`.
    fn vector(&self, mechanism: u8) -> Option<&[(u16, u16)]> {
        self.mechanisms.iter().find(|m| m.mechanism == mechanism).map(|m| &m.weights[..])
    }
}

impl OnChain {
    fn from_json(value: &Value) -> Option<OnChain> {
        let pairs = |v: &Value| -> Vec<(u16, u16)> {
            v.as_array()
                .map(|a| {
                    a.iter().filter_map(|p| Some((p.get(0)?.as_u64()? as u16, p.get(1)?.as_u64()? as u16))).collect()
                })
                .unwrap_or_default()
        };
        let validators = value
            .get("validators")?
            .as_array()?
            .iter()
            .filter_map(|v| {
                let mechanisms = v
                    .get("mechanisms")?
                    .as_array()?
                    .iter()
                    .filter_map(|m| Some((m.get("mechanism")?.as_u64()? as u8, pairs(m.get("weights")?))))
                    .collect();
                Some((v.get("hotkey")?.as_str()?.to_owned(), mechanisms))
            })
            .collect();
        Some(OnChain { block: value.get("block")?.as_u64()?, validators })
    }
}

impl Weights {
    /// The newest agreed epoch older than `before` whose vectors equal `on_chain` for every
    /// mechanism read.
    fn matching_epoch(&self, before: u64, on_chain: &[MechanismReading]) -> Option<u64> {
        self.epochs.iter().filter(|e| e.epoch < before).find_map(|e| {
            let all = on_chain.iter().all(|(m, w)| e.vector(*m).is_some_and(|agreed| same_weights(agreed, w)));
            (all && !on_chain.is_empty()).then_some(e.epoch)
        })
    }

    /// What `hotkey` had on chain at the newest reading: the agreed epoch it matched, and in words.
    pub(crate) fn on_chain_status(&self, hotkey: &str) -> (Option<u64>, String) {
        let Some(newest) = self.epochs.iter().find(|e| e.on_chain.is_some()) else {
            return (None, "not read yet".into());
        };
        let reading = newest.on_chain.as_ref().and_then(|o| o.validators.iter().find(|(h, _)| h == hotkey));
        let Some((_, mechanisms)) = reading else { return (None, "not read yet".into()) };
        if mechanisms.iter().all(|(_, w)| w.is_empty()) {
            return (None, "none set".into());
        }
        match self.matching_epoch(newest.epoch, mechanisms) {
            Some(epoch) => (Some(epoch), format!("matches epoch {epoch}")),
            None => (None, "differs".into()),
        }
    }

    /// Fills each vector's [`MechanismWeights::on_chain_matches`] from the readings of later epochs.
    fn match_on_chain(&mut self) {
        let mut matches: Vec<(u64, u8, String)> = Vec::new();
        for reading in &self.epochs {
            let Some(on_chain) = &reading.on_chain else { continue };
            for (hotkey, mechanisms) in &on_chain.validators {
                for (mechanism, weights) in mechanisms {
                    let older = self.epochs.iter().filter(|e| e.epoch < reading.epoch);
                    if let Some(e) =
                        older.into_iter().find(|e| e.vector(*mechanism).is_some_and(|a| same_weights(a, weights)))
                    {
                        matches.push((e.epoch, *mechanism, hotkey.clone()));
                    }
                }
            }
        }
        for epoch in &mut self.epochs {
            for m in &mut epoch.mechanisms {
                let mut found: Vec<String> = matches
                    .iter()
                    .filter(|(e, mech, _)| *e == epoch.epoch && *mech == m.mechanism)
                    .map(|(_, _, h)| h.clone())
                    .collect();
                found.sort();
                found.dedup();
                m.on_chain_matches = found;
            }
        }
    }
}

/// The last `limit` agreed weight vectors, newest first.
pub(crate) fn weights(records: &Records, limit: usize) -> Weights {
    let epochs = records
        .weights_history(limit)
        .unwrap_or_default()
        .iter()
        .filter_map(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        .filter_map(|record| EpochWeights::from_record(&record))
        .collect();
    let mut weights = Weights { epochs };
    weights.match_on_chain();
    weights
}
