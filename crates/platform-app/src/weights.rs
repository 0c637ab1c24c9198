//! From committed evaluations to one weight vector per mechanism, and from the metagraph to
//! the validator set. Pure functions of the state and the metagraph, so the leader's proposal
//! and every follower's recomputation agree bit for bit.

use std::collections::BTreeMap;

use platform_scoring::{
    ChallengeEpoch, EmptyPolicy, Evaluated, MinerScore, chain_weights, epoch_weights, score_challenge,
};
use platform_types::{Epoch, MechanismId, MechanismWeights, Metagraph, Uid, Validator, ValidatorSet, WeightsProposal};

use crate::state::AppState;

/// The weights of an epoch and the smoothed scores behind them.
pub struct Computed {
    /// What goes in the block.
    pub proposal: WeightsProposal,
    /// Per challenge, the smoothed miner scores (kept for the next epoch's EMA).
    pub smoothed: BTreeMap<String, Vec<MinerScore>>,
}

/// Scores every active challenge over its committed submissions (each miner's best aggregate
/// since the challenge's current version), splits emission across challenges and mechanisms,
/// and converts to the chain's u16 form. Nothing earned goes to the subnet owner's uid.
pub fn compute(state: &AppState, metagraph: &Metagraph, epoch: Epoch) -> Computed {
    let validators = &state.registry.validators;
    let total_stake: u64 = validators.validators.iter().map(|v| v.stake).sum();
    let owner = metagraph.owner_hotkey.and_then(|h| metagraph.uid_of(&h)).map_or(0, |u| u.get());
    let mut outcomes = Vec::new();
    let mut smoothed = BTreeMap::new();
    for (id, entry) in &state.registry.challenges {
        let mut submissions = Vec::new();
        for sid in state.by_challenge.get(id).map(Vec::as_slice).unwrap_or_default() {
            let Some(committed) = state.submissions.get(sid) else { continue };
            if committed.height < entry.since {
                continue;
            }
            let Some(uid) = metagraph.uid_of(&committed.miner) else { continue };
            let scores = committed.scores(validators);
            if scores.is_empty() {
                continue;
            }
            submissions.push(Evaluated { uid: uid.get(), scores, assigned_stake: total_stake });
        }
        let previous = state.smoothed.get(id).cloned().unwrap_or_default();
        let outcome = score_challenge(
            &ChallengeEpoch {
                config: &entry.spec.scoring,
                mechanism: entry.spec.mechanism.get(),
                emission_share_ppb: entry.spec.emission_share_ppb,
                submissions: &submissions,
                previous: &previous,
                champion: None,
            },
            owner,
        );
        smoothed.insert(id.clone(), outcome.smoothed.clone());
        outcomes.push(outcome);
    }
    let mut by_mechanism = epoch_weights(&outcomes, owner, EmptyPolicy::BurnToOwner);
    if by_mechanism.is_empty() {
        by_mechanism.push((0, vec![(owner, 1.0)]));
    }
    let mechanisms = by_mechanism
        .into_iter()
        .filter_map(|(mechanism, shares)| {
            let (uids, weights): (Vec<u16>, Vec<f64>) = shares.into_iter().unzip();
            // The shares come from normalisation: finite and non-negative, so this cannot fail.
            let (uids, weights) = chain_weights(&uids, &weights).ok()?;
            Some(MechanismWeights {
                mechanism: MechanismId::new(mechanism),
                uids: uids.into_iter().map(Uid::new).collect(),
                weights,
            })
        })
        .collect();
    Computed { proposal: WeightsProposal { epoch, mechanisms }, smoothed }
}

/// The validator set the metagraph implies: permit holders with at least `min_stake` rao,
/// ordered by uid. `None` when nobody qualifies.
pub fn validator_set(metagraph: &Metagraph, min_stake: u64, epoch: Epoch) -> Option<ValidatorSet> {
    let validators: Vec<Validator> = metagraph
        .neurons
        .iter()
        .filter(|n| n.validator_permit && n.stake >= min_stake && n.stake > 0)
        .map(|n| Validator { hotkey: n.hotkey, uid: n.uid, stake: n.stake })
        .collect();
    (!validators.is_empty()).then_some(ValidatorSet { epoch, validators })
}
