//! `validator-node`: runs one Platform validator until SIGINT or SIGTERM.

mod audit;
mod devnet;
mod devnet_matmul;
mod weights;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use platform_chain::{FailoverChain, FailoverOptions};
use platform_node::{LogFormat, NodeConfig, Settings};
use tracing_subscriber::EnvFilter;

/// jemalloc instead of the system's malloc: admission allocates and frees many small, short-lived
/// buffers on several threads (request bodies, envelopes, batches); under load over HTTP glibc's
/// `malloc` and `free` took 8 % of all CPU samples. Measured in docs/benchmarks.md (issue 18,
/// session 45): about 10 % less CPU per admitted submission, a few MiB more resident.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A Platform validator.
///
/// Joins the subnet's validator network over libp2p, orders submissions with the other
/// validators (stake-weighted PBFT), evaluates them in the deterministic WASM sandbox, agrees
/// on one weight vector per epoch and submits it to the Bittensor chain. State lives in
/// DATA_DIR; the HTTP API serves /health, /submissions, /scores, /weights and /metrics.
///
/// Every setting can be a flag, an environment variable or a line in the --config TOML file
/// (flags win over the environment, which wins over the file). Logs go to stderr; RUST_LOG
/// filters them (default: info).
#[derive(Debug, Parser)]
#[command(name = "validator-node", version, about, long_about)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// TOML file with settings (snake_case names, e.g. `netuid = 100`).
    #[arg(long, env = "PLATFORM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Start a whole local network on this machine: a real subtensor runtime (chopsticks),
    /// a subnet with validators holding permits and stake, the example challenges, miners
    /// submitting, and the weights each validator sets read back from the chain every epoch.
    Devnet(devnet::DevnetArgs),
    /// Show how a weight vector would be sent, without sending it: the path (direct,
    /// timelocked commit-reveal or hashed commit-reveal) and why, the drand reveal round and the
    /// timelocked commit's bytes. Reads the chain with --endpoint, or takes the epoch state
    /// (--tempo --block …) or an explicit --reveal-round offline.
    Weights(weights::WeightsArgs),
    /// Check a validator's committed history again from its data directory, trusting nothing it
    /// computed: every block's certificate (> 2/3 of the stake of the validator set in force)
    /// and rules, every evaluation run again in the sandbox (or a --sample), every epoch's
    /// weights recomputed, and with --endpoint compared with what each validator set on chain.
    /// Exit status 0 when everything agrees, 2 when anything differs, 1 on error.
    Audit(audit::AuditArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Weights(args)) = cli.command {
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return fail(e.into()),
        };
        return match runtime.block_on(weights::run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    }
    if let Some(Command::Audit(args)) = cli.command {
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return fail(e.into()),
        };
        return runtime.block_on(audit::run(args)).unwrap_or_else(fail);
    }
    if let Some(Command::Devnet(args)) = cli.command {
        let work_dir = match devnet::prepare(&args) {
            Ok(dir) => dir,
            Err(e) => return fail(e),
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return fail(e.into()),
        };
        return match runtime.block_on(devnet::run(args, work_dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    }
    let settings = match &cli.config {
        Some(path) => match Settings::from_file(path) {
            Ok(file) => cli.settings.layered(file),
            Err(e) => return fail(e.into()),
        },
        None => cli.settings,
    };
    if let Err(e) = refuse_renamed_settings() {
        return fail(e);
    }
    let config = match NodeConfig::from_settings(settings) {
        Ok(config) => config,
        Err(e) => return fail(e.into()),
    };
    init_logs(config.log_format);
    warn_retired_settings();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(e.into()),
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

/// Settings of the Docker-based Platform that nothing here reads (docs/operations.md, "Coming
/// from the Docker-based Platform"), with what replaced each.
const RETIRED_SETTINGS: [(&str, &str); 3] = [
    ("BROKER_WS_PORT", "there is no container broker: challenges are WASM modules run in-process"),
    ("BROKER_JWT_SECRET", "there is no container broker, so no secret for it"),
    ("PLATFORM_PUBLIC_URL", "challenges do not call the validator; miners use the HTTP API at HTTP_ADDR"),
];

/// Settings renamed because their meaning changed: starting with one set is an error, so that a
/// threshold an operator chose is never dropped silently.
const RENAMED_SETTINGS: [(&str, &str); 1] = [(
    "MIN_STAKE_TAO",
    "set MIN_STAKE instead: the threshold is in the chain's stake weight (alpha on the subnet + TaoWeight x root TAO), not TAO",
)];

fn refuse_renamed_settings() -> anyhow::Result<()> {
    for (name, instead) in RENAMED_SETTINGS {
        if std::env::var_os(name).is_some() {
            anyhow::bail!("{name} is no longer read: {instead}");
        }
    }
    Ok(())
}

fn warn_retired_settings() {
    for (name, instead) in RETIRED_SETTINGS {
        if std::env::var_os(name).is_some() {
            tracing::warn!("{name} is set but no longer used ({instead}); see docs/operations.md");
        }
    }
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let chain = FailoverChain::connect(config.endpoints.clone(), FailoverOptions::default())
        .await
        .with_context(|| format!("cannot connect to any of {}", config.endpoints.join(", ")))?;
    let node = platform_node::start(config, chain).await?;
    tracing::info!(http = %node.http_addr, p2p = ?node.p2p_addresses, "running; Ctrl-C stops");
    let failure = tokio::select! {
        _ = shutdown_signal() => None,
        reason = node.failure() => Some(reason),
    };
    tracing::info!("shutting down");
    node.shutdown().await;
    match failure {
        Some(reason) => anyhow::bail!("the validator stopped: {reason}"),
        None => Ok(()),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
