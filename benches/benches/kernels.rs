//! WASM against native on the benchmark kernels (`challenges/kernels`), per repetition.
//!
//! An evaluation is fixed work (instantiation, the kernel's data drawn from the seed) plus the
//! kernel repeated `n` times. Timing each kernel at two repetition counts, WASM and native
//! interleaved in every round so that machine drift hits both alike, separates the two: the
//! difference over the extra repetitions is the compiled code's speed; the fixed part is
//! instantiation and setup (measured on its own by the `runtime` benchmark). Prints, per kernel,
//! medians at both counts, the end-to-end ratios, and the ratio per repetition; also, as a
//! diagnostic, the ratio per repetition of plain wasmer running the module as built (no rewrite:
//! no fuel, no NaN canonicalisation), which is what the sandbox's rewrite costs on top.
//!
//! `PLATFORM_BENCH_ROUNDS=300 cargo bench -p platform-benches --no-default-features --bench kernels`
//! (needs `challenges/build.sh`).
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use platform_benches::{assert_kernel_agrees, kernel_input};
use platform_runtime::{EngineConfig, EvalInput, Runtime, RuntimeOptions};
use platform_types::RuntimePolicy;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn micros(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e6
}

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../challenges/dist/kernels.wasm");
    let wasm =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run challenges/build.sh first", path.display()));
    let rounds: usize = std::env::var("PLATFORM_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(200);
    let runtime =
        Runtime::new(RuntimeOptions { engine: EngineConfig::default(), ..RuntimeOptions::default() }).expect("runtime");
    let module = runtime.load(&wasm, &RuntimePolicy::default()).expect("load");
    let engine = wasmer::Engine::default();
    let plain = wasmer::Module::new(&engine, &wasm).expect("compile");
    println!("{rounds} rounds; medians in µs");
    println!(
        "| kernel | repetitions | WASM | native | ratio | WASM per repetition | native per repetition | ratio per repetition | plain wasmer, no rewrite, per repetition |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, kernel, small, large) in
        [("integer", b'i', 1u32, 9u32), ("f64", b'f', 50, 450), ("Q32.32", b'q', 25, 225)]
    {
        let (input_small, input_large) = (kernel_input(kernel, small), kernel_input(kernel, large));
        for reps in [small, large] {
            assert_kernel_agrees(&runtime, &module, kernel, reps);
        }
        let wasm = |input: &EvalInput| micros(|| drop(black_box(runtime.evaluate(&module, input).expect("evaluate"))));
        let native = |reps: u32| {
            micros(|| {
                black_box(kernels::run(kernel, black_box(reps), &[7; 32]));
            })
        };
        let (encoded_small, encoded_large) = (input_small.encode(), input_large.encode());
        let plain = |input: &[u8]| {
            micros(|| {
                black_box(platform_benches::run_with_stub_hosts(&engine, &plain, input));
            })
        };
        let (mut ws, mut ns, mut wl, mut nl, mut per_rep, mut plain_per_rep) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for round in 0..rounds + rounds / 10 {
            let sample = (wasm(&input_small), native(small), wasm(&input_large), native(large));
            let plain_extra = plain(&encoded_large) - plain(&encoded_small);
            if round < rounds / 10 {
                continue; // warm-up
            }
            ws.push(sample.0);
            ns.push(sample.1);
            wl.push(sample.2);
            nl.push(sample.3);
            per_rep.push((sample.2 - sample.0) / (sample.3 - sample.1));
            plain_per_rep.push(plain_extra / (sample.3 - sample.1));
        }
        let extra = f64::from(large - small);
        let (ws, ns, wl, nl) = (median(ws), median(ns), median(wl), median(nl));
        println!(
            "| {name} | {small} / {large} | {ws:.1} / {wl:.1} | {ns:.1} / {nl:.1} | {:.3} / {:.3} | {:.1} | {:.1} | **{:.3}** (per round: median {:.3}) | {:.3} (per round) |",
            ws / ns,
            wl / nl,
            (wl - ws) / extra,
            (nl - ns) / extra,
            (wl - ws) / (nl - ns),
            median(per_rep),
            median(plain_per_rep),
        );
    }
}
