//! From committed evaluations to one weight vector per mechanism, and from the metagraph to
//! the validator set. Pure functions of the state and the committed metagraph snapshot, so the
//! leader's proposal and every follower's recomputation agree bit for bit.

use std::collections::BTreeMap;

use platform_scoring::{
    ChainLimits, ChallengeOutcome, MinerScore, Score, best_scores, chain_weights, champion_of, epoch_weights,
    fit_to_chain_limits, normalise, smooth_scores,
};
use platform_types::{
    Epoch, MechanismId, MechanismWeights, Metagraph, Normalisation, PublicKey, Uid, Validator, ValidatorSet,
    WeightsProposal,
};

use crate::state::AppState;

/// Per challenge, each miner's smoothed score (ppb), by hotkey: the EMA's memory. Keyed by
/// hotkey, not uid, so that it is a function of the committed blocks alone — a replay reading
/// today's metagraph computes the same memory as the validators that applied the blocks then.
pub type Smoothed = BTreeMap<String, BTreeMap<PublicKey, u32>>;

/// This epoch's smoothed scores: per active challenge, each miner's best aggregate over its
/// submissions committed since the challenge's current version (coverage and confidence floors
/// applied), smoothed with the memory of the last committed weights. No chain data enters.
pub fn smoothed(state: &AppState) -> Smoothed {
    let validators = &state.registry.validators;
    let total_stake: u64 = validators.validators.iter().map(|v| v.stake).sum();
    let mut out = Smoothed::new();
    for (id, entry) in &state.registry.challenges {
        let mut submissions: Vec<(PublicKey, Vec<Score>)> = Vec::new();
        for sid in state.by_challenge.get(id).into_iter().flatten() {
            let Some(committed) = state.submissions.get(sid) else { continue };
            if committed.height < entry.since {
                continue;
            }
            let scores = committed.scores(validators);
            if !scores.is_empty() {
                submissions.push((committed.miner, scores));
            }
        }
        // Retired submissions count by their miner's best, as they counted while in the state.
        if let Some(retired) = state.retired.get(id).filter(|r| r.since == entry.since) {
            submissions.extend(retired.best.iter().map(|(miner, (_, pairs))| (*miner, crate::retire::scores(pairs))));
        }
        let config = &entry.spec.scoring;
        let (best, _dropped) =
            best_scores(config, submissions.iter().map(|(miner, scores)| (*miner, scores.as_slice(), total_stake)));
        let previous = state.smoothed.get(id).cloned().unwrap_or_default();
        out.insert(id.clone(), smooth_scores(&best, &previous, config.ema_alpha_ppb));
    }
    out
}

/// Per champion-takes-all challenge, the miner holding it (by hotkey, like [`Smoothed`]): the
/// incumbent its margin protects in the next epoch.
pub type Champions = BTreeMap<String, PublicKey>;

/// What an epoch's scoring decides: its weights, and the memory the next epoch starts from.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochOutcome {
    /// The weights of the epoch.
    pub weights: WeightsProposal,
    /// The smoothed scores ([`smoothed`]).
    pub smoothed: Smoothed,
    /// Who holds each champion-takes-all challenge after this epoch (a challenge nobody scored
    /// keeps its champion).
    pub champions: Champions,
}

/// The weights of `epoch` ([`outcome`]).
pub fn compute(state: &AppState, metagraph: &Metagraph, epoch: Epoch) -> WeightsProposal {
    outcome(state, metagraph, epoch).weights
}

/// The epoch's scoring: this epoch's smoothed scores ([`smoothed`]) of the miners the metagraph
/// snapshot registers, normalised per challenge as its scoring settings say (champion-takes-all
/// with the committed champion as incumbent), emission split across challenges and mechanisms
/// (a challenge nobody scored by its [`platform_types::EmptyPolicy`]), converted to the chain's
/// u16 form. With no challenge at all, the owner's uid gets the weight (burnt by the chain).
pub fn outcome(state: &AppState, metagraph: &Metagraph, epoch: Epoch) -> EpochOutcome {
    let owner = metagraph.owner_hotkey.and_then(|h| metagraph.uid_of(&h)).map_or(0, |u| u.get());
    let smoothed = smoothed(state);
    let mut champions: Champions = state
        .champions
        .iter()
        .filter(|(id, _)| state.registry.challenges.contains_key(*id))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let mut outcomes: Vec<ChallengeOutcome> = Vec::new();
    for (id, entry) in &state.registry.challenges {
        let mut scores: Vec<MinerScore> = smoothed
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|(miner, &score_ppb)| Some(MinerScore { uid: metagraph.uid_of(miner)?.get(), score_ppb }))
            .collect();
        scores.sort_by_key(|s| s.uid);
        let scoring = &entry.spec.scoring;
        let incumbent = state.champions.get(id).and_then(|h| metagraph.uid_of(h)).map(|u| u.get());
        let shares = normalise(&scores, scoring.normalisation, incumbent, owner);
        if let Normalisation::ChampionTakesAll { margin_ppb, .. } = scoring.normalisation
            && let Some(winner) = champion_of(&scores, incumbent, margin_ppb)
            && let Some(neuron) = metagraph.neurons.iter().find(|n| n.uid.get() == winner)
        {
            champions.insert(id.clone(), neuron.hotkey);
        }
        outcomes.push(ChallengeOutcome {
            mechanism: entry.spec.mechanism.get(),
            emission_share_ppb: entry.spec.emission_share_ppb,
            smoothed: scores,
            shares,
            dropped: 0,
            empty: scoring.empty_policy,
        });
    }
    let by_mechanism = if state.registry.challenges.is_empty() {
        vec![(0, vec![(owner, 1.0)])]
    } else {
        epoch_weights(&outcomes, owner)
    };
    let limits = ChainLimits {
        neurons: u16::try_from(metagraph.neurons.len()).unwrap_or(u16::MAX),
        min_allowed_weights: metagraph.params.min_allowed_weights,
        max_weights_limit: metagraph.params.max_weights_limit,
    };
    let mechanisms = by_mechanism
        .into_iter()
        .filter_map(|(mechanism, shares)| {
            let (uids, weights): (Vec<u16>, Vec<f64>) = shares.into_iter().unzip();
            // The shares come from normalisation: finite and non-negative, so this cannot fail.
            let (uids, weights) = chain_weights(&uids, &weights).ok()?;
            // The subnet's weight rules, from the agreed snapshot: every validator fits alike.
            let (uids, weights) = fit_to_chain_limits(uids, weights, limits);
            Some(MechanismWeights {
                mechanism: MechanismId::new(mechanism),
                uids: uids.into_iter().map(Uid::new).collect(),
                weights,
            })
        })
        .collect();
    EpochOutcome { weights: WeightsProposal { epoch, mechanisms }, smoothed, champions }
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
