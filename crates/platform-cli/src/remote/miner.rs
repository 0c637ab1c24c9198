//! `miner-cli submit|status|scores`: a signed submission handed to a validator, and what the
//! validator says of it and of the miners' scores.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use platform_types::limits::MAX_INLINE_PAYLOAD_BYTES;
use platform_types::{
    ChallengeId, Envelope, Epoch, Hash, NetUid, Payload, Phase, Submission, SubmissionId, blake2b_256,
};
use serde_json::{Value, json};

use super::{Node, NodeArgs, SignerArgs, now_ms, print_json_or};
use crate::OutputFormat;
use crate::evaluate::read_input_file;
use crate::progress::{Progress, submission_stage};

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
        // An inline payload goes as the envelope's wire bytes; a blob's bytes need the JSON body.
        let answer = match blob {
            None => node.post_bytes("/submissions", &envelope.to_bytes())?,
            Some(blob) => {
                node.post("/submissions", json!({ "envelope": hex::encode(envelope.to_bytes()), "blob": blob }))?
            }
        };
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
