//! The chain side of the event loop: chain blocks seen (the chain view every proposal links
//! to), the metagraph, and the agreed weights sent to the chain.

use std::sync::Arc;

use platform_chain::{BlockRef, Chain, Metagraph, WeightVector};
use serde_json::json;
use tracing::{info, warn};

use crate::core::*;

impl<C: Chain + Clone + 'static> Core<C> {
    pub(crate) fn on_chain(&mut self, block: BlockRef, metagraph: Option<Arc<Metagraph>>) {
        self.chain.observe(block);
        if let Some(metagraph) = metagraph {
            self.chain.set_schedule(metagraph.params.schedule(self.cfg.netuid));
            self.remember_metagraph(metagraph.clone());
            self.metagraph = Some(metagraph);
            self.view_dirty = true;
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
        let (chain, inputs, netuid) = (self.setter.chain().clone(), self.inputs.clone(), self.cfg.netuid);
        tokio::spawn(async move {
            let metagraph = chain.metagraph(netuid, Some(block)).await.map(Arc::new).map_err(|e| e.to_string());
            let _ = inputs.send(Input::MetagraphRead { block, metagraph }).await;
        });
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

    pub(crate) fn submit_weights(&self, weights: platform_types::WeightsProposal) {
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
                    "chain": crate::json::chain_answer(&outcome),
                }));
            }
            let record = json!({ "epoch": weights.epoch.get(), "height": height, "mechanisms": results });
            let _ = inputs.send(Input::WeightsSubmitted { epoch: weights.epoch.get(), record }).await;
        });
    }
}
