//! `sudo-cli challenge add|update|status|list|remove` and `set-required-version` against a
//! running validator on the real runtime; a non-owner key is refused with its reason.

#[path = "../../../crates/platform-node/tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};

use support::{one_validator, regression_wasm, show};

fn sudo_cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sudo-cli")).args(args).output().expect("sudo-cli runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_manages_challenges_and_the_required_version() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(net) = one_validator(work.path()).await else { return };
    let url = net.url(0).expect("url");
    let wasm = regression_wasm();
    let wasm = wasm.to_str().expect("utf-8");
    let owner = ["--key", "//Alice", "--node", url.as_str(), "--netuid", "1"];
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || sudo_cli(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };

    // A key that is not the owner's.
    let output = run(&[
        "challenge",
        "add",
        "--id",
        "regression",
        "--module",
        wasm,
        "--unearned",
        "burn",
        "--key",
        "//Bob",
        "--node",
        &url,
        "--netuid",
        "1",
    ])
    .await
    .expect("joined");
    assert!(!output.status.success(), "{}", show(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not the subnet owner"), "{}", show(&output));

    let output = run(&[
        &["challenge", "add", "--id", "regression", "--module", wasm, "--unearned", "hold"][..],
        &owner,
    ]
    .concat())
    .await
    .expect("joined");
    assert!(output.status.success(), "{}", show(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("committed at height"), "{}", show(&output));

    let node = ["--node", url.as_str(), "--netuid", "1"];
    let output =
        run(&[&["challenge", "status", "regression", "--output", "json"][..], &node].concat()).await.expect("joined");
    assert!(output.status.success(), "{}", show(&output));
    let entry: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(entry["id"], "regression", "{entry}");

    let output = run(&[
        &[
            "challenge",
            "update",
            "--id",
            "regression",
            "--module",
            wasm,
            "--unearned",
            "burn",
            "--emission-share-ppb",
            "500000000",
        ][..],
        &owner,
    ]
    .concat())
    .await
    .expect("joined");
    assert!(output.status.success(), "{}", show(&output));
    let output = run(&[&["challenge", "list", "--output", "json"][..], &node].concat()).await.expect("joined");
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(list[0]["emission_share_ppb"], 500_000_000, "{list}");

    let output = run(&[&["challenge", "remove", "regression"][..], &owner].concat()).await.expect("joined");
    assert!(output.status.success(), "{}", show(&output));
    let output = run(&[&["challenge", "status", "regression"][..], &node].concat()).await.expect("joined");
    assert!(!output.status.success(), "{}", show(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no active challenge"), "{}", show(&output));

    // A required version above this build: the validator stops voting and says so.
    let output = run(&[&["set-required-version", "999.0.0"][..], &owner].concat()).await.expect("joined");
    assert!(output.status.success(), "{}", show(&output));
    let health = net.node(0).expect("node").query(platform_node::Query::Health).await.expect("health");
    assert_eq!(health["voting"], false, "{health}");
    assert!(health["outdated"].as_str().is_some_and(|s| s.contains("999.0.0")), "{health}");

    net.shutdown().await;
}
