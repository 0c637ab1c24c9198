//! The wasmer engine configuration: compiler, features, determinism settings.

use wasmer::sys::{Cranelift, CraneliftOptLevel, EngineBuilder, Features};
use wasmer::{Engine, Module};

use crate::error::RuntimeError;

/// The wasmer release compiled code comes from: part of the module cache key. A test checks it
/// against `Cargo.lock`, so upgrading wasmer without changing it fails the build's tests.
pub const WASMER_VERSION: &str = "7.4.2";

/// Version of the rewrite every module goes through before compilation (`rewrite.rs`: the fuel
/// cost table and where fuel is charged, where NaNs are canonicalised); part of the cache key and
/// of the ABI document, because changing it changes fuel figures and compiled code. Version 1
/// was wasmer's metering middleware with a fuel global charged at every branch; version 2 keeps
/// fuel in a local per function and canonicalises NaNs only where their bits are observable;
/// version 3 has the run after a loop paid by the run entering the loop; version 4 charges bulk
/// memory and table operators by their length.
pub const REWRITE_VERSION: u32 = 4;

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
    /// Also canonicalise NaNs after every float operation (cranelift's option). Off by default:
    /// the rewrite already canonicalises every NaN a module can observe (`nan.rs`), which is what
    /// determinism needs; this setting exists for the benchmark that measures what it would cost.
    pub canonicalize_nans: bool,
    /// Let cranelift optimise for speed (`true`) or compile fast (`false`).
    pub optimise: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { compiler: Compiler::Cranelift, canonicalize_nans: false, optimise: true }
    }
}

impl EngineConfig {
    /// A string naming everything that changes compiled code: part of the module cache key.
    pub fn fingerprint(&self) -> String {
        format!(
            "wasmer-{WASMER_VERSION}/{:?}/nan={}/opt={}/rewrite-v{REWRITE_VERSION}/abi-v{}",
            self.compiler,
            self.canonicalize_nans,
            self.optimise,
            crate::abi::ABI_VERSION
        )
    }

    fn builder(&self) -> EngineBuilder {
        match self.compiler {
            Compiler::Cranelift => {
                let mut compiler = Cranelift::default();
                compiler.canonicalize_nans(self.canonicalize_nans);
                compiler.opt_level(if self.optimise { CraneliftOptLevel::Speed } else { CraneliftOptLevel::None });
                EngineBuilder::new(compiler).set_features(Some(engine_features()))
            }
            #[cfg(feature = "singlepass")]
            Compiler::Singlepass => {
                let mut compiler = wasmer::sys::Singlepass::default();
                compiler.canonicalize_nans(self.canonicalize_nans);
                EngineBuilder::new(compiler).set_features(Some(engine_features()))
            }
        }
    }

    /// A wasmer engine for this configuration; on Linux its instances take their memories
    /// from the pool (`memory_pool.rs`).
    fn engine(&self) -> Engine {
        #[allow(unused_mut)]
        let mut engine = self.builder().engine();
        #[cfg(target_os = "linux")]
        engine.set_tunables(crate::memory_pool::PooledTunables);
        engine.into()
    }

    /// Compiles (already inspected) module bytes.
    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<Compiled, RuntimeError> {
        let engine = self.engine();
        let module = Module::new(&engine, bytes).map_err(|e| RuntimeError::InvalidModule(e.to_string()))?;
        Ok(Compiled { engine, module })
    }

    /// Loads a module serialized by [`Compiled::serialize`] under the same configuration.
    ///
    /// The caller must have checked the bytes' integrity (the module cache stores a blake2b hash
    /// of them and refuses any entry that does not match).
    #[allow(unsafe_code)]
    pub(crate) fn deserialize(&self, artifact: &[u8]) -> Result<Compiled, RuntimeError> {
        let engine = self.engine();
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
        .simd(true)
        .relaxed_simd(false)
        .threads(false)
        .memory64(false)
        .multi_memory(false)
        .exceptions(false)
        .tail_call(false);
    features
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
        let variants = [EngineConfig { canonicalize_nans: true, ..base }, EngineConfig { optimise: false, ..base }];
        for variant in variants {
            assert_ne!(variant.fingerprint(), base.fingerprint());
        }
    }
}
