//! The example challenges under the real runtime: determinism, nested runs, native parity.

mod common;

use std::collections::BTreeSet;

use common::{challenge, input, runtime};
use platform_runtime::{EvalCommitment, EvalInput, Runtime, Verdict, decode_verdict};
use platform_types::RuntimePolicy;

fn evaluate(rt: &Runtime, name: &str, payload: &[u8]) -> platform_runtime::Outcome {
    let module = rt.load(&challenge(name), &RuntimePolicy::default()).expect("example loads");
    rt.evaluate(&module, &input(payload)).expect("example evaluates")
}

fn sdk_input(input: &EvalInput) -> platform_challenge_sdk::Input<'_> {
    platform_challenge_sdk::Input {
        seed: input.seed,
        epoch: input.epoch,
        miner: input.miner,
        commitment: None,
        payload: &input.payload,
    }
}

/// An honest matmul-proof miner's reveal as a validator hands it to the module: the sampling
/// seed, the commitment (the root) with its task seed, the openings.
fn matmul_reveal() -> EvalInput {
    let (task_seed, sampling_seed) = ([5; 32], [6; 32]);
    let base = input(b"");
    let (root, openings) = matmul_proof::solve(&task_seed, &base.miner, &sampling_seed);
    EvalInput {
        seed: sampling_seed,
        commitment: Some(EvalCommitment { task_seed, payload: root.to_vec() }),
        payload: openings,
        ..base
    }
}

#[test]
fn regression_in_wasm_equals_the_same_code_natively() {
    let rt = runtime();
    for payload in [&b"1.5 -2 0.25 5 -0.5"[..], b"0 0 0 0 0", b"1,2,3,4,5", b"nonsense"] {
        let outcome = evaluate(&rt, "regression", payload);
        let native = regression::evaluate(&sdk_input(&input(payload)));
        assert_eq!(outcome.verdict.clone(), decode_verdict(&native.encode()).expect("native verdict"));
    }
    assert!(evaluate(&rt, "regression", b"1.5 -2 0.25 5 -0.5").verdict.score_ppb() > 400_000_000);
}

#[test]
fn matmul_proof_accepts_an_honest_reveal_and_rejects_a_forged_one() {
    let rt = runtime();
    let module = rt.load(&challenge("matmul-proof"), &RuntimePolicy::default()).expect("load");
    let honest = matmul_reveal();
    assert_eq!(rt.evaluate(&module, &honest).expect("runs").verdict.score_ppb(), 1_000_000_000);
    let mut forged = honest.clone();
    let last = forged.payload.len() - 1;
    forged.payload[last] ^= 1;
    assert!(matches!(rt.evaluate(&module, &forged).expect("runs").verdict, Verdict::Rejected { .. }));
    let resampled = EvalInput { seed: [9; 32], ..honest.clone() };
    assert!(matches!(rt.evaluate(&module, &resampled).expect("runs").verdict, Verdict::Rejected { .. }));
    let plain = EvalInput { commitment: None, ..honest };
    let Verdict::Rejected { reason } = rt.evaluate(&module, &plain).expect("runs").verdict else {
        panic!("an answer without its commitment is refused");
    };
    assert!(reason.contains("takes a commitment"), "{reason}");
}

#[test]
fn invariant_agent_runs_the_miner_agent_in_the_nested_sandbox() {
    let rt = runtime();
    let agent = challenge("invariant-baseline");
    let outcome = evaluate(&rt, "invariant-agent", &agent);
    let Verdict::Scored { score_ppb, detail } = &outcome.verdict else { panic!("{:?}", outcome.verdict) };
    let detail = String::from_utf8_lossy(detail);
    assert!(detail.starts_with("correct=64/64"), "{detail}");
    assert!(*score_ppb > 0, "{detail}");
    assert!(outcome.nested_fuel_used > 0 && outcome.nested_fuel_used < outcome.fuel_used);

    // An agent that never answers: every case runs out of its fuel; scored 0, not an error.
    let spinner = common::wat(
        r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_run") (param i32 i32) (result i64) (loop br 0) i64.const 0))"#,
    );
    let outcome = evaluate(&rt, "invariant-agent", &spinner);
    assert_eq!(outcome.verdict.score_ppb(), 0);
    assert!(outcome.nested_fuel_used >= 64 * invariant_agent::CASE_FUEL);

    // An agent that imports anything is not a usable agent.
    let importer = common::wat(
        r#"(module (import "platform" "log" (func (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_run") (param i32 i32) (result i64) i64.const 0))"#,
    );
    assert!(matches!(evaluate(&rt, "invariant-agent", &importer).verdict, Verdict::Rejected { .. }));
    assert!(matches!(evaluate(&rt, "invariant-agent", b"not wasm").verdict, Verdict::Rejected { .. }));
}

/// Hole: compiling a miner's nested module was charged by its length only, but compile time
/// grows with its function count (60 000 one-line functions, 650 KB, took 3.8 s here). Such a
/// module is now refused by its shape before compiling, deterministically.
#[test]
fn a_nested_module_too_costly_to_compile_is_refused_before_compiling() {
    let rt = runtime();
    let many = "(func)".repeat(60_000);
    let agent = common::wat(&format!(
        r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_run") (param i32 i32) (result i64) i64.const 0)
        {many})"#
    ));
    let started = std::time::Instant::now();
    let outcome = evaluate(&rt, "invariant-agent", &agent);
    assert!(matches!(outcome.verdict, Verdict::Rejected { .. }), "{:?}", outcome.verdict);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
}

/// 100 runs of each example: one output hash and one fuel figure each.
#[test]
fn every_example_is_deterministic_over_100_runs() {
    let rt = runtime();
    let cases: [(&str, EvalInput); 3] = [
        ("regression", input(b"1.4 -2.1 0.3 4.9 -0.4")),
        ("matmul-proof", matmul_reveal()),
        ("invariant-agent", input(&challenge("invariant-baseline"))),
    ];
    for (name, case) in cases {
        let module = rt.load(&challenge(name), &RuntimePolicy::default()).expect("load");
        let results: BTreeSet<_> = (0..100)
            .map(|_| {
                let o = rt.evaluate(&module, &case).expect("evaluate");
                (o.output_hash, o.fuel_used, o.verdict.score_ppb())
            })
            .collect();
        assert_eq!(results.len(), 1, "{name}: {results:?}");
    }
}
