//! `sudo-cli`: the subnet owner's tool: keys, local module checks, and the signed challenge and
//! version actions sent to a validator.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform_cli::{ChallengeArgs, CheckArgs, KeyCommand, ListArgs, SudoArgs, SudoRequest};

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
    /// Require a minimum validator version: validators below it stop voting (and say so)
    /// instead of forking the network. Waits until committed.
    SetRequiredVersion {
        /// MAJOR.MINOR.PATCH
        version: String,
        #[command(flatten)]
        sudo: SudoArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ChallengeCommand {
    /// Validate a module (exports, imports, policy) and run a smoke evaluation, exactly as
    /// validators will load and run it. Exits non-zero with the reason when anything fails.
    Check(CheckArgs),
    /// Register a challenge: sign AddChallenge with the owner key, send it with its module to
    /// a validator, and wait until it is committed (prints the height) or rejected (the reason).
    Add {
        #[command(flatten)]
        challenge: ChallengeArgs,
        #[command(flatten)]
        sudo: SudoArgs,
    },
    /// Replace a challenge's module or policy (UpdateChallenge); waits until committed.
    Update {
        #[command(flatten)]
        challenge: ChallengeArgs,
        #[command(flatten)]
        sudo: SudoArgs,
    },
    /// Remove a challenge (RemoveChallenge); waits until committed.
    Remove {
        /// The challenge id.
        id: String,
        #[command(flatten)]
        sudo: SudoArgs,
    },
    /// List the challenges a validator runs.
    List(ListArgs),
    /// Show one challenge as a validator runs it: module hash, policy, mechanism, share, the
    /// height it was added at and whether its module is loaded.
    Status {
        /// The challenge id.
        id: String,
        #[command(flatten)]
        node: ListArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    platform_cli::run(|| match cli.command {
        Command::Key(command) => command.run(),
        Command::Challenge(ChallengeCommand::Check(args)) => args.run(),
        Command::Challenge(ChallengeCommand::Add { challenge, sudo }) => {
            sudo.run(SudoRequest::Challenge { update: false, args: challenge })
        }
        Command::Challenge(ChallengeCommand::Update { challenge, sudo }) => {
            sudo.run(SudoRequest::Challenge { update: true, args: challenge })
        }
        Command::Challenge(ChallengeCommand::Remove { id, sudo }) => sudo.run(SudoRequest::Remove(id)),
        Command::Challenge(ChallengeCommand::List(args)) => args.run(),
        Command::Challenge(ChallengeCommand::Status { id, node }) => node.status(&id),
        Command::SetRequiredVersion { version, sudo } => sudo.run(SudoRequest::Version(version)),
    })
}
