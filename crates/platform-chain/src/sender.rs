//! What the chain knows about one hotkey's weight sending, and the checks the runtime would make
//! on it — made before a weights call is signed, so a validator waits instead of sending a call
//! the chain refuses (and pays for).
//!
//! The runtime (`subnets/weights.rs`) refuses a `set_weights` or a commit when
//! - fewer than `WeightsSetRateLimit` blocks passed since the uid's `LastUpdate` on that
//!   subnet mechanism (`SettingWeightsTooFast` / `CommittingWeightsTooFast`; 0 means never set);
//! - the hotkey already has [`MAX_UNREVEALED_COMMITS`] commits waiting to be revealed: for
//!   timelocked commits, those filed under the epoch the new commit would be filed under
//!   (`TimelockedWeightCommits(netuid_index, epoch)`); for hashed commits, those whose reveal
//!   window is not over (`WeightCommits(netuid_index, hotkey)`) — `TooManyUnrevealedCommits`.

use platform_types::{NetUid, PublicKey};

use crate::error::ChainError;
use crate::path::{WeightsContext, WeightsPath};
use platform_types::INCLUSION_DELAY_BLOCKS;

/// The most commits one hotkey may have waiting to be revealed (the runtime's bound, a constant
/// in its code rather than a storage item).
pub const MAX_UNREVEALED_COMMITS: u32 = 10;

/// One hotkey's weight-sending state on a subnet mechanism, read at one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderState {
    /// The hotkey's uid on the subnet (`Uids`), `None` when not registered.
    pub uid: Option<u16>,
    /// `LastUpdate(netuid_index)[uid]`: the block the uid last set or committed weights (0: never).
    pub last_update: u64,
    /// This hotkey's timelocked commits filed under the epoch asked for
    /// (`TimelockedWeightCommits(netuid_index, epoch)`; 0 on runtimes without them).
    pub timelocked_unrevealed: u32,
}

/// The epoch a timelocked commit sent against `ctx` is filed under: the runtime's look-ahead
/// epoch in the block expected to include it.
pub fn commit_epoch(ctx: &WeightsContext) -> u64 {
    ctx.epoch.epoch_seen_in(ctx.block.number.saturating_add(INCLUSION_DELAY_BLOCKS))
}

/// The first block in which the chain accepts weights from a uid that last set them at
/// `last_update`, under a rate limit of `rate_limit` blocks.
pub fn next_allowed_block(last_update: u64, rate_limit: u64) -> u64 {
    if last_update == 0 { 0 } else { last_update.saturating_add(rate_limit) }
}

/// Whether a weights call on `path` by `hotkey` (state `sender`) would pass the runtime's rate
/// limit and unrevealed-commit bound if sent now against `ctx`; `hashed_unrevealed` counts the
/// hotkey's hashed commits whose reveal window is not over. The error says what to wait for:
/// both refusals are transient ([`ChainError::is_transient`]).
pub fn check_sender(
    netuid: NetUid,
    hotkey: &PublicKey,
    ctx: &WeightsContext,
    path: WeightsPath,
    sender: &SenderState,
    hashed_unrevealed: u32,
) -> Result<(), ChainError> {
    if sender.uid.is_none() {
        return Err(ChainError::NotRegistered { netuid: netuid.get(), hotkey: hotkey.to_ss58() });
    }
    let included = ctx.block.number.saturating_add(INCLUSION_DELAY_BLOCKS);
    let allowed_from = next_allowed_block(sender.last_update, ctx.params.weights_rate_limit);
    if included < allowed_from {
        return Err(ChainError::RateLimited { blocks: ctx.params.weights_rate_limit, next_block: Some(allowed_from) });
    }
    let unrevealed = match path {
        WeightsPath::Direct => 0,
        WeightsPath::Timelocked { .. } => sender.timelocked_unrevealed,
        WeightsPath::HashedCommitReveal => hashed_unrevealed,
    };
    if unrevealed >= MAX_UNREVEALED_COMMITS {
        return Err(ChainError::TooManyUnrevealed { limit: MAX_UNREVEALED_COMMITS });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use platform_types::{BlockRef, Hash, Keypair, SubnetParams};

    use super::*;

    fn ctx(block: u64, rate_limit: u64) -> WeightsContext {
        let params = SubnetParams {
            weights_rate_limit: rate_limit,
            commit_reveal_enabled: true,
            ..SubnetParams::unrestricted(360)
        };
        WeightsContext {
            block: BlockRef { number: block, hash: Hash::ZERO },
            params,
            epoch: params.schedule(NetUid::new(1)).epoch_state(block),
            dynamic_tempo: false,
            commit_reveal_version: 4,
            block_time_secs: 12.0,
        }
    }

    fn check(block: u64, path: WeightsPath, sender: SenderState, hashed: u32) -> Result<(), ChainError> {
        let key = Keypair::from_suri("//Alice").expect("dev key").public();
        check_sender(NetUid::new(1), &key, &ctx(block, 100), path, &sender, hashed)
    }

    const TIMELOCKED: WeightsPath = WeightsPath::Timelocked { commit_reveal_version: 4 };

    #[test]
    fn weights_wait_for_the_rate_limit_counted_from_the_inclusion_block() {
        let sender = SenderState { uid: Some(3), last_update: 1_000, timelocked_unrevealed: 0 };
        // Sent at head 1 098, included in 1 099: 99 blocks after the last update.
        assert_eq!(
            check(1_098, WeightsPath::Direct, sender, 0),
            Err(ChainError::RateLimited { blocks: 100, next_block: Some(1_100) })
        );
        assert_eq!(check(1_099, WeightsPath::Direct, sender, 0), Ok(()));
        assert_eq!(
            check(1_050, TIMELOCKED, sender, 0),
            Err(ChainError::RateLimited { blocks: 100, next_block: Some(1_100) })
        );
        // Never set: no limit.
        let fresh = SenderState { last_update: 0, ..sender };
        assert_eq!(check(5, WeightsPath::Direct, fresh, 0), Ok(()));
    }

    #[test]
    fn commits_hold_at_the_chains_bound_on_unrevealed_commits() {
        let at = |n| SenderState { uid: Some(3), last_update: 0, timelocked_unrevealed: n };
        assert_eq!(check(500, TIMELOCKED, at(9), 0), Ok(()));
        assert_eq!(check(500, TIMELOCKED, at(10), 0), Err(ChainError::TooManyUnrevealed { limit: 10 }));
        assert_eq!(check(500, WeightsPath::HashedCommitReveal, at(10), 9), Ok(()));
        assert_eq!(
            check(500, WeightsPath::HashedCommitReveal, at(0), 10),
            Err(ChainError::TooManyUnrevealed { limit: 10 })
        );
        // Direct weights have no commits to count.
        assert_eq!(check(500, WeightsPath::Direct, at(10), 10), Ok(()));
        assert!(ChainError::TooManyUnrevealed { limit: 10 }.is_transient());
    }

    #[test]
    fn an_unregistered_hotkey_is_refused_before_signing() {
        let sender = SenderState { uid: None, ..SenderState::default() };
        assert!(matches!(check(500, WeightsPath::Direct, sender, 0), Err(ChainError::NotRegistered { netuid: 1, .. })));
    }

    #[test]
    fn a_commit_is_filed_under_the_epoch_seen_in_its_inclusion_block() {
        // Legacy rule, netuid 1, tempo 360: epochs fire in blocks b with (b + 1 + 1) % 361 == 0,
        // here 3 969, which the runtime files under epoch (3 969 + 2) / 361 = 11.
        assert_eq!(commit_epoch(&ctx(3_967, 100)), 10);
        assert_eq!(commit_epoch(&ctx(3_968, 100)), 11);
        assert_eq!(commit_epoch(&ctx(3_969, 100)), 11);
    }
}
