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
//! - the block's epoch is exactly `max(parent epoch, schedule.epoch_index(link))`.
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

/// The chain as one validator has seen it: the recent blocks' hashes by number, and the
/// subnet's epoch schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainView {
    schedule: Schedule,
    recent: BTreeMap<u64, Hash>,
}

impl ChainView {
    /// A view that has seen no block yet.
    pub fn new(schedule: Schedule) -> Self {
        ChainView { schedule, recent: BTreeMap::new() }
    }

    /// Records a chain block (a later hash for the same number, after a reorganisation,
    /// replaces the earlier one). Keeps the newest [`CHAIN_MEMORY`] numbers.
    pub fn observe(&mut self, block: BlockRef) {
        self.recent.insert(block.number, block.hash);
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
        self.recent.last_key_value().map(|(&number, &hash)| BlockRef { number, hash })
    }

    /// The epoch index of chain block `number` under the current schedule.
    pub fn epoch_index(&self, number: u64) -> u64 {
        self.schedule.epoch_index(number)
    }

    /// Checks this validator saw `block` (the same hash at that number): a block ahead of the
    /// newest seen is *not yet* (pending), one forgotten or never seen here is refused.
    pub fn check_seen(&self, block: &BlockRef) -> Result<(), Invalid> {
        match self.recent.get(&block.number) {
            Some(hash) if *hash == block.hash => Ok(()),
            Some(_) => Err(rule(format!("chain block {} is not the block this validator saw there", block.number))),
            None if self.head().is_none_or(|head| block.number > head.number) => {
                Err(Invalid::ChainNotSeen(block.number))
            }
            None => Err(rule(format!("chain block {} is not among the recent blocks seen here", block.number))),
        }
    }

    /// The epoch of a block linked to `link` whose parent is of `parent_epoch`: the chain's
    /// epoch at the link, never behind the parent's.
    pub fn epoch_of(&self, link: &BlockRef, parent_epoch: Epoch) -> Epoch {
        Epoch::new(self.schedule.epoch_index(link.number).max(parent_epoch.get()))
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
        if let Some(seen) = self.recent.get(&link.number)
            && *seen != link.hash
        {
            return Err(rule(format!("chain block {} is not the block this validator saw there", link.number)));
        }
        let expected = self.epoch_of(&link, parent_epoch);
        if header.epoch != expected {
            return Err(rule(format!(
                "epoch {} is not the epoch of chain block {} ({expected})",
                header.epoch, link.number
            )));
        }
        Ok(())
    }
}
