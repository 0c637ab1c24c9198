//! The WASM runtime: instantiate+call, evaluations per second of each example, compile time per
//! compiler, and WASM against the same code compiled natively. Needs `challenges/build.sh`.
//!
//! `cargo bench -p platform-benches --bench runtime [--features singlepass]`
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use platform_benches::{input, matmul_reveal};
use platform_runtime::{Compiler, EngineConfig, Runtime, RuntimeOptions};
use platform_types::RuntimePolicy;

fn dist(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../challenges/dist/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run challenges/build.sh first", path.display()))
}

fn runtime(engine: EngineConfig) -> Runtime {
    Runtime::new(RuntimeOptions { engine, ..RuntimeOptions::default() }).expect("runtime")
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
        ("matmul-proof", matmul_reveal()),
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

/// The examples' inner loops natively and in WASM (`challenges/kernels`: each kernel repeated
/// inside one evaluation, so instantiation is a small share): integer (matmul-proof's product),
/// f64 and Q32.32 (regression's mean squared error). WASM runs through the production runtime;
/// diagnostics show what the module costs with no rewrite at all and with cranelift's
/// per-operation NaN canonicalisation.
fn native_vs_wasm(c: &mut Criterion) {
    let policy = RuntimePolicy::default();
    let production = runtime(EngineConfig::default());
    let nan_every_op = runtime(EngineConfig { canonicalize_nans: true, ..EngineConfig::default() });
    let wasm = dist("kernels");
    let module = production.load(&wasm, &policy).expect("load");
    let module_nan_every_op = nan_every_op.load(&wasm, &policy).expect("load");
    let engine = wasmer::Engine::default();
    let unmetered = wasmer::Module::new(&engine, &wasm).expect("compile");

    let mut group = c.benchmark_group("native_vs_wasm");
    group.sample_size(20);
    for (name, kernel, repetitions) in [("integer", b'i', 4u32), ("f64", b'f', 400), ("fixed", b'q', 200)] {
        let eval_input = platform_benches::kernel_input(kernel, repetitions);
        platform_benches::assert_kernel_agrees(&production, &module, kernel, repetitions);

        group.bench_function(format!("{name}/native"), |b| {
            b.iter(|| kernels::run(kernel, black_box(repetitions), &eval_input.seed))
        });
        group.bench_function(format!("{name}/wasm"), |b| {
            b.iter(|| production.evaluate(&module, black_box(&eval_input)).expect("evaluate"))
        });
        let encoded = eval_input.encode();
        group.bench_function(format!("{name}/wasm_no_rewrite"), |b| {
            b.iter(|| black_box(platform_benches::run_with_stub_hosts(&engine, &unmetered, &encoded)))
        });
        if kernel == b'f' {
            group.bench_function(format!("{name}/wasm_nan_every_op"), |b| {
                b.iter(|| nan_every_op.evaluate(&module_nan_every_op, black_box(&eval_input)).expect("evaluate"))
            });
        }
    }
    group.finish();
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
    let matmul_input = matmul_reveal();
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
