//! Stake-weighted aggregation of one submission's scores, with outliers removed.
//!
//! Outliers are judged by a *robust* z-score: distance from the stake-weighted median, in units
//! of the stake-weighted median absolute deviation (MAD) scaled by 1.4826 (so it estimates σ for
//! normally distributed scores). A mean/standard-deviation z-score cannot do this job for small
//! committees: one wrong validator among four with equal stake has |z| = √3 ≈ 1.73 however wrong
//! it is, so a 2σ rule would never exclude it. With deterministic evaluation honest validators
//! agree exactly, the MAD is 0, and any deviating score is an outlier.
//!
//! Everything is integer arithmetic (scores in parts per billion, stakes in rao), so every
//! validator computes the same result bit for bit.

/// One validator's score for a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    /// The validator's stake (its weight), in rao.
    pub stake: u64,
    /// Its score, 0..=1_000_000_000 parts per billion.
    pub score_ppb: u32,
}

/// The aggregated score of a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aggregate {
    /// Stake-weighted mean of the kept scores, ppb (rounded down).
    pub mean_ppb: u32,
    /// Share of the stake whose score was kept, ppb: how much of the committee agrees.
    pub confidence_ppb: u32,
    /// Scores kept.
    pub kept: usize,
    /// Scores excluded as outliers.
    pub excluded: usize,
}

/// MAD-to-σ factor 1.4826, as a fraction.
const MAD_SCALE: (u128, u128) = (14_826, 10_000);

/// Aggregates `scores`; `outlier_z_milli` is the robust |z| threshold in thousandths
/// (2000 = 2.0). Returns `None` when there is no stake to weigh.
pub fn aggregate(scores: &[Score], outlier_z_milli: u32) -> Option<Aggregate> {
    let total: u128 = scores.iter().map(|s| u128::from(s.stake)).sum();
    if total == 0 {
        return None;
    }
    let flags = outliers(scores, outlier_z_milli);
    if flags.is_empty() {
        return None;
    }
    let (mut kept_stake, mut weighted_sum, mut kept) = (0u128, 0u128, 0usize);
    for (score, _) in scores.iter().zip(&flags).filter(|(_, outlier)| !**outlier) {
        kept_stake += u128::from(score.stake);
        weighted_sum += u128::from(score.stake) * u128::from(score.score_ppb);
        kept += 1;
    }
    let mean_ppb = weighted_sum.checked_div(kept_stake).unwrap_or(0);
    Some(Aggregate {
        mean_ppb: u32::try_from(mean_ppb).unwrap_or(u32::MAX),
        confidence_ppb: u32::try_from(kept_stake * 1_000_000_000 / total).unwrap_or(u32::MAX),
        kept,
        excluded: scores.len() - kept,
    })
}

/// Which of `scores` [`aggregate`] excludes as outliers, in order (empty when no score has
/// stake).
pub fn outliers(scores: &[Score], outlier_z_milli: u32) -> Vec<bool> {
    let Some((center, mad)) = median_and_mad(scores) else { return Vec::new() };
    // |x - median| / (1.4826 * MAD) > z  <=>  |x - median| * 10000 * 1000 > z_milli * MAD * 14826
    scores
        .iter()
        .map(|s| {
            let lhs = u128::from(s.score_ppb).abs_diff(center) * MAD_SCALE.1 * 1_000;
            let rhs = u128::from(outlier_z_milli) * mad * MAD_SCALE.0;
            lhs > rhs
        })
        .collect()
}

/// The stake-weighted median of the scores and the stake-weighted median of their absolute
/// deviations from it (both "lower" medians: the smallest value at which the cumulative stake
/// reaches half the total). One sort: the deviations of the scores below the median, read
/// backwards, and of those above it, read forwards, are two ascending runs, merged in one pass.
fn median_and_mad(scores: &[Score]) -> Option<(u128, u128)> {
    let mut sorted: Vec<(u32, u64)> = scores.iter().filter(|s| s.stake > 0).map(|s| (s.score_ppb, s.stake)).collect();
    sorted.sort_unstable_by_key(|(value, _)| *value);
    let total: u128 = sorted.iter().map(|(_, stake)| u128::from(*stake)).sum();
    let reaches_half = |cumulative: u128| cumulative * 2 >= total;
    let mut cumulative = 0u128;
    let split = sorted.iter().position(|(_, stake)| {
        cumulative += u128::from(*stake);
        reaches_half(cumulative)
    })?;
    let center = sorted[split].0;
    let (mut below, mut above) = (sorted[..split].iter().rev().peekable(), sorted[split..].iter().peekable());
    let mut cumulative = 0u128;
    loop {
        let next = match (below.peek(), above.peek()) {
            (Some(b), Some(a)) if center - b.0 < a.0 - center => below.next(),
            (Some(_), None) => below.next(),
            (_, Some(_)) => above.next(),
            (None, None) => return None,
        }?;
        cumulative += u128::from(next.1);
        if reaches_half(cumulative) {
            return Some((u128::from(center), u128::from(next.0.abs_diff(center))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(pairs: &[(u64, u32)]) -> Vec<Score> {
        pairs.iter().map(|&(stake, score_ppb)| Score { stake, score_ppb }).collect()
    }

    #[test]
    fn one_wrong_validator_of_four_is_excluded() {
        let agg =
            aggregate(&scores(&[(10, 700_000_000), (10, 700_000_000), (10, 700_000_000), (10, 100_000_000)]), 2_000)
                .expect("stake");
        assert_eq!(agg, Aggregate { mean_ppb: 700_000_000, confidence_ppb: 750_000_000, kept: 3, excluded: 1 });
    }

    #[test]
    fn outliers_name_the_scores_the_aggregate_leaves_out() {
        let four = scores(&[(10, 700_000_000), (10, 100_000_000), (10, 700_000_000), (10, 700_000_000)]);
        assert_eq!(outliers(&four, 2_000), vec![false, true, false, false]);
        assert!(outliers(&scores(&[(0, 5)]), 2_000).is_empty());
    }

    #[test]
    fn the_mean_is_weighted_by_stake() {
        // Spread scores (MAD > 0) and a loose threshold: nothing excluded, mean weighted by stake:
        // (1*100 + 1*200 + 2*400) / 4 = 275, where the unweighted mean would be 233.
        let agg = aggregate(&scores(&[(1, 100), (1, 200), (2, 400)]), 1_000_000).expect("stake");
        assert_eq!((agg.mean_ppb, agg.excluded), (275, 0));
    }

    #[test]
    fn when_half_the_stake_agrees_exactly_any_deviation_is_an_outlier() {
        // MAD is 0: no threshold keeps a differing score (deterministic evaluation should agree).
        let agg = aggregate(&scores(&[(3, 600), (1, 601)]), u32::MAX).expect("stake");
        assert_eq!((agg.mean_ppb, agg.excluded), (600, 1));
    }

    #[test]
    fn spread_scores_within_the_threshold_are_kept() {
        // Median 500, MAD 100 -> scaled 148.26; 800 is 300 away = 2.02 sigma: out at 2.0, in at 2.5.
        let input = scores(&[(1, 400), (1, 500), (1, 600), (1, 500), (1, 800)]);
        assert_eq!(aggregate(&input, 2_000).expect("stake").excluded, 1);
        assert_eq!(aggregate(&input, 2_500).expect("stake").excluded, 0);
    }

    #[test]
    fn a_whale_is_the_median() {
        // The majority of stake sets the centre, even against a majority by count.
        let agg = aggregate(&scores(&[(100, 900), (1, 100), (1, 100), (1, 100)]), 2_000).expect("stake");
        assert_eq!((agg.mean_ppb, agg.kept), (900, 1));
        assert_eq!(agg.confidence_ppb, 970_873_786);
    }

    /// The one-sort median/MAD equals the textbook definition (sort values, sort deviations).
    #[test]
    fn median_and_mad_match_two_sorts() {
        fn lower_median(mut v: Vec<(u128, u64)>) -> u128 {
            v.sort_by_key(|x| x.0);
            let total: u128 = v.iter().map(|x| u128::from(x.1)).sum();
            let mut c = 0u128;
            v.iter()
                .find(|x| {
                    c += u128::from(x.1);
                    c * 2 >= total
                })
                .expect("stake")
                .0
        }
        let mut state = 1u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        for _ in 0..2_000 {
            let n = 1 + (next() % 12) as usize;
            let input: Vec<Score> =
                (0..n).map(|_| Score { stake: next() % 5, score_ppb: (next() % 7) as u32 * 100 }).collect();
            let positive: Vec<&Score> = input.iter().filter(|s| s.stake > 0).collect();
            if positive.is_empty() {
                assert_eq!(median_and_mad(&input), None);
                continue;
            }
            let m = lower_median(positive.iter().map(|s| (u128::from(s.score_ppb), s.stake)).collect());
            let mad = lower_median(positive.iter().map(|s| (u128::from(s.score_ppb).abs_diff(m), s.stake)).collect());
            assert_eq!(median_and_mad(&input), Some((m, mad)), "{input:?}");
        }
    }

    #[test]
    fn no_stake_no_aggregate() {
        assert_eq!(aggregate(&[], 2_000), None);
        assert_eq!(aggregate(&scores(&[(0, 5)]), 2_000), None);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let agg = aggregate(&scores(&[(u64::MAX, 1_000_000_000); 256]), u32::MAX).expect("stake");
        assert_eq!(agg.mean_ppb, 1_000_000_000);
        assert_eq!(agg.confidence_ppb, 1_000_000_000);
    }
}
