//! The node's event loop: one task owns the consensus machine, the application state and the
//! mempool, and reacts to inputs (gossip, HTTP requests, timers, sandbox results, chain
//! blocks) one at a time. Slow work (signature checks of gossip, evaluations, chain calls,
//! peer requests) runs elsewhere and comes back as an [`Input`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parity_scale_codec::Encode;
use platform_app::{AppState, ChainView, Context, SubmissionInfo};
use platform_chain::{BlockRef, Chain, Metagraph, WeightSetter, WeightVector};
use platform_consensus::{Consensus, Input as CInput, Output, PeerTag};
use platform_p2p::{Client, MessageId, Topic, Verdict};
use platform_runtime::{ChallengeModule, Runtime};
use platform_types::{
    Action, Block, Codec, Envelope, Epoch, Evaluation, Hash, Height, Keypair, MessageKind, PublicKey,
    QuorumCertificate, ReplayGuard, Signed, Submission, SubmissionId, SudoAction, SyncRequest, SyncResponse,
    VerifiedEnvelopes, Version, View, blake2b_256,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, error, info, warn};

use crate::config::NodeConfig;
use crate::evaluator;
use crate::mempool::{BLOCK_BYTES_BUDGET, Mempool, Refusal};
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::records::Records;
use crate::writer::{Writer, Written};

/// This build's version, compared with `SetRequiredVersion`.
pub fn node_version() -> Version {
    let parse = |s: &str| s.parse::<u32>().unwrap_or(0);
    Version {
        major: parse(env!("CARGO_PKG_VERSION_MAJOR")),
        minor: parse(env!("CARGO_PKG_VERSION_MINOR")),
        patch: parse(env!("CARGO_PKG_VERSION_PATCH")),
    }
}

/// How long a follower waits for the submissions a proposal orders to arrive by gossip.
const MISSING_WAIT: Duration = Duration::from_secs(2);

/// A refused request: an HTTP status and a one-line reason.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// HTTP status code.
    pub status: u16,
    /// Why.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        Rejection { status, reason: reason.into() }
    }
}

/// Read-only questions the HTTP API asks.
#[derive(Debug, Clone)]
pub enum Query {
    /// Liveness and sync state.
    Health,
    /// Challenges.
    Challenges,
    /// One submission's status.
    Submission(SubmissionId),
    /// Leaderboard (one challenge or all).
    Scores(Option<String>),
    /// Latest agreed weights.
    Weights,
    /// Consensus position and the leader.
    Consensus,
    /// A sudo action's status.
    Sudo(Hash),
}

/// Everything the loop reacts to.
pub(crate) enum Input {
    Gossip {
        id: MessageId,
        from: PeerTag,
        message: Gossiped,
    },
    Timer {
        height: Height,
        view: View,
    },
    Submit {
        signed: Signed<Submission>,
        local: bool,
        blob: Option<(Hash, Vec<u8>)>,
        reply: Option<oneshot::Sender<Result<SubmissionId, Rejection>>>,
    },
    /// The cheap admission checks alone, asked before expensive work (hashing and storing a
    /// large payload, compiling a module); nothing is admitted.
    Precheck {
        check: Precheck,
        reply: oneshot::Sender<Result<(), Rejection>>,
    },
    Sudo {
        signed: Signed<SudoAction>,
        local: bool,
        reply: Option<oneshot::Sender<Result<Hash, Rejection>>>,
    },
    Evaluated {
        id: SubmissionId,
        envelope: Envelope,
    },
    /// Every attempt to evaluate `id` failed on this machine: nothing was signed.
    Abstained {
        id: SubmissionId,
        reason: String,
    },
    ModuleReady {
        challenge: String,
        hash: Hash,
        module: Result<ChallengeModule, String>,
    },
    Chain {
        block: BlockRef,
        metagraph: Option<Arc<Metagraph>>,
    },
    Query {
        query: Query,
        reply: oneshot::Sender<Value>,
    },
    Synced {
        blocks: Vec<(Block, QuorumCertificate)>,
    },
    Bodies {
        envelopes: Vec<Envelope>,
    },
    WeightsSubmitted {
        epoch: u64,
        record: Value,
    },
}

/// What [`Input::Precheck`] checks.
pub(crate) enum Precheck {
    /// A signed submission: duplicate, challenge, size, registration.
    Submission(SubmissionId, Submission),
    /// A signed sudo action: the owner's key, not applied before.
    Sudo { signer: PublicKey, hash: Hash },
}

/// A gossiped message whose signature the gossip pump has already checked.
pub(crate) enum Gossiped {
    Submission(Signed<Submission>),
    /// Submissions another validator admitted, relayed in one batch.
    Submissions(Vec<Signed<Submission>>),
    Sudo(Signed<SudoAction>),
    /// Another validator's evaluations, gossiped in one batch.
    Evaluations(Vec<Signed<Evaluation>>),
    /// Consensus messages: the consensus machine checks their signatures itself.
    Consensus(Envelope),
}

impl Gossiped {
    /// Checks the signature of a single application message; `None` when it is invalid. Sudo
    /// actions are checked again by the rules when ordered: `verified` remembers them.
    pub(crate) fn open(
        envelope: Envelope,
        netuid: platform_types::NetUid,
        verified: &VerifiedEnvelopes,
    ) -> Option<Gossiped> {
        Some(match envelope.kind {
            MessageKind::Submission => Gossiped::Submission(envelope.open(netuid).ok()?),
            MessageKind::SudoAction => Gossiped::Sudo(verified.open(&envelope, netuid).ok()?),
            // Evaluations travel in batches only.
            MessageKind::Evaluation => return None,
            _ => Gossiped::Consensus(envelope),
        })
    }
}

/// A submission admitted in memory whose write to `data/` is pending: it is acknowledged,
/// relayed and proposed only once the [`Writer`] has written it.
pub(crate) struct Unwritten {
    id: SubmissionId,
    envelope: Envelope,
    /// The blob of a large payload (its hash checked), stored with the submission.
    blob: Option<(Hash, Vec<u8>)>,
    local: bool,
    reply: Option<oneshot::Sender<Result<SubmissionId, Rejection>>>,
}

/// The writer of admitted submissions: each batch in one synced write to `records`.
pub(crate) fn submission_writer(records: Records) -> std::io::Result<Writer<Unwritten>> {
    Writer::start(move |batch: &[Unwritten]| {
        records.put_admitted(batch.iter().map(|u| (&u.id, &u.envelope, u.blob.as_ref()))).map_err(|e| e.to_string())
    })
}

/// Inputs taken in one turn of the loop before the admitted submissions go to the writer.
const MAX_TURN: usize = 4096;

pub(crate) struct Core<C: Chain + Clone + 'static> {
    pub cfg: Arc<NodeConfig>,
    pub keypair: Keypair,
    pub records: Records,
    pub p2p: Client,
    pub runtime: Runtime,
    pub inputs: mpsc::Sender<Input>,
    pub machine: Option<Consensus>,
    pub state: AppState,
    pub mempool: Mempool,
    pub replay: ReplayGuard,
    /// Envelopes whose signatures are known good (shared with the gossip pump).
    pub verified: Arc<VerifiedEnvelopes>,
    pub metagraph: Option<Arc<Metagraph>>,
    /// The chain blocks this validator has seen: proposals link to its head, and a proposal's
    /// link is checked against it.
    pub chain: ChainView,
    pub metrics: Arc<Metrics>,
    pub setter: Arc<WeightSetter<C>>,
    pub status: watch::Sender<Value>,
    pub modules: HashMap<String, (Hash, ChallengeModule)>,
    pub loading: HashSet<String>,
    pub waiting_module: Vec<SubmissionId>,
    pub evaluated: HashSet<SubmissionId>,
    pub worker: evaluator::Worker,
    pub build: Option<(Height, View, Instant, Instant)>,
    pub verifying: Vec<(View, Block, Instant)>,
    pub committing: Option<(Block, QuorumCertificate)>,
    pub last_commit: Instant,
    pub syncing: bool,
    pub outdated: Option<Version>,
    pub sudo_results: HashMap<Hash, (Height, Result<(), String>)>,
    pub accepted_at: HashMap<SubmissionId, Instant>,
    /// Admitted submissions waiting for the write in flight to finish.
    pub unwritten: Vec<Unwritten>,
    pub writer: Writer<Unwritten>,
    /// Admitted submissions not yet relayed to the other validators.
    pub outbox: Outbox,
    /// This validator's evaluations not yet gossiped.
    pub evaluation_outbox: Outbox,
    /// Acknowledged, unordered submissions found in `data/` at start, to relay again.
    pub reloaded: Vec<Envelope>,
    /// The last evaluation this validator abstained from, and why (shown in `/health`).
    pub abstained: Option<(SubmissionId, String)>,
    /// Committed submissions waiting to be evaluated here, with their module.
    pub evaluation_queue: VecDeque<(SubmissionId, ChallengeModule)>,
    /// Evaluations started and not yet answered.
    pub evaluations_in_flight: usize,
}

/// Evaluations under way at once (reading the payload, queued on the worker, running): one
/// running and one ready, so the worker never waits for a read and few payloads are held.
const EVALUATIONS_IN_FLIGHT: usize = 2;

/// What the rules need of a submission: the mempool's copy, else the stored one.
fn submission_info(mempool: &Mempool, records: &Records, id: &SubmissionId) -> Option<SubmissionInfo> {
    mempool.info(id).or_else(|| records.submission_info(id))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl<C: Chain + Clone + 'static> Core<C> {
    fn me(&self) -> PublicKey {
        self.keypair.public()
    }

    /// Whether this validator signs votes (it may follow without).
    fn voting(&self) -> bool {
        self.machine.as_ref().is_some_and(|m| m.is_voting())
    }

    fn sudo_keys(&self) -> Vec<PublicKey> {
        if let Some(key) = self.cfg.sudo_key {
            return vec![key];
        }
        self.metagraph.as_ref().map(|m| m.owner_hotkey.into_iter().chain(m.owner_coldkey).collect()).unwrap_or_default()
    }

    /// The chain block a block built now links to, and its epoch: the newest chain block
    /// seen (never behind the tip's link) and that block's epoch, never behind the tip's.
    fn current_link(&self) -> Option<(BlockRef, Epoch)> {
        let head = self.chain.head()?;
        let link = match self.state.chain {
            Some(parent) if parent.number >= head.number => parent,
            _ => head,
        };
        Some((link, self.chain.epoch_of(&link, self.state.tip.epoch)))
    }

    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Input>, mut shutdown: watch::Receiver<bool>) {
        self.check_required_version();
        let outputs = self.machine.as_mut().map(|m| m.start()).unwrap_or_default();
        self.carry_out_all(outputs);
        self.resume_evaluations();
        self.publish_status();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let written = self.writer.waker();
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => {
                        self.on_input(input);
                        for _ in 0..MAX_TURN {
                            match rx.try_recv() {
                                Ok(input) => self.on_input(input),
                                Err(_) => break,
                            }
                        }
                        self.write_admitted();
                        self.publish_status();
                    }
                    None => break,
                },
                _ = written.notified() => {
                    if let Some(done) = self.writer.try_finish() {
                        self.on_written(done);
                    }
                    self.write_admitted();
                }
                _ = tick.tick() => self.on_tick(),
                _ = shutdown.changed() => break,
            }
        }
        // What was admitted is written and acknowledged before the loop ends.
        self.settle_writes();
        info!("event loop stopped");
    }

    fn on_input(&mut self, input: Input) {
        match input {
            Input::Gossip { id, from, message } => self.on_gossip(id, from, message),
            Input::Timer { height, view } => {
                self.feed(CInput::Timeout { height, view });
            }
            Input::Submit { signed, local, blob, reply } => {
                let _ = self.on_submit(signed, local, blob, reply);
            }
            Input::Precheck { check, reply } => {
                let result = match &check {
                    Precheck::Submission(id, submission) => self.submission_checks(id, submission),
                    Precheck::Sudo { signer, hash } => self.sudo_checks(signer, hash),
                };
                let _ = reply.send(result);
            }
            Input::Sudo { signed, local, reply } => {
                let result = self.admit_sudo(signed, local);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Input::Evaluated { id, envelope } => {
                self.evaluations_in_flight = self.evaluations_in_flight.saturating_sub(1);
                self.dispatch_evaluations();
                self.on_evaluated(id, envelope);
            }
            Input::Abstained { id, reason } => {
                self.evaluations_in_flight = self.evaluations_in_flight.saturating_sub(1);
                self.dispatch_evaluations();
                warn!(%id, %reason, attempts = evaluator::ATTEMPTS, "abstaining from an evaluation: it failed on this machine, not by the submission's fault");
                self.metrics.evaluations_abstained.inc();
                self.abstained = Some((id, reason));
            }
            Input::ModuleReady { challenge, hash, module } => self.on_module(challenge, hash, module),
            Input::Chain { block, metagraph } => self.on_chain(block, metagraph),
            Input::Query { query, reply } => {
                let _ = reply.send(self.answer(query));
            }
            Input::Synced { blocks } => {
                self.syncing = false;
                for (block, certificate) in blocks {
                    if block.header.height > self.state.tip.height {
                        self.feed(CInput::Synced { block, certificate });
                    }
                }
            }
            Input::Bodies { envelopes } => {
                let mut fetched = Vec::new();
                for envelope in envelopes {
                    if let Ok(signed) = envelope.open::<Submission>(self.cfg.netuid) {
                        let id = SubmissionId(envelope.payload_hash());
                        let _ = self.mempool.admit(id, signed.message, now_ms(), false);
                        fetched.push((id, envelope));
                    }
                }
                let _ = self.records.put_submissions(fetched.iter().map(|(id, envelope)| (id, envelope)));
                // The consensus machine waits for the block it committed to be applied.
                if let Some((block, certificate)) = self.committing.take()
                    && let Some(applied) = self.commit(block, certificate)
                {
                    self.feed(applied);
                }
            }
            Input::WeightsSubmitted { epoch, record } => {
                if let Err(e) = self.records.put_weights_record(epoch, record.to_string().as_bytes()) {
                    error!(%e, "cannot record the chain's answer");
                }
            }
        }
    }

    fn on_tick(&mut self) {
        let (submissions, evaluations) = (self.outbox.take(), self.evaluation_outbox.take());
        self.send(submissions);
        self.send(evaluations);
        self.maybe_build();
        self.recheck_verifying();
    }

    // ---------------------------------------------------------------- admission

    /// Admits a submission in memory (held out of proposals) and queues its write; the reply
    /// waits for the write.
    fn on_submit(
        &mut self,
        signed: Signed<Submission>,
        local: bool,
        blob: Option<(Hash, Vec<u8>)>,
        reply: Option<oneshot::Sender<Result<SubmissionId, Rejection>>>,
    ) -> Result<(), Rejection> {
        match self.admit(&signed) {
            Ok(id) => {
                self.mempool.hold(id);
                self.unwritten.push(Unwritten { id, envelope: signed.envelope, blob, local, reply });
                Ok(())
            }
            Err(rejection) => {
                self.metrics.submissions_rejected.inc();
                if let Some(reply) = reply {
                    let _ = reply.send(Err(rejection.clone()));
                }
                Err(rejection)
            }
        }
    }

    /// Hands the admitted submissions to the writer as one batch, unless a write is in flight
    /// (they wait for the next).
    fn write_admitted(&mut self) {
        if !self.writer.busy() && !self.unwritten.is_empty() {
            self.writer.begin(std::mem::take(&mut self.unwritten));
        }
    }

    /// Writes everything admitted before returning: the write in flight is waited for and the
    /// rest written here. A block is committed only after this, so that the bodies it orders
    /// are on disk before it is.
    fn settle_writes(&mut self) {
        if let Some(done) = self.writer.finish() {
            self.on_written(done);
        }
        if !self.unwritten.is_empty() {
            let done = self.writer.write_now(std::mem::take(&mut self.unwritten));
            self.on_written(done);
        }
    }

    /// A batch is on disk (or could not be written): acknowledges, releases for proposals and
    /// relays its submissions, or refuses them.
    fn on_written(&mut self, Written { batch, result }: Written<Unwritten>) {
        let now = Instant::now();
        for unwritten in batch {
            let result = match &result {
                Ok(()) => {
                    self.mempool.release(&unwritten.id);
                    self.metrics.submissions_accepted.inc();
                    if let Some((hash, _)) = unwritten.blob {
                        let p2p = self.p2p.clone();
                        tokio::spawn(async move {
                            let _ = p2p.provide(hash).await;
                        });
                    }
                    self.accepted_at.insert(unwritten.id, now);
                    if unwritten.local {
                        let full = self.outbox.push(unwritten.envelope);
                        self.send(full);
                    }
                    Ok(unwritten.id)
                }
                Err(e) => {
                    self.mempool.remove_submission(&unwritten.id);
                    self.metrics.submissions_rejected.inc();
                    Err(Rejection::new(500, format!("cannot store the submission: {e}")))
                }
            };
            if let Some(reply) = unwritten.reply {
                let _ = reply.send(result);
            }
        }
        let due = self.outbox.due();
        self.send(due);
    }

    /// Gossips a batch an [`Outbox`] handed out.
    fn send(&self, batch: Option<(Topic, Vec<u8>)>) {
        if let Some((topic, bytes)) = batch {
            self.publish(topic, bytes);
        }
    }

    /// The admission rules: everything but the write. Every path (HTTP, gossip, relayed
    /// batches) is under the same checks and the same per-miner rate.
    fn admit(&mut self, signed: &Signed<Submission>) -> Result<SubmissionId, Rejection> {
        let id = SubmissionId(signed.envelope.payload_hash());
        let submission = &signed.message;
        self.submission_checks(&id, submission)?;
        self.replay
            .check(submission.miner, submission.nonce, submission.timestamp_ms, now_ms())
            .map_err(|e| Rejection::new(409, e.to_string()))?;
        self.mempool.admit(id, submission.clone(), now_ms(), true).map_err(|refusal| match refusal {
            Refusal::Duplicate => Rejection::new(409, refusal.to_string()),
            Refusal::RateLimited(_) | Refusal::Full(_) => Rejection::new(429, refusal.to_string()),
        })?;
        Ok(id)
    }

    /// The checks of a signed submission that change nothing: not seen before, an active
    /// challenge, within its size limit, a miner registered on the subnet.
    fn submission_checks(&self, id: &SubmissionId, submission: &Submission) -> Result<(), Rejection> {
        let id = *id;
        if self.state.submissions.contains_key(&id) || self.mempool.get(&id).is_some() {
            return Err(Rejection::new(409, format!("duplicate submission {id}")));
        }
        let Some(entry) = self.state.challenge(&submission.challenge) else {
            return Err(Rejection::new(
                404,
                format!("unknown or inactive challenge {:?}", submission.challenge.as_str()),
            ));
        };
        if submission.payload_size > u64::from(entry.spec.policy.max_input_bytes) {
            return Err(Rejection::new(
                413,
                format!(
                    "payload of {} bytes is over challenge {}'s limit of {} bytes",
                    submission.payload_size, submission.challenge, entry.spec.policy.max_input_bytes
                ),
            ));
        }
        let Some(metagraph) = &self.metagraph else {
            return Err(Rejection::new(503, "the validator has not read the metagraph yet; retry shortly"));
        };
        if metagraph.uid_of(&submission.miner).is_none() {
            return Err(Rejection::new(
                403,
                format!("hotkey {} is not registered on subnet {}", submission.miner, self.cfg.netuid),
            ));
        }
        Ok(())
    }

    /// The checks of a signed sudo action that change nothing: signed by the owner, not
    /// applied before.
    fn sudo_checks(&self, signer: &PublicKey, hash: &Hash) -> Result<(), Rejection> {
        if !self.sudo_keys().contains(signer) {
            return Err(Rejection::new(
                403,
                format!("{signer} is not the subnet owner; sudo actions must be signed by the owner key"),
            ));
        }
        if self.sudo_results.contains_key(hash) {
            return Err(Rejection::new(409, "this sudo action was already applied"));
        }
        Ok(())
    }

    fn admit_sudo(&mut self, signed: Signed<SudoAction>, local: bool) -> Result<Hash, Rejection> {
        let hash = signed.envelope.payload_hash();
        self.sudo_checks(&signed.signer, &hash)?;
        // A module this validator lacks is fetched by hash once the action commits (the HTTP
        // path has checked that the entry validator holds it).
        self.mempool.add_sudo(signed.envelope.clone());
        if local {
            self.publish(Topic::Submissions, signed.envelope.to_bytes());
        }
        Ok(hash)
    }

    fn on_gossip(&mut self, id: MessageId, from: PeerTag, message: Gossiped) {
        let verdict = match message {
            // The signature was valid (the pump checked it); a refusal here depends on this
            // validator's own view (a challenge or registration it has not caught up with yet,
            // a full mempool), so it is no ground to penalise the peer.
            Gossiped::Submission(signed) => match self.on_submit(signed, false, None, None) {
                Ok(()) => Verdict::Valid,
                Err(_) => Verdict::Ignored,
            },
            Gossiped::Submissions(batch) => {
                let admitted = batch
                    .into_iter()
                    .map(|signed| self.on_submit(signed, false, None, None))
                    .filter(Result::is_ok)
                    .count();
                if admitted > 0 { Verdict::Valid } else { Verdict::Ignored }
            }
            Gossiped::Sudo(signed) => match self.admit_sudo(signed, false) {
                Ok(_) => Verdict::Valid,
                Err(_) => Verdict::Ignored,
            },
            Gossiped::Evaluations(batch) => {
                for signed in batch {
                    let evaluation = signed.message;
                    let committed = self
                        .state
                        .submissions
                        .get(&evaluation.submission)
                        .is_some_and(|c| c.evaluations.contains_key(&evaluation.validator));
                    if !committed {
                        self.mempool.add_evaluation(evaluation.submission, evaluation.validator, signed.envelope);
                    }
                }
                Verdict::Valid
            }
            // The machine's own judgement: a refused message is not forwarded, and counts
            // toward its sender's ban.
            Gossiped::Consensus(envelope) => self.feed(CInput::Message { from, envelope }),
        };
        let p2p = self.p2p.clone();
        tokio::spawn(async move {
            let _ = p2p.report(id, verdict).await;
        });
    }

    fn publish(&self, topic: Topic, bytes: Vec<u8>) {
        let p2p = self.p2p.clone();
        tokio::spawn(async move {
            if let Err(e) = p2p.publish(topic, bytes).await {
                debug!(%e, ?topic, "publish failed");
            }
        });
    }

    // ---------------------------------------------------------------- consensus

    /// Hands `first` to the consensus machine and carries out what it asks, until nothing is
    /// left; returns the machine's verdict on `first` itself (for a gossiped message).
    fn feed(&mut self, first: CInput) -> Verdict {
        let mut verdict = None;
        let mut queue = VecDeque::from([first]);
        while let Some(input) = queue.pop_front() {
            let Some(machine) = self.machine.as_mut() else { break };
            let outputs = machine.handle(input);
            verdict.get_or_insert_with(|| crate::verdicts::consensus_verdict(&outputs));
            for output in outputs {
                if let Some(next) = self.carry_out(output) {
                    queue.push_back(next);
                }
            }
        }
        verdict.unwrap_or(Verdict::Ignored)
    }

    fn carry_out_all(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            if let Some(next) = self.carry_out(output) {
                self.feed(next);
            }
        }
    }

    fn carry_out(&mut self, output: Output) -> Option<CInput> {
        match output {
            Output::Broadcast(envelope) => self.publish(Topic::Consensus, envelope.to_bytes()),
            Output::SetTimer { height, view, after_ms } => {
                let inputs = self.inputs.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    let _ = inputs.send(Input::Timer { height, view }).await;
                });
            }
            Output::BuildProposal { height, view } => {
                let earliest = self.last_commit + self.cfg.block_interval;
                let latest = Instant::now() + Duration::from_millis(self.cfg.view_timeout_ms / 2);
                self.build = Some((height, view, earliest, latest.max(earliest)));
                self.maybe_build();
            }
            Output::VerifyProposal { view, block } => {
                return self.verify(view, block, Instant::now() + MISSING_WAIT);
            }
            Output::Commit { block, certificate } => return self.commit(block, certificate),
            Output::Checkpoint(checkpoint) => {
                let key = format!("checkpoint/{:020}", checkpoint.header.height.get());
                let _ = self.records.store().put(
                    platform_storage::Column::Consensus,
                    key.as_bytes(),
                    &checkpoint.header.hash().as_bytes()[..],
                );
            }
            Output::NeedSync { height } => self.request_sync(height.get()),
            Output::Misbehaviour { from, reason } => warn!(peer = from.0, %reason, "consensus misbehaviour"),
        }
        None
    }

    fn maybe_build(&mut self) {
        let Some((height, view, earliest, latest)) = self.build else { return };
        let now = Instant::now();
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
        let actions = self.build_actions(epoch);
        self.feed(CInput::ProposalBuilt { height, view, epoch, chain, actions });
    }

    /// The leader's block: due weights (and a changed validator set) first, then sudo
    /// actions, evaluations and submissions in arrival order, within the size budget.
    fn build_actions(&mut self, epoch: Epoch) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state.weights_due(epoch)
            && let Some(metagraph) = &self.metagraph
        {
            actions.push(Action::Weights(platform_app::weights::compute(&self.state, metagraph, epoch)));
            if let Some(set) = platform_app::weights::validator_set(metagraph, self.cfg.min_stake_rao, epoch)
                && set.validators != self.state.registry.validators.validators
            {
                actions.push(Action::ValidatorSet(set));
            }
        }
        let mut candidates: Vec<Action> = self.mempool.sudo().iter().cloned().map(Action::Sudo).collect();
        candidates.extend(self.mempool.evaluations().map(|(_, e)| Action::Evaluation(e.clone())));
        candidates.extend(self.mempool.submission_ids().map(|id| Action::Submission(*id)));
        self.with_rules(|state, ctx| {
            let mut checker = state.checker(epoch);
            for action in &actions {
                // Weights and validator sets were computed just now from the same state.
                let _ = checker.push(action, ctx);
            }
            let mut bytes = 0usize;
            for action in candidates {
                let size = action.encoded_size();
                if bytes + size > BLOCK_BYTES_BUDGET || actions.len() >= platform_types::limits::MAX_BLOCK_ACTIONS {
                    break;
                }
                // Keep only actions valid where they stand (an evaluation whose submission is not
                // committed yet waits for a later block).
                if checker.push(&action, ctx).is_ok() {
                    bytes += size;
                    actions.push(action);
                }
            }
        });
        actions
    }

    /// Runs `f` with the state and the rules' context: sudo keys, metagraph, and submission
    /// bodies from the mempool or, failing that, the store.
    fn with_rules<R>(&mut self, f: impl FnOnce(&mut AppState, &Context<'_>) -> R) -> R {
        let sudo = self.sudo_keys();
        let (mempool, records) = (&self.mempool, &self.records);
        let lookup = |id: &SubmissionId| submission_info(mempool, records, id);
        let ctx = Context {
            netuid: self.cfg.netuid,
            sudo: &sudo,
            metagraph: self.metagraph.as_deref(),
            chain: Some(&self.chain),
            min_stake: self.cfg.min_stake_rao,
            lookup: &lookup,
            verified: &self.verified,
        };
        f(&mut self.state, &ctx)
    }

    fn verify(&mut self, view: View, block: Block, deadline: Instant) -> Option<CInput> {
        let result = self.with_rules(|state, ctx| state.check_block(&block, ctx));
        let (height, block_hash) = (block.header.height, block.hash());
        let valid = match result {
            Ok(()) => true,
            Err(reason) if reason.is_pending() && Instant::now() < deadline => {
                debug!(%reason, "proposal refers to something not yet received; waiting");
                self.verifying.push((view, block, deadline));
                return None;
            }
            Err(reason) => {
                warn!(height = height.get(), view = view.get(), %reason, "proposal rejected");
                false
            }
        };
        Some(CInput::ProposalVerified { height, view, block_hash, valid })
    }

    fn recheck_verifying(&mut self) {
        if self.verifying.is_empty() {
            return;
        }
        for (view, block, deadline) in std::mem::take(&mut self.verifying) {
            if let Some(answer) = self.verify(view, block, deadline) {
                self.feed(answer);
            }
        }
    }

    fn commit(&mut self, block: Block, certificate: QuorumCertificate) -> Option<CInput> {
        self.settle_writes();
        // Submissions acknowledged before a restart may never have left this node: relayed again
        // at the first commit, when peers are certainly there.
        if !self.reloaded.is_empty() {
            for envelope in std::mem::take(&mut self.reloaded) {
                if !self.state.submissions.contains_key(&SubmissionId(envelope.payload_hash())) {
                    let full = self.outbox.push(envelope);
                    self.send(full);
                }
            }
            let rest = self.outbox.take();
            self.send(rest);
        }
        let missing: Vec<SubmissionId> = block
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Submission(id) if self.mempool.get(id).is_none() && !self.records.has_submission(id) => {
                    Some(*id)
                }
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            info!(height = block.header.height.get(), missing = missing.len(), "fetching submission bodies from peers");
            self.committing = Some((block, certificate));
            self.fetch_bodies(missing);
            return None;
        }
        if let Err(e) = self.records.put_block(&block, &certificate) {
            error!(%e, "cannot store a committed block; this validator stops voting");
            self.machine = None;
            return None;
        }
        let effects = self.with_rules(|state, ctx| state.apply_block(&block, ctx));
        let height = block.header.height;
        for (index, reason) in &effects.skipped {
            warn!(height = height.get(), index, %reason, "committed action skipped");
        }
        self.last_commit = Instant::now();
        self.metrics.height.set(height.get() as i64);
        for id in &effects.submissions {
            self.mempool.remove_submission(id);
        }
        for (id, validator) in &effects.evaluations {
            self.mempool.remove_evaluation(id, validator);
            self.observe_final(id);
        }
        for action in &block.actions {
            if let Action::Sudo(envelope) = action {
                self.mempool.remove_sudo(&envelope.payload_hash());
            }
        }
        for (hash, result) in &effects.sudo {
            info!(height = height.get(), action = %hash, ?result, "sudo action committed");
            self.sudo_results.insert(*hash, (height, result.clone()));
        }
        if effects.challenges_changed {
            self.ensure_modules();
        }
        for id in effects.submissions {
            self.start_evaluation(id);
        }
        if let Some(weights) = effects.weights {
            info!(epoch = weights.epoch.get(), height = height.get(), "weights agreed");
            self.submit_weights(weights);
        }
        if let Some(set) = &effects.next_validators {
            let p2p = self.p2p.clone();
            let hotkeys = set.validators.iter().map(|v| v.hotkey).collect();
            tokio::spawn(async move {
                let _ = p2p.set_validators(hotkeys).await;
            });
        }
        self.check_required_version();
        Some(CInput::Applied {
            height,
            state_root: self.state.tip.state_root,
            next_validators: effects.next_validators,
        })
    }

    /// Below the version the network requires, this validator stops signing but keeps
    /// following blocks and serving reads.
    fn check_required_version(&mut self) {
        if let Some(required) = self.state.registry.required_version
            && node_version() < required
            && self.outdated.is_none()
        {
            error!(running = %node_version(), %required, "this validator is below the required version: it follows without voting; upgrade it");
            self.outdated = Some(required);
            if let Some(machine) = self.machine.as_mut() {
                machine.stop_voting();
            }
        }
    }

    fn observe_final(&mut self, id: &SubmissionId) {
        if self.state.submissions.get(id).is_some_and(|c| c.is_final(&self.state.registry.validators))
            && let Some(start) = self.accepted_at.remove(id)
        {
            self.metrics.score_latency.observe(start.elapsed().as_secs_f64());
        }
    }

    fn request_sync(&mut self, from: u64) {
        if self.syncing {
            return;
        }
        self.syncing = true;
        let p2p = self.p2p.clone();
        let inputs = self.inputs.clone();
        let validators: HashSet<PublicKey> =
            self.state.registry.validators.validators.iter().map(|v| v.hotkey).collect();
        tokio::spawn(async move {
            let mut blocks = Vec::new();
            let request = SyncRequest::Blocks { from: Height::new(from.max(1)) }.to_bytes();
            let validator = |hotkey: Option<PublicKey>| hotkey.is_some_and(|h| validators.contains(&h));
            ask_peers(&p2p, &request, validator, |bytes| {
                if let Ok(SyncResponse::Blocks(list)) = SyncResponse::from_bytes(bytes) {
                    blocks = list;
                }
                !blocks.is_empty()
            })
            .await;
            let _ = inputs.send(Input::Synced { blocks }).await;
        });
    }

    fn fetch_bodies(&self, ids: Vec<SubmissionId>) {
        let p2p = self.p2p.clone();
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let mut envelopes = Vec::new();
            let wanted = ids.len();
            let request = SyncRequest::Submissions(ids).to_bytes();
            ask_peers(
                &p2p,
                &request,
                |hotkey| hotkey.is_some(),
                |bytes| {
                    if let Ok(SyncResponse::Submissions(list)) = SyncResponse::from_bytes(bytes) {
                        envelopes.extend(list);
                    }
                    envelopes.len() >= wanted
                },
            )
            .await;
            let _ = inputs.send(Input::Bodies { envelopes }).await;
        });
    }

    // ---------------------------------------------------------------- evaluation

    fn ensure_modules(&mut self) {
        let wanted: Vec<(String, Hash, platform_types::RuntimePolicy)> = self
            .state
            .registry
            .challenges
            .iter()
            .map(|(id, entry)| (id.clone(), entry.spec.module_hash, entry.spec.policy))
            .collect();
        self.modules.retain(|id, (hash, _)| wanted.iter().any(|(w, h, _)| w == id && h == hash));
        for (id, hash, policy) in wanted {
            if self.modules.contains_key(&id) || !self.loading.insert(id.clone()) {
                continue;
            }
            let (records, p2p, runtime, inputs) =
                (self.records.clone(), self.p2p.clone(), self.runtime.clone(), self.inputs.clone());
            tokio::spawn(async move {
                // Asked for until a peer provides it (pauses growing to 30 s), for as long as
                // the node runs: a committed challenge's module is needed to evaluate.
                let mut wasm = records.blob(&hash);
                let mut pause = Duration::from_secs(1);
                while wasm.is_none() {
                    match p2p.fetch_blob(hash).await {
                        Ok(bytes) if blake2b_256(&bytes) == hash => {
                            let _ = records.put_blob(&hash, &bytes);
                            let _ = p2p.provide(hash).await;
                            wasm = Some(bytes);
                        }
                        _ if inputs.is_closed() => return,
                        _ => {
                            debug!(%hash, ?pause, "challenge module not found on any peer yet; asking again");
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(Duration::from_secs(30));
                        }
                    }
                }
                let module = match wasm {
                    Some(wasm) => tokio::task::spawn_blocking(move || runtime.load(&wasm, &policy))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map_err(|e| e.to_string())),
                    None => Err(format!("module {hash} not found on any peer")),
                };
                let _ = inputs.send(Input::ModuleReady { challenge: id, hash, module }).await;
            });
        }
    }

    fn on_module(&mut self, challenge: String, hash: Hash, module: Result<ChallengeModule, String>) {
        self.loading.remove(&challenge);
        match module {
            Ok(module) => {
                info!(%challenge, %hash, "challenge module ready");
                self.modules.insert(challenge, (hash, module));
                for id in std::mem::take(&mut self.waiting_module) {
                    self.start_evaluation(id);
                }
            }
            Err(reason) => error!(%challenge, %hash, %reason, "challenge module unavailable"),
        }
    }

    /// After a restart: evaluate committed submissions this validator has not evaluated yet.
    fn resume_evaluations(&mut self) {
        self.ensure_modules();
        let me = self.me();
        let mut ids: Vec<(Height, SubmissionId)> = self
            .state
            .submissions
            .iter()
            .filter(|(_, c)| !c.evaluations.contains_key(&me))
            .map(|(id, c)| (c.height, *id))
            .collect();
        ids.sort();
        for (_, id) in ids {
            self.start_evaluation(id);
        }
    }

    fn start_evaluation(&mut self, id: SubmissionId) {
        let Some(committed) = self.state.submissions.get(&id) else { return };
        if !self.evaluated.insert(id) {
            return;
        }
        let Some((_, module)) = self.modules.get(committed.challenge.as_str()) else {
            self.evaluated.remove(&id);
            self.waiting_module.push(id);
            return;
        };
        self.evaluation_queue.push_back((id, module.clone()));
        self.dispatch_evaluations();
    }

    /// Starts queued evaluations while fewer than [`EVALUATIONS_IN_FLIGHT`] are under way, so
    /// that at most that many payloads are held in memory at once.
    fn dispatch_evaluations(&mut self) {
        while self.evaluations_in_flight < EVALUATIONS_IN_FLIGHT {
            let Some((id, module)) = self.evaluation_queue.pop_front() else { return };
            let Some(committed) = self.state.submissions.get(&id) else { continue };
            self.evaluations_in_flight += 1;
            self.spawn_evaluation(id, module, committed.clone());
        }
    }

    /// Reads the payload and evaluates it on the worker; always answers with exactly one
    /// [`Input::Evaluated`] or [`Input::Abstained`].
    fn spawn_evaluation(&self, id: SubmissionId, module: ChallengeModule, committed: platform_app::Committed) {
        let (worker, inputs, records, p2p) =
            (self.worker.clone(), self.inputs.clone(), self.records.clone(), self.p2p.clone());
        let platform_app::Committed { challenge, block_hash, epoch, miner, .. } = committed;
        tokio::spawn(async move {
            // Read here rather than on the event loop.
            let Some(submission) = records.submission(&id) else {
                let reason = "the committed submission has no stored body".to_owned();
                let _ = inputs.send(Input::Abstained { id, reason }).await;
                return;
            };
            let payload = match submission.payload {
                platform_types::Payload::Inline(bytes) => Some(bytes),
                platform_types::Payload::Blob(hash) => match records.blob(&hash) {
                    Some(bytes) => Some(bytes),
                    None => p2p.fetch_blob(hash).await.ok().filter(|b| blake2b_256(b) == hash),
                },
            };
            let job = evaluator::Job { id, challenge, block_hash, epoch, miner, payload };
            match worker.evaluate(module, job).await {
                Some(Ok(envelope)) => {
                    let _ = inputs.send(Input::Evaluated { id, envelope }).await;
                }
                Some(Err(abstention)) => {
                    let _ = inputs.send(Input::Abstained { id, reason: abstention.reason }).await;
                }
                None => {
                    let reason = "the evaluation thread stopped".to_owned();
                    let _ = inputs.send(Input::Abstained { id, reason }).await;
                }
            }
        });
    }

    /// This validator's signed evaluation of `id`: gossiped, and ordered by a later block.
    fn on_evaluated(&mut self, id: SubmissionId, envelope: Envelope) {
        if !self.state.submissions.contains_key(&id) {
            return;
        }
        self.metrics.evaluations.inc();
        self.verified.remember(&envelope, self.cfg.netuid);
        self.mempool.add_evaluation(id, self.me(), envelope.clone());
        let full = self.evaluation_outbox.push(envelope);
        self.send(full);
        let due = self.evaluation_outbox.due();
        self.send(due);
    }

    // ---------------------------------------------------------------- chain

    fn on_chain(&mut self, block: BlockRef, metagraph: Option<Arc<Metagraph>>) {
        self.chain.observe(block);
        if let Some(metagraph) = metagraph {
            self.chain.set_schedule(metagraph.params.schedule(self.cfg.netuid));
            self.metagraph = Some(metagraph);
        }
        self.metrics.chain_block.set(block.number as i64);
        let setter = self.setter.clone();
        if setter.pending().map(|p| !p.is_empty()).unwrap_or(false) {
            tokio::spawn(async move {
                if let Ok(outcomes) = setter.reveal_due(block.number).await {
                    for outcome in outcomes {
                        info!(?outcome, "commit-reveal");
                    }
                }
            });
        }
    }

    fn submit_weights(&self, weights: platform_types::WeightsProposal) {
        let Some(metagraph) = self.metagraph.clone() else { return };
        let (setter, inputs, netuid, height, metrics) = (
            self.setter.clone(),
            self.inputs.clone(),
            self.cfg.netuid,
            self.state.tip.height.get(),
            self.metrics.clone(),
        );
        tokio::spawn(async move {
            let mut results = Vec::new();
            for vector in &weights.mechanisms {
                let call = WeightVector {
                    netuid,
                    mechanism: vector.mechanism,
                    uids: vector.uids.iter().map(|u| u.get()).collect(),
                    values: vector.weights.clone(),
                    version_key: metagraph.params.weights_version_key,
                };
                let outcome = setter.submit(call).await;
                match &outcome {
                    Ok(submitted) => {
                        metrics.weights_set.inc();
                        info!(epoch = weights.epoch.get(), ?submitted, "weights sent to the chain")
                    }
                    Err(e) => {
                        metrics.weights_failed.inc();
                        warn!(epoch = weights.epoch.get(), %e, "the chain refused the weights")
                    }
                }
                results.push(json!({
                    "mechanism": vector.mechanism.get(),
                    "uids": vector.uids.iter().map(|u| u.get()).collect::<Vec<_>>(),
                    "weights": vector.weights,
                    "result": match outcome { Ok(s) => format!("{s:?}"), Err(e) => format!("error: {e}") },
                }));
            }
            let record = json!({ "epoch": weights.epoch.get(), "height": height, "mechanisms": results });
            let _ = inputs.send(Input::WeightsSubmitted { epoch: weights.epoch.get(), record }).await;
        });
    }

    // ---------------------------------------------------------------- queries

    pub(crate) fn publish_status(&self) {
        let healthy = self.outdated.is_none() && self.voting();
        self.metrics.voting.set(i64::from(healthy));
        let status = json!({
            "status": if healthy { "ok" } else { "degraded" },
            "version": node_version().to_string(),
            "required_version": self.state.registry.required_version.map(|v| v.to_string()),
            "outdated": self.outdated.map(|v| format!("running {} but the network requires {v}: this validator does not vote", node_version())),
            "voting": healthy,
            "height": self.state.tip.height.get(),
            "epoch": self.state.tip.epoch.get(),
            "chain_block": self.chain.head().map(|b| b.number),
            "mempool": self.mempool.len(),
            "evaluations_abstained": self.metrics.evaluations_abstained.get(),
            "last_abstention": self.abstained.as_ref().map(|(id, reason)| json!({ "submission": id.to_string(), "reason": reason })),
        });
        self.status.send_replace(status);
    }

    fn answer(&self, query: Query) -> Value {
        match query {
            Query::Health => self.status.borrow().clone(),
            Query::Challenges => Value::Array(
                self.state
                    .registry
                    .challenges
                    .values()
                    .map(|e| {
                        let s = &e.spec;
                        json!({
                            "id": s.id.as_str(), "name": s.name, "module_hash": s.module_hash.to_string(),
                            "module_size": s.module_size, "mechanism": s.mechanism.get(),
                            "emission_share_ppb": s.emission_share_ppb, "since_height": e.since.get(),
                            "module_loaded": self.modules.contains_key(s.id.as_str()),
                            "policy": { "fuel_limit": s.policy.fuel_limit, "memory_pages_max": s.policy.memory_pages_max,
                                "deadline_ms": s.policy.deadline_ms, "max_input_bytes": s.policy.max_input_bytes,
                                "max_output_bytes": s.policy.max_output_bytes },
                        })
                    })
                    .collect(),
            ),
            Query::Submission(id) => self.submission_status(&id),
            Query::Scores(challenge) => self.scores(challenge.as_deref()),
            Query::Weights => self.latest_weights(),
            Query::Consensus => {
                let (height, view, leader) = match &self.machine {
                    Some(m) => (m.height().get(), m.view().get(), Some(m.committee().leader(m.height(), m.view()))),
                    None => (self.state.tip.height.next().get(), 0, None),
                };
                json!({
                    "height": height, "view": view, "leader": leader.map(|l| l.to_ss58()),
                    "tip": { "height": self.state.tip.height.get(), "hash": self.state.tip.hash.to_string(),
                             "state_root": self.state.tip.state_root.to_string(), "epoch": self.state.tip.epoch.get() },
                    "validators": self.state.registry.validators.validators.iter()
                        .map(|v| json!({ "hotkey": v.hotkey.to_ss58(), "uid": v.uid.get(), "stake": v.stake })).collect::<Vec<_>>(),
                    "voting": self.voting(),
                })
            }
            Query::Sudo(hash) => match self.sudo_results.get(&hash) {
                Some((height, Ok(()))) => json!({ "status": "committed", "height": height.get() }),
                Some((height, Err(reason))) => json!({ "status": "rejected", "height": height.get(), "reason": reason }),
                None if self.mempool.sudo().iter().any(|e| e.payload_hash() == hash) => json!({ "status": "pending" }),
                None => json!({ "status": "unknown" }),
            },
        }
    }

    /// The robust stake-weighted aggregate of a committed submission's scores so far.
    fn aggregate_ppb(&self, c: &platform_app::Committed) -> Option<u32> {
        let outlier_z = self.state.challenge(&c.challenge).map_or(2_000, |e| e.spec.scoring.outlier_z_milli);
        platform_scoring::aggregate(&c.scores(&self.state.registry.validators), outlier_z).map(|a| a.mean_ppb)
    }

    fn submission_status(&self, id: &SubmissionId) -> Value {
        if let Some(s) = self.mempool.get(id) {
            return json!({ "id": id.to_string(), "status": "pending", "challenge": s.challenge.as_str(), "miner": s.miner.to_ss58() });
        }
        let Some(c) = self.state.submissions.get(id) else {
            return json!({ "id": id.to_string(), "status": "unknown" });
        };
        let validators = &self.state.registry.validators;
        let total: u128 = validators.validators.iter().map(|v| u128::from(v.stake)).sum();
        let evaluated = c.evaluated_stake(validators);
        let is_final = c.is_final(validators);
        json!({
            "id": id.to_string(),
            "status": if is_final { "scored" } else if c.evaluations.is_empty() { "evaluating" } else { "partially_evaluated" },
            "final": is_final,
            "challenge": c.challenge.as_str(),
            "miner": c.miner.to_ss58(),
            "height": c.height.get(),
            "epoch": c.epoch.get(),
            "score_ppb": self.aggregate_ppb(c),
            "evaluations": c.evaluations.iter().map(|(v, (status, score, output))| json!({
                "validator": v.to_ss58(), "status": format!("{status:?}").to_lowercase(), "score_ppb": score,
                "output_hash": output.to_string() })).collect::<Vec<_>>(),
            "evaluated_stake_ppb": (evaluated * 1_000_000_000 / total.max(1)) as u64,
        })
    }

    fn scores(&self, only: Option<&str>) -> Value {
        let mut out = serde_json::Map::new();
        for (id, entry) in &self.state.registry.challenges {
            if only.is_some_and(|o| o != id) {
                continue;
            }
            let mut best: HashMap<PublicKey, (u32, SubmissionId)> = HashMap::new();
            for sid in self.state.by_challenge.get(id).map(Vec::as_slice).unwrap_or_default() {
                let Some(c) = self.state.submissions.get(sid) else { continue };
                if c.height < entry.since {
                    continue;
                }
                if let Some(score) = self.aggregate_ppb(c) {
                    let slot = best.entry(c.miner).or_insert((score, *sid));
                    if score > slot.0 {
                        *slot = (score, *sid);
                    }
                }
            }
            let mut rows: Vec<_> = best.into_iter().collect();
            rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
            let uid = |h: &PublicKey| self.metagraph.as_ref().and_then(|m| m.uid_of(h)).map(|u| u.get());
            out.insert(
                id.clone(),
                Value::Array(
                    rows.iter()
                        .enumerate()
                        .map(|(rank, (miner, (score, sid)))| {
                            json!({
                            "rank": rank + 1, "miner": miner.to_ss58(), "uid": uid(miner),
                            "score_ppb": score, "submission": sid.to_string() })
                        })
                        .collect(),
                ),
            );
        }
        Value::Object(out)
    }

    fn latest_weights(&self) -> Value {
        match self.records.latest_weights_record() {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

/// Sends `request` to each connected peer whose hotkey `ask` accepts, handing every answer to
/// `answered` until it reports that it has what it needs. A node that has just started may not
/// know its peers' hotkeys yet, so rounds repeat with growing pauses (20 rounds, about 50 s in
/// all) before giving up.
async fn ask_peers(
    p2p: &Client,
    request: &[u8],
    ask: impl Fn(Option<PublicKey>) -> bool,
    mut answered: impl FnMut(&[u8]) -> bool,
) {
    for attempt in 0..20u64 {
        for (peer, hotkey) in p2p.peers().await.unwrap_or_default() {
            if !ask(hotkey) {
                continue;
            }
            if let Ok(bytes) = p2p.request_sync(peer, request.to_vec()).await
                && answered(&bytes)
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(250 * (attempt + 1))).await;
    }
}
