//! Command-line building blocks shared by Platform's binaries: the `key` commands, local
//! evaluation (`evaluate`, `challenge check`), output formats, and turning an error into one
//! line on stderr with a non-zero exit.

mod epoch;
mod evaluate;
mod key;
mod output;
mod progress;
mod remote;
mod scoring;

use std::process::ExitCode;

pub use epoch::EpochArgs;
pub use evaluate::{CheckArgs, EvaluateArgs};
pub use key::KeyCommand;
pub use output::OutputFormat;
pub use remote::{
    ChallengeArgs, ListArgs, NodeArgs, ScoresArgs, SignerArgs, StatusArgs, SubmitArgs, SudoArgs, SudoRequest, TaskArgs,
};

/// A challenge's parameters given as hex (`0x`-prefixed or bare) on the command line: the bytes,
/// at most [`platform_types::limits::MAX_PARAMS_BYTES`]; none when not given.
pub(crate) fn params_arg(text: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let Some(text) = text else { return Ok(Vec::new()) };
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|e| anyhow::anyhow!("--params is not hex: {e}"))?;
    let max = platform_types::limits::MAX_PARAMS_BYTES;
    anyhow::ensure!(bytes.len() <= max, "--params holds {} bytes, at most {max}", bytes.len());
    Ok(bytes)
}

/// Runs a command body; on error prints `error: <reason>` (the whole cause chain on one line)
/// to stderr and exits with status 1.
pub fn run(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
