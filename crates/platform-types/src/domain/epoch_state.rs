//! Subtensor's stateful epoch schedule (dynamic tempo), as the runtime runs it.
//!
//! Runtimes with dynamic tempo no longer place epochs by `(block + netuid + 1) % (tempo + 1)`.
//! Each subnet keeps `LastEpochBlock`, `PendingEpochAt` (an owner-triggered epoch), a
//! monotonic `SubnetEpochIndex` and `BlocksSinceLastStep`, and in every block's `run_coinbase`:
//! the counter since the last step goes up by one, and the epoch *fires* when a pending epoch is
//! due, when more than [`MAX_TEMPO`] blocks passed since the last step, or when `tempo` blocks
//! passed since the last epoch (the period is `tempo`, not `tempo + 1`). Firing records the block,
//! clears the pending epoch, bumps the index and resets the counter.
//!
//! Timelocked commits are keyed by the epoch the runtime computes *before* `run_coinbase` of the
//! block that includes them (`current_epoch_with_lookahead`: the index, plus one if the epoch
//! fires in that block), and revealed in the first block whose look-ahead epoch is the commit's
//! epoch plus `RevealPeriodEpochs`. [`EpochState::first_reveal_block`] predicts that block by
//! stepping the schedule forward, the model the Bittensor SDK uses for its reveal rounds.
//!
//! Not modelled (as in the SDK): the per-block cap on epochs that defers some by a block.

use parity_scale_codec::{Decode, Encode};

/// Largest tempo an owner may set (about 7 days of 12-second blocks), and the safety net after
/// which an epoch fires whatever the schedule says.
pub const MAX_TEMPO: u16 = 50_400;

/// A transaction sent now lands in the next block.
pub const INCLUSION_DELAY_BLOCKS: u64 = 1;

/// A subnet's epoch state at a block, read from the runtime's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct EpochState {
    /// The block the state was read at (the head a commit is built against).
    pub block: u64,
    /// Blocks between automatic epochs (0: the subnet runs none): `Tempo` on runtimes with
    /// dynamic tempo, `Tempo + 1` under the legacy rule ([`crate::Schedule::epoch_state`]).
    pub period: u32,
    /// `LastEpochBlock`.
    pub last_epoch_block: u64,
    /// `PendingEpochAt` (0: none).
    pub pending_epoch_at: u64,
    /// `SubnetEpochIndex`.
    pub epoch_index: u64,
    /// `BlocksSinceLastStep`.
    pub blocks_since_last_step: u64,
}

/// Why no reveal block could be predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The subnet's tempo is 0: it runs no epochs, so nothing is ever revealed.
    #[error("the subnet's tempo is 0: it runs no epochs")]
    NoEpochs,
    /// The reveal epoch is further than the bound on blocks stepped (`period × MAX_TEMPO + MAX_TEMPO`).
    #[error("the reveal epoch is beyond {0} blocks from the head")]
    TooFar(u64),
}

impl EpochState {
    /// Whether the subnet's epoch fires in `block`'s `run_coinbase`, given this state as it is
    /// before that block's coinbase (the runtime's `should_run_epoch`).
    pub fn fires_in(&self, block: u64) -> bool {
        if self.period == 0 {
            return false;
        }
        let pending_due = self.pending_epoch_at != 0 && block >= self.pending_epoch_at;
        let overdue = self.blocks_since_last_step > u64::from(MAX_TEMPO);
        let tempo_passed = block.saturating_sub(self.last_epoch_block) >= u64::from(self.period);
        pending_due || overdue || tempo_passed
    }

    /// The epoch the runtime sees in `block` before its coinbase runs (commits are filed and
    /// revealed under it): the index, plus one when the epoch fires in that block.
    pub fn epoch_seen_in(&self, block: u64) -> u64 {
        self.epoch_index.saturating_add(u64::from(self.fires_in(block)))
    }

    /// The state after `block`'s coinbase.
    pub fn after(mut self, block: u64) -> Self {
        self.blocks_since_last_step = self.blocks_since_last_step.saturating_add(1);
        if self.fires_in(block) {
            self.last_epoch_block = block;
            self.pending_epoch_at = 0;
            self.epoch_index = self.epoch_index.saturating_add(1);
            self.blocks_since_last_step = 0;
        }
        self.block = block;
        self
    }

    /// The first block in which the runtime reveals a commit sent against this state (included
    /// in the next block) when the subnet's reveal period is `reveal_period_epochs`.
    pub fn first_reveal_block(&self, reveal_period_epochs: u64) -> Result<u64, ScheduleError> {
        if self.period == 0 {
            return Err(ScheduleError::NoEpochs);
        }
        let included = self.block.saturating_add(INCLUSION_DELAY_BLOCKS);
        let mut state = *self;
        for block in self.block.saturating_add(1)..included {
            state = state.after(block);
        }
        let target = state.epoch_seen_in(included).saturating_add(reveal_period_epochs);
        let bound = reveal_period_epochs.saturating_add(1).saturating_mul(u64::from(MAX_TEMPO));
        for block in included..=included.saturating_add(bound) {
            if state.epoch_seen_in(block) == target {
                return Ok(block);
            }
            state = state.after(block);
        }
        Err(ScheduleError::TooFar(bound))
    }

    /// The first block after the head at which the epoch fires on schedule (no owner trigger
    /// assumed beyond the one pending).
    pub fn next_epoch_block(&self) -> Option<u64> {
        if self.period == 0 {
            return None;
        }
        let automatic = self.last_epoch_block.saturating_add(u64::from(self.period));
        let next = match self.pending_epoch_at {
            0 => automatic,
            pending => automatic.min(pending),
        };
        Some(next.max(self.block.saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(block: u64, period: u32, last: u64, pending: u64, index: u64, since: u64) -> EpochState {
        EpochState {
            block,
            period,
            last_epoch_block: last,
            pending_epoch_at: pending,
            epoch_index: index,
            blocks_since_last_step: since,
        }
    }

    #[test]
    fn the_period_is_tempo_blocks_from_the_last_epoch() {
        let s = state(120, 50, 100, 0, 4, 20);
        assert!(!s.fires_in(149));
        assert!(s.fires_in(150));
        assert_eq!(s.next_epoch_block(), Some(150));
        let mut t = s;
        for b in 121..=150 {
            t = t.after(b);
        }
        assert_eq!((t.epoch_index, t.last_epoch_block, t.blocks_since_last_step), (5, 150, 0));
        assert!(!t.fires_in(199));
        assert!(t.fires_in(200));
    }

    #[test]
    fn a_pending_epoch_fires_early_and_is_cleared() {
        let s = state(91, 20, 80, 95, 0, 11);
        assert_eq!(s.next_epoch_block(), Some(95));
        assert_eq!(s.first_reveal_block(1), Ok(95));
        let t = (92..=95).fold(s, |st, b| st.after(b));
        assert_eq!((t.pending_epoch_at, t.epoch_index, t.last_epoch_block), (0, 1, 95));
    }

    #[test]
    fn a_commit_is_revealed_one_period_of_epochs_later() {
        // Commit lands in 11 (epoch 0); epochs fire at 60, 110: period 1 reveals at 60, 2 at 110.
        let s = state(10, 50, 10, 0, 0, 0);
        assert_eq!(s.first_reveal_block(1), Ok(60));
        assert_eq!(s.first_reveal_block(2), Ok(110));
        // A commit included in the very block its epoch fires is filed under the new epoch.
        let edge = state(58, 50, 10, 0, 0, 48);
        assert_eq!(edge.first_reveal_block(1), Ok(60));
        let at_fire = state(59, 50, 10, 0, 0, 49);
        assert_eq!(at_fire.first_reveal_block(1), Ok(110));
    }

    #[test]
    fn the_safety_net_fires_an_overdue_epoch() {
        let s = state(1000, 60_000, 0, 0, 3, u64::from(MAX_TEMPO) + 1);
        assert!(s.fires_in(1001));
    }

    #[test]
    fn no_epochs_means_no_reveal() {
        let s = state(10, 0, 0, 0, 0, 0);
        assert_eq!(s.first_reveal_block(1), Err(ScheduleError::NoEpochs));
        assert_eq!(s.next_epoch_block(), None);
        assert!(!s.fires_in(1_000_000));
    }

    #[test]
    fn reveal_period_zero_reveals_in_the_commit_epoch() {
        let s = state(20, 50, 10, 0, 0, 10);
        assert_eq!(s.first_reveal_block(0), Ok(21));
    }
}
