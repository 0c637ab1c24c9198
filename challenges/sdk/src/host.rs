//! Safe wrappers over the host functions (version 2 of the ABI added none; version 3 added
//! `params`).
//!
//! Off wasm32 (native tests, miner tools) the pure functions fall back to native code with the
//! same results; functions that need the validator (`random_fill`, `sr25519_verify`,
//! `run_nested`) exist on wasm32 only, or report that they are unavailable.

use alloc::vec::Vec;

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "platform")]
    unsafe extern "C" {
        pub fn log(ptr: *const u8, len: usize);
        pub fn blake2b_256(ptr: *const u8, len: usize, out: *mut u8);
        pub fn sha256(ptr: *const u8, len: usize, out: *mut u8);
        pub fn sr25519_verify(pk: *const u8, msg: *const u8, msg_len: usize, sig: *const u8) -> i32;
        pub fn random_fill(out: *mut u8, len: usize);
        pub fn merkle_verify(
            root: *const u8,
            leaf: *const u8,
            index: i64,
            leaf_count: i64,
            proof: *const u8,
            proof_len: usize,
        ) -> i32;
        pub fn run_nested(
            module: *const u8,
            module_len: usize,
            input: *const u8,
            input_len: usize,
            fuel: i64,
            out: *mut u8,
            out_cap: usize,
            result: *mut u8,
        ) -> i32;
        pub fn params(out: *mut u8, cap: usize) -> usize;
        pub fn participation(miner: *const u8) -> i64;
    }
}

/// The challenge's parameters as the owner registered them with it (`ChallengeSpec::params`,
/// at most 4 KiB; empty when none were given): settings the challenge defines, such as its
/// scoring exponents. Natively (tests, miner tools) there are none.
pub fn params() -> Vec<u8> {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: with a capacity of 0 the host writes nothing; it returns the whole length.
        let len = unsafe { imports::params(core::ptr::null_mut(), 0) };
        let mut out = alloc::vec![0u8; len];
        // SAFETY: the host writes at most `len` bytes to `out`, which holds `len`.
        unsafe { imports::params(out.as_mut_ptr(), len) };
        out
    }
    #[cfg(not(target_arch = "wasm32"))]
    Vec::new()
}

/// In an epoch scorer's run, in which of the 32 epochs ending at the one scored `miner` had an
/// answer to this challenge ordered: bit k set for epoch `E - k` (bit 0 is always set for a
/// miner that answers in E). `None` for a hotkey with no answer in the run, in a
/// per-submission evaluation, and natively (tests and tools pass their own).
pub fn participation(miner: &[u8; 32]) -> Option<u32> {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the host reads 32 bytes at the pointer, which `miner` holds.
        let bits = unsafe { imports::participation(miner.as_ptr()) };
        u32::try_from(bits).ok()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = miner;
        None
    }
}

/// Writes a line to the evaluation's log (kept in the validator's audit summary). No-op natively.
pub fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the host reads `len` bytes at `ptr`, which belong to `message`.
    unsafe {
        imports::log(message.as_ptr(), message.len())
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}

/// blake2b-256 of `data`.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    #[cfg(target_arch = "wasm32")]
    {
        let mut out = [0u8; 32];
        // SAFETY: the host reads `data` and writes exactly 32 bytes to `out`.
        unsafe { imports::blake2b_256(data.as_ptr(), data.len(), out.as_mut_ptr()) };
        out
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use blake2::Digest;
        blake2::Blake2b::<blake2::digest::consts::U32>::digest(data).into()
    }
}

/// blake2b-256 over several byte strings, as if concatenated.
pub fn blake2b_256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut joined = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        joined.extend_from_slice(part);
    }
    blake2b_256(&joined)
}

/// SHA-256 of `data` (wasm32 only).
#[cfg(target_arch = "wasm32")]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: the host reads `data` and writes exactly 32 bytes to `out`.
    unsafe { imports::sha256(data.as_ptr(), data.len(), out.as_mut_ptr()) };
    out
}

/// Whether `signature` is a valid sr25519 signature of `message` by `public_key` (signing
/// context `substrate`). wasm32 only.
#[cfg(target_arch = "wasm32")]
pub fn sr25519_verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    // SAFETY: the host reads 32, `message.len()` and 64 bytes from the three pointers.
    unsafe { imports::sr25519_verify(public_key.as_ptr(), message.as_ptr(), message.len(), signature.as_ptr()) == 1 }
}

/// Fills `out` from the evaluation's seeded random stream (wasm32 only). Deterministic: every
/// validator gets the same bytes. [`crate::rng::Rng`] is a pure alternative that also runs natively.
#[cfg(target_arch = "wasm32")]
pub fn random_fill(out: &mut [u8]) {
    // SAFETY: the host writes exactly `out.len()` bytes to `out`.
    unsafe { imports::random_fill(out.as_mut_ptr(), out.len()) }
}

/// Whether `proof` places `leaf` at `index` of a tree of `leaf_count` leaves with `root`
/// (the tree of [`crate::merkle`]).
pub fn merkle_verify(root: &[u8; 32], leaf: &[u8; 32], index: u64, leaf_count: u64, proof: &[[u8; 32]]) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        let (Ok(index), Ok(count)) = (i64::try_from(index), i64::try_from(leaf_count)) else { return false };
        // SAFETY: the host reads 32 bytes each from root and leaf and 32 * len bytes of proof.
        unsafe {
            imports::merkle_verify(root.as_ptr(), leaf.as_ptr(), index, count, proof.as_ptr().cast(), proof.len()) == 1
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::merkle::verify(root, leaf, index, leaf_count, proof)
    }
}

/// How a nested run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedStatus {
    /// Returned normally.
    Ok,
    /// Used its whole fuel budget.
    OutOfFuel,
    /// Trapped.
    Trap,
    /// Not a valid nested module.
    InvalidModule,
    /// Returned more than the output buffer holds.
    OutputTooLarge,
    /// Hit the memory cap.
    MemoryLimit,
    /// Nested runs need the validator's runtime (native builds).
    Unavailable,
}

/// The result of [`run_nested`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedRun {
    /// How it ended.
    pub status: NestedStatus,
    /// Fuel it used (a deterministic measure of its speed).
    pub fuel_used: u64,
    /// Its output (empty unless `status` is `Ok`).
    pub output: Vec<u8>,
}

/// Runs a miner's WASM module in the nested sandbox with `input`, at most `fuel` fuel (further
/// capped by the challenge's policy) and at most `out_cap` output bytes.
pub fn run_nested(module: &[u8], input: &[u8], fuel: u64, out_cap: usize) -> NestedRun {
    #[cfg(target_arch = "wasm32")]
    {
        let mut output = alloc::vec![0u8; out_cap];
        let mut result = [0u8; 16];
        // SAFETY: the host reads the module and input, writes at most `out_cap` bytes to
        // `output` and exactly 16 bytes to `result`.
        let status = unsafe {
            imports::run_nested(
                module.as_ptr(),
                module.len(),
                input.as_ptr(),
                input.len(),
                i64::try_from(fuel).unwrap_or(i64::MAX),
                output.as_mut_ptr(),
                out_cap,
                result.as_mut_ptr(),
            )
        };
        let len = u32::from_le_bytes([result[4], result[5], result[6], result[7]]) as usize;
        let mut fuel_used = [0u8; 8];
        fuel_used.copy_from_slice(&result[8..16]);
        output.truncate(len.min(out_cap));
        let status = match status {
            0 => NestedStatus::Ok,
            1 => NestedStatus::OutOfFuel,
            2 => NestedStatus::Trap,
            3 => NestedStatus::InvalidModule,
            4 => NestedStatus::OutputTooLarge,
            _ => NestedStatus::MemoryLimit,
        };
        NestedRun { status, fuel_used: u64::from_le_bytes(fuel_used), output }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (module, input, fuel, out_cap);
        NestedRun { status: NestedStatus::Unavailable, fuel_used: 0, output: Vec::new() }
    }
}
