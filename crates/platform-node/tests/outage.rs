//! Item 7 of the mainnet-weights issue, at the node: while the chain is unreachable a validator
//! keeps ordering and evaluating (a submission made during the outage reaches its final score),
//! and when the chain returns it follows it again and its weights land; a submission refused
//! for a transient reason is sent again. One validator over the in-memory chain double.

mod lone;
mod support;

use std::time::Duration;

use lone::{NETUID, chain, key, now_ms, start, until};
use platform_chain::{Chain, WeightsCall};
use platform_node::Query;
use platform_types::{ChallengeId, Envelope, MechanismId, NetUid, Payload, Submission, SudoAction, SudoCommand};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_and_evaluation_go_on_while_the_chain_is_down_and_weights_land_when_it_returns() {
    let (validator, miner, owner) = (key("Validator"), key("Miner"), key("Owner"));
    let dir = tempfile::tempdir().expect("dir");
    let chain = chain(&validator, &miner, &owner);
    let node = start(dir.path(), chain.clone(), &owner).await;
    let wasm =
        std::fs::read(support::regression_wasm()).expect("challenges/dist/regression.wasm (challenges/build.sh)");
    let spec = platform_devnet::challenge_spec("regression", &wasm, 1_000_000_000).expect("spec");
    let action = SudoAction { command: SudoCommand::AddChallenge(spec), nonce: 1, timestamp_ms: now_ms() };
    let id = node.sudo(Envelope::seal(&owner, NetUid::new(NETUID), &action), Some(wasm)).await.expect("accepted");
    until(&node, Query::Sudo(id), "the challenge to be added", |a| a["status"] == "committed").await;

    // The chain goes away: every call fails, no block arrives.
    chain.set_reachable(false);
    let height = |a: &serde_json::Value| a["tip"]["height"].as_u64().unwrap_or(0);
    let before = height(&node.query(Query::Consensus).await.expect("consensus"));
    let submission = Submission {
        challenge: ChallengeId::new("regression").expect("id"),
        miner: miner.public(),
        payload: Payload::Inline(b"1.5 -2 0.25 5 -0.5".to_vec()),
        payload_size: 18,
        metadata: vec![],
        nonce: 1,
        timestamp_ms: now_ms(),
        phase: Default::default(),
    };
    let sid = node.submit(Envelope::seal(&miner, NetUid::new(NETUID), &submission), None).await.expect("admitted");
    until(&node, Query::Submission(sid), "a final score during the outage", |s| s["final"] == true).await;
    until(&node, Query::Consensus, "blocks committed during the outage", |a| height(a) >= before + 5).await;
    chain.produce_blocks(30); // the chain moves on where this validator cannot see it
    assert!(chain.submitted().is_empty(), "nothing can have been sent");

    // The chain returns, and the first two weights transactions fail as a dropped connection
    // would: the validator follows the chain again, and its weights land all the same.
    chain.fail_next_submissions(2);
    chain.set_reachable(true);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        chain.produce_blocks(1);
        let sent = chain.submitted();
        if sent.iter().any(|(k, c)| *k == validator.public() && matches!(c, WeightsCall::Set(_))) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "weights never landed after the chain returned: {sent:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(chain.failures_left(), 0, "the two failed sends were retried");
    let weights = chain.weights(NetUid::new(NETUID), MechanismId::new(0), 0, None).await.expect("weights");
    assert!(weights.iter().any(|(uid, w)| *uid == 1 && *w > 0), "the miner's weight on chain: {weights:?}");
    // The failed send was sent again within its epoch (the retry counter), and the epoch's
    // end bounds the retries: with 5-second epochs here the next epoch's weights land.
    let metrics = ureq::get(&format!("http://{}/metrics", node.http_addr))
        .call()
        .expect("GET /metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    let retries = metrics
        .lines()
        .find(|l| l.starts_with(r#"platform_weights_submissions_total{path="retry",outcome="refused"}"#))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok());
    assert!(retries.is_some_and(|n| n >= 1.0), "{metrics}");
    node.shutdown().await;
}
