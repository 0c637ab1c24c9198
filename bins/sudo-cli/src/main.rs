//! `sudo-cli`: the subnet owner's tool. Today it creates and inspects hotkeys and checks
//! challenge modules locally; signed challenge and version actions arrive with the validator node.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform_cli::{CheckArgs, KeyCommand};

/// The subnet owner's tool for a Platform validator network.
///
/// The owner key signs AddChallenge, UpdateChallenge, RemoveChallenge and SetRequiredVersion
/// actions. Keys are sr25519 hotkeys read exactly as btcli reads them.
#[derive(Debug, Parser)]
#[command(name = "sudo-cli", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and inspect sr25519 keys (mnemonics, seeds, derivation paths, btcli wallets).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Work with challenge modules.
    #[command(subcommand)]
    Challenge(ChallengeCommand),
}

#[derive(Debug, Subcommand)]
enum ChallengeCommand {
    /// Validate a module (exports, imports, policy) and run a smoke evaluation, exactly as
    /// validators will load and run it. Exits non-zero with the reason when anything fails.
    Check(CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    platform_cli::run(|| match cli.command {
        Command::Key(command) => command.run(),
        Command::Challenge(ChallengeCommand::Check(args)) => args.run(),
    })
}
