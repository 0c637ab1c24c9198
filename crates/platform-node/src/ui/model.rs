//! What each dashboard page shows, computed from the published [`ReadView`] and the store:
//! one typed value per page, which the page renders and its JSON twin (`/dashboard/...`)
//! serialises. Both come from the same value, so the browser test can compare them.

use std::collections::HashMap;

use platform_types::{PublicKey, SubmissionId};
use serde::Serialize;
use serde_json::Value;

use super::weights::{EpochWeights, Weights, share_ppb};
use crate::records::Records;
use crate::view::ReadView;

/// Blocks over which validators' participation is counted.
pub(crate) const PARTICIPATION_WINDOW: u64 = 100;

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

impl ReadView {
    pub(super) fn uid(&self, key: &PublicKey) -> Option<u16> {
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
                if let Some(batch) = action.evaluation_batch() {
                    *evaluations.entry(batch.validator()).or_default() += batch.evaluations().len() as u64;
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
}
