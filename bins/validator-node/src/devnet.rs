//! `validator-node devnet`: a whole local network in one command. A real subtensor runtime
//! under chopsticks, a subnet with validators holding permits and stake, the owner adding the
//! example challenges, miners submitting, and the weights each validator set read back from
//! chain storage after every epoch. Ctrl-C stops it.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use platform_chain::{Chain, Head};
use platform_devnet::{Devnet, DevnetConfig, miner_suri, now_ms};
use platform_node::Query;
use platform_types::{
    ChallengeId, ChallengeSpec, Envelope, Hash, MechanismId, NetUid, Payload, Phase, Phases, PublicKey, Submission,
};

use crate::devnet_matmul;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Options of `validator-node devnet`.
#[derive(Debug, clap::Args)]
pub struct DevnetArgs {
    /// Validators to seat and run.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Miners to register; each submits every few seconds, in turn to regression,
    /// invariant-agent, matmul-proof (committing, then revealing) and compute-lease.
    #[arg(long, default_value_t = 4)]
    miners: usize,
    /// Also register this miner hotkey (SS58 or 0x + 64 hex), whose secret key stays with you:
    /// sign your own submissions with it. Repeat for several.
    #[arg(long = "miner-key", value_name = "HOTKEY", value_parser = parse_hotkey)]
    miner_keys: Vec<PublicKey>,
    /// Where the chain's files and each validator's data directory go (kept after exit).
    #[arg(long, default_value = "devnet", value_name = "DIR")]
    work_dir: PathBuf,
    /// The folder holding subtensor-raonet-spec218.json.
    #[arg(long, env = "PLATFORM_CHAIN_DIR", default_value = "../shared/chain", value_name = "DIR")]
    chain_dir: PathBuf,
    /// The repository's tests/chopsticks (chopsticks is installed there on first use).
    #[arg(long, default_value = "tests/chopsticks", value_name = "DIR")]
    chopsticks_dir: PathBuf,
    /// The built example challenges (bash challenges/build.sh).
    #[arg(long, default_value = "challenges/dist", value_name = "DIR")]
    challenges_dir: PathBuf,
    /// First HTTP port: validator i serves on PORT + i.
    #[arg(long, default_value_t = 8080)]
    http_port: u16,
    /// Milliseconds between chain blocks (the chain makes a block only when asked).
    #[arg(long, default_value_t = 1000)]
    chain_block_ms: u64,
}

pub(crate) fn parse_hotkey(text: &str) -> Result<PublicKey, String> {
    match text.strip_prefix("0x") {
        Some(hex) => Hash::from_hex(hex).map(|h| PublicKey::from_bytes(*h.as_bytes())).map_err(|e| e.to_string()),
        None => PublicKey::from_ss58(text).map_err(|e| e.to_string()),
    }
}

/// When the command started: progress lines say how long ago.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

fn say(step: impl std::fmt::Display) {
    eprintln!("[devnet {:>6.1}s] {step}", START.elapsed().as_secs_f64());
}

/// Clears the work directory and sends the validators' logs to `validators.log` in it (this
/// terminal shows the network's progress and warnings only). Returns the directory.
pub fn prepare(args: &DevnetArgs) -> anyhow::Result<PathBuf> {
    LazyLock::force(&START);
    if args.work_dir.exists() {
        std::fs::remove_dir_all(&args.work_dir).with_context(|| format!("cannot clear {}", args.work_dir.display()))?;
    }
    std::fs::create_dir_all(&args.work_dir)?;
    let work_dir = args.work_dir.canonicalize()?;
    let file = std::fs::File::create(work_dir.join("validators.log"))?;
    let to_file = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    let to_terminal = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(EnvFilter::new("warn"));
    tracing_subscriber::registry().with(to_file).with(to_terminal).init();
    Ok(work_dir)
}

/// Runs the network in `work_dir` (from [`prepare`]) until Ctrl-C.
pub async fn run(args: DevnetArgs, work_dir: PathBuf) -> anyhow::Result<()> {
    let mut config = DevnetConfig::new(
        args.chain_dir.join("subtensor-raonet-spec218.json"),
        args.chopsticks_dir.clone(),
        work_dir.clone(),
    );
    config.validators = args.validators;
    config.miners = args.miners.max(1);
    config.miner_keys = args.miner_keys.clone();
    config.http_port_base = Some(args.http_port);
    let steps = 3 + config.validators + config.miners + config.miner_keys.len() + config.validators;
    let mut done = 0;
    let net = Devnet::start(config, &mut |step| {
        done += 1;
        say(format!("({done}/{steps}) {step}"));
    })
    .await?;

    let challenges = [
        ("regression", 400_000_000, Phases::One),
        ("invariant-agent", 300_000_000, Phases::One),
        (devnet_matmul::CHALLENGE, 150_000_000, Phases::CommitReveal { reveal_blocks: devnet_matmul::REVEAL_BLOCKS }),
        ("compute-lease", 150_000_000, Phases::One),
    ];
    let dist = &args.challenges_dir;
    for (id, share, phases) in challenges {
        let path = dist.join(format!("{id}.wasm"));
        let wasm = std::fs::read(&path).with_context(|| {
            format!("cannot read {}; build the examples with bash challenges/build.sh", path.display())
        })?;
        say(format!("owner: adding challenge {id} ({} bytes), waiting until every validator loads it", wasm.len()));
        let spec = ChallengeSpec { phases, ..platform_devnet::challenge_spec(id, &wasm, share)? };
        net.add_challenge_spec(spec, wasm, Duration::from_secs(120)).await?;
    }
    let agent = std::fs::read(dist.join("invariant-baseline.wasm")).context("the baseline agent")?;

    println!();
    println!("Local network running: {} validators on subnet {}.", net.validators.len(), net.config.netuid);
    println!("  chain:       {} (log {})", net.local.url(), net.local.log().display());
    for i in 0..net.validators.len() {
        println!("  validator {i}: {}   data {}", net.url(i).unwrap_or_default(), net.data_dir(i).display());
    }
    if let Some(url) = net.url(0) {
        println!("  dashboard:   {url}/ui (each validator serves one at its URL + /ui)");
    }
    println!("  logs:        {} (RUST_LOG filters it)", work_dir.join("validators.log").display());
    println!("  miners registered on subnet {} (the devnet submits for the first ones):", net.config.netuid);
    let graph = net.chain.metagraph(NetUid::new(net.config.netuid), None).await.ok();
    for (i, miner) in net.miners.iter().enumerate() {
        let uid = graph.as_ref().and_then(|g| g.uid_of(&miner.public())).map_or("?".to_owned(), |u| u.to_string());
        let (ss58, suri) = (miner.public().to_ss58(), miner_suri(i));
        println!("    {ss58}  uid {uid}  secret URI {suri}  (submits to {})", challenge_of(i));
    }
    for key in &net.config.miner_keys {
        println!("    {}  (--miner-key: you sign)", key.to_ss58());
    }
    println!(
        "  try:        curl {}/scores   |   curl {}/weights",
        net.url(0).unwrap_or_default(),
        net.url(0).unwrap_or_default()
    );
    println!("Ctrl-C stops.");
    println!();

    // Ctrl-C is answered at once, even while the loop waits for the chain to build a block (at an
    // epoch's start that can be one block per validator's weights, seconds each).
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        failed = drive(&net, &args, &agent) => failed,
    };
    say("stopping");
    net.shutdown().await;
    outcome
}

/// Makes a chain block every `--chain-block-ms`, shows the weights on chain whenever they change,
/// and submits for the miners every 3 s; returns only on an error (the chain failing).
async fn drive(net: &Devnet, args: &DevnetArgs, agent: &[u8]) -> anyhow::Result<()> {
    let mut matmul_miners: Vec<devnet_matmul::MatmulMiner> =
        (0..net.miners.len()).map(|_| devnet_matmul::MatmulMiner::default()).collect();
    let netuid = NetUid::new(net.config.netuid);
    let mut nonce = now_ms();
    let mut block_tick = tokio::time::interval(Duration::from_millis(args.chain_block_ms.max(50)));
    let mut submit_tick = tokio::time::interval(Duration::from_secs(3));
    let mut shown: Vec<Vec<(u16, u16)>> = Vec::new();
    loop {
        tokio::select! {
            _ = block_tick.tick() => {
                net.local.new_blocks(1).await?;
                let on_chain = weights_on_chain(net, netuid).await;
                if on_chain != shown && on_chain.iter().any(|w| !w.is_empty()) {
                    show_weights(net, &on_chain, shown.iter().all(Vec::is_empty)).await;
                    shown = on_chain;
                }
            }
            _ = submit_tick.tick() => {
                for (m, miner) in net.miners.iter().enumerate() {
                    nonce += 1;
                    let challenge = challenge_of(m);
                    let via = m % net.validators.len();
                    if challenge == devnet_matmul::CHALLENGE {
                        let Some(node) = net.node(via) else { continue };
                        if let Some(done) = matmul_miners[m].step(node, miner, netuid, nonce).await {
                            say(format!("miner {m}: {done} ({challenge}, via validator {via})"));
                        }
                        continue;
                    }
                    let payload = match challenge {
                        "regression" => format!("{} -2 0.25 5 -0.5", 1.0 + (nonce % 10) as f64 / 10.0).into_bytes(),
                        "compute-lease" => {
                            let Some(node) = net.node(via) else { continue };
                            let Some(epoch) = node.query(Query::Task).await.ok().and_then(|t| t["epoch"].as_u64()) else {
                                continue;
                            };
                            lease_workers(m, epoch, miner)
                        }
                        _ => agent.to_vec(),
                    };
                    let envelope = sealed_submission(miner, netuid, &ChallengeId::new(challenge)?, payload, nonce, Phase::Answer);
                    if let Some(node) = net.node(via) {
                        match node.submit(envelope, None).await {
                            Ok(id) => say(format!("miner {m}: submitted {id} to {challenge} via validator {via}")),
                            Err(r) => say(format!("miner {m}: refused: {}", r.reason)),
                        }
                    }
                }
            }
        }
    }
}

/// `miner`'s submission of `payload` (inline) to `challenge` in `phase`, signed now, as a
/// miner sends it.
pub(crate) fn sealed_submission(
    miner: &platform_types::Keypair,
    netuid: NetUid,
    challenge: &ChallengeId,
    payload: Vec<u8>,
    nonce: u64,
    phase: Phase,
) -> Envelope {
    let submission = Submission {
        challenge: challenge.clone(),
        miner: miner.public(),
        payload_size: payload.len() as u64,
        payload: Payload::Inline(payload),
        metadata: vec![],
        nonce,
        timestamp_ms: now_ms(),
        phase,
    };
    Envelope::seal(miner, netuid, &submission)
}

/// The challenge the devnet's miner `m` submits to, in turn: `regression` (scored one by one),
/// `invariant-agent` (scored per epoch, against the epoch's other agents), `matmul-proof` (a
/// commitment, then its reveal), `compute-lease` (scored per epoch, by availability too).
fn challenge_of(m: usize) -> &'static str {
    ["regression", "invariant-agent", devnet_matmul::CHALLENGE, "compute-lease"][m % 4]
}

/// A compute-lease answer for `epoch` (the validator's current one): four workers, three leased,
/// each with a nonce passing the default compute check.
fn lease_workers(m: usize, epoch: u64, miner: &platform_types::Keypair) -> Vec<u8> {
    let difficulty = compute_lease::Params::default().difficulty;
    let workers: Vec<_> = (0..4u8)
        .map(|w| compute_lease::solve(epoch, miner.public().as_bytes(), [m as u8 * 16 + w; 32], w < 3, difficulty))
        .collect();
    compute_lease::encode(&workers)
}

/// Each validator's weights for mechanism 0 as stored on chain (empty when unset or unreadable).
async fn weights_on_chain(net: &Devnet, netuid: NetUid) -> Vec<Vec<(u16, u16)>> {
    let Ok(graph) = net.chain.metagraph(netuid, None).await else { return Vec::new() };
    let mut all = Vec::new();
    for key in &net.validators {
        let weights = match graph.uid_of(&key.public()) {
            Some(uid) => net.chain.weights(netuid, MechanismId::new(0), uid.get(), None).await.unwrap_or_default(),
            None => Vec::new(),
        };
        all.push(weights);
    }
    all
}

/// Prints the weights read back from chain storage, per validator.
async fn show_weights(net: &Devnet, on_chain: &[Vec<(u16, u16)>], first: bool) {
    let block = net.chain.block(Head::Best).await.map(|b| b.number).unwrap_or_default();
    if first {
        say(format!("first weights on chain at block {block}"));
    } else {
        say(format!("new weights on chain at block {block}"));
    }
    for (i, weights) in on_chain.iter().enumerate() {
        if weights.is_empty() {
            println!("  validator {i}: none yet");
        } else {
            println!("  validator {i}: {weights:?}  (uid, weight of 65535)");
        }
    }
    let identical = on_chain.iter().all(|w| *w == on_chain[0]);
    println!("  identical across validators: {}", if identical { "yes" } else { "not yet" });
}
