//! Epoch scorers (ABI version 2): a challenge scoring an epoch's committed answers together.

mod common;

use common::{challenge, runtime, wat};
use platform_runtime::{EpochAnswer, EpochInput, RuntimeError, Verdict};
use platform_types::RuntimePolicy;

fn epoch(payloads: &[Vec<u8>]) -> EpochInput {
    let answers = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| EpochAnswer {
            submission: [i as u8; 32],
            miner: [100 + i as u8; 32],
            payload: payload.clone(),
        })
        .collect();
    EpochInput { seed: [4; 32], epoch: 9, answers, participation: Default::default() }
}

/// An agent answering "breaks" to everything.
fn always_yes() -> Vec<u8> {
    wat(r#"(module (memory (export "memory") 1)
        (data (i32.const 64) "\01")
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_run") (param i32 i32) (result i64) i64.const 0x4000000001))"#)
}

#[test]
fn invariant_agent_scores_the_epochs_agents_against_their_consensus() {
    let rt = runtime();
    let module = rt.load(&challenge("invariant-agent"), &RuntimePolicy::default()).expect("loads");
    assert!(module.scores_epochs());
    let baseline = challenge("invariant-baseline");
    let input = epoch(&[baseline.clone(), baseline.clone(), baseline.clone(), always_yes(), b"not wasm".to_vec()]);
    let outcome = rt.score_epoch(&module, &input).expect("scores");
    assert_eq!(outcome.verdicts.len(), 5);
    let scores: Vec<u32> = outcome.verdicts.iter().map(|(v, _)| v.score_ppb()).collect();
    // The three correct agents (75 % of the four that answer) label every case; the always-yes
    // agent matches only the broken ones (it is faster, which the speed term rewards).
    let detail = |i: usize| match &outcome.verdicts[i].0 {
        Verdict::Scored { detail, .. } => String::from_utf8_lossy(detail).into_owned(),
        other => panic!("{other:?}"),
    };
    let broken = invariant_agent::cases(&input.seed).iter().filter(|c| c.breaks_invariant()).count();
    for i in 0..3 {
        assert!(detail(i).starts_with("agreed=64/64 labelled"), "{}", detail(i));
    }
    assert!(detail(3).starts_with(&format!("agreed={broken}/64 labelled")), "{}", detail(3));
    assert!(scores[0] > 0 && scores[0] == scores[1] && scores[1] == scores[2], "{scores:?}");
    assert!(scores[3] > 0, "{scores:?}");
    assert!(matches!(outcome.verdicts[4].0, Verdict::Rejected { .. }));
    // The same epoch again: the same output, fuel and verdicts.
    let again = rt.score_epoch(&module, &input).expect("scores again");
    assert_eq!(again.output_hash, outcome.output_hash);
    assert_eq!(again.fuel_used, outcome.fuel_used);
    assert_eq!(again.verdicts, outcome.verdicts);
    // The hash of a verdict is of its bytes alone: identical verdicts hash alike.
    assert_eq!(outcome.verdicts[0].1, outcome.verdicts[1].1);
}

#[test]
fn a_challenge_without_an_epoch_scorer_is_refused_one() {
    let rt = runtime();
    let module = rt.load(&challenge("regression"), &RuntimePolicy::default()).expect("loads");
    assert!(!module.scores_epochs());
    let err = rt.score_epoch(&module, &epoch(&[b"1 2 3 4 5".to_vec()])).expect_err("no scorer");
    assert!(matches!(err, RuntimeError::BadExport { .. }), "{err:?}");
}

/// A scorer exported with the wrong type is refused at load, like a wrong `platform_evaluate`.
#[test]
fn an_epoch_scorer_of_the_wrong_type_is_refused_at_load() {
    let rt = runtime();
    let module = wat(r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
        (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0)
        (func (export "platform_score_epoch") (param i32) (result i64) i64.const 0))"#);
    let err = rt.load(&module, &RuntimePolicy::default()).err().expect("refused");
    assert!(matches!(err, RuntimeError::BadExport { name: "platform_score_epoch", .. }), "{err:?}");
}

/// A scorer returning fewer verdicts than answers (here: none, "count 0") is a malformed output,
/// on every validator alike; so is one running away, which fuel ends.
#[test]
fn a_scorer_that_miscounts_or_runs_away_fails_deterministically() {
    let rt = runtime();
    let module = |body: &str| {
        wat(&format!(
            r#"(module (memory (export "memory") 1)
            (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0)
            (func (export "platform_score_epoch") (param i32 i32) (result i64) {body}))"#
        ))
    };
    let miscount = rt.load(&module("i64.const 0x0000080000000004"), &common::policy()).expect("loads");
    let err = rt.score_epoch(&miscount, &epoch(&[vec![1], vec![2]])).expect_err("miscounted");
    assert!(matches!(err, RuntimeError::MalformedOutput(ref m) if m.contains("0 verdicts for 2 answers")), "{err:?}");
    let spinner = rt.load(&module("(loop br 0) i64.const 0"), &common::policy()).expect("loads");
    let err = rt.score_epoch(&spinner, &epoch(&[vec![1]])).expect_err("runs away");
    assert!(matches!(err, RuntimeError::OutOfFuel { .. }), "{err:?}");
}

/// An epoch scorer does an evaluation's work for each answer: its fuel and deadline are the
/// policy's times the answers, so that a busy epoch is not rejected whole where each answer
/// alone would fit (its input and memory caps stay the policy's).
#[test]
fn the_scorers_fuel_grows_with_the_answers() {
    let rt = runtime();
    // 20 000 loop turns per answer, then `count` verdicts "scored 0" (zeroed memory).
    let scorer = wat(r#"(module (memory (export "memory") 1)
        (func (export "platform_alloc") (param i32) (result i32) i32.const 16384)
        (func (export "platform_evaluate") (param i32 i32) (result i64) i64.const 0)
        (func (export "platform_score_epoch") (param $ptr i32) (param $len i32) (result i64)
          (local $count i32) (local $turns i32)
          (local.set $count (i32.load (i32.add (local.get $ptr) (i32.const 44))))
          (local.set $turns (i32.mul (local.get $count) (i32.const 20000)))
          (block $done (loop $spin
            (br_if $done (i32.eqz (local.get $turns)))
            (local.set $turns (i32.sub (local.get $turns) (i32.const 1)))
            (br $spin)))
          (i32.store (i32.const 2048) (local.get $count))
          (i64.or (i64.shl (i64.const 2048) (i64.const 32))
            (i64.extend_i32_u (i32.add (i32.const 4) (i32.mul (local.get $count) (i32.const 9)))))))"#);
    let generous = rt.load(&scorer, &RuntimePolicy::default()).expect("loads");
    let one = rt.score_epoch(&generous, &epoch(&[vec![1]])).expect("scores").fuel_used;
    let three = rt.score_epoch(&generous, &epoch(&[vec![1], vec![2], vec![3]])).expect("scores").fuel_used;
    assert!(three > 2 * one, "the work grows with the answers: {one} then {three}");
    // A budget one answer's run fits in, half again: three answers' run needs more than that,
    // and gets three times it.
    let policy = RuntimePolicy { fuel_limit: one * 3 / 2, ..RuntimePolicy::default() };
    let tight = rt.load(&scorer, &policy).expect("loads");
    let outcome = rt.score_epoch(&tight, &epoch(&[vec![1], vec![2], vec![3]])).expect("fits three budgets");
    assert_eq!((outcome.fuel_used, outcome.verdicts.len()), (three, 3));
    assert!(three > policy.fuel_limit, "one evaluation's budget would not have held it");
}

/// compute-lease reads each miner's participation through the host (ABI version 4): its score is
/// scaled by the share of the window's epochs the miner answered in, as the validator served it;
/// a miner the host has no history for is refused.
#[test]
fn compute_lease_scales_by_the_participation_the_host_serves() {
    let rt = runtime();
    let module = rt.load(&challenge("compute-lease"), &RuntimePolicy::default()).expect("loads");
    assert!(module.scores_epochs());
    let p = compute_lease::Params::default();
    let mut input = epoch(&[Vec::new(), Vec::new()]);
    for (i, answer) in input.answers.iter_mut().enumerate() {
        let workers: Vec<_> = (0..3u8)
            .map(|w| compute_lease::solve(9, &answer.miner, [w + 10 * i as u8; 32], true, p.difficulty))
            .collect();
        answer.payload = compute_lease::encode(&workers);
    }
    let full = input.answers[0].miner;
    input.participation.insert(full, u32::MAX);
    input.participation.insert(input.answers[1].miner, 0b1111);
    let outcome = rt.score_epoch(&module, &input).expect("scores");
    let scores: Vec<u32> = outcome.verdicts.iter().map(|(v, _)| v.score_ppb()).collect();
    assert_eq!(scores, vec![1_000_000_000, 500_000_000], "available in 8 and in 4 of 8 epochs");
    input.participation.remove(&full);
    let outcome = rt.score_epoch(&module, &input).expect("scores");
    assert!(matches!(&outcome.verdicts[0].0, Verdict::Rejected { reason } if reason.contains("participation")));
}
