//! Running a challenge locally, exactly as validators do: `miner-cli evaluate` and
//! `sudo-cli challenge check`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platform_runtime::{EpochAnswer, EpochInput, EvalCommitment, EvalInput, Outcome, Runtime, RuntimeOptions, Verdict};
use platform_types::{PublicKey, RuntimePolicy, blake2b_256};
use serde::{Deserialize, Serialize};

use crate::OutputFormat;
use crate::progress::Progress;

/// `miner-cli evaluate`: score a payload before submitting it.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The challenge's WASM module.
    #[arg(long, value_name = "MODULE.wasm")]
    challenge: PathBuf,
    /// The payload file to evaluate (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    payload: PathBuf,
    /// Evaluation seed as 32 bytes of hex (validators derive it from consensus; default all
    /// zeros). For a reveal, its commitment's sampling seed (`miner-cli status COMMITMENT`).
    #[arg(long, value_name = "HEX")]
    seed: Option<String>,
    /// For a two-phase challenge: evaluate the payload as the reveal of this commitment's
    /// payload (file), as validators do once the reveal is ordered; pass the commitment's
    /// `--task-seed` and its sampling seed as `--seed`.
    #[arg(long, value_name = "FILE", requires = "task_seed")]
    commitment: Option<PathBuf>,
    /// The task seed the commitment answered (`miner-cli task`), 32 bytes of hex.
    #[arg(long, value_name = "HEX", requires = "commitment")]
    task_seed: Option<String>,
    /// Epoch number handed to the challenge.
    #[arg(long, default_value_t = 0)]
    epoch: u64,
    /// Miner hotkey (SS58) handed to the challenge (default all zeros).
    #[arg(long, value_name = "SS58")]
    hotkey: Option<String>,
    /// Runtime policy as a JSON file (fields of the challenge's policy; defaults otherwise).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The challenge's parameters as registered (`sudo-cli challenge list` shows them), hex
    /// [default: none].
    #[arg(long, value_name = "HEX")]
    params: Option<String>,
    /// Another answer of the same epoch (repeatable), for a challenge that also scores each
    /// epoch's answers together (it exports `platform_score_epoch`, docs/runtime-abi.md): the
    /// epoch scorer then runs over the payload first and these after it, in the order given,
    /// and its verdict on the payload is reported under `epoch`. Each answer's submission id is
    /// taken as blake2b-256 of its bytes, and the others' miner hotkeys as all zeros.
    #[arg(long = "with", value_name = "FILE")]
    with: Vec<PathBuf>,
    /// With `--with`: the participation the epoch scorer is served for every answering miner
    /// (its `participation` host function), a 32-bit mask whose bit k says the miner answered in
    /// epoch E - k, in hex or decimal (`miner-cli` cannot read it from a validator yet)
    /// [default: answered in this epoch only, 1].
    #[arg(long, value_name = "BITS", value_parser = parse_bits, requires = "with")]
    participation: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// `sudo-cli challenge check`: validate a module and its policy before registering it.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The challenge's WASM module.
    #[arg(value_name = "MODULE.wasm")]
    module: PathBuf,
    /// Runtime policy as a JSON file (fields of the challenge's policy; defaults otherwise).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Payload for the smoke evaluation (default: empty, which a challenge should reject cleanly).
    #[arg(long, value_name = "FILE")]
    payload: Option<PathBuf>,
    /// The parameters it is to be registered with, hex [default: none].
    #[arg(long, value_name = "HEX")]
    params: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// A policy file: any subset of the policy's fields; unknown fields are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    fuel_limit: Option<u64>,
    memory_pages_max: Option<u32>,
    deadline_ms: Option<u32>,
    max_input_bytes: Option<u32>,
    max_output_bytes: Option<u32>,
    nested_fuel_limit: Option<u64>,
}

pub(crate) fn load_policy(path: Option<&Path>) -> anyhow::Result<RuntimePolicy> {
    let Some(path) = path else { return Ok(RuntimePolicy::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read policy {}", path.display()))?;
    let file: PolicyFile =
        serde_json::from_str(&text).with_context(|| format!("policy {} is not a valid policy file", path.display()))?;
    policy_of(file).with_context(|| format!("policy {}", path.display()))
}

/// A policy as JSON gives it (a policy file, or a challenge's `policy` in `GET /challenges`):
/// the fields given, the defaults for the others.
pub(crate) fn policy_from_json(value: &serde_json::Value) -> anyhow::Result<RuntimePolicy> {
    policy_of(serde_json::from_value(value.clone()).context("not a runtime policy")?)
}

fn policy_of(file: PolicyFile) -> anyhow::Result<RuntimePolicy> {
    let d = RuntimePolicy::default();
    let policy = RuntimePolicy {
        fuel_limit: file.fuel_limit.unwrap_or(d.fuel_limit),
        memory_pages_max: file.memory_pages_max.unwrap_or(d.memory_pages_max),
        deadline_ms: file.deadline_ms.unwrap_or(d.deadline_ms),
        max_input_bytes: file.max_input_bytes.unwrap_or(d.max_input_bytes),
        max_output_bytes: file.max_output_bytes.unwrap_or(d.max_output_bytes),
        nested_fuel_limit: file.nested_fuel_limit.unwrap_or(d.nested_fuel_limit),
    };
    policy.validate()?;
    Ok(policy)
}

pub(crate) fn read_input_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).context("cannot read standard input")?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// What both commands print.
#[derive(Debug, Serialize)]
struct Report {
    module_hash: String,
    /// The module exports an epoch scorer.
    scores_epochs: bool,
    verdict: &'static str,
    score_ppb: u32,
    reason: Option<String>,
    fuel_used: u64,
    nested_fuel_used: u64,
    output_hash: String,
    host_calls: u32,
    duration_ms: f64,
    logs: Vec<String>,
    /// The epoch scorer's verdict on the payload, when other answers were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch: Option<EpochReport>,
}

/// The epoch scorer's verdict on the payload among the epoch's answers.
#[derive(Debug, Serialize)]
struct EpochReport {
    answers: usize,
    verdict: &'static str,
    score_ppb: u32,
    reason: Option<String>,
    fuel_used: u64,
    output_hash: String,
}

/// A verdict's name and, for a rejection, its reason.
fn verdict_name(verdict: &Verdict) -> (&'static str, Option<String>) {
    match verdict {
        Verdict::Scored { .. } => ("scored", None),
        Verdict::Rejected { reason } => ("rejected", Some(reason.clone())),
    }
}

/// A score in ppb as printed: `500000000 (0.5000)`.
fn score_text(score_ppb: u32) -> String {
    format!("{score_ppb} ({:.4})", f64::from(score_ppb) / 1e9)
}

impl Report {
    fn new(module_hash: String, scores_epochs: bool, outcome: Outcome) -> Report {
        let (verdict, reason) = verdict_name(&outcome.verdict);
        Report {
            module_hash,
            scores_epochs,
            verdict,
            score_ppb: outcome.verdict.score_ppb(),
            reason,
            fuel_used: outcome.fuel_used,
            nested_fuel_used: outcome.nested_fuel_used,
            output_hash: outcome.output_hash.to_string(),
            host_calls: outcome.host_calls,
            duration_ms: outcome.duration.as_secs_f64() * 1e3,
            logs: outcome.logs,
            epoch: None,
        }
    }

    fn print(&self, output: OutputFormat, heading: Vec<(&str, String)>) -> anyhow::Result<()> {
        let mut fields = heading;
        fields.extend([
            ("module_hash", self.module_hash.clone()),
            ("scores_epochs", self.scores_epochs.to_string()),
            ("verdict", self.verdict.to_owned()),
            ("score_ppb", score_text(self.score_ppb)),
        ]);
        if let Some(reason) = &self.reason {
            fields.push(("reason", reason.clone()));
        }
        fields.extend([
            ("fuel_used", self.fuel_used.to_string()),
            ("nested_fuel_used", self.nested_fuel_used.to_string()),
            ("output_hash", self.output_hash.clone()),
            ("host_calls", self.host_calls.to_string()),
            ("duration_ms", format!("{:.2}", self.duration_ms)),
        ]);
        for line in &self.logs {
            fields.push(("log", line.clone()));
        }
        if let Some(epoch) = &self.epoch {
            fields.extend([
                ("epoch_answers", epoch.answers.to_string()),
                ("epoch_verdict", epoch.verdict.to_owned()),
                ("epoch_score_ppb", score_text(epoch.score_ppb)),
            ]);
            if let Some(reason) = &epoch.reason {
                fields.push(("epoch_reason", reason.clone()));
            }
            fields.extend([
                ("epoch_fuel_used", epoch.fuel_used.to_string()),
                ("epoch_output_hash", epoch.output_hash.clone()),
            ]);
        }
        output.print(self, &fields)
    }
}

/// Loads and runs the module, with a spinner on a terminal while it compiles and runs; with
/// `others`, runs its epoch scorer too over the input's payload followed by them.
fn evaluate(
    module_path: &Path,
    policy: &RuntimePolicy,
    params: &[u8],
    input: &EvalInput,
    others: &[Vec<u8>],
    participation: u32,
    output: OutputFormat,
) -> anyhow::Result<Report> {
    let wasm = std::fs::read(module_path).with_context(|| format!("cannot read {}", module_path.display()))?;
    let mut progress = Progress::start(output, &format!("compiling {} ({} bytes)", module_path.display(), wasm.len()));
    let runtime = Runtime::new(RuntimeOptions::default())?;
    let module = runtime
        .load(&wasm, policy)
        .map(|module| module.with_params(params))
        .with_context(|| format!("module {} refused", module_path.display()));
    let report = module.and_then(|module| {
        progress.stage(&format!("evaluating {} bytes of input", input.payload.len()));
        let outcome = runtime.evaluate(&module, input).context("evaluation failed")?;
        let mut report = Report::new(blake2b_256(&wasm).to_string(), module.scores_epochs(), outcome);
        if !others.is_empty() {
            if !module.scores_epochs() {
                bail!(
                    "{} has no epoch scorer (platform_score_epoch): --with applies only to one that has",
                    module_path.display()
                );
            }
            progress.stage(&format!("scoring the epoch's {} answers together", others.len() + 1));
            let answer = |miner: [u8; 32], payload: &[u8]| EpochAnswer {
                submission: *blake2b_256(payload).as_bytes(),
                miner,
                payload: payload.to_vec(),
            };
            let answers: Vec<EpochAnswer> = std::iter::once(answer(input.miner, &input.payload))
                .chain(others.iter().map(|p| answer([0; 32], p)))
                .collect();
            let participation = answers.iter().map(|a| (a.miner, participation)).collect();
            let epoch_input = EpochInput { seed: input.seed, epoch: input.epoch, answers, participation };
            let scored = runtime.score_epoch(&module, &epoch_input).context("epoch scoring failed")?;
            let (verdict, _) = &scored.verdicts[0];
            let (name, reason) = verdict_name(verdict);
            report.epoch = Some(EpochReport {
                answers: scored.verdicts.len(),
                verdict: name,
                score_ppb: verdict.score_ppb(),
                reason,
                fuel_used: scored.fuel_used,
                output_hash: scored.output_hash.to_string(),
            });
        }
        Ok(report)
    });
    progress.finish();
    report
}

impl EvaluateArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let seed = self.seed.as_deref().map(|text| seed_arg("--seed", text)).transpose()?.unwrap_or([0; 32]);
        let commitment = match (&self.commitment, &self.task_seed) {
            (Some(path), Some(task_seed)) => {
                Some(EvalCommitment { task_seed: seed_arg("--task-seed", task_seed)?, payload: read_input_file(path)? })
            }
            _ => None,
        };
        let miner = match &self.hotkey {
            None => [0; 32],
            Some(ss58) => *PublicKey::from_ss58(ss58).context("--hotkey is not an SS58 address")?.as_bytes(),
        };
        let policy = load_policy(self.policy.as_deref())?;
        let input = EvalInput { seed, epoch: self.epoch, miner, payload: read_input_file(&self.payload)?, commitment };
        let others = self.with.iter().map(|path| read_input_file(path)).collect::<anyhow::Result<Vec<_>>>()?;
        let params = crate::params_arg(self.params.as_deref())?;
        let participation = self.participation.unwrap_or(1);
        let report = evaluate(&self.challenge, &policy, &params, &input, &others, participation, self.output)?;
        report.print(self.output, vec![])
    }
}

impl CheckArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let policy = load_policy(self.policy.as_deref())?;
        let payload = self.payload.as_deref().map(read_input_file).transpose()?.unwrap_or_default();
        let input = EvalInput { seed: [0; 32], epoch: 0, miner: [0; 32], payload, commitment: None };
        let params = crate::params_arg(self.params.as_deref())?;
        let report = evaluate(&self.module, &policy, &params, &input, &[], 1, self.output).context("check failed")?;
        report.print(
            self.output,
            vec![
                ("check", "ok: exports, imports and policy valid; smoke evaluation finished".to_owned()),
                ("policy", format!("{policy:?}")),
            ],
        )
    }
}

/// A 32-byte seed given as hex (with or without `0x`) for the option `name`.
pub(crate) fn seed_arg(name: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text)).with_context(|| format!("{name} is not hex"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("{name} must be 32 bytes (64 hex digits), got {}", bytes.len()))
}

/// A 32-bit mask given in hex (`0x…`) or decimal.
fn parse_bits(text: &str) -> Result<u32, String> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .map_err(|_| format!("{text:?} is not a 32-bit mask (hex with 0x, or decimal)"))
}
