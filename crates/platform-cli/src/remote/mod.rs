//! Talking to a validator's HTTP API: `miner-cli submit|status|scores` ([`miner`]) and the
//! signed `sudo-cli` actions ([`sudo`]), over the client and arguments here. Every failure a
//! person can cause ends in one line saying why.

mod miner;
mod sudo;

pub use miner::{ScoresArgs, StatusArgs, SubmitArgs, TaskArgs};
pub use sudo::{ChallengeArgs, ListArgs, SudoArgs, SudoRequest};

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use platform_types::{Keypair, wallet_hotkey_path};
use serde_json::Value;

use crate::OutputFormat;
use crate::key::keypair_from;

/// Which validator to talk to.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The validator's HTTP API: a URL, or a multiaddr such as /ip4/127.0.0.1/tcp/8080.
    #[arg(long, env = "PLATFORM_NODE", default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub(crate) node: String,
    /// The subnet (part of every signature).
    #[arg(long, env = "NETUID", default_value_t = 100)]
    pub(crate) netuid: u16,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) output: OutputFormat,
}

/// The signing key.
#[derive(Debug, Clone, clap::Args)]
pub struct SignerArgs {
    /// Secret URI of the signing key (mnemonic, 0x seed, //Dev path), or `-` for stdin.
    #[arg(long, env = "PLATFORM_KEY", hide_env_values = true, value_name = "SURI")]
    key: Option<String>,
    /// btcli wallet name (with --wallet-hotkey) instead of --key.
    #[arg(long, value_name = "NAME")]
    wallet_name: Option<String>,
    /// btcli hotkey name.
    #[arg(long, value_name = "NAME")]
    wallet_hotkey: Option<String>,
    /// btcli wallets directory.
    #[arg(long, value_name = "DIR")]
    wallet_path: Option<PathBuf>,
}

impl SignerArgs {
    fn keypair(&self) -> anyhow::Result<Keypair> {
        match (&self.key, &self.wallet_name, &self.wallet_hotkey) {
            (Some(key), _, _) => keypair_from(key).context("--key is not a usable secret"),
            (None, Some(wallet), Some(hotkey)) => {
                let path = wallet_hotkey_path(self.wallet_path.as_deref(), wallet, hotkey);
                Ok(Keypair::from_wallet_file(&path)?)
            }
            _ => bail!("no signing key: give --key <SURI> (or PLATFORM_KEY) or --wallet-name and --wallet-hotkey"),
        }
    }
}

/// The HTTP base URL of `--node`: a URL as given, or a `/ip4|ip6|dns…/<host>/tcp/<port>`
/// multiaddr turned into `http://<host>:<port>`.
fn http_base(node: &str) -> String {
    let parts: Vec<&str> = node.split('/').collect();
    if let ["", proto, host, "tcp", port, ..] = parts.as_slice()
        && matches!(*proto, "ip4" | "dns" | "dns4" | "dns6")
    {
        return format!("http://{host}:{port}");
    }
    if let ["", "ip6", host, "tcp", port, ..] = parts.as_slice() {
        return format!("http://[{host}]:{port}");
    }
    node.trim_end_matches('/').to_owned()
}

pub(crate) struct Node {
    base: String,
    agent: ureq::Agent,
}

impl Node {
    pub(crate) fn new(args: &NodeArgs) -> Node {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Node { base: http_base(&args.node), agent }
    }

    fn answer(&self, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> anyhow::Result<Value> {
        let mut response = result.map_err(|e| anyhow!("validator unreachable at {}: {e}", self.base))?;
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        if status >= 400 {
            let reason = body["error"].as_str().map(str::to_owned).unwrap_or_else(|| format!("HTTP {status}"));
            bail!("{reason}");
        }
        Ok(body)
    }

    pub(crate) fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.answer(self.agent.get(&format!("{}{path}", self.base)).call())
    }

    fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.answer(self.agent.post(&format!("{}{path}", self.base)).send_json(body))
    }

    /// POSTs `bytes` as `application/octet-stream`.
    fn post_bytes(&self, path: &str, bytes: &[u8]) -> anyhow::Result<Value> {
        let request = self.agent.post(&format!("{}{path}", self.base)).content_type("application/octet-stream");
        self.answer(request.send(bytes))
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub(crate) fn print_json_or(output: OutputFormat, value: &Value, text: impl FnOnce()) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string(value)?),
        OutputFormat::Text => text(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::http_base;

    #[test]
    fn node_is_a_url_or_a_multiaddr() {
        assert_eq!(http_base("http://10.0.0.1:8080/"), "http://10.0.0.1:8080");
        assert_eq!(http_base("/ip4/127.0.0.1/tcp/8080"), "http://127.0.0.1:8080");
        assert_eq!(http_base("/dns/validator.example/tcp/80"), "http://validator.example:80");
        assert_eq!(http_base("/ip6/::1/tcp/8080"), "http://[::1]:8080");
    }
}
