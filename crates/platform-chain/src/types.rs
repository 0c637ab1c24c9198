//! What the rest of Platform learns from the chain, in Platform's own types.

use platform_types::{Hash, MechanismId, NetUid, PublicKey, Uid};

use crate::schedule::Schedule;

/// A block: its number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: Hash,
}

/// Which chain head to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// The best (newest, not yet final) block.
    Best,
    /// The newest finalized block.
    Finalized,
}

/// One neuron of a subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neuron {
    /// Its uid on the subnet.
    pub uid: Uid,
    /// Its hotkey.
    pub hotkey: PublicKey,
    /// Stake on this subnet in rao (the hotkey's alpha on the subnet where the runtime keeps
    /// it per subnet, otherwise its total stake).
    pub stake: u64,
    /// Whether it holds a validator permit.
    pub validator_permit: bool,
}

/// A subnet as seen at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// The first block after this one at which the subnet's epoch runs.
    pub fn next_epoch_block(&self) -> u64 {
        self.params.schedule(self.netuid).next_epoch_block(self.block.number)
    }
}

/// A subnet's parameters that decide how weights must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl SubnetParams {
    /// The epoch schedule these parameters give `netuid`.
    pub fn schedule(&self, netuid: NetUid) -> Schedule {
        Schedule { netuid: netuid.get(), tempo: self.tempo, reveal_period_epochs: self.reveal_period_epochs }
    }
}

/// One weight vector as the chain takes it: u16 values for uids, already converted with
/// `platform_scoring::chain_weights`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightVector {
    /// The subnet.
    pub netuid: NetUid,
    /// The mechanism (0 on runtimes without mechanisms).
    pub mechanism: MechanismId,
    /// Destination uids, ascending, no duplicates.
    pub uids: Vec<u16>,
    /// One value per uid.
    pub values: Vec<u16>,
    /// The version key sent with the weights.
    pub version_key: u64,
}

impl WeightVector {
    /// Checks what the runtime would refuse for shape alone: unequal lengths, duplicate uids,
    /// an empty vector.
    pub fn validate(&self) -> Result<(), crate::ChainError> {
        use crate::ChainError::InvalidWeights;
        if self.uids.len() != self.values.len() {
            return Err(InvalidWeights(format!("{} uids but {} values", self.uids.len(), self.values.len())));
        }
        if self.uids.is_empty() {
            return Err(InvalidWeights("no uids".into()));
        }
        let mut sorted = self.uids.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(InvalidWeights("duplicate uids".into()));
        }
        Ok(())
    }
}

/// A weights transaction the runtime included, with what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The block that included it.
    pub block: BlockRef,
    /// The transaction hash.
    pub extrinsic: Hash,
    /// `Pallet::Event` names the transaction emitted, in order.
    pub events: Vec<String>,
}
