//! `sudo-cli`: the subnet owner's signed actions (challenges added, updated or removed, the
//! required version) and the list of active challenges.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use platform_types::{
    ChallengeId, ChallengeSpec, Envelope, MechanismId, NetUid, SudoAction, SudoCommand, Version, blake2b_256,
};
use serde_json::json;

use super::{Node, NodeArgs, SignerArgs, now_ms, print_json_or};
use crate::evaluate::load_policy;
use crate::progress::Progress;

/// The challenge fields of `sudo-cli challenge add|update`.
#[derive(Debug, clap::Args)]
pub struct ChallengeArgs {
    /// The challenge id (a slug: lowercase letters, digits, - and _).
    #[arg(long, value_name = "ID")]
    id: String,
    /// The WASM module.
    #[arg(long, value_name = "MODULE.wasm")]
    module: PathBuf,
    /// Display name [default: the id].
    #[arg(long)]
    name: Option<String>,
    /// Runtime policy JSON file (fuel_limit, memory_pages_max, deadline_ms, …) [default: the defaults].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Scoring settings JSON file: normalisation ({"linear": {}}, {"softmax": {"temperature_milli"}}
    /// or {"champion": {"margin_ppb", "owner_share_ppb"}}), outlier_z_milli, min_coverage_ppb,
    /// min_confidence_ppb, ema_alpha_ppb [default: the defaults]. Its empty_policy, if any, must
    /// agree with --unearned.
    #[arg(long, value_name = "FILE")]
    scoring: Option<PathBuf>,
    /// What happens to the challenge's emission share in an epoch no miner earned any — required,
    /// since either choice costs something: `burn` weights the subnet owner's uid with it, and the
    /// chain burns miner emission paid to the owner's hotkey and shrinks the subnet's share of
    /// chain emission by it (MinerBurned); `hold` gives it to the mechanism's challenges that did
    /// score, and when none did the mechanism sets no new weights that epoch (the weights on chain
    /// stay). See docs/architecture.md.
    #[arg(long, value_enum)]
    unearned: crate::scoring::Unearned,
    /// Mechanism whose emission the challenge shares.
    #[arg(long, default_value_t = 0)]
    mechanism: u8,
    /// Share of the mechanism's emission, in parts per billion.
    #[arg(long, default_value_t = 1_000_000_000)]
    emission_share_ppb: u32,
    /// The challenge's own parameters, as hex (at most 4 KiB), signed with the rest: its module
    /// reads them through the `params` host function and defines their form (invariant-agent:
    /// three bytes α β γ, e.g. 020101) [default: none].
    #[arg(long, value_name = "HEX")]
    params: Option<String>,
    /// Make it a two-phase challenge: miners commit to an epoch's task, then reveal within this
    /// many blocks (1..=500) after the block that ordered the commitment (matmul-proof) [default:
    /// one phase].
    #[arg(long, value_name = "BLOCKS", value_parser = clap::value_parser!(u32).range(1..=500))]
    reveal_blocks: Option<u32>,
}

/// `sudo-cli challenge add|update|remove`, `sudo-cli set-required-version`.
#[derive(Debug, clap::Args)]
pub struct SudoArgs {
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
}

/// What a sudo command does.
#[derive(Debug)]
pub enum SudoRequest {
    /// AddChallenge or UpdateChallenge.
    Challenge {
        /// Update instead of add.
        update: bool,
        /// The fields.
        args: ChallengeArgs,
    },
    /// RemoveChallenge.
    Remove(String),
    /// SetRequiredVersion.
    Version(String),
}

impl SudoArgs {
    /// Signs the action, sends it with its module, and waits until it is committed.
    pub fn run(self, request: SudoRequest) -> anyhow::Result<()> {
        let keypair = self.signer.keypair()?;
        let mut module = None;
        let command = match request {
            SudoRequest::Challenge { update, args } => {
                let wasm =
                    std::fs::read(&args.module).with_context(|| format!("cannot read {}", args.module.display()))?;
                let spec = ChallengeSpec {
                    id: ChallengeId::new(&args.id).map_err(|e| anyhow!("--id: {e}"))?,
                    name: args.name.unwrap_or_else(|| args.id.clone()),
                    module_hash: blake2b_256(&wasm),
                    module_size: wasm.len() as u64,
                    policy: load_policy(args.policy.as_deref())?,
                    scoring: crate::scoring::load_scoring(args.scoring.as_deref(), args.unearned)?,
                    mechanism: MechanismId::new(args.mechanism),
                    emission_share_ppb: args.emission_share_ppb,
                    params: crate::params_arg(args.params.as_deref())?,
                    phases: match args.reveal_blocks {
                        None => platform_types::Phases::One,
                        Some(reveal_blocks) => platform_types::Phases::CommitReveal { reveal_blocks },
                    },
                };
                spec.validate().map_err(|e| anyhow!("challenge refused: {e}"))?;
                module = Some(hex::encode(&wasm));
                if update { SudoCommand::UpdateChallenge(spec) } else { SudoCommand::AddChallenge(spec) }
            }
            SudoRequest::Remove(id) => SudoCommand::RemoveChallenge(ChallengeId::new(&id).map_err(|e| anyhow!("{e}"))?),
            SudoRequest::Version(v) => SudoCommand::SetRequiredVersion(
                v.parse::<Version>().map_err(|e| anyhow!("{v:?} is not a version: {e}"))?,
            ),
        };
        let action = SudoAction { command, nonce: now_ms(), timestamp_ms: now_ms() };
        let envelope = Envelope::seal(&keypair, NetUid::new(self.node.netuid), &action);
        let node = Node::new(&self.node);
        let answer = node.post("/sudo", json!({ "envelope": hex::encode(envelope.to_bytes()), "module": module }))?;
        let id = answer["id"].as_str().unwrap_or_default().to_owned();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut progress = Progress::start(self.node.output, &format!("action {id}: accepted by the validator"));
        loop {
            let status = node.get(&format!("/sudo/{id}"))?;
            match status["status"].as_str() {
                Some("committed") => {
                    progress.finish();
                    return print_json_or(self.node.output, &status, || {
                        println!("committed at height {}", status["height"]);
                    });
                }
                Some("rejected") => {
                    progress.finish();
                    bail!("rejected: {}", status["reason"].as_str().unwrap_or("?"))
                }
                _ if Instant::now() > deadline => {
                    progress.finish();
                    bail!("action {id} not committed after 2 minutes")
                }
                _ => {
                    progress.stage(&format!("action {id}: waiting for a block to order it"));
                    std::thread::sleep(Duration::from_millis(300))
                }
            }
        }
    }
}

/// `sudo-cli challenge list`, or `status <id>` with an id.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    node: NodeArgs,
}

impl ListArgs {
    /// Prints one challenge as the validator runs it (policy, module, whether it is loaded);
    /// fails when the validator has no such active challenge.
    pub fn status(self, id: &str) -> anyhow::Result<()> {
        let list = Node::new(&self.node).get("/challenges")?;
        let entry = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["id"] == id)
            .cloned()
            .ok_or_else(|| anyhow!("no active challenge {id:?} on {}", self.node.node))?;
        print_json_or(self.node.output, &entry, || match serde_json::to_string_pretty(&entry) {
            Ok(text) => println!("{text}"),
            Err(_) => println!("{entry}"),
        })
    }

    /// Prints the active challenges.
    pub fn run(self) -> anyhow::Result<()> {
        let list = Node::new(&self.node).get("/challenges")?;
        print_json_or(self.node.output, &list, || {
            for c in list.as_array().into_iter().flatten() {
                println!(
                    "{}  module {}  mechanism {}  share {} ppb  params {}  since height {}  loaded {}",
                    c["id"].as_str().unwrap_or("?"),
                    c["module_hash"].as_str().unwrap_or("?"),
                    c["mechanism_id"],
                    c["emission_share_ppb"],
                    c["params"].as_str().filter(|p| !p.is_empty()).unwrap_or("none"),
                    c["since_height"],
                    c["module_loaded"]
                );
            }
        })
    }
}
