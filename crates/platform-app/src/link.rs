//! Each block is linked to a Bittensor block, and its epoch is that chain block's epoch.
//!
//! Without the link, a leader chose a block's epoch freely, and one Byzantine leader could
//! propose a block of an epoch far ahead: weights committed for that epoch would leave none due
//! until the chain caught up, stopping weight setting for the whole subnet. A follower now
//! checks the link against the chain blocks *it* has seen ([`ChainView`]) before voting:
//!
//! - the link never goes backwards from the parent's, and a link to the same number names the
//!   same hash;
//! - it is at most [`CHAIN_LEAD`] blocks ahead of the newest chain block the follower has seen
//!   (further ahead is *not yet*: the follower waits a little for its own chain follower, then
//!   refuses), and at most [`CHAIN_LAG`] blocks behind it;
//! - where the follower saw a block of that number, the hashes match;
//! - the block's epoch is exactly `max(parent epoch, the chain's epoch at the link)`.
//!
//! The chain's epoch at a block is what the follower's chain client read there
//! (`SubnetEpochIndex`, on runtimes with dynamic tempo), or the legacy formula
//! (`Schedule::epoch_index`) on runtimes without it. With dynamic tempo there is no formula:
//! a link to a block this validator has not seen yet is *not yet*, never guessed.
//!
//! Committed blocks (replay, sync) carry a quorum certificate and are applied without this
//! check: more than two thirds of the stake checked it when they voted.

use std::collections::BTreeMap;

use platform_types::{BlockHeader, BlockRef, Epoch, Hash, Schedule};

use crate::rules::{Invalid, rule};

/// How many chain blocks a link may be ahead of the newest one a follower has seen without
/// waiting (its chain follower may be a moment behind the leader's).
pub const CHAIN_LEAD: u64 = 2;

/// How many chain blocks a link may be behind the newest one a follower has seen (about six
/// minutes of 12-second blocks): an older link means a leader that lost the chain.
pub const CHAIN_LAG: u64 = 32;

/// How many recent chain block hashes a [`ChainView`] remembers.
pub const CHAIN_MEMORY: usize = 256;

/// The chain as one validator has seen it: the recent blocks' hashes (and, with dynamic tempo,
/// their epochs) by number, and the subnet's legacy epoch schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainView {
    schedule: Schedule,
    recent: BTreeMap<u64, (Hash, Option<u64>)>,
    /// The runtime reports epochs itself (dynamic tempo): no formula applies.
    dynamic: bool,
}

impl ChainView {
    /// A view that has seen no block yet.
    pub fn new(schedule: Schedule) -> Self {
        ChainView { schedule, recent: BTreeMap::new(), dynamic: false }
    }

    /// Records a chain block (a later hash for the same number, after a reorganisation,
    /// replaces the earlier one) with the subnet's epoch there when the runtime keeps one
    /// (`SubnetEpochIndex`, dynamic tempo; `None` on runtimes with the legacy rule). Keeps the
    /// newest [`CHAIN_MEMORY`] numbers.
    pub fn observe(&mut self, block: BlockRef, epoch: Option<u64>) {
        self.dynamic = epoch.is_some();
        self.recent.insert(block.number, (block.hash, epoch));
        while self.recent.len() > CHAIN_MEMORY {
            self.recent.pop_first();
        }
    }

    /// Uses a new schedule (the subnet's tempo changed).
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
    }

    /// The newest chain block seen.
    pub fn head(&self) -> Option<BlockRef> {
        self.recent.last_key_value().map(|(&number, &(hash, _))| BlockRef { number, hash })
    }

    /// The subnet's epoch at chain block `number`: as read there (dynamic tempo), or by the
    /// legacy formula. `None` with dynamic tempo for a block not seen (or forgotten) here.
    pub fn epoch_index(&self, number: u64) -> Option<u64> {
        match self.recent.get(&number) {
            Some(&(_, Some(epoch))) => Some(epoch),
            _ if self.dynamic => None,
            _ => Some(self.schedule.epoch_index(number)),
        }
    }

    /// Checks this validator saw `block` (the same hash at that number): a block ahead of the
    /// newest seen is *not yet* (pending), one forgotten or never seen here is refused.
    pub fn check_seen(&self, block: &BlockRef) -> Result<(), Invalid> {
        match self.recent.get(&block.number) {
            Some((hash, _)) if *hash == block.hash => Ok(()),
            Some(_) => Err(rule(format!("chain block {} is not the block this validator saw there", block.number))),
            None if self.head().is_none_or(|head| block.number > head.number) => {
                Err(Invalid::ChainNotSeen(block.number))
            }
            None => Err(rule(format!("chain block {} is not among the recent blocks seen here", block.number))),
        }
    }

    /// The epoch of a block linked to `link` whose parent is of `parent_epoch`: the chain's
    /// epoch at the link, never behind the parent's (`None`: the link's epoch is not known here
    /// yet).
    pub fn epoch_of(&self, link: &BlockRef, parent_epoch: Epoch) -> Option<Epoch> {
        self.epoch_index(link.number).map(|e| Epoch::new(e.max(parent_epoch.get())))
    }

    /// Checks a proposed header's link and epoch; `parent` is the link of the parent block
    /// (`None` before the first block).
    pub fn check(&self, header: &BlockHeader, parent: Option<BlockRef>, parent_epoch: Epoch) -> Result<(), Invalid> {
        let link = header.chain;
        if let Some(parent) = parent {
            if link.number < parent.number {
                return Err(rule(format!(
                    "chain block {} is behind the parent block's chain block {}",
                    link.number, parent.number
                )));
            }
            if link.number == parent.number && link.hash != parent.hash {
                return Err(rule(format!("chain block {} differs from the parent block's", link.number)));
            }
        }
        let Some(head) = self.head() else { return Err(Invalid::ChainNotSeen(link.number)) };
        if link.number > head.number.saturating_add(CHAIN_LEAD) {
            return Err(Invalid::ChainNotSeen(link.number));
        }
        if link.number.saturating_add(CHAIN_LAG) < head.number {
            return Err(rule(format!(
                "chain block {} is more than {CHAIN_LAG} blocks behind the chain ({})",
                link.number, head.number
            )));
        }
        if let Some((seen, _)) = self.recent.get(&link.number)
            && *seen != link.hash
        {
            return Err(rule(format!("chain block {} is not the block this validator saw there", link.number)));
        }
        let expected = self.epoch_of(&link, parent_epoch).ok_or(Invalid::ChainNotSeen(link.number))?;
        if header.epoch != expected {
            return Err(rule(format!(
                "epoch {} is not the epoch of chain block {} ({expected})",
                header.epoch, link.number
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_types::{Block, BlockHeaderFields, Height, PublicKey, blake2b_256};

    use super::*;

    fn block(number: u64) -> BlockRef {
        BlockRef { number, hash: blake2b_256(&number.to_le_bytes()) }
    }

    fn header(link: BlockRef, epoch: u64) -> BlockHeader {
        Block::new(
            BlockHeaderFields {
                height: Height::new(5),
                epoch: Epoch::new(epoch),
                chain: link,
                parent_hash: Hash::ZERO,
                parent_state_root: Hash::ZERO,
                proposer: PublicKey::from_bytes([1; 32]),
                validators_hash: Hash::ZERO,
            },
            vec![],
        )
        .header
    }

    /// Under dynamic tempo, the epoch at a link is what the runtime reported at that block,
    /// not the legacy formula (tempo 20 would put block 105 in epoch 5 for netuid 1).
    #[test]
    fn with_dynamic_tempo_a_links_epoch_is_the_runtimes() {
        let mut view = ChainView::new(Schedule { netuid: 1, tempo: 20, reveal_period_epochs: 1 });
        for number in 100..=105 {
            view.observe(block(number), Some(if number < 103 { 41 } else { 42 }));
        }
        assert_eq!(view.epoch_index(102), Some(41));
        assert_eq!(view.epoch_index(105), Some(42));
        let parent = Some(block(101));
        assert_eq!(view.check(&header(block(103), 42), parent, Epoch::new(41)), Ok(()));
        assert_eq!(view.check(&header(block(102), 41), parent, Epoch::new(41)), Ok(()));
        // The formula's epoch, or one ahead of the runtime's, is refused.
        assert!(matches!(view.check(&header(block(105), 5), parent, Epoch::new(0)), Err(Invalid::Rule(_))));
        assert!(matches!(view.check(&header(block(102), 42), parent, Epoch::new(41)), Err(Invalid::Rule(_))));
        // A link one block ahead of what this validator saw is not guessed: it waits.
        assert_eq!(view.check(&header(block(106), 42), parent, Epoch::new(41)), Err(Invalid::ChainNotSeen(106)));
        assert_eq!(view.epoch_of(&block(106), Epoch::new(41)), None);
    }

    /// Under the legacy rule the formula decides, also for a link a block ahead.
    #[test]
    fn with_the_legacy_rule_the_formula_decides() {
        let schedule = Schedule { netuid: 1, tempo: 20, reveal_period_epochs: 1 };
        let mut view = ChainView::new(schedule);
        for number in 100..=105 {
            view.observe(block(number), None);
        }
        assert_eq!(view.epoch_index(106), Some(schedule.epoch_index(106)));
        let epoch = schedule.epoch_index(106);
        assert_eq!(view.check(&header(block(106), epoch), Some(block(101)), Epoch::new(0)), Ok(()));
    }
}
