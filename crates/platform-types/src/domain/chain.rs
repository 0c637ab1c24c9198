//! What Platform knows of the Bittensor chain, as plain values: a chain block, a subnet's
//! metagraph at one block, and its epoch schedule. The chain client reads them; the application
//! rules take them as inputs (they never read the chain themselves).

use parity_scale_codec::{Decode, Encode};

use crate::error::DecodeError;
use crate::hash::Hash;
use crate::ids::{NetUid, Uid};
use crate::keys::PublicKey;
use crate::limits::MAX_METAGRAPH_NEURONS;

use super::schedule::Schedule;

/// A block: its number and hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: Hash,
}

/// The chain's stake weight of a hotkey on a subnet (`get_stake_weights_for_hotkey_on_subnet`):
/// `alpha + root × tao_weight / u64::MAX`, where `tao_weight` is the runtime's raw `TaoWeight`
/// (a fraction of `u64::MAX`). Saturates rather than wraps.
pub fn stake_weight(alpha: u64, root: u64, tao_weight: u64) -> u64 {
    let from_root = u128::from(root) * u128::from(tao_weight) / u128::from(u64::MAX);
    alpha.saturating_add(u64::try_from(from_root).unwrap_or(u64::MAX))
}

/// A hotkey's stake on a subnet after child-key delegation, as the chain counts it
/// (`get_inherited_for_hotkey_on_subnet`): its own stake, less each child's proportion of it,
/// plus each parent's proportion of the parent's own stake. Proportions are fractions of
/// `u64::MAX`; `parents` holds `(proportion, parent's own stake)`. Each share is rounded down.
pub fn inherited_stake(own: u64, children: &[u64], parents: &[(u64, u64)]) -> u64 {
    let share = |stake: u64, proportion: u64| u128::from(stake) * u128::from(proportion) / u128::from(u64::MAX);
    let to_children: u128 = children.iter().map(|&p| share(own, p)).sum();
    let from_parents: u128 = parents.iter().map(|&(p, stake)| share(stake, p)).sum();
    let total = u128::from(own).saturating_sub(to_children).saturating_add(from_parents);
    u64::try_from(total).unwrap_or(u64::MAX)
}

/// One neuron of a subnet.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Neuron {
    /// Its uid on the subnet.
    pub uid: Uid,
    /// Its hotkey.
    pub hotkey: PublicKey,
    /// Its stake weight on this subnet in rao, as the chain ranks validator permits: alpha
    /// stake plus `TaoWeight` × root (TAO) stake where the runtime keeps stake per subnet
    /// ([`stake_weight`]), otherwise its total stake.
    pub stake: u64,
    /// Whether it holds a validator permit.
    pub validator_permit: bool,
}

/// A subnet as seen at one block. Committed in blocks as [`crate::Action::Metagraph`]: the
/// weights and validator sets of an epoch are computed from the snapshot committed in it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: NetUid,
    /// The block it was read at.
    pub block: BlockRef,
    /// Neurons by ascending uid.
    pub neurons: Vec<Neuron>,
    /// The subnet owner's coldkey, when the runtime records one.
    pub owner_coldkey: Option<PublicKey>,
    /// The subnet owner's hotkey, when the runtime records one (`SubnetOwnerHotkey`).
    pub owner_hotkey: Option<PublicKey>,
    /// The subnet's weights parameters at that block.
    pub params: SubnetParams,
}

impl Metagraph {
    /// The uid of `hotkey`, if registered.
    pub fn uid_of(&self, hotkey: &PublicKey) -> Option<Uid> {
        self.neurons.iter().find(|n| &n.hotkey == hotkey).map(|n| n.uid)
    }

    /// Checks the neurons are at most [`MAX_METAGRAPH_NEURONS`], by strictly increasing uid.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.neurons.len() > MAX_METAGRAPH_NEURONS {
            return Err(DecodeError::TooLarge {
                field: "neurons",
                size: self.neurons.len(),
                max: MAX_METAGRAPH_NEURONS,
            });
        }
        if self.neurons.windows(2).any(|w| w[0].uid >= w[1].uid) {
            return Err(DecodeError::Invalid { field: "neurons", reason: "uids must be strictly increasing" });
        }
        Ok(())
    }

    /// The first block after this one at which the subnet's epoch runs.
    pub fn next_epoch_block(&self) -> u64 {
        self.params.schedule(self.netuid).next_epoch_block(self.block.number)
    }
}

/// A subnet's parameters that decide how weights must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct SubnetParams {
    /// Blocks between epochs, less one.
    pub tempo: u16,
    /// `WeightsVersionKey`: weights with a lower version key are refused (0: any).
    pub weights_version_key: u64,
    /// `WeightsSetRateLimit` in blocks.
    pub weights_rate_limit: u64,
    /// `CommitRevealWeightsEnabled`.
    pub commit_reveal_enabled: bool,
    /// `RevealPeriodEpochs`.
    pub reveal_period_epochs: u64,
    /// Mechanisms on the subnet (`MechanismCountCurrent`; 1 where the runtime has none).
    pub mechanism_count: u8,
    /// `MinAllowedWeights`: a weight vector needs at least `min(this, subnet size)` entries.
    pub min_allowed_weights: u16,
    /// `MaxWeightsLimit`: no weight may exceed this share (of 65535) of the vector's sum
    /// (65535: no limit; 0: not read).
    pub max_weights_limit: u16,
}

impl SubnetParams {
    /// A subnet with epochs every `tempo + 1` blocks that restricts weights as little as the
    /// chain allows: any version key, one block between sets, weights set in the clear, one
    /// mechanism, no minimum count and no cap on a weight's share. Tests, simulations and
    /// benchmarks start from it and change what they exercise
    /// (`SubnetParams { commit_reveal_enabled: true, ..SubnetParams::unrestricted(360) }`).
    pub const fn unrestricted(tempo: u16) -> Self {
        Self {
            tempo,
            weights_version_key: 0,
            weights_rate_limit: 1,
            commit_reveal_enabled: false,
            reveal_period_epochs: 1,
            mechanism_count: 1,
            min_allowed_weights: 0,
            max_weights_limit: u16::MAX,
        }
    }

    /// The epoch schedule these parameters give `netuid`.
    pub fn schedule(&self, netuid: NetUid) -> Schedule {
        Schedule { netuid: netuid.get(), tempo: self.tempo, reveal_period_epochs: self.reveal_period_epochs }
    }
}

#[cfg(test)]
mod stake_tests {
    use super::stake_weight;

    #[test]
    fn delegated_stake_moves_from_parents_to_children() {
        use super::inherited_stake;
        let half = u64::MAX / 2;
        // A parent giving half to one child keeps half; the child gains half the parent's own.
        assert_eq!(inherited_stake(1_000, &[half], &[]), 501);
        assert_eq!(inherited_stake(10, &[], &[(half, 1_000)]), 509);
        assert_eq!(inherited_stake(7, &[], &[]), 7);
        // Giving more than everything cannot go below zero.
        assert_eq!(inherited_stake(100, &[u64::MAX, u64::MAX], &[]), 0);
    }

    #[test]
    fn stake_weight_adds_the_weighted_root_stake() {
        assert_eq!(stake_weight(100, 1_000, 0), 100);
        assert_eq!(stake_weight(100, 1_000, u64::MAX), 1_100);
        // 18 % (mainnet's TaoWeight is about 0.18 of u64::MAX).
        let w = (u128::from(u64::MAX) * 18 / 100) as u64;
        assert_eq!(stake_weight(0, 1_000_000_000_000, w), 179_999_999_999);
        assert_eq!(stake_weight(u64::MAX, u64::MAX, u64::MAX), u64::MAX);
    }
}
