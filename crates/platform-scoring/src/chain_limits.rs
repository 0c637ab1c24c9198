//! Fitting an agreed weight vector to the subnet's weight rules, so the chain accepts it.
//!
//! The runtime refuses a vector (`set_weights`, and a revealed commit alike) with fewer entries
//! than `min(MinAllowedWeights, subnet size)` (zeros count), or whose largest weight is more
//! than `MaxWeightsLimit / 65535` of their sum (unless the limit is 65535, or the vector is a
//! single self-weight). [`fit_to_chain_limits`] is the last step of the agreed computation:
//! every validator applies it to the same vector with the same parameters (from the agreed
//! metagraph snapshot), so all still submit the identical vector.
//!
//! - **Clip:** the largest weights are lowered to one cap, the largest integer that keeps each
//!   weight at most the limit's share of the new sum with one unit of margin (the runtime
//!   compares in 32-bit fixed point). Order and the smaller weights are unchanged; the runtime
//!   max-upscales stored weights itself.
//! - **Fill:** missing entries are added as zero weights on the lowest uids not in the vector.
//!   Zeros meet the length rule without moving emission; btcli instead gives every uid 10⁻⁵,
//!   which meets it too but leaks emission to every neuron.
//!
//! When no cap can meet the limit (fewer weights than `65535 / limit`), the vector is left as
//! it is and the runtime's refusal says why.

/// The subnet's weight rules, as read from the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLimits {
    /// Neurons on the subnet (`SubnetworkN`).
    pub neurons: u16,
    /// `MinAllowedWeights`.
    pub min_allowed_weights: u16,
    /// `MaxWeightsLimit` (65535: no limit).
    pub max_weights_limit: u16,
}

/// Whether the runtime's share rule holds for `values`, with one unit of margin:
/// `max * 65535 + sum <= limit * sum`.
fn within_share(values: &[u16], limit: u16) -> bool {
    let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
    let max = values.iter().copied().max().map_or(0, u128::from);
    limit == u16::MAX || sum == 0 || max * 65_535 + sum <= u128::from(limit) * sum
}

/// Lowers the largest values to the largest cap that meets the share rule; `None` when none does.
fn clip(values: &[u16], limit: u16) -> Option<Vec<u16>> {
    let capped = |cap: u16| values.iter().map(|&v| v.min(cap)).collect::<Vec<u16>>();
    // The margin (capped max × 65535 + sum − limit × sum) is convex in the cap and zero at 0:
    // the caps meeting the rule form one range from 1 up, so the largest is found by bisection.
    let (mut ok, mut bad) = (0u16, values.iter().copied().max().unwrap_or(0));
    if within_share(values, limit) {
        return Some(values.to_vec());
    }
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if within_share(&capped(mid), limit) {
            ok = mid;
        } else {
            bad = mid;
        }
    }
    (ok > 0).then(|| capped(ok))
}

/// Fits `(uids, values)` (ascending uids) to `limits`: clipped to the share limit, then filled
/// with zero weights up to the minimum count. See the module documentation.
pub fn fit_to_chain_limits(uids: Vec<u16>, values: Vec<u16>, limits: ChainLimits) -> (Vec<u16>, Vec<u16>) {
    let values = if limits.max_weights_limit < u16::MAX && values.len() > 1 {
        clip(&values, limits.max_weights_limit).unwrap_or(values)
    } else {
        values
    };
    let need = usize::from(limits.min_allowed_weights.min(limits.neurons));
    if uids.len() >= need {
        return (uids, values);
    }
    let mut pairs: Vec<(u16, u16)> = uids.into_iter().zip(values).collect();
    let mut candidate = 0u16;
    while pairs.len() < need && candidate < limits.neurons {
        if !pairs.iter().any(|&(uid, _)| uid == candidate) {
            pairs.push((candidate, 0));
        }
        candidate += 1;
    }
    pairs.sort_unstable_by_key(|&(uid, _)| uid);
    pairs.into_iter().unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: ChainLimits = ChainLimits { neurons: 256, min_allowed_weights: 0, max_weights_limit: u16::MAX };

    #[test]
    fn a_vector_within_the_rules_is_unchanged() {
        let (uids, values) = (vec![1, 5, 9], vec![65535, 30000, 10]);
        assert_eq!(fit_to_chain_limits(uids.clone(), values.clone(), NONE), (uids, values));
    }

    #[test]
    fn missing_entries_are_zero_weights_on_the_lowest_free_uids() {
        let limits = ChainLimits { min_allowed_weights: 5, ..NONE };
        let (uids, values) = fit_to_chain_limits(vec![1, 3], vec![65535, 100], limits);
        assert_eq!(uids, vec![0, 1, 2, 3, 4]);
        assert_eq!(values, vec![0, 65535, 0, 100, 0]);
        // Never more than the subnet has.
        let small = ChainLimits { neurons: 3, min_allowed_weights: 8, ..NONE };
        assert_eq!(fit_to_chain_limits(vec![2], vec![9], small), (vec![0, 1, 2], vec![0, 0, 9]));
    }

    #[test]
    fn the_largest_weights_are_capped_to_the_share_limit() {
        // Limit 50 %: the largest weight is lowered to just under the sum of the others.
        let half = ChainLimits { max_weights_limit: 32_768, ..NONE };
        let (_, values) = fit_to_chain_limits(vec![0, 1, 2], vec![65535, 20000, 10000], half);
        assert!(within_share(&values, half.max_weights_limit), "{values:?}");
        assert_eq!(values[1..], [20000, 10000]);
        // One cap more breaks the rule: the cap is the largest.
        let one_more: Vec<u16> = values.iter().map(|&v| if v == values[0] { v + 1 } else { v }).collect();
        assert!(!within_share(&one_more, half.max_weights_limit));
    }

    #[test]
    fn an_impossible_limit_leaves_the_vector_for_the_runtime_to_refuse() {
        // Two weights cannot each be at most 30 % of their sum.
        let limits = ChainLimits { max_weights_limit: 19_660, ..NONE };
        assert_eq!(fit_to_chain_limits(vec![0, 1], vec![65535, 1], limits), (vec![0, 1], vec![65535, 1]));
    }

    #[test]
    fn a_single_weight_is_never_clipped() {
        let limits = ChainLimits { max_weights_limit: 100, ..NONE };
        assert_eq!(fit_to_chain_limits(vec![7], vec![65535], limits), (vec![7], vec![65535]));
    }
}
