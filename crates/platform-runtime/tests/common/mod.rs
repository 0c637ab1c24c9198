//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use platform_runtime::{EvalInput, Runtime, RuntimeOptions};
use platform_types::RuntimePolicy;

/// The example challenges' WASM, built by `challenges/build.sh` (run here once if missing).
pub fn challenge(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../challenges/dist");
    let path = dist.join(format!("{name}.wasm"));
    if !path.exists() {
        BUILT.get_or_init(|| {
            let script = dist.join("../build.sh");
            let status = Command::new("bash").arg(&script).status().expect("run challenges/build.sh");
            assert!(status.success(), "challenges/build.sh failed; run it by hand to see why");
        });
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run challenges/build.sh)", path.display()))
}

/// A module from WebAssembly text.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

/// A runtime without a disk cache or audit log.
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions::default()).expect("runtime")
}

/// A tight policy so that hostile modules hit their limits quickly.
pub fn policy() -> RuntimePolicy {
    RuntimePolicy {
        fuel_limit: 50_000_000,
        memory_pages_max: 64,
        deadline_ms: 5_000,
        max_input_bytes: 1 << 20,
        max_output_bytes: 4096,
        nested_fuel_limit: 10_000_000,
    }
}

/// An input with a fixed seed.
pub fn input(payload: &[u8]) -> EvalInput {
    EvalInput { seed: [7; 32], epoch: 3, miner: [1; 32], commitment: None, payload: payload.to_vec() }
}

/// A complete challenge module in WAT whose `platform_evaluate` runs `body` first, then returns
/// the verdict "scored 42 ppb" stored at offset 2048. `extra` adds imports or functions.
pub fn module_with(extra: &str, body: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
          {extra}
          (memory (export "memory") 1)
          (data (i32.const 2048) "\00\2a\00\00\00\00\00\00\00")
          (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "platform_evaluate") (param i32 i32) (result i64)
            {body}
            i64.const 0x80000000009))"#
    ))
}

/// A well-behaved module: scores 42 ppb.
pub fn good_module() -> Vec<u8> {
    module_with("", "")
}
