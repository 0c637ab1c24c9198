//! One epoch's scoring, from validators' scores per submission to weight shares per mechanism.
//!
//! Per challenge: aggregate each submission ([`aggregate`]), drop those below the challenge's
//! coverage or confidence floor, keep each miner's best, smooth across epochs (EMA, optional),
//! normalise ([`normalise`]). Then per mechanism: scale each challenge's shares by its emission
//! share, and give emission nobody earned to the owner or hold it, as [`EmptyPolicy`] says.
//! Scores stay integers until normalisation.

use std::collections::BTreeMap;

use platform_types::limits::PPB;
use platform_types::{EmptyPolicy, ScoringConfig};

use crate::aggregate::{Score, aggregate};
use crate::normalise::{MinerScore, normalise};

/// One submission's evaluations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluated {
    /// The miner's uid.
    pub uid: u16,
    /// Each evaluating validator's stake and score.
    pub scores: Vec<Score>,
    /// Stake of the validators assigned to evaluate it (the coverage denominator).
    pub assigned_stake: u64,
}

/// One challenge's inputs for the epoch.
#[derive(Clone, Copy, Debug)]
pub struct ChallengeEpoch<'a> {
    /// The challenge's scoring settings.
    pub config: &'a ScoringConfig,
    /// Mechanism whose weights it feeds.
    pub mechanism: u8,
    /// Its share of that mechanism's emission, ppb.
    pub emission_share_ppb: u32,
    /// This epoch's evaluated submissions.
    pub submissions: &'a [Evaluated],
    /// Last epoch's smoothed scores (the EMA state; empty when smoothing is off).
    pub previous: &'a [MinerScore],
    /// Last epoch's champion (champion-takes-all).
    pub champion: Option<u16>,
}

/// One challenge's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ChallengeOutcome {
    /// Mechanism whose weights it feeds (from the input).
    pub mechanism: u8,
    /// Its share of that mechanism's emission, ppb (from the input).
    pub emission_share_ppb: u32,
    /// Scores after smoothing, sorted by uid: the next epoch's `previous`.
    pub smoothed: Vec<MinerScore>,
    /// Weight shares within the challenge, summing to 1 (empty when nobody earned any).
    pub shares: Vec<(u16, f64)>,
    /// Submissions left out: no stake, or below the coverage or confidence floor.
    pub dropped: usize,
    /// What happens to its share when `shares` is empty (from its scoring settings).
    pub empty: EmptyPolicy,
}

/// Scores one challenge for the epoch.
pub fn score_challenge(challenge: &ChallengeEpoch<'_>, owner: u16) -> ChallengeOutcome {
    let config = challenge.config;
    let submissions = challenge.submissions.iter().map(|s| (s.uid, s.scores.as_slice(), s.assigned_stake));
    let (best, dropped) = best_scores(config, submissions);
    let previous = challenge.previous.iter().map(|m| (m.uid, m.score_ppb)).collect();
    let smoothed: Vec<MinerScore> = smooth_scores(&best, &previous, config.ema_alpha_ppb)
        .into_iter()
        .map(|(uid, score_ppb)| MinerScore { uid, score_ppb })
        .collect();
    let shares = normalise(&smoothed, config.normalisation, challenge.champion, owner);
    ChallengeOutcome {
        mechanism: challenge.mechanism,
        emission_share_ppb: challenge.emission_share_ppb,
        smoothed,
        shares,
        dropped,
        empty: config.empty_policy,
    }
}

/// Each miner's best aggregated score over its submissions `(miner, scores, assigned stake)`
/// that pass the challenge's coverage and confidence floors, and how many submissions were
/// dropped (no stake, or below a floor). Miners are named by any key: a uid, or a hotkey where
/// the result must not depend on the metagraph.
pub fn best_scores<'a, K: Ord + Copy>(
    config: &ScoringConfig,
    submissions: impl IntoIterator<Item = (K, &'a [Score], u64)>,
) -> (BTreeMap<K, u32>, usize) {
    let mut best: BTreeMap<K, u32> = BTreeMap::new();
    let mut dropped = 0;
    for (miner, scores, assigned_stake) in submissions {
        let Some(agg) = aggregate(scores, config.outlier_z_milli) else {
            dropped += 1;
            continue;
        };
        let evaluated: u128 = scores.iter().map(|s| u128::from(s.stake)).sum();
        let coverage = evaluated * u128::from(PPB) / u128::from(assigned_stake.max(1));
        if coverage < u128::from(config.min_coverage_ppb) || agg.confidence_ppb < config.min_confidence_ppb {
            dropped += 1;
            continue;
        }
        let entry = best.entry(miner).or_default();
        *entry = (*entry).max(agg.mean_ppb);
    }
    (best, dropped)
}

/// `alpha · current + (1 - alpha) · previous` per miner, in integer ppb (rounded down); a
/// miner missing this epoch counts as 0 and decays, and one that decays to 0 is forgotten.
/// `alpha = 0` turns smoothing off (the current scores, as they are).
pub fn smooth_scores<K: Ord + Copy>(
    current: &BTreeMap<K, u32>,
    previous: &BTreeMap<K, u32>,
    alpha_ppb: u32,
) -> BTreeMap<K, u32> {
    if alpha_ppb == 0 {
        return current.clone();
    }
    let mut merged: BTreeMap<K, (u64, u64)> = BTreeMap::new();
    for (&miner, &score) in current {
        merged.entry(miner).or_default().0 = u64::from(score);
    }
    for (&miner, &score) in previous {
        merged.entry(miner).or_default().1 = u64::from(score);
    }
    let (alpha, ppb) = (u64::from(alpha_ppb), u64::from(PPB));
    merged
        .into_iter()
        .map(|(miner, (cur, prev))| (miner, ((alpha * cur + (ppb - alpha) * prev) / ppb) as u32))
        .filter(|(_, score)| *score > 0)
        .collect()
}

/// Weight shares per mechanism (sorted by mechanism, shares sorted by uid and summing to 1).
/// Within a mechanism each challenge that scored contributes its shares scaled by its emission
/// share; the share of one that did not goes as its [`EmptyPolicy`] says: to the owner's uid
/// (`BurnToOwner`), or to the challenges that scored (`Hold`, left out of the total). A
/// mechanism left with nothing to weight gets no entry: its weights on chain stay.
pub fn epoch_weights(challenges: &[ChallengeOutcome], owner: u16) -> Vec<(u8, Vec<(u16, f64)>)> {
    let mut by_mechanism: BTreeMap<u8, Vec<&ChallengeOutcome>> = BTreeMap::new();
    for c in challenges {
        by_mechanism.entry(c.mechanism).or_default().push(c);
    }
    let mut result = Vec::new();
    for (mechanism, members) in by_mechanism {
        let share = |c: &&ChallengeOutcome| u64::from(c.emission_share_ppb);
        let scored: u64 = members.iter().filter(|c| !c.shares.is_empty()).map(share).sum();
        let burnt: u64 =
            members.iter().filter(|c| c.shares.is_empty() && c.empty == EmptyPolicy::BurnToOwner).map(share).sum();
        let total = scored + burnt;
        if total == 0 {
            continue;
        }
        let mut weights: BTreeMap<u16, f64> = BTreeMap::new();
        for c in members.iter().filter(|c| !c.shares.is_empty()) {
            let scale = c.emission_share_ppb as f64 / total as f64;
            for &(uid, share) in &c.shares {
                *weights.entry(uid).or_default() += share * scale;
            }
        }
        if burnt > 0 {
            *weights.entry(owner).or_default() += burnt as f64 / total as f64;
        }
        result.push((mechanism, weights.into_iter().filter(|(_, w)| *w > 0.0).collect()));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::Normalisation;

    fn evaluated(uid: u16, scores: &[(u64, u32)], assigned_stake: u64) -> Evaluated {
        Evaluated {
            uid,
            scores: scores.iter().map(|&(stake, score_ppb)| Score { stake, score_ppb }).collect(),
            assigned_stake,
        }
    }

    fn challenge<'a>(
        config: &'a ScoringConfig,
        submissions: &'a [Evaluated],
        previous: &'a [MinerScore],
    ) -> ChallengeEpoch<'a> {
        ChallengeEpoch { config, mechanism: 0, emission_share_ppb: PPB, submissions, previous, champion: None }
    }

    #[test]
    fn coverage_and_confidence_floors_drop_submissions() {
        let config =
            ScoringConfig { min_coverage_ppb: 600_000_000, min_confidence_ppb: 800_000_000, ..Default::default() };
        let subs = [
            evaluated(1, &[(10, 500), (10, 500), (10, 500)], 30), // full coverage, agreement
            evaluated(2, &[(10, 900)], 30),                       // a third of the stake evaluated
            evaluated(3, &[(10, 700), (10, 700), (10, 100)], 30), // one outlier: confidence 2/3
            evaluated(4, &[], 30),                                // nobody evaluated it
        ];
        let out = score_challenge(&challenge(&config, &subs, &[]), 0);
        assert_eq!(out.smoothed, vec![MinerScore { uid: 1, score_ppb: 500 }]);
        assert_eq!(out.dropped, 3);
        assert_eq!(out.shares, vec![(1, 1.0)]);
    }

    #[test]
    fn a_miner_counts_with_its_best_submission_and_ema_smooths() {
        let config = ScoringConfig { ema_alpha_ppb: 250_000_000, ..Default::default() };
        let subs = [evaluated(1, &[(1, 400)], 1), evaluated(1, &[(1, 800)], 1), evaluated(2, &[(1, 400)], 1)];
        let previous = [MinerScore { uid: 2, score_ppb: 800 }, MinerScore { uid: 3, score_ppb: 4 }];
        let out = score_challenge(&challenge(&config, &subs, &previous), 0);
        // uid 1: 0.25*800 + 0.75*0 = 200; uid 2: 0.25*400 + 0.75*800 = 700; uid 3 decays to 3.
        assert_eq!(
            out.smoothed,
            vec![
                MinerScore { uid: 1, score_ppb: 200 },
                MinerScore { uid: 2, score_ppb: 700 },
                MinerScore { uid: 3, score_ppb: 3 }
            ]
        );
    }

    #[test]
    fn emission_shares_split_a_mechanism_and_unearned_emission_follows_each_challenges_policy() {
        let outcome = |mechanism, emission_share_ppb, shares: Vec<(u16, f64)>, empty| ChallengeOutcome {
            mechanism,
            emission_share_ppb,
            smoothed: vec![],
            shares,
            dropped: 0,
            empty,
        };
        let all = |empty| {
            [
                outcome(0, 600_000_000, vec![(1, 1.0)], empty),
                outcome(0, 200_000_000, vec![(2, 0.5), (3, 0.5)], empty),
                outcome(0, 200_000_000, vec![], empty),
                outcome(1, PPB, vec![], empty),
            ]
        };
        let burn = epoch_weights(&all(EmptyPolicy::BurnToOwner), 9);
        assert_eq!(burn, vec![(0, vec![(1, 0.6), (2, 0.1), (3, 0.1), (9, 0.2)]), (1, vec![(9, 1.0)])]);
        let hold = epoch_weights(&all(EmptyPolicy::Hold), 9);
        assert_eq!(hold, vec![(0, vec![(1, 0.75), (2, 0.125), (3, 0.125)])], "mechanism 1 keeps its chain weights");
        // Each challenge's own choice: one burns its unearned share, the other hands it on.
        let mixed = [
            outcome(0, 500_000_000, vec![(1, 1.0)], EmptyPolicy::Hold),
            outcome(0, 250_000_000, vec![], EmptyPolicy::BurnToOwner),
            outcome(0, 250_000_000, vec![], EmptyPolicy::Hold),
        ];
        let weights = epoch_weights(&mixed, 9);
        let expected = [(1, 2.0 / 3.0), (9, 1.0 / 3.0)];
        assert_eq!(weights.len(), 1);
        for ((uid, share), (want_uid, want)) in weights[0].1.iter().zip(expected) {
            assert_eq!(*uid, want_uid);
            assert!((share - want).abs() < 1e-12, "{weights:?}");
        }
    }

    #[test]
    fn the_whole_epoch_is_deterministic_and_excludes_a_lying_validator() {
        let config = ScoringConfig { normalisation: Normalisation::Linear, ..Default::default() };
        let honest = |uid: u16, score: u32| evaluated(uid, &[(10, score), (10, score), (10, score), (10, 0)], 40);
        let subs = [honest(1, 300_000_000), honest(2, 100_000_000)];
        let out = score_challenge(&challenge(&config, &subs, &[]), 0);
        assert_eq!(out.shares, vec![(1, 0.75), (2, 0.25)], "the validator scoring 0 is an outlier");
    }
}
