//! Criterion benchmarks for Platform's crates. Each group measures a baseline (raw schnorrkel,
//! the in-memory store) next to the code under test, so results read as ratios from one run.
//! Run with `cargo bench -p platform-benches`; results are recorded in `docs/benchmarks.md`.

/// Runs a module's evaluation under plain wasmer (no rewrite: no metering, no NaN
/// canonicalisation) with stub host functions that write nothing and accept every proof.
pub fn run_with_stub_hosts(engine: &wasmer::Engine, module: &wasmer::Module, input: &[u8]) -> i64 {
    let mut store = wasmer::Store::new(engine.clone());
    let imports = wasmer::imports! {
        "platform" => {
            "blake2b_256" => wasmer::Function::new_typed(&mut store, |_: i32, _: i32, _: i32| {}),
            "merkle_verify" => wasmer::Function::new_typed(&mut store, |_: i32, _: i32, _: i64, _: i64, _: i32, _: i32| 1i32),
        }
    };
    let instance = wasmer::Instance::new(&mut store, module, &imports).expect("instance");
    let memory = instance.exports.get_memory("memory").expect("memory").clone();
    let alloc = instance.exports.get_typed_function::<i32, i32>(&store, "platform_alloc").expect("alloc");
    let run = instance.exports.get_typed_function::<(i32, i32), i64>(&store, "platform_evaluate").expect("run");
    let ptr = alloc.call(&mut store, input.len() as i32).expect("alloc");
    memory.view(&store).write(ptr as u64, input).expect("write");
    run.call(&mut store, ptr, input.len() as i32).expect("run")
}

/// An evaluation input carrying `payload`, with the seed, epoch and miner every runtime
/// benchmark uses.
pub fn input(payload: &[u8]) -> platform_runtime::EvalInput {
    platform_runtime::EvalInput { seed: [7; 32], epoch: 1, miner: [1; 32], commitment: None, payload: payload.to_vec() }
}

/// An honest matmul-proof reveal (with its commitment), as the runtime benchmarks evaluate it.
pub fn matmul_reveal() -> platform_runtime::EvalInput {
    let base = input(b"");
    let (root, openings) = matmul_proof::solve(&[7; 32], &base.miner, &base.seed);
    let commitment = platform_runtime::EvalCommitment { task_seed: [7; 32], payload: root.to_vec() };
    platform_runtime::EvalInput { commitment: Some(commitment), payload: openings, ..base }
}

/// The input that asks the benchmark kernel `kernel` (`challenges/kernels`) for `repetitions`
/// repetitions.
pub fn kernel_input(kernel: u8, repetitions: u32) -> platform_runtime::EvalInput {
    input(&[&[kernel][..], &repetitions.to_le_bytes()].concat())
}

/// Panics unless `module` (the kernels module) evaluates `kernel_input(kernel, repetitions)` to
/// the result the same code computes natively, so a benchmark never compares different work.
pub fn assert_kernel_agrees(
    runtime: &platform_runtime::Runtime,
    module: &platform_runtime::ChallengeModule,
    kernel: u8,
    repetitions: u32,
) {
    let input = kernel_input(kernel, repetitions);
    let outcome = runtime.evaluate(module, &input).expect("evaluate");
    let platform_runtime::Verdict::Scored { detail, .. } = &outcome.verdict else { panic!("{:?}", outcome.verdict) };
    let native = kernels::run(kernel, repetitions, &input.seed).expect("kernel");
    assert_eq!(detail[..], native.to_le_bytes(), "kernel {}: WASM and native disagree", kernel as char);
}
