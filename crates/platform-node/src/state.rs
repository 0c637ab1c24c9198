//! The application state: a deterministic function of the committed blocks. Every validator
//! applies the same blocks in the same order and so holds the same state, with the same root.
//!
//! One rule set serves both uses: [`AppState::check_block`] runs it on a scratch copy of the
//! small registry (to vote on a proposal), [`AppState::apply_block`] runs it for real (after
//! commit). An action that fails the rules on apply is skipped, identically everywhere.

use std::collections::{BTreeMap, HashMap, HashSet};

use parity_scale_codec::Encode;
use platform_chain::Metagraph;
use platform_consensus::Tip;
use platform_scoring::{MinerScore, Score};
use platform_types::{
    Action, Block, ChallengeId, ChallengeSpec, Envelope, Epoch, Evaluation, EvaluationStatus, Hash, Height, NetUid,
    PublicKey, SubmissionId, SudoAction, SudoCommand, ValidatorSet, VerifiedEnvelopes, Version, WeightsProposal,
    blake2b_256_parts, hash_of,
};

/// What the rules need of a submission body (held by the mempool or the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionInfo {
    /// Its challenge.
    pub challenge: ChallengeId,
    /// Its miner.
    pub miner: PublicKey,
}

/// One committed submission and the evaluations committed for it.
#[derive(Clone, Debug)]
pub struct Committed {
    /// Its challenge.
    pub challenge: ChallengeId,
    /// Its miner.
    pub miner: PublicKey,
    /// Height of the block that ordered it.
    pub height: Height,
    /// Hash of that block (the evaluation seed derives from it).
    pub block_hash: Hash,
    /// Epoch of that block.
    pub epoch: Epoch,
    /// Committed evaluations by validator: status, score, output hash.
    pub evaluations: BTreeMap<PublicKey, (EvaluationStatus, u32, Hash)>,
}

impl Committed {
    /// The committed scores, each weighted by its evaluator's stake in `validators` (a rejection
    /// scores 0; evaluations by non-members are left out).
    pub fn scores(&self, validators: &ValidatorSet) -> Vec<Score> {
        self.evaluations
            .iter()
            .filter_map(|(validator, (status, score, _))| {
                let stake = validators.validators.iter().find(|v| &v.hotkey == validator)?.stake;
                let score_ppb = if *status == EvaluationStatus::Scored { *score } else { 0 };
                Some(Score { stake, score_ppb })
            })
            .collect()
    }

    /// Stake of the members of `validators` whose evaluations are committed.
    pub fn evaluated_stake(&self, validators: &ValidatorSet) -> u128 {
        validators
            .validators
            .iter()
            .filter(|v| self.evaluations.contains_key(&v.hotkey))
            .map(|v| u128::from(v.stake))
            .sum()
    }

    /// Final: evaluations from more than two thirds of the stake are committed.
    pub fn is_final(&self, validators: &ValidatorSet) -> bool {
        let total: u128 = validators.validators.iter().map(|v| u128::from(v.stake)).sum();
        self.evaluated_stake(validators) * 3 > total * 2
    }
}

/// A registered challenge.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
pub struct ChallengeEntry {
    /// Its specification.
    pub spec: ChallengeSpec,
    /// Height at which this version took effect; older submissions do not count for it.
    pub since: Height,
}

/// The small, cloneable part of the state.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
pub struct Registry {
    /// Active challenges.
    pub challenges: BTreeMap<String, ChallengeEntry>,
    /// The lowest node version allowed to vote.
    pub required_version: Option<Version>,
    /// The current validator set.
    pub validators: ValidatorSet,
    /// Highest sudo nonce applied (sudo nonces must increase).
    pub sudo_nonce: Option<u64>,
    /// Epoch of the last committed weights (initially the first block's epoch).
    pub weights_epoch: Option<Epoch>,
}

/// Why a block or action breaks the rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A submission the block orders is not (yet) known locally.
    #[error("submission {0} is unknown here")]
    MissingSubmission(SubmissionId),
    /// Anything else.
    #[error("{0}")]
    Rule(String),
}

fn rule(reason: impl Into<String>) -> Invalid {
    Invalid::Rule(reason.into())
}

/// What the rules need from outside the state: who may sign sudo actions and what the chain says.
pub struct Context<'a> {
    /// The subnet.
    pub netuid: NetUid,
    /// Keys allowed to sign sudo actions.
    pub sudo: &'a [PublicKey],
    /// The chain's metagraph (for weights and validator sets); `None` when unknown.
    pub metagraph: Option<&'a Metagraph>,
    /// Minimum validator stake, in rao.
    pub min_stake: u64,
    /// Submission bodies.
    pub lookup: &'a dyn Fn(&SubmissionId) -> Option<SubmissionInfo>,
    /// Envelopes whose signatures this node has checked already.
    pub verified: &'a VerifiedEnvelopes,
}

/// What applying a block changed, for the node to act on.
#[derive(Debug, Default)]
pub struct Effects {
    /// Submissions ordered by the block, to evaluate.
    pub submissions: Vec<SubmissionId>,
    /// Evaluations committed, by (submission, validator).
    pub evaluations: Vec<(SubmissionId, PublicKey)>,
    /// Sudo actions applied (their payload hashes) and those skipped.
    pub sudo: Vec<(Hash, Result<(), String>)>,
    /// Weights agreed in this block.
    pub weights: Option<WeightsProposal>,
    /// A validator set for the following heights.
    pub next_validators: Option<ValidatorSet>,
    /// A challenge was added, updated or removed.
    pub challenges_changed: bool,
}

/// The whole application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The last applied block.
    pub tip: Tip,
    /// The small part.
    pub registry: Registry,
    /// Committed submissions.
    pub submissions: HashMap<SubmissionId, Committed>,
    /// Committed submission ids per challenge, in commit order.
    pub by_challenge: BTreeMap<String, Vec<SubmissionId>>,
    /// Smoothed scores of the last committed weights, per challenge (the EMA's memory).
    pub smoothed: BTreeMap<String, Vec<MinerScore>>,
}

/// Changes to the ledger made by earlier actions of the block being checked.
#[derive(Default)]
struct Overlay {
    submissions: HashMap<SubmissionId, (SubmissionInfo, Epoch)>,
    evaluations: HashSet<(SubmissionId, PublicKey)>,
}

/// What one valid action does.
enum Change {
    Submission(SubmissionId, SubmissionInfo),
    Evaluation(SubmissionId, Evaluation),
    Sudo(Hash, SudoAction),
    Weights(WeightsProposal),
    Validators(ValidatorSet),
}

impl AppState {
    /// The state before any block, with the genesis validator set.
    pub fn genesis(validators: ValidatorSet) -> AppState {
        let registry = Registry {
            challenges: BTreeMap::new(),
            required_version: None,
            validators,
            sudo_nonce: None,
            weights_epoch: None,
        };
        let root = hash_of(&registry);
        AppState {
            tip: Tip::genesis(root, Epoch::new(0)),
            registry,
            submissions: HashMap::new(),
            by_challenge: BTreeMap::new(),
            smoothed: BTreeMap::new(),
        }
    }

    /// The active challenge with this id.
    pub fn challenge(&self, id: &ChallengeId) -> Option<&ChallengeEntry> {
        self.registry.challenges.get(id.as_str())
    }

    /// Whether weights are due in a block of `epoch`.
    pub fn weights_due(&self, epoch: Epoch) -> bool {
        self.registry.weights_epoch.is_some_and(|last| epoch > last)
    }

    /// Checks a proposed block against the rules, without changing anything.
    pub fn check_block(&self, block: &Block, ctx: &Context<'_>) -> Result<(), Invalid> {
        if block.header.height != self.tip.height.next() {
            return Err(rule(format!("height {} does not follow {}", block.header.height, self.tip.height)));
        }
        if block.header.epoch < self.tip.epoch {
            return Err(rule("epoch goes backwards"));
        }
        let mut checker = self.checker(block.header.epoch);
        block.actions.iter().try_for_each(|action| checker.push(action, ctx))
    }

    /// Checks the actions of a block of `epoch` one by one, each against the state as the
    /// earlier ones leave it (how a leader fills a block).
    pub fn checker(&self, epoch: Epoch) -> Checker<'_> {
        Checker { state: self, epoch, registry: self.registry.clone(), overlay: Overlay::default() }
    }

    /// Applies a committed block; returns what changed. The tip moves to the block. Weights and
    /// validator sets are taken as committed (a quorum compared them with the chain); every
    /// other rule runs again, and the submissions the block orders must be known to `ctx`.
    pub fn apply_block(&mut self, block: &Block, ctx: &Context<'_>) -> Effects {
        let mut effects = Effects::default();
        let header = &block.header;
        if self.registry.weights_epoch.is_none() {
            self.registry.weights_epoch = Some(header.epoch);
        }
        let empty = Overlay::default();
        for action in &block.actions {
            let change = match self.check_action(&self.registry, &empty, header.epoch, action, ctx, true) {
                Ok(change) => change,
                Err(reason) => {
                    if let Action::Sudo(envelope) = action {
                        effects.sudo.push((envelope.payload_hash(), Err(reason.to_string())));
                    }
                    tracing::warn!(height = header.height.get(), %reason, "committed action skipped");
                    continue;
                }
            };
            apply_to_registry(&mut self.registry, &change, header.height);
            match change {
                Change::Submission(id, info) => {
                    self.by_challenge.entry(info.challenge.as_str().to_owned()).or_default().push(id);
                    self.submissions.insert(
                        id,
                        Committed {
                            challenge: info.challenge,
                            miner: info.miner,
                            height: header.height,
                            block_hash: block.hash(),
                            epoch: header.epoch,
                            evaluations: BTreeMap::new(),
                        },
                    );
                    effects.submissions.push(id);
                }
                Change::Evaluation(id, evaluation) => {
                    if let Some(committed) = self.submissions.get_mut(&id) {
                        committed.evaluations.insert(
                            evaluation.validator,
                            (evaluation.status, evaluation.score_ppb, evaluation.output_hash),
                        );
                    }
                    effects.evaluations.push((id, evaluation.validator));
                }
                Change::Sudo(hash, _) => {
                    effects.sudo.push((hash, Ok(())));
                    effects.challenges_changed = true;
                }
                Change::Weights(proposal) => {
                    if let Some(metagraph) = ctx.metagraph {
                        let computed = crate::weights::compute(self, metagraph, proposal.epoch);
                        self.smoothed = computed.smoothed;
                    }
                    effects.weights = Some(proposal);
                }
                Change::Validators(set) => effects.next_validators = Some(set),
            }
        }
        let root = blake2b_256_parts(&[
            self.tip.state_root.as_bytes(),
            block.hash().as_bytes(),
            hash_of(&self.registry).as_bytes(),
        ]);
        self.tip = Tip { height: header.height, hash: block.hash(), state_root: root, epoch: header.epoch };
        effects
    }

    fn check_action(
        &self,
        registry: &Registry,
        overlay: &Overlay,
        epoch: Epoch,
        action: &Action,
        ctx: &Context<'_>,
        committed: bool,
    ) -> Result<Change, Invalid> {
        match action {
            Action::Submission(id) => {
                if self.submissions.contains_key(id) || overlay.submissions.contains_key(id) {
                    return Err(rule(format!("submission {id} ordered twice")));
                }
                let info = (ctx.lookup)(id).ok_or(Invalid::MissingSubmission(*id))?;
                if !registry.challenges.contains_key(info.challenge.as_str()) {
                    return Err(rule(format!("submission {id} is for inactive challenge {}", info.challenge)));
                }
                Ok(Change::Submission(*id, info))
            }
            Action::Evaluation(envelope) => self.check_evaluation(registry, overlay, envelope, ctx),
            Action::Sudo(envelope) => {
                let signed = ctx
                    .verified
                    .open::<SudoAction>(envelope, ctx.netuid)
                    .map_err(|e| rule(format!("sudo action: {e}")))?;
                if !ctx.sudo.contains(&signed.signer) {
                    return Err(rule(format!("sudo action signed by {}, who is not the subnet owner", signed.signer)));
                }
                check_sudo(registry, &signed.message)?;
                Ok(Change::Sudo(envelope.payload_hash(), signed.message))
            }
            Action::Weights(proposal) => {
                if proposal.epoch != epoch {
                    return Err(rule("weights for another epoch than the block's"));
                }
                if registry.weights_epoch.is_none_or(|last| proposal.epoch <= last) {
                    return Err(rule(format!("weights for epoch {} are not due", proposal.epoch)));
                }
                if committed {
                    // A quorum checked it against the chain; the metagraph may have moved since.
                    return Ok(Change::Weights(proposal.clone()));
                }
                let metagraph = ctx.metagraph.ok_or_else(|| rule("no metagraph to check weights against"))?;
                let expected = crate::weights::compute(self, metagraph, proposal.epoch).proposal;
                if &expected != proposal {
                    return Err(rule("weights differ from this validator's computation"));
                }
                Ok(Change::Weights(proposal.clone()))
            }
            Action::ValidatorSet(set) if committed => Ok(Change::Validators(set.clone())),
            Action::ValidatorSet(set) => {
                let metagraph = ctx.metagraph.ok_or_else(|| rule("no metagraph to check the validator set against"))?;
                let expected = crate::weights::validator_set(metagraph, ctx.min_stake, set.epoch)
                    .ok_or_else(|| rule("the metagraph has no validators"))?;
                if &expected != set || set.epoch != epoch {
                    return Err(rule("validator set differs from the metagraph"));
                }
                Ok(Change::Validators(set.clone()))
            }
        }
    }

    fn check_evaluation(
        &self,
        registry: &Registry,
        overlay: &Overlay,
        envelope: &Envelope,
        ctx: &Context<'_>,
    ) -> Result<Change, Invalid> {
        let signed =
            ctx.verified.open::<Evaluation>(envelope, ctx.netuid).map_err(|e| rule(format!("evaluation: {e}")))?;
        let evaluation = signed.message;
        if !registry.validators.validators.iter().any(|v| v.hotkey == evaluation.validator) {
            return Err(rule(format!("evaluation by {}, who is not a validator", evaluation.validator)));
        }
        let id = evaluation.submission;
        let (challenge, epoch, seen) = match (self.submissions.get(&id), overlay.submissions.get(&id)) {
            (Some(c), _) => (&c.challenge, c.epoch, c.evaluations.contains_key(&evaluation.validator)),
            (None, Some((info, epoch))) => (&info.challenge, *epoch, false),
            (None, None) => return Err(rule(format!("evaluation of uncommitted submission {id}"))),
        };
        if seen || overlay.evaluations.contains(&(id, evaluation.validator)) {
            return Err(rule(format!("second evaluation of {id} by {}", evaluation.validator)));
        }
        if &evaluation.challenge != challenge || evaluation.epoch != epoch {
            return Err(rule(format!("evaluation of {id} names the wrong challenge or epoch")));
        }
        Ok(Change::Evaluation(id, evaluation))
    }
}

/// Checks actions in order against a scratch copy of the registry.
pub struct Checker<'s> {
    state: &'s AppState,
    epoch: Epoch,
    registry: Registry,
    overlay: Overlay,
}

impl Checker<'_> {
    /// Checks one more action; on success it counts for the actions after it.
    pub fn push(&mut self, action: &Action, ctx: &Context<'_>) -> Result<(), Invalid> {
        let change = self.state.check_action(&self.registry, &self.overlay, self.epoch, action, ctx, false)?;
        match &change {
            Change::Submission(id, info) => {
                self.overlay.submissions.insert(*id, (info.clone(), self.epoch));
            }
            Change::Evaluation(id, evaluation) => {
                self.overlay.evaluations.insert((*id, evaluation.validator));
            }
            _ => {}
        }
        apply_to_registry(&mut self.registry, &change, self.state.tip.height.next());
        Ok(())
    }
}

fn check_sudo(registry: &Registry, action: &SudoAction) -> Result<(), Invalid> {
    if registry.sudo_nonce.is_some_and(|last| action.nonce <= last) {
        return Err(rule(format!("sudo nonce {} is not above the last applied one", action.nonce)));
    }
    match &action.command {
        SudoCommand::AddChallenge(spec) if registry.challenges.contains_key(spec.id.as_str()) => {
            Err(rule(format!("challenge {} already exists", spec.id)))
        }
        SudoCommand::UpdateChallenge(spec) if !registry.challenges.contains_key(spec.id.as_str()) => {
            Err(rule(format!("no challenge {} to update", spec.id)))
        }
        SudoCommand::RemoveChallenge(id) if !registry.challenges.contains_key(id.as_str()) => {
            Err(rule(format!("no challenge {id} to remove")))
        }
        _ => Ok(()),
    }
}

/// What an action does to the registry (the same for checking and applying).
fn apply_to_registry(registry: &mut Registry, change: &Change, height: Height) {
    match change {
        Change::Sudo(_, action) => {
            registry.sudo_nonce = Some(action.nonce);
            match &action.command {
                SudoCommand::AddChallenge(spec) | SudoCommand::UpdateChallenge(spec) => {
                    registry
                        .challenges
                        .insert(spec.id.as_str().to_owned(), ChallengeEntry { spec: spec.clone(), since: height });
                }
                SudoCommand::RemoveChallenge(id) => {
                    registry.challenges.remove(id.as_str());
                }
                SudoCommand::SetRequiredVersion(version) => registry.required_version = Some(*version),
            }
        }
        Change::Weights(proposal) => registry.weights_epoch = Some(proposal.epoch),
        Change::Validators(set) => registry.validators = set.clone(),
        Change::Submission(..) | Change::Evaluation(..) => {}
    }
}
