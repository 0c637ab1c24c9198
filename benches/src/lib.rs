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
