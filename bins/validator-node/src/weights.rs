//! `validator-node weights`: what this validator would send for a weight vector — the path
//! (direct, timelocked or hashed commit-reveal) and why, the drand reveal round and the
//! timelocked commit's bytes — from a live chain, from an epoch state given on the command line,
//! or for an explicit reveal round. Sends nothing.

use anyhow::{Context, bail};
use platform_chain::{
    ConnectOptions, PathChoice, SubxtChain, WeightVector, WeightsPath, path_at, tlock, unix_now_secs,
};
use platform_types::{EpochState, MechanismId, NetUid, PublicKey};
use serde_json::json;

use crate::devnet::parse_hotkey;

/// Options of `validator-node weights`.
#[derive(Debug, clap::Args)]
pub struct WeightsArgs {
    /// The committing hotkey (SS58 or 0x + 64 hex): it is inside the encrypted payload.
    #[arg(long, value_parser = parse_hotkey)]
    hotkey: PublicKey,
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// The mechanism (0: the subnet's main one).
    #[arg(long, default_value_t = 0)]
    mechanism: u8,
    /// Destination uids, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    uids: Vec<u16>,
    /// One u16 value per uid, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    values: Vec<u16>,
    /// The version key (default: the chain's `WeightsVersionKey` with --endpoint, else 0).
    #[arg(long)]
    version_key: Option<u64>,
    /// Read the path, the epoch state and the reveal period from this chain endpoint.
    #[arg(long, env = "SUBTENSOR_ENDPOINT", value_name = "URL", conflicts_with_all = ["reveal_round", "tempo"])]
    endpoint: Option<String>,
    /// Encrypt to this drand round instead of computing one (no chain needed; the path is then
    /// assumed timelocked).
    #[arg(long)]
    reveal_round: Option<u64>,
    /// Offline epoch state: blocks between epochs (`Tempo`; with --legacy-tempo, the old
    /// `(block + netuid + 1) % (tempo + 1)` rule).
    #[arg(long, requires = "block")]
    tempo: Option<u16>,
    /// Offline epoch state: the head block.
    #[arg(long)]
    block: Option<u64>,
    /// Offline epoch state: `LastEpochBlock` (dynamic tempo).
    #[arg(long, default_value_t = 0)]
    last_epoch_block: u64,
    /// Offline epoch state: `PendingEpochAt` (0: none).
    #[arg(long, default_value_t = 0)]
    pending_epoch_at: u64,
    /// Offline epoch state: `SubnetEpochIndex`.
    #[arg(long, default_value_t = 0)]
    epoch_index: u64,
    /// Offline epoch state: `BlocksSinceLastStep`.
    #[arg(long, default_value_t = 0)]
    blocks_since_last_step: u64,
    /// Offline epoch state: use the legacy fixed-tempo rule (runtimes without dynamic tempo).
    #[arg(long)]
    legacy_tempo: bool,
    /// Offline: `RevealPeriodEpochs`.
    #[arg(long, default_value_t = 1)]
    reveal_period: u64,
    /// Offline: seconds per block.
    #[arg(long, default_value_t = platform_chain::DEFAULT_BLOCK_TIME_SECS)]
    block_time: f64,
    /// Offline: the commit-reveal version sent with the commit.
    #[arg(long, default_value_t = 4)]
    commit_reveal_version: u16,
    /// The instant the round is computed for, in Unix seconds (default: now).
    #[arg(long)]
    now: Option<f64>,
    /// `text` or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    output: String,
}

struct Plan {
    choice: PathChoice,
    state: Option<EpochState>,
    reveal_round: Option<u64>,
    version: u16,
    version_key: u64,
}

async fn from_chain(args: &WeightsArgs, endpoint: &str, now: f64) -> anyhow::Result<Plan> {
    let chain = SubxtChain::connect(endpoint, ConnectOptions::default()).await?;
    let (choice, ctx) = path_at(&chain, NetUid::new(args.netuid), MechanismId::new(args.mechanism), None).await?;
    let reveal_round = match choice.path {
        WeightsPath::Timelocked { .. } => Some(ctx.reveal_round(now)?),
        _ => None,
    };
    Ok(Plan {
        version: ctx.commit_reveal_version,
        state: Some(ctx.epoch),
        reveal_round,
        version_key: args.version_key.unwrap_or(ctx.params.weights_version_key),
        choice,
    })
}

fn offline(args: &WeightsArgs, now: f64) -> anyhow::Result<Plan> {
    let assumed = |reason: &str| PathChoice {
        path: WeightsPath::Timelocked { commit_reveal_version: args.commit_reveal_version },
        reason: reason.to_string(),
    };
    let version_key = args.version_key.unwrap_or(0);
    if let Some(round) = args.reveal_round {
        return Ok(Plan {
            choice: assumed("--reveal-round given: timelocked commit assumed (no chain read)"),
            state: None,
            reveal_round: Some(round),
            version: args.commit_reveal_version,
            version_key,
        });
    }
    let (Some(tempo), Some(block)) = (args.tempo, args.block) else {
        bail!("say where the chain state comes from: --endpoint URL, --tempo and --block (offline), or --reveal-round");
    };
    let state = if args.legacy_tempo {
        platform_types::Schedule { netuid: args.netuid, tempo, reveal_period_epochs: args.reveal_period }
            .epoch_state(block)
    } else {
        EpochState {
            block,
            period: u32::from(tempo),
            last_epoch_block: args.last_epoch_block,
            pending_epoch_at: args.pending_epoch_at,
            epoch_index: args.epoch_index,
            blocks_since_last_step: args.blocks_since_last_step,
        }
    };
    let round = tlock::reveal_round(&state, args.reveal_period, args.block_time, now)?;
    Ok(Plan {
        choice: assumed("epoch state given on the command line: timelocked commit assumed (no chain read)"),
        state: Some(state),
        reveal_round: Some(round),
        version: args.commit_reveal_version,
        version_key,
    })
}

/// Runs `validator-node weights`.
pub async fn run(args: WeightsArgs) -> anyhow::Result<()> {
    if args.uids.len() != args.values.len() {
        bail!("{} uids but {} values: give one value per uid", args.uids.len(), args.values.len());
    }
    let now = args.now.unwrap_or_else(unix_now_secs);
    let plan = match &args.endpoint {
        Some(endpoint) => from_chain(&args, endpoint, now).await?,
        None => offline(&args, now)?,
    };
    let weights = WeightVector {
        netuid: NetUid::new(args.netuid),
        mechanism: MechanismId::new(args.mechanism),
        uids: args.uids.clone(),
        values: args.values.clone(),
        version_key: plan.version_key,
    };
    weights.validate().context("the weight vector")?;
    let commit = plan
        .reveal_round
        .map(|round| tlock::weights_commit(&args.hotkey, &weights, round, &mut rand::rngs::OsRng))
        .transpose()?;
    let state = plan.state.map(|s| {
        json!({
            "block": s.block, "period": s.period, "last_epoch_block": s.last_epoch_block,
            "pending_epoch_at": s.pending_epoch_at, "epoch_index": s.epoch_index,
            "blocks_since_last_step": s.blocks_since_last_step,
        })
    });
    if args.output == "json" {
        let out = json!({
            "path": plan.choice.path.name(),
            "reason": plan.choice.reason,
            "reveal_round": plan.reveal_round,
            "commit_reveal_version": matches!(plan.choice.path, WeightsPath::Timelocked { .. }).then_some(plan.version),
            "commit": commit.as_ref().map(hex::encode),
            "epoch_state": state,
            "now": now,
            "hotkey": args.hotkey.to_ss58(),
            "version_key": plan.version_key,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("path:          {}", plan.choice.path.name());
    println!("why:           {}", plan.choice.reason);
    if let Some(state) = plan.state {
        println!(
            "epoch state:   block {}, period {}, last epoch {}, pending {}, index {}, since last step {}",
            state.block,
            state.period,
            state.last_epoch_block,
            state.pending_epoch_at,
            state.epoch_index,
            state.blocks_since_last_step
        );
    }
    if let Some(round) = plan.reveal_round {
        println!("reveal round:  {round} (drand quicknet; computed for Unix time {now:.3})");
        println!("version:       commit-reveal {}", plan.version);
    }
    if let Some(commit) = commit {
        println!("commit ({} bytes, fresh randomness each run):", commit.len());
        println!("{}", hex::encode(commit));
    }
    Ok(())
}
