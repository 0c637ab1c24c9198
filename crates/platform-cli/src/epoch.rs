//! `miner-cli epoch`: a closed epoch of a challenge that scores epochs, scored again on this
//! machine exactly as validators scored it — the same answers in the same order, the same seed,
//! the same participation, fetched from a validator (`GET /challenges/{id}/epochs/{epoch}`) —
//! and each verdict compared with the evaluations the validators signed.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use platform_runtime::{EpochAnswer, EpochInput, Runtime, RuntimeOptions, Verdict};
use platform_types::blake2b_256;
use serde_json::{Value, json};

use crate::remote::{Node, NodeArgs, print_json_or};

/// `miner-cli epoch`.
#[derive(Debug, clap::Args)]
pub struct EpochArgs {
    /// The challenge's id.
    #[arg(long, value_name = "ID")]
    challenge: String,
    /// The closed epoch to score again.
    #[arg(long, value_name = "EPOCH")]
    epoch: u64,
    /// The challenge's WASM module (it must be the registered one: its hash is checked).
    #[arg(long, value_name = "MODULE.wasm")]
    module: PathBuf,
    #[command(flatten)]
    node: NodeArgs,
}

fn hash_in(value: &Value, what: &str) -> anyhow::Result<[u8; 32]> {
    crate::evaluate::seed_arg(what, value.as_str().ok_or_else(|| anyhow!("the validator gave no {what}"))?)
}

fn bytes_in(value: &Value, what: &str) -> anyhow::Result<Vec<u8>> {
    let text = value.as_str().ok_or_else(|| anyhow!("the validator gave no {what}"))?;
    hex::decode(text.trim_start_matches("0x")).with_context(|| format!("{what} is not hex"))
}

impl EpochArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let node = Node::new(&self.node);
        let challenges = node.get("/challenges")?;
        let entry = challenges
            .as_array()
            .and_then(|list| list.iter().find(|c| c["id"] == self.challenge.as_str()))
            .ok_or_else(|| anyhow!("the validator has no challenge {:?}", self.challenge))?;
        let wasm = std::fs::read(&self.module).with_context(|| format!("cannot read {}", self.module.display()))?;
        let registered = hash_in(&entry["module_hash"], "module hash")?;
        if *blake2b_256(&wasm).as_bytes() != registered {
            bail!("{} is not challenge {}'s registered module", self.module.display(), self.challenge);
        }
        let policy = crate::evaluate::policy_from_json(&entry["policy"])?;
        let params = crate::params_arg(entry["params"].as_str().filter(|p| !p.is_empty()))?;
        let epoch = node.get(&format!("/challenges/{}/epochs/{}", self.challenge, self.epoch))?;
        let Some(seed) = epoch["seed"].as_str().map(|_| hash_in(&epoch["seed"], "seed")).transpose()? else {
            bail!("epoch {} has no answers to challenge {}", self.epoch, self.challenge);
        };
        let listed = epoch["answers"].as_array().cloned().unwrap_or_default();
        let mut input = EpochInput { seed, epoch: self.epoch, answers: Vec::new(), participation: Default::default() };
        for answer in &listed {
            let miner = hash_in(&answer["miner_key"], "miner key")?;
            let bits = epoch["participation"][answer["miner"].as_str().unwrap_or_default()].as_u64();
            if let Some(bits) = bits.and_then(|b| u32::try_from(b).ok()) {
                input.participation.insert(miner, bits);
            }
            input.answers.push(EpochAnswer {
                submission: hash_in(&answer["id"], "answer id")?,
                miner,
                payload: bytes_in(&answer["payload"], "payload")?,
            });
        }
        let runtime = Runtime::new(RuntimeOptions::default())?;
        let module = runtime.load(&wasm, &policy).context("the module does not load")?.with_params(&params);
        let scored = runtime.score_epoch(&module, &input).context("epoch scoring failed")?;
        let mut rows = Vec::with_capacity(listed.len());
        for (answer, (verdict, hash)) in listed.iter().zip(&scored.verdicts) {
            let id = answer["id"].as_str().unwrap_or_default();
            let status = node.get(&format!("/submissions/{id}"))?;
            let signed: Vec<&str> = status["evaluations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["output_hash"].as_str())
                .collect();
            let hash = hash.to_string();
            let (name, reason) = match verdict {
                Verdict::Scored { .. } => ("scored", None),
                Verdict::Rejected { reason } => ("rejected", Some(reason.clone())),
            };
            rows.push(json!({
                "id": id,
                "miner": answer["miner"],
                "verdict": name,
                "score_ppb": verdict.score_ppb(),
                "reason": reason,
                "output_hash": hash,
                "validators_agreeing": signed.iter().filter(|s| **s == hash).count(),
                "validators_signed": signed.len(),
            }));
        }
        let report = json!({ "challenge": self.challenge, "epoch": self.epoch, "answers": rows });
        print_json_or(self.node.output, &report, || {
            println!("epoch {} of {}: {} answers scored again", self.epoch, self.challenge, rows.len());
            for row in &rows {
                println!(
                    "  {}  {:>10}  {:<8}  same verdict as {}/{} signed evaluations",
                    row["id"].as_str().unwrap_or("?"),
                    row["score_ppb"],
                    row["verdict"].as_str().unwrap_or("?"),
                    row["validators_agreeing"],
                    row["validators_signed"]
                );
            }
        })
    }
}
