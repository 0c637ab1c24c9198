//! The chain actors: the follower, which reads the chain's best blocks (and the metagraph at
//! each new epoch) into the event loop, and the chain client, which carries out what the loop
//! asks of the chain — agreed weights to submit, commits to reveal, a metagraph to read at a
//! block a proposal names.
//!
//! Ingress of the client: [`Request`]s through the loop's [`Mailbox`] of [`MAILBOX`] messages,
//! which the loop never waits on; overflow waits in order in the mailbox's backlog (agreed
//! weights must not be lost). Each request runs as a task of its own, at most [`IN_FLIGHT`]
//! at once, so a weight submission waiting for inclusion does not delay a metagraph read.
//! Egress: [`Input::WeightsSubmitted`] once per weights request, [`Input::MetagraphRead`] once
//! per metagraph request; reveals are logged.

use std::sync::Arc;
use std::time::Duration;

use platform_chain::{BlockRef, Chain, Head, Metagraph, RevealOutcome, Submitted, WeightSetter, WeightVector, path_at};
use platform_types::{MechanismId, NetUid, PublicKey, WeightsProposal};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::core::Input;
use crate::mailbox::{Mailbox, serve};
use crate::metrics::Metrics;

/// Requests the client's channel holds; more wait in the loop's backlog.
pub(crate) const MAILBOX: usize = 64;

/// Chain calls under way at once.
pub(crate) const IN_FLIGHT: usize = 4;

/// Chain blocks after which the metagraph is read again even within an epoch.
pub(crate) const METAGRAPH_REFRESH_BLOCKS: u64 = 30;

/// What the event loop asks of the chain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// Submit the weights agreed at consensus height `height` (one call per mechanism); a
    /// transient refusal is retried with backoff until the chain reaches block `until`. First,
    /// the weights `validators` (hotkey, uid) have on chain are read into the record: what the
    /// earlier agreed vectors became on chain, validator by validator (the dashboard compares).
    Weights { weights: WeightsProposal, version_key: u64, height: u64, until: u64, validators: Vec<(PublicKey, u16)> },
    /// Reveal the commits due at this chain block, if any are pending.
    Reveal { block: u64 },
    /// Read the metagraph at a chain block a proposed snapshot names.
    Metagraph(BlockRef),
}

/// What the client works with.
struct Client<C: Chain> {
    setter: Arc<WeightSetter<C>>,
    netuid: NetUid,
    inputs: mpsc::Sender<Input>,
    metrics: Arc<Metrics>,
}

/// Starts the chain client; the loop keeps the returned mailbox.
pub(crate) fn spawn<C: Chain + Clone + 'static>(
    setter: Arc<WeightSetter<C>>,
    netuid: NetUid,
    inputs: mpsc::Sender<Input>,
    metrics: Arc<Metrics>,
) -> Mailbox<Request> {
    let (tx, rx) = mpsc::channel(MAILBOX);
    let client = Arc::new(Client { setter, netuid, inputs, metrics });
    tokio::spawn(serve(rx, IN_FLIGHT, move |request| client.clone().carry_out(request)));
    Mailbox::new(tx)
}

impl<C: Chain + Clone + 'static> Client<C> {
    async fn carry_out(self: Arc<Self>, request: Request) {
        match request {
            Request::Weights { weights, version_key, height, until, validators } => {
                let on_chain = self.on_chain(&weights, &validators).await;
                let mut record = self.submit(&weights, version_key, height, until).await;
                record["on_chain"] = on_chain;
                let _ = self.inputs.send(Input::WeightsSubmitted { epoch: weights.epoch.get(), record }).await;
            }
            Request::Reveal { block } => {
                if self.setter.pending().is_ok_and(|p| !p.is_empty())
                    && let Ok(outcomes) = self.setter.reveal_due(block).await
                {
                    for outcome in outcomes {
                        match &outcome {
                            RevealOutcome::Revealed(inclusion) => {
                                self.metrics.weights_submitted("reveal", true);
                                self.metrics.weights_landed_block.set(inclusion.block.number as i64);
                            }
                            RevealOutcome::Dropped(_) | RevealOutcome::Expired(_) => {
                                self.metrics.weights_submitted("reveal", false)
                            }
                            RevealOutcome::Retrying(_) => {}
                        }
                        info!(?outcome, "commit-reveal");
                    }
                }
            }
            Request::Metagraph(block) => {
                let metagraph = self
                    .setter
                    .chain()
                    .metagraph(self.netuid, Some(block))
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                let _ = self.inputs.send(Input::MetagraphRead { block, metagraph }).await;
            }
        }
    }

    /// The weights each of `validators` has on chain for each mechanism of `weights`, read now:
    /// `{"block", "validators": [{"hotkey", "uid", "mechanisms": [{"mechanism", "weights": [[uid, w], …]}]}]}`
    /// (a read that fails leaves the validator's mechanism out; null when the head is unknown).
    async fn on_chain(&self, weights: &WeightsProposal, validators: &[(PublicKey, u16)]) -> serde_json::Value {
        let chain = self.setter.chain();
        let Ok(head) = chain.block(Head::Best).await else { return serde_json::Value::Null };
        let mut rows = Vec::with_capacity(validators.len());
        for (hotkey, uid) in validators {
            let mut mechanisms = Vec::new();
            for vector in &weights.mechanisms {
                match chain.weights(self.netuid, vector.mechanism, *uid, None).await {
                    Ok(pairs) => mechanisms.push(json!({ "mechanism": vector.mechanism.get(), "weights": pairs })),
                    Err(e) => warn!(%e, uid, "cannot read a validator's weights on chain"),
                }
            }
            rows.push(json!({ "hotkey": hotkey.to_ss58(), "uid": uid, "mechanisms": mechanisms }));
        }
        json!({ "block": head.number, "validators": rows })
    }

    /// Submits each mechanism's vector; the record `/weights/history` shows.
    async fn submit(&self, weights: &WeightsProposal, version_key: u64, height: u64, until: u64) -> serde_json::Value {
        let mut results = Vec::new();
        for vector in &weights.mechanisms {
            let call = WeightVector {
                netuid: self.netuid,
                mechanism: vector.mechanism,
                uids: vector.uids.iter().map(|u| u.get()).collect(),
                values: vector.weights.clone(),
                version_key,
            };
            let outcome = self.submit_with_retries(call, until).await;
            match &outcome {
                Ok(submitted) => {
                    match submitted {
                        Submitted::Set(inclusion) => {
                            self.metrics.weights_submitted("set", true);
                            self.metrics.weights_landed_block.set(inclusion.block.number as i64);
                        }
                        Submitted::Committed { .. } => self.metrics.weights_submitted("commit", true),
                        Submitted::Timelocked { .. } => self.metrics.weights_submitted("timelocked", true),
                    }
                    info!(epoch = weights.epoch.get(), ?submitted, "weights sent to the chain")
                }
                Err(e) => {
                    self.metrics.weights_submitted("unknown", false);
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
        json!({ "epoch": weights.epoch.get(), "height": height, "mechanisms": results })
    }
}

impl<C: Chain + Clone + 'static> Client<C> {
    /// Sends one vector; while the chain refuses it for a transient reason
    /// ([`platform_chain::ChainError::is_transient`]) and has not reached block `until`, waits
    /// ([`RETRY_FIRST`], doubling to [`RETRY_MAX`]) and sends it again — through whichever
    /// endpoint the client uses by then.
    async fn submit_with_retries(
        &self,
        call: WeightVector,
        until: u64,
    ) -> Result<platform_chain::Submitted, platform_chain::ChainError> {
        let mut delay = RETRY_FIRST;
        loop {
            let outcome = self.setter.submit(call.clone()).await;
            let Err(e) = &outcome else { return outcome };
            if !e.is_transient() {
                return outcome;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(RETRY_MAX);
            match self.setter.chain().block(Head::Best).await {
                Ok(head) if head.number >= until => return outcome,
                Ok(_) | Err(_) => {}
            }
            self.metrics.weights_submitted("retry", false);
            warn!(%e, until, "the chain refused the weights for now; sending again");
        }
    }
}

/// First wait before weights refused for a transient reason are sent again.
pub(crate) const RETRY_FIRST: Duration = Duration::from_secs(2);

/// Longest wait between two sends of the same weights.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(60);

/// Follows the chain's best blocks; reads the metagraph again at each new epoch (and at
/// least every [`METAGRAPH_REFRESH_BLOCKS`] blocks). Waits on the loop's inputs: a loop that
/// falls behind slows the follower, never the other way round.
pub(crate) async fn follow_chain<C: Chain + 'static>(
    chain: C,
    netuid: NetUid,
    inputs: mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
    mut metagraph: Metagraph,
) {
    let mut last_read = metagraph.block.number;
    let mut last_epoch = match chain.epoch_state(netuid, metagraph.block).await {
        Ok(Some(state)) => state.epoch_index,
        _ => metagraph.params.schedule(netuid).epoch_index(last_read),
    };
    let mut stream = loop {
        match chain.blocks(Head::Best).await {
            Ok(stream) => break stream,
            Err(e) => {
                warn!(%e, "cannot follow the chain; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {},
                    _ = shutdown.changed() => return,
                }
            }
        }
    };
    loop {
        let block = tokio::select! {
            next = stream.next() => match next { Some(Ok(block)) => block, Some(Err(e)) => { warn!(%e, "chain stream"); continue }, None => return },
            _ = shutdown.changed() => return,
        };
        // The runtime's own epoch (dynamic tempo), else the legacy formula's.
        let epoch = match chain.epoch_state(netuid, block).await {
            Ok(state) => state.map(|s| s.epoch_index),
            Err(e) => {
                warn!(%e, block = block.number, "cannot read the subnet's epoch state");
                continue;
            }
        };
        let schedule = metagraph.params.schedule(netuid);
        let epoch_now = epoch.unwrap_or_else(|| schedule.epoch_index(block.number));
        let fresh = if epoch_now != last_epoch || block.number >= last_read + METAGRAPH_REFRESH_BLOCKS {
            match chain.metagraph(netuid, Some(block)).await {
                Ok(m) => {
                    last_read = block.number;
                    last_epoch = epoch_now;
                    metagraph = m.clone();
                    Some(Arc::new(m))
                }
                Err(e) => {
                    warn!(%e, "cannot read the metagraph");
                    None
                }
            }
        } else {
            None
        };
        let read = fresh.is_some();
        if inputs.send(Input::Chain { block, epoch, metagraph: fresh }).await.is_err() {
            return;
        }
        if read {
            let choice = path_at(&chain, netuid, MechanismId::new(0), Some(block))
                .await
                .map(|(choice, _)| choice)
                .map_err(|e| e.to_string());
            if inputs.send(Input::WeightsPath(choice)).await.is_err() {
                return;
            }
        }
    }
}
