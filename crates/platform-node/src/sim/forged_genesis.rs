//! Byzantine behaviour: a validator that answers a joiner's genesis request with a validator set
//! of its own making — itself alone, with all the stake — so that a joiner believing it would
//! take the liar's own certificates for the network's and follow a history of its making. The
//! simulator has the restarting validator lose its disk in these runs and join again from
//! nothing, asking the liar first (the worst order): it must adopt only the set validators
//! holding more than two thirds of the chain's stake vouch for, and end with the honest blocks.

use platform_types::{Keypair, ValidatorSet};

/// The set this liar vouches for, given the one the chain gives (`honest`).
pub(crate) fn answer(keypair: &Keypair, honest: &ValidatorSet) -> ValidatorSet {
    let total = honest.validators.iter().map(|v| v.stake).sum();
    let mut me = honest.validators.iter().find(|v| v.hotkey == keypair.public()).cloned().unwrap_or_else(|| {
        platform_types::Validator { hotkey: keypair.public(), uid: platform_types::Uid::new(0), stake: 0 }
    });
    me.stake = total;
    ValidatorSet { epoch: honest.epoch, validators: vec![me] }
}
