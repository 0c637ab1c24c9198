//! Weights to chain form, as the Bittensor SDK does it (bittensor 11.3
//! `bittensor/intents/weights.py::normalize`; 10.x `convert_weights_and_uids_for_emit`):
//! reject non-finite or negative weights; scale so the largest is 65535, computing
//! `w / max * 65535` in that order in `f64`; round half to even (Python's `round`); drop pairs
//! whose value rounds to 0. All zero (or no weights) gives empty vectors.

/// Why weights cannot be converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// `uids` and `weights` differ in length.
    #[error("{uids} uids but {weights} weights")]
    LengthMismatch {
        /// Number of uids.
        uids: usize,
        /// Number of weights.
        weights: usize,
    },
    /// A weight is NaN or infinite.
    #[error("weight for uid {uid} is not finite")]
    NotFinite {
        /// The uid.
        uid: u16,
    },
    /// A weight is negative.
    #[error("weight for uid {uid} is negative")]
    Negative {
        /// The uid.
        uid: u16,
    },
}

/// Converts `(uid, weight)` pairs to the `(uids, values)` the chain's `set_weights` takes.
pub fn chain_weights(uids: &[u16], weights: &[f64]) -> Result<(Vec<u16>, Vec<u16>), WeightsError> {
    if uids.len() != weights.len() {
        return Err(WeightsError::LengthMismatch { uids: uids.len(), weights: weights.len() });
    }
    for (&uid, &weight) in uids.iter().zip(weights) {
        if !weight.is_finite() {
            return Err(WeightsError::NotFinite { uid });
        }
        if weight < 0.0 {
            return Err(WeightsError::Negative { uid });
        }
    }
    let top = weights.iter().copied().fold(0.0_f64, f64::max);
    if top == 0.0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut out_uids = Vec::with_capacity(uids.len());
    let mut out_values = Vec::with_capacity(uids.len());
    for (&uid, &weight) in uids.iter().zip(weights) {
        // Same operations, same order as the SDK: (w / max) * U16_MAX, then round-half-even.
        let value = (weight / top * f64::from(u16::MAX)).round_ties_even();
        // value is within 0..=65535: weight <= top, both finite and non-negative.
        let value = value as u16;
        if value != 0 {
            out_uids.push(uid);
            out_values.push(value);
        }
    }
    Ok((out_uids, out_values))
}
