//! `miner-cli submit`, `status` and `scores` against a running validator on the real runtime,
//! and a one-line reason with a non-zero exit for every failure a miner can cause; `miner-cli
//! epoch` scoring a closed epoch again exactly as the validator did.

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

/// A challenge that scores epochs (compute-lease, which also reads each miner's participation):
/// once the epoch has closed and the validator signed its verdicts, `miner-cli epoch` fetches
/// the epoch's answers, seed and participation and reaches the same verdict for each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_epoch_is_scored_again_to_the_verdicts_the_validator_signed() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(net) = one_validator(work.path()).await else { return };
    let module = support::root().join("challenges/dist/compute-lease.wasm");
    let wasm = std::fs::read(&module).expect("run challenges/build.sh");
    net.add_challenge("compute-lease", wasm, 1_000_000_000, Duration::from_secs(60)).await.expect("challenge");
    let url = net.url(0).expect("url");
    let (_, task) = support::get(&format!("{url}/task"));
    let epoch = task["epoch"].as_u64().expect("epoch");
    let miner = &net.miners[0];
    let difficulty = compute_lease::Params::default().difficulty;
    let workers: Vec<_> =
        (0..3u8).map(|w| compute_lease::solve(epoch, miner.public().as_bytes(), [w; 32], w < 2, difficulty)).collect();
    let payload = work.path().join("workers.bin");
    std::fs::write(&payload, compute_lease::encode(&workers)).expect("payload");
    let common = ["--node", url.as_str(), "--netuid", "1"];
    let output = miner_cli(
        &[
            &["submit", "--challenge", "compute-lease", "--payload", payload.to_str().expect("utf-8")][..],
            &["--key", "//Platform//miner0", "--output", "json"][..],
            &common,
        ]
        .concat(),
    );
    assert!(output.status.success(), "{}", show(&output));
    let id = serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ordered = support::eventually("the answer ordered", Duration::from_secs(60), || {
        let (_, s) = support::get(&format!("{url}/submissions/{id}"));
        s["epoch"].as_u64()
    })
    .await;
    let epoch = ordered.to_string();
    // `miner-cli epoch` on the answer's epoch with the module at `path`, and `extra` options.
    let score_again = |path: &std::path::Path, extra: &[&str]| {
        let module = path.to_str().expect("utf-8");
        let args = ["epoch", "--challenge", "compute-lease", "--epoch", epoch.as_str(), "--module", module];
        miner_cli(&[&args[..], extra, &common].concat())
    };
    one_line_failure(&score_again(&module, &[]), "has not closed");
    // The epoch closes on chain; the validator scores it and its verdict becomes final.
    net.local.new_blocks(u32::from(net.config.tempo) + 2).await.expect("blocks");
    let status = support::eventually("the epoch's verdict", Duration::from_secs(120), || {
        let (_, s) = support::get(&format!("{url}/submissions/{id}"));
        (s["final"] == true).then_some(s)
    })
    .await;
    let output = score_again(&module, &["--output", "json"]);
    assert!(output.status.success(), "{}", show(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json report");
    let row = &report["answers"][0];
    assert_eq!(row["id"], id.as_str(), "{report}");
    assert_eq!(row["score_ppb"], status["score_ppb"], "{report} {status}");
    assert_eq!(
        (&row["validators_agreeing"], &row["validators_signed"]),
        (&serde_json::json!(1), &serde_json::json!(1)),
        "{report}"
    );
    one_line_failure(&score_again(&support::regression_wasm(), &[]), "not challenge compute-lease's registered module");
    net.shutdown().await;
}
