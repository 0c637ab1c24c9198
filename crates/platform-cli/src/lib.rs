//! Command-line building blocks shared by Platform's binaries: the `key` commands, local
//! evaluation (`evaluate`, `challenge check`), output formats, and turning an error into one
//! line on stderr with a non-zero exit.

mod evaluate;
mod key;
mod output;
mod progress;
mod remote;
mod scoring;

use std::process::ExitCode;

pub use evaluate::{CheckArgs, EvaluateArgs};
pub use key::KeyCommand;
pub use output::OutputFormat;
pub use remote::{
    ChallengeArgs, ListArgs, NodeArgs, ScoresArgs, SignerArgs, StatusArgs, SubmitArgs, SudoArgs, SudoRequest,
};

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
