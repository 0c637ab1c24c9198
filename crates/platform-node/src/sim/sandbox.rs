//! The evaluation actor as the simulator runs it, in step: the real module loading — the module
//! named by the hash the owner signed, taken from the validator's store or fetched from a peer's
//! and checked against that hash, compiled by the runtime — and the real sandbox evaluation
//! ([`crate::evaluator::evaluate`]: the run, the verdict and the retries of the evaluation thread).
//! A validator that restarts loses what it had loaded, and one that joins with an empty store
//! fetches the module again.
//!
//! The challenge module ([`MODULE_WAT`]) scores a payload by its last byte, so that every
//! honest validator's sandbox must compute the same score from the same input.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use platform_runtime::{ChallengeModule, Runtime, RuntimeOptions};
use platform_types::{ChallengeId, Epoch, Hash, SubmissionId, blake2b_256};

use crate::core::Input;
use crate::evaluation_run::evaluated;
use crate::evaluations::{Active, EpochTargets, Request, Target};
use crate::evaluator::{Answer, Author, EpochJob, Job, Opens, evaluate, evaluate_epoch};
use crate::records::{Records, StoredPayload};

/// The simulated challenge: rejects an empty payload ("empty"), and scores any other
/// `last payload byte x 1e6` ppb, with no detail.
pub(crate) const MODULE_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (data (i32.const 3072) "\01\05\00\00\00empty")
  (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "platform_evaluate") (param $ptr i32) (param $len i32) (result i64)
    ;; payload_len sits after the layout tag, seed, epoch and miner: 4 + 32 + 8 + 32 bytes.
    (if (i32.eqz (i32.load (i32.add (local.get $ptr) (i32.const 76))))
      (then (return (i64.const 0xC000000000A))))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store (i32.const 2049)
      (i32.mul
        (i32.load8_u (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 1)))
        (i32.const 1000000)))
    (i32.store (i32.const 2053) (i32.const 0))
    (i64.const 0x80000000009)))"#;

/// A simulated challenge that scores epochs: each answer scores 1e9 when its payload's last
/// byte equals that of the epoch's first answer (in commit order), else 0, so that a verdict
/// depends on the other answers and on their order; one by one it rejects everything.
#[cfg(test)]
pub(crate) const EPOCH_MODULE_WAT: &str = r#"(module
  (memory (export "memory") 2)
  (data (i32.const 3072) "\01\09\00\00\00per epoch")
  (func (export "platform_alloc") (param i32) (result i32) i32.const 16384)
  (func (export "platform_evaluate") (param i32 i32) (result i64) (i64.const 0xC000000000E))
  (func (export "platform_score_epoch") (param $ptr i32) (param $len i32) (result i64)
    (local $count i32) (local $i i32) (local $at i32) (local $out i32) (local $size i32)
    (local $last i32) (local $first i32)
    ;; count sits after the layout tag, seed and epoch (4 + 32 + 8 bytes); each answer is
    ;; submission [32] | miner [32] | payload_len u32 | payload.
    (local.set $count (i32.load (i32.add (local.get $ptr) (i32.const 44))))
    (local.set $at (i32.add (local.get $ptr) (i32.const 48)))
    (i32.store (i32.const 8192) (local.get $count))
    (local.set $out (i32.const 8196))
    (local.set $first (i32.const -1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $size (i32.load (i32.add (local.get $at) (i32.const 64))))
        (local.set $last (i32.const 0))
        (if (local.get $size)
          (then (local.set $last
            (i32.load8_u (i32.add (i32.add (local.get $at) (i32.const 67)) (local.get $size))))))
        (if (i32.eq (local.get $first) (i32.const -1)) (then (local.set $first (local.get $last))))
        (i32.store8 (local.get $out) (i32.const 0))
        (i32.store (i32.add (local.get $out) (i32.const 1))
          (select (i32.const 1000000000) (i32.const 0) (i32.eq (local.get $last) (local.get $first))))
        (i32.store (i32.add (local.get $out) (i32.const 5)) (i32.const 0))
        (local.set $out (i32.add (local.get $out) (i32.const 9)))
        (local.set $at (i32.add (i32.add (local.get $at) (i32.const 68)) (local.get $size)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.or (i64.shl (i64.const 8192) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $out) (i32.const 8192))))))"#;

/// The epoch-scoring simulated challenge's module bytes.
#[cfg(test)]
pub(crate) fn epoch_module() -> &'static [u8] {
    static MODULE: OnceLock<Vec<u8>> = OnceLock::new();
    MODULE.get_or_init(|| wat::parse_str(EPOCH_MODULE_WAT).expect("the simulated epoch module is valid WAT"))
}

/// A simulated challenge that scores every payload `first parameter byte × 1e6` ppb (0 without
/// parameters): what a validator's module sees of the challenge's parameters.
#[cfg(test)]
pub(crate) const PARAMS_MODULE_WAT: &str = r#"(module
  (import "platform" "params" (func $params (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "platform_evaluate") (param i32 i32) (result i64)
    (drop (call $params (i32.const 3000) (i32.const 1)))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store (i32.const 2049) (i32.mul (i32.load8_u (i32.const 3000)) (i32.const 1000000)))
    (i32.store (i32.const 2053) (i32.const 0))
    (i64.const 0x80000000009)))"#;

/// The simulated challenge's module bytes.
pub(crate) fn module() -> &'static [u8] {
    static MODULE: OnceLock<Vec<u8>> = OnceLock::new();
    MODULE.get_or_init(|| wat::parse_str(MODULE_WAT).expect("the simulated module is valid WAT"))
}

/// One runtime for every simulated validator of the process: modules compiled once (its cache
/// is keyed by the module's bytes and policy), instances fresh per evaluation as always.
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(RuntimeOptions::default()).expect("a runtime"))
}

/// One validator's evaluation actor.
#[derive(Default)]
pub(crate) struct Sandbox {
    /// Loaded modules by challenge: its module hash and the module.
    modules: BTreeMap<String, (Hash, ChallengeModule)>,
    /// Challenges whose module is not loaded yet.
    wanted: BTreeMap<String, Active>,
    /// Submissions waiting for their challenge's module.
    waiting: Vec<Target>,
    /// Submissions handed over (each is evaluated once).
    taken: HashSet<SubmissionId>,
    /// Closed epochs waiting for their challenge's module.
    epochs_waiting: Vec<EpochTargets>,
    /// Epochs handed over, by challenge (each is scored once).
    scored: HashSet<(ChallengeId, Epoch)>,
}

impl Sandbox {
    /// Whether it has nothing to do unasked (no module still wanted).
    pub fn idle(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Carries out `request` for the validator holding `records`, its verdicts written as `author`;
    /// `peers` are the stores of the validators it can reach (modules and payloads it lacks are
    /// fetched from them). The inputs for its core.
    pub fn handle(&mut self, request: Request, records: &Records, peers: &[&Records], author: &Author) -> Vec<Input> {
        let mut inputs = Vec::new();
        match request {
            Request::Challenges(challenges) => {
                let before = self.modules.len();
                self.modules.retain(|id, (_, module)| challenges.iter().any(|c| &c.id == id && c.runs(module)));
                self.wanted = challenges
                    .into_iter()
                    .filter(|c| !self.modules.contains_key(&c.id))
                    .map(|c| (c.id.clone(), c))
                    .collect();
                if self.modules.len() != before {
                    inputs.push(self.loaded());
                }
                inputs.extend(self.load(records, peers, author));
            }
            Request::Evaluate(target) => {
                if self.taken.insert(target.id) {
                    self.waiting.push(target);
                }
                inputs.extend(self.run_waiting(records, peers, author));
            }
            Request::ScoreEpoch(epoch) => {
                if self.scored.insert((epoch.challenge.clone(), epoch.epoch)) {
                    self.epochs_waiting.push(epoch);
                }
                inputs.extend(self.run_waiting(records, peers, author));
            }
        }
        inputs
    }

    /// Loads what is wanted and can be found (called again at every step while something is).
    pub fn load(&mut self, records: &Records, peers: &[&Records], author: &Author) -> Vec<Input> {
        if self.wanted.is_empty() {
            return Vec::new();
        }
        let mut changed = false;
        for (id, active) in std::mem::take(&mut self.wanted) {
            let hash = active.module_hash;
            let found = records.blob(&hash).or_else(|| {
                let fetched = peers.iter().find_map(|p| p.blob(&hash).filter(|b| blake2b_256(b) == hash))?;
                records.put_blob(&hash, &fetched).ok()?;
                Some(fetched)
            });
            match found.map(|wasm| runtime().load(&wasm, &active.policy)) {
                Some(Ok(module)) => {
                    self.modules.insert(id, (hash, module.with_params(&active.params)));
                    changed = true;
                }
                // A module that does not load stays unloaded (the node logs it); one not found
                // anywhere is asked for again.
                Some(Err(_)) => {}
                None => {
                    self.wanted.insert(id, active);
                }
            }
        }
        let mut inputs = Vec::new();
        if changed {
            inputs.push(self.loaded());
            inputs.extend(self.run_waiting(records, peers, author));
        }
        inputs
    }

    fn loaded(&self) -> Input {
        Input::ModulesLoaded(self.modules.keys().cloned().collect::<BTreeSet<_>>())
    }

    /// Evaluates the waiting submissions and scores the waiting epochs whose module is loaded
    /// (each as its module asks: one by one, or by epoch).
    fn run_waiting(&mut self, records: &Records, peers: &[&Records], author: &Author) -> Vec<Input> {
        let mut inputs = Vec::new();
        for target in std::mem::take(&mut self.waiting) {
            let Some((_, module)) = self.modules.get(target.challenge.as_str()) else {
                self.waiting.push(target);
                continue;
            };
            if target.by_epoch(module) {
                continue;
            }
            let Target { id, challenge, block_hash, epoch, miner, revealed } = target;
            let opens = revealed.map(|r| Opens::new(&r, payload(records, peers, &r.commitment).ok().flatten()));
            let payload = match payload(records, peers, &id) {
                Ok(payload) => payload,
                Err(reason) => {
                    inputs.push(Input::Abstained { id, reason });
                    continue;
                }
            };
            let job = Job { id, challenge, block_hash, epoch, miner, payload, opens };
            inputs.push(match evaluate(runtime(), module, author, job) {
                Ok(verdict) => evaluated(records, id, verdict),
                Err(abstention) => Input::Abstained { id, reason: abstention.reason },
            });
        }
        for targets in std::mem::take(&mut self.epochs_waiting) {
            let Some((_, module)) = self.modules.get(targets.challenge.as_str()) else {
                self.epochs_waiting.push(targets);
                continue;
            };
            if !module.scores_epochs() {
                continue;
            }
            let EpochTargets { challenge, epoch, seed, answers, skip, participation } = targets;
            let ids: Vec<SubmissionId> = answers.iter().map(|(id, _)| *id).filter(|id| !skip.contains(id)).collect();
            let mut job = EpochJob { challenge, epoch, seed, answers: Vec::new(), too_large: None, participation };
            let mut missing = None;
            for (id, miner) in answers {
                match payload(records, peers, &id) {
                    Ok(payload) => job.answers.push(Answer { id, miner, payload }),
                    Err(reason) => missing = Some(reason),
                }
            }
            let scored = match missing {
                Some(reason) => Err(reason),
                None => evaluate_epoch(runtime(), module, author, job).map_err(|a| a.reason),
            };
            match scored {
                Ok(verdicts) => inputs.extend(
                    verdicts.into_iter().filter(|(id, _)| !skip.contains(id)).map(|(id, s)| evaluated(records, id, s)),
                ),
                Err(reason) => inputs.extend(ids.into_iter().map(|id| Input::Abstained { id, reason: reason.clone() })),
            }
        }
        inputs
    }
}

/// A committed submission's payload, from `records` or a reachable peer's (as
/// `crate::evaluations` reads it); `Err` when the body is missing.
fn payload(records: &Records, peers: &[&Records], id: &SubmissionId) -> Result<Option<Vec<u8>>, String> {
    Ok(match records.payload(id)? {
        StoredPayload::Bytes(bytes) => Some(bytes),
        StoredPayload::MissingBlob(hash) => peers.iter().find_map(|p| p.blob(&hash).filter(|b| blake2b_256(b) == hash)),
    })
}
