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
//! in that window, not by history. That is up to an hour of every miner at its rate limit
//! (921 600 submissions for 256 miners at 60 a minute), so the windows are persistent
//! collections: the copy of the state the node publishes after every block shares them instead
//! of copying them (docs/benchmarks.md, "The read view's copy of the state").

use std::collections::BTreeMap;
use std::sync::Arc;

use parity_scale_codec::{Compact, Decode, Encode, Input, Output};
use platform_scoring::{Score, best_scores};
use platform_types::{Epoch, Height, PublicKey, SubmissionId};

use crate::state::{AppState, Committed};

/// How much older than a miner's newest committed submission (by the signed timestamps) one
/// of its submissions may be and still be ordered: the hour an acknowledged submission may
/// wait for ordering.
pub const REPLAY_WINDOW_MS: u64 = 60 * 60 * 1000;

/// One miner's recently committed submissions, by signed timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// The newest signed timestamp committed.
    pub newest_ms: u64,
    /// The submissions signed within [`REPLAY_WINDOW_MS`] of it.
    pub ids: imbl::OrdSet<(u64, SubmissionId)>,
}

/// Encoded as it was as a `BTreeSet` (a compact length, then the ids in order), so snapshots
/// keep their bytes and their roots.
impl Encode for ReplayWindow {
    fn size_hint(&self) -> usize {
        self.newest_ms.size_hint() + Compact(self.ids.len() as u32).size_hint() + self.ids.len() * 40
    }

    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.newest_ms.encode_to(dest);
        Compact(u32::try_from(self.ids.len()).expect("a window holds fewer than 2^32 ids")).encode_to(dest);
        for entry in &self.ids {
            entry.encode_to(dest);
        }
    }
}

impl Decode for ReplayWindow {
    fn decode<I: Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        let newest_ms = u64::decode(input)?;
        let ids = Vec::<(u64, SubmissionId)>::decode(input)?;
        Ok(ReplayWindow { newest_ms, ids: ids.into_iter().collect() })
    }
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
        while self.ids.get_min().is_some_and(|(signed, _)| *signed < floor) {
            self.ids.remove_min();
        }
    }
}

/// Per miner, its [`ReplayWindow`].
pub type Replays = imbl::OrdMap<PublicKey, ReplayWindow>;

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn id(n: u8) -> SubmissionId {
        SubmissionId(platform_types::blake2b_256(&[n]))
    }

    #[test]
    fn a_window_forgets_what_falls_below_it_and_refuses_what_it_holds() {
        let mut window = ReplayWindow::default();
        window.record(1_000, id(1));
        window.record(2_000, id(2));
        window.record(1_000, id(3));
        assert!(window.admits(2_000, &id(2)).is_err(), "ordered twice");
        assert!(window.admits(2_000, &id(4)).is_ok());
        // The newest moves an hour past 1 000: what was signed at 1 000 is below the window.
        window.record(REPLAY_WINDOW_MS + 1_500, id(5));
        let kept: Vec<_> = window.ids.iter().copied().collect();
        assert_eq!(kept, vec![(2_000, id(2)), (REPLAY_WINDOW_MS + 1_500, id(5))]);
        assert!(window.admits(1_000, &id(1)).is_err(), "signed before the window");
        assert!(window.admits(1_500, &id(6)).is_ok(), "at the window's floor");
    }

    /// The defect: the node's read view copied every window whole after each block (about 40 ms
    /// with 256 miners' full windows). A copy of the state now shares them until one changes.
    #[test]
    fn a_copy_of_the_state_shares_its_replay_windows() {
        let mut state =
            AppState::genesis(platform_types::ValidatorSet { epoch: Epoch::new(0), validators: Vec::new() });
        let miner = platform_types::Keypair::from_suri("//Miner").expect("key").public();
        for n in 0..100u8 {
            state.replays.entry(miner).or_default().record(u64::from(n), id(n));
        }
        let view = state.clone();
        assert!(view.replays.ptr_eq(&state.replays), "the copy shares the windows");
        state.replays.entry(miner).or_default().record(200, id(200));
        assert_eq!(view.replays[&miner].ids.len(), 100, "a change after the copy leaves the copy as it was");
        assert_eq!(state.replays[&miner].ids.len(), 101);
    }

    #[test]
    fn a_window_encodes_as_the_btree_set_it_was_so_snapshots_keep_their_bytes() {
        let mut window = ReplayWindow::default();
        for n in 0..50u8 {
            window.record(u64::from(n % 7) * 1_000, id(n));
        }
        let as_before = (window.newest_ms, window.ids.iter().copied().collect::<BTreeSet<_>>());
        assert_eq!(window.encode(), as_before.encode());
        assert_eq!(ReplayWindow::decode(&mut &window.encode()[..]).expect("decodes"), window);
        let empty = ReplayWindow::default();
        assert_eq!(empty.encode(), (0u64, BTreeSet::<(u64, SubmissionId)>::new()).encode());
    }
}
