//! `validator-node weights`: the operator's view of what would be sent, checked end to end —
//! the commit it prints opens with drand quicknet's signature of the round it names, to the
//! weights and hotkey it was given, and the reveal round follows the epoch state given.

use std::process::Command;

use parity_scale_codec::Decode;
use platform_chain::tlock::{self, WeightsTlockPayload};
use serde_json::Value;

/// Quicknet's signature of round 1 000 (public beacon data).
const ROUND_1000_SIGNATURE: &str =
    "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

const HOTKEY: &str = "0x0909090909090909090909090909090909090909090909090909090909090909";

fn weights(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_validator-node"))
        .arg("weights")
        .args(args)
        .env_remove("SUBTENSOR_ENDPOINT")
        .output()
        .expect("run validator-node weights");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn the_printed_commit_opens_with_the_rounds_signature() {
    let (ok, stdout, stderr) = weights(&[
        "--hotkey",
        HOTKEY,
        "--netuid",
        "7",
        "--uids",
        "0,3,9",
        "--values",
        "65535,100,7",
        "--version-key",
        "11",
        "--reveal-round",
        "1000",
        "--output",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(out["path"], "timelocked");
    assert_eq!(out["reveal_round"], 1000);
    let commit = hex::decode(out["commit"].as_str().expect("commit hex")).expect("hex");
    let plain = tlock::decrypt(&commit, &hex::decode(ROUND_1000_SIGNATURE).expect("hex")).expect("opens");
    let payload = WeightsTlockPayload::decode(&mut &plain[..]).expect("SCALE payload");
    assert_eq!(payload.hotkey, vec![9; 32]);
    assert_eq!((payload.uids, payload.values, payload.version_key), (vec![0, 3, 9], vec![65535, 100, 7], 11));
}

#[test]
fn the_reveal_round_follows_the_epoch_state_given() {
    // Head 5 000 000, last epoch 100 blocks ago, tempo 360: the commit (in 5 000 001) is revealed
    // at the next epoch, 5 000 260, and the round aims 3 blocks later: 263 blocks of 12 s.
    let now = 1_764_480_000u64;
    let (ok, stdout, stderr) = weights(&[
        "--hotkey",
        HOTKEY,
        "--netuid",
        "7",
        "--uids",
        "1",
        "--values",
        "1",
        "--tempo",
        "360",
        "--block",
        "5000000",
        "--last-epoch-block",
        "4999900",
        "--epoch-index",
        "800",
        "--blocks-since-last-step",
        "100",
        "--now",
        &now.to_string(),
        "--output",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).expect("json");
    let expected = (now + 263 * 12 - tlock::QUICKNET_GENESIS_SECS) / tlock::QUICKNET_PERIOD_SECS;
    assert_eq!(out["reveal_round"].as_u64(), Some(expected));
    assert_eq!(out["epoch_state"]["epoch_index"], 800);
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let (ok, _, stderr) = weights(&["--hotkey", HOTKEY, "--netuid", "7", "--uids", "0,3", "--values", "1"]);
    assert!(!ok);
    assert!(stderr.contains("2 uids but 1 values"), "{stderr}");
    let (ok, _, stderr) = weights(&["--hotkey", HOTKEY, "--netuid", "7", "--uids", "0", "--values", "1"]);
    assert!(!ok);
    assert!(stderr.contains("--endpoint"), "{stderr}");
    let (ok, _, stderr) =
        weights(&["--hotkey", HOTKEY, "--netuid", "7", "--uids", "0,0", "--values", "1,2", "--reveal-round", "5"]);
    assert!(!ok);
    assert!(stderr.contains("duplicate"), "{stderr}");
}

#[test]
fn the_renamed_min_stake_tao_setting_is_refused_with_the_new_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_validator-node"))
        .env("MIN_STAKE_TAO", "1000")
        .env("VALIDATOR_SECRET_KEY", "//Alice")
        .output()
        .expect("run validator-node");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MIN_STAKE_TAO is no longer read") && stderr.contains("MIN_STAKE instead"), "{stderr}");
}
