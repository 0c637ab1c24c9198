//! The metagraph read from storage: hotkeys, stake weights, permits, the owner's keys.

use futures::{StreamExt, TryStreamExt};
use platform_types::{BlockRef, Metagraph, NetUid, Neuron, PublicKey, Uid};
use subxt::dynamic::Value;
use subxt::utils::AccountId32;

use super::{SubxtChain, account};
use crate::chain::Chain;
use crate::error::ChainError;

impl SubxtChain {
    /// The subnet's metagraph at `at` (the head when `None`): every uid's hotkey and stake
    /// weight (own, inherited through child keys, root where `TaoWeight` counts it), validator
    /// permits and the owner's keys.
    pub(super) async fn read_metagraph(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<Metagraph, ChainError> {
        let (storage, block) = self.storage_at(at).await?;
        let params = self.subnet_params(netuid, Some(block)).await?;
        let caps = self.capabilities();
        let net = || Value::u128(u128::from(netuid.get()));
        if !Self::read::<bool>(&storage, "NetworksAdded", vec![net()]).await? {
            return Err(ChainError::Unsupported(format!("subnet {netuid} (it does not exist)")));
        }
        let count: u16 = Self::read(&storage, "SubnetworkN", vec![net()]).await?;
        let permits: Vec<bool> = Self::read(&storage, "ValidatorPermit", vec![net()]).await?;
        // `TaoWeight` is one value on current runtimes, a value per subnet on early ones (spec 218).
        let tao_weight: u64 = match (caps.stake_per_subnet, self.metadata().storage_keys("TaoWeight")) {
            (true, Some(0)) => Self::read(&storage, "TaoWeight", vec![]).await?,
            (true, Some(1)) => Self::read(&storage, "TaoWeight", vec![net()]).await?,
            _ => 0,
        };
        let root = || Value::u128(0);
        // One future per uid: its hotkey, then that hotkey's stake weight.
        let neurons: Vec<Neuron> = futures::stream::iter(0..count)
            .map(|uid| {
                let storage = storage.clone();
                let validator_permit = permits.get(usize::from(uid)).copied().unwrap_or(false);
                async move {
                    let key: AccountId32 =
                        Self::read(&storage, "Keys", vec![net(), Value::u128(u128::from(uid))]).await?;
                    let hotkey = PublicKey::from_bytes(key.0);
                    let stake: u64 = if caps.stake_per_subnet {
                        // Own alpha and root stake of a hotkey (root only where TaoWeight counts it).
                        let own = |key: Value| {
                            let storage = storage.clone();
                            async move {
                                let alpha: u64 =
                                    Self::read(&storage, "TotalHotkeyAlpha", vec![key.clone(), net()]).await?;
                                let root_stake: u64 = if tao_weight > 0 && netuid.get() != 0 {
                                    Self::read(&storage, "TotalHotkeyAlpha", vec![key, root()]).await?
                                } else {
                                    0
                                };
                                Ok::<_, ChainError>((alpha, root_stake))
                            }
                        };
                        let (alpha, root_stake) = own(account(&hotkey)).await?;
                        let (mut children, mut parents) = (Vec::new(), Vec::new());
                        if caps.child_keys && netuid.get() != 0 {
                            let links = |item: &'static str| {
                                Self::read::<Vec<(u64, AccountId32)>>(&storage, item, vec![account(&hotkey), net()])
                            };
                            children = links("ChildKeys").await?;
                            for (proportion, parent) in links("ParentKeys").await? {
                                let (p_alpha, p_root) = own(Value::from_bytes(parent.0)).await?;
                                parents.push((proportion, p_alpha, p_root));
                            }
                        }
                        let to_children: Vec<u64> = children.iter().map(|(p, _)| *p).collect();
                        let from = |pick: fn(&(u64, u64, u64)) -> u64| -> Vec<(u64, u64)> {
                            parents.iter().map(|p| (p.0, pick(p))).collect()
                        };
                        platform_types::stake_weight(
                            platform_types::inherited_stake(alpha, &to_children, &from(|p| p.1)),
                            platform_types::inherited_stake(root_stake, &to_children, &from(|p| p.2)),
                            tao_weight,
                        )
                    } else {
                        Self::read(&storage, "TotalHotkeyStake", vec![account(&hotkey)]).await?
                    };
                    Ok::<_, ChainError>(Neuron { uid: Uid::new(uid), hotkey, stake, validator_permit })
                }
            })
            .buffered(self.read_concurrency)
            .try_collect()
            .await?;
        let owner_coldkey = Self::read::<AccountId32>(&storage, "SubnetOwner", vec![net()]).await?;
        let owner_hotkey = if caps.owner_hotkey {
            Some(Self::read::<AccountId32>(&storage, "SubnetOwnerHotkey", vec![net()]).await?)
        } else {
            None
        };
        let known = |key: AccountId32| (key.0 != [0; 32]).then(|| PublicKey::from_bytes(key.0));
        Ok(Metagraph {
            netuid,
            block,
            neurons,
            owner_coldkey: known(owner_coldkey),
            owner_hotkey: owner_hotkey.and_then(known),
            params,
        })
    }
}
