//! NaN canonicalisation where NaN bits become observable, written into function bodies.
//!
//! WebAssembly leaves the sign and payload of a NaN produced by arithmetic to the CPU, so they
//! differ between architectures. A module can only see those bits in three ways: storing the float
//! to memory, reinterpreting it as an integer, or copying its sign with `copysign`. Comparisons,
//! conversions (NaN traps or saturates the same everywhere), locals, globals and calls carry a NaN
//! without revealing its bits, and the ABI passes only integers to and from the host. So instead
//! of canonicalising after every float operation (cranelift's option, which slows float code by
//! about a fifth), the rewrite canonicalises the float on top of the stack just before each of
//! those operators: every NaN a module can observe is `0x7FC0_0000` (f32) or
//! `0x7FF8_0000_0000_0000` (f64), on every machine. A consequence documented in the ABI: a NaN
//! loaded from memory and stored again as a float comes back canonical, not bit-for-bit.

use wasm_encoder::{Function, Ieee32, Ieee64};
use wasmparser::Operator;

/// Canonical f32 NaN bits.
pub const CANONICAL_F32: u32 = 0x7FC0_0000;
/// Canonical f64 NaN bits.
pub const CANONICAL_F64: u64 = 0x7FF8_0000_0000_0000;

/// One scratch local of each float type, appended to every function.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scratch {
    pub f32: u32,
    pub f64: u32,
}

/// Refuses float SIMD operators: a vector holding a NaN could be stored or reinterpreted lane by
/// lane, and canonicalising vectors would cost what float SIMD gains. Integer SIMD is exact.
pub(crate) fn check_simd(op: &Operator, name: &mut String) -> Result<(), String> {
    use std::fmt::Write;
    name.clear();
    let _ = write!(name, "{op:?}");
    if name.contains("F32x4") || name.contains("F64x2") {
        let shown = name.split([' ', '{']).next().unwrap_or_default();
        return Err(format!(
            "float SIMD operator {shown} is not allowed (its NaN bits are not deterministic); integer SIMD is"
        ));
    }
    Ok(())
}

/// Emits, before `op`, the canonicalisation of the float operand whose bits `op` reveals.
pub(crate) fn canonicalise_before(op: &Operator, f: &mut Function, scratch: Scratch) {
    match op {
        Operator::F32Store { .. } | Operator::I32ReinterpretF32 | Operator::F32Copysign => {
            // x == x is false only for NaN: select(x, NaN, x == x).
            f.instructions()
                .local_set(scratch.f32)
                .local_get(scratch.f32)
                .f32_const(Ieee32::new(CANONICAL_F32))
                .local_get(scratch.f32)
                .local_get(scratch.f32)
                .f32_eq()
                .select();
        }
        Operator::F64Store { .. } | Operator::I64ReinterpretF64 | Operator::F64Copysign => {
            f.instructions()
                .local_set(scratch.f64)
                .local_get(scratch.f64)
                .f64_const(Ieee64::new(CANONICAL_F64))
                .local_get(scratch.f64)
                .local_get(scratch.f64)
                .f64_eq()
                .select();
        }
        _ => {}
    }
}
