//! `miner-cli`: the miner's tool: hotkeys, local evaluation exactly as validators run it, and
//! submitting to a validator and following the score.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform_cli::{EpochArgs, EvaluateArgs, KeyCommand, ScoresArgs, StatusArgs, SubmitArgs, TaskArgs};

/// The miner's tool for a Platform validator network.
///
/// Miners sign submissions with their registered hotkey. Keys are sr25519 hotkeys read
/// exactly as btcli reads them.
#[derive(Debug, Parser)]
#[command(name = "miner-cli", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and inspect sr25519 keys (mnemonics, seeds, derivation paths, btcli wallets).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a challenge on a payload exactly as validators will, and print the score, the fuel
    /// used and the output hash. Learn your score before you submit.
    Evaluate(EvaluateArgs),
    /// Sign a payload with your hotkey and send it to a validator; prints the submission id
    /// (with --wait, follows it to its final score).
    Submit(SubmitArgs),
    /// Follow a submission to its final score, showing progress.
    Status(StatusArgs),
    /// Show a challenge's leaderboard.
    Scores(ScoresArgs),
    /// Score a closed epoch of a challenge that scores epochs again, exactly as validators did
    /// (its answers, seed and participation fetched from a validator), and compare each
    /// verdict with the signed evaluations.
    Epoch(EpochArgs),
    /// Show the task seeds a two-phase challenge's commitment may answer now (the newest two
    /// epochs'): draw your task from one, then `submit --commit EPOCH`.
    Task(TaskArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    platform_cli::run(|| match cli.command {
        Command::Key(command) => command.run(),
        Command::Evaluate(args) => args.run(),
        Command::Submit(args) => args.run(),
        Command::Status(args) => args.run(),
        Command::Scores(args) => args.run(),
        Command::Task(args) => args.run(),
        Command::Epoch(args) => args.run(),
    })
}
