//! `sudo-cli challenge check` on a real example module and on broken inputs.

use std::path::PathBuf;
use std::process::Command;

fn check(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sudo-cli")).args(["challenge", "check"]).args(args).output().expect("runs")
}

#[test]
fn a_valid_module_passes_and_broken_ones_are_explained() {
    let module = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../challenges/dist/matmul-proof.wasm");
    assert!(module.exists(), "{} is missing: run challenges/build.sh", module.display());
    let module = module.to_str().expect("utf-8");
    let ok = check(&[module, "--output", "json"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(json["verdict"], "rejected", "an empty payload is not a proof");

    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"memory_pages_max": 0}"#).expect("write");
    let typo = dir.path().join("typo.json");
    std::fs::write(&typo, r#"{"fuel": 5}"#).expect("write");
    let tiny_memory = dir.path().join("tiny.json");
    std::fs::write(&tiny_memory, r#"{"memory_pages_max": 4}"#).expect("write");
    let importer = dir.path().join("importer.wasm");
    // (module (import "env" "now" (func)))
    std::fs::write(&importer, b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x02\x0b\x01\x03env\x03now\0\0").expect("write");
    let cases: [(Vec<&str>, &str); 4] = [
        (vec![module, "--policy", policy.to_str().expect("utf-8")], "memory_pages_max"),
        (vec![module, "--policy", typo.to_str().expect("utf-8")], "unknown field `fuel`"),
        (vec![module, "--policy", tiny_memory.to_str().expect("utf-8")], "memory limit"),
        (vec![importer.to_str().expect("utf-8")], "forbidden import `env::now`"),
    ];
    for (args, expected) in cases {
        let out = check(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
