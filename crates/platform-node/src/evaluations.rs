//! Evaluations: loading challenge modules, and evaluating each committed submission on the
//! evaluation worker, at most a few at a time.

use std::time::Duration;

use platform_chain::Chain;
use platform_runtime::ChallengeModule;
use platform_types::{Envelope, Hash, Height, SubmissionId, blake2b_256};
use tracing::{debug, error, info};

use crate::core::*;
use crate::evaluator;

impl<C: Chain + Clone + 'static> Core<C> {
    pub(crate) fn ensure_modules(&mut self) {
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

    pub(crate) fn on_module(&mut self, challenge: String, hash: Hash, module: Result<ChallengeModule, String>) {
        self.loading.remove(&challenge);
        match module {
            Ok(module) => {
                info!(%challenge, %hash, "challenge module ready");
                self.modules.insert(challenge, (hash, module));
                self.view_dirty = true;
                for id in std::mem::take(&mut self.waiting_module) {
                    self.start_evaluation(id);
                }
            }
            Err(reason) => error!(%challenge, %hash, %reason, "challenge module unavailable"),
        }
    }

    /// After a restart: evaluate committed submissions this validator has not evaluated yet.
    pub(crate) fn resume_evaluations(&mut self) {
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

    pub(crate) fn start_evaluation(&mut self, id: SubmissionId) {
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
    pub(crate) fn dispatch_evaluations(&mut self) {
        while self.evaluations_in_flight < EVALUATIONS_IN_FLIGHT {
            let Some((id, module)) = self.evaluation_queue.pop_front() else { return };
            let Some(committed) = self.state.submissions.get(&id) else { continue };
            self.evaluations_in_flight += 1;
            self.spawn_evaluation(id, module, committed.clone());
        }
    }

    /// Reads the payload and evaluates it on the worker; always answers with exactly one
    /// [`Input::Evaluated`] or [`Input::Abstained`].
    pub(crate) fn spawn_evaluation(
        &self,
        id: SubmissionId,
        module: ChallengeModule,
        committed: platform_app::Committed,
    ) {
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
                Some(Ok(evaluator::Sealed { envelope, reason })) => {
                    // Kept for `GET /submissions/{id}`, written here rather than on the event loop.
                    if let Some(reason) = reason
                        && let Err(e) = records.put_reason(&id, &reason)
                    {
                        tracing::warn!(%id, %e, "cannot keep the rejection reason");
                    }
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
    pub(crate) fn on_evaluated(&mut self, id: SubmissionId, envelope: Envelope) {
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
}
