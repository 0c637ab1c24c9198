use super::*;

const D: Exponents = Exponents::DEFAULT;

/// α, β, γ from the owner's parameters (BitDefense's formula with its exponents chosen):
/// each raises its factor; none are 1, 1, 1; anything else is refused, saying why.
#[test]
fn the_exponents_come_from_the_parameters() {
    assert_eq!(Exponents::from_params(&[]), Ok(D));
    assert_eq!(Exponents::from_params(&[2, 1, 0]), Ok(Exponents { alpha: 2, beta: 1, gamma: 0 }));
    assert_eq!(Exponents::from_params(&[8, 8, 8]).map(|e| e.gamma), Ok(8));
    assert!(Exponents::from_params(&[9, 1, 1]).is_err(), "above the largest exponent");
    assert!(Exponents::from_params(&[1, 1]).is_err() && Exponents::from_params(&[1; 4]).is_err());
    // Half the cases answered (all right) at twice the target fuel: N = 1/2, A = 1/2 of all
    // cases, speed 1/2.
    let mut results = [(true, true, TARGET_FUEL * 2); 10];
    for r in results.iter_mut().take(5) {
        *r = (false, false, 0);
    }
    let with = |alpha, beta, gamma| score(&results, Exponents { alpha, beta, gamma }).0;
    assert_eq!(with(1, 1, 1), PPB / 8);
    assert_eq!(with(2, 1, 1), PPB / 16, "α squares coverage");
    assert_eq!(with(1, 0, 1), PPB / 4, "β = 0 leaves accuracy out");
    assert_eq!(with(0, 0, 3), PPB / 8, "γ cubes speed");
    assert_eq!(with(0, 0, 0), PPB);
}

#[test]
fn cases_are_seeded_and_mixed() {
    let a = cases(&[1; 32]);
    assert_eq!(a, cases(&[1; 32]));
    assert_ne!(a, cases(&[2; 32]));
    let broken = a.iter().filter(|c| c.breaks_invariant()).count();
    assert!((10..40).contains(&broken), "{broken} of {CASES}");
    for case in &a {
        assert_eq!(Case::decode(&case.encode()), Some(*case));
    }
}

#[test]
fn the_score_follows_the_formula() {
    let all = |fuel| [(true, true, fuel); 10];
    assert_eq!(score(&all(TARGET_FUEL), D).0, PPB);
    assert_eq!(score(&all(TARGET_FUEL / 2), D).0, PPB, "faster than the target earns no more");
    assert_eq!(score(&all(TARGET_FUEL * 2), D).0, PPB / 2);
    let mut half_wrong = all(TARGET_FUEL);
    for r in half_wrong.iter_mut().take(5) {
        r.1 = false;
    }
    assert_eq!(score(&half_wrong, D).0, PPB / 2);
    let mut half_unanswered = all(TARGET_FUEL);
    for r in half_unanswered.iter_mut().take(5) {
        *r = (false, false, CASE_FUEL);
    }
    assert_eq!(score(&half_unanswered, D).0, PPB / 4, "N and A both halve");
    assert_eq!(score(&[(false, false, 0); 4], D).0, 0);
}

#[test]
fn a_label_holds_from_sixty_percent_of_the_answers_given() {
    let votes = |yes: usize, no: usize, silent: usize| {
        core::iter::repeat_n(Some(true), yes)
            .chain(core::iter::repeat_n(Some(false), no))
            .chain(core::iter::repeat_n(None, silent))
    };
    assert_eq!(consensus_label(votes(3, 2, 0)), Some(true), "exactly 60 %");
    assert_eq!(consensus_label(votes(2, 3, 0)), Some(false));
    assert_eq!(consensus_label(votes(59, 41, 0)), None, "59 % is short");
    assert_eq!(consensus_label(votes(1, 1, 0)), None);
    assert_eq!(consensus_label(votes(3, 2, 10)), Some(true), "the silent do not vote");
    assert_eq!(consensus_label(votes(0, 0, 4)), None);
    assert_eq!(consensus_label(votes(1, 0, 0)), Some(true));
}

/// An agent that answers every case right, one that always says "breaks", and one that is no
/// module: the first two vote, the label is the first's wherever 60 % agree.
#[test]
fn the_epoch_scores_each_agent_against_the_agents_consensus() {
    let seed = [9; 32];
    let truth = |bytes: &[u8]| Case::decode(bytes).is_some_and(|c| c.breaks_invariant());
    let answer = |flag: bool| NestedRun {
        status: NestedStatus::Ok,
        fuel_used: TARGET_FUEL,
        output: alloc::vec![u8::from(flag)],
    };
    // Three right, one always-yes, one invalid.
    let verdicts = score_epoch_with(&seed, D, 5, |agent, case| match agent {
        0..=2 => answer(truth(case)),
        3 => answer(true),
        _ => NestedRun { status: NestedStatus::InvalidModule, fuel_used: 0, output: alloc::vec![] },
    });
    assert_eq!(verdicts.len(), 5);
    // 3 of 4 (75 %) agree with the truth on every case: every case is labelled by it.
    for v in &verdicts[..3] {
        assert_eq!(v.score_ppb(), PPB, "{v:?}");
    }
    let broken = cases(&seed).iter().filter(|c| c.breaks_invariant()).count() as u64;
    assert_eq!(u64::from(verdicts[3].score_ppb()), broken * u64::from(PPB) / CASES as u64);
    assert!(matches!(verdicts[4], Verdict::Rejected { .. }));

    // Two right against two always-yes: only the cases that break an invariant reach 60 %
    // (4 of 4 say yes); the others are 2 against 2 and carry no label. So the always-yes
    // agents match every labelled case as well as the right ones.
    let split = score_epoch_with(&seed, D, 4, |agent, case| answer(if agent < 2 { truth(case) } else { true }));
    assert!(split.iter().all(|v| v.score_ppb() == PPB), "{split:?}");
    // And with nobody's answers, nothing is labelled and nobody scores.
    assert!(score_epoch_with(&seed, D, 0, |_, _| answer(true)).is_empty());
}

#[test]
fn a_perfect_native_agent_scores_by_speed_and_a_missing_runtime_is_a_rejection() {
    let perfect = evaluate_with(&[5; 32], D, |bytes| NestedRun {
        status: NestedStatus::Ok,
        fuel_used: TARGET_FUEL * 4,
        output: alloc::vec![u8::from(Case::decode(bytes).is_some_and(|c| c.breaks_invariant()))],
    });
    assert_eq!(perfect.score_ppb(), PPB / 4);
    assert!(matches!(
        evaluate(&Input { seed: [0; 32], epoch: 0, miner: [0; 32], commitment: None, payload: b"" }),
        Verdict::Rejected { .. }
    ));
}
