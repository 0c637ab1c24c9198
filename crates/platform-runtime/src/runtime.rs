//! The public face of the crate: load a challenge module under its policy, evaluate inputs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_storage::Store;
use platform_types::{Hash, RuntimePolicy, blake2b_256};
use wasmer::FunctionEnv;

use crate::abi::{self, EpochInput, EvalInput, Verdict, decode_epoch_verdicts, decode_verdict};
use crate::audit::{AuditLog, AuditRecord, AuditResult};
use crate::cache::{CacheStats, ModuleCache};
use crate::engine::{Compiled, EngineConfig};
use crate::error::RuntimeError;
use crate::exports::{check_export, check_exports, check_import_types, entry_type};
use crate::host::{self, HostEnv, Participation};
use crate::inspect::{self, ImportRule};
use crate::nested::NestedLimits;
use crate::sandbox::{Limits, Sandbox};
use crate::watchdog::Watchdog;

/// How to build a [`Runtime`].
#[derive(Clone, Default)]
pub struct RuntimeOptions {
    /// Compiler settings (identical on every validator).
    pub engine: EngineConfig,
    /// Directory for compiled modules; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Where audit records go; `None` disables the audit log.
    pub audit: Option<Arc<dyn Store>>,
}

/// State shared by evaluations and the nested runs inside them.
pub(crate) struct Shared {
    pub cache: ModuleCache,
    pub watchdog: Watchdog,
    audit: Option<AuditLog>,
}

impl Shared {
    /// Inspects, compiles (or fetches from the cache) and checks the exports of a module.
    pub(crate) fn compile(
        &self,
        wasm: &[u8],
        rule: ImportRule,
        memory_pages_max: u32,
        entry: &'static str,
    ) -> Result<Compiled, RuntimeError> {
        let key = self.cache.key(wasm, rule, memory_pages_max);
        let compiled = self.cache.get_or_compile(key, || inspect::inspect(wasm, rule, memory_pages_max))?;
        check_exports(&compiled, entry)?;
        if let ImportRule::Whitelist(_) = rule {
            check_import_types(&compiled)?;
        }
        Ok(compiled)
    }
}

/// The WASM sandbox. Cheap to share across threads (`Clone` shares one cache and watchdog);
/// each evaluation gets a fresh store and instance.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

/// A challenge module compiled under its policy, ready to evaluate.
#[derive(Clone)]
pub struct ChallengeModule {
    hash: Hash,
    policy: RuntimePolicy,
    compiled: Compiled,
    /// The host functions it imports (only those are created for each evaluation).
    imported: Arc<[String]>,
    /// It exports an epoch scorer ([`abi::EXPORT_SCORE_EPOCH`]).
    scores_epochs: bool,
    /// The challenge's parameters, served by the `params` host function.
    params: Arc<[u8]>,
}

impl ChallengeModule {
    /// blake2b-256 of the module bytes as registered.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The policy its evaluations run under.
    pub fn policy(&self) -> &RuntimePolicy {
        &self.policy
    }

    /// Whether it scores each epoch's answers together ([`Runtime::score_epoch`]) as well.
    pub fn scores_epochs(&self) -> bool {
        self.scores_epochs
    }

    /// The module with the challenge's parameters (`ChallengeSpec::params`, as the owner
    /// signed them), which its runs read through the `params` host function (ABI version 3).
    /// None by default.
    pub fn with_params(mut self, params: &[u8]) -> Self {
        self.params = Arc::from(params);
        self
    }

    /// The challenge's parameters its runs see.
    pub fn params(&self) -> &[u8] {
        &self.params
    }
}

/// A finished epoch scoring: one verdict per answer, in the input's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochOutcome {
    /// Each answer's verdict, with blake2b-256 of the bytes the module encoded it as (what a
    /// validator signs for that submission; equal on every honest validator).
    pub verdicts: Vec<(Verdict, Hash)>,
    /// blake2b-256 of the whole output.
    pub output_hash: Hash,
    /// Fuel used, nested runs included; equal on every honest validator.
    pub fuel_used: u64,
    /// Fuel used inside nested runs.
    pub nested_fuel_used: u64,
    /// Lines the module logged.
    pub logs: Vec<String>,
    /// Wall time (informational).
    pub duration: Duration,
}

/// What one call of a module's entry point is: the export, its seed, how many evaluations'
/// worth of fuel and time it gets, and what the `participation` host function serves.
struct Run {
    entry: &'static str,
    seed: [u8; 32],
    runs: u32,
    participation: Arc<Participation>,
}

/// What one call of an entry point returned, before its output is decoded.
struct Returned {
    output: Vec<u8>,
    fuel_used: u64,
    logs: Vec<String>,
}

/// A finished evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The challenge's verdict.
    pub verdict: Verdict,
    /// blake2b-256 of the raw output bytes; equal on every honest validator.
    pub output_hash: Hash,
    /// Fuel used, nested runs included; equal on every honest validator.
    pub fuel_used: u64,
    /// Fuel used inside nested runs.
    pub nested_fuel_used: u64,
    /// Host calls made.
    pub host_calls: u32,
    /// Lines the module logged (at most [`host::MAX_LOG_LINES`]).
    pub logs: Vec<String>,
    /// Wall time (informational).
    pub duration: Duration,
}

impl Runtime {
    /// Starts a runtime (and its watchdog thread).
    pub fn new(options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let audit = options.audit.map(AuditLog::open).transpose()?;
        let cache = ModuleCache::new(options.engine, options.cache_dir)?;
        Ok(Runtime { shared: Arc::new(Shared { cache, watchdog: Watchdog::start(), audit }) })
    }

    /// Validates `wasm` as a challenge module under `policy` and compiles it (or loads it from
    /// the cache). Every check a module can fail happens here, before any evaluation.
    pub fn load(&self, wasm: &[u8], policy: &RuntimePolicy) -> Result<ChallengeModule, RuntimeError> {
        policy.validate().map_err(|e| RuntimeError::InvalidPolicy(e.to_string()))?;
        let compiled = self.shared.compile(
            wasm,
            ImportRule::Whitelist(host::HOST_FUNCTIONS),
            policy.memory_pages_max,
            abi::EXPORT_EVALUATE,
        )?;
        let imported = compiled.module.imports().map(|i| i.name().to_owned()).collect();
        let scores_epochs = compiled.module.exports().any(|e| e.name() == abi::EXPORT_SCORE_EPOCH);
        if scores_epochs {
            check_export(&compiled, abi::EXPORT_SCORE_EPOCH, Some(entry_type()), "(i32, i32) -> i64")?;
        }
        let params = Arc::from(&[][..]);
        Ok(ChallengeModule { hash: blake2b_256(wasm), policy: *policy, compiled, imported, scores_epochs, params })
    }

    /// Where compiled modules came from so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.shared.cache.stats()
    }

    /// The disk cache entry that would hold `wasm` compiled under `policy` (for tools and tests).
    pub fn cache_entry_path(&self, wasm: &[u8], policy: &RuntimePolicy) -> Option<PathBuf> {
        let rule = ImportRule::Whitelist(host::HOST_FUNCTIONS);
        self.shared.cache.entry_path(&self.shared.cache.key(wasm, rule, policy.memory_pages_max))
    }

    /// Runs one evaluation and writes its audit record (when an audit log is configured).
    pub fn evaluate(&self, module: &ChallengeModule, input: &EvalInput) -> Result<Outcome, RuntimeError> {
        let encoded = input.encode();
        let started = Instant::now();
        let run = Run { entry: abi::EXPORT_EVALUATE, seed: input.seed, runs: 1, participation: Arc::default() };
        let (returned, stats) = self.run(module, &run, &encoded, started);
        let result = returned.and_then(|r| {
            Ok(Outcome {
                verdict: decode_verdict(&r.output)?,
                output_hash: blake2b_256(&r.output),
                fuel_used: r.fuel_used,
                nested_fuel_used: stats.nested_fuel_used,
                host_calls: stats.host_calls,
                logs: r.logs,
                duration: started.elapsed(),
            })
        });
        let recorded = result.as_ref().map(|o| {
            let result = match &o.verdict {
                Verdict::Scored { score_ppb, .. } => AuditResult::Scored { score_ppb: *score_ppb },
                Verdict::Rejected { reason } => AuditResult::Rejected { reason: reason.clone() },
            };
            (o.output_hash, result)
        });
        self.audit(module, &[&encoded], started, &stats, recorded)?;
        result
    }

    /// Runs a challenge's epoch scorer over an epoch's committed answers (the module must
    /// export one: [`ChallengeModule::scores_epochs`]) under the same policy as its evaluations,
    /// and writes its audit record. The output must hold exactly one verdict per answer.
    pub fn score_epoch(&self, module: &ChallengeModule, input: &EpochInput) -> Result<EpochOutcome, RuntimeError> {
        if !module.scores_epochs {
            return Err(RuntimeError::BadExport { name: abi::EXPORT_SCORE_EPOCH, expected: "(i32, i32) -> i64" });
        }
        let encoded = input.encode();
        let started = Instant::now();
        let answers = u32::try_from(input.answers.len()).unwrap_or(u32::MAX);
        let participation = Arc::new(input.participation.clone());
        let run = Run { entry: abi::EXPORT_SCORE_EPOCH, seed: input.seed, runs: answers, participation };
        let (returned, stats) = self.run(module, &run, &encoded, started);
        let result = returned.and_then(|r| {
            let verdicts = decode_epoch_verdicts(&r.output, input.answers.len())?
                .into_iter()
                .map(|(verdict, bytes)| (verdict, blake2b_256(bytes)))
                .collect();
            Ok(EpochOutcome {
                verdicts,
                output_hash: blake2b_256(&r.output),
                fuel_used: r.fuel_used,
                nested_fuel_used: stats.nested_fuel_used,
                logs: r.logs,
                duration: started.elapsed(),
            })
        });
        let recorded =
            result.as_ref().map(|o| (o.output_hash, AuditResult::Epoch { answers: o.verdicts.len() as u32 }));
        // What the scorer could read besides its input: the participation it was served.
        let served = platform_types::hash_of(&input.participation);
        let parts: &[&[u8]] = if input.participation.is_empty() { &[&encoded] } else { &[&encoded, served.as_bytes()] };
        self.audit(module, parts, started, &stats, recorded)?;
        result
    }

    /// Appends one run's audit record (when an audit log is configured); `input` is what the
    /// run read: its encoded input, then anything a host function served it.
    fn audit(
        &self,
        module: &ChallengeModule,
        input: &[&[u8]],
        started: Instant,
        stats: &RunStats,
        recorded: Result<(Hash, AuditResult), &RuntimeError>,
    ) -> Result<(), RuntimeError> {
        let Some(audit) = &self.shared.audit else { return Ok(()) };
        let (output_hash, result) = recorded
            .unwrap_or_else(|e| (Hash::ZERO, AuditResult::Failed { kind: e.kind().into(), message: e.to_string() }));
        audit.append(&AuditRecord {
            module_hash: module.hash,
            input_hash: match module.params() {
                [] => platform_types::blake2b_256_parts(input),
                params => platform_types::blake2b_256_parts(&[input, &[params]].concat()),
            },
            output_hash,
            fuel_used: stats.fuel_used,
            nested_fuel_used: stats.nested_fuel_used,
            duration_micros: started.elapsed().as_micros() as u64,
            host_calls: stats.host_calls,
            result,
        })?;
        Ok(())
    }

    /// Calls `run.entry` on a fresh instance of `module` with `encoded` as its input, with the
    /// policy's fuel and deadline times `run.runs` (an epoch scorer's answers: it does an
    /// evaluation's work for each; at least 1). The input and memory caps stay the policy's.
    fn run(
        &self,
        module: &ChallengeModule,
        run: &Run,
        encoded: &[u8],
        started: Instant,
    ) -> (Result<Returned, RuntimeError>, RunStats) {
        let Run { entry, seed, runs, participation } = run;
        let (entry, seed, runs) = (*entry, *seed, (*runs).max(1));
        let policy = &RuntimePolicy {
            fuel_limit: module.policy.fuel_limit.saturating_mul(u64::from(runs)),
            deadline_ms: module.policy.deadline_ms.saturating_mul(runs),
            ..module.policy
        };
        let mut stats = RunStats::default();
        if encoded.len() > policy.max_input_bytes as usize {
            let error =
                RuntimeError::InputTooLarge { size: encoded.len() as u64, limit: u64::from(policy.max_input_bytes) };
            return (Err(error), stats);
        }
        let deadline = started + Duration::from_millis(u64::from(policy.deadline_ms));
        let limits = Limits {
            fuel: policy.fuel_limit,
            memory_pages_max: policy.memory_pages_max,
            deadline,
            deadline_ms: policy.deadline_ms,
            max_output_bytes: policy.max_output_bytes,
        };
        let nested = NestedLimits {
            fuel_limit: policy.nested_fuel_limit,
            memory_pages_max: policy.memory_pages_max,
            max_input_bytes: policy.max_input_bytes,
            deadline,
            deadline_ms: policy.deadline_ms,
        };
        let mut env_handle = None;
        let sandbox = Sandbox::new(&module.compiled, limits, |store| {
            let host = HostEnv::new(seed, policy.fuel_limit, Some((Arc::clone(&self.shared), nested)));
            let env = FunctionEnv::new(
                store,
                HostEnv { params: Arc::clone(&module.params), participation: Arc::clone(participation), ..host },
            );
            let imports = host::imports(store, &env, module.imported.iter().map(String::as_str));
            env_handle = Some(env);
            imports
        });
        let (mut sandbox, env) = match (sandbox, env_handle) {
            (Ok(sandbox), Some(env)) => (sandbox, env),
            (Err(e), _) => return (Err(e), stats),
            (Ok(_), None) => return (Err(RuntimeError::Engine("host environment missing".into())), stats),
        };
        {
            let memory = sandbox.memory.clone();
            let fuel = sandbox.fuel.clone();
            let data = env.as_mut(&mut sandbox.store);
            data.memory = Some(memory);
            data.fuel = Some(fuel);
        }
        let result = sandbox.call(entry, encoded, &self.shared.watchdog);
        stats.fuel_used = sandbox.fuel_used();
        let data = env.as_mut(&mut sandbox.store);
        stats.host_calls = data.host_calls;
        stats.nested_fuel_used = data.nested_fuel;
        let logs = std::mem::take(&mut data.logs);
        let result = result.map(|out| Returned { output: out.output, fuel_used: out.fuel_used, logs });
        (result, stats)
    }
}

#[derive(Default)]
struct RunStats {
    fuel_used: u64,
    nested_fuel_used: u64,
    host_calls: u32,
}
