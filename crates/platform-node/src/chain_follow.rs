//! The chain side of the core: chain blocks seen (the chain view every proposal links to), the
//! metagraph, and what it asks of the chain client (`chain_client.rs`): agreed weights to
//! submit, commits to reveal, metagraphs to read.

use std::sync::Arc;

use platform_chain::{BlockRef, Metagraph};
use tracing::warn;

use crate::chain_client::Request;
use crate::core::*;
use crate::effects::Effect;

impl Core {
    pub(crate) fn on_chain(&mut self, block: BlockRef, epoch: Option<u64>, metagraph: Option<Arc<Metagraph>>) {
        self.chain.observe(block, epoch);
        if let Some(metagraph) = metagraph {
            self.chain.set_schedule(metagraph.params.schedule(self.cfg.netuid));
            self.metrics.tempo_blocks.set(i64::from(metagraph.params.tempo));
            self.remember_metagraph(metagraph.clone());
            self.metagraph = Some(metagraph);
            self.view_dirty = true;
        }
        self.metrics.chain_block.set(block.number as i64);
        self.effects.push(Effect::Chain(Request::Reveal { block: block.number }));
    }

    /// Keeps a metagraph read (at most [`METAGRAPH_READS`], the oldest dropped).
    pub(crate) fn remember_metagraph(&mut self, metagraph: Arc<Metagraph>) {
        if self.metagraph_reads.iter().any(|m| m.block == metagraph.block) {
            return;
        }
        self.metagraph_reads.push_back(metagraph);
        while self.metagraph_reads.len() > METAGRAPH_READS {
            self.metagraph_reads.pop_front();
        }
    }

    /// Reads the metagraph at `block` (a chain block this validator saw, named by a proposed
    /// snapshot), once at a time per block; answers with [`Input::MetagraphRead`].
    pub(crate) fn read_metagraph(&mut self, block: BlockRef) {
        if !self.reading_metagraphs.insert(block.hash) {
            return;
        }
        self.effects.push(Effect::Chain(Request::Metagraph(block)));
    }

    pub(crate) fn on_metagraph_read(&mut self, block: BlockRef, metagraph: Result<Arc<Metagraph>, String>) {
        self.reading_metagraphs.remove(&block.hash);
        match metagraph {
            Ok(metagraph) => {
                self.remember_metagraph(metagraph);
                self.recheck_verifying();
            }
            Err(e) => warn!(block = block.number, %e, "cannot read the metagraph a proposal's snapshot names"),
        }
    }

    /// Records how weights are sent now; logs a change of path (or of reason).
    pub(crate) fn on_weights_path(&mut self, choice: Result<platform_chain::PathChoice, String>) {
        let value = match &choice {
            Ok(c) => serde_json::json!({ "path": c.path.name(), "reason": c.reason, "error": null }),
            Err(e) => serde_json::json!({ "path": null, "reason": null, "error": e }),
        };
        if self.weights_path.as_ref() != Some(&value) {
            match &choice {
                Ok(c) => tracing::info!(path = c.path.name(), reason = %c.reason, "weights path"),
                Err(e) => warn!(%e, "cannot choose how to send weights"),
            }
            self.weights_path = Some(value);
            self.publish_status();
        }
    }

    /// Asks the chain client to submit agreed weights (with the version key of the latest
    /// metagraph read); its answer comes back as [`Input::WeightsSubmitted`].
    pub(crate) fn submit_weights(&mut self, weights: platform_types::WeightsProposal) {
        let Some(metagraph) = &self.metagraph else { return };
        let version_key = metagraph.params.weights_version_key;
        let height = self.state.tip.height.get();
        // Retried until the epoch after the chain's current one begins.
        let head = self.chain.head().map_or(metagraph.block.number, |b| b.number);
        let until = metagraph.params.schedule(self.cfg.netuid).next_epoch_block(head);
        let validators = self.state.registry.validators.validators.iter().map(|v| (v.hotkey, v.uid.get())).collect();
        self.effects.push(Effect::Chain(Request::Weights { weights, version_key, height, until, validators }));
    }
}
