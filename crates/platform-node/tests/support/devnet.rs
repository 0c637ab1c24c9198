//! Shared by the command-line tests of `miner-cli` and `sudo-cli`: a one-validator local
//! network on the real runtime, or `None` (skipped with the reason) outside CI when the chain
//! spec is missing.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;

use platform_node::devnet::{Devnet, DevnetConfig};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub async fn one_validator(work: &std::path::Path) -> Option<Devnet> {
    let dir =
        std::env::var_os("PLATFORM_CHAIN_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/chain"));
    let spec = dir.join("subtensor-raonet-spec218.json");
    if !spec.is_file() {
        let reason = format!("{} not found; set PLATFORM_CHAIN_DIR", spec.display());
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("the real-runtime tests cannot run: {reason}");
        }
        eprintln!("SKIPPED: {reason} (fails instead under CI=true)");
        return None;
    }
    let mut config = DevnetConfig::new(spec, root().join("tests/chopsticks"), work.to_path_buf());
    config.validators = 1;
    config.miners = 1;
    Some(Devnet::start(config, &mut |step| eprintln!("{step}")).await.expect("devnet starts"))
}

pub fn regression_wasm() -> PathBuf {
    root().join("challenges/dist/regression.wasm")
}

/// stdout, stderr and success of a finished command, for assertion messages.
pub fn show(output: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
