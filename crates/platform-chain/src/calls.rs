//! Weights calls built over subxt's dynamic API, chosen from what the runtime's metadata has.
//!
//! One binary works against runtimes of different versions: [`Capabilities`] records which
//! calls and storage items the connected runtime has, and [`WeightsCall::payload`] picks the
//! call accordingly (mechanism 0 uses the plain calls every runtime has; other mechanisms need
//! the `*_mechanism_*` calls).

use platform_types::{Hash, MechanismId, NetUid};
use subxt::dynamic::Value;
use subxt::tx::{DynamicPayload, Payload};

use crate::error::ChainError;
use crate::types::WeightVector;

/// The pallet every call here belongs to.
pub(crate) const PALLET: &str = "SubtensorModule";

/// A runtime's metadata, decoded (from a node, or from a `.scale` file for offline checks).
#[derive(Clone)]
pub struct ChainMetadata(pub(crate) subxt::Metadata);

impl std::fmt::Debug for ChainMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainMetadata").field("capabilities", &Capabilities::of(self)).finish()
    }
}

impl ChainMetadata {
    /// Decodes SCALE-encoded runtime metadata (`RuntimeMetadataPrefixed`, as `state_getMetadata`
    /// returns and as `.scale` files hold).
    pub fn decode(bytes: &[u8]) -> Result<Self, ChainError> {
        let metadata = <subxt::Metadata as parity_scale_codec::Decode>::decode(&mut &bytes[..])
            .map_err(|e| ChainError::Decode { what: "runtime metadata".into(), reason: e.to_string() })?;
        Ok(ChainMetadata(metadata))
    }

    /// The (pallet, call) indices of a `SubtensorModule` call, which begin its call data.
    pub fn call_index(&self, name: &str) -> Option<(u8, u8)> {
        let pallet = self.0.pallet_by_name(PALLET)?;
        Some((pallet.index(), pallet.call_variant_by_name(name)?.index))
    }

    fn has_call(&self, name: &str) -> bool {
        self.0.pallet_by_name(PALLET).and_then(|p| p.call_variant_by_name(name)).is_some()
    }

    /// Seconds per block: twice the `Timestamp` pallet's `MinimumPeriod` (Aura's slot), when the
    /// runtime has that constant.
    pub fn block_time_secs(&self) -> Option<f64> {
        let constant = self.0.pallet_by_name("Timestamp")?.constant_by_name("MinimumPeriod")?;
        let period_ms = <u64 as parity_scale_codec::Decode>::decode(&mut constant.value()).ok()?;
        (period_ms > 0).then(|| period_ms as f64 * 2.0 / 1000.0)
    }

    /// How many keys a `SubtensorModule` storage item takes (0: a plain value), if it exists.
    pub(crate) fn storage_keys(&self, name: &str) -> Option<usize> {
        let entry = self.0.pallet_by_name(PALLET)?.storage()?.entry_by_name(name)?;
        Some(match entry.entry_type() {
            subxt::metadata::types::StorageEntryType::Plain(_) => 0,
            subxt::metadata::types::StorageEntryType::Map { hashers, .. } => hashers.len(),
        })
    }

    pub(crate) fn has_storage(&self, name: &str) -> bool {
        self.0.pallet_by_name(PALLET).and_then(|p| p.storage()).and_then(|s| s.entry_by_name(name)).is_some()
    }
}

/// What the connected runtime can do, read from its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `set_weights`.
    pub set_weights: bool,
    /// `commit_weights` and `reveal_weights` (commit-reveal v2, hash commits).
    pub commit_reveal: bool,
    /// `set_mechanism_weights`.
    pub mechanism_weights: bool,
    /// `commit_mechanism_weights` and `reveal_mechanism_weights`.
    pub mechanism_commit_reveal: bool,
    /// `commit_timelocked_weights` (drand-timelocked commits).
    pub timelocked_commits: bool,
    /// `commit_timelocked_mechanism_weights`.
    pub mechanism_timelocked_commits: bool,
    /// `MechanismCountCurrent` storage.
    pub mechanism_count: bool,
    /// `TotalHotkeyAlpha(hotkey, netuid)`: stake kept per subnet.
    pub stake_per_subnet: bool,
    /// `SubnetOwnerHotkey(netuid)`.
    pub owner_hotkey: bool,
    /// `LastEpochBlock`, `PendingEpochAt`, `SubnetEpochIndex`: the stateful epoch schedule.
    pub dynamic_tempo: bool,
    /// `CommitRevealWeightsVersion`.
    pub commit_reveal_version: bool,
    /// `TaoWeight`: root stake counts towards a subnet's stake weight.
    pub tao_weight: bool,
    /// `ChildKeys` and `ParentKeys`: stake delegated between hotkeys per subnet.
    pub child_keys: bool,
}

impl Capabilities {
    /// Reads the capabilities from `metadata`.
    pub fn of(metadata: &ChainMetadata) -> Self {
        Capabilities {
            set_weights: metadata.has_call("set_weights"),
            commit_reveal: metadata.has_call("commit_weights") && metadata.has_call("reveal_weights"),
            mechanism_weights: metadata.has_call("set_mechanism_weights"),
            mechanism_commit_reveal: metadata.has_call("commit_mechanism_weights")
                && metadata.has_call("reveal_mechanism_weights"),
            timelocked_commits: metadata.has_call("commit_timelocked_weights"),
            mechanism_timelocked_commits: metadata.has_call("commit_timelocked_mechanism_weights"),
            mechanism_count: metadata.has_storage("MechanismCountCurrent"),
            stake_per_subnet: metadata.has_storage("TotalHotkeyAlpha"),
            owner_hotkey: metadata.has_storage("SubnetOwnerHotkey"),
            dynamic_tempo: ["LastEpochBlock", "PendingEpochAt", "SubnetEpochIndex", "BlocksSinceLastStep"]
                .iter()
                .all(|name| metadata.has_storage(name)),
            commit_reveal_version: metadata.has_storage("CommitRevealWeightsVersion"),
            tao_weight: metadata.has_storage("TaoWeight"),
            child_keys: metadata.has_storage("ChildKeys") && metadata.has_storage("ParentKeys"),
        }
    }
}

/// A weights transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsCall {
    /// Set weights directly (`set_weights` / `set_mechanism_weights`).
    Set(WeightVector),
    /// Commit the hash of weights to reveal later (`commit_weights` / `commit_mechanism_weights`).
    Commit {
        /// The subnet.
        netuid: NetUid,
        /// The mechanism.
        mechanism: MechanismId,
        /// [`crate::commit_hash`] of the weights, salt and version key.
        hash: Hash,
    },
    /// Reveal committed weights (`reveal_weights` / `reveal_mechanism_weights`).
    Reveal {
        /// The weights committed.
        weights: WeightVector,
        /// The salt committed.
        salt: Vec<u16>,
    },
    /// A drand-timelocked commit (`commit_timelocked_weights` / `commit_timelocked_mechanism_weights`),
    /// made by [`crate::tlock::weights_commit`]; the runtime reveals it itself at `reveal_round`.
    CommitTimelocked {
        /// The subnet.
        netuid: NetUid,
        /// The mechanism.
        mechanism: MechanismId,
        /// The timelock-encrypted weights.
        commit: Vec<u8>,
        /// The drand round that unlocks it.
        reveal_round: u64,
        /// The runtime's commit-reveal version the ciphertext is for.
        commit_reveal_version: u16,
    },
}

fn u(value: impl Into<u128>) -> Value {
    Value::u128(value.into())
}

fn u16s(values: &[u16]) -> Value {
    Value::unnamed_composite(values.iter().map(|v| u(*v)))
}

impl WeightsCall {
    /// The call's name in the runtime chosen for `caps`, or why the runtime cannot take it.
    pub fn call_name(&self, caps: &Capabilities) -> Result<&'static str, ChainError> {
        let (plain, mech, plain_ok, mech_ok, mechanism) = match self {
            WeightsCall::Set(w) => {
                ("set_weights", "set_mechanism_weights", caps.set_weights, caps.mechanism_weights, w.mechanism)
            }
            WeightsCall::Commit { mechanism, .. } => (
                "commit_weights",
                "commit_mechanism_weights",
                caps.commit_reveal,
                caps.mechanism_commit_reveal,
                *mechanism,
            ),
            WeightsCall::Reveal { weights, .. } => (
                "reveal_weights",
                "reveal_mechanism_weights",
                caps.commit_reveal,
                caps.mechanism_commit_reveal,
                weights.mechanism,
            ),
            WeightsCall::CommitTimelocked { mechanism, .. } => (
                "commit_timelocked_weights",
                "commit_timelocked_mechanism_weights",
                caps.timelocked_commits,
                caps.mechanism_timelocked_commits,
                *mechanism,
            ),
        };
        match (mechanism.get(), plain_ok, mech_ok) {
            (0, true, _) => Ok(plain),
            (0, false, true) => Ok(mech),
            (_, _, true) => Ok(mech),
            (0, false, false) => Err(ChainError::Unsupported(plain.into())),
            (m, _, false) => Err(ChainError::Unsupported(format!("{mech} (mechanism {m})"))),
        }
    }

    /// The dynamic payload for the call chosen for `caps`.
    pub(crate) fn payload(&self, caps: &Capabilities) -> Result<DynamicPayload, ChainError> {
        let name = self.call_name(caps)?;
        let mechanism_call = name.contains("mechanism");
        let head = |netuid: NetUid, mechanism: MechanismId| {
            let mut fields = vec![u(netuid.get())];
            if mechanism_call {
                fields.push(u(mechanism.get()));
            }
            fields
        };
        let fields = match self {
            WeightsCall::Set(w) => {
                w.validate()?;
                let mut f = head(w.netuid, w.mechanism);
                f.extend([u16s(&w.uids), u16s(&w.values), u(w.version_key)]);
                f
            }
            WeightsCall::Commit { netuid, mechanism, hash } => {
                let mut f = head(*netuid, *mechanism);
                f.push(Value::from_bytes(hash.as_bytes()));
                f
            }
            WeightsCall::Reveal { weights: w, salt } => {
                w.validate()?;
                let mut f = head(w.netuid, w.mechanism);
                f.extend([u16s(&w.uids), u16s(&w.values), u16s(salt), u(w.version_key)]);
                f
            }
            WeightsCall::CommitTimelocked { netuid, mechanism, commit, reveal_round, commit_reveal_version } => {
                let mut f = head(*netuid, *mechanism);
                f.extend([Value::from_bytes(commit), u(*reveal_round), u(*commit_reveal_version)]);
                f
            }
        };
        Ok(subxt::dynamic::tx(PALLET, name, fields))
    }

    /// The SCALE call data (pallet index, call index, arguments) this call has under `metadata`.
    /// Used to check encodings offline against a runtime's metadata file.
    pub fn call_data(&self, metadata: &ChainMetadata) -> Result<Vec<u8>, ChainError> {
        let payload = self.payload(&Capabilities::of(metadata))?;
        payload.encode_call_data(&metadata.0).map_err(|e| ChainError::InvalidWeights(e.to_string()))
    }
}
