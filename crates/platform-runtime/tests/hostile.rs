//! Hostile modules: each ends with its typed error within the policy's limits, and the same
//! runtime evaluates a good module right after.

mod common;

use std::time::{Duration, Instant};

use common::{good_module, input, module_with, policy, runtime, wat};
use platform_runtime::{Runtime, RuntimeError, Verdict};
use platform_types::RuntimePolicy;

/// Loads and evaluates `wasm`; returns the error, then checks the runtime still works.
fn run_hostile(runtime: &Runtime, wasm: &[u8], policy: &RuntimePolicy) -> RuntimeError {
    let started = Instant::now();
    let error = match runtime.load(wasm, policy) {
        Err(e) => e,
        Ok(module) => runtime.evaluate(&module, &input(b"")).expect_err("hostile module must fail"),
    };
    assert!(
        started.elapsed() < Duration::from_millis(u64::from(policy.deadline_ms)) + Duration::from_secs(1),
        "{error} took {:?}",
        started.elapsed()
    );
    let good = runtime.load(&good_module(), policy).expect("good module loads");
    let outcome = runtime.evaluate(&good, &input(b"")).expect("the next evaluation succeeds");
    assert_eq!(outcome.verdict, Verdict::Scored { score_ppb: 42, detail: vec![] });
    error
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let rt = runtime();
    let e = run_hostile(&rt, &module_with("", "(loop br 0)"), &policy());
    assert_eq!(e, RuntimeError::OutOfFuel { limit: policy().fuel_limit });
}

#[test]
fn unbounded_memory_grow_hits_the_memory_cap() {
    let rt = runtime();
    let body = "(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable";
    let e = run_hostile(&rt, &module_with("", body), &policy());
    assert!(matches!(e, RuntimeError::MemoryLimit(ref m) if m.contains("64 pages")), "{e}");
    // Growing without ever checking the result just burns fuel: each grow is priced.
    let e = run_hostile(&rt, &module_with("", "(loop (drop (memory.grow (i32.const 1))) br 0)"), &policy());
    assert!(matches!(e, RuntimeError::OutOfFuel { .. }), "{e}");
}

#[test]
fn declared_memory_over_the_cap_is_refused_at_load() {
    let rt = runtime();
    let big = wat(r#"(module (memory (export "memory") 65)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 0)
        (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0))"#);
    let e = run_hostile(&rt, &big, &policy());
    assert!(matches!(e, RuntimeError::MemoryLimit(_)), "{e}");
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let rt = runtime();
    let extra = "(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))";
    let mut p = policy();
    p.fuel_limit = 10_000_000_000;
    let e = run_hostile(&rt, &module_with(extra, "(drop (call $down (i32.const 0)))"), &p);
    assert_eq!(e, RuntimeError::StackOverflow);
}

#[test]
fn huge_data_segments_are_refused() {
    let rt = runtime();
    // A segment past the end of memory fails instantiation.
    let past_end = module_with("(data (i32.const 65530) \"0123456789\")", "");
    let e = run_hostile(&rt, &past_end, &policy());
    assert!(matches!(e, RuntimeError::Trap(_) | RuntimeError::Engine(_)), "{e}");
    // A segment that needs more memory than the cap cannot even declare it.
    let needs_more = wat(r#"(module (memory (export "memory") 100)
        (data (i32.const 6000000) "x")
        (func (export "platform_alloc") (param i32) (result i32) i32.const 0)
        (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0))"#);
    assert!(matches!(run_hostile(&rt, &needs_more, &policy()), RuntimeError::MemoryLimit(_)));
}

#[test]
fn table_bombs_are_capped() {
    let rt = runtime();
    let declared = module_with("(table 1000000 funcref)", "");
    assert!(matches!(run_hostile(&rt, &declared, &policy()), RuntimeError::TableLimit(_)));
    let growing = module_with(
        "(table $t 1 funcref)",
        "(loop (br_if 0 (i32.ne (table.grow $t (ref.null func) (i32.const 10000)) (i32.const -1)))) unreachable",
    );
    let e = run_hostile(&rt, &growing, &policy());
    assert!(matches!(e, RuntimeError::Trap(_)), "growth stops at the cap, then the module traps: {e}");
}

#[test]
fn out_of_bounds_pointers_to_host_functions_are_refused() {
    let rt = runtime();
    let extra = r#"(import "platform" "blake2b_256" (func $hash (param i32 i32 i32)))"#;
    let reads_outside = module_with(extra, "(call $hash (i32.const 65000) (i32.const 1000) (i32.const 0))");
    let e = run_hostile(&rt, &reads_outside, &policy());
    assert!(matches!(e, RuntimeError::HostCall { function: "blake2b_256", .. }), "{e}");
    let writes_outside = module_with(extra, "(call $hash (i32.const 0) (i32.const 10) (i32.const -8))");
    assert!(matches!(run_hostile(&rt, &writes_outside, &policy()), RuntimeError::HostCall { .. }));
}

#[test]
fn a_trap_inside_a_host_call_ends_the_evaluation_cleanly() {
    let rt = runtime();
    let extra = r#"(import "platform" "merkle_verify" (func $mv (param i32 i32 i64 i64 i32 i32) (result i32)))"#;
    let too_long = module_with(
        extra,
        "(drop (call $mv (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 1) (i32.const 0) (i32.const 1000)))",
    );
    let e = run_hostile(&rt, &too_long, &policy());
    assert!(matches!(e, RuntimeError::HostCall { function: "merkle_verify", .. }), "{e}");
    let nested = r#"(import "platform" "run_nested" (func $rn (param i32 i32 i32 i32 i64 i32 i32 i32) (result i32)))"#;
    let mut no_nesting = policy();
    no_nesting.nested_fuel_limit = 0;
    let call = "(drop (call $rn (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 0) (i64.const 1000) (i32.const 0) (i32.const 0) (i32.const 100)))";
    let e = run_hostile(&rt, &module_with(nested, call), &no_nesting);
    assert!(
        matches!(e, RuntimeError::HostCall { function: "run_nested", ref reason } if reason.contains("nested_fuel_limit")),
        "{e}"
    );
}

#[test]
fn output_over_the_cap_is_refused() {
    let rt = runtime();
    let over = wat(r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 4097))"#);
    assert_eq!(run_hostile(&rt, &over, &policy()), RuntimeError::OutputTooLarge { size: 4097, limit: 4096 });
    let outside = wat(r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0xFFFF000000100))"#);
    assert!(matches!(run_hostile(&rt, &outside, &policy()), RuntimeError::MalformedOutput(_)));
}

#[test]
fn forbidden_imports_are_refused_at_load() {
    let rt = runtime();
    for import in [
        r#"(import "env" "abort" (func))"#,
        r#"(import "platform" "clock_ms" (func (result i64)))"#,
        r#"(import "platform" "blake2b_256" (func (param i32)))"#,
        r#"(import "platform" "table" (table 1 funcref))"#,
    ] {
        let e = run_hostile(&rt, &module_with(import, ""), &policy());
        assert!(matches!(e, RuntimeError::ForbiddenImport { .. }), "{import}: {e}");
    }
}

#[test]
fn invalid_bytes_and_missing_exports_are_refused_at_load() {
    let rt = runtime();
    for bytes in [&b""[..], b"\0asm", b"\0asm\x01\0\0\0\x05\xff", b"not wasm at all"] {
        assert!(matches!(run_hostile(&rt, bytes, &policy()), RuntimeError::InvalidModule(_)));
    }
    let no_entry = wat(r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 0))"#);
    assert!(matches!(
        run_hostile(&rt, &no_entry, &policy()),
        RuntimeError::BadExport { name: "platform_evaluate", .. }
    ));
    let start = module_with("(func $s (loop br 0)) (start $s)", "");
    assert!(matches!(run_hostile(&rt, &start, &policy()), RuntimeError::InvalidModule(ref m) if m.contains("start")));
    // Integer SIMD is exact and allowed; float SIMD is refused (NaN bits in vector lanes).
    let integer_simd = module_with("", "(drop (v128.const i64x2 0 0))");
    rt.evaluate(&rt.load(&integer_simd, &policy()).expect("integer SIMD loads"), &input(b"")).expect("runs");
    let float_simd = module_with("", "(drop (f64x2.add (v128.const f64x2 0 0) (v128.const f64x2 0 0)))");
    assert!(matches!(
        run_hostile(&rt, &float_simd, &policy()),
        RuntimeError::InvalidModule(ref m) if m.contains("float SIMD")
    ));
}

/// Hole: `memory.fill` cost a flat 1 000 fuel whatever its length; a module doing 3 000 fills
/// of 64 MiB used 3.0 M fuel of a 10 000 M budget and ran 7.4 s, so only the wall-clock deadline
/// (which is not deterministic) stopped such code. Fuel now pays by length and stops it first.
#[test]
fn fuel_bounds_bulk_memory_operators_before_the_deadline() {
    let rt = runtime();
    let mut p = policy();
    p.memory_pages_max = 1024;
    p.fuel_limit = 1_000_000_000;
    p.deadline_ms = 30_000;
    let module = wat(r#"(module
        (memory (export "memory") 1024)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_evaluate") (param i32 i32) (result i64) (local $i i32)
          (loop $again
            (memory.fill (i32.const 0) (i32.const 1) (i32.const 67108864))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $again (i32.lt_u (local.get $i) (i32.const 3000))))
          i64.const 0))"#);
    let started = Instant::now();
    let e = run_hostile(&rt, &module, &p);
    assert_eq!(e, RuntimeError::OutOfFuel { limit: 1_000_000_000 });
    // 1e9 fuel pays for about 119 fills of 64 MiB (8.4 M each): well under a second here.
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn the_deadline_stops_what_fuel_would_not() {
    let rt = runtime();
    let mut p = policy();
    p.fuel_limit = u64::MAX / 4;
    p.deadline_ms = 200;
    let started = Instant::now();
    let e = run_hostile(&rt, &module_with("", "(loop br 0)"), &p);
    assert_eq!(e, RuntimeError::Deadline { deadline_ms: 200 });
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// NaN bits are the one float result that differs between CPU architectures; the runtime
/// canonicalises them, so the bits a module can observe are the same everywhere.
#[test]
fn nan_bits_are_canonical_wherever_a_module_can_observe_them() {
    let rt = runtime();
    // Writes, at 2048: a verdict whose detail holds f32 0/0 reinterpreted, f64 0/0 stored,
    // and copysign(1, 0/0) reinterpreted.
    let module = wat(r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_evaluate") (param i32 i32) (result i64)
          (i32.store8 (i32.const 2048) (i32.const 0))
          (i32.store (i32.const 2049) (i32.const 1))
          (i32.store (i32.const 2053) (i32.const 16))
          (i32.store (i32.const 2057) (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
          (f64.store (i32.const 2061) (f64.div (f64.const 0) (f64.const 0)))
          (i32.store (i32.const 2069) (i32.reinterpret_f32 (f32.copysign (f32.const 1) (f32.div (f32.const 0) (f32.const 0)))))
          i64.const 0x80000000019))"#);
    let loaded = rt.load(&module, &policy()).expect("load");
    let first = rt.evaluate(&loaded, &input(b"")).expect("evaluate");
    let Verdict::Scored { detail, .. } = &first.verdict else { panic!("{:?}", first.verdict) };
    assert_eq!(u32::from_le_bytes(detail[0..4].try_into().expect("4 or 8 bytes")), 0x7FC0_0000, "canonical f32 NaN");
    assert_eq!(
        u64::from_le_bytes(detail[4..12].try_into().expect("4 or 8 bytes")),
        0x7FF8_0000_0000_0000,
        "canonical f64 NaN"
    );
    assert_eq!(
        f32::from_bits(u32::from_le_bytes(detail[12..16].try_into().expect("4 or 8 bytes"))),
        1.0,
        "positive sign"
    );
    for _ in 0..10 {
        let again = rt.evaluate(&loaded, &input(b"")).expect("evaluate");
        assert_eq!((again.output_hash, again.fuel_used), (first.output_hash, first.fuel_used));
    }
}

/// Memory, 2 pages: traps unless memory.size is 2 and every byte outside the input (at 1024)
/// and the verdict (at 2048) is zero; then dirties all of it, grows by 3 pages and dirties those.
const DIRTY: &str = r#"(module
  (memory (export "memory") 2)
  (data (i32.const 2048) "\00\2a\00\00\00\00\00\00\00")
  (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "platform_evaluate") (param i32 i32) (result i64) (local $i i32)
    (if (i32.ne (memory.size) (i32.const 2)) (then unreachable))
    (loop $scan
      (if (i64.ne (i64.load (local.get $i)) (i64.const 0))
        (then (if (i32.or (i32.lt_u (local.get $i) (i32.const 1024)) (i32.ge_u (local.get $i) (i32.const 4096)))
          (then unreachable))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $scan (i32.lt_u (local.get $i) (i32.const 131072))))
    (memory.fill (i32.const 0) (i32.const 0xAB) (i32.const 1024))
    (memory.fill (i32.const 4096) (i32.const 0xAB) (i32.const 126976))
    (if (i32.ne (memory.grow (i32.const 3)) (i32.const 2)) (then unreachable))
    (memory.fill (i32.const 131072) (i32.const 0xAB) (i32.const 196608))
    i64.const 0x80000000009))"#;

#[test]
fn no_instance_sees_memory_an_earlier_one_wrote_or_grew() {
    // Memories are reused across instances (memory_pool.rs): each must start as a fresh one,
    // zero, at its declared size, trapping past it, whichever thread ran before.
    let rt = runtime();
    let dirty = rt.load(&wat(DIRTY), &policy()).expect("load");
    let past_end = module_with("", "(drop (i32.load (i32.const 65536)))");
    let past_end = rt.load(&past_end, &policy()).expect("load");
    std::thread::scope(|threads| {
        for thread in 0..3 {
            let (rt, dirty, past_end) = (&rt, &dirty, &past_end);
            threads.spawn(move || {
                for round in 0..20 {
                    let outcome = rt
                        .evaluate(dirty, &input(b""))
                        .unwrap_or_else(|e| panic!("thread {thread}, round {round}: saw a used memory: {e}"));
                    assert_eq!(outcome.verdict, Verdict::Scored { score_ppb: 42, detail: vec![] });
                    let e = rt.evaluate(past_end, &input(b"")).expect_err("one page declared, read past it");
                    assert!(matches!(e, RuntimeError::Trap(_)), "{e}");
                }
            });
        }
    });
}
