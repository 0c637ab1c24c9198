//! A local network on this machine: a real subtensor runtime under chopsticks, a subnet whose
//! validators hold permits and stake, registered miners, and one validator node per seat on
//! loopback. `validator-node devnet`, the end-to-end tests and the node benchmark all start
//! their networks here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use platform_chain::{Chain, ConnectOptions, LocalChain, LocalChainConfig, SubxtChain, install_chopsticks};
use platform_types::{
    ChallengeId, ChallengeSpec, Envelope, Hash, Keypair, MechanismId, NetUid, PublicKey, RuntimePolicy, ScoringConfig,
    SudoAction, SudoCommand, blake2b_256,
};
use serde_json::{Value, json};

use platform_node::{NodeConfig, Query, Rejection, RunningNode, Settings, start};

/// Stake given to each seated validator (5 000 TAO), above the default minimum of 1 000.
pub const VALIDATOR_STAKE_RAO: u64 = 5_000_000_000_000;

/// How to start a local network.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// The raw chain spec holding the subtensor runtime (`subtensor-raonet-spec218.json`).
    pub chain_spec: PathBuf,
    /// The repository's `tests/chopsticks` (its `install.sh` installs the pinned chopsticks).
    pub chopsticks_dir: PathBuf,
    /// Where the chain's files and each validator's `data/` go.
    pub work_dir: PathBuf,
    /// Validators seated (each with a permit and [`VALIDATOR_STAKE_RAO`]).
    pub validators: usize,
    /// How many of them, counted from the last seat, the caller runs itself (for example as
    /// `validator-node` processes configured from [`Devnet::settings`]); the rest run here.
    pub external: usize,
    /// Miners registered (keys [`miner_suri`]); the devnet submits for them.
    pub miners: usize,
    /// Further miner hotkeys to register, whose secret keys stay with their owners (a client
    /// under test signing its own submissions).
    pub miner_keys: Vec<PublicKey>,
    /// The subnet.
    pub netuid: u16,
    /// Its tempo in chain blocks.
    pub tempo: u16,
    /// First HTTP port (validator `i` listens on `base + i`); `None` picks free ports.
    pub http_port_base: Option<u16>,
    /// Settings every validator gets; the network fills in keys, endpoint, ports, peers and
    /// data directories.
    pub settings: Settings,
}

impl DevnetConfig {
    /// Four validators and three miners on subnet 1 (tempo 20), blocks every 100 ms.
    pub fn new(chain_spec: PathBuf, chopsticks_dir: PathBuf, work_dir: PathBuf) -> Self {
        DevnetConfig {
            chain_spec,
            chopsticks_dir,
            work_dir,
            validators: 4,
            external: 0,
            miners: 3,
            miner_keys: Vec::new(),
            netuid: 1,
            tempo: 20,
            http_port_base: None,
            settings: Settings { block_interval_ms: Some(100), view_timeout_ms: Some(1_500), ..Settings::default() },
        }
    }
}

/// The secret URI of seated validator `i`.
pub fn validator_suri(i: usize) -> String {
    format!("//Platform//v{i}")
}

/// The secret URI of miner `i`.
pub fn miner_suri(i: usize) -> String {
    format!("//Platform//miner{i}")
}

fn keypair(suri: &str) -> anyhow::Result<Keypair> {
    Keypair::from_suri(suri).with_context(|| format!("cannot derive {suri}"))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A running local network.
pub struct Devnet {
    /// How it was started.
    pub config: DevnetConfig,
    /// The chain process.
    pub local: LocalChain,
    /// A client of it.
    pub chain: SubxtChain,
    /// //Alice: the chain's sudo key, the coldkey paying registrations, and the subnet owner
    /// who signs sudo actions.
    pub owner: Keypair,
    /// Validator hotkeys, by seat.
    pub validators: Vec<Keypair>,
    /// Miner hotkeys.
    pub miners: Vec<Keypair>,
    nodes: Vec<Option<RunningNode>>,
    sudo_nonce: AtomicU64,
}

/// A challenge running `wasm` on mechanism 0 with the default policy and scoring.
pub fn challenge_spec(id: &str, wasm: &[u8], emission_share_ppb: u32) -> anyhow::Result<ChallengeSpec> {
    Ok(ChallengeSpec {
        id: ChallengeId::new(id).with_context(|| format!("{id:?} is not a valid challenge id"))?,
        name: id.to_owned(),
        module_hash: blake2b_256(wasm),
        module_size: wasm.len() as u64,
        policy: RuntimePolicy::default(),
        scoring: ScoringConfig::default(),
        mechanism: MechanismId::new(0),
        emission_share_ppb,
        params: Vec::new(),
        phases: Default::default(),
    })
}

impl Devnet {
    /// Starts the chain, seats validators and miners, and starts every validator, reporting
    /// each step to `progress`.
    pub async fn start(config: DevnetConfig, progress: &mut dyn FnMut(String)) -> anyhow::Result<Devnet> {
        if config.validators == 0 {
            bail!("a network needs at least one validator");
        }
        progress(format!("chopsticks: checking {}", config.chopsticks_dir.display()));
        let chopsticks = install_chopsticks(&config.chopsticks_dir)?;
        progress(format!("chain: starting the subtensor runtime from {}", config.chain_spec.display()));
        let mut chain_config =
            LocalChainConfig::new(config.chain_spec.clone(), chopsticks, config.work_dir.join("chain"));
        chain_config.netuid = config.netuid;
        chain_config.tempo = config.tempo;
        let local = LocalChain::start(&chain_config).await?;
        let chain = SubxtChain::connect(&local.url(), ConnectOptions::default()).await?;
        let owner = keypair("//Alice")?;
        let validators = (0..config.validators).map(|i| keypair(&validator_suri(i))).collect::<Result<Vec<_>, _>>()?;
        let miners = (0..config.miners).map(|i| keypair(&miner_suri(i))).collect::<Result<Vec<_>, _>>()?;

        let netuid = NetUid::new(config.netuid);
        let hotkeys: Vec<PublicKey> =
            validators.iter().chain(&miners).map(Keypair::public).chain(config.miner_keys.iter().copied()).collect();
        for (n, hotkey) in hotkeys.iter().enumerate() {
            progress(format!("chain: registering hotkey {}/{} on subnet {}", n + 1, hotkeys.len(), config.netuid));
            chain.burned_register(&owner, netuid, hotkey).await.with_context(|| format!("cannot register {hotkey}"))?;
        }
        let graph = chain.metagraph(netuid, None).await?;
        let mut permits = vec![false; graph.neurons.len()];
        let mut stakes = Vec::new();
        for key in &validators {
            let uid = graph.uid_of(&key.public()).context("a validator is missing from the metagraph")?;
            permits[usize::from(uid.get())] = true;
            stakes.push(json!([[key.public().to_ss58(), config.netuid], VALIDATOR_STAKE_RAO]));
        }
        progress(format!("chain: {} validator permits and stake set", validators.len()));
        local
            .set_storage(json!({ "SubtensorModule": {
                "ValidatorPermit": [[[config.netuid], permits]],
                "TotalHotkeyAlpha": stakes,
            } }))
            .await?;

        let mut devnet = Devnet {
            nodes: (0..config.validators).map(|_| None).collect(),
            config,
            local,
            chain,
            owner,
            validators,
            miners,
            sudo_nonce: AtomicU64::new(0),
        };
        let in_process = devnet.validators.len().saturating_sub(devnet.config.external);
        for i in 0..in_process {
            progress(format!("validators: starting {}/{in_process}", i + 1));
            devnet.start_node(i).await?;
        }
        progress("validators: agreeing on the genesis validator set".into());
        for (i, node) in devnet.nodes.iter().enumerate() {
            if let Some(node) = node {
                node.started(Duration::from_secs(120)).await.map_err(|e| anyhow::anyhow!("validator {i}: {e}"))?;
            }
        }
        Ok(devnet)
    }

    /// Validator `i`'s data directory.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.config.work_dir.join(format!("validator-{i}"))
    }

    /// Validator `i`'s configuration: bootstrapping from the running validators.
    pub fn node_config(&self, i: usize) -> anyhow::Result<NodeConfig> {
        Ok(NodeConfig::from_settings(self.settings(i))?)
    }

    /// Validator `i`'s settings, as flags, environment or a file would give them.
    pub fn settings(&self, i: usize) -> Settings {
        let bootstrap: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(_, n)| n.as_ref())
            .flat_map(|n| n.p2p_addresses.iter().cloned())
            .collect();
        let mut settings = self.config.settings.clone();
        settings.secret_key = Some(validator_suri(i));
        settings.subtensor_endpoint = Some(self.local.url());
        settings.netuid = Some(self.config.netuid);
        settings.p2p_listen_addr.get_or_insert_with(|| "/ip4/127.0.0.1/tcp/0".into());
        // Every validator dials from 127.0.0.1: the per-IP limit must admit all of them.
        settings.max_connections_per_ip.get_or_insert(u32::try_from(2 * self.validators.len() + 8).unwrap_or(u32::MAX));
        settings.bootstrap_peers = Some(bootstrap);
        settings.data_dir = Some(self.data_dir(i));
        settings.http_addr = Some(match self.config.http_port_base {
            Some(base) => format!("127.0.0.1:{}", usize::from(base) + i),
            None => "127.0.0.1:0".into(),
        });
        settings.sudo_key = Some(self.owner.public().to_ss58());
        settings
    }

    /// Starts (or restarts) validator `i` from its data directory.
    pub async fn start_node(&mut self, i: usize) -> anyhow::Result<()> {
        if self.nodes[i].is_some() {
            bail!("validator {i} is already running");
        }
        let cfg = self.node_config(i)?;
        let chain = SubxtChain::connect(&self.local.url(), ConnectOptions::default()).await?;
        self.nodes[i] = Some(start(cfg, chain).await.with_context(|| format!("validator {i} did not start"))?);
        Ok(())
    }

    /// Stops validator `i` gracefully.
    pub async fn stop_node(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].take() {
            node.shutdown().await;
        }
    }

    /// Validator `i`, when running.
    pub fn node(&self, i: usize) -> Option<&RunningNode> {
        self.nodes.get(i).and_then(Option::as_ref)
    }

    /// Validator `i`'s HTTP base URL, when running.
    pub fn url(&self, i: usize) -> Option<String> {
        self.node(i).map(|n| format!("http://{}", n.http_addr))
    }

    /// Waits until every running validator has committed at least `height` blocks.
    pub async fn wait_for_height(&self, height: u64, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            loop {
                let info = node.query(Query::Consensus).await.map_err(|r| anyhow::anyhow!(r.reason))?;
                if info["tip"]["height"].as_u64() >= Some(height) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("validator {i} did not reach height {height} within {timeout:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Signs `command` with the owner key and sends it to validator `via`.
    pub async fn sudo(&self, via: usize, command: SudoCommand, module: Option<Vec<u8>>) -> Result<Hash, Rejection> {
        let nonce = self.sudo_nonce.fetch_add(1, Ordering::Relaxed) + 1;
        let action = SudoAction { command, nonce, timestamp_ms: now_ms() };
        let envelope = Envelope::seal(&self.owner, NetUid::new(self.config.netuid), &action);
        let node = self
            .node(via)
            .ok_or_else(|| Rejection { status: 503, reason: format!("validator {via} is not running") })?;
        node.sudo(envelope, module).await
    }

    /// Adds a challenge running `wasm` with default policy and scoring, then waits until every
    /// running validator has loaded it.
    pub async fn add_challenge(
        &self,
        id: &str,
        wasm: Vec<u8>,
        emission_share_ppb: u32,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.add_challenge_spec(challenge_spec(id, &wasm, emission_share_ppb)?, wasm, timeout).await
    }

    /// Registers `spec` with its module `wasm` (signed by the owner, sent to validator 0) and
    /// waits until every running validator has loaded it.
    pub async fn add_challenge_spec(
        &self,
        spec: ChallengeSpec,
        wasm: Vec<u8>,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let id = spec.id.as_str().to_owned();
        let id = id.as_str();
        self.sudo(0, SudoCommand::AddChallenge(spec), Some(wasm))
            .await
            .map_err(|r| anyhow::anyhow!("adding {id}: {}", r.reason))?;
        let deadline = Instant::now() + timeout;
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            loop {
                let list = node.query(Query::Challenges).await.map_err(|r| anyhow::anyhow!(r.reason))?;
                let loaded = list
                    .as_array()
                    .is_some_and(|l| l.iter().any(|c| c["id"] == id && c["module_loaded"] == Value::Bool(true)));
                if loaded {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("validator {i} did not load challenge {id} within {timeout:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Stops every validator, all at once (each waits for its own tasks and store, so one by
    /// one a large network took the sum of their waits), then the chain.
    pub async fn shutdown(mut self) {
        let mut stopping = tokio::task::JoinSet::new();
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            stopping.spawn(node.shutdown());
        }
        while stopping.join_next().await.is_some() {}
        self.local.stop().await;
    }
}
