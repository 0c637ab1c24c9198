//! The evaluation actor: it loads the active challenges' modules (fetched by hash from peers
//! when missing) and evaluates each committed submission on the evaluation worker, at most
//! [`EVALUATIONS_IN_FLIGHT`] at a time, so that few payloads are held in memory at once.
//!
//! Ingress: the event loop sends [`Request`]s through a [`Mailbox`] of [`MAILBOX`] messages
//! that it never waits on (overflow waits in order in the mailbox's backlog, offered again at
//! each tick: nothing is dropped, since every committed submission must be evaluated).
//! Egress: the actor answers through the loop's inputs — [`Input::Evaluated`] or
//! [`Input::Abstained`] exactly once per submission, and [`Input::ModulesLoaded`] when the set of
//! loaded modules changes — and it may wait on them; the loop never waits on the actor.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use platform_p2p::Client;
use platform_runtime::{ChallengeModule, Runtime};
use platform_types::{ChallengeId, Epoch, Hash, Height, PublicKey, RuntimePolicy, SubmissionId, blake2b_256};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::core::*;
use crate::effects::Effect;
use crate::evaluator::{self, Worker};
use crate::mailbox::Mailbox;
use crate::records::Records;

/// Requests the actor's channel holds; more wait in the loop's [`Mailbox`] backlog.
pub(crate) const MAILBOX: usize = 4096;

/// Evaluations under way at once (reading the payload, queued on the worker, running): one
/// running and one ready, so the worker never waits for a read and few payloads are held.
pub(crate) const EVALUATIONS_IN_FLIGHT: usize = 2;

/// What the event loop asks of the evaluation actor.
#[derive(Debug)]
pub(crate) enum Request {
    /// The active challenges `(id, module hash, policy)`: load the modules missing, drop the
    /// others.
    Challenges(Vec<(String, Hash, RuntimePolicy)>),
    /// Evaluate a committed submission (once: a repeat is ignored).
    Evaluate(Target),
}

/// A committed submission to evaluate: what the evaluation needs besides the payload.
#[derive(Debug)]
pub(crate) struct Target {
    pub id: SubmissionId,
    pub challenge: ChallengeId,
    pub block_hash: Hash,
    pub epoch: Epoch,
    pub miner: PublicKey,
}

/// What the actor's own tasks report back to it.
enum Done {
    Module { challenge: String, hash: Hash, module: Box<Result<ChallengeModule, String>> },
    Evaluation,
}

/// The actor's state: the loaded modules and the evaluations waiting, queued and under way.
pub(crate) struct Evaluations {
    runtime: Runtime,
    records: Records,
    p2p: Client,
    worker: Worker,
    inputs: mpsc::Sender<Input>,
    modules: HashMap<String, (Hash, ChallengeModule)>,
    loading: HashSet<String>,
    /// Submissions whose challenge's module is not loaded yet.
    waiting: Vec<Target>,
    evaluated: HashSet<SubmissionId>,
    queue: VecDeque<(Target, ChallengeModule)>,
    in_flight: usize,
}

impl Evaluations {
    /// Starts the actor; the loop keeps the returned mailbox.
    pub fn spawn(
        runtime: Runtime,
        records: Records,
        p2p: Client,
        worker: Worker,
        inputs: mpsc::Sender<Input>,
    ) -> Mailbox<Request> {
        let (tx, rx) = mpsc::channel(MAILBOX);
        let actor = Evaluations {
            runtime,
            records,
            p2p,
            worker,
            inputs,
            modules: HashMap::new(),
            loading: HashSet::new(),
            waiting: Vec::new(),
            evaluated: HashSet::new(),
            queue: VecDeque::new(),
            in_flight: 0,
        };
        tokio::spawn(actor.run(rx));
        Mailbox::new(tx)
    }

    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        // Bounded by what can be under way: the evaluations in flight and one load per challenge.
        let (done_tx, mut done) = mpsc::channel(256);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(Request::Challenges(challenges)) => self.load(challenges, &done_tx).await,
                    Some(Request::Evaluate(target)) => self.enqueue(target),
                    None => return,
                },
                Some(finished) = done.recv() => match finished {
                    Done::Module { challenge, hash, module } => self.on_module(challenge, hash, *module).await,
                    Done::Evaluation => self.in_flight = self.in_flight.saturating_sub(1),
                },
            }
            self.dispatch(&done_tx);
        }
    }

    /// Keeps the modules of `challenges` and starts loading the missing ones.
    async fn load(&mut self, challenges: Vec<(String, Hash, RuntimePolicy)>, done: &mpsc::Sender<Done>) {
        let before = self.modules.len();
        self.modules.retain(|id, (hash, _)| challenges.iter().any(|(w, h, _)| w == id && h == hash));
        if self.modules.len() != before {
            self.report_loaded().await;
        }
        for (id, hash, policy) in challenges {
            if self.modules.contains_key(&id) || !self.loading.insert(id.clone()) {
                continue;
            }
            let (records, p2p, runtime, done) =
                (self.records.clone(), self.p2p.clone(), self.runtime.clone(), done.clone());
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
                        _ if done.is_closed() => return,
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
                let _ = done.send(Done::Module { challenge: id, hash, module: Box::new(module) }).await;
            });
        }
    }

    async fn on_module(&mut self, challenge: String, hash: Hash, module: Result<ChallengeModule, String>) {
        self.loading.remove(&challenge);
        match module {
            Ok(module) => {
                info!(%challenge, %hash, "challenge module ready");
                self.modules.insert(challenge, (hash, module));
                self.report_loaded().await;
                for target in std::mem::take(&mut self.waiting) {
                    self.enqueue(target);
                }
            }
            Err(reason) => error!(%challenge, %hash, %reason, "challenge module unavailable"),
        }
    }

    async fn report_loaded(&self) {
        let loaded: BTreeSet<String> = self.modules.keys().cloned().collect();
        let _ = self.inputs.send(Input::ModulesLoaded(loaded)).await;
    }

    fn enqueue(&mut self, target: Target) {
        if self.evaluated.contains(&target.id) {
            return;
        }
        match self.modules.get(target.challenge.as_str()) {
            Some((_, module)) => {
                self.evaluated.insert(target.id);
                let module = module.clone();
                self.queue.push_back((target, module));
            }
            None => self.waiting.push(target),
        }
    }

    /// Starts queued evaluations while fewer than [`EVALUATIONS_IN_FLIGHT`] are under way.
    fn dispatch(&mut self, done: &mpsc::Sender<Done>) {
        while self.in_flight < EVALUATIONS_IN_FLIGHT {
            let Some((target, module)) = self.queue.pop_front() else { return };
            self.in_flight += 1;
            let (worker, inputs, records, p2p, done) =
                (self.worker.clone(), self.inputs.clone(), self.records.clone(), self.p2p.clone(), done.clone());
            tokio::spawn(async move {
                let answer = evaluate(&worker, &records, &p2p, target, module).await;
                let _ = inputs.send(answer).await;
                let _ = done.send(Done::Evaluation).await;
            });
        }
    }
}

/// Reads the payload (from the store, or from peers for a blob this node lacks) and evaluates
/// it on the worker: exactly one [`Input::Evaluated`] or [`Input::Abstained`].
async fn evaluate(worker: &Worker, records: &Records, p2p: &Client, target: Target, module: ChallengeModule) -> Input {
    let Target { id, challenge, block_hash, epoch, miner } = target;
    let Some(submission) = records.submission(&id) else {
        return Input::Abstained { id, reason: "the committed submission has no stored body".to_owned() };
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
                warn!(%id, %e, "cannot keep the rejection reason");
            }
            Input::Evaluated { id, envelope }
        }
        Some(Err(abstention)) => Input::Abstained { id, reason: abstention.reason },
        None => Input::Abstained { id, reason: "the evaluation thread stopped".to_owned() },
    }
}

impl Core {
    /// Tells the evaluation actor which challenges are active (after a commit changed them).
    pub(crate) fn ensure_modules(&mut self) {
        let challenges = self
            .state
            .registry
            .challenges
            .iter()
            .map(|(id, entry)| (id.clone(), entry.spec.module_hash, entry.spec.policy))
            .collect();
        self.effects.push(Effect::Evaluate(Request::Challenges(challenges)));
    }

    /// After a restart: evaluate committed submissions this validator has not evaluated yet,
    /// oldest first.
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

    /// Hands a committed submission to the evaluation actor.
    pub(crate) fn start_evaluation(&mut self, id: SubmissionId) {
        let Some(c) = self.state.submissions.get(&id) else { return };
        let target =
            Target { id, challenge: c.challenge.clone(), block_hash: c.block_hash, epoch: c.epoch, miner: c.miner };
        self.effects.push(Effect::Evaluate(Request::Evaluate(target)));
    }

    /// This validator's signed evaluation of `id`: gossiped, and ordered by a later block.
    pub(crate) fn on_evaluated(&mut self, id: SubmissionId, envelope: platform_types::Envelope) {
        let Some(epoch) = self.state.submissions.get(&id).map(|c| c.epoch) else { return };
        self.metrics.evaluations.inc();
        self.verified.remember(&envelope, self.cfg.netuid);
        let share = self.mempool.evaluation_share(self.state.registry.validators.validators.len());
        self.mempool.add_evaluation(id, self.me(), epoch, envelope.clone(), share);
        let now = self.clock.now;
        let full = self.evaluation_outbox.push(envelope.to_bytes(), now);
        self.send(full);
        let due = self.evaluation_outbox.due(now);
        self.send(due);
    }
}
