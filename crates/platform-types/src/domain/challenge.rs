//! Challenges and the subnet owner's signed actions on them.

use std::fmt;
use std::str::FromStr;

use parity_scale_codec::{Decode, Encode};

use crate::error::DecodeError;
use crate::hash::Hash;
use crate::ids::{ChallengeId, MechanismId};
use crate::limits::{MAX_MODULE_BYTES, MAX_NAME_BYTES, MAX_PARAMS_BYTES, MAX_REVEAL_BLOCKS, PPB};

/// The limits every evaluation of a challenge runs under.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct RuntimePolicy {
    /// Instruction fuel for one evaluation.
    pub fuel_limit: u64,
    /// Linear memory cap, in 64 KiB WASM pages.
    pub memory_pages_max: u32,
    /// Wall-clock safety net for one evaluation, in milliseconds.
    pub deadline_ms: u32,
    /// Largest input (payload plus context) handed to the module.
    pub max_input_bytes: u32,
    /// Largest output the module may return.
    pub max_output_bytes: u32,
    /// Fuel for a miner module run in the nested sandbox (0 = nesting not allowed).
    pub nested_fuel_limit: u64,
}

impl Default for RuntimePolicy {
    fn default() -> Self {
        RuntimePolicy {
            fuel_limit: 10_000_000_000,
            memory_pages_max: 1024,
            deadline_ms: 10_000,
            max_input_bytes: 8 * 1024 * 1024,
            max_output_bytes: 64 * 1024,
            nested_fuel_limit: 1_000_000_000,
        }
    }
}

impl RuntimePolicy {
    /// Checks that every limit is usable: non-zero and within what the runtime supports.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let invalid = |field, reason| Err(DecodeError::Invalid { field, reason });
        if self.fuel_limit == 0 {
            return invalid("fuel_limit", "must be > 0");
        }
        if !(1..=65_536).contains(&self.memory_pages_max) {
            return invalid("memory_pages_max", "must be 1..=65536 pages");
        }
        if self.deadline_ms == 0 || self.deadline_ms > 600_000 {
            return invalid("deadline_ms", "must be 1..=600000");
        }
        if self.max_input_bytes == 0 {
            return invalid("max_input_bytes", "must be > 0");
        }
        if self.max_output_bytes == 0 || self.max_output_bytes > 16 * 1024 * 1024 {
            return invalid("max_output_bytes", "must be 1..=16 MiB");
        }
        Ok(())
    }
}

/// How a challenge turns its miners' aggregated scores into weights.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Normalisation {
    /// `exp(score / T)` normalised; `temperature_milli` is T in thousandths.
    Softmax {
        /// Temperature in thousandths (> 0).
        temperature_milli: u32,
    },
    /// Weights proportional to scores.
    Linear,
    /// The best miner takes the challenge's share.
    ChampionTakesAll {
        /// A challenger must beat the champion by this many ppb to take over.
        margin_ppb: u32,
        /// Share kept by the owner's uid, in ppb.
        owner_share_ppb: u32,
    },
}

/// What happens to a challenge's emission share in an epoch in which no miner earned any.
/// The chain burns whatever is paid to the subnet owner's hotkey (its `MinerBurned`), so
/// [`EmptyPolicy::BurnToOwner`] removes that emission from the subnet, and
/// [`EmptyPolicy::Hold`] keeps it with the miners of the mechanism's other challenges.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode)]
pub enum EmptyPolicy {
    /// Weight the owner's uid with it: the chain burns it.
    #[default]
    BurnToOwner,
    /// Hand it to the challenges of the mechanism that did score; when none did, the
    /// mechanism gets no new weights this epoch (the weights on chain stay).
    Hold,
}

/// Aggregation and normalisation settings of a challenge. Integers only, so every validator
/// reads the same numbers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ScoringConfig {
    /// How scores become weights.
    pub normalisation: Normalisation,
    /// Outlier threshold |z| in thousandths (2000 = 2σ).
    pub outlier_z_milli: u32,
    /// Minimum coverage (share of assigned validators that evaluated), ppb.
    pub min_coverage_ppb: u32,
    /// Minimum confidence (agreement among validators), ppb.
    pub min_confidence_ppb: u32,
    /// EMA smoothing factor across epochs, ppb (0 = off).
    pub ema_alpha_ppb: u32,
    /// What happens to the challenge's share in an epoch no miner earned any.
    pub empty_policy: EmptyPolicy,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            normalisation: Normalisation::Linear,
            outlier_z_milli: 2_000,
            min_coverage_ppb: 0,
            min_confidence_ppb: 0,
            ema_alpha_ppb: 0,
            empty_policy: EmptyPolicy::BurnToOwner,
        }
    }
}

impl ScoringConfig {
    /// Checks shares are at most 1.0 and the softmax temperature is positive.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let ppb_fields = [
            ("min_coverage_ppb", self.min_coverage_ppb),
            ("min_confidence_ppb", self.min_confidence_ppb),
            ("ema_alpha_ppb", self.ema_alpha_ppb),
        ];
        for (field, value) in ppb_fields {
            check_ppb(field, value)?;
        }
        match self.normalisation {
            Normalisation::Softmax { temperature_milli: 0 } => {
                Err(DecodeError::Invalid { field: "temperature_milli", reason: "must be > 0" })
            }
            Normalisation::ChampionTakesAll { margin_ppb, owner_share_ppb } => {
                check_ppb("margin_ppb", margin_ppb)?;
                check_ppb("owner_share_ppb", owner_share_ppb)
            }
            _ => Ok(()),
        }
    }
}

pub(crate) fn check_ppb(field: &'static str, value: u32) -> Result<(), DecodeError> {
    if value > PPB {
        return Err(DecodeError::Invalid { field, reason: "must be at most 1_000_000_000 (1.0)" });
    }
    Ok(())
}

/// A challenge as registered by the owner: which module, under which limits, scored how.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ChallengeSpec {
    /// Slug identifying the challenge.
    pub id: ChallengeId,
    /// Display name.
    pub name: String,
    /// blake2b-256 of the WASM module; the owner's signature covers it.
    pub module_hash: Hash,
    /// Size of the module in bytes.
    pub module_size: u64,
    /// Runtime limits.
    pub policy: RuntimePolicy,
    /// Scoring settings.
    pub scoring: ScoringConfig,
    /// Bittensor mechanism whose weights this challenge feeds.
    pub mechanism: MechanismId,
    /// Share of the mechanism's emission, ppb.
    pub emission_share_ppb: u32,
    /// The challenge's own parameters (at most [`MAX_PARAMS_BYTES`]), signed with the rest:
    /// what its module reads through the `params` host function, e.g. its scoring exponents.
    /// Opaque here; the module defines and checks their form.
    pub params: Vec<u8>,
    /// Whether a miner answers in one submission or commits, then reveals.
    pub phases: Phases,
}

/// How miners answer a challenge.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode)]
pub enum Phases {
    /// One submission is the answer, evaluated on its own (or with its epoch's others).
    #[default]
    One,
    /// Two submissions: a *commitment* to the task of an epoch (drawn from that epoch's public
    /// task seed), which is not evaluated, then its *reveal*, accepted within `reveal_blocks`
    /// blocks after the block that ordered the commitment and evaluated with it and a sampling
    /// seed from that block, which the miner could not know when it committed
    /// (docs/runtime-abi.md, "Two-phase challenges").
    CommitReveal {
        /// Blocks after the commitment's block within which its reveal may be ordered,
        /// 1..=[`MAX_REVEAL_BLOCKS`].
        reveal_blocks: u32,
    },
}

impl Phases {
    /// The reveal window, for a two-phase challenge.
    pub fn reveal_blocks(self) -> Option<u32> {
        match self {
            Phases::One => None,
            Phases::CommitReveal { reveal_blocks } => Some(reveal_blocks),
        }
    }
}

impl ChallengeSpec {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.name.len() > MAX_NAME_BYTES {
            return Err(DecodeError::TooLarge { field: "name", size: self.name.len(), max: MAX_NAME_BYTES });
        }
        if self.module_size == 0 || self.module_size > MAX_MODULE_BYTES {
            return Err(DecodeError::Invalid { field: "module_size", reason: "must be 1..=32 MiB" });
        }
        if self.params.len() > MAX_PARAMS_BYTES {
            return Err(DecodeError::TooLarge { field: "params", size: self.params.len(), max: MAX_PARAMS_BYTES });
        }
        if let Phases::CommitReveal { reveal_blocks } = self.phases
            && !(1..=MAX_REVEAL_BLOCKS).contains(&reveal_blocks)
        {
            return Err(DecodeError::Invalid { field: "reveal_blocks", reason: "must be 1..=500" });
        }
        self.policy.validate()?;
        self.scoring.validate()?;
        check_ppb("emission_share_ppb", self.emission_share_ppb)
    }
}

/// A software version, ordered by (major, minor, patch).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = DecodeError;

    /// Parses `MAJOR.MINOR.PATCH` (a leading `v` is allowed).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = DecodeError::Invalid { field: "version", reason: "expected MAJOR.MINOR.PATCH" };
        let parts: Vec<&str> = text.trim().trim_start_matches('v').split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(invalid);
        };
        let number = |part: &str| part.parse::<u32>().map_err(|_| invalid.clone());
        Ok(Version { major: number(major)?, minor: number(minor)?, patch: number(patch)? })
    }
}

/// What the owner asks the network to do.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum SudoCommand {
    /// Register a new challenge.
    AddChallenge(ChallengeSpec),
    /// Replace an existing challenge's module, policy or scoring.
    UpdateChallenge(ChallengeSpec),
    /// Retire a challenge.
    RemoveChallenge(ChallengeId),
    /// Nodes below this version stop voting.
    SetRequiredVersion(Version),
}

/// An owner action, signed in an envelope of kind [`crate::MessageKind::SudoAction`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SudoAction {
    /// What to do.
    pub command: SudoCommand,
    /// Replay protection: unique per owner key within the time window.
    pub nonce: u64,
    /// Replay protection: when the owner signed, ms since the Unix epoch.
    pub timestamp_ms: u64,
}
