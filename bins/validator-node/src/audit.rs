//! `validator-node audit`: a validator's committed history checked again from its data
//! directory, or fetched from any validator's HTTP API first (`--from`, see
//! `platform_node::history`), see `platform_node::audit`; and each epoch's weights compared with
//! what every validator set on chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use platform_chain::{Chain, FailoverChain, FailoverOptions, parse_endpoints};
use platform_node::audit::{Agreement, AuditOptions, Report, compare_with_chain, replay_dir};
use platform_types::{NetUid, PublicKey};

/// Exit status when the audit finds a difference (errors exit with 1).
pub const DIFFERS: u8 = 2;

/// Options of `validator-node audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The validator's data directory (its DATA_DIR). Stop the validator first, or audit a
    /// copy: a running validator locks its store. With --from: where the history fetched is
    /// kept (a new or empty directory, or an earlier fetch from the same URL, which is continued).
    #[arg(long, env = "DATA_DIR", value_name = "DIR")]
    data_dir: PathBuf,
    /// Fetch the history from this validator's HTTP API first (any validator, running; what it
    /// serves is checked, not trusted: certificates, hashes, rules), then audit it.
    #[arg(long, value_name = "URL")]
    from: Option<String>,
    /// The subnet.
    #[arg(long, env = "NETUID")]
    netuid: u16,
    /// A subtensor node to compare each epoch's weights with what every validator set on chain
    /// (older epochs need a node that still serves old blocks' state, e.g. an archive node).
    /// Without it the chain is not read.
    #[arg(long, env = "SUBTENSOR_ENDPOINT", value_name = "URL[,URL...]")]
    endpoint: Option<String>,
    /// SS58 key the validators allowed to sign sudo actions (their SUDO_KEY) [default: the
    /// subnet owner's hotkey and coldkey, read from the chain with --endpoint, else from the
    /// metagraph snapshots the blocks commit].
    #[arg(long, env = "SUDO_KEY", value_name = "SS58")]
    sudo_key: Option<String>,
    /// The validators' minimum stake weight (their MIN_STAKE), in whole units.
    #[arg(long, env = "MIN_STAKE", value_name = "ALPHA", default_value_t = platform_node::config::DEFAULT_MIN_STAKE)]
    min_stake: u64,
    /// Run one committed submission in N again in the sandbox (1: every one; 0: none).
    #[arg(long, default_value_t = 1, value_name = "N")]
    sample: u64,
    /// `text` for people, `json` for programs.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

/// Runs the audit; the exit status is 0 when everything agrees, [`DIFFERS`] when anything differs.
pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let netuid = NetUid::new(args.netuid);
    let chain = match &args.endpoint {
        Some(list) => {
            let endpoints = parse_endpoints(list).map_err(|e| anyhow::anyhow!("--endpoint: {e}"))?;
            let chain = FailoverChain::connect(endpoints, FailoverOptions::default())
                .await
                .with_context(|| format!("cannot connect to {list}"))?;
            Some(chain)
        }
        None => None,
    };
    // Who may sign sudo actions, as a validator decides it at start.
    let sudo = match (&args.sudo_key, &chain) {
        (Some(key), _) => vec![PublicKey::from_ss58(key.trim()).context("--sudo-key")?],
        (None, Some(chain)) => {
            let graph = chain.metagraph(netuid, None).await.context("cannot read the subnet's owner from the chain")?;
            graph.owner_hotkey.into_iter().chain(graph.owner_coldkey).collect()
        }
        (None, None) => Vec::new(),
    };
    let min_stake_rao =
        args.min_stake.checked_mul(platform_node::config::RAO_PER_TAO).context("--min-stake is too large")?;
    let snapshot_interval = platform_node::audit::SNAPSHOT_INTERVAL;
    let options = AuditOptions { netuid, sudo, min_stake_rao, snapshot_interval, sample: args.sample };
    if let Some(url) = &args.from {
        let (source, dir) = (platform_node::history::Source::new(url), args.data_dir.clone());
        let fetched = tokio::task::spawn_blocking(move || platform_node::history::fetch_dir(&source, &dir, netuid))
            .await?
            .with_context(|| format!("cannot fetch the history from {url}"))?;
        eprintln!(
            "Fetched from {url} into {}: {} blocks (to height {}, from {}), {} submission bodies ({} not served), \
             {} blobs ({} not served).",
            args.data_dir.display(),
            fetched.blocks,
            fetched.last_height,
            fetched.started_from,
            fetched.bodies,
            fetched.bodies_missing,
            fetched.blobs,
            fetched.blobs_missing
        );
    }
    let dir = args.data_dir.clone();
    let mut report = tokio::task::spawn_blocking(move || replay_dir(&dir, &options)).await??;
    if let Some(chain) = &chain {
        compare_with_chain(chain, netuid, &mut report).await;
    }
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print_text(&args, &report),
    }
    Ok(if report.differs() { ExitCode::from(DIFFERS) } else { ExitCode::SUCCESS })
}

fn agreement(a: &Agreement) -> String {
    match a {
        Agreement::Agreed => "agreed".into(),
        Agreement::Differs { first_uid: Some(uid) } => format!("DIFFERS (first at uid {uid})"),
        Agreement::Differs { first_uid: None } => "DIFFERS".into(),
        Agreement::NotOnChain { reason } => format!("not on chain ({reason})"),
    }
}

fn print_text(args: &AuditArgs, report: &Report) {
    println!(
        "Audit of {}: blocks {}..={} ({} replayed) from {}, each certificate checked against the validator set in force.",
        args.data_dir.display(),
        report.first_height,
        report.last_height,
        report.blocks,
        report.started_from
    );
    for broken in &report.broken {
        match broken.action {
            Some(i) => println!("  block {} action {i} BREAKS THE RULES: {}", broken.height, broken.reason),
            None => println!("  block {} BREAKS THE RULES: {}", broken.height, broken.reason),
        }
    }
    println!("Weights, per epoch (recomputed from the committed evaluations; then each validator's on chain):");
    if report.epochs.is_empty() {
        println!("  no epoch's weights committed in these blocks");
    }
    for epoch in &report.epochs {
        println!("  epoch {} (block {}): recomputed {}", epoch.epoch, epoch.height, agreement(&epoch.recomputed));
        for v in &epoch.on_chain {
            let uid = v.uid.map_or_else(|| "-".into(), |u| u.to_string());
            println!("    {} (uid {uid}): {}", v.validator, agreement(&v.agreement));
        }
    }
    let e = &report.evaluations;
    println!(
        "Evaluations: {} submissions run again; {} committed verdicts agree with the re-run, {} differ.",
        e.rerun,
        e.agreed,
        e.differing.len()
    );
    for (validator, count) in &e.differing_by_validator {
        println!(
            "  {validator}: {count} verdicts differ from the re-run (the network's aggregation excludes such outliers)"
        );
    }
    for d in e.differing.iter().take(10) {
        println!("    {} by {}: committed {}, re-run {}", d.submission, d.validator, d.committed, d.rerun);
    }
    for (why, count) in &e.not_rerun {
        println!("  not run again: {count} ({why})");
    }
    println!("Result: {}", if report.differs() { "DIFFERS" } else { "agreed" });
}
