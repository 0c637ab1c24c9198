//! `sudo-cli key ...` as a person runs it.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sudo-cli")).args(args).output().expect("sudo-cli runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn inspect_prints_the_btcli_address() {
    let output = run(&["key", "inspect", "//Alice"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"));

    let output = run(&["key", "inspect", "//Bob", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(json["ss58"], "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
    assert_eq!(json["public_key"], "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48");
    assert_eq!(json.as_object().map(|o| o.len()), Some(2), "exactly ss58 and public_key");
}

#[test]
fn generate_prints_a_phrase_that_inspects_to_the_same_key() {
    let output = run(&["key", "generate", "--words", "24", "--output", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let generated: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let phrase = generated["secret_phrase"].as_str().expect("phrase");
    assert_eq!(phrase.split_whitespace().count(), 24);
    let inspected = run(&["key", "inspect", phrase, "--output", "json"]);
    let inspected: serde_json::Value = serde_json::from_str(&stdout(&inspected)).expect("json");
    assert_eq!(inspected["ss58"], generated["ss58"]);
}

#[test]
fn wallet_files_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hotkeys = dir.path().join("owner/hotkeys");
    std::fs::create_dir_all(&hotkeys).expect("mkdir");
    std::fs::write(
        hotkeys.join("default"),
        r#"{"secretSeed":"0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a"}"#,
    )
    .expect("write");
    let wallets = dir.path().to_str().expect("utf8");
    let output =
        run(&["key", "inspect", "--wallet-name", "owner", "--wallet-hotkey", "default", "--wallet-path", wallets]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"));
}

#[test]
fn bad_input_is_one_line_on_stderr_and_a_failure_exit() {
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank winner";
    for (args, expected) in [
        (vec!["key", "inspect", phrase], "checksum"),
        (vec!["key", "inspect", "0x1234"], "expected 32"),
        (vec!["key", "inspect", "//Alice/"], "invalid secret URI"),
        (vec!["key", "inspect", "not a mnemonic at all"], "mnemonic"),
        (vec!["key", "generate", "--words", "13"], "13 words"),
    ] {
        let output = run(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line expected, got {err:?}");
        assert!(err.starts_with("error: ") && err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn help_explains_the_commands() {
    let output = run(&["key", "inspect", "--help"]);
    let help = stdout(&output);
    assert!(help.contains("derivation junctions") && help.contains("--wallet-name"), "{help}");
}
