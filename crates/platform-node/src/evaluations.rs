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
use std::time::Duration;

use platform_p2p::Client;
use platform_runtime::{ChallengeModule, Runtime};
use platform_types::{
    Action, ChallengeId, Epoch, Hash, Height, PublicKey, Recent, RuntimePolicy, SubmissionId, blake2b_256,
};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::core::*;
use crate::effects::Effect;
use crate::evaluator::{self, Worker};
use crate::mailbox::Mailbox;
use crate::records::{Records, StoredPayload};

/// Requests the actor's channel holds; more wait in the loop's [`Mailbox`] backlog.
pub(crate) const MAILBOX: usize = 4096;

/// How many evaluated submissions (and scored epochs) the actor remembers, so that its memory
/// does not grow with the history of a validator that runs for months.
pub(crate) const REMEMBERED: usize = 1 << 16;

/// Evaluations under way at once (reading the payload, queued on the worker, running): one
/// running and one ready, so the worker never waits for a read and few payloads are held.
pub(crate) const EVALUATIONS_IN_FLIGHT: usize = 2;

/// What the event loop asks of the evaluation actor.
#[derive(Debug)]
pub(crate) enum Request {
    /// The active challenges: load the modules missing, drop the others (a challenge whose
    /// policy or parameters changed is loaded again).
    Challenges(Vec<Active>),
    /// Evaluate a committed submission (once: a repeat is ignored); nothing for a challenge
    /// whose module scores epochs.
    Evaluate(Target),
    /// Score a closed epoch's answers to a challenge, if its module scores epochs (once per
    /// challenge and epoch); nothing otherwise.
    ScoreEpoch(EpochTargets),
}

/// An active challenge as the evaluation actor runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Active {
    pub id: String,
    pub module_hash: Hash,
    pub policy: RuntimePolicy,
    /// The challenge's parameters (`ChallengeSpec::params`), served to its module.
    pub params: Vec<u8>,
}

impl Active {
    /// Whether `module` is this challenge's, loaded as it now says (policy, parameters).
    pub fn runs(&self, module: &ChallengeModule) -> bool {
        module.hash() == self.module_hash && *module.policy() == self.policy && module.params() == self.params
    }

    /// What names this version of the challenge's module: its hash, policy and parameters.
    pub fn version(&self) -> Hash {
        let policy = platform_types::hash_of(&self.policy);
        platform_types::blake2b_256_parts(&[self.module_hash.as_bytes(), policy.as_bytes(), &self.params])
    }
}

/// A closed epoch's committed answers to one challenge, for its epoch scorer.
#[derive(Debug)]
pub(crate) struct EpochTargets {
    pub challenge: ChallengeId,
    pub epoch: Epoch,
    /// [`evaluator::epoch_seed`].
    pub seed: [u8; 32],
    /// Every answer of the epoch, in commit order (height, then id).
    pub answers: Vec<(SubmissionId, PublicKey)>,
    /// Answers this validator's evaluation of is already committed: scored with the others, but
    /// not signed again.
    pub skip: HashSet<SubmissionId>,
    /// The answering miners' participation, served to the scorer
    /// ([`platform_app::AppState::epoch_participation`]).
    pub participation: platform_runtime::Participation,
}

/// A committed submission to evaluate: what the evaluation needs besides the payload.
#[derive(Debug)]
pub(crate) struct Target {
    pub id: SubmissionId,
    pub challenge: ChallengeId,
    pub block_hash: Hash,
    pub epoch: Epoch,
    pub miner: PublicKey,
    /// For a reveal, what it opens.
    pub revealed: Option<platform_app::Revealed>,
}

impl Target {
    /// Whether `module` scores this submission with its epoch's others rather than alone (a
    /// reveal is always evaluated alone, with its commitment).
    pub fn by_epoch(&self, module: &ChallengeModule) -> bool {
        module.scores_epochs() && self.revealed.is_none()
    }
}

/// Work for the evaluation worker, with the module to run.
enum Work {
    One(Target, ChallengeModule),
    Epoch(EpochTargets, ChallengeModule),
}

/// An answer of a closed epoch, as the core finds it in the state.
#[derive(Clone)]
pub(crate) struct EpochAnswer {
    pub id: SubmissionId,
    pub miner: PublicKey,
    pub height: Height,
    pub block_hash: Hash,
    /// This validator's evaluation of it is committed.
    pub evaluated: bool,
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
    modules: HashMap<String, (Hash, ChallengeModule)>,
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
                self.modules.insert(challenge, (hash, module));
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
                    Work::One(target, module) => vec![evaluate(&worker, &records, &p2p, target, module).await],
                    Work::Epoch(epoch, module) => score_epoch(&worker, &records, &p2p, epoch, module).await,
                };
                for answer in answers {
                    let _ = inputs.send(answer).await;
                }
                let _ = done.send(Done::Evaluation).await;
            });
        }
    }
}

/// A committed submission's payload: from the store, or from peers for a blob this node
/// lacks; `Err` when the body itself is missing, `Ok(None)` when no peer had the blob.
async fn payload(records: &Records, p2p: &Client, id: &SubmissionId) -> Result<Option<Vec<u8>>, String> {
    Ok(match records.payload(id)? {
        StoredPayload::Bytes(bytes) => Some(bytes),
        StoredPayload::MissingBlob(hash) => p2p.fetch_blob(hash).await.ok().filter(|b| blake2b_256(b) == hash),
    })
}

/// What the core hears of this validator's signed verdict on `id`; a rejection's reason is
/// kept for `GET /submissions/{id}` (written here rather than on the event loop).
pub(crate) fn evaluated(records: &Records, id: SubmissionId, sealed: evaluator::Sealed) -> Input {
    if let Some(reason) = sealed.reason
        && let Err(e) = records.put_reason(&id, &reason)
    {
        warn!(%id, %e, "cannot keep the rejection reason");
    }
    Input::Evaluated { id, envelope: sealed.envelope }
}

/// Reads the payload and evaluates it on the worker: exactly one [`Input::Evaluated`] or
/// [`Input::Abstained`].
async fn evaluate(worker: &Worker, records: &Records, p2p: &Client, target: Target, module: ChallengeModule) -> Input {
    let Target { id, challenge, block_hash, epoch, miner, revealed } = target;
    let opens = match &revealed {
        Some(r) => Some(evaluator::Opens::new(r, payload(records, p2p, &r.commitment).await.ok().flatten())),
        None => None,
    };
    let payload = match payload(records, p2p, &id).await {
        Ok(payload) => payload,
        Err(reason) => return Input::Abstained { id, reason },
    };
    let job = evaluator::Job { id, challenge, block_hash, epoch, miner, payload, opens };
    match worker.evaluate(module, job).await {
        Some(Ok(sealed)) => evaluated(records, id, sealed),
        Some(Err(abstention)) => Input::Abstained { id, reason: abstention.reason },
        None => Input::Abstained { id, reason: "the evaluation thread stopped".to_owned() },
    }
}

/// Reads every answer's payload and scores the epoch on the worker: for each answer not in
/// `skip`, one [`Input::Evaluated`] or [`Input::Abstained`].
async fn score_epoch(
    worker: &Worker,
    records: &Records,
    p2p: &Client,
    epoch: EpochTargets,
    module: ChallengeModule,
) -> Vec<Input> {
    let EpochTargets { challenge, epoch, seed, answers, skip, participation } = epoch;
    let ids: Vec<SubmissionId> = answers.iter().map(|(id, _)| *id).filter(|id| !skip.contains(id)).collect();
    let abstain = |reason: String| ids.iter().map(|&id| Input::Abstained { id, reason: reason.clone() }).collect();
    let answers_held = Vec::with_capacity(answers.len());
    let mut job = evaluator::EpochJob { challenge, epoch, seed, answers: answers_held, too_large: None, participation };
    // Read in turn, and no further than the scorer's input cap: past it the sandbox would
    // refuse the input, and holding every payload of a busy epoch could exhaust memory.
    let limit = u64::from(module.policy().max_input_bytes);
    let mut size = evaluator::epoch_input_bytes([]);
    for (id, miner) in answers {
        if job.too_large.is_some() {
            job.answers.push(evaluator::Answer { id, miner, payload: None });
            continue;
        }
        match payload(records, p2p, &id).await {
            Ok(payload) => {
                let len = payload.as_ref().map_or(0, |p| p.len() as u64);
                size = size.saturating_add(evaluator::epoch_answer_bytes(len));
                job.answers.push(evaluator::Answer { id, miner, payload });
            }
            Err(reason) => return abstain(format!("{reason} ({id}, needed to score epoch {})", epoch.get())),
        }
        if size > limit {
            job.too_large = Some(size);
            for answer in &mut job.answers {
                answer.payload = None;
            }
        }
    }
    match worker.evaluate_epoch(module, job).await {
        Some(Ok(sealed)) => {
            sealed.into_iter().filter(|(id, _)| !skip.contains(id)).map(|(id, s)| evaluated(records, id, s)).collect()
        }
        Some(Err(abstention)) => abstain(abstention.reason),
        None => abstain("the evaluation thread stopped".to_owned()),
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
            .map(|(id, entry)| Active {
                id: id.clone(),
                module_hash: entry.spec.module_hash,
                policy: entry.spec.policy,
                params: entry.spec.params.clone(),
            })
            .collect();
        self.effects.push(Effect::Evaluate(Request::Challenges(challenges)));
    }

    /// After a restart: evaluate committed submissions this validator has not evaluated yet,
    /// oldest first, and score again the closed epochs holding some of them (for challenges
    /// that score epochs: the actor decides).
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
        let tip = self.state.tip.epoch;
        for (challenge, epoch, mut answers) in self.epoch_answers(|epoch| epoch < tip) {
            if answers.iter().all(|a| a.evaluated) {
                continue;
            }
            // Answers of the epoch may have retired from the state since it closed (final, with
            // the others' evaluations): found again in the stored blocks, so that the scorer
            // sees the same answers it saw on every other validator.
            match self.retired_answers(&challenge, epoch, &answers) {
                Ok(retired) => answers.extend(retired),
                Err(reason) => {
                    warn!(%challenge, epoch = epoch.get(), %reason, "cannot score a closed epoch again after the restart; abstaining");
                    for answer in answers.iter().filter(|a| !a.evaluated) {
                        self.metrics.evaluations_abstained.inc();
                        self.abstained = Some((answer.id, reason.clone()));
                    }
                    continue;
                }
            }
            self.request_epoch_scoring(challenge, epoch, answers);
        }
    }

    /// After a block moved the epoch from `from` to `to`: each challenge's answers of the
    /// epochs that closed (`from` up to `to`, not included) go to the evaluation actor, which
    /// scores them if the challenge's module scores epochs.
    pub(crate) fn score_closed_epochs(&mut self, from: Epoch, to: Epoch) {
        for (challenge, epoch, answers) in self.epoch_answers(|epoch| epoch >= from && epoch < to) {
            self.request_epoch_scoring(challenge, epoch, answers);
        }
    }

    fn request_epoch_scoring(&mut self, challenge: ChallengeId, epoch: Epoch, mut answers: Vec<EpochAnswer>) {
        let Some(seed) = in_commit_order(&challenge, epoch, &mut answers) else { return };
        let miners = answers.iter().map(|a| &a.miner);
        let Some(participation) = self.state.epoch_participation(challenge.as_str(), epoch, miners) else {
            let reason = format!("the participation history of epoch {epoch} is no longer held");
            warn!(%challenge, epoch = epoch.get(), %reason, "cannot score a closed epoch; abstaining");
            for answer in answers.iter().filter(|a| !a.evaluated) {
                self.metrics.evaluations_abstained.inc();
                self.abstained = Some((answer.id, reason.clone()));
            }
            return;
        };
        let skip = answers.iter().filter(|a| a.evaluated).map(|a| a.id).collect();
        let answers = answers.into_iter().map(|a| (a.id, a.miner)).collect();
        self.effects.push(Effect::Evaluate(Request::ScoreEpoch(EpochTargets {
            challenge,
            epoch,
            seed,
            answers,
            skip,
            participation,
        })));
    }

    /// [`held_answers`] of this validator's state, with whether its own evaluation of each is
    /// committed.
    fn epoch_answers(&self, closed: impl Fn(Epoch) -> bool) -> Vec<(ChallengeId, Epoch, Vec<EpochAnswer>)> {
        held_answers(&self.state, closed, Some(&self.me()))
    }

    /// [`retired_answers`] of this validator's state and store.
    pub(crate) fn retired_answers(
        &self,
        challenge: &ChallengeId,
        epoch: Epoch,
        held: &[EpochAnswer],
    ) -> Result<Vec<EpochAnswer>, String> {
        retired_answers(&self.state, &self.records, challenge, epoch, held)
    }

    /// Hands a committed submission to the evaluation actor, unless its challenge was removed
    /// or updated since it was ordered: a verdict under a later version could differ from what
    /// every other validator and the audit computed under the version in force then (and such
    /// a submission no longer counts for the weights).
    pub(crate) fn start_evaluation(&mut self, id: SubmissionId) {
        let Some(c) = self.state.submissions.get(&id) else { return };
        if self.state.challenge(&c.challenge).is_none_or(|entry| c.height < entry.since) {
            return;
        }
        let target = Target {
            id,
            challenge: c.challenge.clone(),
            block_hash: c.block_hash,
            epoch: c.epoch,
            miner: c.miner,
            revealed: c.revealed.clone(),
        };
        self.effects.push(Effect::Evaluate(Request::Evaluate(target)));
    }

    /// This validator's signed evaluation of `id`: gossiped, and ordered by a later block
    /// (unless one of its is already committed).
    pub(crate) fn on_evaluated(&mut self, id: SubmissionId, envelope: platform_types::Envelope) {
        let me = self.me();
        let Some(epoch) = self.state.submissions.get(&id).filter(|c| !c.evaluations.contains_key(&me)).map(|c| c.epoch)
        else {
            return;
        };
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

/// The committed answers in `state` of the epochs `closed` accepts, per active challenge and
/// epoch ([`platform_app::AppState::epoch_answers`]), each marked evaluated when `me`'s
/// evaluation of it is committed.
pub(crate) fn held_answers(
    state: &platform_app::AppState,
    closed: impl Fn(Epoch) -> bool,
    me: Option<&PublicKey>,
) -> Vec<(ChallengeId, Epoch, Vec<EpochAnswer>)> {
    state
        .epoch_answers(closed)
        .into_iter()
        .map(|platform_app::EpochAnswers { challenge, epoch, answers }| {
            let answers = answers
                .into_iter()
                .map(|(id, c)| EpochAnswer {
                    id,
                    miner: c.miner,
                    height: c.height,
                    block_hash: c.block_hash,
                    evaluated: me.is_some_and(|me| c.evaluations.contains_key(me)),
                })
                .collect();
            (challenge, epoch, answers)
        })
        .collect()
}

/// Puts an epoch's `answers` in the order its scorer takes them (height, then id) and gives the
/// scorer's seed, from the block ordering the last one; `None` when there are none.
pub(crate) fn in_commit_order(challenge: &ChallengeId, epoch: Epoch, answers: &mut [EpochAnswer]) -> Option<[u8; 32]> {
    answers.sort_by_key(|a| (a.height, a.id));
    answers.last().map(|last| evaluator::epoch_seed(challenge, epoch, &last.block_hash))
}

/// The answers to `challenge` ordered in `epoch` that have left the state (`held` are those
/// still in it), from the epoch's stored blocks; `Err` when a block or a retired record is
/// missing (pruned), as the answers are then not all known.
pub(crate) fn retired_answers(
    state: &platform_app::AppState,
    records: &Records,
    challenge: &ChallengeId,
    epoch: Epoch,
    held: &[EpochAnswer],
) -> Result<Vec<EpochAnswer>, String> {
    let since = state.registry.challenges.get(challenge.as_str()).map_or(Height::new(0), |e| e.since);
    let known: HashSet<SubmissionId> = held.iter().map(|a| a.id).collect();
    let Some(low) = held.iter().map(|a| a.height).min() else { return Ok(Vec::new()) };
    let block_at = |height: u64| -> Result<Option<platform_types::Block>, String> {
        match records.blocks_from(height, 1)?.into_iter().next() {
            Some((block, _)) if block.header.height.get() == height => Ok(Some(block)),
            _ if height > state.tip.height.get() || height == 0 => Ok(None),
            _ => Err(format!("block {height} is no longer stored")),
        }
    };
    // The epoch's blocks: a run of heights around those of the answers held.
    let mut blocks = Vec::new();
    let mut height = low.get();
    while let Some(block) = block_at(height.saturating_sub(1))?.filter(|b| b.header.epoch == epoch) {
        height -= 1;
        blocks.push(block);
    }
    let mut height = low.get();
    while let Some(block) = block_at(height)?.filter(|b| b.header.epoch == epoch) {
        height += 1;
        blocks.push(block);
    }
    let mut out = Vec::new();
    for block in blocks {
        for action in &block.actions {
            let Action::Submission(id) = action else { continue };
            if known.contains(id) || state.submissions.contains_key(id) {
                continue;
            }
            let c = records.retired(id).ok_or_else(|| format!("the retired record of {id} is missing"))?;
            if &c.challenge == challenge && c.height >= since && c.epoch == epoch {
                out.push(EpochAnswer {
                    id: *id,
                    miner: c.miner,
                    height: c.height,
                    block_hash: c.block_hash,
                    evaluated: false,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use platform_runtime::RuntimeOptions;
    use platform_storage::MemoryStore;
    use platform_types::{Codec, Envelope, Evaluation, Keypair, NetUid, Payload, Submission};

    use super::*;
    use crate::evaluator::Signer;

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
        let signer = Signer { keypair: Keypair::from_suri("//V").expect("key"), netuid, invert_scores: false };
        let worker = Worker::start(runtime.clone(), signer).expect("worker");
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
        let sealed = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match answers.recv().await.expect("the actor runs") {
                    Input::Evaluated { envelope, .. } => break envelope,
                    Input::Abstained { reason, .. } => panic!("abstained: {reason}"),
                    _ => {}
                }
            }
        })
        .await
        .expect("evaluated under the update, not stuck behind the earlier version");
        let evaluation = Evaluation::from_bytes(&sealed.payload).expect("an evaluation");
        assert_eq!(evaluation.score_ppb, 7_000_000, "the update's parameters");
    }
}
