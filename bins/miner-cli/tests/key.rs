//! `miner-cli key ...` shares its implementation with `sudo-cli`; this checks it is wired up.

use std::process::Command;

#[test]
fn inspect_and_errors() {
    let bin = env!("CARGO_BIN_EXE_miner-cli");
    let output = Command::new(bin).args(["key", "inspect", "//Alice", "--output", "json"]).output().expect("runs");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["ss58"], "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");

    let output = Command::new(bin).args(["key", "inspect", "0xabcd"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("error: invalid seed"));
}
