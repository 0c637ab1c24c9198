//! Pure scoring functions for Platform: stake-weighted aggregation of validators' scores with
//! outlier removal, coverage and confidence floors, EMA smoothing, normalisation, emission
//! shares per mechanism, and conversion of weights to the `u16` form the chain stores, bit for bit
//! as the Bittensor Python SDK computes it.
//!
//! No I/O, no clock, no randomness. Aggregation is integer arithmetic only, so every validator
//! computes the same result on any machine.

mod aggregate;
mod chain_limits;
mod chain_weights;
mod epoch;
mod normalise;

pub use aggregate::{Aggregate, Score, aggregate, outliers};
pub use chain_limits::{ChainLimits, fit_to_chain_limits};
pub use chain_weights::{WeightsError, chain_weights};
pub use epoch::{
    ChallengeEpoch, ChallengeOutcome, Evaluated, best_scores, epoch_weights, score_challenge, smooth_scores,
};
pub use normalise::{MinerScore, champion_of, normalise};
pub use platform_types::EmptyPolicy;
