//! Votes: prepares and commits signed and counted, a prepared certificate, a block committed
//! (by quorum or by sync) and the application's word that it is applied.

use platform_types::{
    Block, Checkpoint, Envelope, Hash, Height, PreparedProof, QuorumCertificate, Tip, View, Vote, VoteKind,
};

use super::{Consensus, OWN, Round};
use crate::certificates::verify_certificate;
use crate::committee::Committee;
use crate::io::{Output, PeerTag};
use crate::safety::SafetyError;

impl Consensus {
    pub(super) fn sign_and_count(&mut self, vote: Vote, out: &mut Vec<Output>) {
        if !self.voting {
            return;
        }
        let signed = self.safety.sign_vote(&vote);
        if let Some(envelope) = self.release(signed, out) {
            self.remember(vote.view, &envelope);
            self.on_vote(OWN, envelope, vote, true, out);
        }
    }

    pub(super) fn on_vote(&mut self, from: PeerTag, envelope: Envelope, vote: Vote, own: bool, out: &mut Vec<Output>) {
        let netuid = self.config.netuid;
        let certificate = match vote.kind {
            // Prepares count only in the current view (and the window ahead, for when we move).
            VoteKind::Prepare if !self.view_in_window(vote.view) => return,
            VoteKind::Prepare => self.round.prepares.add(&self.committee, netuid, from, &vote, envelope, own, out),
            // A commit quorum from any view decides the height.
            VoteKind::Commit if vote.view.get() > self.round.view.get().saturating_add(self.config.max_view_ahead) => {
                return;
            }
            VoteKind::Commit => self.round.commits.add(&self.committee, netuid, from, &vote, envelope, own, out),
        };
        match (certificate, vote.kind) {
            (Some(certificate), VoteKind::Prepare) => self.on_prepared(certificate, out),
            (Some(certificate), VoteKind::Commit) => {
                self.round.decided_without_block = Some(certificate);
                self.commit_if_decided(out);
            }
            (None, _) => {}
        }
    }

    pub(super) fn on_prepared(&mut self, certificate: QuorumCertificate, out: &mut Vec<Output>) {
        self.round.prepared.insert((certificate.view, certificate.block_hash), certificate.clone());
        let Some(block) = self.round.blocks.get(&certificate.block_hash).cloned() else {
            return;
        };
        let (view, block_hash) = (certificate.view, certificate.block_hash);
        if let Err(error) = self.safety.record_prepared(PreparedProof { certificate, block }) {
            return self.halt(error);
        }
        // PBFT's prepared(m, v, n, i): we accepted this very proposal in this view.
        let accepted = self.round.proposals.get(&view).is_some_and(|(b, verified)| *verified && b.hash() == block_hash);
        if view == self.round.view && !self.round.view_changing && accepted {
            let vote = Vote { kind: VoteKind::Commit, height: self.height, view, block_hash };
            self.sign_and_count(vote, out);
        }
    }

    pub(super) fn commit_if_decided(&mut self, out: &mut Vec<Output>) {
        if self.round.committed.is_some() {
            return;
        }
        let Some(certificate) = self.round.decided_without_block.take() else {
            return;
        };
        match self.round.blocks.get(&certificate.block_hash).cloned() {
            Some(block) => self.commit(block, certificate, out),
            None => {
                self.round.decided_without_block = Some(certificate);
                if !self.round.sync_requested {
                    self.round.sync_requested = true;
                    out.push(Output::NeedSync { height: self.height });
                }
            }
        }
    }

    pub(super) fn commit(&mut self, block: Block, certificate: QuorumCertificate, out: &mut Vec<Output>) {
        let after_snapshot = self.height.get().checked_sub(1).filter(|h| *h > 0);
        let checkpoint = (self.config.checkpoint_interval > 0
            && after_snapshot.is_some_and(|h| h.is_multiple_of(self.config.checkpoint_interval)))
        .then(|| Checkpoint {
            header: block.header.clone(),
            commit: certificate.clone(),
            validators: self.committee.validator_set().clone(),
        });
        self.round.committed = Some(block.clone());
        out.push(Output::Commit { block, certificate });
        out.extend(checkpoint.map(Output::Checkpoint));
    }

    pub(super) fn on_synced(&mut self, block: Block, certificate: QuorumCertificate, out: &mut Vec<Output>) {
        if block.header.height != self.height || self.round.committed.is_some() {
            return;
        }
        let matches = certificate.kind == VoteKind::Commit
            && certificate.height == self.height
            && certificate.block_hash == block.hash()
            && block.header.parent_hash == self.tip.hash;
        if matches && verify_certificate(&certificate, &self.committee, self.config.netuid).is_ok() {
            self.commit(block, certificate, out);
        }
    }

    pub(super) fn on_applied(
        &mut self,
        height: Height,
        state_root: Hash,
        next: Option<platform_types::ValidatorSet>,
        out: &mut Vec<Output>,
    ) {
        let Some(block) = self.round.committed.take().filter(|_| height == self.height) else {
            return;
        };
        if let Some(set) = next {
            match Committee::new(set) {
                Ok(committee) => self.committee = committee,
                Err(e) => {
                    return self.halt(SafetyError::Corrupt(format!("application gave an invalid validator set: {e}")));
                }
            }
        }
        self.tip = Tip { height, hash: block.hash(), state_root, epoch: block.header.epoch };
        self.height = height.next();
        if let Err(error) = self.safety.enter_height(self.height) {
            return self.halt(error);
        }
        self.round = Round::new(self.height, View::new(0));
        self.enter_view(out);
        // Replay what arrived early for this height; recount what stays buffered.
        self.future.retain(|h, _| *h >= self.height);
        let early = self.future.remove(&self.height).unwrap_or_default();
        self.buffered_by.clear();
        for (_, envelope) in self.future.values().flatten() {
            *self.buffered_by.entry(envelope.signer).or_default() += 1;
        }
        for (from, envelope) in early {
            self.on_message(from, envelope, out);
        }
    }
}
