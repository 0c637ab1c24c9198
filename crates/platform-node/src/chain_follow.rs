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
