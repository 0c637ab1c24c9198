//! Compiled modules, cached in memory and on disk.
//!
//! The key is blake2b-256 over the engine fingerprint (wasmer release, compiler, NaN setting, cost
//! table, ABI version), the import rule, the policy's memory cap and the module bytes as
//! submitted: everything inspection and compilation depend on, so a hit skips both. A
//! disk entry is `MAGIC | blake2b-256(artifact) | artifact`; an entry whose hash does not match,
//! or that wasmer refuses, is counted as corrupt, recompiled and rewritten. Entries are written
//! to a temporary file and renamed, so a crash never leaves a half-written entry under a key.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use platform_types::{Hash, blake2b_256, blake2b_256_parts};

use crate::engine::{Compiled, EngineConfig};
use crate::error::RuntimeError;
use crate::inspect::ImportRule;

const MAGIC: &[u8; 8] = b"PLTWASM1";
/// Compiled modules kept in memory (oldest evicted first).
pub const MEMORY_ENTRIES: usize = 256;

/// Counters of where compiled modules came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Served from memory.
    pub memory_hits: u64,
    /// Loaded from a valid disk entry.
    pub disk_hits: u64,
    /// Compiled from the module bytes.
    pub compiles: u64,
    /// Disk entries found corrupt (and replaced).
    pub corrupt: u64,
}

#[derive(Default)]
struct Counters {
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    compiles: AtomicU64,
    corrupt: AtomicU64,
}

#[derive(Default)]
struct Memory {
    entries: HashMap<Hash, Compiled>,
    order: VecDeque<Hash>,
}

pub(crate) struct ModuleCache {
    config: EngineConfig,
    /// `config.fingerprint()`, computed once.
    fingerprint: String,
    dir: Option<PathBuf>,
    memory: Mutex<Memory>,
    counters: Counters,
}

impl ModuleCache {
    pub(crate) fn new(config: EngineConfig, dir: Option<PathBuf>) -> Result<ModuleCache, RuntimeError> {
        if let Some(dir) = &dir {
            fs::create_dir_all(dir)
                .map_err(|e| RuntimeError::Engine(format!("cannot create module cache {}: {e}", dir.display())))?;
        }
        let fingerprint = config.fingerprint();
        Ok(ModuleCache {
            config,
            fingerprint,
            dir,
            memory: Mutex::new(Memory::default()),
            counters: Counters::default(),
        })
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            memory_hits: c.memory_hits.load(Ordering::Relaxed),
            disk_hits: c.disk_hits.load(Ordering::Relaxed),
            compiles: c.compiles.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
        }
    }

    /// The cache key of `wasm` loaded under `rule` with a memory cap of `memory_pages_max`.
    pub(crate) fn key(&self, wasm: &[u8], rule: ImportRule, memory_pages_max: u32) -> Hash {
        let rule_tag: &[u8] = match rule {
            ImportRule::Whitelist(_) => b"challenge",
            ImportRule::None => b"nested",
        };
        let cap = memory_pages_max.to_le_bytes();
        blake2b_256_parts(&[self.fingerprint.as_bytes(), &[0], rule_tag, &[0], &cap, wasm])
    }

    /// The path of the disk entry for `key`, if a cache directory is configured.
    pub(crate) fn entry_path(&self, key: &Hash) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{}.bin", hex::encode(key.as_bytes()))))
    }

    /// Returns the compiled module for `key`; on a miss, compiles the bytes `inspect` returns.
    pub(crate) fn get_or_compile(
        &self,
        key: Hash,
        inspect: impl FnOnce() -> Result<Vec<u8>, RuntimeError>,
    ) -> Result<Compiled, RuntimeError> {
        if let Some(hit) = self.lock().entries.get(&key) {
            self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.clone());
        }
        let compiled = match self.load_disk(&key) {
            Some(compiled) => compiled,
            None => {
                let compiled = self.config.compile(&inspect()?)?;
                self.counters.compiles.fetch_add(1, Ordering::Relaxed);
                self.store_disk(&key, &compiled);
                compiled
            }
        };
        let mut memory = self.lock();
        if memory.entries.insert(key, compiled.clone()).is_none() {
            memory.order.push_back(key);
        }
        while memory.order.len() > MEMORY_ENTRIES {
            if let Some(old) = memory.order.pop_front() {
                memory.entries.remove(&old);
            }
        }
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn load_disk(&self, key: &Hash) -> Option<Compiled> {
        let path = self.entry_path(key)?;
        let file = fs::read(&path).ok()?;
        let valid = file.len() > MAGIC.len() + 32
            && file.starts_with(MAGIC)
            && blake2b_256(&file[MAGIC.len() + 32..]).as_bytes()[..] == file[MAGIC.len()..MAGIC.len() + 32];
        let compiled = if valid { self.config.deserialize(&file[MAGIC.len() + 32..]).ok() } else { None };
        match compiled {
            Some(compiled) => {
                self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                Some(compiled)
            }
            None => {
                self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Best effort: a cache that cannot be written only costs a recompile next time.
    fn store_disk(&self, key: &Hash, compiled: &Compiled) {
        let (Some(path), Ok(artifact)) = (self.entry_path(key), compiled.serialize()) else { return };
        let mut file = Vec::with_capacity(MAGIC.len() + 32 + artifact.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(blake2b_256(&artifact).as_bytes());
        file.extend_from_slice(&artifact);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if fs::write(&tmp, &file).is_ok() && fs::rename(&tmp, &path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}
