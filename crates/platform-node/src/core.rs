//! The node's core: the consensus machine, the application state and the mempool, reacting to
//! [`Input`]s (gossip, HTTP requests, timers, sandbox results, chain blocks) one at a time.
//! It does nothing outside itself but read and write `data/` and publish its read view: what
//! it wants done elsewhere (gossip, timers, evaluations, peer requests, chain calls) it pushes
//! as an [`Effect`], which the event loop (`event_loop.rs`) hands to the dispatcher after each
//! turn. Slow work runs in the actors and comes back as an [`Input`].
//!
//! This file holds the inputs and the state; what the core does with them is split by
//! concern: `admission.rs` (submissions and sudo actions in, group commit, relay, gossip
//! verdicts), `ordering.rs` (the consensus machine's requests: build, verify, commit, sync),
//! `evaluations.rs` (modules and evaluations), `chain_follow.rs` (chain blocks, weights out)
//! and `view.rs` (status and the HTTP API's read view).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use platform_app::{AppState, ChainView, SubmissionInfo};
use platform_chain::{BlockRef, Metagraph};
use platform_consensus::{Committee, Config as ConsensusConfig, Consensus};
use platform_p2p::Topic;
use platform_storage::Store;
use platform_types::{
    Block, Envelope, Epoch, Hash, Height, Keypair, PublicKey, QuorumCertificate, ReplayGuard, Submission, SubmissionId,
    VerifiedEnvelopes, Version, View,
};
use serde_json::Value;
use tokio::sync::watch;
use tracing::info;

use crate::admission::Unwritten;
use crate::config::NodeConfig;
use crate::effects::Effect;
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

pub(crate) use crate::inputs::{Gossiped, Input, Precheck};
pub use crate::inputs::{Query, Rejection};

/// Inputs taken in one turn of the loop before the admitted submissions go to the writer.
pub(crate) const MAX_TURN: usize = 4096;

pub(crate) struct Core {
    pub cfg: Arc<NodeConfig>,
    pub keypair: Keypair,
    pub records: Records,
    /// What this turn asks to be done outside the core, in order ([`Core::take_effects`]).
    pub effects: Vec<Effect>,
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
    pub status: watch::Sender<Value>,
    /// What the status last published showed ([`crate::view::StatusKey`]).
    pub status_key: Option<crate::view::StatusKey>,
    /// Challenges whose module the evaluation actor has loaded (shown in `/challenges`).
    pub modules_loaded: BTreeSet<String>,
    pub build: Option<(Height, View, Instant, Instant)>,
    /// The block this validator last built as leader: its own proposal of it is checked by
    /// header only ([`Core::verify`]).
    pub built: Option<crate::proposals::Built>,
    pub verifying: Vec<(View, Block, bool, Instant)>,
    /// When this validator first held a proposal for each height not yet committed (the
    /// commit latency metric); heights at or below the tip are dropped at each commit.
    pub proposal_seen: std::collections::BTreeMap<Height, Instant>,
    pub committing: Option<(Block, QuorumCertificate)>,
    pub last_commit: Instant,
    pub syncing: bool,
    /// Peers no longer hold the blocks after the tip: the event loop fetches their snapshot
    /// and rebuilds the core from it ([`crate::rejoin`]).
    pub rejoin: bool,
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
    /// Stores the state's snapshots ([`crate::snapshots`]).
    pub snapshots: crate::snapshots::SnapshotWriter,
    /// Admitted submissions not yet relayed to the other validators.
    pub outbox: Outbox,
    /// This validator's evaluations not yet gossiped.
    pub evaluation_outbox: Outbox,
    /// Acknowledged, unordered submissions found in `data/` at start, to relay again.
    pub reloaded: Vec<Envelope>,
    /// The last evaluation this validator abstained from, and why (shown in `/health`).
    pub abstained: Option<(SubmissionId, String)>,
    /// How weights are sent (`/health`'s `weights_path`), as the chain client last chose it.
    pub weights_path: Option<Value>,
    /// The time, as the caller last set it ([`Core::set_time`]): the core never reads a clock,
    /// so a run driven with the same inputs at the same times is the same run.
    pub clock: Clock,
}

/// The core's time: a monotonic instant (timers, batching, waits) and the wall clock in
/// milliseconds (the replay window of signed timestamps).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub now: Instant,
    pub wall_ms: u64,
}

impl Clock {
    /// This machine's clocks, now.
    pub fn system() -> Clock {
        let wall_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Clock { now: Instant::now(), wall_ms }
    }
}

/// What a core is built from (besides the store the consensus machine keeps its safety record
/// in): the settings, `data/`, the state recovered from the stored blocks, the latest
/// metagraph read, and where the core publishes.
pub(crate) struct CoreParts {
    pub cfg: Arc<NodeConfig>,
    pub records: Records,
    pub state: AppState,
    pub metagraph: Metagraph,
    pub verified: Arc<VerifiedEnvelopes>,
    pub metrics: Arc<Metrics>,
    pub status: watch::Sender<Value>,
    pub read_view: watch::Sender<Arc<crate::view::ReadView>>,
    /// The time the core starts at.
    pub clock: Clock,
}

impl Core {
    /// The core over a recovered state: its consensus machine (with the safety record in
    /// `store`), the acknowledged submissions not yet ordered back in the mempool, and the
    /// writer thread of admitted submissions. Starts nothing else: the actors its effects go
    /// to are the caller's.
    pub(crate) fn new(parts: CoreParts, store: Arc<dyn Store>) -> anyhow::Result<Core> {
        let CoreParts { cfg, records, state, metagraph, verified, metrics, status, read_view, clock } = parts;
        let committee = Committee::new(state.registry.validators.clone()).context("the validator set is invalid")?;
        let mut consensus_config = ConsensusConfig::new(cfg.netuid);
        consensus_config.base_timeout_ms = cfg.view_timeout_ms;
        consensus_config.checkpoint_interval = cfg.snapshot_interval;
        let machine = Consensus::new(consensus_config, cfg.hotkey.clone(), store.clone(), committee, state.tip)
            .context("cannot load the consensus safety record")?;
        info!(height = state.tip.height.get(), challenges = state.registry.challenges.len(), "state recovered");

        // Acknowledged submissions not yet ordered go back into the mempool.
        let mut mempool =
            Mempool::new(cfg.mempool_capacity, cfg.miner_rate_per_minute).with_byte_cap(cfg.max_unordered_bytes);
        let mut reloaded = Vec::new();
        for (id, envelope) in records.pending_submissions() {
            if state.submissions.contains_key(&id) {
                continue;
            }
            if let Ok(signed) = envelope.open::<Submission>(cfg.netuid) {
                let _ = mempool.admit(id, signed.message, 0, false);
                reloaded.push(envelope);
            }
        }
        let writer = crate::admission::submission_writer(records.clone(), metrics.clone())
            .context("cannot start the storage writer thread")?;
        let snapshots = crate::snapshots::SnapshotWriter::start(records.clone())
            .context("cannot start the snapshot writer thread")?;
        let mut view = ChainView::new(metagraph.params.schedule(cfg.netuid));
        view.observe(metagraph.block, None);
        metrics.tempo_blocks.set(i64::from(metagraph.params.tempo));
        metrics.unordered_bytes_cap.set(i64::try_from(mempool.byte_cap()).unwrap_or(i64::MAX));
        metrics.weights_landed_block.set(metagraph.block.number as i64);
        Ok(Core {
            keypair: cfg.hotkey.clone(),
            cfg,
            records,
            effects: Vec::new(),
            machine: Some(machine),
            state,
            mempool,
            replay: ReplayGuard::new(10 * 60 * 1000, 1_000_000),
            verified,
            chain: view,
            metagraph_reads: [Arc::new(metagraph.clone())].into(),
            reading_metagraphs: HashSet::new(),
            metagraph: Some(Arc::new(metagraph)),
            metrics,
            status,
            status_key: None,
            modules_loaded: Default::default(),
            build: None,
            built: None,
            verifying: Vec::new(),
            proposal_seen: Default::default(),
            committing: None,
            last_commit: clock.now,
            syncing: false,
            rejoin: false,
            outdated: None,
            sudo_results: imbl::HashMap::new(),
            view: read_view,
            view_dirty: true,
            accepted_at: HashMap::new(),
            unwritten: Vec::new(),
            writer,
            snapshots,
            outbox: Outbox::new(Topic::SubmissionBatches, clock.now),
            evaluation_outbox: Outbox::new(Topic::Evaluations, clock.now),
            reloaded,
            abstained: None,
            weights_path: None,
            clock,
        })
    }
}

/// Metagraph reads kept to check proposed snapshots against.
pub(crate) const METAGRAPH_READS: usize = 8;

/// What the rules need of a submission: the mempool's copy, else the stored one.
pub(crate) fn submission_info(mempool: &Mempool, records: &Records, id: &SubmissionId) -> Option<SubmissionInfo> {
    mempool.info(id).or_else(|| records.submission_info(id))
}

impl Core {
    /// Sets the time the next inputs are handled at (never earlier than the last).
    pub(crate) fn set_time(&mut self, clock: Clock) {
        if clock.now > self.clock.now {
            self.clock.now = clock.now;
        }
        self.clock.wall_ms = self.clock.wall_ms.max(clock.wall_ms);
    }

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
        if self.state.chain == Some(link) {
            // The parent's link: the parent's epoch is already at least the chain's epoch there.
            return Some((link, self.state.tip.epoch));
        }
        Some((link, self.chain.epoch_of(&link, self.state.tip.epoch)?))
    }

    /// What the core does first: the consensus machine starts, evaluations left over from
    /// before a restart resume, the status goes out.
    /// A core like this one (same settings, store, view and metrics) on `state`: what a
    /// restart would build, for the event loop to swap in ([`crate::rejoin`]).
    pub(crate) fn rebuilt(&self, state: AppState) -> anyhow::Result<Core> {
        let metagraph = self.metagraph.as_deref().cloned().context("no metagraph read yet")?;
        let parts = CoreParts {
            cfg: self.cfg.clone(),
            records: self.records.clone(),
            state,
            metagraph,
            verified: self.verified.clone(),
            metrics: self.metrics.clone(),
            status: self.status.clone(),
            read_view: self.view.clone(),
            clock: self.clock,
        };
        Core::new(parts, self.records.store().clone())
    }

    pub(crate) fn start(&mut self) {
        self.check_required_version();
        let outputs = self.machine.as_mut().map(|m| m.start()).unwrap_or_default();
        self.carry_out_all(outputs);
        self.resume_evaluations();
        self.publish_status();
    }

    /// The effects pushed since the last call, in order.
    pub(crate) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// After a turn of inputs: finished writes are taken (their submissions released and
    /// relayed even while inputs keep the loop from its waker), the admitted submissions go to
    /// the writer, and the status out with a new view, or alone.
    pub(crate) fn end_turn(&mut self) {
        self.take_written();
        self.write_admitted();
        self.metrics.unordered_bytes.set(i64::try_from(self.mempool.bytes()).unwrap_or(i64::MAX));
        if !self.publish_view() {
            self.publish_status();
        }
    }

    /// A write of admitted submissions finished (the writer's waker fired).
    pub(crate) fn on_write_done(&mut self) {
        self.take_written();
        self.write_admitted();
    }

    pub(crate) fn tick(&mut self) {
        self.seal_own_evaluations();
        let now = self.clock.now;
        let (submissions, evaluations) = (self.outbox.take(now), self.evaluation_outbox.take(now));
        self.send(submissions);
        self.send(evaluations);
        self.maybe_build();
        self.recheck_verifying();
        self.publish_view();
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
