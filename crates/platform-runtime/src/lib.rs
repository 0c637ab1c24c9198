//! Deterministic, metered WASM sandbox for challenge evaluation.
//!
//! A [`Runtime`] loads a challenge module under its [`RuntimePolicy`](platform_types::RuntimePolicy)
//! ([`Runtime::load`] does every check: validation, import whitelist, exports, memory and table
//! caps) and evaluates [`EvalInput`]s ([`Runtime::evaluate`]). Each evaluation gets a fresh
//! instance with the policy's fuel, memory cap, wall-clock deadline and input/output caps; every
//! way it can fail is a [`RuntimeError`] variant, never a crash of the host.
//!
//! Determinism: no clock, no ambient randomness (the seed is an input), no threads or SIMD, NaNs
//! canonicalised wherever a module can observe their bits, fuel counted per WebAssembly operator.
//! Metering and NaN canonicalisation are written into the module before compilation
//! ([`rewrite`]). The same module and input give the same output bytes and the same fuel on every
//! validator. The guest ABI is in `docs/runtime-abi.md`.

pub mod abi;
mod audit;
mod cache;
mod engine;
mod error;
mod exports;
mod host;
mod inspect;
#[cfg(target_os = "linux")]
mod memory_pool;
mod metering;
mod nan;
mod nested;
mod rewrite;
mod runtime;
mod sandbox;
mod watchdog;

pub use abi::{
    ABI_VERSION, EpochAnswer, EpochInput, EvalCommitment, EvalInput, Verdict, decode_epoch_verdicts, decode_verdict,
};
pub use audit::{AuditLog, AuditRecord, AuditResult};
pub use cache::CacheStats;
pub use engine::{Compiler, EngineConfig, REWRITE_VERSION, WASMER_VERSION};
pub use error::RuntimeError;
pub use host::{HOST_FUNCTIONS, IMPORT_MODULE, MAX_LOG_LINES, Participation};
pub use inspect::{MAX_NESTED_BODY_BYTES, MAX_NESTED_FUNCTIONS};
pub use metering::FUEL_EXPORT;
pub use nested::Status as NestedStatus;
pub use rewrite::{MAX_TABLE_ELEMENTS, rewrite};
pub use runtime::{ChallengeModule, EpochOutcome, Outcome, Runtime, RuntimeOptions};
