//! Subtensor's epoch arithmetic, as the runtime computes it (legacy fixed-tempo rule).
//!
//! A subnet's epoch runs at block `b` when `(b + netuid + 1) % (tempo + 1) == 0`; the epoch
//! index of a block is `(b + netuid + 1) / (tempo + 1)`. A commit made in epoch `e` may be
//! revealed only during epoch `e + reveal_period`, and expires after it.

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
    fn tempo_zero_does_not_divide_by_zero() {
        let s = Schedule { netuid: 3, tempo: 0, reveal_period_epochs: 1 };
        assert_eq!(s.epoch_index(1000), 0);
        assert_eq!(s.next_epoch_block(1000), 1001);
    }
}
