//! One validator run as its own `validator-node` process next to three in-process validators,
//! against the real subtensor runtime (chopsticks):
//!
//! - it acknowledges a submission and is killed with SIGKILL straight after; the other three
//!   keep committing, far beyond one catch-up batch; restarted from its data directory it
//!   catches up, still holds what it acknowledged, and votes again;
//! - a payload over the inline limit travels as a blob and every validator scores it alike;
//! - the metagraph drops one validator's stake: the set changes through consensus;
//! - SetRequiredVersion above this build: every validator stops voting and says so in /health.

#[path = "../../../crates/platform-node/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use platform_devnet::now_ms;
use platform_node::Query;
use platform_types::{ChallengeId, Envelope, Keypair, NetUid, Payload, Submission, SudoCommand, Version, blake2b_256};
use serde_json::{Value, json};
fn spawn(settings: &platform_node::Settings, log: &std::path::Path) -> std::process::Child {
    support::spawn_validator(env!("CARGO_BIN_EXE_validator-node"), settings, log, &[])
}

use support::{eventually, free_port, get, height, post, root};

fn submission(miner: &Keypair, payload: Vec<u8>, nonce: u64) -> (Envelope, Option<Vec<u8>>) {
    let size = payload.len() as u64;
    let (payload, blob) = if payload.len() > platform_types::limits::MAX_INLINE_PAYLOAD_BYTES {
        (Payload::Blob(blake2b_256(&payload)), Some(payload))
    } else {
        (Payload::Inline(payload), None)
    };
    let submission = Submission {
        challenge: ChallengeId::new("regression").expect("id"),
        miner: miner.public(),
        payload,
        payload_size: size,
        metadata: vec![],
        nonce,
        timestamp_ms: now_ms(),
        phase: Default::default(),
    };
    (Envelope::seal(miner, NetUid::new(1), &submission), blob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_validator_process_recovers_and_the_network_follows_the_chain_and_the_owner() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(net) = support::devnet(work.path(), 4, 1, 2).await else { return };

    // Seat 3 runs as a process.
    let mut settings = net.settings(3);
    settings.http_addr = Some(format!("127.0.0.1:{}", free_port()));
    let url3 = format!("http://{}", settings.http_addr.as_deref().expect("addr"));
    let log = work.path().join("validator-3.log");
    let mut child = spawn(&settings, &log);
    eventually("the process to commit blocks", Duration::from_secs(90), || (height(&url3) >= 2).then_some(())).await;
    let wasm = std::fs::read(root().join("challenges/dist/regression.wasm")).expect("run challenges/build.sh");
    net.add_challenge("regression", wasm, 1_000_000_000, Duration::from_secs(60)).await.expect("challenge added");
    eventually("the process to load the challenge", Duration::from_secs(60), || {
        (get(&format!("{url3}/challenges")).1[0]["module_loaded"] == true).then_some(())
    })
    .await;

    // Acknowledged, then SIGKILL.
    let miner = net.miners[0].clone();
    let (envelope, _) = submission(&miner, b"1.5 -2 0.25 5 -0.5".to_vec(), 1);
    let (status, body) = post(&format!("{url3}/submissions"), json!({ "envelope": hex::encode(envelope.to_bytes()) }));
    assert_eq!(status, 202, "{body}");
    let acknowledged = body["id"].as_str().expect("id").to_owned();
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    // The other three keep committing, more than one catch-up batch (64 blocks) ahead.
    let node0 = net.node(0).expect("validator 0");
    let url0 = net.url(0).expect("url");
    let h = |v: Value| v["tip"]["height"].as_u64().unwrap_or(0);
    let killed_at = h(node0.query(Query::Consensus).await.expect("info"));
    let (envelope, _) = submission(&miner, b"1 -2 0.25 5 -0.5".to_vec(), 2);
    let while_down = node0.submit(envelope, None).await.expect("accepted while one is down").to_string();
    net.wait_for_height(killed_at + 80, Duration::from_secs(120)).await.expect("three keep committing");

    // Restarted from its data directory: it catches up and keeps what it acknowledged.
    let mut child = spawn(&settings, &log);
    let target = h(node0.query(Query::Consensus).await.expect("info"));
    eventually("the restarted process to catch up", Duration::from_secs(120), || {
        (height(&url3) >= target).then_some(())
    })
    .await;
    for id in [&acknowledged, &while_down] {
        let at0 = eventually("a final score on validator 0", Duration::from_secs(60), || {
            let (_, s) = get(&format!("{url0}/submissions/{id}"));
            (s["final"] == true).then_some(s)
        })
        .await;
        let at3 = eventually("the same final score on the restarted process", Duration::from_secs(60), || {
            let (_, s) = get(&format!("{url3}/submissions/{id}"));
            (s["final"] == true).then_some(s)
        })
        .await;
        assert_eq!(at0["score_ppb"], at3["score_ppb"], "{id}");
    }
    // It votes again: its own evaluation of a submission made after the restart is committed.
    let (envelope, _) = submission(&miner, b"0.5 -2 0.25 5 -0.5".to_vec(), 3);
    let after = node0.submit(envelope, None).await.expect("accepted").to_string();
    let me = net.validators[3].public().to_ss58();
    eventually("the restarted validator's evaluation committed", Duration::from_secs(60), || {
        let (_, s) = get(&format!("{url3}/submissions/{after}"));
        let evaluations = s["evaluations"].as_array().cloned().unwrap_or_default();
        evaluations.iter().any(|e| e["validator"] == me.as_str()).then_some(())
    })
    .await;

    // A payload over the inline limit travels as a blob; validators without it fetch it by hash.
    let big: Vec<u8> = std::iter::repeat_n(b"1 ".as_slice(), 150_000).flatten().copied().collect();
    assert!(big.len() > 256 * 1024);
    let (envelope, blob) = submission(&net.miners[1], big, 1);
    assert!(blob.is_some());
    let (status, body) = post(
        &format!("{url3}/submissions"),
        json!({ "envelope": hex::encode(envelope.to_bytes()), "blob": hex::encode(blob.expect("blob")) }),
    );
    assert_eq!(status, 202, "{body}");
    let big_id = body["id"].as_str().expect("id").to_owned();
    let mut big_scores = Vec::new();
    for i in 0..3 {
        let url = net.url(i).expect("url");
        let s = eventually("the blob submission final everywhere", Duration::from_secs(90), || {
            let (_, s) = get(&format!("{url}/submissions/{big_id}"));
            (s["final"] == true).then_some(s)
        })
        .await;
        big_scores.push(s["score_ppb"].clone());
    }
    assert!(big_scores.iter().all(|s| *s == big_scores[0]), "{big_scores:?}");

    // The chain drops validator 2's stake below the minimum: at the next epoch boundary the
    // set changes through consensus.
    net.local
        .set_storage(json!({ "SubtensorModule": { "TotalHotkeyAlpha": [
            [[net.validators[2].public().to_ss58(), 1], 0]
        ] } }))
        .await
        .expect("storage");
    net.local.new_blocks(u32::from(net.config.tempo) + 2).await.expect("blocks");
    let dropped = net.validators[2].public().to_ss58();
    eventually("the validator set without validator 2", Duration::from_secs(90), || {
        let info = tokio::runtime::Handle::current().block_on(node0.query(Query::Consensus)).expect("info");
        let validators = info["validators"].as_array().cloned().unwrap_or_default();
        (validators.len() == 3 && validators.iter().all(|v| v["hotkey"] != dropped.as_str())).then_some(())
    })
    .await;
    let before = h(node0.query(Query::Consensus).await.expect("info"));
    eventually("the three remaining validators to commit on", Duration::from_secs(60), || {
        (height(&url3) >= before + 3 && height(&url0) >= before + 3).then_some(())
    })
    .await;

    // SetRequiredVersion above this build: every validator stops voting and says why.
    let current = platform_node::node_version();
    let required = Version { major: current.major + 1, minor: 0, patch: 0 };
    net.sudo(0, SudoCommand::SetRequiredVersion(required), None).await.expect("sent");
    eventually("the process to stop voting", Duration::from_secs(60), || {
        let (status, health) = get(&format!("{url3}/health"));
        (status == 503 && health["outdated"].as_str().is_some_and(|s| s.contains("does not vote"))).then_some(())
    })
    .await;
    let halted = h(node0.query(Query::Consensus).await.expect("info"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(h(node0.query(Query::Consensus).await.expect("info")) <= halted + 1, "outdated validators kept voting");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("follows without voting"), "the log says why it stopped voting");

    child.kill().expect("stop");
    let _ = child.wait();
    net.shutdown().await;
}
