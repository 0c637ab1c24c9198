//! `miner-cli`: the miner's tool. Today it creates and inspects hotkeys; local evaluation and
//! submission arrive with the runtime and the validator node.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform_cli::KeyCommand;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    platform_cli::run(|| match cli.command {
        Command::Key(command) => command.run(),
    })
}
