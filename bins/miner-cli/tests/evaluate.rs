//! `miner-cli evaluate` against the example challenges (built by `challenges/build.sh`, which
//! the test command runs first).

use std::path::PathBuf;
use std::process::Command;

fn dist(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../challenges/dist/{name}.wasm"));
    assert!(path.exists(), "{} is missing: run challenges/build.sh", path.display());
    path
}

fn evaluate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_miner-cli")).arg("evaluate").args(args).output().expect("runs")
}

#[test]
fn prints_score_fuel_and_output_hash_as_json_and_is_repeatable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = dir.path().join("coefficients.txt");
    std::fs::write(&payload, "1.5 -2 0.25 5 -0.5\n").expect("write");
    let challenge = dist("regression");
    let args = [
        "--challenge",
        challenge.to_str().expect("utf-8"),
        "--payload",
        payload.to_str().expect("utf-8"),
        "--seed",
        &"ab".repeat(32),
        "--output",
        "json",
    ];
    let first = evaluate(&args);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    assert_eq!(json["verdict"], "scored");
    assert!(json["score_ppb"].as_u64().expect("score") > 400_000_000);
    assert!(json["fuel_used"].as_u64().expect("fuel") > 0);
    assert!(json["output_hash"].as_str().expect("hash").starts_with("0x"));
    let second: serde_json::Value = serde_json::from_slice(&evaluate(&args).stdout).expect("json");
    assert_eq!((&json["output_hash"], &json["fuel_used"]), (&second["output_hash"], &second["fuel_used"]));

    let text = evaluate(&args[..6]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("score_ppb") && text.contains("fuel_used"), "{text}");
}

#[test]
fn a_rejected_payload_is_reported_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = dir.path().join("bad.txt");
    std::fs::write(&payload, "1 2").expect("write");
    let challenge = dist("regression");
    let out = evaluate(&[
        "--challenge",
        challenge.to_str().expect("utf-8"),
        "--payload",
        payload.to_str().expect("utf-8"),
        "--output",
        "json",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["verdict"], "rejected");
    assert_eq!(json["score_ppb"], 0);
    assert!(json["reason"].as_str().expect("reason").contains("exactly 5 numbers"));
}

#[test]
fn mistakes_give_one_line_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_wasm = dir.path().join("x.wasm");
    std::fs::write(&not_wasm, "hello").expect("write");
    let challenge = dist("regression");
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--challenge", "/nonexistent.wasm", "--payload", "/dev/null"], "cannot read /nonexistent.wasm"),
        (vec!["--challenge", not_wasm.to_str().expect("utf-8"), "--payload", "/dev/null"], "invalid module"),
        (vec!["--challenge", challenge.to_str().expect("utf-8"), "--payload", "/nonexistent"], "cannot read"),
        (
            vec!["--challenge", challenge.to_str().expect("utf-8"), "--payload", "/dev/null", "--seed", "abcd"],
            "32 bytes",
        ),
    ];
    for (args, expected) in cases {
        let out = evaluate(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr.starts_with("error: ") && stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// A challenge with an epoch scorer: `--with` adds the epoch's other answers, and the scorer's
/// verdict on the payload is reported beside the per-submission one. A challenge without one
/// refuses `--with` with a clear error.
#[test]
fn with_other_answers_the_epoch_scorer_reports_the_payloads_epoch_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"not an agent").expect("write");
    let (challenge, agent) = (dist("invariant-agent"), dist("invariant-baseline"));
    let path = |p: &PathBuf| p.to_str().expect("utf-8").to_owned();
    let out = evaluate(&[
        "--challenge",
        &path(&challenge),
        "--payload",
        &path(&agent),
        "--with",
        &path(&agent),
        "--with",
        &path(&garbage),
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["scores_epochs"], true);
    assert_eq!(json["epoch"]["answers"], 3);
    assert_eq!(json["epoch"]["verdict"], "scored");
    // Two identical correct agents label every case: the epoch score is the score alone.
    assert_eq!(json["epoch"]["score_ppb"], json["score_ppb"]);

    let regression = dist("regression");
    let out = evaluate(&["--challenge", &path(&regression), "--payload", &path(&garbage), "--with", &path(&garbage)]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no epoch scorer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--params` runs the challenge with the parameters it is registered with (invariant-agent:
/// its exponents α β γ), as validators run it; bad hex is one line and exit 1.
#[test]
fn params_are_the_registered_challenge_parameters() {
    let (challenge, agent) = (dist("invariant-agent"), dist("invariant-baseline"));
    let run = |params: &str| {
        let out = evaluate(&[
            "--challenge",
            challenge.to_str().expect("utf-8"),
            "--payload",
            agent.to_str().expect("utf-8"),
            "--params",
            params,
            "--output",
            "json",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    assert_eq!(run("000000")["score_ppb"], 1_000_000_000, "every factor left out");
    let refused = run("0x090101");
    assert_eq!(refused["verdict"], "rejected");
    assert!(refused["reason"].as_str().expect("reason").contains("above 8"), "{refused}");
    let out = evaluate(&["--challenge", challenge.to_str().expect("utf-8"), "--payload", "-", "--params", "zz"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: --params is not hex") && stderr.lines().count() == 1, "{stderr}");
}

/// A two-phase challenge's reveal scored as validators score it: with the commitment's payload,
/// its task seed and the sampling seed (`--seed`) a validator's status of the commitment shows.
#[test]
fn a_reveal_is_evaluated_with_its_commitment_as_validators_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (task_seed, sampling_seed) = ([3u8; 32], [9u8; 32]);
    let miner = platform_types::Keypair::from_suri("//Miner").expect("key").public();
    let (root, openings) = matmul_proof::solve(&task_seed, miner.as_bytes(), &sampling_seed);
    let (commitment, reveal) = (dir.path().join("root.bin"), dir.path().join("reveal.bin"));
    std::fs::write(&commitment, root).expect("write");
    std::fs::write(&reveal, &openings).expect("write");
    let challenge = dist("matmul-proof");
    let (task_hex, sampling_hex, hotkey) = (hex(&task_seed), hex(&sampling_seed), miner.to_ss58());
    let mut args = vec![
        "--challenge",
        challenge.to_str().expect("utf-8"),
        "--payload",
        reveal.to_str().expect("utf-8"),
        "--hotkey",
        &hotkey,
        "--seed",
        &sampling_hex,
        "--output",
        "json",
    ];
    let scored = |args: &[&str]| -> serde_json::Value {
        let out = evaluate(args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let without = scored(&args);
    assert_eq!(without["verdict"], "rejected", "{without}");
    assert!(without["reason"].as_str().is_some_and(|r| r.contains("takes a commitment")), "{without}");
    args.extend(["--commitment", commitment.to_str().expect("utf-8"), "--task-seed", &task_hex]);
    let with = scored(&args);
    assert_eq!(
        (&with["verdict"], &with["score_ppb"]),
        (&serde_json::json!("scored"), &serde_json::json!(1_000_000_000))
    );
    let other_seed = hex(&[1; 32]);
    let seed_at = args.iter().position(|a| *a == "--seed").expect("seed") + 1;
    args[seed_at] = &other_seed;
    assert_eq!(scored(&args)["verdict"], "rejected", "another sampling seed draws other rows");
    let lone =
        evaluate(&["--challenge", challenge.to_str().expect("utf-8"), "--payload", "-", "--task-seed", &task_hex]);
    assert!(!lone.status.success(), "--task-seed without --commitment is refused");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
