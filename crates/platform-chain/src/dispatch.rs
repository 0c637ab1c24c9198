//! Turning what the node and the runtime answer into [`ChainError`]s.

use platform_types::PublicKey;

use crate::error::{ChainError, RevealRefusal};
use crate::types::WeightVector;
use platform_types::SubnetParams;

/// What a failed weights call was about, so its error can say something useful.
pub(crate) struct CallContext<'a> {
    pub netuid: u16,
    pub hotkey: &'a PublicKey,
    pub weights: Option<&'a WeightVector>,
    pub params: Option<SubnetParams>,
}

/// Maps a subtensor module error (by name) to a typed error.
pub(crate) fn module_error(pallet: &str, error: &str, docs: &str, ctx: &CallContext<'_>) -> ChainError {
    let netuid = ctx.netuid;
    let hotkey = || ctx.hotkey.to_ss58();
    match error {
        "SettingWeightsTooFast" | "CommittingWeightsTooFast" => {
            ChainError::RateLimited { blocks: ctx.params.map_or(0, |p| p.weights_rate_limit), next_block: None }
        }
        "TooManyUnrevealedCommits" => ChainError::TooManyUnrevealed { limit: crate::MAX_UNREVEALED_COMMITS },
        "IncorrectWeightVersionKey" => ChainError::VersionKey {
            sent: ctx.weights.map_or(0, |w| w.version_key),
            required: ctx.params.map_or(0, |p| p.weights_version_key),
        },
        "NeuronNoValidatorPermit" => ChainError::NoValidatorPermit { netuid },
        "CommitRevealEnabled" => ChainError::CommitRevealEnabled { netuid },
        "CommitRevealDisabled" => ChainError::CommitRevealDisabled { netuid },
        "HotKeyNotRegisteredInSubNet" | "HotKeyNotRegisteredInNetwork" | "NotRegistered" | "UidNotFound" => {
            ChainError::NotRegistered { netuid, hotkey: hotkey() }
        }
        "RevealTooEarly" => ChainError::Reveal(RevealRefusal::TooEarly),
        "ExpiredWeightCommit" => ChainError::Reveal(RevealRefusal::Expired),
        "InvalidRevealCommitHashNotMatch" => ChainError::Reveal(RevealRefusal::NoMatchingCommit),
        "NoWeightsCommitFound" => ChainError::Reveal(RevealRefusal::NoCommit),
        _ => ChainError::Module { pallet: pallet.into(), error: error.into(), docs: docs.trim().into() },
    }
}

/// Maps a transaction-pool refusal (invalid, dropped, or a signed-extension check), keeping
/// the node's words.
pub(crate) fn pool_error(message: &str) -> ChainError {
    ChainError::TransactionInvalid(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(key: &PublicKey) -> CallContext<'_> {
        CallContext {
            netuid: 3,
            hotkey: key,
            weights: None,
            params: Some(SubnetParams {
                weights_version_key: 9,
                weights_rate_limit: 100,
                commit_reveal_enabled: true,
                ..SubnetParams::unrestricted(360)
            }),
        }
    }

    #[test]
    fn every_weights_refusal_has_its_variant() {
        let key = PublicKey::from_bytes([1; 32]);
        let c = ctx(&key);
        let m = |name: &str| module_error("SubtensorModule", name, "", &c);
        assert_eq!(m("SettingWeightsTooFast"), ChainError::RateLimited { blocks: 100, next_block: None });
        assert_eq!(m("CommittingWeightsTooFast"), ChainError::RateLimited { blocks: 100, next_block: None });
        assert_eq!(m("TooManyUnrevealedCommits"), ChainError::TooManyUnrevealed { limit: 10 });
        assert_eq!(m("IncorrectWeightVersionKey"), ChainError::VersionKey { sent: 0, required: 9 });
        assert_eq!(m("NeuronNoValidatorPermit"), ChainError::NoValidatorPermit { netuid: 3 });
        assert_eq!(m("CommitRevealEnabled"), ChainError::CommitRevealEnabled { netuid: 3 });
        assert_eq!(m("CommitRevealDisabled"), ChainError::CommitRevealDisabled { netuid: 3 });
        assert!(matches!(m("HotKeyNotRegisteredInSubNet"), ChainError::NotRegistered { netuid: 3, .. }));
        assert_eq!(m("RevealTooEarly"), ChainError::Reveal(RevealRefusal::TooEarly));
        assert_eq!(m("ExpiredWeightCommit"), ChainError::Reveal(RevealRefusal::Expired));
        assert_eq!(m("InvalidRevealCommitHashNotMatch"), ChainError::Reveal(RevealRefusal::NoMatchingCommit));
        assert_eq!(m("NoWeightsCommitFound"), ChainError::Reveal(RevealRefusal::NoCommit));
        assert!(matches!(m("MaxWeightExceeded"), ChainError::Module { error, .. } if error == "MaxWeightExceeded"));
        assert!(m("NeuronNoValidatorPermit").to_string().contains("no validator permit on subnet 3"));
    }
}
