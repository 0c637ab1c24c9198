//! Wire conversions for challenges and sudo actions.

use super::{challenge_id, codec, hash, pb, required, single_kind};
use crate::domain::{
    ChallengeSpec, EmptyPolicy, Normalisation, Phases, RuntimePolicy, ScoringConfig, SudoAction, SudoCommand, Version,
};
use crate::envelope::MessageKind;
use crate::error::DecodeError;
use crate::ids::MechanismId;
use crate::limits::MAX_NAME_BYTES;

impl From<&RuntimePolicy> for pb::RuntimePolicy {
    fn from(p: &RuntimePolicy) -> Self {
        pb::RuntimePolicy {
            fuel_limit: p.fuel_limit,
            memory_pages_max: p.memory_pages_max,
            deadline_ms: p.deadline_ms,
            max_input_bytes: p.max_input_bytes,
            max_output_bytes: p.max_output_bytes,
            nested_fuel_limit: p.nested_fuel_limit,
        }
    }
}

impl TryFrom<pb::RuntimePolicy> for RuntimePolicy {
    type Error = DecodeError;

    fn try_from(p: pb::RuntimePolicy) -> Result<Self, DecodeError> {
        let policy = RuntimePolicy {
            fuel_limit: p.fuel_limit,
            memory_pages_max: p.memory_pages_max,
            deadline_ms: p.deadline_ms,
            max_input_bytes: p.max_input_bytes,
            max_output_bytes: p.max_output_bytes,
            nested_fuel_limit: p.nested_fuel_limit,
        };
        policy.validate()?;
        Ok(policy)
    }
}

impl From<&ScoringConfig> for pb::ScoringConfig {
    fn from(s: &ScoringConfig) -> Self {
        use pb::scoring_config::Normalisation as N;
        let normalisation = match s.normalisation {
            Normalisation::Softmax { temperature_milli } => N::Softmax(pb::Softmax { temperature_milli }),
            Normalisation::Linear => N::Linear(pb::Linear {}),
            Normalisation::ChampionTakesAll { margin_ppb, owner_share_ppb } => {
                N::Champion(pb::ChampionTakesAll { margin_ppb, owner_share_ppb })
            }
        };
        pb::ScoringConfig {
            normalisation: Some(normalisation),
            outlier_z_milli: s.outlier_z_milli,
            min_coverage_ppb: s.min_coverage_ppb,
            min_confidence_ppb: s.min_confidence_ppb,
            ema_alpha_ppb: s.ema_alpha_ppb,
            empty_policy: match s.empty_policy {
                EmptyPolicy::BurnToOwner => pb::EmptyPolicy::BurnToOwner,
                EmptyPolicy::Hold => pb::EmptyPolicy::Hold,
            } as i32,
        }
    }
}

impl TryFrom<pb::ScoringConfig> for ScoringConfig {
    type Error = DecodeError;

    fn try_from(s: pb::ScoringConfig) -> Result<Self, DecodeError> {
        use pb::scoring_config::Normalisation as N;
        let normalisation = match required("normalisation", s.normalisation)? {
            N::Softmax(p) => Normalisation::Softmax { temperature_milli: p.temperature_milli },
            N::Linear(_) => Normalisation::Linear,
            N::Champion(p) => {
                Normalisation::ChampionTakesAll { margin_ppb: p.margin_ppb, owner_share_ppb: p.owner_share_ppb }
            }
        };
        let config = ScoringConfig {
            normalisation,
            outlier_z_milli: s.outlier_z_milli,
            min_coverage_ppb: s.min_coverage_ppb,
            min_confidence_ppb: s.min_confidence_ppb,
            ema_alpha_ppb: s.ema_alpha_ppb,
            empty_policy: match pb::EmptyPolicy::try_from(s.empty_policy) {
                Ok(pb::EmptyPolicy::BurnToOwner) => EmptyPolicy::BurnToOwner,
                Ok(pb::EmptyPolicy::Hold) => EmptyPolicy::Hold,
                Err(_) => return Err(DecodeError::Invalid { field: "empty_policy", reason: "unknown policy" }),
            },
        };
        config.validate()?;
        Ok(config)
    }
}

impl From<&ChallengeSpec> for pb::ChallengeSpec {
    fn from(c: &ChallengeSpec) -> Self {
        pb::ChallengeSpec {
            id: c.id.as_str().to_owned(),
            name: c.name.clone(),
            module_hash: c.module_hash.as_bytes().to_vec(),
            module_size: c.module_size,
            policy: Some((&c.policy).into()),
            scoring: Some((&c.scoring).into()),
            mechanism_id: u32::from(c.mechanism.get()),
            emission_share_ppb: c.emission_share_ppb,
            params: c.params.clone(),
            reveal_blocks: c.phases.reveal_blocks().unwrap_or(0),
        }
    }
}

impl TryFrom<pb::ChallengeSpec> for ChallengeSpec {
    type Error = DecodeError;

    fn try_from(c: pb::ChallengeSpec) -> Result<Self, DecodeError> {
        if c.name.len() > MAX_NAME_BYTES {
            return Err(DecodeError::TooLarge { field: "name", size: c.name.len(), max: MAX_NAME_BYTES });
        }
        let mechanism = u8::try_from(c.mechanism_id)
            .map_err(|_| DecodeError::Invalid { field: "mechanism_id", reason: "exceeds 255" })?;
        let spec = ChallengeSpec {
            id: challenge_id(&c.id)?,
            name: c.name,
            module_hash: hash("module_hash", &c.module_hash)?,
            module_size: c.module_size,
            policy: required("policy", c.policy)?.try_into()?,
            scoring: required("scoring", c.scoring)?.try_into()?,
            mechanism: MechanismId::new(mechanism),
            emission_share_ppb: c.emission_share_ppb,
            params: c.params,
            phases: match c.reveal_blocks {
                0 => Phases::One,
                reveal_blocks => Phases::CommitReveal { reveal_blocks },
            },
        };
        spec.validate()?;
        Ok(spec)
    }
}

impl From<&Version> for pb::Version {
    fn from(v: &Version) -> Self {
        pb::Version { major: v.major, minor: v.minor, patch: v.patch }
    }
}

impl From<pb::Version> for Version {
    fn from(v: pb::Version) -> Self {
        Version { major: v.major, minor: v.minor, patch: v.patch }
    }
}

impl From<&SudoAction> for pb::SudoAction {
    fn from(a: &SudoAction) -> Self {
        use pb::sudo_action::Action as A;
        let action = match &a.command {
            SudoCommand::AddChallenge(spec) => A::AddChallenge(pb::AddChallenge { spec: Some(spec.into()) }),
            SudoCommand::UpdateChallenge(spec) => A::UpdateChallenge(pb::UpdateChallenge { spec: Some(spec.into()) }),
            SudoCommand::RemoveChallenge(id) => {
                A::RemoveChallenge(pb::RemoveChallenge { challenge_id: id.as_str().to_owned() })
            }
            SudoCommand::SetRequiredVersion(v) => {
                A::SetRequiredVersion(pb::SetRequiredVersion { version: Some(v.into()) })
            }
        };
        pb::SudoAction { action: Some(action), nonce: a.nonce, timestamp_ms: a.timestamp_ms }
    }
}

impl TryFrom<pb::SudoAction> for SudoAction {
    type Error = DecodeError;

    fn try_from(a: pb::SudoAction) -> Result<Self, DecodeError> {
        use pb::sudo_action::Action as A;
        let command = match required("action", a.action)? {
            A::AddChallenge(c) => SudoCommand::AddChallenge(required("spec", c.spec)?.try_into()?),
            A::UpdateChallenge(c) => SudoCommand::UpdateChallenge(required("spec", c.spec)?.try_into()?),
            A::RemoveChallenge(c) => SudoCommand::RemoveChallenge(challenge_id(&c.challenge_id)?),
            A::SetRequiredVersion(c) => SudoCommand::SetRequiredVersion(required("version", c.version)?.into()),
        };
        Ok(SudoAction { command, nonce: a.nonce, timestamp_ms: a.timestamp_ms })
    }
}

codec!(ChallengeSpec, pb::ChallengeSpec, "ChallengeSpec");
codec!(SudoAction, pb::SudoAction, "SudoAction");
single_kind!(SudoAction, MessageKind::SudoAction);
