//! [`LocalChain`]: a real subtensor runtime on loopback, run by chopsticks from a raw chain spec.
//!
//! Used by the tests against the real runtime and by the local network. Chopsticks authors a
//! block per transaction (`Instant` mode) and serves the normal JSON-RPC; its `dev_*` methods
//! advance blocks and set storage.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use subxt::ext::subxt_rpcs::RpcClient;
use subxt::ext::subxt_rpcs::client::RpcParams;
use tokio::process::{Child, Command};

use crate::error::ChainError;

/// //Alice's SS58 address: the chain's sudo key and a funded account on the local chain.
pub const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

/// Registrations a local chain's subnet allows per block and per adjustment interval.
pub const MAX_REGISTRATIONS: u16 = 1024;

/// How to start a local chain.
#[derive(Debug, Clone)]
pub struct LocalChainConfig {
    /// The raw chain spec whose genesis holds the runtime (`subtensor-raonet-spec218.json`).
    pub spec: PathBuf,
    /// chopsticks' entry script (`.../@acala-network/chopsticks/chopsticks.cjs`).
    pub chopsticks: PathBuf,
    /// `node` to run it with.
    pub node: PathBuf,
    /// Loopback port; `None` picks a free one.
    pub port: Option<u16>,
    /// The subnet the chain is prepared for.
    pub netuid: u16,
    /// Its tempo.
    pub tempo: u16,
    /// Where chopsticks' config and log go.
    pub work_dir: PathBuf,
    /// How long startup may take.
    pub startup_timeout: Duration,
}

impl LocalChainConfig {
    /// Defaults for `spec` and `chopsticks`: subnet 1, tempo 20, a free port.
    pub fn new(spec: PathBuf, chopsticks: PathBuf, work_dir: PathBuf) -> Self {
        LocalChainConfig {
            spec,
            chopsticks,
            node: PathBuf::from("node"),
            port: None,
            netuid: 1,
            tempo: 20,
            work_dir,
            startup_timeout: Duration::from_secs(90),
        }
    }
}

/// chopsticks' entry script in `dir` (the repository's `tests/chopsticks`), installed by the
/// pinned `install.sh` there when it is missing.
pub fn install_chopsticks(dir: &Path) -> Result<PathBuf, ChainError> {
    let fail = |reason: String| ChainError::Connect { endpoint: "local chopsticks".into(), reason };
    let entry = dir.join("node_modules/@acala-network/chopsticks/chopsticks.cjs");
    if !entry.is_file() {
        let script = dir.join("install.sh");
        let status = std::process::Command::new("bash")
            .arg(&script)
            .status()
            .map_err(|e| fail(format!("cannot run {}: {e}", script.display())))?;
        if !status.success() || !entry.is_file() {
            return Err(fail(format!("{} failed ({status})", script.display())));
        }
    }
    Ok(entry)
}

/// A running chopsticks process; killed when dropped.
pub struct LocalChain {
    child: Child,
    port: u16,
    rpc: RpcClient,
    log: PathBuf,
}

impl std::fmt::Debug for LocalChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChain").field("port", &self.port).finish_non_exhaustive()
    }
}

fn free_port() -> Result<u16, ChainError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| ChainError::Rpc(format!("no free port: {e}")))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| ChainError::Rpc(e.to_string()))
}

fn params(values: &[Json]) -> Result<RpcParams, ChainError> {
    let mut p = RpcParams::new();
    for v in values {
        p.push(v).map_err(|e| ChainError::Rpc(e.to_string()))?;
    }
    Ok(p)
}

impl LocalChain {
    /// Starts chopsticks and waits until its RPC answers. The chain is prepared for the
    /// configured subnet: //Alice funded, the tempo set, the weights rate limit 1 block, and
    /// registrations limited to [`MAX_REGISTRATIONS`] per block and per interval (the runtime's
    /// default, 3 x 4 an interval, refuses the 13th with `Custom(5)`, and a local network seats
    /// every validator and miner at once).
    pub async fn start(config: &LocalChainConfig) -> Result<Self, ChainError> {
        let fail = |reason: String| ChainError::Connect { endpoint: "local chopsticks".into(), reason };
        for (what, path) in [("chain spec", &config.spec), ("chopsticks", &config.chopsticks)] {
            if !path.is_file() {
                return Err(fail(format!("{what} not found at {}", path.display())));
            }
        }
        std::fs::create_dir_all(&config.work_dir).map_err(|e| fail(e.to_string()))?;
        let port = match config.port {
            Some(p) => p,
            None => free_port()?,
        };
        let yaml = format!(
            "genesis: {spec}\nport: {port}\nhost: 127.0.0.1\nbuild-block-mode: Instant\n\
             import-storage:\n  Sudo: {{ Key: {ALICE} }}\n  System:\n    Account:\n      - [[{ALICE}], {{providers: 1, data: {{free: 1000000000000000}}}}]\n\
             \x20 SubtensorModule:\n    Tempo: [[[{netuid}], {tempo}]]\n    WeightsSetRateLimit: [[[{netuid}], 1]]\n\
             \x20   TargetRegistrationsPerInterval: [[[{netuid}], {registrations}]]\n    MaxRegistrationsPerBlock: [[[{netuid}], {registrations}]]\n",
            spec = config.spec.display(),
            netuid = config.netuid,
            tempo = config.tempo,
            registrations = MAX_REGISTRATIONS,
        );
        let config_path = config.work_dir.join(format!("chopsticks-{port}.yml"));
        std::fs::write(&config_path, yaml).map_err(|e| fail(e.to_string()))?;
        let log = config.work_dir.join(format!("chopsticks-{port}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| fail(e.to_string()))?;
        let log_err = log_file.try_clone().map_err(|e| fail(e.to_string()))?;
        // A process group of its own: Ctrl-C in a terminal signals the whole foreground group,
        // and the chain must outlive the validators that use it (they stop first, then the
        // chain is killed with this handle).
        let mut child = Command::new(&config.node)
            .process_group(0)
            .arg(&config.chopsticks)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("cannot run {}: {e}", config.node.display())))?;
        let url = format!("ws://127.0.0.1:{port}");
        let deadline = Instant::now() + config.startup_timeout;
        let rpc = loop {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = read_tail(&log);
                return Err(fail(format!("chopsticks exited ({status}):\n{tail}")));
            }
            if Instant::now() > deadline {
                return Err(fail(format!(
                    "no RPC on port {port} after {:?}:\n{}",
                    config.startup_timeout,
                    read_tail(&log)
                )));
            }
            if let Ok(rpc) = RpcClient::from_insecure_url(&url).await {
                break rpc;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let chain = LocalChain { child, port, rpc, log };
        chain.ensure_first_block().await?;
        Ok(chain)
    }

    /// Makes sure block 1 exists. chopsticks builds it at start-up, stamping it from two reads
    /// of the wall clock (the slot in its digest, the timestamp inherent) since the genesis
    /// holds no timestamp; when a slot boundary (3 s) passes between the reads — likely on a
    /// loaded machine — Aura refuses the block ("Timestamp slot must match `CurrentSlot`"), and
    /// every later try can fail alike: the first transaction was then never included (seen: a
    /// 16-validator devnet waited 600 s for its first registration). Here, a chain still at its
    /// genesis gets a timestamp (now) and block 1 is built from that one value. Called by
    /// [`start`](Self::start); nothing happens on a chain past its genesis.
    pub async fn ensure_first_block(&self) -> Result<(), ChainError> {
        if self.head_number().await? > 0 {
            return Ok(());
        }
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        self.set_storage(json!({ "Timestamp": { "Now": now_ms as u64 } })).await?;
        self.new_blocks(1).await?;
        match self.head_number().await? {
            0 => Err(ChainError::Rpc(format!(
                "chopsticks could not build block 1; the end of its log:\n{}",
                self.log_tail()
            ))),
            _ => Ok(()),
        }
    }

    /// The number of the chain's head.
    pub async fn head_number(&self) -> Result<u64, ChainError> {
        let header = self.request("chain_getHeader", &[]).await?;
        header["number"]
            .as_str()
            .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| ChainError::Rpc(format!("a header without a number: {header}")))
    }

    /// The WebSocket endpoint.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The loopback port it serves on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// chopsticks' log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The last lines of chopsticks' log, for an error message.
    pub fn log_tail(&self) -> String {
        read_tail(&self.log)
    }

    /// Builds `count` empty blocks.
    pub async fn new_blocks(&self, count: u32) -> Result<(), ChainError> {
        self.request("dev_newBlock", &[json!({ "count": count })]).await.map(drop)
    }

    /// Calls JSON-RPC `method` (the node's, or chopsticks' `dev_*`) with `args`.
    pub async fn request(&self, method: &str, args: &[Json]) -> Result<Json, ChainError> {
        self.rpc.request(method, params(args)?).await.map_err(|e| ChainError::Rpc(e.to_string()))
    }

    /// Sets storage from chopsticks' `{Pallet: {Item: value | [[keys], value]...}}` JSON.
    /// A falsy value (0, false) deletes the entry, so the runtime's default applies.
    pub async fn set_storage(&self, storage: Json) -> Result<(), ChainError> {
        self.request("dev_setStorage", &[storage]).await.map(drop)
    }

    /// Stops chopsticks.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn read_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
