//! NaN canonicalisation where NaN bits become observable, written into function bodies.
//!
//! WebAssembly leaves the sign and payload of a NaN produced by arithmetic to the CPU, so they
//! differ between architectures. A module can only see those bits in three ways: storing the float
//! to memory, reinterpreting it as an integer, or copying its sign with `copysign`. Comparisons,
//! conversions (NaN traps or saturates the same everywhere), locals, globals and calls carry a NaN
//! without revealing its bits, and the ABI passes only integers to and from the host. So instead
//! of canonicalising after every float operation (cranelift's option, which made the f64 benchmark
//! kernel 5.5× slower, `docs/benchmarks.md`), the rewrite canonicalises the float on top of the stack just before each of
//! those operators: every NaN a module can observe is `0x7FC0_0000` (f32) or
//! `0x7FF8_0000_0000_0000` (f64), on every machine. A consequence documented in the ABI: a NaN
//! loaded from memory and stored again as a float comes back canonical, not bit-for-bit.

use wasm_encoder::{Function, Ieee32, Ieee64, Instruction};
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
pub(crate) fn check_simd(op: &Operator) -> Result<(), String> {
    match simd_name(op) {
        Some(name) if name.contains("F32x4") || name.contains("F64x2") => Err(format!(
            "float SIMD operator {name} is not allowed (its NaN bits are not deterministic); integer SIMD is"
        )),
        _ => Ok(()),
    }
}

/// The variant name of a SIMD operator, `None` for any other operator.
fn simd_name(op: &Operator) -> Option<&'static str> {
    macro_rules! name_of_simd_operator {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $( Operator::$op { .. } => Some(stringify!($op)), )*
                _ => None,
            }
        };
    }
    wasmparser::for_each_visit_simd_operator!(name_of_simd_operator)
}

/// Emits, before `op`, the canonicalisation of the float operand whose bits `op` reveals.
pub(crate) fn canonicalise_before(op: &Operator, f: &mut Function, scratch: Scratch) {
    match op {
        Operator::F32Store { .. } | Operator::I32ReinterpretF32 | Operator::F32Copysign => {
            canonicalise_top(f, scratch.f32, Instruction::F32Const(Ieee32::new(CANONICAL_F32)), Instruction::F32Eq);
        }
        Operator::F64Store { .. } | Operator::I64ReinterpretF64 | Operator::F64Copysign => {
            canonicalise_top(f, scratch.f64, Instruction::F64Const(Ieee64::new(CANONICAL_F64)), Instruction::F64Eq);
        }
        _ => {}
    }
}

/// Replaces the float on top of the stack by `nan` if it is a NaN (x == x is false only for
/// NaN): `select(x, nan, x == x)`, with `scratch` a local of the float's type.
fn canonicalise_top(f: &mut Function, scratch: u32, nan: Instruction<'_>, eq: Instruction<'_>) {
    let get = Instruction::LocalGet(scratch);
    for instruction in [Instruction::LocalSet(scratch), get.clone(), nan, get.clone(), get, eq, Instruction::Select] {
        f.instruction(&instruction);
    }
}
