//! Every way an evaluation can end other than with the module's own verdict.

use thiserror::Error;

/// Why a module could not be loaded or an evaluation did not produce a verdict.
///
/// Each resource the policy limits has its own variant, so callers (and the audit log) can tell
/// "the module ran out of fuel" from "the module is broken" without parsing text.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RuntimeError {
    /// The bytes are not a valid WebAssembly module for this runtime's feature set.
    #[error("invalid module: {0}")]
    InvalidModule(String),
    /// The module imports something outside the host-function whitelist.
    #[error("forbidden import `{module}::{name}`: {reason}")]
    ForbiddenImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A required export is missing or has the wrong type.
    #[error("missing or mistyped export `{name}`: expected {expected}")]
    BadExport {
        /// The export's name.
        name: &'static str,
        /// What the ABI requires.
        expected: &'static str,
    },
    /// The module declares more linear memory than the policy allows, or ran into the cap.
    #[error("memory limit: {0}")]
    MemoryLimit(String),
    /// The module declares a table larger than the runtime allows.
    #[error("table limit: {0}")]
    TableLimit(String),
    /// The evaluation input exceeds the policy's `max_input_bytes`.
    #[error("input of {size} bytes exceeds the limit of {limit}")]
    InputTooLarge {
        /// Input size.
        size: u64,
        /// The policy limit.
        limit: u64,
    },
    /// The module returned more than the policy's `max_output_bytes`.
    #[error("output of {size} bytes exceeds the limit of {limit}")]
    OutputTooLarge {
        /// Output size claimed by the module.
        size: u64,
        /// The policy limit.
        limit: u64,
    },
    /// The instruction budget ran out.
    #[error("out of fuel after {limit} units")]
    OutOfFuel {
        /// The budget that was exhausted.
        limit: u64,
    },
    /// The wall-clock safety net fired.
    #[error("wall-clock deadline of {deadline_ms} ms exceeded")]
    Deadline {
        /// The policy deadline.
        deadline_ms: u32,
    },
    /// The guest's call stack overflowed.
    #[error("stack overflow")]
    StackOverflow,
    /// The guest trapped (unreachable, out-of-bounds access, division by zero, ...).
    #[error("trap: {0}")]
    Trap(String),
    /// A host function refused the guest's call (bad pointer, bad length, ...).
    #[error("host call `{function}` failed: {reason}")]
    HostCall {
        /// The host function.
        function: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The module's output does not follow the ABI.
    #[error("malformed output: {0}")]
    MalformedOutput(String),
    /// The policy itself is unusable.
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// Compiling or instantiating failed for a reason not covered above.
    #[error("engine: {0}")]
    Engine(String),
    /// Writing the audit log failed.
    #[error("audit log: {0}")]
    Audit(String),
}

impl RuntimeError {
    /// Whether every honest validator meets this error for the same module, policy and input,
    /// so that it may be signed as a verdict on the submission. Fuel, memory and size limits,
    /// traps, host-call refusals and malformed output are; the wall-clock deadline (machine
    /// speed and load), engine failures, an unusable policy and a failed audit write are this
    /// machine's, not the submission's, and must never be signed as a rejection.
    pub fn is_deterministic(&self) -> bool {
        !matches!(
            self,
            RuntimeError::Deadline { .. }
                | RuntimeError::Engine(_)
                | RuntimeError::Audit(_)
                | RuntimeError::InvalidPolicy(_)
        )
    }

    /// A short stable name for the error kind, used in audit records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeError::InvalidModule(_) => "invalid_module",
            RuntimeError::ForbiddenImport { .. } => "forbidden_import",
            RuntimeError::BadExport { .. } => "bad_export",
            RuntimeError::MemoryLimit(_) => "memory_limit",
            RuntimeError::TableLimit(_) => "table_limit",
            RuntimeError::InputTooLarge { .. } => "input_too_large",
            RuntimeError::OutputTooLarge { .. } => "output_too_large",
            RuntimeError::OutOfFuel { .. } => "out_of_fuel",
            RuntimeError::Deadline { .. } => "deadline",
            RuntimeError::StackOverflow => "stack_overflow",
            RuntimeError::Trap(_) => "trap",
            RuntimeError::HostCall { .. } => "host_call",
            RuntimeError::MalformedOutput(_) => "malformed_output",
            RuntimeError::InvalidPolicy(_) => "invalid_policy",
            RuntimeError::Engine(_) => "engine",
            RuntimeError::Audit(_) => "audit",
        }
    }
}
