//! Subtensor's epoch arithmetic, as the runtime computes it (legacy fixed-tempo rule).
//!
//! A subnet's epoch runs at block `b` when `(b + netuid + 1) % (tempo + 1) == 0`; the epoch
//! index of a block is `(b + netuid + 1) / (tempo + 1)`. A commit made in epoch `e` may be
//! revealed only during epoch `e + reveal_period`, and expires after it.

use super::epoch_state::EpochState;

/// A subnet's tempo and commit-reveal period: enough to place any block in its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The subnet.
    pub netuid: u16,
    /// Blocks between epochs, less one (`Tempo`).
    pub tempo: u16,
    /// Epochs between a commit and its reveal (`RevealPeriodEpochs`).
    pub reveal_period_epochs: u64,
}

impl Schedule {
    fn period(&self) -> u64 {
        u64::from(self.tempo) + 1
    }

    fn offset(&self) -> u64 {
        u64::from(self.netuid) + 1
    }

    /// The epoch index of `block` (the runtime's `get_epoch_index`). A tempo of 0 would make
    /// every block an epoch; the runtime answers 0 then, and so does this.
    pub fn epoch_index(&self, block: u64) -> u64 {
        if self.tempo == 0 {
            return 0;
        }
        block.saturating_add(self.offset()) / self.period()
    }

    /// The first block after `block` at which the subnet's epoch runs.
    pub fn next_epoch_block(&self, block: u64) -> u64 {
        let period = self.period();
        let offset = self.offset() % period;
        // Smallest b > block with (b + offset) % period == 0.
        let rem = (block.saturating_add(offset)) % period;
        block + (period - rem)
    }

    /// The legacy rule as a [`EpochState`] at `block`: epochs every `tempo + 1` blocks, the
    /// last one at the newest epoch block not after `block`. Stepping it forward gives the same
    /// epoch blocks and indices as [`Self::epoch_index`], so one model predicts reveals on
    /// runtimes with and without dynamic tempo.
    pub fn epoch_state(&self, block: u64) -> EpochState {
        if self.tempo == 0 {
            return EpochState {
                block,
                period: 0,
                last_epoch_block: 0,
                pending_epoch_at: 0,
                epoch_index: 0,
                blocks_since_last_step: 0,
            };
        }
        let period = self.period();
        let since = block.saturating_add(self.offset()) % period;
        let last_epoch_block = block.saturating_sub(since);
        EpochState {
            block,
            period: u32::from(self.tempo) + 1,
            last_epoch_block,
            pending_epoch_at: 0,
            epoch_index: self.epoch_index(block),
            blocks_since_last_step: since,
        }
    }

    /// The first and last block (inclusive) in which a commit made at `commit_block` may be
    /// revealed (the runtime's `get_reveal_blocks`).
    pub fn reveal_window(&self, commit_block: u64) -> (u64, u64) {
        let reveal_epoch = self.epoch_index(commit_block).saturating_add(self.reveal_period_epochs);
        let first = reveal_epoch.saturating_mul(self.period()).saturating_sub(self.offset());
        (first, first.saturating_add(u64::from(self.tempo)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_next(s: &Schedule, block: u64) -> u64 {
        (block + 1..).find(|b| (b + u64::from(s.netuid) + 1) % (u64::from(s.tempo) + 1) == 0).unwrap_or(0)
    }

    #[test]
    fn next_epoch_block_matches_the_runtime_rule() {
        for netuid in [0u16, 1, 7, 100, 4095] {
            for tempo in [1u16, 2, 20, 99, 360] {
                let s = Schedule { netuid, tempo, reveal_period_epochs: 1 };
                for block in (0..3000u64).step_by(7) {
                    let next = s.next_epoch_block(block);
                    assert_eq!(next, naive_next(&s, block), "netuid {netuid} tempo {tempo} block {block}");
                    // The epoch index steps up exactly at an epoch block.
                    assert_eq!(s.epoch_index(next), s.epoch_index(next - 1) + 1);
                }
            }
        }
    }

    #[test]
    fn reveal_window_is_the_whole_epoch_reveal_period_later() {
        let s = Schedule { netuid: 1, tempo: 20, reveal_period_epochs: 1 };
        // Blocks 19..=39 are epoch 1 for netuid 1, tempo 20: (19 + 2) / 21 = 1, (40 + 2) / 21 = 2.
        assert_eq!(s.epoch_index(19), 1);
        assert_eq!(s.epoch_index(18), 0);
        let (first, last) = s.reveal_window(25);
        assert_eq!((first, last), (40, 60));
        assert_eq!(s.epoch_index(first), 2);
        assert_eq!(s.epoch_index(last), 2);
        assert_eq!(s.epoch_index(last + 1), 3);
        assert_eq!(s.epoch_index(first - 1), 1);
        let two = Schedule { reveal_period_epochs: 2, ..s };
        assert_eq!(two.reveal_window(25), (61, 81));
    }

    #[test]
    fn the_legacy_rule_as_epoch_state_steps_like_the_formula() {
        for netuid in [0u16, 1, 7, 4095] {
            for tempo in [1u16, 2, 20, 360] {
                let s = Schedule { netuid, tempo, reveal_period_epochs: 1 };
                let mut state = s.epoch_state(5_000);
                for block in 5_001..5_000 + 3 * u64::from(tempo) + 10 {
                    assert_eq!(state.fires_in(block), s.epoch_index(block) == s.epoch_index(block - 1) + 1);
                    state = state.after(block);
                    assert_eq!(state, s.epoch_state(block), "netuid {netuid} tempo {tempo} block {block}");
                }
                // A commit included at b is revealed in the first block of epoch(b) + 1.
                for head in [5_000u64, 5_003, 5_017] {
                    let (first, _) = s.reveal_window(head + 1);
                    assert_eq!(s.epoch_state(head).first_reveal_block(1), Ok(first));
                }
            }
        }
    }

    #[test]
    fn tempo_zero_does_not_divide_by_zero() {
        let s = Schedule { netuid: 3, tempo: 0, reveal_period_epochs: 1 };
        assert_eq!(s.epoch_index(1000), 0);
        assert_eq!(s.next_epoch_block(1000), 1001);
    }
}
