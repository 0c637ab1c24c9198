//! Keeping the state bounded whatever the length of history. A committed submission stays in
//! the state while it can still change: until it is final and the weights of a later epoch are
//! committed (or, if it never becomes final, one epoch more). It then *retires*: it leaves the
//! state, and what it can still do to the weights is kept in one small record per challenge and
//! miner — the stake-weighted scores of the miner's best retired submission — which the
//! scoring of later epochs counts exactly as it counted the submission itself.
//!
//! Retired submissions cannot be ordered again: each miner's submissions are remembered for
//! [`REPLAY_WINDOW_MS`] of signing time before its newest committed one, and a submission signed
//! earlier than that is refused. Memory is bounded by the miners and by what they may submit
//! in that window, not by history.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_scoring::{Score, best_scores};
use platform_types::{Epoch, Height, PublicKey, SubmissionId};

use crate::state::{AppState, Committed};

/// How much older than a miner's newest committed submission (by the signed timestamps) one
/// of its submissions may be and still be ordered: the hour an acknowledged submission may
/// wait for ordering.
pub const REPLAY_WINDOW_MS: u64 = 60 * 60 * 1000;

/// One miner's recently committed submissions, by signed timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ReplayWindow {
    /// The newest signed timestamp committed.
    pub newest_ms: u64,
    /// The submissions signed within [`REPLAY_WINDOW_MS`] of it.
    pub ids: BTreeSet<(u64, SubmissionId)>,
}

impl ReplayWindow {
    /// Whether a submission signed at `timestamp_ms` may be ordered: not below the window, and
    /// not one of those in it.
    pub fn admits(&self, timestamp_ms: u64, id: &SubmissionId) -> Result<(), String> {
        let floor = self.newest_ms.saturating_sub(REPLAY_WINDOW_MS);
        if timestamp_ms < floor {
            return Err(format!(
                "submission {id} was signed {} s before its miner's newest committed one (at most {} s)",
                (self.newest_ms - timestamp_ms) / 1000,
                REPLAY_WINDOW_MS / 1000
            ));
        }
        if self.ids.contains(&(timestamp_ms, *id)) {
            return Err(format!("submission {id} ordered twice"));
        }
        Ok(())
    }

    /// Remembers a committed submission and forgets those now below the window.
    pub fn record(&mut self, timestamp_ms: u64, id: SubmissionId) {
        self.newest_ms = self.newest_ms.max(timestamp_ms);
        self.ids.insert((timestamp_ms, id));
        let floor = self.newest_ms.saturating_sub(REPLAY_WINDOW_MS);
        self.ids = self.ids.split_off(&(floor, SubmissionId(platform_types::Hash::ZERO)));
    }
}

/// Per miner, its [`ReplayWindow`].
pub type Replays = BTreeMap<PublicKey, ReplayWindow>;

/// What retired submissions of one challenge still count for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct RetiredScores {
    /// The challenge version (its `since` height) they were scored under: a new version
    /// starts from nothing, as its live submissions do.
    pub since: Height,
    /// How many submissions retired under it.
    pub count: u64,
    /// Per miner, its best retired submission and its scores: `(evaluator stake, score ppb)`.
    pub best: BTreeMap<PublicKey, (SubmissionId, Vec<(u64, u32)>)>,
}

/// Per challenge, its [`RetiredScores`].
pub type Retired = BTreeMap<String, RetiredScores>;

/// The scores as the scoring crate takes them.
pub fn scores(pairs: &[(u64, u32)]) -> Vec<Score> {
    pairs.iter().map(|&(stake, score_ppb)| Score { stake, score_ppb }).collect()
}

impl AppState {
    /// Retires, after the block committing the weights of `epoch`, every submission ordered in an earlier epoch
    /// that is final, and every one ordered two or more epochs earlier; returns them (for the
    /// node to keep in its store). Each retired submission's scores replace its miner's best
    /// retired ones if they score higher; scores of removed challenges or of an older
    /// version of one are forgotten.
    pub(crate) fn retire(&mut self, epoch: Epoch) -> Vec<(SubmissionId, Committed)> {
        let challenges = &self.registry.challenges;
        self.retired.retain(|id, r| challenges.get(id).is_some_and(|e| e.since == r.since));
        let validators = &self.registry.validators;
        let total_stake: u64 = validators.validators.iter().map(|v| v.stake).sum();
        let mut out = Vec::new();
        for (challenge, ids) in self.by_challenge.iter_mut() {
            let entry = challenges.get(challenge);
            let mut kept = imbl::Vector::new();
            for id in ids.iter() {
                let Some(committed) = self.submissions.get(id) else { continue };
                let ripe = committed.epoch < epoch
                    && (committed.is_final(validators) || committed.epoch.get().saturating_add(1) < epoch.get());
                if !ripe {
                    kept.push_back(*id);
                    continue;
                }
                let Some(committed) = self.submissions.remove(id) else { continue };
                if let Some(entry) = entry
                    && committed.height >= entry.since
                {
                    let config = &entry.spec.scoring;
                    let value = |s: &[Score]| {
                        best_scores(config, [(committed.miner, s, total_stake)]).0.get(&committed.miner).copied()
                    };
                    let retired = self.retired.entry(challenge.clone()).or_insert_with(|| RetiredScores {
                        since: entry.since,
                        count: 0,
                        best: BTreeMap::new(),
                    });
                    retired.count += 1;
                    let new = committed.scores(validators);
                    if let Some(value_new) = value(&new) {
                        let old = retired.best.get(&committed.miner).and_then(|(_, s)| value(&scores(s)));
                        if old.is_none_or(|old| value_new > old) {
                            let pairs = new.iter().map(|s| (s.stake, s.score_ppb)).collect();
                            retired.best.insert(committed.miner, (*id, pairs));
                        }
                    }
                }
                out.push((*id, Arc::unwrap_or_clone(committed)));
            }
            *ids = kept;
        }
        self.by_challenge.retain(|_, ids| !ids.is_empty());
        out
    }
}
