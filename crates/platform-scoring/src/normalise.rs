//! One challenge's aggregated miner scores to weight shares, by the challenge's
//! [`Normalisation`]. Shares are `f64` summing to 1 (or empty when nothing earns weight);
//! `exp` comes from the pure-Rust `libm`, not the platform's, so every validator computes the
//! same bits.

use platform_types::Normalisation;
use platform_types::limits::PPB;

/// A miner's aggregated score in one challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinerScore {
    /// The miner's uid.
    pub uid: u16,
    /// Aggregated score, ppb.
    pub score_ppb: u32,
}

/// Weight shares per uid, sorted by uid. `champion` is the uid that held the challenge last
/// epoch (champion-takes-all keeps it unless beaten by the margin); `owner` receives the
/// owner share of champion-takes-all.
pub fn normalise(scores: &[MinerScore], method: Normalisation, champion: Option<u16>, owner: u16) -> Vec<(u16, f64)> {
    let mut scores: Vec<MinerScore> = scores.to_vec();
    scores.sort_by_key(|s| s.uid);
    scores.dedup_by_key(|s| s.uid);
    let shares: Vec<(u16, f64)> = match method {
        Normalisation::Linear => {
            let total: u64 = scores.iter().map(|s| u64::from(s.score_ppb)).sum();
            if total == 0 {
                return Vec::new();
            }
            scores.iter().map(|s| (s.uid, f64::from(s.score_ppb) / total as f64)).collect()
        }
        Normalisation::Softmax { temperature_milli } => {
            let Some(top) = scores.iter().map(|s| s.score_ppb).max() else { return Vec::new() };
            let temperature = f64::from(temperature_milli.max(1)) / 1_000.0;
            // Shift by the maximum so the largest exponent is 0: no overflow, same result.
            let exps: Vec<f64> = scores
                .iter()
                .map(|s| libm::exp((f64::from(s.score_ppb) - f64::from(top)) / f64::from(PPB) / temperature))
                .collect();
            let total: f64 = exps.iter().sum();
            scores.iter().zip(&exps).map(|(s, e)| (s.uid, e / total)).collect()
        }
        Normalisation::ChampionTakesAll { margin_ppb, owner_share_ppb } => {
            let Some(winner) = champion_of(&scores, champion, margin_ppb) else { return Vec::new() };
            let owner_share = f64::from(owner_share_ppb) / f64::from(PPB);
            let mut shares = vec![(winner, 1.0 - owner_share)];
            if owner_share > 0.0 {
                if owner == winner {
                    shares[0].1 = 1.0;
                } else {
                    shares.push((owner, owner_share));
                }
            }
            shares.sort_by_key(|(uid, _)| *uid);
            shares
        }
    };
    shares.into_iter().filter(|(_, share)| *share > 0.0).collect()
}

/// Who holds a champion-takes-all challenge after this epoch: the best scorer (lowest uid on
/// ties), unless the `incumbent` scored within `margin_ppb` of it (then the incumbent keeps
/// it); `None` when nobody scored above 0.
pub fn champion_of(scores: &[MinerScore], incumbent: Option<u16>, margin_ppb: u32) -> Option<u16> {
    let best = scores
        .iter()
        .filter(|s| s.score_ppb > 0)
        .max_by(|a, b| a.score_ppb.cmp(&b.score_ppb).then(b.uid.cmp(&a.uid)))?;
    let held = incumbent.and_then(|uid| scores.iter().find(|s| s.uid == uid && s.score_ppb > 0));
    match held {
        Some(held) if u64::from(best.score_ppb) <= u64::from(held.score_ppb) + u64::from(margin_ppb) => Some(held.uid),
        _ => Some(best.uid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miners(pairs: &[(u16, u32)]) -> Vec<MinerScore> {
        pairs.iter().map(|&(uid, score_ppb)| MinerScore { uid, score_ppb }).collect()
    }

    fn sum(shares: &[(u16, f64)]) -> f64 {
        shares.iter().map(|(_, s)| s).sum()
    }

    #[test]
    fn linear_is_proportional_and_drops_zeros() {
        let shares = normalise(&miners(&[(3, 300_000_000), (1, 100_000_000), (2, 0)]), Normalisation::Linear, None, 0);
        assert_eq!(shares, vec![(1, 0.25), (3, 0.75)]);
        assert!(normalise(&miners(&[(1, 0)]), Normalisation::Linear, None, 0).is_empty());
    }

    #[test]
    fn softmax_favours_the_best_more_as_temperature_falls() {
        let input = miners(&[(1, 900_000_000), (2, 800_000_000), (3, 100_000_000)]);
        let warm = normalise(&input, Normalisation::Softmax { temperature_milli: 1_000 }, None, 0);
        let cold = normalise(&input, Normalisation::Softmax { temperature_milli: 50 }, None, 0);
        assert!((sum(&warm) - 1.0).abs() < 1e-12 && (sum(&cold) - 1.0).abs() < 1e-12);
        assert!(cold[0].1 > warm[0].1 && warm[0].1 > warm[1].1 && warm[1].1 > warm[2].1);
        // exp(-0.1) / (1 + exp(-0.1) + exp(-0.8)) at T = 1, computed independently.
        assert!((warm[1].1 - 0.904837418 / (1.0 + 0.904837418 + 0.449328964)).abs() < 1e-8);
    }

    #[test]
    fn the_champion_keeps_the_title_unless_beaten_by_the_margin() {
        let method = Normalisation::ChampionTakesAll { margin_ppb: 50_000_000, owner_share_ppb: 0 };
        let close = miners(&[(1, 800_000_000), (2, 840_000_000)]);
        assert_eq!(normalise(&close, method, Some(1), 0), vec![(1, 1.0)], "within the margin");
        let clear = miners(&[(1, 800_000_000), (2, 860_000_000)]);
        assert_eq!(normalise(&clear, method, Some(1), 0), vec![(2, 1.0)], "beaten by more than the margin");
        assert_eq!(normalise(&close, method, None, 0), vec![(2, 1.0)], "no incumbent: the best");
        assert_eq!(normalise(&close, method, Some(7), 0), vec![(2, 1.0)], "incumbent absent: the best");
    }

    #[test]
    fn the_owner_share_goes_to_the_owner() {
        let method = Normalisation::ChampionTakesAll { margin_ppb: 0, owner_share_ppb: 200_000_000 };
        let shares = normalise(&miners(&[(5, 900_000_000), (6, 100_000_000)]), method, None, 0);
        assert_eq!(shares, vec![(0, 0.2), (5, 0.8)]);
    }
}
