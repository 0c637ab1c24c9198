//! Who answered each challenge in which epoch: the history an epoch scorer reads to weigh a
//! miner by its availability over a window of epochs (a compute subnet multiplies its scores
//! by the share of the last week its miners were online). Kept per challenge and miner as a
//! 64-epoch bit field, so it is a function of committed blocks, bounded whatever the length of
//! history, and answers the same for an epoch whenever it is asked within 32 epochs of it.

use std::collections::BTreeMap;

use parity_scale_codec::{Decode, Encode};
use platform_types::{Epoch, PublicKey};

use crate::state::AppState;

/// How many epochs, ending at the one scored, a scorer is served.
pub const SERVED_EPOCHS: u64 = 32;
/// How many epochs a record holds (twice what is served: an epoch's history stays exact while
/// the record moves on by up to [`SERVED_EPOCHS`] epochs).
const HELD_EPOCHS: u64 = 64;

/// One miner's answers to one challenge by epoch: bit k of `bits` is epoch `newest - k`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Participation {
    /// The newest epoch with an answer.
    pub newest: Epoch,
    /// The epochs with an answer, newest at bit 0.
    pub bits: u64,
}

impl Participation {
    /// Notes an answer ordered in `epoch` (blocks' epochs never decrease).
    fn record(&mut self, epoch: Epoch) {
        let shift = epoch.get().saturating_sub(self.newest.get());
        self.bits = if shift >= HELD_EPOCHS { 0 } else { self.bits << shift };
        self.bits |= 1;
        self.newest = self.newest.max(epoch);
    }

    /// The [`SERVED_EPOCHS`] epochs ending at `epoch` (bit k: epoch `epoch - k`); `None` when
    /// the record has moved more than [`SERVED_EPOCHS`] past it.
    pub fn at(&self, epoch: Epoch) -> Option<u32> {
        let (epoch, newest) = (epoch.get(), self.newest.get());
        if epoch >= newest {
            let shift = epoch - newest;
            return Some(if shift >= HELD_EPOCHS { 0 } else { (self.bits << shift) as u32 });
        }
        let back = newest - epoch;
        (back <= SERVED_EPOCHS).then(|| (self.bits >> back) as u32)
    }
}

/// Per challenge and miner, its [`Participation`].
pub type Participations = BTreeMap<(String, PublicKey), Participation>;

impl AppState {
    /// Notes that `miner` answered `challenge` in `epoch`.
    pub(crate) fn record_participation(&mut self, challenge: &str, miner: PublicKey, epoch: Epoch) {
        self.participation.entry((challenge.to_owned(), miner)).or_default().record(epoch);
    }

    /// As the epoch moves to `epoch`: forgets the records of removed challenges and those with
    /// no answer in the last [`HELD_EPOCHS`] epochs.
    pub(crate) fn prune_participation(&mut self, epoch: Epoch) {
        let challenges = &self.registry.challenges;
        self.participation.retain(|(challenge, _), p| {
            challenges.contains_key(challenge) && p.newest.get().saturating_add(HELD_EPOCHS) >= epoch.get()
        });
    }

    /// What an epoch scorer of `challenge` is served for `epoch`: each of `miners`' participation
    /// ([`AppState::participation`]) by hotkey bytes; `None` when the state no longer holds
    /// one of them that far back.
    pub fn epoch_participation<'m>(
        &self,
        challenge: &str,
        epoch: Epoch,
        miners: impl IntoIterator<Item = &'m PublicKey>,
    ) -> Option<BTreeMap<[u8; 32], u32>> {
        miners.into_iter().map(|m| Some((*m.as_bytes(), self.participation(challenge, m, epoch)?))).collect()
    }

    /// In which of the [`SERVED_EPOCHS`] epochs ending at `epoch` `miner` answered `challenge`
    /// (bit k: epoch `epoch - k`); `None` when the state no longer holds that far back.
    pub fn participation(&self, challenge: &str, miner: &PublicKey, epoch: Epoch) -> Option<u32> {
        match self.participation.get(&(challenge.to_owned(), *miner)) {
            Some(p) => p.at(epoch),
            None => Some(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epochs_history_is_the_same_while_the_record_moves_on_by_up_to_32_epochs() {
        let mut p = Participation::default();
        for e in [3u64, 4, 6, 10] {
            p.record(Epoch::new(e));
        }
        // At epoch 10: answered in 10, 6, 4, 3 → bits 0, 4, 6, 7.
        let at_ten = 0b1101_0001;
        assert_eq!(p.at(Epoch::new(10)), Some(at_ten));
        assert_eq!(p.at(Epoch::new(12)), Some(at_ten << 2), "two epochs later, nothing new");
        assert_eq!(p.at(Epoch::new(6)), Some(0b1101), "as of epoch 6: 6, 4, 3 → bits 0, 2, 3");
        p.record(Epoch::new(10));
        assert_eq!(p.at(Epoch::new(10)), Some(at_ten), "a second answer in an epoch changes nothing");
        for e in 11..=42 {
            p.record(Epoch::new(e));
        }
        assert_eq!(p.at(Epoch::new(10)), Some(at_ten), "32 epochs on, epoch 10's history is unchanged");
        p.record(Epoch::new(43));
        assert_eq!(p.at(Epoch::new(10)), None, "33 epochs on it is no longer served");
        p.record(Epoch::new(500));
        assert_eq!(p.at(Epoch::new(500)), Some(1), "a long absence clears the record");
        assert_eq!(p.at(Epoch::new(600)), Some(0));
    }
}
