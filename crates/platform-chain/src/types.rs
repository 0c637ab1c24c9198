//! The chain client's own types; the chain snapshot types (`BlockRef`, `Metagraph`, `Neuron`,
//! `SubnetParams`, `Schedule`) live in `platform-types` so pure crates can use them.

use platform_types::{BlockRef, Hash, MechanismId, NetUid};

/// Which chain head to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// The best (newest, not yet final) block.
    Best,
    /// The newest finalized block.
    Finalized,
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
