//! Proposals: the leader's block built from the mempool and due weights, and a proposed
//! block checked by the rules before this validator votes for it.

use std::sync::Arc;
use std::time::Instant;

use parity_scale_codec::Encode;
use platform_app::{AppState, Context, Invalid};
use platform_consensus::Input as CInput;
use platform_types::{Action, Block, BlockRef, Epoch, Height, Metagraph, SubmissionId, View};
use tracing::{debug, info, warn};

use crate::core::*;
use crate::mempool::BLOCK_BYTES_BUDGET;

/// The block this validator last built as leader: its height, view and epoch, and its actions,
/// each of which passed the rules' checker in order on the state at the tip.
pub(crate) struct Built {
    pub(crate) height: Height,
    pub(crate) view: View,
    pub(crate) epoch: Epoch,
    pub(crate) actions: Vec<Action>,
}

impl Core {
    pub(crate) fn maybe_build(&mut self) {
        let Some((height, view, earliest, latest)) = self.build else { return };
        let now = self.clock.now;
        // Without a chain block to link to, the leader waits (the view times out if it must).
        let Some((chain, epoch)) = self.current_link() else { return };
        let has_work = !self.mempool.is_empty() || self.state.weights_due(epoch);
        if now < earliest || (!has_work && now < latest) {
            return;
        }
        self.build = None;
        let Some(machine) = &self.machine else { return };
        if machine.height() != height || machine.view() != view {
            return;
        }
        let (actions, sound) = self.build_actions(epoch);
        // What its own proposal is checked against (`verify`); a block with an action the
        // checker refused (a weights action computed from an unread snapshot) is checked in full.
        self.built = sound.then(|| Built { height, view, epoch, actions: actions.clone() });
        self.proposal_seen.entry(height).or_insert(now);
        self.feed(CInput::ProposalBuilt { height, view, epoch, chain, actions });
    }

    /// The metagraph a block of `epoch` computes weights from, and whether the block must
    /// commit it first: the snapshot already committed in this epoch, else this validator's
    /// latest read if it is of this epoch (else none yet: its chain follower reads one at each
    /// new epoch).
    fn snapshot_for(&self, epoch: Epoch) -> Option<(Arc<Metagraph>, bool)> {
        if let Some((committed_in, metagraph)) = &self.state.registry.metagraph
            && *committed_in == epoch
        {
            return Some((Arc::new(metagraph.clone()), false));
        }
        let latest = self.metagraph.clone()?;
        let newer = self.state.registry.metagraph.as_ref().is_none_or(|(_, m)| latest.block.number > m.block.number);
        (newer && self.chain.epoch_index(latest.block.number) == Some(epoch.get())).then_some((latest, true))
    }

    /// The leader's block: due weights (after the metagraph snapshot they are computed from,
    /// and with a changed validator set) first, then sudo actions, evaluations and submissions
    /// in arrival order, within the size budget; and whether each passed the rules' checker
    /// in order.
    pub(crate) fn build_actions(&mut self, epoch: Epoch) -> (Vec<Action>, bool) {
        let mut actions = Vec::new();
        if self.state.weights_due(epoch)
            && let Some((metagraph, commit)) = self.snapshot_for(epoch)
        {
            if commit {
                actions.push(Action::Metagraph((*metagraph).clone()));
            }
            actions.push(Action::Weights(platform_app::weights::compute(&self.state, &metagraph, epoch)));
            if let Some(set) = platform_app::weights::validator_set(&metagraph, self.cfg.min_stake_rao, epoch)
                && set.validators != self.state.registry.validators.validators
            {
                actions.push(Action::ValidatorSet(set));
            }
        }
        let mut candidates: Vec<Action> = self.mempool.sudo().iter().cloned().map(Action::Sudo).collect();
        candidates.extend(self.mempool.evaluations.envelopes().map(|e| Action::Evaluations(e.clone())));
        candidates.extend(self.mempool.submission_ids().map(|id| Action::Submission(*id)));
        let (refused, sound) = self.with_rules(|state, ctx| {
            let mut checker = state.checker(epoch);
            let mut sound = true;
            for action in &actions {
                // Weights and validator sets were computed just now from the same state.
                sound &= checker.push(action, ctx).is_ok();
            }
            let mut bytes = 0usize;
            let mut refused = Vec::new();
            for action in candidates {
                let size = action.encoded_size();
                if bytes + size > BLOCK_BYTES_BUDGET || actions.len() >= platform_types::limits::MAX_BLOCK_ACTIONS {
                    break;
                }
                // Keep only actions valid where they stand (an evaluation whose submission is not
                // committed yet waits for a later block).
                match checker.push(&action, ctx) {
                    Ok(()) => {
                        bytes += size;
                        actions.push(action);
                    }
                    // A submission the state itself refuses for good (a second commitment to a
                    // task, a reveal past its window, a challenge removed since) would stay in
                    // the mempool, taking room and keeping this leader from idling, forever.
                    Err(_) => {
                        if let Action::Submission(id) = &action
                            && let Some(reason) = state.refuses_for_good(id, ctx)
                        {
                            refused.push((*id, reason));
                        }
                    }
                }
            }
            (refused, sound)
        });
        for (id, reason) in refused {
            info!(%id, %reason, "dropping a submission no block can order");
            self.mempool.remove_submission(&id);
        }
        (actions, sound)
    }

    /// Runs `f` with the state and the rules' context: sudo keys, the chain blocks seen and
    /// the metagraphs read at them, and submission bodies from the mempool or, failing that,
    /// the store.
    pub(crate) fn with_rules<R>(&mut self, f: impl FnOnce(&mut AppState, &Context<'_>) -> R) -> R {
        let sudo = self.sudo_keys();
        let (mempool, records, reads) = (&self.mempool, &self.records, &self.metagraph_reads);
        let lookup = |id: &SubmissionId| submission_info(mempool, records, id);
        let metagraph_at = |block: &BlockRef| reads.iter().find(|m| m.block == *block).cloned();
        let ctx = Context {
            netuid: self.cfg.netuid,
            sudo: &sudo,
            metagraph_at: &metagraph_at,
            chain: Some(&self.chain),
            min_stake: self.cfg.min_stake_rao,
            lookup: &lookup,
            verified: &self.verified,
        };
        f(&mut self.state, &ctx)
    }

    /// Checks a proposed block by the rules (a block a quorum `prepared` in an earlier view by
    /// the rules any validator can recompute: see [`platform_consensus::Output::VerifyProposal`]).
    pub(crate) fn verify(&mut self, view: View, block: Block, prepared: bool, deadline: Instant) -> Option<CInput> {
        if block.header.height > self.state.tip.height && self.proposal_seen.len() < 64 {
            self.proposal_seen.entry(block.header.height).or_insert(self.clock.now);
        }
        // This validator's own fresh proposal of the actions it just built: each passed the
        // rules' checker in order when it was built, on the state still at the tip, so only
        // the header is left to check (a block of its own with other actions — one signed
        // before a restart, replayed — is checked in full). Debug builds check it in full
        // anyway, and insist the two agree.
        let own = !prepared
            && block.header.proposer == self.me()
            && self.built.take().is_some_and(|built| {
                (built.height, built.view, built.epoch) == (block.header.height, view, block.header.epoch)
                    && built.actions == block.actions
            });
        let result = self.with_rules(|state, ctx| match (prepared, own) {
            (false, true) => {
                let checked = state.check_header(&block.header, ctx);
                debug_assert_eq!(checked, state.check_block(&block, ctx), "a built block fails the rules");
                checked
            }
            (false, false) => state.check_block(&block, ctx),
            (true, _) => state.audit_block(&block, ctx).into_iter().next().map_or(Ok(()), |(_, invalid)| Err(invalid)),
        });
        let (height, block_hash) = (block.header.height, block.hash());
        let valid = match result {
            Ok(()) => true,
            Err(reason) if reason.is_pending() && self.clock.now < deadline => {
                debug!(%reason, "proposal refers to something not yet received; waiting");
                if let Invalid::MetagraphNotRead(at) = reason {
                    self.read_metagraph(at);
                }
                self.verifying.push((view, block, prepared, deadline));
                return None;
            }
            Err(reason) => {
                warn!(height = height.get(), view = view.get(), %reason, "proposal rejected");
                false
            }
        };
        Some(CInput::ProposalVerified { height, view, block_hash, valid })
    }

    pub(crate) fn recheck_verifying(&mut self) {
        if self.verifying.is_empty() {
            return;
        }
        for (view, block, prepared, deadline) in std::mem::take(&mut self.verifying) {
            if let Some(answer) = self.verify(view, block, prepared, deadline) {
                self.feed(answer);
            }
        }
    }
}
