//! The node's event loop: one task owns the consensus machine, the application state and the
//! mempool, and reacts to inputs (gossip, HTTP requests, timers, sandbox results, chain
//! blocks) one at a time. Slow work (signature checks of gossip, evaluations, chain calls,
//! peer requests) runs elsewhere and comes back as an [`Input`].
//!
//! This file holds the loop, its inputs and its state; what it does with them is split by
//! concern: `admission.rs` (submissions and sudo actions in, group commit, relay, gossip
//! verdicts), `ordering.rs` (the consensus machine's requests: build, verify, commit, sync),
//! `evaluations.rs` (modules and evaluations), `chain_follow.rs` (chain blocks, weights out)
//! and `queries.rs` (status and the HTTP API's reads).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use platform_app::{AppState, ChainView, SubmissionInfo};
use platform_chain::{BlockRef, Chain, Metagraph, WeightSetter};
use platform_consensus::{Consensus, Input as CInput, PeerTag};
use platform_p2p::{Client, MessageId};
use platform_types::{
    Block, Envelope, Epoch, Evaluation, Hash, Height, Keypair, MessageKind, PublicKey, QuorumCertificate, ReplayGuard,
    Signed, Submission, SubmissionId, SudoAction, VerifiedEnvelopes, Version, View,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

use crate::admission::Unwritten;
use crate::config::NodeConfig;
use crate::evaluator;
use crate::mailbox::Mailbox;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::records::Records;
use crate::writer::Writer;

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
pub(crate) const MISSING_WAIT: Duration = Duration::from_secs(2);

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
    /// The challenges whose module the evaluation actor has loaded, after a change.
    ModulesLoaded(BTreeSet<String>),
    Chain {
        block: BlockRef,
        metagraph: Option<Arc<Metagraph>>,
    },
    /// The metagraph at a chain block a proposal's snapshot names, read to check it.
    MetagraphRead {
        block: BlockRef,
        metagraph: Result<Arc<Metagraph>, String>,
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

/// Inputs taken in one turn of the loop before the admitted submissions go to the writer.
pub(crate) const MAX_TURN: usize = 4096;

pub(crate) struct Core<C: Chain + Clone + 'static> {
    pub cfg: Arc<NodeConfig>,
    pub keypair: Keypair,
    pub records: Records,
    pub p2p: Client,
    pub inputs: mpsc::Sender<Input>,
    pub machine: Option<Consensus>,
    pub state: AppState,
    pub mempool: Mempool,
    pub replay: ReplayGuard,
    /// Envelopes whose signatures are known good (shared with the gossip pump).
    pub verified: Arc<VerifiedEnvelopes>,
    /// The latest metagraph read (admission's registration check, the next snapshot).
    pub metagraph: Option<Arc<Metagraph>>,
    /// Recent metagraph reads, newest last, at most [`METAGRAPH_READS`]: what proposed
    /// snapshots are compared with.
    pub metagraph_reads: VecDeque<Arc<Metagraph>>,
    /// Chain blocks whose metagraph is being read for a proposal's snapshot.
    pub reading_metagraphs: HashSet<Hash>,
    /// The chain blocks this validator has seen: proposals link to its head, and a proposal's
    /// link is checked against it.
    pub chain: ChainView,
    pub metrics: Arc<Metrics>,
    pub setter: Arc<WeightSetter<C>>,
    pub status: watch::Sender<Value>,
    /// The evaluation actor's mailbox ([`crate::evaluations`]).
    pub evaluations: Mailbox<crate::evaluations::Request>,
    /// Challenges whose module the evaluation actor has loaded (shown in `/challenges`).
    pub modules_loaded: BTreeSet<String>,
    pub build: Option<(Height, View, Instant, Instant)>,
    pub verifying: Vec<(View, Block, Instant)>,
    /// When this validator first held a proposal for each height not yet committed (the
    /// commit latency metric); heights at or below the tip are dropped at each commit.
    pub proposal_seen: std::collections::BTreeMap<Height, Instant>,
    pub committing: Option<(Block, QuorumCertificate)>,
    pub last_commit: Instant,
    pub syncing: bool,
    pub outdated: Option<Version>,
    pub sudo_results: imbl::HashMap<Hash, (Height, Result<(), String>)>,
    /// The read-only view the HTTP API answers from ([`crate::view`]).
    pub view: watch::Sender<Arc<crate::view::ReadView>>,
    /// Something the view shows changed since it was last published.
    pub view_dirty: bool,
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
}

/// Metagraph reads kept to check proposed snapshots against.
pub(crate) const METAGRAPH_READS: usize = 8;

/// What the rules need of a submission: the mempool's copy, else the stored one.
pub(crate) fn submission_info(mempool: &Mempool, records: &Records, id: &SubmissionId) -> Option<SubmissionInfo> {
    mempool.info(id).or_else(|| records.submission_info(id))
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl<C: Chain + Clone + 'static> Core<C> {
    pub(crate) fn me(&self) -> PublicKey {
        self.keypair.public()
    }

    /// Whether this validator signs votes (it may follow without).
    pub(crate) fn voting(&self) -> bool {
        self.machine.as_ref().is_some_and(|m| m.is_voting())
    }

    pub(crate) fn sudo_keys(&self) -> Vec<PublicKey> {
        if let Some(key) = self.cfg.sudo_key {
            return vec![key];
        }
        self.metagraph.as_ref().map(|m| m.owner_hotkey.into_iter().chain(m.owner_coldkey).collect()).unwrap_or_default()
    }

    /// The chain block a block built now links to, and its epoch: the newest chain block
    /// seen (never behind the tip's link) and that block's epoch, never behind the tip's.
    pub(crate) fn current_link(&self) -> Option<(BlockRef, Epoch)> {
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
                        // The status goes out with a new view, or alone.
                        if !self.publish_view() {
                            self.publish_status();
                        }
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
            Input::Evaluated { id, envelope } => self.on_evaluated(id, envelope),
            Input::Abstained { id, reason } => {
                warn!(%id, %reason, attempts = evaluator::ATTEMPTS, "abstaining from an evaluation: it failed on this machine, not by the submission's fault");
                self.metrics.evaluations_abstained.inc();
                self.abstained = Some((id, reason));
            }
            Input::ModulesLoaded(loaded) => {
                self.modules_loaded = loaded;
                self.view_dirty = true;
            }
            Input::Chain { block, metagraph } => self.on_chain(block, metagraph),
            Input::MetagraphRead { block, metagraph } => self.on_metagraph_read(block, metagraph),
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
        self.evaluations.flush();
        self.metrics.evaluation_backlog.set(self.evaluations.backlog() as i64);
        self.maybe_build();
        self.recheck_verifying();
        self.publish_view();
    }
}
