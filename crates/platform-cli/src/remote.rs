//! Talking to a validator's HTTP API: `miner-cli submit|status|scores` and the signed
//! `sudo-cli` actions. Every failure a person can cause ends in one line saying why.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use platform_types::limits::MAX_INLINE_PAYLOAD_BYTES;
use platform_types::{
    ChallengeId, ChallengeSpec, Envelope, Epoch, Hash, Keypair, MechanismId, NetUid, Payload, Phase, Submission,
    SubmissionId, SudoAction, SudoCommand, Version, blake2b_256, wallet_hotkey_path,
};
use serde_json::{Value, json};

use crate::OutputFormat;
use crate::evaluate::{load_policy, read_input_file};
use crate::key::keypair_from;
use crate::progress::{Progress, submission_stage};

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

/// `miner-cli submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The challenge's id.
    #[arg(long, value_name = "ID")]
    challenge: String,
    /// The payload file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    payload: PathBuf,
    /// For a two-phase challenge: send the payload as a commitment to the task of this epoch
    /// (`latest`: the newest `miner-cli task` lists). A block of that epoch or the next must
    /// order it; one commitment per task.
    #[arg(long, value_name = "EPOCH|latest", conflicts_with = "reveals")]
    commit: Option<String>,
    /// For a two-phase challenge: send the payload as the reveal of this commitment (its id),
    /// once a block has ordered it and before its window closes (`miner-cli status ID` shows
    /// the sampling seed and the last height).
    #[arg(long, value_name = "COMMITMENT_ID")]
    reveals: Option<String>,
    /// Follow the submission until its final score (a commitment: until it is ordered, then
    /// print what its reveal needs).
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
}

/// `miner-cli task`.
#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    #[command(flatten)]
    node: NodeArgs,
}

impl TaskArgs {
    /// Prints the task seeds a two-phase challenge's commitment may answer now.
    pub fn run(self) -> anyhow::Result<()> {
        let node = Node::new(&self.node);
        let task = node.get("/task")?;
        print_json_or(self.node.output, &task, || {
            println!("epoch {} at height {}", task["epoch"], task["height"]);
            for seed in task["task_seeds"].as_array().into_iter().flatten() {
                println!("task of epoch {}: seed {}", seed["epoch"], seed["seed"].as_str().unwrap_or("?"));
            }
        })
    }
}

/// The phase a submission is sent in, from `--commit` and `--reveals`.
fn phase_of(node: &Node, commit: Option<&str>, reveals: Option<&str>) -> anyhow::Result<Phase> {
    if let Some(id) = reveals {
        let hash = Hash::from_hex(id).map_err(|e| anyhow!("--reveals: {e}"))?;
        return Ok(Phase::Reveal { commitment: SubmissionId(hash) });
    }
    let Some(epoch) = commit else { return Ok(Phase::Answer) };
    let task_epoch = if epoch == "latest" {
        let task = node.get("/task")?;
        task["task_seeds"]
            .as_array()
            .and_then(|seeds| seeds.iter().filter_map(|s| s["epoch"].as_u64()).max())
            .ok_or_else(|| anyhow!("the validator has drawn no task yet"))?
    } else {
        epoch.parse().map_err(|_| anyhow!("--commit takes an epoch number or `latest`"))?
    };
    Ok(Phase::Commit { task_epoch: Epoch::new(task_epoch) })
}

impl SubmitArgs {
    /// Signs and sends the submission.
    pub fn run(self) -> anyhow::Result<()> {
        let keypair = self.signer.keypair()?;
        let challenge = ChallengeId::new(&self.challenge).map_err(|e| anyhow!("--challenge: {e}"))?;
        let bytes = read_input_file(&self.payload)?;
        let size = bytes.len() as u64;
        let (payload, blob) = if bytes.len() <= MAX_INLINE_PAYLOAD_BYTES {
            (Payload::Inline(bytes), None)
        } else {
            (Payload::Blob(blake2b_256(&bytes)), Some(hex::encode(&bytes)))
        };
        let node = Node::new(&self.node);
        let phase = phase_of(&node, self.commit.as_deref(), self.reveals.as_deref())?;
        let submission = Submission {
            challenge,
            miner: keypair.public(),
            payload,
            payload_size: size,
            metadata: Vec::new(),
            nonce: now_ms(),
            timestamp_ms: now_ms(),
            phase,
        };
        submission.validate().map_err(|e| anyhow!("payload refused: {e}"))?;
        let envelope = Envelope::seal(&keypair, NetUid::new(self.node.netuid), &submission);
        let answer =
            node.post("/submissions", json!({ "envelope": hex::encode(envelope.to_bytes()), "blob": blob }))?;
        let id = answer["id"].as_str().unwrap_or_default().to_owned();
        if self.wait {
            return follow(&node, &id, self.node.output);
        }
        print_json_or(self.node.output, &answer, || println!("submitted {id}"))
    }
}

/// `miner-cli status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The submission id printed by `submit`.
    id: String,
    /// Print once instead of following to the final score.
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    node: NodeArgs,
}

impl StatusArgs {
    /// Shows (and follows) a submission.
    pub fn run(self) -> anyhow::Result<()> {
        let node = Node::new(&self.node);
        if self.once {
            let status = node.get(&format!("/submissions/{}", self.id))?;
            return print_json_or(self.node.output, &status, || describe(&status));
        }
        follow(&node, &self.id, self.node.output)
    }
}

fn describe(status: &Value) {
    let reveal = &status["reveal"];
    if status["status"] == "committed" && reveal.is_object() {
        println!(
            "{} committed at height {}: reveal it (--reveals) by height {}, task seed {}, sampling seed {}{}",
            status["id"].as_str().unwrap_or("?"),
            status["height"],
            reveal["last_height"],
            reveal["task_seed"].as_str().unwrap_or("?"),
            reveal["sampling_seed"].as_str().unwrap_or("?"),
            if reveal["revealed"] == true { " (revealed)" } else { "" }
        );
        return;
    }
    let score = status["score_ppb"].as_u64().map(|s| format!(" score {:.4} ({s} ppb)", s as f64 / 1e9));
    let reason = status["reason"].as_str().map(|r| format!(": {r}"));
    println!(
        "{} {}{} ({} evaluations){}",
        status["id"].as_str().unwrap_or("?"),
        status["status"].as_str().unwrap_or("?"),
        score.unwrap_or_default(),
        status["evaluations"].as_array().map_or(0, Vec::len),
        reason.unwrap_or_default()
    );
}

fn follow(node: &Node, id: &str, output: OutputFormat) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut progress = Progress::logged(output, &format!("submission {id}: asking the validator"));
    loop {
        let status = node.get(&format!("/submissions/{id}"))?;
        if status["final"] == true || status["status"] == "committed" {
            progress.finish();
            return print_json_or(output, &status, || describe(&status));
        }
        let stage = submission_stage(&status);
        progress.stage(&stage);
        if Instant::now() > deadline {
            progress.finish();
            bail!("no final score for {id} after 10 minutes (last: {stage})");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `miner-cli scores`.
#[derive(Debug, clap::Args)]
pub struct ScoresArgs {
    /// The challenge's id.
    #[arg(long, value_name = "ID")]
    challenge: String,
    #[command(flatten)]
    node: NodeArgs,
}

impl ScoresArgs {
    /// Prints a challenge's leaderboard.
    pub fn run(self) -> anyhow::Result<()> {
        let node = Node::new(&self.node);
        let rows = node.get(&format!("/scores?challenge={}", self.challenge))?;
        print_json_or(self.node.output, &rows, || {
            println!("{:>4}  {:>5}  {:>12}  miner", "rank", "uid", "score");
            for row in rows.as_array().into_iter().flatten() {
                println!(
                    "{:>4}  {:>5}  {:>12.6}  {}",
                    row["rank"],
                    row["uid"].as_u64().map_or("-".into(), |u| u.to_string()),
                    row["score_ppb"].as_u64().unwrap_or(0) as f64 / 1e9,
                    row["miner"].as_str().unwrap_or("?")
                );
            }
        })
    }
}

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
