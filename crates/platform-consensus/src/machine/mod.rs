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

mod proposals;
mod view_change;
mod voting;

use std::collections::BTreeMap;
use std::sync::Arc;

use platform_storage::Store;
use platform_types::{
    Block, Envelope, Hash, Height, Keypair, Message, MessageKind, NetUid, NewView, PublicKey, QuorumCertificate, Tip,
    View, ViewChange, VoteKind,
};

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
}
