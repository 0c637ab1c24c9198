//! The WASM runtime: instantiate+call, evaluations per second of each example, compile time per
//! compiler, and WASM against the same code compiled natively. Needs `challenges/build.sh`.
//!
//! `cargo bench -p platform-benches --bench runtime [--features singlepass]`
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use platform_challenge_sdk::fixed::Fixed;
use platform_runtime::{Compiler, EngineConfig, EvalInput, Runtime, RuntimeOptions};
use platform_types::RuntimePolicy;

fn dist(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../challenges/dist/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run challenges/build.sh first", path.display()))
}

fn runtime(engine: EngineConfig) -> Runtime {
    Runtime::new(RuntimeOptions { engine, ..RuntimeOptions::default() }).expect("runtime")
}

fn input(payload: &[u8]) -> EvalInput {
    EvalInput { seed: [7; 32], epoch: 1, miner: [1; 32], payload: payload.to_vec() }
}

const BARE: &str = r#"(module (memory (export "memory") 1)
    (data (i32.const 2048) "\00\2a\00\00\00\00\00\00\00")
    (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
    (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0x80000000009))"#;

/// Our instantiate+call (fresh store, host imports, fuel, watchdog, input copy, verdict decode)
/// against plain wasmer instantiate+call of the same module.
fn instantiate_call(c: &mut Criterion) {
    let wasm = wat::parse_str(BARE).expect("wat");
    let rt = runtime(EngineConfig::default());
    let module = rt.load(&wasm, &RuntimePolicy::default()).expect("load");
    let empty = input(b"");
    let engine = wasmer::Engine::default();
    let plain = wasmer::Module::new(&engine, &wasm).expect("compile");
    let mut group = c.benchmark_group("instantiate_call");
    group.bench_function("baseline_plain_wasmer", |b| {
        b.iter(|| {
            let mut store = wasmer::Store::new(engine.clone());
            let instance = wasmer::Instance::new(&mut store, &plain, &wasmer::imports! {}).expect("instance");
            let f = instance.exports.get_typed_function::<(i32, i32), i64>(&store, "platform_evaluate").expect("f");
            black_box(f.call(&mut store, 0, 0).expect("call"))
        })
    });
    group.bench_function("platform_runtime_evaluate", |b| b.iter(|| rt.evaluate(&module, black_box(&empty))));
    group.finish();
}

/// Evaluations per second of each example with its module already compiled.
fn examples(c: &mut Criterion) {
    let rt = runtime(EngineConfig::default());
    let policy = RuntimePolicy::default();
    let cases = [
        ("regression", input(b"1.4 -2.1 0.3 4.9 -0.4")),
        ("matmul-proof", input(&matmul_proof::solve(&[7; 32]))),
        ("invariant-agent", input(&dist("invariant-baseline"))),
    ];
    let mut group = c.benchmark_group("example_evaluation");
    group.sample_size(20);
    for (name, input) in &cases {
        let module = rt.load(&dist(name), &policy).expect("load");
        group.bench_function(*name, |b| b.iter(|| rt.evaluate(&module, black_box(input)).expect("evaluate")));
    }
    group.finish();
}

fn sdk_input(input: &EvalInput) -> platform_challenge_sdk::Input<'_> {
    platform_challenge_sdk::Input { seed: input.seed, epoch: input.epoch, miner: input.miner, payload: &input.payload }
}

/// The same code natively and in WASM: an integer-heavy kernel (matmul-proof's verification) and
/// the regression scoring in Q32.32 and in f64 (with and without NaN canonicalisation).
fn native_vs_wasm(c: &mut Criterion) {
    let policy = RuntimePolicy::default();
    let canonical = runtime(EngineConfig::default());
    let raw_nans = runtime(EngineConfig { canonicalize_nans: false, ..EngineConfig::default() });
    let regression_input = input(b"1.4 -2.1 0.3 4.9 -0.4");
    let matmul_input = input(&matmul_proof::solve(&[7; 32]));
    let to_f64 = |c: Fixed| c.0 as f64 / 4_294_967_296.0;

    let mut group = c.benchmark_group("native_vs_wasm");
    group.sample_size(30);
    group.bench_function("integer_matmul/native", |b| {
        b.iter(|| matmul_proof::evaluate(black_box(&sdk_input(&matmul_input))))
    });
    let matmul = canonical.load(&dist("matmul-proof"), &policy).expect("load");
    group.bench_function("integer_matmul/wasm", |b| b.iter(|| canonical.evaluate(&matmul, black_box(&matmul_input))));
    // Diagnostic: the same module under plain wasmer (cranelift, no metering, no NaN
    // canonicalisation, stub host functions that accept every proof), to split the gap to native
    // into what the sandbox adds and what WASM itself costs.
    let engine = wasmer::Engine::default();
    let encoded = matmul_input.encode();
    let unmetered = dist("matmul-proof");
    let metered = platform_runtime::rewrite(&unmetered, policy.memory_pages_max).expect("rewrite");
    for (name, bytes) in [("wasm_plain_unmetered", unmetered), ("wasm_plain_metered", metered)] {
        let module = wasmer::Module::new(&engine, bytes).expect("compile");
        group.bench_function(format!("integer_matmul/{name}"), |b| {
            b.iter(|| black_box(run_with_stub_hosts(&engine, &module, &encoded)))
        });
    }

    group.bench_function("regression_fixed/native", |b| {
        b.iter(|| regression::evaluate_as::<Fixed>(black_box(&sdk_input(&regression_input)), |c| c))
    });
    let fixed = canonical.load(&dist("regression"), &policy).expect("load");
    group.bench_function("regression_fixed/wasm", |b| {
        b.iter(|| canonical.evaluate(&fixed, black_box(&regression_input)))
    });

    group.bench_function("regression_f64/native", |b| {
        b.iter(|| regression::evaluate_as::<f64>(black_box(&sdk_input(&regression_input)), to_f64))
    });
    let float_canonical = canonical.load(&dist("regression-float"), &policy).expect("load");
    group.bench_function("regression_f64/wasm_canonical_nans", |b| {
        b.iter(|| canonical.evaluate(&float_canonical, black_box(&regression_input)))
    });
    let float_raw = raw_nans.load(&dist("regression-float"), &policy).expect("load");
    group.bench_function("regression_f64/wasm_raw_nans", |b| {
        b.iter(|| raw_nans.evaluate(&float_raw, black_box(&regression_input)))
    });
    group.finish();
}

/// Runs matmul-proof's evaluation under plain wasmer with stub host functions (no hashing, every
/// proof accepted); a metered module gets a large fuel budget first.
fn run_with_stub_hosts(engine: &wasmer::Engine, module: &wasmer::Module, input: &[u8]) -> i64 {
    let mut store = wasmer::Store::new(engine.clone());
    let imports = wasmer::imports! {
        "platform" => {
            "blake2b_256" => wasmer::Function::new_typed(&mut store, |_: i32, _: i32, _: i32| {}),
            "merkle_verify" => wasmer::Function::new_typed(&mut store, |_: i32, _: i32, _: i64, _: i64, _: i32, _: i32| 1i32),
        }
    };
    let instance = wasmer::Instance::new(&mut store, module, &imports).expect("instance");
    if let Ok(fuel) = instance.exports.get_global(platform_runtime::FUEL_EXPORT) {
        fuel.set(&mut store, wasmer::Value::I64(i64::MAX)).expect("fuel");
    }
    let memory = instance.exports.get_memory("memory").expect("memory").clone();
    let alloc = instance.exports.get_typed_function::<i32, i32>(&store, "platform_alloc").expect("alloc");
    let run = instance.exports.get_typed_function::<(i32, i32), i64>(&store, "platform_evaluate").expect("run");
    let ptr = alloc.call(&mut store, input.len() as i32).expect("alloc");
    memory.view(&store).write(ptr as u64, input).expect("write");
    run.call(&mut store, ptr, input.len() as i32).expect("run")
}

fn compilers() -> Vec<(&'static str, EngineConfig)> {
    let cranelift = ("cranelift", EngineConfig { compiler: Compiler::Cranelift, ..EngineConfig::default() });
    #[cfg(feature = "singlepass")]
    return vec![cranelift, ("singlepass", EngineConfig { compiler: Compiler::Singlepass, ..EngineConfig::default() })];
    #[cfg(not(feature = "singlepass"))]
    vec![cranelift]
}

/// Compile time per module and the speed of the code each compiler produces.
fn compile(c: &mut Criterion) {
    let policy = RuntimePolicy::default();
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for (compiler, engine) in compilers() {
        for name in ["regression", "matmul-proof", "invariant-agent"] {
            let wasm = dist(name);
            group.bench_function(format!("{compiler}/{name}"), |b| {
                b.iter(|| runtime(engine).load(black_box(&wasm), &policy).expect("load"))
            });
        }
    }
    group.finish();
    let matmul_input = input(&matmul_proof::solve(&[7; 32]));
    let mut group = c.benchmark_group("compiled_code");
    group.sample_size(20);
    for (compiler, engine) in compilers() {
        let rt = runtime(engine);
        let module = rt.load(&dist("matmul-proof"), &policy).expect("load");
        group.bench_function(format!("{compiler}/matmul-proof"), |b| {
            b.iter(|| rt.evaluate(&module, black_box(&matmul_input)))
        });
    }
    group.finish();
}

criterion_group!(benches, instantiate_call, examples, native_vs_wasm, compile);
criterion_main!(benches);
