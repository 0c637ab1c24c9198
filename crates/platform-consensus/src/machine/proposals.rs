//! Proposals: a proposal checked and handed to the application, its verdict, and our own
//! proposal built and sent when we lead.

use platform_types::{
    Block, BlockHeaderFields, BlockRef, Envelope, Epoch, Hash, Height, NewView, Proposal, PublicKey, View, Vote,
    VoteKind,
};

use super::{Consensus, OWN};
use crate::certificates::verify_new_view;
use crate::io::{Misbehaviour, Output, PeerTag};
use crate::safety::SafetyError;

impl Consensus {
    pub(super) fn on_proposal(
        &mut self,
        from: PeerTag,
        envelope: Envelope,
        proposal: Proposal,
        own: bool,
        out: &mut Vec<Output>,
    ) {
        let (height, view) = (proposal.height, proposal.view);
        if !self.view_in_window(view) {
            return;
        }
        let leader = self.committee.leader(height, view);
        if envelope.signer != leader {
            return out.push(Output::Misbehaviour { from, reason: Misbehaviour::NotTheLeader(envelope.signer) });
        }
        if !own && envelope.verify(self.config.netuid).is_err() {
            return out.push(Output::Misbehaviour { from, reason: Misbehaviour::BadSignature(envelope.signer) });
        }
        let hash = proposal.block.hash();
        if let Some((held, _)) = self.round.proposals.get(&view) {
            if held.hash() != hash {
                out.push(Output::Misbehaviour { from, reason: Misbehaviour::Equivocation(envelope.signer) });
            }
            return;
        }
        // A proposal after view 0 must show a quorum moved to its view, and re-propose the
        // highest block prepared before (PBFT §4.4). A re-proposed block keeps its original
        // proposer; a fresh one must come from this view's leader.
        let reproposal = match (&proposal.justification, view.get()) {
            (None, 0) => false,
            (Some(_), 0) | (None, _) => {
                return out.push(Output::Misbehaviour { from, reason: Misbehaviour::InvalidProposal("justification") });
            }
            (Some(new_view), _) => match verify_new_view(new_view, height, view, &self.committee, self.config.netuid) {
                Ok(Some(prepared)) if prepared.block.hash() != hash => {
                    return out.push(Output::Misbehaviour {
                        from,
                        reason: Misbehaviour::InvalidProposal("must re-propose the highest prepared block"),
                    });
                }
                Ok(prepared) => prepared.is_some(),
                Err(reason) => return out.push(Output::Misbehaviour { from, reason }),
            },
        };
        let expected_proposer = if reproposal { None } else { Some(leader) };
        if let Err(reason) = self.check_header(&proposal.block, expected_proposer) {
            return out.push(Output::Misbehaviour { from, reason: Misbehaviour::InvalidProposal(reason) });
        }
        if view > self.round.view {
            self.round.view = view;
            self.arm(out);
        }
        self.round.view_changing = false;
        self.round.blocks.insert(hash, proposal.block.clone());
        self.round.proposals.insert(view, (proposal.block.clone(), false));
        out.push(Output::VerifyProposal { view, block: proposal.block, prepared: reproposal });
        self.commit_if_decided(out);
    }

    pub(super) fn check_header(&self, block: &Block, proposer: Option<PublicKey>) -> Result<(), &'static str> {
        let header = &block.header;
        if header.height != self.height {
            return Err("height");
        }
        if header.parent_hash != self.tip.hash {
            return Err("parent hash");
        }
        if header.parent_state_root != self.tip.state_root {
            return Err("parent state root");
        }
        if header.validators_hash != self.committee.hash() {
            return Err("validator set");
        }
        if header.epoch < self.tip.epoch {
            return Err("epoch went backwards");
        }
        match proposer {
            Some(leader) if header.proposer != leader => return Err("proposer"),
            _ if !self.committee.contains(&header.proposer) => return Err("proposer"),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn on_proposal_verified(
        &mut self,
        height: Height,
        view: View,
        block_hash: Hash,
        valid: bool,
        out: &mut Vec<Output>,
    ) {
        if height != self.height
            || view != self.round.view
            || self.round.view_changing
            || self.round.committed.is_some()
        {
            return;
        }
        let Some((block, verified)) = self.round.proposals.get_mut(&view) else {
            return;
        };
        if block.hash() != block_hash || *verified || !valid {
            return;
        }
        *verified = true;
        let vote = Vote { kind: VoteKind::Prepare, height, view, block_hash };
        self.sign_and_count(vote, out);
        // The prepare quorum may have formed while the application was still verifying.
        if let Some(certificate) = self.round.prepared.get(&(view, block_hash)).cloned() {
            self.on_prepared(certificate, out);
        }
    }

    /// Broadcasts what the safety rules signed. A conflict means "do not sign" and is silent;
    /// a storage failure halts the machine, since it can no longer sign safely.
    pub(super) fn release(&mut self, signed: Result<Envelope, SafetyError>, out: &mut Vec<Output>) -> Option<Envelope> {
        match signed {
            Ok(envelope) => {
                out.push(Output::Broadcast(envelope.clone()));
                Some(envelope)
            }
            Err(SafetyError::Conflict(_)) => None,
            Err(error) => {
                self.halt(error);
                None
            }
        }
    }

    pub(super) fn on_proposal_built(
        &mut self,
        height: Height,
        view: View,
        epoch: Epoch,
        chain: BlockRef,
        actions: Vec<platform_types::Action>,
        out: &mut Vec<Output>,
    ) {
        if height != self.height || view != self.round.view || self.committee.leader(height, view) != self.me {
            return;
        }
        let justification = if view.get() == 0 {
            None
        } else {
            match self.round.leading.take() {
                Some(new_view) => Some(new_view),
                None => return,
            }
        };
        let block = Block::new(
            BlockHeaderFields {
                height,
                epoch: epoch.max(self.tip.epoch),
                chain,
                parent_hash: self.tip.hash,
                parent_state_root: self.tip.state_root,
                proposer: self.me,
                validators_hash: self.committee.hash(),
            },
            actions,
        );
        self.propose(block, justification, out);
    }

    pub(super) fn propose(&mut self, block: Block, justification: Option<NewView>, out: &mut Vec<Output>) {
        if !self.voting {
            return;
        }
        let proposal = Proposal { height: self.height, view: self.round.view, block, justification };
        let signed = self.safety.sign_proposal(&proposal);
        if let Some(envelope) = self.release(signed, out) {
            self.remember(proposal.view, &envelope);
            self.on_proposal(OWN, envelope, proposal, true, out);
        }
    }
}
