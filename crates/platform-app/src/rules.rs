//! The block rules: what a block may contain, checked the same way when a leader fills a
//! block ([`AppState::checker`]), when a follower votes on one ([`AppState::check_block`]),
//! when a committed block is applied ([`AppState::apply_block`]) and when an auditor replays
//! one ([`AppState::audit_block`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use platform_types::{
    Action, Block, BlockHeader, BlockRef, Envelope, Epoch, Evaluation, EvaluationBatch, Hash, Height, Metagraph,
    NetUid, PublicKey, SubmissionId, SudoAction, SudoCommand, ValidatorSet, VerifiedEnvelopes, WeightsProposal,
};

use crate::link::ChainView;
use crate::phases::{Entry, PhaseOverlay, Revealed};
use crate::state::{AppState, ChallengeEntry, Registry, SubmissionInfo};

/// Why a block or action breaks the rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// A submission the block orders is not (yet) known locally.
    #[error("submission {0} is unknown here")]
    MissingSubmission(SubmissionId),
    /// The block links to a chain block this validator has not seen (yet).
    #[error("chain block {0} is not known here yet")]
    ChainNotSeen(u64),
    /// The block commits a metagraph snapshot of a chain block whose metagraph this validator
    /// has not read (yet) to compare it with.
    #[error("the metagraph at chain block {} is not read here yet", .0.number)]
    MetagraphNotRead(BlockRef),
    /// Anything else.
    #[error("{0}")]
    Rule(String),
}

impl Invalid {
    /// Whether the refusal may end by waiting: something the block refers to may still arrive
    /// (a submission body by gossip, a chain block through the chain follower, the metagraph
    /// at a chain block from the chain).
    pub fn is_pending(&self) -> bool {
        matches!(self, Invalid::MissingSubmission(_) | Invalid::ChainNotSeen(_) | Invalid::MetagraphNotRead(_))
    }
}

pub(crate) fn rule(reason: impl Into<String>) -> Invalid {
    Invalid::Rule(reason.into())
}

/// What the rules need from outside the state: who may sign sudo actions and what the chain says.
pub struct Context<'a> {
    /// The subnet.
    pub netuid: NetUid,
    /// Keys allowed to sign sudo actions.
    pub sudo: &'a [PublicKey],
    /// The metagraph this validator read from the chain at a block (to check a proposed
    /// snapshot against); `None` when it has not read that block's.
    pub metagraph_at: &'a dyn Fn(&BlockRef) -> Option<Arc<Metagraph>>,
    /// The chain blocks this validator has seen (to check a proposal's chain link); `None`
    /// when it has seen none, and when applying committed blocks (which are not checked).
    pub chain: Option<&'a ChainView>,
    /// Minimum validator stake, in rao.
    pub min_stake: u64,
    /// Submission bodies.
    pub lookup: &'a dyn Fn(&SubmissionId) -> Option<SubmissionInfo>,
    /// Envelopes whose signatures this node has checked already.
    pub verified: &'a VerifiedEnvelopes,
}

/// How much of an action is checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// A proposal: everything, chain data against this validator's own reads.
    Vote,
    /// A committed block replayed by an auditor: everything a replay can recompute (weights,
    /// validator sets, signatures, sudo keys); a metagraph snapshot is compared with the chain
    /// when `Context::metagraph_at` has the chain's, else taken as committed.
    Audit,
    /// A committed block applied: chain data, weights and validator sets as committed.
    Apply,
}

/// Changes to the ledger made by earlier actions of the block being checked.
#[derive(Default)]
pub(crate) struct Overlay {
    submissions: HashMap<SubmissionId, (SubmissionInfo, Epoch)>,
    evaluations: HashSet<(SubmissionId, PublicKey)>,
    phases: PhaseOverlay,
}

/// What one valid action does.
pub(crate) enum Change {
    Submission(SubmissionId, SubmissionInfo, Option<Revealed>),
    Commitment(SubmissionId, SubmissionInfo, Epoch, Hash),
    /// One validator's batch of evaluations, each checked.
    Evaluations(Vec<Evaluation>),
    Sudo(Hash, SudoAction),
    Weights(WeightsProposal),
    Validators(ValidatorSet),
    Metagraph(Epoch, Metagraph),
}

impl AppState {
    /// Checks a proposed block against the rules, without changing anything: its height, its
    /// link to the chain and epoch ([`ChainView::check`]), then every action in order.
    pub fn check_block(&self, block: &Block, ctx: &Context<'_>) -> Result<(), Invalid> {
        self.check_header(&block.header, ctx)?;
        let mut checker = self.checker(block.header.epoch);
        block.actions.iter().try_for_each(|action| checker.push(action, ctx))
    }

    /// The part of [`AppState::check_block`] that is not about the actions: the header's
    /// height and its link to the chain and epoch. A leader whose block's actions are the
    /// ones its [`AppState::checker`] just passed one by one checks only this.
    pub fn check_header(&self, header: &BlockHeader, ctx: &Context<'_>) -> Result<(), Invalid> {
        if header.height != self.tip.height.next() {
            return Err(rule(format!("height {} does not follow {}", header.height, self.tip.height)));
        }
        let chain = ctx.chain.ok_or(Invalid::ChainNotSeen(header.chain.number))?;
        chain.check(header, self.chain, self.tip.epoch)
    }

    /// Checks the actions of a block of `epoch` one by one, each against the state as the
    /// earlier ones leave it (how a leader fills a block).
    pub fn checker(&self, epoch: Epoch) -> Checker<'_> {
        Checker { state: self, epoch, registry: self.registry.clone(), overlay: Overlay::default(), mode: Mode::Vote }
    }

    /// A committed block checked again by an auditor, before it is applied: it must follow
    /// the tip (height, parent hash, parent state root), and every action must pass the rules
    /// as a voter checks them, with the weights and validator sets recomputed from the state.
    /// Chain data is not read again: the chain link is taken as committed, and a metagraph
    /// snapshot is compared with `ctx.metagraph_at` where that has the chain's. Returns each
    /// action that breaks the rules, with why (empty: the block is sound); a block that does
    /// not follow the tip is one entry at index `None`.
    pub fn audit_block(&self, block: &Block, ctx: &Context<'_>) -> Vec<(Option<usize>, Invalid)> {
        let header = &block.header;
        if header.height != self.tip.height.next() {
            return vec![(None, rule(format!("height {} does not follow {}", header.height, self.tip.height)))];
        }
        if header.parent_hash != self.tip.hash || header.parent_state_root != self.tip.state_root {
            return vec![(None, rule(format!("block {} names another parent or state root", header.height)))];
        }
        let mut checker = Checker { mode: Mode::Audit, ..self.checker(header.epoch) };
        block
            .actions
            .iter()
            .enumerate()
            .filter_map(|(index, action)| checker.push(action, ctx).err().map(|reason| (Some(index), reason)))
            .collect()
    }

    /// The reason the state alone — with no block around it — refuses to order the submission
    /// `id` for good, or `None` when a block could still order it (it passes, or waits for
    /// something that may arrive). A node drops such submissions from its mempool: no block
    /// will ever order them.
    pub fn refuses_for_good(&self, id: &SubmissionId, ctx: &Context<'_>) -> Option<Invalid> {
        let action = Action::Submission(*id);
        match self.check_action(&self.registry, &Overlay::default(), self.tip.epoch, &action, ctx, Mode::Vote) {
            Err(e) if !e.is_pending() => Some(e),
            _ => None,
        }
    }

    pub(crate) fn check_action(
        &self,
        registry: &Registry,
        overlay: &Overlay,
        epoch: Epoch,
        action: &Action,
        ctx: &Context<'_>,
        mode: Mode,
    ) -> Result<Change, Invalid> {
        match action {
            Action::Submission(id) => {
                if self.submissions.contains_key(id) || overlay.submissions.contains_key(id) {
                    return Err(rule(format!("submission {id} ordered twice")));
                }
                let info = (ctx.lookup)(id).ok_or(Invalid::MissingSubmission(*id))?;
                if let Some(window) = self.replays.get(&info.miner) {
                    window.admits(info.timestamp_ms, id).map_err(rule)?;
                }
                let at = self.tip.height.next();
                Ok(match self.check_phase(registry, &overlay.phases, id, &info, at, epoch)? {
                    Entry::Evaluated(revealed) => Change::Submission(*id, info, revealed),
                    Entry::Commitment(task_epoch, seed) => Change::Commitment(*id, info, task_epoch, seed),
                })
            }
            Action::Evaluations(envelope) => self.check_evaluations(registry, overlay, envelope, ctx),
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
                if mode == Mode::Apply {
                    return Ok(Change::Weights(proposal.clone()));
                }
                let metagraph = snapshot_of(registry, epoch)?;
                let expected = crate::weights::compute(self, metagraph, proposal.epoch);
                if &expected != proposal {
                    return Err(rule("weights differ from this validator's computation"));
                }
                Ok(Change::Weights(proposal.clone()))
            }
            Action::ValidatorSet(set) if mode == Mode::Apply => Ok(Change::Validators(set.clone())),
            Action::ValidatorSet(set) => {
                let metagraph = snapshot_of(registry, epoch)?;
                let expected = crate::weights::validator_set(metagraph, ctx.min_stake, set.epoch)
                    .ok_or_else(|| rule("the metagraph has no validators"))?;
                if &expected != set || set.epoch != epoch {
                    return Err(rule("validator set differs from the metagraph"));
                }
                Ok(Change::Validators(set.clone()))
            }
            Action::Metagraph(metagraph) if mode == Mode::Apply => Ok(Change::Metagraph(epoch, metagraph.clone())),
            Action::Metagraph(metagraph) if mode == Mode::Audit => {
                if let Some(read) = (ctx.metagraph_at)(&metagraph.block)
                    && *read != *metagraph
                {
                    return Err(rule(format!(
                        "metagraph differs from the chain's at block {}",
                        metagraph.block.number
                    )));
                }
                Ok(Change::Metagraph(epoch, metagraph.clone()))
            }
            Action::Metagraph(metagraph) => {
                check_snapshot(registry, metagraph, epoch, ctx)?;
                Ok(Change::Metagraph(epoch, metagraph.clone()))
            }
        }
    }

    /// A validator's batch of evaluations: signed by a validator of the set, and every verdict
    /// in it valid — of a submission committed earlier (or earlier in the block), naming its
    /// challenge and epoch, the first by this validator. One bad verdict refuses the batch.
    fn check_evaluations(
        &self,
        registry: &Registry,
        overlay: &Overlay,
        envelope: &Envelope,
        ctx: &Context<'_>,
    ) -> Result<Change, Invalid> {
        let signed = ctx
            .verified
            .open::<EvaluationBatch>(envelope, ctx.netuid)
            .map_err(|e| rule(format!("evaluations: {e}")))?;
        let validator = signed.signer;
        if !registry.validators.validators.iter().any(|v| v.hotkey == validator) {
            return Err(rule(format!("evaluations by {validator}, who is not a validator")));
        }
        for evaluation in signed.message.evaluations() {
            let id = evaluation.submission;
            let (challenge, epoch, seen) = match (self.submissions.get(&id), overlay.submissions.get(&id)) {
                (Some(c), _) => (&c.challenge, c.epoch, c.evaluations.contains_key(&validator)),
                (None, Some((info, epoch))) => (&info.challenge, *epoch, false),
                (None, None) => return Err(rule(format!("evaluation of uncommitted submission {id}"))),
            };
            if seen || overlay.evaluations.contains(&(id, validator)) {
                return Err(rule(format!("second evaluation of {id} by {validator}")));
            }
            if &evaluation.challenge != challenge || evaluation.epoch != epoch {
                return Err(rule(format!("evaluation of {id} names the wrong challenge or epoch")));
            }
        }
        Ok(Change::Evaluations(signed.message.into_evaluations()))
    }
}

/// Checks actions in order against a scratch copy of the registry.
pub struct Checker<'s> {
    state: &'s AppState,
    epoch: Epoch,
    registry: Registry,
    overlay: Overlay,
    mode: Mode,
}

impl Checker<'_> {
    /// Checks one more action; on success it counts for the actions after it.
    pub fn push(&mut self, action: &Action, ctx: &Context<'_>) -> Result<(), Invalid> {
        let change = self.state.check_action(&self.registry, &self.overlay, self.epoch, action, ctx, self.mode)?;
        match &change {
            Change::Submission(id, info, revealed) => {
                if let Some(revealed) = revealed {
                    self.overlay.phases.revealed.insert(revealed.commitment);
                }
                self.overlay.submissions.insert(*id, (info.clone(), self.epoch));
            }
            Change::Commitment(id, info, task_epoch, _) => {
                let phases = &mut self.overlay.phases;
                phases.committed.insert((info.challenge.as_str().to_owned(), info.miner, *task_epoch));
                phases.committed_ids.insert(*id);
            }
            Change::Evaluations(evaluations) => {
                self.overlay.evaluations.extend(evaluations.iter().map(|e| (e.submission, e.validator)));
            }
            _ => {}
        }
        apply_to_registry(&mut self.registry, &change, self.state.tip.height.next());
        Ok(())
    }
}

/// The metagraph snapshot committed in `epoch` (earlier in the block, or in an earlier block of
/// the epoch): what the epoch's weights and validator set are computed from. Never a local
/// read, so that every validator, and anyone replaying the blocks, computes the same.
fn snapshot_of(registry: &Registry, epoch: Epoch) -> Result<&Metagraph, Invalid> {
    match &registry.metagraph {
        Some((committed_in, metagraph)) if *committed_in == epoch => Ok(metagraph),
        _ => Err(rule(format!("no metagraph snapshot committed in epoch {epoch} to compute from"))),
    }
}

/// A proposed metagraph snapshot: of this subnet, read at a chain block of the block's epoch
/// that this validator saw with the same hash, newer than the last committed snapshot, and
/// exactly what this validator reads from the chain at that block.
fn check_snapshot(registry: &Registry, metagraph: &Metagraph, epoch: Epoch, ctx: &Context<'_>) -> Result<(), Invalid> {
    if metagraph.netuid != ctx.netuid {
        return Err(rule(format!("metagraph of subnet {} on subnet {}", metagraph.netuid, ctx.netuid)));
    }
    if let Some((_, last)) = &registry.metagraph
        && metagraph.block.number <= last.block.number
    {
        return Err(rule(format!(
            "metagraph at chain block {} is not newer than the committed one ({})",
            metagraph.block.number, last.block.number
        )));
    }
    let chain = ctx.chain.ok_or(Invalid::ChainNotSeen(metagraph.block.number))?;
    chain.check_seen(&metagraph.block)?;
    if chain.epoch_index(metagraph.block.number) != Some(epoch.get()) {
        return Err(rule(format!(
            "metagraph at chain block {} is not of the block's epoch {epoch}",
            metagraph.block.number
        )));
    }
    let read = (ctx.metagraph_at)(&metagraph.block).ok_or(Invalid::MetagraphNotRead(metagraph.block))?;
    if *read != *metagraph {
        return Err(rule(format!("metagraph differs from the chain's at block {}", metagraph.block.number)));
    }
    Ok(())
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
pub(crate) fn apply_to_registry(registry: &mut Registry, change: &Change, height: Height) {
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
        Change::Metagraph(epoch, metagraph) => registry.metagraph = Some((*epoch, metagraph.clone())),
        Change::Submission(..) | Change::Commitment(..) | Change::Evaluations(..) => {}
    }
}
