use super::*;
use wasmer::{Instance, Module as Compiled, Store, Value, imports};

/// Rewrites `wat`, runs its export `run` with `fuel`, and returns (result, fuel left).
fn run(wat: &str, fuel: i64, args: &[Value]) -> (Result<Box<[Value]>, String>, i64) {
    let bytes = rewrite(&wat::parse_str(wat).expect("wat"), 16).expect("rewrite");
    wasmparser::Validator::new().validate_all(&bytes).expect("the rewrite is valid WebAssembly");
    let mut store = Store::default();
    let module = Compiled::new(&store, bytes).expect("compile");
    let instance = Instance::new(&mut store, &module, &imports! {}).expect("instance");
    let global = instance.exports.get_global(FUEL_EXPORT).expect("fuel global").clone();
    global.set(&mut store, Value::I64(fuel)).expect("set");
    let result = instance.exports.get_function("run").expect("run").call(&mut store, args);
    let left = global.get(&mut store).i64().expect("i64");
    (result.map_err(|e| e.message()), left)
}

#[test]
fn straight_line_code_costs_one_per_operator() {
    // i32.const, i32.const, i32.add, end: 4.
    let (result, left) =
        run(r#"(module (func (export "run") (result i32) i32.const 1 i32.const 2 i32.add))"#, 100, &[]);
    assert_eq!(result.expect("runs")[0], Value::I32(3));
    assert_eq!(left, 96);
}

/// Hole: bulk operators cost a flat 1 000 whatever their length, so for such code the
/// wall-clock deadline, not fuel, was the limit. Since version 4 they pay by length too.
#[test]
fn bulk_memory_and_table_operators_are_charged_by_length() {
    // i32.const ×3, memory.fill (1 000), end: 1 004; plus the length: 1 unit per 8 bytes.
    let fill = r#"(module (memory 16) (func (export "run") (param $n i32)
        (memory.fill (i32.const 0) (i32.const 7) (local.get $n))))"#;
    for n in [0u32, 8, 4096, 1 << 20] {
        let (result, left) = run(fill, 10_000_000, &[Value::I32(n as i32)]);
        result.expect("runs");
        assert_eq!(10_000_000 - left, 1 + 3 + 1_000 + i64::from(n >> 3), "fill of {n} bytes");
    }
    let copy = r#"(module (memory 16) (func (export "run") (param $n i32)
        (memory.copy (i32.const 0) (i32.const 65536) (local.get $n))))"#;
    let (result, left) = run(copy, 10_000_000, &[Value::I32(65_536)]);
    result.expect("runs");
    assert_eq!(10_000_000 - left, 1 + 3 + 1_000 + 8_192);
    // A table operator pays one unit per element.
    let table = r#"(module (table 1000 funcref) (func (export "run") (param $n i32)
        (table.fill 0 (i32.const 0) (ref.null func) (local.get $n))))"#;
    let (result, left) = run(table, 10_000_000, &[Value::I32(900)]);
    result.expect("runs");
    assert_eq!(10_000_000 - left, 1 + 3 + 1_000 + 900);
    // The charge comes before the work: a fill the budget cannot pay for traps unrun.
    let (result, left) = run(fill, 100_000, &[Value::I32(1 << 20)]);
    assert!(result.is_err(), "a 1 MiB fill is over a budget of 100 000");
    assert!(left < 0);
}

#[test]
fn a_loop_is_charged_every_iteration_and_the_figure_is_exact() {
    // Counts $n down to zero. Runs: `loop` (1) with, paid in advance, what follows the loop
    // (local.get and the function's end: 2); the body, charged on each iteration and
    // including the loop's `end` (local.get, i32.const, i32.sub, local.tee, br_if, end: 6).
    let wat = r#"(module (func (export "run") (param $n i32) (result i32)
        (loop $again
          local.get $n i32.const 1 i32.sub local.tee $n
          br_if $again)
        local.get $n))"#;
    for n in [1, 10, 100] {
        let (result, left) = run(wat, 1_000_000, &[Value::I32(n)]);
        assert_eq!(result.expect("runs")[0], Value::I32(0));
        assert_eq!(1_000_000 - left, 1 + 6 * i64::from(n) + 2, "n = {n}");
    }
}

#[test]
fn what_follows_a_loop_is_paid_by_the_run_entering_it_even_if_a_branch_skips_it() {
    // Runs: block, loop (2) + after the loop: i32.const 5, drop, end (3), paid once up
    // front; the body, charged whole on each iteration, the last one (which leaves by the
    // br_if, skipping what follows the loop) included: local.get, i32.eqz, br_if, local.get,
    // i32.const, i32.sub, local.set, br and the loop's end (9); after the block: i32.const 1,
    // end (2).
    let wat = r#"(module (func (export "run") (param $n i32) (result i32)
        (block $out
          (loop $again
            (br_if $out (i32.eqz (local.get $n)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $again))
          (drop (i32.const 5)))
        (i32.const 1)))"#;
    for n in [0, 3] {
        let (result, left) = run(wat, 1_000, &[Value::I32(n)]);
        assert_eq!(result.expect("runs")[0], Value::I32(1));
        assert_eq!(1_000 - left, (2 + 3) + 9 * (i64::from(n) + 1) + 2, "n = {n}");
    }
}

#[test]
fn every_way_out_of_a_function_writes_the_fuel_back() {
    // The caller costs call (5) + end (1); the callee's run comes on top only if the callee
    // wrote its count back before leaving, whichever way it left. A run is charged whole,
    // including what follows a branch out of it.
    let callees = [
        // block, i32.const, br, end | i32.const, end (not reached)
        ("br to its own frame", "(block (br 1 (i32.const 7))) (i32.const 0)", 4),
        // block, i32.const, i32.const, br_table, end | end (not reached)
        ("br_table default to its own frame", "(block (result i32) (br_table 0 1 (i32.const 8) (i32.const 1)))", 5),
        // i32.const, i32.const, br_if, drop, i32.const, end
        ("br_if to its own frame", "(drop (br_if 0 (i32.const 11) (i32.const 1))) (i32.const 0)", 6),
        // i32.const, return, end
        ("return", "(return (i32.const 9))", 3),
        ("falling off its end", "(i32.const 10)", 2),
    ];
    for (how, body, cost) in callees {
        let wat =
            format!(r#"(module (func $callee (result i32) {body}) (func (export "run") (result i32) (call $callee)))"#);
        let (result, left) = run(&wat, 1_000, &[]);
        result.expect("runs");
        assert_eq!(1_000 - left, 5 + 1 + cost, "{how}");
    }
}

#[test]
fn running_out_traps_and_leaves_the_global_negative() {
    let wat = r#"(module (func (export "run") (loop $forever br $forever)))"#;
    let (result, left) = run(wat, 10_000, &[]);
    assert!(result.expect_err("must trap").contains("unreachable"));
    assert!(left < 0, "{left}");
}

#[test]
fn own_globals_and_exports_keep_their_indices() {
    let wat = r#"(module
        (global $g (export "g") (mut i32) (i32.const 41))
        (func (export "run") (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))"#;
    let (result, _) = run(wat, 100, &[]);
    assert_eq!(result.expect("runs")[0], Value::I32(42));
}

#[test]
fn integer_simd_runs_and_float_simd_is_refused() {
    let wat = r#"(module (func (export "run") (result i64)
        (i64x2.extract_lane 1 (i64x2.mul (i64x2.splat (i64.const 6)) (i64x2.splat (i64.const 7))))))"#;
    assert_eq!(run(wat, 100, &[]).0.expect("runs")[0], Value::I64(42));
    let float = r#"(module (func (result f64) (f64x2.extract_lane 0 (f64x2.splat (f64.const 1)))))"#;
    let err = rewrite(&wat::parse_str(float).expect("wat"), 16).expect_err("refused");
    assert!(err.to_string().contains("F64x2Splat"), "{err}");
}

#[test]
fn the_fuel_export_name_is_reserved() {
    let wat = format!(r#"(module (func (export "{FUEL_EXPORT}")))"#);
    let err = rewrite(&wat::parse_str(&wat).expect("wat"), 16).expect_err("refused");
    assert!(err.to_string().contains("reserved"), "{err}");
}

#[test]
fn observable_nans_are_canonical_and_other_floats_untouched() {
    let wat = r#"(module (memory 1)
        (func (export "run") (param f64) (result i64)
          (f64.store (i32.const 0) (f64.div (local.get 0) (f64.const 0)))
          (i64.add (i64.load (i32.const 0)) (i64.reinterpret_f64 (f64.mul (local.get 0) (f64.const 3))))))"#;
    let bits = |x: f64| run(wat, 100, &[Value::F64(x)]).0.expect("runs")[0].unwrap_i64() as u64;
    // 0/0 stored: canonical NaN; 0 * 3 = 0.
    assert_eq!(bits(0.0), nan::CANONICAL_F64);
    // -inf stored (-1/0); -3 reinterpreted.
    assert_eq!(bits(-1.0), f64::NEG_INFINITY.to_bits().wrapping_add((-3.0f64).to_bits()));
    // A negative NaN argument: both paths canonical.
    let negative_nan = f64::from_bits(0xFFF8_0000_0000_0001);
    assert_eq!(bits(negative_nan), nan::CANONICAL_F64.wrapping_add(nan::CANONICAL_F64));
}
