//! The wasmer engine configuration: compiler, metering, features, determinism settings.

use std::sync::Arc;

use wasmer::sys::{CompilerConfig, Cranelift, CraneliftOptLevel, EngineBuilder, Features};
use wasmer::wasmparser::Operator;
use wasmer::{Engine, Module};
use wasmer_middlewares::Metering;

use crate::error::RuntimeError;

/// The wasmer release compiled code comes from: part of the module cache key. A test checks it
/// against `Cargo.lock`, so upgrading wasmer without changing it fails the build's tests.
pub const WASMER_VERSION: &str = "7.4.2";

/// Version of the fuel cost table below; part of the cache key and of the ABI document, because
/// changing a cost changes every module's fuel figures.
pub const COST_TABLE_VERSION: u32 = 1;

/// The code generator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift, optimising: the production choice (`docs/runtime-abi.md` has the measurements).
    #[default]
    Cranelift,
    /// Singlepass: fast to compile, slower code. Built only with the `singlepass` feature, for
    /// the benchmark that justifies the choice.
    #[cfg(feature = "singlepass")]
    Singlepass,
}

/// How modules are compiled. Every validator must use the same configuration: fuel figures and
/// float results depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// The code generator.
    pub compiler: Compiler,
    /// Canonicalise NaNs after every float operation (cranelift's option). Keeps float code
    /// bit-identical across CPU architectures, at a cost for float-heavy code; see
    /// `docs/runtime-abi.md` for why it stays on and how challenges avoid paying for it.
    pub canonicalize_nans: bool,
    /// Let cranelift optimise for speed (`true`) or compile fast (`false`).
    pub optimise: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { compiler: Compiler::Cranelift, canonicalize_nans: true, optimise: true }
    }
}

impl EngineConfig {
    /// A string naming everything that changes compiled code: part of the module cache key.
    pub fn fingerprint(&self) -> String {
        format!(
            "wasmer-{WASMER_VERSION}/{:?}/nan={}/opt={}/cost-v{COST_TABLE_VERSION}/abi-v{}",
            self.compiler,
            self.canonicalize_nans,
            self.optimise,
            crate::abi::ABI_VERSION
        )
    }

    fn builder(&self) -> EngineBuilder {
        // One metering middleware per compiled module: it records the module's fuel globals.
        let metering = Arc::new(Metering::new(0, fuel_cost));
        match self.compiler {
            Compiler::Cranelift => {
                let mut compiler = Cranelift::default();
                compiler.canonicalize_nans(self.canonicalize_nans);
                compiler.opt_level(if self.optimise { CraneliftOptLevel::Speed } else { CraneliftOptLevel::None });
                compiler.push_middleware(metering);
                EngineBuilder::new(compiler).set_features(Some(engine_features()))
            }
            #[cfg(feature = "singlepass")]
            Compiler::Singlepass => {
                let mut compiler = wasmer::sys::Singlepass::default();
                compiler.canonicalize_nans(self.canonicalize_nans);
                compiler.push_middleware(metering);
                EngineBuilder::new(compiler).set_features(Some(engine_features()))
            }
        }
    }

    /// Compiles (already inspected) module bytes.
    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<Compiled, RuntimeError> {
        let engine: Engine = self.builder().engine().into();
        let module = Module::new(&engine, bytes).map_err(|e| RuntimeError::InvalidModule(e.to_string()))?;
        Ok(Compiled { engine, module })
    }

    /// Loads a module serialized by [`Compiled::serialize`] under the same configuration.
    ///
    /// The caller must have checked the bytes' integrity (the module cache stores a blake2b hash
    /// of them and refuses any entry that does not match).
    #[allow(unsafe_code)]
    pub(crate) fn deserialize(&self, artifact: &[u8]) -> Result<Compiled, RuntimeError> {
        let engine: Engine = self.builder().engine().into();
        // SAFETY: wasmer requires the bytes to be an artifact produced by `Module::serialize`.
        // They are: the cache only hands over entries it wrote itself, keyed by this engine
        // configuration's fingerprint and verified against the blake2b hash written with them.
        let module = unsafe { Module::deserialize(&engine, artifact.to_vec()) }
            .map_err(|e| RuntimeError::Engine(format!("cached module: {e}")))?;
        Ok(Compiled { engine, module })
    }
}

/// A compiled module with the engine it belongs to.
#[derive(Clone)]
pub(crate) struct Compiled {
    pub engine: Engine,
    pub module: Module,
}

impl Compiled {
    pub(crate) fn serialize(&self) -> Result<Vec<u8>, RuntimeError> {
        self.module.serialize().map(|b| b.to_vec()).map_err(|e| RuntimeError::Engine(e.to_string()))
    }
}

fn engine_features() -> Features {
    let mut features = Features::none();
    features
        .bulk_memory(true)
        .reference_types(true)
        .multi_value(true)
        .simd(false)
        .relaxed_simd(false)
        .threads(false)
        .memory64(false)
        .multi_memory(false)
        .exceptions(false)
        .tail_call(false);
    features
}

/// Fuel charged per operator (cost table version 1). One unit per instruction, with surcharges
/// for the operators whose host-side work does not scale with the instruction count.
fn fuel_cost(op: &Operator) -> u64 {
    match op {
        Operator::MemoryGrow { .. } | Operator::TableGrow { .. } => 10_000,
        Operator::MemoryFill { .. }
        | Operator::MemoryCopy { .. }
        | Operator::MemoryInit { .. }
        | Operator::TableFill { .. }
        | Operator::TableCopy { .. }
        | Operator::TableInit { .. } => 1_000,
        Operator::Call { .. } | Operator::CallIndirect { .. } => 5,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_names_the_wasmer_release_in_cargo_lock() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).expect("Cargo.lock");
        let wasmer = lock.split("[[package]]").find(|p| p.contains("name = \"wasmer\"\n")).expect("wasmer in the lock");
        assert!(wasmer.contains(&format!("version = \"{WASMER_VERSION}\"")), "bump WASMER_VERSION: {wasmer}");
        assert!(EngineConfig::default().fingerprint().contains(WASMER_VERSION));
    }

    #[test]
    fn every_setting_changes_the_fingerprint() {
        let base = EngineConfig::default();
        let variants = [EngineConfig { canonicalize_nans: false, ..base }, EngineConfig { optimise: false, ..base }];
        for variant in variants {
            assert_ne!(variant.fingerprint(), base.fingerprint());
        }
    }
}
