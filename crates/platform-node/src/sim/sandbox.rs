//! The evaluation actor as the simulator runs it, in step: the real module loading — the module
//! named by the hash the owner signed, taken from the validator's store or fetched from a peer's
//! and checked against that hash, compiled by the runtime — and the real sandbox evaluation
//! ([`crate::evaluator::evaluate`]: the run, the seal and the retries of the evaluation thread).
//! A validator that restarts loses what it had loaded, and one that joins with an empty store
//! fetches the module again.
//!
//! The challenge module ([`MODULE_WAT`]) scores a payload by its last byte, so that every
//! honest validator's sandbox must compute the same score from the same input.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use platform_runtime::{ChallengeModule, Runtime, RuntimeOptions};
use platform_types::{Hash, Payload, RuntimePolicy, SubmissionId, blake2b_256};

use crate::core::Input;
use crate::evaluations::{Request, Target};
use crate::evaluator::{Job, Signer, evaluate};
use crate::records::Records;

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
    wanted: BTreeMap<String, (Hash, RuntimePolicy)>,
    /// Submissions waiting for their challenge's module.
    waiting: Vec<Target>,
    /// Submissions handed over (each is evaluated once).
    taken: HashSet<SubmissionId>,
}

impl Sandbox {
    /// Whether it has nothing to do unasked (no module still wanted).
    pub fn idle(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Carries out `request` for the validator holding `records` and signing with `signer`;
    /// `peers` are the stores of the validators it can reach (modules and payloads it lacks are
    /// fetched from them). The inputs for its core.
    pub fn handle(&mut self, request: Request, records: &Records, peers: &[&Records], signer: &Signer) -> Vec<Input> {
        let mut inputs = Vec::new();
        match request {
            Request::Challenges(challenges) => {
                let before = self.modules.len();
                self.modules.retain(|id, (hash, _)| challenges.iter().any(|(c, h, _)| c == id && h == hash));
                self.wanted = challenges
                    .into_iter()
                    .filter(|(id, _, _)| !self.modules.contains_key(id))
                    .map(|(id, hash, policy)| (id, (hash, policy)))
                    .collect();
                if self.modules.len() != before {
                    inputs.push(self.loaded());
                }
                inputs.extend(self.load(records, peers, signer));
            }
            Request::Evaluate(target) => {
                if self.taken.insert(target.id) {
                    self.waiting.push(target);
                }
                inputs.extend(self.run_waiting(records, peers, signer));
            }
        }
        inputs
    }

    /// Loads what is wanted and can be found (called again at every step while something is).
    pub fn load(&mut self, records: &Records, peers: &[&Records], signer: &Signer) -> Vec<Input> {
        if self.wanted.is_empty() {
            return Vec::new();
        }
        let mut changed = false;
        for (id, (hash, policy)) in std::mem::take(&mut self.wanted) {
            let found = records.blob(&hash).or_else(|| {
                let fetched = peers.iter().find_map(|p| p.blob(&hash).filter(|b| blake2b_256(b) == hash))?;
                records.put_blob(&hash, &fetched).ok()?;
                Some(fetched)
            });
            match found.map(|wasm| runtime().load(&wasm, &policy)) {
                Some(Ok(module)) => {
                    self.modules.insert(id, (hash, module));
                    changed = true;
                }
                // A module that does not load stays unloaded (the node logs it); one not found
                // anywhere is asked for again.
                Some(Err(_)) => {}
                None => {
                    self.wanted.insert(id, (hash, policy));
                }
            }
        }
        let mut inputs = Vec::new();
        if changed {
            inputs.push(self.loaded());
            inputs.extend(self.run_waiting(records, peers, signer));
        }
        inputs
    }

    fn loaded(&self) -> Input {
        Input::ModulesLoaded(self.modules.keys().cloned().collect::<BTreeSet<_>>())
    }

    /// Evaluates the waiting submissions whose module is loaded.
    fn run_waiting(&mut self, records: &Records, peers: &[&Records], signer: &Signer) -> Vec<Input> {
        let mut inputs = Vec::new();
        for target in std::mem::take(&mut self.waiting) {
            let Some((_, module)) = self.modules.get(target.challenge.as_str()) else {
                self.waiting.push(target);
                continue;
            };
            let Target { id, challenge, block_hash, epoch, miner } = target;
            let Some(submission) = records.submission(&id) else {
                inputs.push(Input::Abstained { id, reason: "the committed submission has no stored body".into() });
                continue;
            };
            let payload = match submission.payload {
                Payload::Inline(bytes) => Some(bytes),
                Payload::Blob(hash) => records
                    .blob(&hash)
                    .or_else(|| peers.iter().find_map(|p| p.blob(&hash).filter(|b| blake2b_256(b) == hash))),
            };
            let job = Job { id, challenge, block_hash, epoch, miner, payload };
            inputs.push(match evaluate(runtime(), module, signer, job) {
                Ok(sealed) => {
                    if let Some(reason) = sealed.reason {
                        let _ = records.put_reason(&id, &reason);
                    }
                    Input::Evaluated { id, envelope: sealed.envelope }
                }
                Err(abstention) => Input::Abstained { id, reason: abstention.reason },
            });
        }
        inputs
    }
}
