//! `miner-cli submit`, `status` and `scores` against a running validator on the real runtime,
//! and a one-line reason with a non-zero exit for every failure a miner can cause.

#[path = "../../../crates/platform-node/tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};
use std::time::Duration;

use support::{one_validator, regression_wasm, show};

fn miner_cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miner-cli")).args(args).output().expect("miner-cli runs")
}

fn one_line_failure(output: &Output, expected: &str) {
    assert!(!output.status.success(), "{}", show(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{}", show(output));
    assert!(stderr.contains(expected), "expected {expected:?}: {}", show(output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_submits_follows_and_reads_the_leaderboard() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(net) = one_validator(work.path()).await else { return };
    let wasm = std::fs::read(regression_wasm()).expect("run challenges/build.sh");
    net.add_challenge("regression", wasm, 1_000_000_000, Duration::from_secs(60)).await.expect("challenge");
    let url = net.url(0).expect("url");
    let payload = work.path().join("payload.txt");
    std::fs::write(&payload, "1.5 -2 0.25 5 -0.5").expect("payload");
    let payload = payload.to_str().expect("utf-8");
    let miner = "//Platform//miner0";
    let common = ["--node", url.as_str(), "--netuid", "1"];

    let (url2, payload2) = (url.clone(), payload.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        miner_cli(&[
            "submit",
            "--challenge",
            "regression",
            "--payload",
            &payload2,
            "--key",
            miner,
            "--wait",
            "--output",
            "json",
            "--node",
            &url2,
            "--netuid",
            "1",
        ])
    })
    .await
    .expect("joined");
    assert!(output.status.success(), "{}", show(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json status");
    assert_eq!(status["final"], true, "{status}");
    let id = status["id"].as_str().expect("id").to_owned();
    let score = status["score_ppb"].as_u64().expect("score");

    let output = miner_cli(&[&["status", &id, "--once"][..], &common].concat());
    assert!(output.status.success(), "{}", show(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains(&id), "{}", show(&output));

    let output = miner_cli(&[&["scores", "--challenge", "regression", "--output", "json"][..], &common].concat());
    assert!(output.status.success(), "{}", show(&output));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json rows");
    assert_eq!(rows[0]["miner"], net.miners[0].public().to_ss58(), "{rows}");
    assert_eq!(rows[0]["score_ppb"].as_u64(), Some(score), "{rows}");

    // Failures a person can cause.
    let submit = |challenge: &str, payload: &str, key: &str, node: &str| {
        miner_cli(&[
            "submit",
            "--challenge",
            challenge,
            "--payload",
            payload,
            "--key",
            key,
            "--node",
            node,
            "--netuid",
            "1",
        ])
    };
    one_line_failure(&submit("nosuch", payload, miner, &url), "unknown or inactive challenge");
    one_line_failure(&submit("regression", payload, "//Platform//stranger", &url), "not registered");
    one_line_failure(&submit("regression", payload, "not a key", &url), "key");
    one_line_failure(&submit("regression", "/nonexistent/payload", miner, &url), "/nonexistent/payload");
    one_line_failure(&submit("regression", payload, miner, "http://127.0.0.1:1"), "unreachable");
    let big = work.path().join("big.bin");
    std::fs::write(&big, vec![b'1'; 9 * 1024 * 1024]).expect("big payload");
    one_line_failure(&submit("regression", big.to_str().expect("utf-8"), miner, &url), "over challenge");
    let output = miner_cli(&[&["status", "00"][..], &common].concat());
    one_line_failure(&output, "not a 32-byte hex id");

    net.shutdown().await;
}
