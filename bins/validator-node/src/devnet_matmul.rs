//! The devnet's matmul-proof miner: a two-phase challenge played as a miner plays it, through
//! a validator's API. Each epoch it draws its task from the newest task seed (`GET /task`),
//! commits to the product's merkle root, waits until a block has ordered the commitment (its
//! status says `committed` and gives the sampling seed), then reveals the rows drawn.

use platform_node::{Query, RunningNode};
use platform_types::{ChallengeId, Envelope, Epoch, Hash, Keypair, NetUid, Phase, SubmissionId};
use serde_json::Value;

/// The challenge's id in the devnet.
pub const CHALLENGE: &str = "matmul-proof";

/// Blocks after its commitment's block within which a reveal is ordered (the devnet's
/// validators make about ten blocks a second).
pub const REVEAL_BLOCKS: u32 = 300;

/// Where one miner stands.
pub enum MatmulMiner {
    /// Commits to the next task it sees.
    Idle { last_task: Option<Epoch> },
    /// Committed to `task`; reveals once the commitment is ordered.
    Committed { task: Epoch, id: SubmissionId, work: Box<matmul_proof::Work> },
}

impl Default for MatmulMiner {
    fn default() -> Self {
        MatmulMiner::Idle { last_task: None }
    }
}

impl MatmulMiner {
    /// One step: commit, reveal, or wait; what it did, for the devnet's log.
    pub async fn step(&mut self, node: &RunningNode, miner: &Keypair, netuid: NetUid, nonce: u64) -> Option<String> {
        match self {
            MatmulMiner::Idle { last_task } => {
                let (task, seed) = newest_task(node).await?;
                if last_task.is_some_and(|last| last >= task) {
                    return None;
                }
                let work = matmul_proof::Work::compute(&seed, miner.public().as_bytes());
                let envelope = seal(miner, netuid, work.root().to_vec(), nonce, Phase::Commit { task_epoch: task });
                let said = match node.submit(envelope, None).await {
                    Ok(id) => {
                        *self = MatmulMiner::Committed { task, id, work: Box::new(work) };
                        format!("committed {id} to the task of epoch {task}")
                    }
                    Err(r) => {
                        *last_task = Some(task);
                        format!("commitment refused: {}", r.reason)
                    }
                };
                Some(said)
            }
            MatmulMiner::Committed { task, id, work } => {
                let status = node.query(Query::Submission(*id)).await.ok()?;
                let (task, id) = (*task, *id);
                if status["status"] == "pending" {
                    // Not ordered yet; given up once a newer task is out (its epoch is past).
                    if newest_task(node).await.is_some_and(|(newest, _)| newest.get() > task.get() + 1) {
                        *self = MatmulMiner::Idle { last_task: Some(task) };
                        return Some(format!("commitment {id} was never ordered; committing again"));
                    }
                    return None;
                }
                let reveal = &status["reveal"];
                let seed = seed_in(&reveal["sampling_seed"]);
                let (Some(seed), false) = (seed, reveal["revealed"] == true) else {
                    *self = MatmulMiner::Idle { last_task: Some(task) };
                    return None;
                };
                let envelope = seal(miner, netuid, work.reveal(&seed), nonce, Phase::Reveal { commitment: id });
                *self = MatmulMiner::Idle { last_task: Some(task) };
                Some(match node.submit(envelope, None).await {
                    Ok(reveal) => format!("revealed {id} as {reveal}"),
                    Err(r) => format!("reveal refused: {}", r.reason),
                })
            }
        }
    }
}

/// The newest task seed a validator serves, with its epoch.
async fn newest_task(node: &RunningNode) -> Option<(Epoch, [u8; 32])> {
    let task = node.query(Query::Task).await.ok()?;
    let newest = task["task_seeds"].as_array()?.last()?.clone();
    Some((Epoch::new(newest["epoch"].as_u64()?), seed_in(&newest["seed"])?))
}

fn seed_in(value: &Value) -> Option<[u8; 32]> {
    Some(*Hash::from_hex(value.as_str()?).ok()?.as_bytes())
}

fn seal(miner: &Keypair, netuid: NetUid, payload: Vec<u8>, nonce: u64, phase: Phase) -> Envelope {
    let challenge = ChallengeId::new(CHALLENGE).expect("a valid id");
    crate::devnet::sealed_submission(miner, netuid, &challenge, payload, nonce, phase)
}
