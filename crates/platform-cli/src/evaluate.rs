//! Running a challenge locally, exactly as validators do: `miner-cli evaluate` and
//! `sudo-cli challenge check`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platform_runtime::{EvalInput, Outcome, Runtime, RuntimeOptions, Verdict};
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
    /// Epoch seed as 32 bytes of hex (validators derive it from consensus; default all zeros).
    #[arg(long, value_name = "HEX")]
    seed: Option<String>,
    /// Epoch number handed to the challenge.
    #[arg(long, default_value_t = 0)]
    epoch: u64,
    /// Miner hotkey (SS58) handed to the challenge (default all zeros).
    #[arg(long, value_name = "SS58")]
    hotkey: Option<String>,
    /// Runtime policy as a JSON file (fields of the challenge's policy; defaults otherwise).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
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
    let d = RuntimePolicy::default();
    let Some(path) = path else { return Ok(d) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read policy {}", path.display()))?;
    let file: PolicyFile =
        serde_json::from_str(&text).with_context(|| format!("policy {} is not a valid policy file", path.display()))?;
    let policy = RuntimePolicy {
        fuel_limit: file.fuel_limit.unwrap_or(d.fuel_limit),
        memory_pages_max: file.memory_pages_max.unwrap_or(d.memory_pages_max),
        deadline_ms: file.deadline_ms.unwrap_or(d.deadline_ms),
        max_input_bytes: file.max_input_bytes.unwrap_or(d.max_input_bytes),
        max_output_bytes: file.max_output_bytes.unwrap_or(d.max_output_bytes),
        nested_fuel_limit: file.nested_fuel_limit.unwrap_or(d.nested_fuel_limit),
    };
    policy.validate().with_context(|| format!("policy {}", path.display()))?;
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
    verdict: &'static str,
    score_ppb: u32,
    reason: Option<String>,
    fuel_used: u64,
    nested_fuel_used: u64,
    output_hash: String,
    host_calls: u32,
    duration_ms: f64,
    logs: Vec<String>,
}

impl Report {
    fn new(module_hash: String, outcome: Outcome) -> Report {
        let (verdict, reason) = match &outcome.verdict {
            Verdict::Scored { .. } => ("scored", None),
            Verdict::Rejected { reason } => ("rejected", Some(reason.clone())),
        };
        Report {
            module_hash,
            verdict,
            score_ppb: outcome.verdict.score_ppb(),
            reason,
            fuel_used: outcome.fuel_used,
            nested_fuel_used: outcome.nested_fuel_used,
            output_hash: outcome.output_hash.to_string(),
            host_calls: outcome.host_calls,
            duration_ms: outcome.duration.as_secs_f64() * 1e3,
            logs: outcome.logs,
        }
    }

    fn print(&self, output: OutputFormat, heading: Vec<(&str, String)>) -> anyhow::Result<()> {
        let mut fields = heading;
        fields.extend([
            ("module_hash", self.module_hash.clone()),
            ("verdict", self.verdict.to_owned()),
            ("score_ppb", format!("{} ({:.4})", self.score_ppb, f64::from(self.score_ppb) / 1e9)),
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
        output.print(self, &fields)
    }
}

/// Loads and runs the module, with a spinner on a terminal while it compiles and runs.
fn evaluate(
    module_path: &Path,
    policy: &RuntimePolicy,
    input: &EvalInput,
    output: OutputFormat,
) -> anyhow::Result<Report> {
    let wasm = std::fs::read(module_path).with_context(|| format!("cannot read {}", module_path.display()))?;
    let mut progress = Progress::start(output, &format!("compiling {} ({} bytes)", module_path.display(), wasm.len()));
    let runtime = Runtime::new(RuntimeOptions::default())?;
    let module = runtime.load(&wasm, policy).with_context(|| format!("module {} refused", module_path.display()));
    let outcome = module.and_then(|module| {
        progress.stage(&format!("evaluating {} bytes of input", input.payload.len()));
        runtime.evaluate(&module, input).context("evaluation failed")
    });
    progress.finish();
    Ok(Report::new(blake2b_256(&wasm).to_string(), outcome?))
}

impl EvaluateArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let seed = match &self.seed {
            None => [0; 32],
            Some(text) => {
                let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text)).context("--seed is not hex")?;
                let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                    bail!("--seed must be 32 bytes (64 hex digits), got {}", bytes.len())
                };
                seed
            }
        };
        let miner = match &self.hotkey {
            None => [0; 32],
            Some(ss58) => *PublicKey::from_ss58(ss58).context("--hotkey is not an SS58 address")?.as_bytes(),
        };
        let policy = load_policy(self.policy.as_deref())?;
        let input = EvalInput { seed, epoch: self.epoch, miner, payload: read_input_file(&self.payload)? };
        let report = evaluate(&self.challenge, &policy, &input, self.output)?;
        report.print(self.output, vec![])
    }
}

impl CheckArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let policy = load_policy(self.policy.as_deref())?;
        let payload = self.payload.as_deref().map(read_input_file).transpose()?.unwrap_or_default();
        let input = EvalInput { seed: [0; 32], epoch: 0, miner: [0; 32], payload };
        let report = evaluate(&self.module, &policy, &input, self.output).context("check failed")?;
        report.print(
            self.output,
            vec![
                ("check", "ok: exports, imports and policy valid; smoke evaluation finished".to_owned()),
                ("policy", format!("{policy:?}")),
            ],
        )
    }
}
