//! The PBFT state machine for one validator: `handle(input) -> outputs`, no I/O, no clock.
//!
//! Per height the protocol runs views. In view v (Castro & Liskov, PBFT, §4.2–4.4):
//! 1. the leader of (h, v) proposes a block (pre-prepare);
//! 2. each validator checks it, asks the application to verify it, and signs a prepare;
//! 3. a quorum of prepares for one block makes it *prepared*; each validator signs a commit;
//! 4. a quorum of commits (from any view at this height) commits the block.
//!
//! A timeout moves a validator to view v+1 with a signed view change carrying its highest
//! prepared certificate (§4.4). The leader of v+1 gathers a quorum of them into a new view
//! and must re-propose the highest prepared block, so a block that may have committed in an
//! earlier view is the only one that can commit later. Validators also join a view change
//! backed by more than a third of the stake, so one honest timeout is not needed per node.
//!
//! Messages can be lost (a dropped link, a partition that heals after gossip forgot them), and
//! with only a bare quorum online every honest message is needed. So a view's timer ticks every
//! base timeout, and at each tick before the view's timeout a validator sends its own messages
//! of the round again (signed again, since gossip drops bytes it has already seen): a lost
//! message costs a tick, not a view.
//!
//! Quorums are by stake: strictly more than two thirds of the total (see [`Committee`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use platform_storage::Store;
use platform_types::{
    Block, BlockHeaderFields, BlockRef, Checkpoint, Envelope, Epoch, Hash, Height, Keypair, Message, MessageKind,
    NetUid, NewView, PreparedProof, Proposal, PublicKey, QuorumCertificate, Tip, View, ViewChange, Vote, VoteKind,
};

use crate::certificates::{highest_prepared, verify_certificate, verify_new_view, verify_prepared};
use crate::committee::Committee;
use crate::io::{Input, Misbehaviour, Output, PeerTag};
use crate::safety::{SafetyError, SafetyRules};
use crate::votes::VoteBook;

/// The tag of our own messages, fed back into the machine without a signature check.
const OWN: PeerTag = PeerTag(u64::MAX);

/// Tunables. Every node of a network must use the same `netuid` and `checkpoint_interval`.
#[derive(Clone, Debug)]
pub struct Config {
    /// The subnet; part of every signature's domain.
    pub netuid: NetUid,
    /// Timeout of view 0, in ms; view v waits `base << min(v, 6)`, capped at `max_timeout_ms`.
    pub base_timeout_ms: u64,
    /// Longest view timeout.
    pub max_timeout_ms: u64,
    /// A checkpoint is emitted for the block after every height divisible by this (the
    /// application's snapshot heights): its certificate certifies the snapshot's state root.
    pub checkpoint_interval: u64,
    /// Messages for views further ahead than this are dropped.
    pub max_view_ahead: u64,
    /// Messages for heights further ahead than this are dropped (nearer ones are buffered).
    pub max_height_ahead: u64,
    /// At most this many future-height messages are buffered, shared equally among the
    /// validators so one flooding member cannot crowd out the others.
    pub max_buffered: usize,
}

impl Config {
    /// Defaults for `netuid`: 1 s base timeout, checkpoints every
    /// [`platform_types::CHECKPOINT_INTERVAL`] blocks.
    pub fn new(netuid: NetUid) -> Self {
        Config {
            netuid,
            base_timeout_ms: 1_000,
            max_timeout_ms: 60_000,
            checkpoint_interval: platform_types::CHECKPOINT_INTERVAL,
            max_view_ahead: 64,
            max_height_ahead: 8,
            max_buffered: 16_384,
        }
    }
}

/// Per-height state, reset when a block commits.
#[derive(Debug)]
struct Round {
    view: View,
    /// We signed a view change to `view` and wait for its new view.
    view_changing: bool,
    /// Base timeouts passed in `view` (its timeout is a whole number of them).
    ticks: u64,
    /// Our own latest message of each kind at this height, with its view: what each tick sends
    /// again.
    sent: BTreeMap<MessageKind, (View, Envelope)>,
    /// The accepted proposal of each view, and whether the application verified it.
    proposals: BTreeMap<View, (Block, bool)>,
    /// Blocks known at this height by hash (from proposals and prepared proofs).
    blocks: BTreeMap<Hash, Block>,
    prepares: VoteBook,
    commits: VoteBook,
    /// Prepare certificates formed at this height, by (view, block).
    prepared: BTreeMap<(View, Hash), QuorumCertificate>,
    view_changes: BTreeMap<View, BTreeMap<PublicKey, (Envelope, ViewChange)>>,
    /// A commit certificate whose block we lack.
    decided_without_block: Option<QuorumCertificate>,
    /// The new view we lead, waiting for the application's actions.
    leading: Option<NewView>,
    /// Committed; waiting for [`Input::Applied`].
    committed: Option<Block>,
    /// Members seen (with a verified signature) at heights above this one: we are behind.
    ahead: BTreeMap<PublicKey, Height>,
    sync_requested: bool,
}

impl Round {
    fn new(height: Height, view: View) -> Self {
        Round {
            view,
            view_changing: false,
            ticks: 0,
            sent: BTreeMap::new(),
            proposals: BTreeMap::new(),
            blocks: BTreeMap::new(),
            prepares: VoteBook::new(VoteKind::Prepare, height),
            commits: VoteBook::new(VoteKind::Commit, height),
            prepared: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            decided_without_block: None,
            leading: None,
            committed: None,
            ahead: BTreeMap::new(),
            sync_requested: false,
        }
    }
}

/// One validator's consensus state machine.
#[derive(Debug)]
pub struct Consensus {
    config: Config,
    committee: Committee,
    safety: SafetyRules,
    me: PublicKey,
    tip: Tip,
    height: Height,
    round: Round,
    future: BTreeMap<Height, Vec<(PeerTag, Envelope)>>,
    /// Buffered future messages per signer.
    buffered_by: BTreeMap<PublicKey, usize>,
    halted: Option<String>,
    /// False once [`Consensus::stop_voting`] was called: the machine follows without signing.
    voting: bool,
}

impl Consensus {
    /// A machine resuming after `tip`, with the safety record in `store`.
    /// Call [`Consensus::start`] next.
    pub fn new(
        config: Config,
        keypair: Keypair,
        store: Arc<dyn Store>,
        committee: Committee,
        tip: Tip,
    ) -> Result<Self, SafetyError> {
        let me = keypair.public();
        let mut safety = SafetyRules::load(keypair, config.netuid, store)?;
        let height = tip.height.next();
        safety.enter_height(height)?;
        let view = if safety.data().height == height { safety.data().view } else { View::new(0) };
        Ok(Consensus {
            config,
            committee,
            safety,
            me,
            tip,
            height,
            round: Round::new(height, view),
            future: BTreeMap::new(),
            buffered_by: BTreeMap::new(),
            halted: None,
            voting: true,
        })
    }

    /// Starts deciding the next height: sets the view timer and, for the leader of view 0,
    /// asks for a proposal.
    pub fn start(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.enter_view(&mut out);
        out
    }

    /// The height being decided.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The current view.
    pub fn view(&self) -> View {
        self.round.view
    }

    /// The last committed block.
    pub fn tip(&self) -> Tip {
        self.tip
    }

    /// The validator set of the current height.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }

    /// Stops signing for good (proposals, votes, view changes) while still following: blocks
    /// that others commit are still verified, committed and applied, and a view that times out
    /// asks for sync instead of a view change. For a validator below the network's required
    /// version, which must keep serving reads.
    pub fn stop_voting(&mut self) {
        self.voting = false;
    }

    /// Whether the machine signs (see [`Consensus::stop_voting`]).
    pub fn is_voting(&self) -> bool {
        self.voting && self.halted.is_none()
    }

    /// Why the machine stopped signing (its safety record could not be written), if it did.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// Reacts to one input.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        if self.halted.is_some() {
            return out;
        }
        match input {
            Input::Message { from, envelope } => self.on_message(from, envelope, &mut out),
            Input::Timeout { height, view } => self.on_timeout(height, view, &mut out),
            Input::ProposalBuilt { height, view, epoch, chain, actions } => {
                self.on_proposal_built(height, view, epoch, chain, actions, &mut out)
            }
            Input::ProposalVerified { height, view, block_hash, valid } => {
                self.on_proposal_verified(height, view, block_hash, valid, &mut out)
            }
            Input::Applied { height, state_root, next_validators } => {
                self.on_applied(height, state_root, next_validators, &mut out)
            }
            Input::Synced { block, certificate } => self.on_synced(block, certificate, &mut out),
        }
        out
    }

    fn halt(&mut self, error: SafetyError) {
        self.halted = Some(error.to_string());
    }

    fn timeout_for(&self, view: View) -> u64 {
        let shift = view.get().min(6) as u32;
        (self.config.base_timeout_ms << shift).min(self.config.max_timeout_ms)
    }

    /// The tick: how often a view's timer fires (see the module documentation).
    fn tick_ms(&self) -> u64 {
        self.config.base_timeout_ms.min(self.config.max_timeout_ms).max(1)
    }

    /// Starts the timer of the current view, from its first tick.
    fn arm(&mut self, out: &mut Vec<Output>) {
        self.round.ticks = 0;
        out.push(Output::SetTimer { height: self.height, view: self.round.view, after_ms: self.tick_ms() });
    }

    /// Remembers a message we signed, to send again at the next ticks.
    fn remember(&mut self, view: View, envelope: &Envelope) {
        self.round.sent.insert(envelope.kind, (view, envelope.clone()));
    }

    /// Sends again our messages that still count: those of the current view, and a commit of
    /// any view (a commit quorum from any view decides the height).
    fn send_again(&self, out: &mut Vec<Output>) {
        for (kind, (view, envelope)) in &self.round.sent {
            if *view == self.round.view || *kind == MessageKind::Commit {
                out.push(Output::Broadcast(self.safety.sign_again(envelope)));
            }
        }
    }

    fn enter_view(&mut self, out: &mut Vec<Output>) {
        let (height, view) = (self.height, self.round.view);
        self.arm(out);
        if view.get() == 0 && self.voting && self.committee.leader(height, view) == self.me {
            out.push(Output::BuildProposal { height, view });
        }
    }

    // ---- messages -------------------------------------------------------------------------

    fn on_message(&mut self, from: PeerTag, envelope: Envelope, out: &mut Vec<Output>) {
        let message = match Message::decode(envelope.kind, &envelope.payload) {
            Ok(message) => message,
            Err(e) => {
                return out.push(Output::Misbehaviour { from, reason: Misbehaviour::Malformed(e.to_string()) });
            }
        };
        let height = match &message {
            Message::Proposal(p) => p.height,
            Message::Vote(v) => v.height,
            Message::ViewChange(v) => v.height,
            _ => {
                return out.push(Output::Misbehaviour {
                    from,
                    reason: Misbehaviour::Malformed("not a consensus message".into()),
                });
            }
        };
        if height < self.height {
            return; // already decided here
        }
        if height > self.height || self.round.committed.is_some() {
            return self.buffer(from, envelope, height, out);
        }
        if !self.committee.contains(&envelope.signer) {
            return out.push(Output::Misbehaviour { from, reason: Misbehaviour::NotAValidator(envelope.signer) });
        }
        match message {
            Message::Proposal(proposal) => self.on_proposal(from, envelope, proposal, false, out),
            Message::Vote(vote) => self.on_vote(from, envelope, vote, false, out),
            Message::ViewChange(change) => self.on_view_change(from, envelope, change, out),
            _ => {}
        }
    }

    fn buffer(&mut self, from: PeerTag, envelope: Envelope, height: Height, out: &mut Vec<Output>) {
        // A member signing at a higher height has committed ours: fetch it. One verified message
        // is enough evidence, since what a sync returns is checked against its commit
        // certificate; waiting for a third of the stake could wait forever when the few nodes
        // ahead hold less (one vote lost is enough to strand a node otherwise).
        let first_sign = !self.round.ahead.contains_key(&envelope.signer);
        if height > self.height
            && first_sign
            && self.round.committed.is_none()
            && self.committee.contains(&envelope.signer)
            && envelope.verify(self.config.netuid).is_ok()
        {
            self.round.ahead.insert(envelope.signer, height);
            if !self.round.sync_requested {
                self.round.sync_requested = true;
                out.push(Output::NeedSync { height: self.height });
            }
        }
        let share = (self.config.max_buffered / self.committee.members().len()).max(1);
        let count = self.buffered_by.get(&envelope.signer).copied().unwrap_or(0);
        if height.get() > self.height.get().saturating_add(self.config.max_height_ahead)
            || !self.committee.contains(&envelope.signer)
            || count >= share
        {
            return;
        }
        self.buffered_by.insert(envelope.signer, count + 1);
        self.future.entry(height).or_default().push((from, envelope));
    }

    fn view_in_window(&self, view: View) -> bool {
        view >= self.round.view && view.get() <= self.round.view.get().saturating_add(self.config.max_view_ahead)
    }

    fn on_proposal(&mut self, from: PeerTag, envelope: Envelope, proposal: Proposal, own: bool, out: &mut Vec<Output>) {
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

    fn check_header(&self, block: &Block, proposer: Option<PublicKey>) -> Result<(), &'static str> {
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

    fn on_proposal_verified(
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
    fn release(&mut self, signed: Result<Envelope, SafetyError>, out: &mut Vec<Output>) -> Option<Envelope> {
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

    fn sign_and_count(&mut self, vote: Vote, out: &mut Vec<Output>) {
        if !self.voting {
            return;
        }
        let signed = self.safety.sign_vote(&vote);
        if let Some(envelope) = self.release(signed, out) {
            self.remember(vote.view, &envelope);
            self.on_vote(OWN, envelope, vote, true, out);
        }
    }

    fn on_vote(&mut self, from: PeerTag, envelope: Envelope, vote: Vote, own: bool, out: &mut Vec<Output>) {
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

    fn on_prepared(&mut self, certificate: QuorumCertificate, out: &mut Vec<Output>) {
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

    fn commit_if_decided(&mut self, out: &mut Vec<Output>) {
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

    fn commit(&mut self, block: Block, certificate: QuorumCertificate, out: &mut Vec<Output>) {
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

    fn on_synced(&mut self, block: Block, certificate: QuorumCertificate, out: &mut Vec<Output>) {
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

    fn on_applied(
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

    // ---- view changes -----------------------------------------------------------------------

    fn on_timeout(&mut self, height: Height, view: View, out: &mut Vec<Output>) {
        if height != self.height || view != self.round.view || self.round.committed.is_some() {
            return;
        }
        if !self.round.ahead.is_empty() {
            out.push(Output::NeedSync { height: self.height }); // the last answer may have been lost
        }
        self.round.ticks += 1;
        if self.round.ticks.saturating_mul(self.tick_ms()) < self.timeout_for(view) {
            self.send_again(out);
            out.push(Output::SetTimer { height, view, after_ms: self.tick_ms() });
            return;
        }
        self.start_view_change(view.next(), out);
    }

    fn start_view_change(&mut self, target: View, out: &mut Vec<Output>) {
        if !self.voting {
            // A follower that does not vote catches up by sync, and asks again each timeout.
            out.push(Output::NeedSync { height: self.height });
            return self.arm(out);
        }
        let (envelope, change) = match self.safety.sign_view_change(self.height, target) {
            Ok(signed) => signed,
            Err(SafetyError::Conflict(_)) => return,
            Err(error) => return self.halt(error),
        };
        self.round.view = target;
        self.round.view_changing = true;
        out.push(Output::Broadcast(envelope.clone()));
        self.remember(target, &envelope);
        self.arm(out);
        self.record_view_change(envelope, change, out);
    }

    fn on_view_change(&mut self, from: PeerTag, envelope: Envelope, change: ViewChange, out: &mut Vec<Output>) {
        let view = change.view;
        if view.get() > self.round.view.get().saturating_add(self.config.max_view_ahead) || view.get() == 0 {
            return;
        }
        let known = self.round.view_changes.get(&view).is_some_and(|m| m.contains_key(&envelope.signer));
        if known || view < self.round.view {
            return;
        }
        if envelope.verify(self.config.netuid).is_err() {
            return out.push(Output::Misbehaviour { from, reason: Misbehaviour::BadSignature(envelope.signer) });
        }
        if let Some(proof) = &change.prepared {
            if let Err(reason) = verify_prepared(proof, self.height, view, &self.committee, self.config.netuid) {
                return out.push(Output::Misbehaviour { from, reason });
            }
            self.round.blocks.insert(proof.block.hash(), proof.block.clone());
        }
        self.record_view_change(envelope, change, out);
        self.commit_if_decided(out);
        // Join a view change backed by more than a third of the stake (PBFT §4.5.2).
        let ahead: BTreeMap<PublicKey, View> = self
            .round
            .view_changes
            .range(self.round.view.next()..)
            .flat_map(|(v, m)| m.keys().map(move |k| (*k, *v)))
            .collect();
        if self.committee.exceeds_one_third(self.committee.stake_of(ahead.keys()))
            && let Some(smallest) = ahead.values().min().copied()
        {
            self.start_view_change(smallest, out);
        }
    }

    fn record_view_change(&mut self, envelope: Envelope, change: ViewChange, out: &mut Vec<Output>) {
        let view = change.view;
        self.round.view_changes.entry(view).or_default().insert(envelope.signer, (envelope, change));
        if view != self.round.view || !self.round.view_changing || self.round.leading.is_some() {
            return;
        }
        if self.committee.leader(self.height, view) != self.me {
            return;
        }
        let changes = &self.round.view_changes[&view];
        if !self.committee.is_quorum(self.committee.stake_of(changes.keys())) {
            return;
        }
        let new_view =
            NewView { height: self.height, view, view_changes: changes.values().map(|(e, _)| e.clone()).collect() };
        let prepared = match highest_prepared(changes.values().filter_map(|(_, c)| c.prepared.clone())) {
            Ok(prepared) => prepared,
            Err(_) => return, // cannot happen with < 1/3 faulty stake; wait for more view changes
        };
        match prepared {
            Some(proof) => self.propose(proof.block, Some(new_view), out),
            None => {
                self.round.leading = Some(new_view);
                out.push(Output::BuildProposal { height: self.height, view });
            }
        }
    }

    // ---- proposing ----------------------------------------------------------------------------

    fn on_proposal_built(
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

    fn propose(&mut self, block: Block, justification: Option<NewView>, out: &mut Vec<Output>) {
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
