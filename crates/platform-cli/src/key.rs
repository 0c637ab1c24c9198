//! `key generate` and `key inspect`: hotkeys as btcli and subkey know them.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use platform_types::{Keypair, PublicKey, wallet_hotkey_path};
use serde::Serialize;

use crate::output::OutputFormat;

/// Create and inspect sr25519 hotkeys.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new hotkey and print its mnemonic, SS58 address and public key.
    ///
    /// The mnemonic is the secret: store it offline. It works with btcli
    /// (`btcli wallet regen-hotkey --mnemonic ...`) and subkey.
    Generate {
        /// Number of mnemonic words: 12, 15, 18, 21 or 24.
        #[arg(long, default_value_t = 12)]
        words: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Print the SS58 address and public key of a secret URI, wallet hotkey or address.
    ///
    /// SURI is a BIP39 mnemonic or a 0x-prefixed 32-byte seed, optionally followed by
    /// derivation junctions (`//hard`, `/soft`) and `///password`; `//Alice` and friends use
    /// the development phrase. An SS58 address is echoed back (a 0x value is read as a seed,
    /// as subkey does). Pass `-` to
    /// read the URI from standard input, keeping it out of shell history.
    Inspect {
        /// Secret URI, `-` for stdin, or a public address.
        #[arg(required_unless_present = "wallet_name")]
        suri: Option<String>,
        /// Read the hotkey from a btcli wallet instead (with --wallet-hotkey).
        #[arg(long, conflicts_with = "suri", requires = "wallet_hotkey")]
        wallet_name: Option<String>,
        /// The wallet's hotkey name.
        #[arg(long)]
        wallet_hotkey: Option<String>,
        /// btcli wallets directory.
        #[arg(long, default_value = "~/.bittensor/wallets")]
        wallet_path: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

#[derive(Serialize)]
struct KeyInfo {
    ss58: String,
    public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_phrase: Option<String>,
}

impl KeyInfo {
    fn of(public: PublicKey) -> Self {
        KeyInfo { ss58: public.to_ss58(), public_key: public.to_hex(), secret_phrase: None }
    }

    fn print(&self, output: OutputFormat) -> anyhow::Result<()> {
        let mut fields = Vec::new();
        if let Some(phrase) = &self.secret_phrase {
            fields.push(("Secret phrase:", phrase.clone()));
        }
        fields.push(("SS58 address:", self.ss58.clone()));
        fields.push(("Public key (hex):", self.public_key.clone()));
        output.print(self, &fields)
    }
}

impl KeyCommand {
    /// Runs the command, printing to stdout.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            KeyCommand::Generate { words, output } => {
                let generated = Keypair::generate(words)?;
                let mut info = KeyInfo::of(generated.keypair.public());
                info.secret_phrase = Some(generated.phrase.to_string());
                info.print(output)
            }
            KeyCommand::Inspect { suri, wallet_name, wallet_hotkey, wallet_path, output } => {
                let public = match (suri, wallet_name) {
                    (Some(suri), _) => public_of(&suri)?,
                    (None, Some(wallet)) => {
                        let hotkey = wallet_hotkey.context("--wallet-hotkey is required with --wallet-name")?;
                        let path = wallet_hotkey_path(Some(&expand_home(&wallet_path)), &wallet, &hotkey);
                        Keypair::from_wallet_file(&path)?.public()
                    }
                    (None, None) => anyhow::bail!("give a SURI or --wallet-name"),
                };
                KeyInfo::of(public).print(output)
            }
        }
    }
}

/// Loads a signing key from a secret URI, `-` (stdin), or a btcli wallet.
pub fn keypair_from(suri: &str) -> anyhow::Result<Keypair> {
    if suri == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading the secret URI from stdin")?;
        return Ok(Keypair::from_suri(text.trim())?);
    }
    Ok(Keypair::from_suri(suri)?)
}

fn public_of(input: &str) -> anyhow::Result<PublicKey> {
    if let Ok(public) = PublicKey::from_ss58(input) {
        return Ok(public);
    }
    Ok(keypair_from(input)?.public())
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(rest),
        None => PathBuf::from(path),
    }
}
