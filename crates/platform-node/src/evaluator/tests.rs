use platform_runtime::{EpochAnswer, EpochInput, RuntimeOptions};
use platform_types::{Hash, Keypair, RuntimePolicy};

use super::*;

fn module(runtime: &Runtime, body: &str, policy: &RuntimePolicy) -> ChallengeModule {
    let wasm = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
          (data (i32.const 2048) "\00\2a\00\00\00\00\00\00\00")
          (func (export "platform_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "platform_evaluate") (param i32 i32) (result i64) {body} i64.const 0x80000000009))"#
    ))
    .expect("wat");
    runtime.load(&wasm, policy).expect("module loads")
}

fn job() -> Job {
    Job {
        id: SubmissionId(Hash::from_bytes([1; 32])),
        challenge: ChallengeId::new("c").expect("id"),
        block_hash: Hash::from_bytes([2; 32]),
        epoch: Epoch::new(1),
        miner: Keypair::from_suri("//Miner").expect("key").public(),
        payload: Some(vec![1, 2, 3]),
        opens: None,
    }
}

/// A reveal whose commitment's payload this validator cannot read is abstained from (the
/// network failed it, not the miner), and the job keeps its payload for another try.
#[test]
fn a_reveal_without_its_commitments_payload_is_abstained_from() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let module = module(&runtime, "", &RuntimePolicy::default());
    let revealed = platform_app::Revealed {
        commitment: SubmissionId(Hash::from_bytes([3; 32])),
        task_seed: Hash::from_bytes([4; 32]),
        sampling_seed: Hash::from_bytes([5; 32]),
    };
    let mut job = Job { opens: Some(Opens::new(&revealed, None)), ..job() };
    match run(&runtime, &module, &mut job) {
        Outcome::Abstain(reason) => assert!(reason.contains("commitment"), "{reason}"),
        Outcome::Verdict(result) => panic!("signed without the commitment: {result:?}"),
    }
    assert_eq!(job.payload, Some(vec![1, 2, 3]));
    job.opens = Some(Opens::new(&revealed, Some(vec![9; 32])));
    assert!(matches!(run(&runtime, &module, &mut job), Outcome::Verdict(_)), "with it, a verdict");
}

/// Hole: a wall-clock deadline (this machine's speed) was signed as a rejection scoring 0,
/// so honest validators disagreed and one could be excluded as an outlier.
#[test]
fn a_wall_clock_deadline_is_not_signed_as_a_verdict() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let policy = RuntimePolicy { fuel_limit: u64::MAX / 4, deadline_ms: 100, ..RuntimePolicy::default() };
    let module = module(&runtime, "(loop br 0)", &policy);
    let mut job = job();
    match run(&runtime, &module, &mut job) {
        Outcome::Abstain(reason) => assert!(reason.contains("deadline"), "{reason}"),
        Outcome::Verdict(result) => panic!("a deadline became a verdict: {result:?}"),
    }
    assert_eq!(job.payload.as_deref(), Some(&[1u8, 2, 3][..]), "the payload is kept to try again");
}

#[test]
fn running_out_of_fuel_is_a_signed_rejection() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let policy = RuntimePolicy { fuel_limit: 10_000, ..RuntimePolicy::default() };
    let module = module(&runtime, "(loop br 0)", &policy);
    match run(&runtime, &module, &mut job()) {
        Outcome::Verdict(result) => assert_eq!(result.status, EvaluationStatus::Rejected),
        Outcome::Abstain(reason) => panic!("fuel exhaustion is deterministic, not local: {reason}"),
    }
}

/// The size a validator counts while reading an epoch's payloads is the encoded input's.
#[test]
fn the_counted_epoch_input_size_is_the_encoded_one() {
    for lens in [vec![], vec![0], vec![1, 300, 0, 70_000]] {
        let answers = lens
            .iter()
            .map(|&len| EpochAnswer { submission: [1; 32], miner: [2; 32], payload: vec![7; len as usize] })
            .collect();
        let input = EpochInput { seed: [3; 32], epoch: 4, answers, participation: Default::default() };
        assert_eq!(epoch_input_bytes(lens.iter().copied()), input.encode().len() as u64, "{lens:?}");
    }
}

/// An epoch whose payloads pass the input cap is rejected the same whether the validator
/// read them all and the sandbox refused the input, or stopped reading at the cap.
#[test]
fn an_epoch_over_the_input_cap_is_rejected_alike_read_or_not() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let policy = RuntimePolicy { max_input_bytes: 1024, ..RuntimePolicy::default() };
    let wasm = wat::parse_str(crate::sim::sandbox::EPOCH_MODULE_WAT).expect("wat");
    let module = runtime.load(&wasm, &policy).expect("loads");
    let validator = Keypair::from_suri("//V").expect("key").public();
    let author = Author { validator, invert_scores: false };
    let miner = Keypair::from_suri("//Miner").expect("key").public();
    let job = |payload: Option<Vec<u8>>, too_large| EpochJob {
        challenge: ChallengeId::new("c").expect("id"),
        epoch: Epoch::new(2),
        seed: [5; 32],
        answers: (0..3u8)
            .map(|i| Answer { id: SubmissionId(Hash::from_bytes([i; 32])), miner, payload: payload.clone() })
            .collect(),
        too_large,
        participation: Default::default(),
    };
    let verdicts = |own: Vec<(SubmissionId, OwnVerdict)>| -> Vec<(SubmissionId, EvaluationStatus, u32, Hash)> {
        own.into_iter()
            .map(|(id, s)| {
                let e = s.evaluation;
                (id, e.status, e.score_ppb, e.output_hash)
            })
            .collect()
    };
    let read = evaluate_epoch(&runtime, &module, &author, job(Some(vec![9; 400]), None)).expect("verdicts");
    let stopped = evaluate_epoch(&runtime, &module, &author, job(None, Some(1100))).expect("verdicts");
    let (read, stopped) = (verdicts(read), verdicts(stopped));
    assert_eq!(read, stopped);
    assert!(read.iter().all(|v| v.1 == EvaluationStatus::Rejected), "{read:?}");
    // Under the cap the same answers are scored.
    let small = evaluate_epoch(&runtime, &module, &author, job(Some(vec![9; 100]), None)).expect("verdicts");
    assert!(verdicts(small).iter().all(|v| v.1 == EvaluationStatus::Scored));
}

#[tokio::test]
async fn the_worker_abstains_after_its_attempts_instead_of_signing() {
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let policy = RuntimePolicy { fuel_limit: u64::MAX / 4, deadline_ms: 50, ..RuntimePolicy::default() };
    let module = module(&runtime, "(loop br 0)", &policy);
    let validator = Keypair::from_suri("//V").expect("key").public();
    let worker = Worker::start(runtime, Author { validator, invert_scores: false }).expect("worker");
    let evaluated = worker.evaluate(module, job()).await.expect("worker running");
    let abstention = evaluated.expect_err("no signed evaluation");
    assert!(abstention.reason.contains("deadline"), "{}", abstention.reason);
}
