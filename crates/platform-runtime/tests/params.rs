//! The `params` host function (ABI version 3): a challenge reads the parameters its owner
//! registered with it, and nothing else.

mod common;

use common::{input, module_with, policy, runtime};
use platform_runtime::{RuntimeError, Verdict};

const IMPORT: &str = r#"(import "platform" "params" (func $params (param i32 i32) (result i32)))"#;

/// Scores `first parameter byte × 1e6 + their length`: asks their length with no room, then
/// copies them to offset 3000.
fn reader() -> Vec<u8> {
    module_with(
        IMPORT,
        r#"(local $len i32)
           (local.set $len (call $params (i32.const 0) (i32.const 0)))
           (drop (call $params (i32.const 3000) (local.get $len)))
           (i32.store (i32.const 2049)
             (i32.add (i32.mul (i32.load8_u (i32.const 3000)) (i32.const 1000000)) (local.get $len)))"#,
    )
}

#[test]
fn a_challenge_reads_the_parameters_it_was_registered_with() {
    let rt = runtime();
    let module = rt.load(&reader(), &policy()).expect("loads");
    let score = |module| match rt.evaluate(module, &input(b"x")).expect("runs").verdict {
        Verdict::Scored { score_ppb, .. } => score_ppb,
        other => panic!("{other:?}"),
    };
    assert_eq!(score(&module), 0, "none by default");
    let with = module.clone().with_params(&[7, 1, 2]);
    assert_eq!(with.params(), &[7, 1, 2]);
    assert_eq!(score(&with), 7_000_003);
    assert_eq!(score(&module), 0, "the handle it was made from keeps its own");
}

#[test]
fn a_copy_outside_the_modules_memory_is_refused() {
    let rt = runtime();
    let outside = module_with(IMPORT, "(drop (call $params (i32.const 65534) (i32.const 16)))");
    let module = rt.load(&outside, &policy()).expect("loads").with_params(&[1; 16]);
    let e = rt.evaluate(&module, &input(b"x")).expect_err("refused");
    assert!(matches!(e, RuntimeError::HostCall { function: "params", .. }), "{e}");
    // A negative capacity is no length.
    let negative = module_with(IMPORT, "(drop (call $params (i32.const 0) (i32.const -1)))");
    let module = rt.load(&negative, &policy()).expect("loads").with_params(&[1]);
    assert!(matches!(rt.evaluate(&module, &input(b"x")), Err(RuntimeError::HostCall { function: "params", .. })));
}

/// The real `invariant-agent`, built with the SDK: its exponents are its parameters. With all
/// three 0 any usable agent scores 1e9; an exponent above 8 rejects every payload, saying why.
#[test]
fn invariant_agent_scores_with_the_exponents_it_was_registered_with() {
    let rt = runtime();
    let module = rt.load(&common::challenge("invariant-agent"), &policy()).expect("loads");
    let agent = common::challenge("invariant-baseline");
    let verdict =
        |params: &[u8]| rt.evaluate(&module.clone().with_params(params), &input(&agent)).expect("runs").verdict;
    let default = verdict(&[]).score_ppb();
    assert!(default > 0 && default < 1_000_000_000, "the baseline is right but not at the target speed: {default}");
    assert_eq!(verdict(&[0, 0, 0]).score_ppb(), 1_000_000_000);
    assert_eq!(verdict(&[1, 1, 2]).score_ppb(), (u64::from(default) * u64::from(default) / 1_000_000_000) as u32);
    match verdict(&[9, 1, 1]) {
        Verdict::Rejected { reason } => assert!(reason.contains("above 8"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
