//! How weights must be sent to a subnet, decided from what the chain says — never from
//! configuration alone.
//!
//! - Commit-reveal off (`CommitRevealWeightsEnabled` false): `set_(mechanism_)weights`.
//! - Commit-reveal on and the runtime has timelocked commits: one drand-timelocked commit
//!   (`commit_timelocked_(mechanism_)weights`) that the runtime reveals itself.
//! - Commit-reveal on and the runtime has only hashed commits: `commit_weights`, then
//!   `reveal_weights` in the reveal epoch.

use platform_types::{BlockRef, EpochState, MechanismId, SubnetParams};

use crate::calls::Capabilities;
use crate::error::ChainError;

/// Block time assumed when the runtime's metadata does not give one (mainnet's 12 s).
pub const DEFAULT_BLOCK_TIME_SECS: f64 = 12.0;

/// Everything deciding how to send weights needs from the chain, read at one block.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightsContext {
    /// The block it was read at.
    pub block: BlockRef,
    /// The subnet's weights parameters.
    pub params: SubnetParams,
    /// The subnet's epoch state: the runtime's own (dynamic tempo) where it has one, else the
    /// legacy rule's ([`platform_types::Schedule::epoch_state`]).
    pub epoch: EpochState,
    /// Whether `epoch` is the runtime's stored state (`LastEpochBlock` …) or the legacy rule's.
    pub dynamic_tempo: bool,
    /// `CommitRevealWeightsVersion` (0 where the runtime has none).
    pub commit_reveal_version: u16,
    /// Seconds per block: twice `Timestamp::MinimumPeriod` from the metadata, or
    /// [`DEFAULT_BLOCK_TIME_SECS`].
    pub block_time_secs: f64,
}

/// The way weights are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsPath {
    /// `set_weights` / `set_mechanism_weights`.
    Direct,
    /// `commit_timelocked_weights` / `commit_timelocked_mechanism_weights`, revealed by the runtime.
    Timelocked {
        /// The `commit_reveal_version` sent with the commit (the runtime refuses others).
        commit_reveal_version: u16,
    },
    /// `commit_weights` then `reveal_weights` (or the mechanism variants).
    HashedCommitReveal,
}

impl WeightsPath {
    /// A short name for logs, metrics and `/health`: `direct`, `timelocked` or `commit-reveal`.
    pub fn name(&self) -> &'static str {
        match self {
            WeightsPath::Direct => "direct",
            WeightsPath::Timelocked { .. } => "timelocked",
            WeightsPath::HashedCommitReveal => "commit-reveal",
        }
    }
}

/// A path and why it was chosen, in words for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChoice {
    /// The path.
    pub path: WeightsPath,
    /// Why.
    pub reason: String,
}

/// Chooses how to send `mechanism`'s weights on the subnet whose state is `ctx`, on a runtime
/// that can do `caps`.
pub fn choose_path(
    caps: &Capabilities,
    ctx: &WeightsContext,
    mechanism: MechanismId,
) -> Result<PathChoice, ChainError> {
    let mechanism_call = mechanism.get() != 0;
    let (direct, timelocked, hashed) = if mechanism_call {
        (caps.mechanism_weights, caps.mechanism_timelocked_commits, caps.mechanism_commit_reveal)
    } else {
        (
            caps.set_weights || caps.mechanism_weights,
            caps.timelocked_commits || caps.mechanism_timelocked_commits,
            caps.commit_reveal || caps.mechanism_commit_reveal,
        )
    };
    let choice = |path, reason: String| Ok(PathChoice { path, reason });
    if !ctx.params.commit_reveal_enabled {
        if direct {
            return choice(WeightsPath::Direct, "commit-reveal is off on this subnet: weights are set directly".into());
        }
        return Err(ChainError::Unsupported(
            "setting weights directly (no set_weights call for this mechanism)".into(),
        ));
    }
    if timelocked {
        return choice(
            WeightsPath::Timelocked { commit_reveal_version: ctx.commit_reveal_version },
            format!(
                "commit-reveal is on and the runtime takes drand-timelocked commits (commit-reveal version {}): \
                 one encrypted commit, revealed by the chain",
                ctx.commit_reveal_version
            ),
        );
    }
    if hashed {
        return choice(
            WeightsPath::HashedCommitReveal,
            "commit-reveal is on and the runtime has no timelocked commits: hashed commit, then reveal".into(),
        );
    }
    Err(ChainError::Unsupported("commit-reveal (no commit call for this mechanism)".into()))
}

/// How `mechanism`'s weights would be sent on `netuid` at `at` (the best block when `None`):
/// [`choose_path`] on the chain's [`WeightsContext`] there, returned with it.
pub async fn path_at<C: crate::Chain>(
    chain: &C,
    netuid: platform_types::NetUid,
    mechanism: MechanismId,
    at: Option<BlockRef>,
) -> Result<(PathChoice, WeightsContext), ChainError> {
    let ctx = chain.weights_context(netuid, at).await?;
    Ok((choose_path(&chain.capabilities(), &ctx, mechanism)?, ctx))
}

impl WeightsContext {
    /// The drand round a timelocked commit sent now (`now_unix_secs`) must be encrypted to.
    pub fn reveal_round(&self, now_unix_secs: f64) -> Result<u64, ChainError> {
        crate::tlock::reveal_round(&self.epoch, self.params.reveal_period_epochs, self.block_time_secs, now_unix_secs)
    }
}

/// The timelocked commit call of `weights` by `hotkey` for drand round `reveal_round`.
pub fn timelocked_call<R: rand::RngCore + rand::CryptoRng>(
    hotkey: &platform_types::PublicKey,
    weights: &crate::WeightVector,
    reveal_round: u64,
    commit_reveal_version: u16,
    rng: &mut R,
) -> Result<crate::WeightsCall, ChainError> {
    Ok(crate::WeightsCall::CommitTimelocked {
        netuid: weights.netuid,
        mechanism: weights.mechanism,
        commit: crate::tlock::weights_commit(hotkey, weights, reveal_round, rng)?,
        reveal_round,
        commit_reveal_version,
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    fn caps(timelocked: bool, hashed: bool) -> Capabilities {
        Capabilities {
            set_weights: true,
            commit_reveal: hashed,
            mechanism_weights: true,
            mechanism_commit_reveal: hashed,
            timelocked_commits: timelocked,
            mechanism_timelocked_commits: timelocked,
            mechanism_count: true,
            stake_per_subnet: true,
            owner_hotkey: true,
            dynamic_tempo: false,
            commit_reveal_version: timelocked,
            tao_weight: true,
            child_keys: true,
        }
    }

    fn ctx(commit_reveal: bool) -> WeightsContext {
        let params = SubnetParams {
            weights_rate_limit: 100,
            commit_reveal_enabled: commit_reveal,
            mechanism_count: 2,
            ..SubnetParams::unrestricted(360)
        };
        WeightsContext {
            block: BlockRef { number: 10, hash: platform_types::Hash::ZERO },
            params,
            epoch: params.schedule(platform_types::NetUid::new(1)).epoch_state(10),
            dynamic_tempo: false,
            commit_reveal_version: 4,
            block_time_secs: 12.0,
        }
    }

    #[test]
    fn the_path_follows_the_subnet_and_the_runtime() {
        let m0 = MechanismId::new(0);
        let path = |c: &Capabilities, on: bool| choose_path(c, &ctx(on), m0).map(|p| p.path);
        assert_eq!(path(&caps(true, true), false), Ok(WeightsPath::Direct));
        assert_eq!(path(&caps(true, true), true), Ok(WeightsPath::Timelocked { commit_reveal_version: 4 }));
        assert_eq!(path(&caps(false, true), true), Ok(WeightsPath::HashedCommitReveal));
        assert!(matches!(path(&caps(false, false), true), Err(ChainError::Unsupported(_))));
        let reason = choose_path(&caps(true, true), &ctx(true), m0).expect("path").reason;
        assert!(reason.contains("version 4"), "{reason}");
    }

    #[test]
    fn a_mechanism_needs_the_mechanism_calls() {
        let mut c = caps(true, true);
        c.mechanism_timelocked_commits = false;
        c.mechanism_commit_reveal = false;
        assert!(choose_path(&c, &ctx(true), MechanismId::new(1)).is_err());
        assert_eq!(
            choose_path(&c, &ctx(true), MechanismId::new(0)).map(|p| p.path),
            Ok(WeightsPath::Timelocked { commit_reveal_version: 4 })
        );
    }
}
