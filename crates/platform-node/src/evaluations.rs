//! The evaluation actor: it loads the active challenges' modules (fetched by hash from peers
//! when missing) and evaluates each committed submission on the evaluation worker, at most
//! [`EVALUATIONS_IN_FLIGHT`] at a time, so that few payloads are held in memory at once. A
//! challenge whose module scores epochs is evaluated per epoch instead: the core hands over
//! each closed epoch's answers ([`Request::ScoreEpoch`]), and the actor skips the submissions'
//! own requests.
//!
//! Ingress: the event loop sends [`Request`]s through a [`Mailbox`] of [`MAILBOX`] messages
//! that it never waits on (overflow waits in order in the mailbox's backlog, offered again at
//! each tick: nothing is dropped, since every committed submission must be evaluated).
//! Egress: the actor answers through the loop's inputs — [`Input::Evaluated`] or
//! [`Input::Abstained`] exactly once per submission, and [`Input::ModulesLoaded`] when the set of
//! loaded modules changes — and it may wait on them; the loop never waits on the actor.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use platform_p2p::Client;
use platform_runtime::{ChallengeModule, Runtime};
use platform_types::{ChallengeId, Epoch, Hash, Recent, SubmissionId, blake2b_256};
use tokio::sync::mpsc;
use tracing::{debug, error, info};

use crate::core::*;
use crate::evaluation_run::{evaluate, score_epoch};
use crate::evaluator::Worker;
use crate::mailbox::Mailbox;
use crate::records::Records;

pub(crate) use crate::evaluation_ingress::{Active, EpochTargets, Request, Target};

/// Requests the actor's channel holds; more wait in the loop's [`Mailbox`] backlog.
pub(crate) const MAILBOX: usize = 4096;

/// How many evaluated submissions (and scored epochs) the actor remembers, so that its memory
/// does not grow with the history of a validator that runs for months.
pub(crate) const REMEMBERED: usize = 1 << 16;

/// Evaluations under way at once (reading the payload, queued on the worker, running): one
/// running and one ready, so the worker never waits for a read and few payloads are held.
pub(crate) const EVALUATIONS_IN_FLIGHT: usize = 2;

/// Work for the evaluation worker, with the module to run (shared: while evaluation lags
/// admission the queue holds one entry per committed submission, and a module's own value is
/// hundreds of bytes).
enum Work {
    One(Target, Arc<ChallengeModule>),
    Epoch(EpochTargets, Arc<ChallengeModule>),
}

/// What the actor's own tasks report back to it.
enum Done {
    Module { challenge: String, version: Hash, hash: Hash, module: Box<Result<ChallengeModule, String>> },
    Evaluation,
}

/// The actor's state: the loaded modules and the evaluations waiting, queued and under way.
pub(crate) struct Evaluations {
    runtime: Runtime,
    records: Records,
    p2p: Client,
    worker: Worker,
    inputs: mpsc::Sender<Input>,
    modules: HashMap<String, (Hash, Arc<ChallengeModule>)>,
    /// The active challenges as the core last listed them.
    active: HashMap<String, Active>,
    /// Loads under way, by challenge and version ([`Active::version`]): a newer version starts
    /// loading at once, beside an older one still being fetched.
    loading: HashSet<(String, Hash)>,
    /// Submissions whose challenge's module is not loaded yet.
    waiting: Vec<Target>,
    /// Epochs whose challenge's module is not loaded yet.
    epochs_waiting: Vec<EpochTargets>,
    /// Submissions handed to the worker, the latest [`REMEMBERED`]: a repeat of one is ignored
    /// (one older than that is evaluated again, which costs a run and changes nothing: the core
    /// keeps only a verdict of its own not yet committed).
    evaluated: Recent<SubmissionId>,
    /// The epochs handed to the worker, by challenge.
    scored: Recent<(ChallengeId, Epoch)>,
    queue: VecDeque<Work>,
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
            active: HashMap::new(),
            loading: HashSet::new(),
            waiting: Vec::new(),
            epochs_waiting: Vec::new(),
            evaluated: Recent::new(REMEMBERED),
            scored: Recent::new(REMEMBERED),
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
                    Some(Request::ScoreEpoch(epoch)) => self.enqueue_epoch(epoch),
                    None => return,
                },
                Some(finished) = done.recv() => match finished {
                    Done::Module { challenge, version, hash, module } => {
                        self.on_module(challenge, version, hash, *module).await
                    }
                    Done::Evaluation => self.in_flight = self.in_flight.saturating_sub(1),
                },
            }
            self.dispatch(&done_tx);
        }
    }

    /// Keeps the modules of `challenges` and starts loading the missing ones.
    async fn load(&mut self, challenges: Vec<Active>, done: &mpsc::Sender<Done>) {
        self.active = challenges.iter().map(|c| (c.id.clone(), c.clone())).collect();
        let before = self.modules.len();
        self.modules.retain(|id, (_, module)| challenges.iter().any(|c| &c.id == id && c.runs(module)));
        if self.modules.len() != before {
            self.report_loaded().await;
        }
        for challenge in challenges {
            self.start_loading(challenge, done);
        }
    }

    /// Starts loading `challenge`'s module, unless it is loaded as it says or this version's
    /// load is under way.
    fn start_loading(&mut self, challenge: Active, done: &mpsc::Sender<Done>) {
        let version = challenge.version();
        if self.modules.get(&challenge.id).is_some_and(|(_, m)| challenge.runs(m))
            || !self.loading.insert((challenge.id.clone(), version))
        {
            return;
        }
        let Active { id, module_hash: hash, policy, params } = challenge;
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
                    .and_then(|r| r.map(|m| m.with_params(&params)).map_err(|e| e.to_string())),
                None => Err(format!("module {hash} not found on any peer")),
            };
            let _ = done.send(Done::Module { challenge: id, version, hash, module: Box::new(module) }).await;
        });
    }

    async fn on_module(
        &mut self,
        challenge: String,
        version: Hash,
        hash: Hash,
        module: Result<ChallengeModule, String>,
    ) {
        self.loading.remove(&(challenge.clone(), version));
        match module {
            // Removed, or updated, while it loaded (the version now active loads beside it).
            _ if self.active.get(&challenge).is_none_or(|a| a.version() != version) => {
                debug!(%challenge, %hash, "a module loaded for a version no longer active: dropped");
            }
            Ok(module) => {
                info!(%challenge, %hash, "challenge module ready");
                self.modules.insert(challenge, (hash, Arc::new(module)));
                self.report_loaded().await;
                for target in std::mem::take(&mut self.waiting) {
                    self.enqueue(target);
                }
                for epoch in std::mem::take(&mut self.epochs_waiting) {
                    self.enqueue_epoch(epoch);
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
                if !target.by_epoch(module) {
                    self.queue.push_back(Work::One(target, module.clone()));
                }
            }
            None => self.waiting.push(target),
        }
    }

    fn enqueue_epoch(&mut self, epoch: EpochTargets) {
        if self.scored.contains(&(epoch.challenge.clone(), epoch.epoch)) {
            return;
        }
        match self.modules.get(epoch.challenge.as_str()) {
            Some((_, module)) => {
                self.scored.insert((epoch.challenge.clone(), epoch.epoch));
                if module.scores_epochs() {
                    self.queue.push_back(Work::Epoch(epoch, module.clone()));
                }
            }
            None => self.epochs_waiting.push(epoch),
        }
    }

    /// Starts queued evaluations while fewer than [`EVALUATIONS_IN_FLIGHT`] are under way.
    fn dispatch(&mut self, done: &mpsc::Sender<Done>) {
        while self.in_flight < EVALUATIONS_IN_FLIGHT {
            let Some(work) = self.queue.pop_front() else { return };
            self.in_flight += 1;
            let (worker, inputs, records, p2p, done) =
                (self.worker.clone(), self.inputs.clone(), self.records.clone(), self.p2p.clone(), done.clone());
            tokio::spawn(async move {
                let answers = match work {
                    Work::One(target, module) => {
                        vec![evaluate(&worker, &records, &p2p, target, ChallengeModule::clone(&module)).await]
                    }
                    Work::Epoch(epoch, module) => {
                        score_epoch(&worker, &records, &p2p, epoch, ChallengeModule::clone(&module)).await
                    }
                };
                for answer in answers {
                    let _ = inputs.send(answer).await;
                }
                let _ = done.send(Done::Evaluation).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use platform_runtime::RuntimeOptions;
    use platform_storage::MemoryStore;
    use platform_types::{Envelope, Keypair, NetUid, Payload, RuntimePolicy, Submission};

    use super::*;
    use crate::evaluator::Author;

    /// An owner's update that arrives while the previous version's module is still being
    /// fetched loads at once, beside it (a later version used to wait for the earlier load,
    /// which may never end, and then the earlier version stayed); an earlier version that
    /// arrives after is dropped.
    #[tokio::test]
    async fn an_update_while_the_earlier_version_loads_is_what_evaluates() {
        let netuid = NetUid::new(1);
        let records = Records::new(Arc::new(MemoryStore::new()));
        let wasm = wat::parse_str(crate::sim::sandbox::PARAMS_MODULE_WAT).expect("wat");
        let hash = blake2b_256(&wasm);
        records.put_blob(&hash, &wasm).expect("store");
        // Nobody stores the first version's module and no peer ever answers (the network is
        // not running): it is asked for without end.
        let mut config = platform_p2p::P2pConfig::new(netuid);
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        let (p2p, _events, _network) =
            platform_p2p::new(config, [1; 32], None, Arc::new(platform_p2p::NoProvider)).expect("p2p");
        let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
        let author = Author { validator: Keypair::from_suri("//V").expect("key").public(), invert_scores: false };
        let worker = Worker::start(runtime.clone(), author).expect("worker");
        let (inputs, mut answers) = mpsc::channel(64);
        let mut mailbox = Evaluations::spawn(runtime, records.clone(), p2p, worker, inputs);
        let active = |module_hash, params: &[u8]| Active {
            id: "tuned".into(),
            module_hash,
            policy: RuntimePolicy::default(),
            params: params.to_vec(),
        };
        mailbox.send(Request::Challenges(vec![active(Hash::from_bytes([9; 32]), &[42])]));
        mailbox.send(Request::Challenges(vec![active(hash, &[7])]));
        // A committed submission to it.
        let miner = Keypair::from_suri("//Miner").expect("key");
        let submission = Submission {
            challenge: ChallengeId::new("tuned").expect("id"),
            miner: miner.public(),
            payload_size: 1,
            payload: Payload::Inline(vec![1]),
            metadata: vec![],
            nonce: 1,
            timestamp_ms: 1,
            phase: Default::default(),
        };
        let envelope = Envelope::seal(&miner, netuid, &submission);
        let id = SubmissionId(envelope.payload_hash());
        records.put_submissions([(&id, envelope.to_bytes().as_slice())]).expect("store");
        let challenge = submission.challenge.clone();
        let target = Target {
            id,
            challenge,
            block_hash: Hash::from_bytes([3; 32]),
            epoch: Epoch::new(1),
            miner: miner.public(),
            revealed: None,
        };
        mailbox.send(Request::Evaluate(target));
        let evaluation = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match answers.recv().await.expect("the actor runs") {
                    Input::Evaluated { evaluation, .. } => break evaluation,
                    Input::Abstained { reason, .. } => panic!("abstained: {reason}"),
                    _ => {}
                }
            }
        })
        .await
        .expect("evaluated under the update, not stuck behind the earlier version");
        assert_eq!(evaluation.score_ppb, 7_000_000, "the update's parameters");
    }
}
