//! The deployment files name only settings the binary knows.

use std::path::Path;
use std::process::Command;

#[test]
fn every_variable_of_the_example_env_file_is_a_setting() {
    let help = Command::new(env!("CARGO_BIN_EXE_validator-node")).arg("--help").output().expect("runs");
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/validator.env.example");
    let text = std::fs::read_to_string(&example).expect("deploy/validator.env.example");
    let names: Vec<&str> = text
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    assert!(names.len() >= 8, "found {names:?}");
    for name in names {
        // RUST_LOG is read by the log filter, which --help describes in prose.
        let known = help.contains(&format!("[env: {name}=")) || help.contains(&format!("[env: {name}]"));
        let known = known || (name == "RUST_LOG" && help.contains("RUST_LOG"));
        assert!(known, "{name} in {} is not a validator-node setting", example.display());
    }
}
