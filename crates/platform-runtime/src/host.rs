//! The host-function whitelist, imported from the `platform` module (version 2 of the ABI added
//! none; version 3 added `params`; version 4 added `participation`).
//!
//! Every host function charges fuel before doing work, checks every guest pointer range, and
//! reports a bad call as [`RuntimeError::HostCall`], which ends the evaluation with that error.
//! Nothing here reads a clock, the environment or the file system.

use std::sync::Arc;

use platform_types::{PublicKey, Signature, blake2b_256, blake2b_256_parts};
use sha2::Digest;
use wasmer::{FunctionEnv, FunctionEnvMut, Imports, Instance, Memory, StoreMut};

use crate::error::RuntimeError;
use crate::nested::{self, NestedLimits};
use crate::runtime::Shared;

/// The import module name of every host function.
pub const IMPORT_MODULE: &str = "platform";

/// Names of the host functions (`params` since ABI version 3, `participation` since 4).
pub const HOST_FUNCTIONS: &[&str] = &[
    "log",
    "blake2b_256",
    "sha256",
    "sr25519_verify",
    "random_fill",
    "merkle_verify",
    "run_nested",
    "params",
    "participation",
];

/// At most this many log lines are kept per evaluation; later ones are counted, not stored.
pub const MAX_LOG_LINES: usize = 32;
/// Each log line is cut to this many bytes.
pub const MAX_LOG_LINE_BYTES: usize = 1024;
/// Longest merkle proof accepted (a tree of 2^64 leaves needs 64).
const MAX_PROOF_HASHES: u32 = 64;

/// Fuel charged by host functions (cost table version 1, see `docs/runtime-abi.md`).
mod cost {
    pub const CALL: u64 = 100;
    pub const PER_BYTE_HASHED: u64 = 2;
    pub const SR25519_VERIFY: u64 = 100_000;
    pub const MERKLE_LEVEL: u64 = 500;
    pub const NESTED_CALL: u64 = 10_000;
    pub const PER_BYTE_COPIED: u64 = 1;
}

/// Per-evaluation state the host functions work on.
pub(crate) struct HostEnv {
    pub memory: Option<Memory>,
    pub fuel: Option<FuelGlobals>,
    pub fuel_limit: u64,
    pub seed: [u8; 32],
    pub rng_counter: u64,
    pub logs: Vec<String>,
    pub logs_dropped: u32,
    pub host_calls: u32,
    /// Fuel used inside nested runs (already charged to this evaluation as well).
    pub nested_fuel: u64,
    /// `None` only for the throwaway environment used to check import signatures.
    pub nested: Option<(Arc<Shared>, NestedLimits)>,
    /// The challenge's parameters (`params`).
    pub params: Arc<[u8]>,
    /// For an epoch scorer's run, each answering miner's participation (`participation`).
    pub participation: Arc<Participation>,
}

/// Per miner hotkey, in which of the 32 epochs ending at the one scored it answered the
/// challenge: bit k set = it had an answer ordered in epoch `E - k`.
pub type Participation = std::collections::BTreeMap<[u8; 32], u32>;

impl HostEnv {
    pub(crate) fn new(seed: [u8; 32], fuel_limit: u64, nested: Option<(Arc<Shared>, NestedLimits)>) -> HostEnv {
        HostEnv {
            memory: None,
            fuel: None,
            fuel_limit,
            seed,
            rng_counter: 0,
            logs: Vec::new(),
            logs_dropped: 0,
            host_calls: 0,
            nested_fuel: 0,
            nested,
            params: Arc::from(&[][..]),
            participation: Arc::default(),
        }
    }
}

/// Builds the `platform` import object over `env` with the host functions in `names` (those the
/// module imports: creating a host function is most of an instantiation's cost).
pub(crate) fn imports<'a>(
    store: &mut wasmer::Store,
    env: &FunctionEnv<HostEnv>,
    names: impl IntoIterator<Item = &'a str>,
) -> Imports {
    use wasmer::Function;
    let mut imports = Imports::new();
    for name in names {
        let function = match name {
            "log" => Function::new_typed_with_env(store, env, log),
            "blake2b_256" => Function::new_typed_with_env(store, env, blake2b),
            "sha256" => Function::new_typed_with_env(store, env, sha256),
            "sr25519_verify" => Function::new_typed_with_env(store, env, sr25519_verify),
            "random_fill" => Function::new_typed_with_env(store, env, random_fill),
            "merkle_verify" => Function::new_typed_with_env(store, env, merkle_verify),
            "run_nested" => Function::new_typed_with_env(store, env, run_nested),
            "params" => Function::new_typed_with_env(store, env, params),
            "participation" => Function::new_typed_with_env(store, env, participation),
            _ => continue,
        };
        imports.define(IMPORT_MODULE, name, function);
    }
    imports
}

/// The module's fuel global (written in by [`crate::rewrite`]), looked up once per instance.
/// Negative means the budget ran out.
#[derive(Clone)]
pub(crate) struct FuelGlobals {
    remaining: wasmer::Global,
}

impl FuelGlobals {
    pub(crate) fn of(instance: &Instance) -> Option<FuelGlobals> {
        let remaining = instance.exports.get_global(crate::metering::FUEL_EXPORT).ok().cloned()?;
        Some(FuelGlobals { remaining })
    }

    /// Fuel left, or `None` once exhausted.
    pub(crate) fn remaining(&self, store: &mut impl wasmer::AsStoreMut) -> Option<u64> {
        self.remaining.get(store).i64().and_then(|left| u64::try_from(left).ok())
    }

    /// Sets the fuel left (budgets above `i64::MAX` are held at it).
    pub(crate) fn set(&self, store: &mut impl wasmer::AsStoreMut, fuel: u64) {
        // The global is mutable and an i64: this cannot fail.
        let _ = self.remaining.set(store, wasmer::Value::I64(i64::try_from(fuel).unwrap_or(i64::MAX)));
    }

    /// Marks the budget as spent.
    pub(crate) fn exhaust(&self, store: &mut impl wasmer::AsStoreMut) {
        let _ = self.remaining.set(store, wasmer::Value::I64(-1));
    }
}

/// A host call in progress: the environment, the store, and the function's name for errors.
struct Call<'a> {
    env: &'a mut HostEnv,
    store: StoreMut<'a>,
    function: &'static str,
}

impl<'a> Call<'a> {
    fn begin(
        ctx: &'a mut FunctionEnvMut<'_, HostEnv>,
        function: &'static str,
        fuel: u64,
    ) -> Result<Self, RuntimeError> {
        let (env, store) = ctx.data_and_store_mut();
        let mut call = Call { env, store, function };
        call.env.host_calls = call.env.host_calls.saturating_add(1);
        call.charge(fuel)?;
        Ok(call)
    }

    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, RuntimeError> {
        Err(RuntimeError::HostCall { function: self.function, reason: reason.into() })
    }

    /// Takes `fuel` from the guest's remaining budget, or ends the evaluation as out of fuel.
    fn charge(&mut self, fuel: u64) -> Result<(), RuntimeError> {
        let Some(globals) = self.env.fuel.clone() else {
            return self.fail("host called before the module was set up");
        };
        match globals.remaining(&mut self.store) {
            Some(left) if left >= fuel => {
                globals.set(&mut self.store, left - fuel);
                Ok(())
            }
            _ => {
                globals.exhaust(&mut self.store);
                Err(RuntimeError::OutOfFuel { limit: self.env.fuel_limit })
            }
        }
    }

    fn len(&self, len: i32) -> Result<usize, RuntimeError> {
        usize::try_from(len).or_else(|_| self.fail(format!("negative length {len}")))
    }

    fn read(&self, ptr: i32, len: usize) -> Result<Vec<u8>, RuntimeError> {
        let Some(memory) = &self.env.memory else { return self.fail("module has no memory") };
        let mut buf = vec![0; len];
        memory
            .view(&self.store)
            .read(u64::from(ptr as u32), &mut buf)
            .or_else(|_| self.fail(format!("range {ptr}+{len} lies outside the module's memory")))?;
        Ok(buf)
    }

    fn read_array<const N: usize>(&self, ptr: i32) -> Result<[u8; N], RuntimeError> {
        let bytes = self.read(ptr, N)?;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }

    fn write(&self, ptr: i32, data: &[u8]) -> Result<(), RuntimeError> {
        let Some(memory) = &self.env.memory else { return self.fail("module has no memory") };
        memory
            .view(&self.store)
            .write(u64::from(ptr as u32), data)
            .or_else(|_| self.fail(format!("range {ptr}+{} lies outside the module's memory", data.len())))
    }
}

fn log(mut ctx: FunctionEnvMut<HostEnv>, ptr: i32, len: i32) -> Result<(), RuntimeError> {
    let call = Call::begin(&mut ctx, "log", cost::CALL + len.max(0) as u64)?;
    let len = call.len(len)?.min(MAX_LOG_LINE_BYTES);
    let bytes = call.read(ptr, len)?;
    if call.env.logs.len() < MAX_LOG_LINES {
        call.env.logs.push(String::from_utf8_lossy(&bytes).into_owned());
    } else {
        call.env.logs_dropped = call.env.logs_dropped.saturating_add(1);
    }
    Ok(())
}

fn hash_with(
    ctx: &mut FunctionEnvMut<HostEnv>,
    function: &'static str,
    (ptr, len, out): (i32, i32, i32),
    hash: fn(&[u8]) -> [u8; 32],
) -> Result<(), RuntimeError> {
    let fuel = cost::CALL + cost::PER_BYTE_HASHED * len.max(0) as u64;
    let call = Call::begin(ctx, function, fuel)?;
    let data = call.read(ptr, call.len(len)?)?;
    call.write(out, &hash(&data))
}

fn blake2b(mut ctx: FunctionEnvMut<HostEnv>, ptr: i32, len: i32, out: i32) -> Result<(), RuntimeError> {
    hash_with(&mut ctx, "blake2b_256", (ptr, len, out), |d| *blake2b_256(d).as_bytes())
}

fn sha256(mut ctx: FunctionEnvMut<HostEnv>, ptr: i32, len: i32, out: i32) -> Result<(), RuntimeError> {
    hash_with(&mut ctx, "sha256", (ptr, len, out), |d| sha2::Sha256::digest(d).into())
}

/// Returns 1 when the 64-byte signature at `sig` is valid for the message under the 32-byte
/// public key at `pk` (signing context `substrate`, as Polkadot wallets sign), else 0.
fn sr25519_verify(
    mut ctx: FunctionEnvMut<HostEnv>,
    pk: i32,
    msg: i32,
    msg_len: i32,
    sig: i32,
) -> Result<i32, RuntimeError> {
    let call = Call::begin(&mut ctx, "sr25519_verify", cost::SR25519_VERIFY + msg_len.max(0) as u64)?;
    let public = PublicKey::from_bytes(call.read_array(pk)?);
    let signature = Signature::from_bytes(call.read_array(sig)?);
    let message = call.read(msg, call.len(msg_len)?)?;
    Ok(i32::from(public.verify_raw(&message, &signature).is_ok()))
}

/// Copies the challenge's parameters (its `ChallengeSpec::params`, as the owner signed them) to
/// `out`, at most `cap` bytes, and returns their whole length: called with `cap` 0 first, it
/// tells the guest how much room to make. Charged per byte copied.
fn params(mut ctx: FunctionEnvMut<HostEnv>, out: i32, cap: i32) -> Result<i32, RuntimeError> {
    let mut call = Call::begin(&mut ctx, "params", cost::CALL)?;
    let cap = call.len(cap)?;
    let params = Arc::clone(&call.env.params);
    let copied = params.len().min(cap);
    call.charge(cost::PER_BYTE_COPIED * copied as u64)?;
    call.write(out, &params[..copied])?;
    // At most `MAX_PARAMS_BYTES` (4 KiB): fits an i32.
    Ok(params.len() as i32)
}

/// In an epoch scorer's run, the participation of the miner whose 32-byte hotkey is at `miner`
/// in the 32 epochs ending at the one scored (bit k: it had an answer ordered in epoch E - k);
/// -1 for a hotkey with no answer in the run, and in every other run.
fn participation(mut ctx: FunctionEnvMut<HostEnv>, miner: i32) -> Result<i64, RuntimeError> {
    let call = Call::begin(&mut ctx, "participation", cost::CALL)?;
    let miner: [u8; 32] = call.read_array(miner)?;
    Ok(call.env.participation.get(&miner).map_or(-1, |bits| i64::from(*bits)))
}

/// Fills `len` bytes at `out` from the evaluation's seeded stream:
/// block i = blake2b-256("platform/rng/v1" | seed | i as u64 LE), consumed in order across calls.
fn random_fill(mut ctx: FunctionEnvMut<HostEnv>, out: i32, len: i32) -> Result<(), RuntimeError> {
    let call = Call::begin(&mut ctx, "random_fill", cost::CALL + cost::PER_BYTE_HASHED * len.max(0) as u64)?;
    let len = call.len(len)?;
    let mut bytes = Vec::with_capacity(len.next_multiple_of(32));
    while bytes.len() < len {
        let counter = call.env.rng_counter.to_le_bytes();
        call.env.rng_counter += 1;
        bytes.extend_from_slice(blake2b_256_parts(&[b"platform/rng/v1", &call.env.seed, &counter]).as_bytes());
    }
    bytes.truncate(len);
    call.write(out, &bytes)
}

/// Returns 1 when the proof at `proof` (`proof_len` 32-byte sibling hashes, bottom-up) shows
/// that the 32-byte leaf at `leaf` sits at `index` of a tree of `leaf_count` leaves with the
/// 32-byte root at `root`, else 0. The tree is defined in `docs/runtime-abi.md`.
fn merkle_verify(
    mut ctx: FunctionEnvMut<HostEnv>,
    root: i32,
    leaf: i32,
    index: i64,
    leaf_count: i64,
    proof: i32,
    proof_len: i32,
) -> Result<i32, RuntimeError> {
    let levels = proof_len.clamp(0, MAX_PROOF_HASHES as i32) as u64;
    let call = Call::begin(&mut ctx, "merkle_verify", cost::CALL + cost::MERKLE_LEVEL * (levels + 1))?;
    let proof_len = call.len(proof_len)?;
    if proof_len > MAX_PROOF_HASHES as usize {
        return call.fail(format!("proof of {proof_len} hashes; at most {MAX_PROOF_HASHES}"));
    }
    let root: [u8; 32] = call.read_array(root)?;
    let leaf: [u8; 32] = call.read_array(leaf)?;
    let siblings = call.read(proof, proof_len * 32)?;
    let (Ok(index), Ok(count)) = (u64::try_from(index), u64::try_from(leaf_count)) else { return Ok(0) };
    let siblings: Vec<[u8; 32]> = siblings.chunks_exact(32).map(|c| c.try_into().unwrap_or([0; 32])).collect();
    Ok(i32::from(platform_challenge_sdk::merkle::verify(&root, &leaf, index, count, &siblings)))
}

/// Runs a module from guest memory in the nested sandbox. Writes 16 bytes at `result`:
/// `status u32 | output_len u32 | fuel_used u64` and the output at `out` (at most `out_cap`
/// bytes); returns the status (see [`nested::Status`]). The nested run's fuel is charged to the
/// caller as well, so an evaluation's total work stays within its own fuel limit.
#[allow(clippy::too_many_arguments)]
fn run_nested(
    mut ctx: FunctionEnvMut<HostEnv>,
    module: i32,
    module_len: i32,
    input: i32,
    input_len: i32,
    fuel: i64,
    out: i32,
    out_cap: i32,
    result: i32,
) -> Result<i32, RuntimeError> {
    let mut call = Call::begin(&mut ctx, "run_nested", cost::NESTED_CALL + module_len.max(0) as u64)?;
    let Some((shared, limits)) = call.env.nested.clone() else {
        return call.fail("nested runs are not available here");
    };
    if limits.fuel_limit == 0 {
        return call.fail("the challenge's policy does not allow nested runs (nested_fuel_limit = 0)");
    }
    let (module_len, input_len, out_cap) = (call.len(module_len)?, call.len(input_len)?, call.len(out_cap)?);
    if input_len > limits.max_input_bytes as usize || module_len > limits.max_input_bytes as usize {
        return call.fail(format!("module or input larger than the policy's {} bytes", limits.max_input_bytes));
    }
    let wasm = call.read(module, module_len)?;
    let data = call.read(input, input_len)?;
    let budget = u64::try_from(fuel).unwrap_or(0).min(limits.fuel_limit);
    let ran = nested::run(&shared, &wasm, &data, budget, out_cap as u32, &limits)?;
    call.charge(ran.fuel_used)?;
    call.env.nested_fuel = call.env.nested_fuel.saturating_add(ran.fuel_used);
    call.write(out, &ran.output)?;
    let mut header = Vec::with_capacity(16);
    header.extend_from_slice(&(ran.status as u32).to_le_bytes());
    header.extend_from_slice(&(ran.output.len() as u32).to_le_bytes());
    header.extend_from_slice(&ran.fuel_used.to_le_bytes());
    call.write(result, &header)?;
    Ok(ran.status as i32)
}
