//! The simulated chain: its blocks, the metagraph read at each, and the epochs it reports.

use std::sync::Arc;

use platform_types::{Metagraph, NetUid};

use super::net::Net;
use super::setup::NETUID;

/// The simulated chain's block `number` (its hash is a function of the number: the simulated
/// chain never reorganises).
pub(crate) fn chain_block(number: u64) -> platform_chain::BlockRef {
    platform_chain::BlockRef { number, hash: platform_types::blake2b_256(&number.to_le_bytes()) }
}

/// The metagraph as read at chain block `number`: `base`, or the last of `changes` from a block
/// at or before it.
pub(super) fn read_at(base: &Metagraph, changes: &[(u64, Metagraph)], number: u64) -> Arc<Metagraph> {
    let changed = changes.iter().rev().find(|(from, _)| *from <= number).map(|(_, m)| m);
    Arc::new(Metagraph { block: chain_block(number), ..changed.unwrap_or(base).clone() })
}

impl Net {
    /// The metagraph as read at chain block `number`.
    pub fn metagraph_at(&self, number: u64) -> Arc<Metagraph> {
        read_at(&self.metagraph, &self.changes, number)
    }

    /// Dynamic tempo from now on, the tempo becoming `tempo` at chain block `from` (which must
    /// be after every metagraph change already made): the metagraph read from there shows it.
    pub fn change_tempo(&mut self, from: u64, tempo: u16) {
        let mut changed = (*self.metagraph_at(from)).clone();
        changed.params.tempo = tempo;
        self.changes.push((from, changed));
        self.tempo_change = Some((from, tempo));
    }

    /// The subnet's epoch at chain block `number` as the chain reports it: `None` under the
    /// legacy rule; with dynamic tempo, the legacy rule's index before the change, then one more
    /// epoch from the change and one every `tempo + 1` blocks after it (never going back).
    pub fn chain_epoch(&self, number: u64) -> Option<u64> {
        let (from, tempo) = self.tempo_change?;
        let before = self.metagraph.params.schedule(NetUid::new(NETUID));
        if number < from {
            return Some(before.epoch_index(number));
        }
        Some(before.epoch_index(from.saturating_sub(1)) + 1 + (number - from) / (u64::from(tempo) + 1))
    }
}
