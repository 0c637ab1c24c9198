//! The validator's configuration: flags over environment over an optional TOML file, then
//! defaults. Every setting has one name, spelled `--kebab-case` as a flag, `SCREAMING_CASE` in
//! the environment and `snake_case` in the file. Invalid values fail at start, naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use platform_types::{Keypair, NetUid, PublicKey, wallet_hotkey_path};
use serde::Deserialize;

/// Default chain endpoint (Bittensor mainnet).
pub const DEFAULT_ENDPOINT: &str = "wss://entrypoint-finney.opentensor.ai:443";
/// Default number of committed blocks kept below the newest snapshot (about a day at one block
/// a second).
pub const DEFAULT_RETAIN_BLOCKS: u64 = 100_000;
/// Fewest blocks a pruning validator keeps: ten snapshot intervals, so that peers a little
/// behind still find the blocks they need.
pub const MIN_RETAIN_BLOCKS: u64 = 10 * platform_app::SNAPSHOT_INTERVAL;
/// Default subnet.
pub const DEFAULT_NETUID: u16 = 100;
/// Default `mempool_capacity`: submissions waiting to be ordered, at most (evaluations have four
/// times the room, shared among the validators).
pub const DEFAULT_MEMPOOL_CAPACITY: usize = 100_000;
/// Default libp2p listen address.
pub const DEFAULT_P2P_LISTEN: &str = "/ip4/0.0.0.0/tcp/9000";
/// Default HTTP API address.
pub const DEFAULT_HTTP_ADDR: &str = "0.0.0.0:8080";
/// Default minimum stake weight of a validator, in whole units (10⁹ rao) of the chain's stake
/// weight: alpha stake on the subnet plus `TaoWeight` × root TAO stake.
pub const DEFAULT_MIN_STAKE: u64 = 1_000;
/// Rao per whole unit of TAO or alpha.
pub const RAO_PER_TAO: u64 = 1_000_000_000;

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A deliberate fault, for end-to-end fault tests only (hidden from `--help`). An honest
/// validator never sets it; the network must tolerate a validator that does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Report `1e9 - score` instead of the sandbox's score in every scored evaluation.
    WrongScores,
    /// A network partition of this validator: SIGUSR2 closes every p2p connection and refuses
    /// new ones (the chain and the HTTP API stay reachable); the next SIGUSR2 lifts it.
    IsolateOnSignal,
    /// Serve every snapshot chunk with one byte changed (a peer lying to joiners).
    WrongSnapshotChunks,
}

/// The settings as given, each optional. Read from a file by serde; with the `cli` feature (the
/// `validator-node` binary's) also from flags and environment by clap, from this one
/// definition; [`Settings::layered`] puts one over the other.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The validator hotkey's secret: a BIP39 mnemonic (optionally with a //derivation path)
    /// or a 0x-prefixed hex seed. Alternatively give --wallet-name and --wallet-hotkey.
    #[cfg_attr(
        feature = "cli",
        arg(long, env = "VALIDATOR_SECRET_KEY", hide_env_values = true, value_name = "SECRET")
    )]
    pub secret_key: Option<String>,
    /// btcli wallet name, with --wallet-hotkey, read from --wallet-path (default ~/.bittensor/wallets).
    #[cfg_attr(feature = "cli", arg(long, env = "WALLET_NAME", value_name = "NAME"))]
    pub wallet_name: Option<String>,
    /// btcli hotkey name inside the wallet.
    #[cfg_attr(feature = "cli", arg(long, env = "WALLET_HOTKEY", value_name = "NAME"))]
    pub wallet_hotkey: Option<String>,
    /// Directory holding btcli wallets.
    #[cfg_attr(feature = "cli", arg(long, env = "WALLET_PATH", value_name = "DIR"))]
    pub wallet_path: Option<PathBuf>,
    /// Subtensor WebSocket endpoint, or several separated by commas: the validator moves to the
    /// next when one fails and back to the first when it answers again
    /// [default: wss://entrypoint-finney.opentensor.ai:443].
    #[cfg_attr(feature = "cli", arg(long, env = "SUBTENSOR_ENDPOINT", value_name = "URL[,URL...]"))]
    pub subtensor_endpoint: Option<String>,
    /// The subnet this network validates [default: 100].
    #[cfg_attr(feature = "cli", arg(long, env = "NETUID"))]
    pub netuid: Option<u16>,
    /// libp2p listen multiaddress [default: /ip4/0.0.0.0/tcp/9000].
    #[cfg_attr(feature = "cli", arg(long, env = "P2P_LISTEN_ADDR", value_name = "MULTIADDR"))]
    pub p2p_listen_addr: Option<String>,
    /// Address other validators should dial, when it differs from the listen address.
    #[cfg_attr(feature = "cli", arg(long, env = "P2P_EXTERNAL_ADDR", value_name = "MULTIADDR"))]
    pub p2p_external_addr: Option<String>,
    /// Comma-separated multiaddresses (with /p2p/<peer id>) of peers to join through.
    #[cfg_attr(feature = "cli", arg(long, env = "BOOTSTRAP_PEERS", value_delimiter = ',', value_name = "MULTIADDRS"))]
    pub bootstrap_peers: Option<Vec<String>>,
    /// Where blocks, submissions, evaluations and the audit log live [default: ./data].
    #[cfg_attr(feature = "cli", arg(long, env = "DATA_DIR", value_name = "DIR"))]
    pub data_dir: Option<PathBuf>,
    /// HTTP API listen address [default: 0.0.0.0:8080].
    #[cfg_attr(feature = "cli", arg(long, env = "HTTP_ADDR", value_name = "HOST:PORT"))]
    pub http_addr: Option<String>,
    /// Minimum stake weight for a permit holder to count as a validator, in whole units of the
    /// chain's stake weight — alpha stake on the subnet plus TaoWeight × root TAO stake, what the
    /// chain ranks validator permits by; not TAO [default: 1000].
    #[cfg_attr(feature = "cli", arg(long, env = "MIN_STAKE", value_name = "ALPHA"))]
    pub min_stake: Option<u64>,
    /// SS58 key allowed to sign sudo actions [default: the subnet owner's hotkey or coldkey, read from the chain].
    #[cfg_attr(feature = "cli", arg(long, env = "SUDO_KEY", value_name = "SS58"))]
    pub sudo_key: Option<String>,
    /// Log format [default: text].
    #[cfg_attr(feature = "cli", arg(long, env = "LOG_FORMAT", value_enum))]
    pub log_format: Option<LogFormat>,
    /// Shortest time between two blocks, in ms [default: 250].
    #[cfg_attr(feature = "cli", arg(long, env = "BLOCK_INTERVAL_MS", value_name = "MS"))]
    pub block_interval_ms: Option<u64>,
    /// Consensus view timeout, in ms, doubling per failed view [default: 2000].
    #[cfg_attr(feature = "cli", arg(long, env = "VIEW_TIMEOUT_MS", value_name = "MS"))]
    pub view_timeout_ms: Option<u64>,
    /// Submissions one miner may make per minute [default: 60].
    #[cfg_attr(feature = "cli", arg(long, env = "MINER_RATE_PER_MINUTE", value_name = "N"))]
    pub miner_rate_per_minute: Option<u32>,
    /// Submissions waiting to be ordered, at most [default: 100000].
    #[cfg_attr(feature = "cli", arg(long, env = "MEMPOOL_CAPACITY", value_name = "N"))]
    pub mempool_capacity: Option<usize>,
    /// Open inbound p2p connections allowed from one IP address; more are closed [default: 5].
    /// Raise it when several validators share an address (a local network on one machine).
    #[cfg_attr(feature = "cli", arg(long, env = "MAX_CONNECTIONS_PER_IP", value_name = "N"))]
    pub max_connections_per_ip: Option<u32>,
    /// MiB that acknowledged submissions no block has ordered yet may hold on disk (payloads and
    /// blobs); one miner's may hold a sixteenth of it. Beyond, submissions are refused with 429
    /// until blocks order some [default: 4096].
    #[cfg_attr(feature = "cli", arg(long, env = "MAX_UNORDERED_MIB", value_name = "MIB"))]
    pub max_unordered_mib: Option<u64>,
    /// Committed blocks kept below the newest snapshot; older blocks, their certificates and
    /// the submissions and blobs they ordered are deleted (0 keeps everything: an archive,
    /// whose disk grows with the network's history). See docs/operations.md [default: 100000].
    #[cfg_attr(feature = "cli", arg(long, env = "RETAIN_BLOCKS", value_name = "N"))]
    pub retain_blocks: Option<u64>,
    /// Fault injection for end-to-end tests: makes this validator misbehave.
    #[cfg_attr(feature = "cli", arg(long, env = "PLATFORM_FAULT", value_enum, hide = true))]
    pub fault: Option<Fault>,
}

macro_rules! layer {
    ($top:ident, $bottom:ident: $($field:ident),* $(,)?) => {
        Settings { $($field: $top.$field.or($bottom.$field)),* }
    };
}

impl Settings {
    /// `self` (flags and environment) over `file`.
    pub fn layered(self, file: Settings) -> Settings {
        let top = self;
        layer!(top, file: secret_key, wallet_name, wallet_hotkey, wallet_path, subtensor_endpoint, netuid,
            p2p_listen_addr, p2p_external_addr, bootstrap_peers, data_dir, http_addr, min_stake, sudo_key,
            log_format, block_interval_ms, view_timeout_ms, miner_rate_per_minute, mempool_capacity,
            max_connections_per_ip, max_unordered_mib, retain_blocks, fault)
    }

    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("config", format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError::new("config", format!("{}: {}", path.display(), e.message())))
    }
}

/// A setting that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    /// The setting's name, as in the file.
    pub setting: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    fn new(setting: &'static str, reason: impl Into<String>) -> Self {
        ConfigError { setting, reason: reason.into() }
    }
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The validator's hotkey.
    pub hotkey: Keypair,
    /// Chain endpoints, in order of preference.
    pub endpoints: Vec<String>,
    /// Subnet.
    pub netuid: NetUid,
    /// libp2p listen address.
    pub p2p_listen: String,
    /// Address peers should dial.
    pub p2p_external: Option<String>,
    /// Peers to join through.
    pub bootstrap: Vec<String>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP API address.
    pub http_addr: SocketAddr,
    /// Minimum validator stake in rao.
    pub min_stake_rao: u64,
    /// Who signs sudo actions; `None`: the subnet owner as the chain says.
    pub sudo_key: Option<PublicKey>,
    /// Log format.
    pub log_format: LogFormat,
    /// Shortest time between blocks.
    pub block_interval: Duration,
    /// View 0 timeout in ms.
    pub view_timeout_ms: u64,
    /// Per-miner submission rate.
    pub miner_rate_per_minute: u32,
    /// Mempool bound.
    pub mempool_capacity: usize,
    /// Inbound p2p connections allowed per IP address.
    pub max_connections_per_ip: u32,
    /// A deliberate misbehaviour (fault tests only).
    pub fault: Option<Fault>,
    /// Committed blocks kept below the newest snapshot (0: all).
    pub retain_blocks: u64,
    /// Bytes unordered submissions may hold (`max_unordered_mib`).
    pub max_unordered_bytes: u64,
    /// Blocks between snapshot heights and checkpoints: [`platform_app::SNAPSHOT_INTERVAL`], a
    /// protocol constant every validator of a network shares (it decides which state roots
    /// cover a snapshot), so not a setting; the simulator shortens it to exercise snapshots.
    pub snapshot_interval: u64,
}

impl NodeConfig {
    /// Validates settings and fills in defaults.
    pub fn from_settings(s: Settings) -> Result<NodeConfig, ConfigError> {
        let hotkey = match (&s.secret_key, &s.wallet_name, &s.wallet_hotkey) {
            (Some(secret), _, _) => Keypair::from_suri(secret.trim())
                .map_err(|e| ConfigError::new("secret_key", format!("not a usable hotkey secret: {e}")))?,
            (None, Some(wallet), Some(hotkey)) => {
                let path = wallet_hotkey_path(s.wallet_path.as_deref(), wallet, hotkey);
                Keypair::from_wallet_file(&path).map_err(|e| ConfigError::new("wallet_hotkey", e.to_string()))?
            }
            (None, Some(_), None) => {
                return Err(ConfigError::new("wallet_hotkey", "--wallet-name needs --wallet-hotkey"));
            }
            _ => {
                return Err(ConfigError::new(
                    "secret_key",
                    "no hotkey: set VALIDATOR_SECRET_KEY (mnemonic or 0x seed) or --wallet-name/--wallet-hotkey",
                ));
            }
        };
        let netuid = s.netuid.unwrap_or(DEFAULT_NETUID);
        let endpoints = platform_chain::parse_endpoints(s.subtensor_endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))
            .map_err(|e| ConfigError::new("subtensor_endpoint", e))?;
        let p2p_listen = s.p2p_listen_addr.unwrap_or_else(|| DEFAULT_P2P_LISTEN.to_owned());
        check_multiaddr("p2p_listen_addr", &p2p_listen)?;
        if let Some(external) = &s.p2p_external_addr {
            check_multiaddr("p2p_external_addr", external)?;
        }
        let bootstrap: Vec<String> = s
            .bootstrap_peers
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        for peer in &bootstrap {
            check_multiaddr("bootstrap_peers", peer)?;
        }
        let http = s.http_addr.unwrap_or_else(|| DEFAULT_HTTP_ADDR.to_owned());
        let http_addr = http
            .parse()
            .map_err(|_| ConfigError::new("http_addr", format!("{http:?} is not HOST:PORT (e.g. 127.0.0.1:8080)")))?;
        let min_stake_rao = s
            .min_stake
            .unwrap_or(DEFAULT_MIN_STAKE)
            .checked_mul(RAO_PER_TAO)
            .ok_or_else(|| ConfigError::new("min_stake", "too large"))?;
        let sudo_key = s
            .sudo_key
            .map(|k| PublicKey::from_ss58(k.trim()).map_err(|e| ConfigError::new("sudo_key", e.to_string())))
            .transpose()?;
        let block_interval_ms = s.block_interval_ms.unwrap_or(250);
        if !(10..=60_000).contains(&block_interval_ms) {
            return Err(ConfigError::new("block_interval_ms", "must be 10..=60000"));
        }
        let view_timeout_ms = s.view_timeout_ms.unwrap_or(2_000);
        if !(100..=600_000).contains(&view_timeout_ms) || view_timeout_ms <= block_interval_ms {
            return Err(ConfigError::new("view_timeout_ms", "must be 100..=600000 and above block_interval_ms"));
        }
        let miner_rate_per_minute = s.miner_rate_per_minute.unwrap_or(60);
        if miner_rate_per_minute == 0 {
            return Err(ConfigError::new("miner_rate_per_minute", "must be at least 1"));
        }
        let mempool_capacity = s.mempool_capacity.unwrap_or(DEFAULT_MEMPOOL_CAPACITY);
        if mempool_capacity == 0 {
            return Err(ConfigError::new("mempool_capacity", "must be at least 1"));
        }
        let max_connections_per_ip = s.max_connections_per_ip.unwrap_or(5);
        if max_connections_per_ip == 0 {
            return Err(ConfigError::new("max_connections_per_ip", "must be at least 1"));
        }
        let retain_blocks = s.retain_blocks.unwrap_or(DEFAULT_RETAIN_BLOCKS);
        if retain_blocks != 0 && retain_blocks < MIN_RETAIN_BLOCKS {
            return Err(ConfigError::new(
                "retain_blocks",
                format!("must be 0 (keep everything) or at least {MIN_RETAIN_BLOCKS}"),
            ));
        }
        let max_unordered_mib = s.max_unordered_mib.unwrap_or(4096);
        if !(16..=1 << 30).contains(&max_unordered_mib) {
            return Err(ConfigError::new("max_unordered_mib", "must be 16..=1073741824"));
        }
        Ok(NodeConfig {
            hotkey,
            endpoints,
            netuid: NetUid::new(netuid),
            p2p_listen,
            p2p_external: s.p2p_external_addr,
            bootstrap,
            data_dir: s.data_dir.unwrap_or_else(|| PathBuf::from("./data")),
            http_addr,
            min_stake_rao,
            sudo_key,
            log_format: s.log_format.unwrap_or_default(),
            block_interval: Duration::from_millis(block_interval_ms),
            view_timeout_ms,
            miner_rate_per_minute,
            mempool_capacity,
            max_connections_per_ip,
            fault: s.fault,
            retain_blocks,
            max_unordered_bytes: max_unordered_mib << 20,
            snapshot_interval: platform_app::SNAPSHOT_INTERVAL,
        })
    }
}

fn check_multiaddr(setting: &'static str, address: &str) -> Result<(), ConfigError> {
    if !address.starts_with('/') || address.split('/').filter(|p| !p.is_empty()).count() < 2 {
        return Err(ConfigError::new(setting, format!("{address:?} is not a multiaddress like /ip4/1.2.3.4/tcp/9000")));
    }
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
