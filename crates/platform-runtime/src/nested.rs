//! The nested sandbox: a miner's module run from inside a challenge, with its own fuel budget.
//!
//! A nested module imports nothing and exports `memory`, `platform_alloc` and `platform_run`.
//! Everything deterministic about its run (it finished, trapped, ran out of fuel, returned too
//! much) is reported to the challenge as a status; only the wall-clock deadline, which is not
//! deterministic, ends the whole evaluation.

use std::time::Instant;

use crate::abi;
use crate::error::RuntimeError;
use crate::inspect::ImportRule;
use crate::runtime::Shared;
use crate::sandbox::{Limits, Sandbox};

/// The policy limits that apply to nested runs of one evaluation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NestedLimits {
    pub fuel_limit: u64,
    pub memory_pages_max: u32,
    pub max_input_bytes: u32,
    pub deadline: Instant,
    pub deadline_ms: u32,
}

/// How a nested run ended, as the challenge sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Status {
    /// The module returned; its output is available.
    Ok = 0,
    /// The module used its whole fuel budget.
    OutOfFuel = 1,
    /// The module trapped (including stack overflow and malformed output pointers).
    Trap = 2,
    /// The bytes are not a usable nested module (invalid, imports, missing exports).
    InvalidModule = 3,
    /// The module returned more bytes than the caller's buffer holds.
    OutputTooLarge = 4,
    /// The module hit the memory cap.
    MemoryLimit = 5,
}

/// What a nested run produced.
pub(crate) struct Ran {
    pub status: Status,
    pub fuel_used: u64,
    pub output: Vec<u8>,
}

pub(crate) fn run(
    shared: &Shared,
    wasm: &[u8],
    input: &[u8],
    fuel: u64,
    out_cap: u32,
    limits: &NestedLimits,
) -> Result<Ran, RuntimeError> {
    let failed = |status, fuel_used| Ok(Ran { status, fuel_used, output: Vec::new() });
    let compiled = match shared.compile(wasm, ImportRule::None, limits.memory_pages_max, abi::EXPORT_RUN) {
        Ok(compiled) => compiled,
        Err(RuntimeError::MemoryLimit(_)) => return failed(Status::MemoryLimit, 0),
        Err(RuntimeError::Engine(e)) => return Err(RuntimeError::Engine(e)),
        Err(_) => return failed(Status::InvalidModule, 0),
    };
    let sandbox_limits = Limits {
        fuel,
        memory_pages_max: limits.memory_pages_max,
        deadline: limits.deadline,
        deadline_ms: limits.deadline_ms,
        max_output_bytes: out_cap,
    };
    let mut sandbox = match Sandbox::new(&compiled, sandbox_limits, |_| wasmer::Imports::new()) {
        Ok(sandbox) => sandbox,
        Err(RuntimeError::Deadline { deadline_ms }) => return Err(RuntimeError::Deadline { deadline_ms }),
        Err(_) => return failed(Status::InvalidModule, 0),
    };
    match sandbox.call(abi::EXPORT_RUN, input, &shared.watchdog) {
        Ok(out) => Ok(Ran { status: Status::Ok, fuel_used: out.fuel_used, output: out.output }),
        Err(RuntimeError::Deadline { deadline_ms }) => Err(RuntimeError::Deadline { deadline_ms }),
        Err(error) => {
            let status = match error {
                RuntimeError::OutOfFuel { .. } => Status::OutOfFuel,
                RuntimeError::OutputTooLarge { .. } => Status::OutputTooLarge,
                RuntimeError::MemoryLimit(_) => Status::MemoryLimit,
                RuntimeError::BadExport { .. } => Status::InvalidModule,
                _ => Status::Trap,
            };
            failed(status, sandbox.fuel_used())
        }
    }
}
