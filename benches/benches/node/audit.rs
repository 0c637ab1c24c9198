//! The `audit` part: how fast `validator-node audit` replays a validator's history, against the
//! sandbox's own evaluation rate in the same run.
//!
//! Four validators (devnet, real runtime under chopsticks) commit `AUDIT_SUBMISSIONS` regression
//! submissions in waves over several epochs, and their evaluations and weights; validator 0 is
//! stopped and its data directory audited twice: blocks only (`--sample 0`: certificates, rules,
//! weights recomputed), then with every evaluation run again (the difference is the evaluations). The baseline evaluates the same payloads with the same module directly
//! on one sandbox (`evaluator::run`, as a validator's evaluation thread does).

use std::time::{Duration, Instant};

use platform_devnet::Devnet;
use platform_node::Query;
use platform_node::audit::{AuditOptions, SNAPSHOT_INTERVAL, replay_dir};
use platform_node::evaluator::{Job, Outcome, run};
use platform_runtime::{Runtime, RuntimeOptions};
use platform_types::{ChallengeId, Epoch, Hash, NetUid, Payload, RuntimePolicy, Submission, SubmissionId};

use super::{NETUID, config, progress, regression_wasm, sign_submissions};

/// Submissions committed before the audit, in waves.
const AUDIT_SUBMISSIONS: usize = 2_000;
const WAVES: usize = 10;

pub async fn audit(rows: &mut Vec<String>) {
    let work = tempfile::tempdir().expect("tempdir");
    eprintln!("audit: starting 4 validators");
    let mut net = Devnet::start(config(work.path(), 4, 250), &mut progress).await.expect("devnet");
    net.add_challenge("regression", regression_wasm(), 1_000_000_000, Duration::from_secs(60)).await.expect("add");
    let envelopes = sign_submissions(&net.miners, AUDIT_SUBMISSIONS, 1);
    let submissions: Vec<Submission> =
        envelopes.iter().map(|e| e.open::<Submission>(NetUid::new(NETUID)).expect("signed").message).collect();
    // In waves, the chain moving an epoch after every second one: blocks of every kind (orders,
    // evaluations, metagraph snapshots, weights, retirements) over several epochs.
    let node = net.node(0).expect("validator 0");
    let mut ids = Vec::new();
    for (wave, chunk) in envelopes.chunks(AUDIT_SUBMISSIONS / WAVES).enumerate() {
        for envelope in chunk {
            ids.push(node.submit(envelope.clone(), None).await.expect("accepted"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        if wave % 2 == 1 {
            net.local.new_blocks(u32::from(net.config.tempo) + 1).await.expect("chain blocks");
        }
    }
    eprintln!("audit: {} submitted; waiting until every one is final", ids.len());
    let deadline = Instant::now() + Duration::from_secs(600);
    for id in &ids {
        while node.query(Query::Submission(*id)).await.expect("status")["final"] != true {
            assert!(Instant::now() < deadline, "{id} not final within 10 minutes");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    net.local.new_blocks(u32::from(net.config.tempo) + 1).await.expect("chain blocks");
    tokio::time::sleep(Duration::from_secs(5)).await;
    net.stop_node(0).await;
    let dir = net.data_dir(0);
    let options = |sample| AuditOptions {
        netuid: NetUid::new(NETUID),
        sudo: vec![net.owner.public()],
        min_stake_rao: platform_node::config::DEFAULT_MIN_STAKE * platform_node::config::RAO_PER_TAO,
        snapshot_interval: SNAPSHOT_INTERVAL,
        sample,
    };
    let timed = |sample| {
        let (dir, options) = (dir.clone(), options(sample));
        let start = Instant::now();
        let report = replay_dir(&dir, &options).expect("the audit runs");
        (report, start.elapsed())
    };
    let (blocks_only, blocks_took) = tokio::task::block_in_place(|| timed(0));
    let (with_evaluations, all_took) = tokio::task::block_in_place(|| timed(1));
    assert!(!blocks_only.differs() && !with_evaluations.differs(), "an honest history agrees");
    assert_eq!(with_evaluations.evaluations.rerun as usize, ids.len(), "every submission run again");

    // Baseline: the same payloads on one sandbox, as a validator's evaluation thread runs them.
    let runtime = Runtime::new(RuntimeOptions::default()).expect("runtime");
    let module = runtime.load(&regression_wasm(), &RuntimePolicy::default()).expect("module");
    let start = Instant::now();
    for (n, submission) in submissions.iter().enumerate() {
        let Payload::Inline(payload) = &submission.payload else { unreachable!("inline payloads") };
        let mut job = Job {
            id: SubmissionId(Hash::from_bytes([n as u8; 32])),
            challenge: ChallengeId::new("regression").expect("id"),
            block_hash: Hash::from_bytes([7; 32]),
            epoch: Epoch::new(1),
            miner: submission.miner,
            payload: Some(payload.clone()),
            opens: None,
        };
        assert!(matches!(run(&runtime, &module, &mut job), Outcome::Verdict(_)));
    }
    let baseline = submissions.len() as f64 / start.elapsed().as_secs_f64();

    // Opening the store, the replay and the checks are the same in both runs: the difference is
    // the evaluations (the module compiled once, then every submission run again).
    let blocks_rate = blocks_only.blocks as f64 / blocks_took.as_secs_f64();
    let evaluating = all_took.saturating_sub(blocks_took);
    let rerun_rate = with_evaluations.evaluations.rerun as f64 / evaluating.as_secs_f64();
    rows.push(format!(
        "| audit replay, blocks only ({} blocks, {} epochs' weights recomputed, every certificate and rule checked) | {:.2} s: **{blocks_rate:.0} blocks/s** | | |",
        blocks_only.blocks,
        blocks_only.epochs.len(),
        blocks_took.as_secs_f64()
    ));
    rows.push(format!(
        "| audit replay with every evaluation run again ({} submissions, {} committed verdicts compared) | {:.2} s, {:.2} s more: **{rerun_rate:.0} evaluations/s** | the sandbox alone, same payloads: {baseline:.0} evaluations/s | {:.2} |",
        with_evaluations.evaluations.rerun,
        with_evaluations.evaluations.agreed,
        all_took.as_secs_f64(),
        evaluating.as_secs_f64(),
        rerun_rate / baseline
    ));
    net.shutdown().await;
}
