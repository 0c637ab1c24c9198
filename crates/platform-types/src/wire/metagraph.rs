//! Wire conversions for validator sets and metagraph snapshots (what blocks carry of the chain).

use super::{bounded, codec, hash, pb, public_key, required, uid};
use crate::domain::*;
use crate::error::DecodeError;
use crate::ids::{Epoch, NetUid};
use crate::keys::PublicKey;
use crate::limits::{MAX_METAGRAPH_NEURONS, MAX_VALIDATORS};

impl From<&ValidatorSet> for pb::ValidatorSet {
    fn from(s: &ValidatorSet) -> Self {
        pb::ValidatorSet {
            epoch: s.epoch.get(),
            validators: s
                .validators
                .iter()
                .map(|v| pb::Validator {
                    hotkey: v.hotkey.as_bytes().to_vec(),
                    uid: u32::from(v.uid.get()),
                    stake: v.stake,
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::ValidatorSet> for ValidatorSet {
    type Error = DecodeError;

    fn try_from(s: pb::ValidatorSet) -> Result<Self, DecodeError> {
        let validators = bounded("validators", s.validators, MAX_VALIDATORS)?
            .into_iter()
            .map(|v| {
                Ok(Validator { hotkey: public_key("hotkey", &v.hotkey)?, uid: uid("uid", v.uid)?, stake: v.stake })
            })
            .collect::<Result<_, DecodeError>>()?;
        let set = ValidatorSet { epoch: Epoch::new(s.epoch), validators };
        set.validate()?;
        Ok(set)
    }
}

impl From<&Metagraph> for pb::Metagraph {
    fn from(m: &Metagraph) -> Self {
        let key = |k: &Option<PublicKey>| k.map(|k| k.as_bytes().to_vec()).unwrap_or_default();
        let p = &m.params;
        pb::Metagraph {
            netuid: u32::from(m.netuid.get()),
            block_number: m.block.number,
            block_hash: m.block.hash.as_bytes().to_vec(),
            neurons: m
                .neurons
                .iter()
                .map(|n| pb::Neuron {
                    uid: u32::from(n.uid.get()),
                    hotkey: n.hotkey.as_bytes().to_vec(),
                    stake: n.stake,
                    validator_permit: n.validator_permit,
                })
                .collect(),
            owner_coldkey: key(&m.owner_coldkey),
            owner_hotkey: key(&m.owner_hotkey),
            params: Some(pb::SubnetParams {
                tempo: u32::from(p.tempo),
                weights_version_key: p.weights_version_key,
                weights_rate_limit: p.weights_rate_limit,
                commit_reveal_enabled: p.commit_reveal_enabled,
                reveal_period_epochs: p.reveal_period_epochs,
                mechanism_count: u32::from(p.mechanism_count),
                min_allowed_weights: u32::from(p.min_allowed_weights),
                max_weights_limit: u32::from(p.max_weights_limit),
            }),
        }
    }
}

impl TryFrom<pb::Metagraph> for Metagraph {
    type Error = DecodeError;

    fn try_from(m: pb::Metagraph) -> Result<Self, DecodeError> {
        let optional_key = |field, bytes: &[u8]| {
            if bytes.is_empty() { Ok(None) } else { PublicKey::from_slice(field, bytes).map(Some) }
        };
        let narrow = |field: &'static str, value: u32, max: u32| {
            if value > max { Err(DecodeError::Invalid { field, reason: "out of range" }) } else { Ok(value) }
        };
        let neurons = bounded("neurons", m.neurons, MAX_METAGRAPH_NEURONS)?
            .into_iter()
            .map(|n| {
                Ok(Neuron {
                    uid: uid("uid", n.uid)?,
                    hotkey: public_key("hotkey", &n.hotkey)?,
                    stake: n.stake,
                    validator_permit: n.validator_permit,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        let p = required("params", m.params)?;
        let metagraph = Metagraph {
            netuid: NetUid::new(narrow("netuid", m.netuid, u32::from(u16::MAX))? as u16),
            block: BlockRef { number: m.block_number, hash: hash("block_hash", &m.block_hash)? },
            neurons,
            owner_coldkey: optional_key("owner_coldkey", &m.owner_coldkey)?,
            owner_hotkey: optional_key("owner_hotkey", &m.owner_hotkey)?,
            params: SubnetParams {
                tempo: narrow("tempo", p.tempo, u32::from(u16::MAX))? as u16,
                weights_version_key: p.weights_version_key,
                weights_rate_limit: p.weights_rate_limit,
                commit_reveal_enabled: p.commit_reveal_enabled,
                reveal_period_epochs: p.reveal_period_epochs,
                mechanism_count: narrow("mechanism_count", p.mechanism_count, u32::from(u8::MAX))? as u8,
                min_allowed_weights: narrow("min_allowed_weights", p.min_allowed_weights, u32::from(u16::MAX))? as u16,
                max_weights_limit: narrow("max_weights_limit", p.max_weights_limit, u32::from(u16::MAX))? as u16,
            },
        };
        metagraph.validate()?;
        Ok(metagraph)
    }
}

codec!(ValidatorSet, pb::ValidatorSet, "ValidatorSet");
