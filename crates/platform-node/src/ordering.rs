//! Ordering: the event loop's side of consensus. Feeds the machine, carries out what it asks
//! (broadcast, timers, building and verifying blocks, committing, sync), and applies committed
//! blocks to the application state.

use std::collections::VecDeque;
use std::time::Duration;

use platform_consensus::{Input as CInput, Output};
use platform_p2p::{Topic, Verdict};
use platform_types::{Action, Block, QuorumCertificate, SubmissionId};
use tracing::{error, info, warn};

use crate::core::*;
use crate::effects::Effect;

impl Core {
    /// Hands `first` to the consensus machine and carries out what it asks, until nothing is
    /// left; returns the machine's verdict on `first` itself (for a gossiped message).
    pub(crate) fn feed(&mut self, first: CInput) -> Verdict {
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

    pub(crate) fn carry_out_all(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            if let Some(next) = self.carry_out(output) {
                self.feed(next);
            }
        }
    }

    pub(crate) fn carry_out(&mut self, output: Output) -> Option<CInput> {
        match output {
            Output::Broadcast(envelope) => self.publish(Topic::Consensus, envelope.to_bytes()),
            Output::SetTimer { height, view, after_ms } => {
                self.effects.push(Effect::Timer { height, view, after: Duration::from_millis(after_ms) });
            }
            Output::BuildProposal { height, view } => {
                let earliest = self.last_commit + self.cfg.block_interval;
                let latest = self.clock.now + Duration::from_millis(self.cfg.view_timeout_ms / 2);
                self.build = Some((height, view, earliest, latest.max(earliest)));
                self.maybe_build();
            }
            Output::VerifyProposal { view, block, prepared } => {
                // Bodies this validator missed (their gossip lost) are asked of peers at once:
                // waiting for them only, it could never vote for the block.
                let missing = self.missing_bodies(&block);
                if !missing.is_empty() {
                    self.fetch_bodies(missing);
                }
                return self.verify(view, block, prepared, self.clock.now + MISSING_WAIT);
            }
            Output::Commit { block, certificate } => return self.commit(block, certificate),
            Output::Checkpoint(checkpoint) => {
                // What a joiner trusts this validator's snapshot by (`crate::state_sync`).
                if let Err(e) = self.records.put_checkpoint(&checkpoint) {
                    warn!(height = checkpoint.header.height.get(), %e, "cannot store a checkpoint");
                }
            }
            Output::NeedSync { .. } => self.request_sync(),
            Output::Misbehaviour { from, reason } => warn!(peer = from.0, %reason, "consensus misbehaviour"),
        }
        None
    }

    /// Commits `block`, timing the loop's turn (the `commit_turn` metric).
    pub(crate) fn commit(&mut self, block: Block, certificate: QuorumCertificate) -> Option<CInput> {
        let start = std::time::Instant::now();
        let applied = self.commit_block(block, certificate);
        self.metrics.commit_turn.observe(start.elapsed().as_secs_f64());
        applied
    }

    fn commit_block(&mut self, block: Block, certificate: QuorumCertificate) -> Option<CInput> {
        // The bodies a block orders are on disk before the block is. Only a block ordering a
        // submission whose write is still pending here waits for the writer; the others commit
        // while admission's group commit goes on.
        if block.actions.iter().any(|a| matches!(a, Action::Submission(id) if self.mempool.is_held(id))) {
            self.settle_writes();
        }
        // Submissions acknowledged before a restart may never have left this node: relayed again
        // at the first commit, when peers are certainly there.
        if !self.reloaded.is_empty() {
            for envelope in std::mem::take(&mut self.reloaded) {
                let id = SubmissionId(envelope.payload_hash());
                if !self.state.submissions.contains_key(&id) && self.records.retired(&id).is_none() {
                    let full = self.outbox.push(envelope.to_bytes(), self.clock.now);
                    self.send(full);
                }
            }
            let rest = self.outbox.take(self.clock.now);
            self.send(rest);
        }
        let missing = self.missing_bodies(&block);
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
        let epoch_before = self.state.tip.epoch;
        let mut effects = self.with_rules(|state, ctx| state.apply_block(&block, ctx));
        // Held (readable at once) and stored by the snapshot writer's thread, before any snapshot
        // that no longer holds them; a crash before their write replays the block, and writes
        // them again.
        let retired = !effects.retired.is_empty();
        self.snapshots.retire(&self.records, std::mem::take(&mut effects.retired));
        // Batches holding a verdict just ordered leave the pool (ordered whole, or stale), then
        // those no block can order any more: with a verdict on a submission retired from the
        // state, or on one not committed whose epoch has passed.
        let me = self.me();
        self.mempool.evaluations.remove_ordered(&effects.evaluations, &me);
        let epoch_moved = block.header.epoch > epoch_before;
        if retired || epoch_moved {
            let (state, tip) = (&self.state, block.header.epoch);
            self.mempool.evaluations.retain(|id, epoch| state.submissions.contains_key(id) || epoch >= tip);
        }
        if let Some(capture) = effects.capture.take() {
            self.snapshots.encode(capture);
        }
        if let Some(snapshot) = effects.snapshot.take() {
            let plan = crate::pruning::Plan {
                below: (self.cfg.retain_blocks > 0).then(|| {
                    platform_types::Height::new(block.header.height.get().saturating_sub(self.cfg.retain_blocks))
                }),
                keep_blobs: self.state.registry.challenges.values().map(|c| c.spec.module_hash).collect(),
                now_ms: self.clock.wall_ms,
            };
            self.snapshots.write(snapshot, plan);
        }
        self.view_dirty = true;
        if let Some(seen) = self.proposal_seen.remove(&block.header.height) {
            self.metrics.commit_latency.observe(self.clock.now.saturating_duration_since(seen).as_secs_f64());
        }
        self.proposal_seen.retain(|height, _| *height > block.header.height);
        let height = block.header.height;
        for (index, reason) in &effects.skipped {
            warn!(height = height.get(), index, %reason, "committed action skipped");
        }
        self.last_commit = self.clock.now;
        self.metrics.height.set(height.get() as i64);
        for id in effects.submissions.iter().chain(&effects.commitments) {
            self.mempool.remove_submission(id);
        }
        for (id, _) in &effects.evaluations {
            self.observe_final(id);
        }
        // Ordered or dropped batches of its own leave room for the verdicts waiting.
        self.seal_own_evaluations();
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
        if epoch_moved {
            self.score_closed_epochs(epoch_before, block.header.epoch);
        }
        if let Some(weights) = effects.weights {
            info!(epoch = weights.epoch.get(), height = height.get(), "weights agreed");
            self.submit_weights(weights);
        }
        if let Some(set) = &effects.next_validators {
            self.effects.push(Effect::SetValidators(set.validators.iter().map(|v| v.hotkey).collect()));
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
    pub(crate) fn check_required_version(&mut self) {
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

    pub(crate) fn observe_final(&mut self, id: &SubmissionId) {
        if self.state.submissions.get(id).is_some_and(|c| c.is_final(&self.state.registry.validators))
            && let Some(start) = self.accepted_at.remove(id)
        {
            self.metrics.score_latency.observe(self.clock.now.saturating_duration_since(start).as_secs_f64());
        }
    }

    /// Asks peers for the committed blocks after this validator's tip (answered by
    /// [`Input::Synced`]).
    pub(crate) fn request_sync(&mut self) {
        if self.syncing {
            return;
        }
        self.syncing = true;
        let from = self.state.tip.height.get() + 1;
        let validators = self.state.registry.validators.clone();
        let parent = self.state.tip.hash;
        self.effects.push(Effect::Sync(crate::sync_client::Request::Blocks { from, parent, validators }));
    }

    /// The submissions `block` orders whose bodies this validator holds neither in its mempool
    /// nor in its store.
    fn missing_bodies(&self, block: &Block) -> Vec<SubmissionId> {
        block
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Submission(id) if self.mempool.get(id).is_none() && !self.records.has_submission(id) => {
                    Some(*id)
                }
                _ => None,
            })
            .collect()
    }

    /// Asks peers for the bodies of submissions a block orders (answered by
    /// [`Input::Bodies`]; a committed block waits in `committing`).
    pub(crate) fn fetch_bodies(&mut self, ids: Vec<SubmissionId>) {
        self.effects.push(Effect::Sync(crate::sync_client::Request::Bodies(ids)));
    }
}
