//! Two-phase challenges ([`Phases::CommitReveal`]): a miner first *commits* to its work on a
//! task, then *reveals* what the challenge asks to check, drawn from a seed it could not know
//! when it committed — as a compute subnet checks a few rows of a product the miner committed
//! to with a merkle root.
//!
//! - **The task** of an epoch derives from its *task seed*, `H("platform/task-seed/v1" | hash of
//!   the epoch's first block)`: public (the API serves it) from that block on, unknown before.
//!   A commitment names the epoch whose task it answers ([`Phase::Commit`]) and is ordered in
//!   a block of that epoch or the next.
//! - **The commitment** is ordered like any submission but not evaluated; the state keeps it
//!   ([`Commitment`]) until its reveal window has closed and its task's epoch has passed. One
//!   commitment per miner, challenge and task: a second one is refused, so a miner cannot draw
//!   the sampling again by committing again.
//! - **The sampling seed** of a commitment is `H("platform/sampling-seed/v1" | hash of the
//!   block that ordered it | its id)`: fixed by consensus after the commitment, so re-rolling
//!   the commitment (a merkle root, say) does not re-roll the sampling.
//! - **The reveal** ([`Phase::Reveal`]) names its commitment; it is ordered only by a later
//!   block within the challenge's `reveal_blocks` of the commitment's, by the same miner, once.
//!   It is evaluated with the commitment's payload, the task seed and the sampling seed
//!   ([`Revealed`]), and scores like an answer of a one-phase challenge, in the epoch of the
//!   block that ordered it.

use std::collections::{BTreeMap, HashSet};

use parity_scale_codec::{Decode, Encode};
use platform_types::{Epoch, Hash, Height, Phase, Phases, PublicKey, SubmissionId, blake2b_256_parts};

use crate::rules::{Invalid, rule};
use crate::state::{AppState, Registry, SubmissionInfo};

/// A commitment the state holds: what its reveal is checked against and evaluated with.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Commitment {
    /// The commitment's submission id.
    pub id: SubmissionId,
    /// Height of the block that ordered it.
    pub height: Height,
    /// That block's hash (the sampling seed derives from it).
    pub block_hash: Hash,
    /// The task seed of the epoch it answers.
    pub task_seed: Hash,
    /// Its reveal is ordered.
    pub revealed: bool,
}

impl Commitment {
    /// Its sampling seed.
    pub fn sampling_seed(&self) -> Hash {
        sampling_seed(&self.block_hash, &self.id)
    }
}

/// The commitments in the state, by challenge, miner and the epoch of the task they answer.
pub type Commitments = BTreeMap<(String, PublicKey, Epoch), Commitment>;

/// The task seeds of the newest two epochs: a commitment may answer the task of the block's
/// epoch or of the one before.
pub type TaskSeeds = BTreeMap<Epoch, Hash>;

/// What a reveal is evaluated with, besides its own payload: kept with the committed reveal.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Revealed {
    /// The commitment it opens (whose payload the challenge reads).
    pub commitment: SubmissionId,
    /// The task seed the commitment answered.
    pub task_seed: Hash,
    /// The commitment's sampling seed.
    pub sampling_seed: Hash,
}

/// The task seed of an epoch whose first block has hash `first_block`.
pub fn task_seed(first_block: &Hash) -> Hash {
    blake2b_256_parts(&[b"platform/task-seed/v1", first_block.as_bytes()])
}

/// The sampling seed of the commitment `id` ordered by the block with hash `block_hash`.
pub fn sampling_seed(block_hash: &Hash, id: &SubmissionId) -> Hash {
    blake2b_256_parts(&[b"platform/sampling-seed/v1", block_hash.as_bytes(), id.0.as_bytes()])
}

/// What earlier actions of a block being checked did to the commitments.
#[derive(Default)]
pub(crate) struct PhaseOverlay {
    /// Commitments ordered earlier in the block: (challenge, miner, task epoch) and id.
    pub committed: HashSet<(String, PublicKey, Epoch)>,
    pub committed_ids: HashSet<SubmissionId>,
    /// Commitments revealed earlier in the block.
    pub revealed: HashSet<SubmissionId>,
}

/// What a valid submission does, by phase.
pub(crate) enum Entry {
    /// An answer or a reveal: committed, evaluated.
    Evaluated(Option<Revealed>),
    /// A commitment to the task of this epoch, with its task seed: kept, not evaluated.
    Commitment(Epoch, Hash),
}

impl AppState {
    /// Whether the next block could order `info`'s submission as far as its phase goes: the
    /// rules of a block of the tip's epoch at the next height (admission's check, before
    /// anything is stored).
    pub fn admits_phase(&self, id: &SubmissionId, info: &SubmissionInfo) -> Result<(), Invalid> {
        let (at, epoch) = (self.tip.height.next(), self.tip.epoch);
        self.check_phase(&self.registry, &PhaseOverlay::default(), id, info, at, epoch).map(|_| ())
    }

    /// The commitment `id` the state holds: the epoch of the task it answers, and it.
    pub fn commitment(&self, id: &SubmissionId) -> Option<(Epoch, &Commitment)> {
        self.commitments.iter().find(|(_, c)| c.id == *id).map(|((_, _, task_epoch), c)| (*task_epoch, c))
    }

    /// Checks a submission's phase against its challenge's: `at` is the height and `epoch`
    /// the epoch of the block ordering it.
    pub(crate) fn check_phase(
        &self,
        registry: &Registry,
        overlay: &PhaseOverlay,
        id: &SubmissionId,
        info: &SubmissionInfo,
        at: Height,
        epoch: Epoch,
    ) -> Result<Entry, Invalid> {
        let challenge = info.challenge.as_str();
        let Some(entry) = registry.challenges.get(challenge) else {
            return Err(rule(format!("submission {id} is for inactive challenge {challenge}")));
        };
        match (entry.spec.phases, info.phase) {
            (Phases::One, Phase::Answer) => Ok(Entry::Evaluated(None)),
            (Phases::One, _) => {
                Err(rule(format!("submission {id} commits or reveals, but challenge {challenge} has one phase")))
            }
            (Phases::CommitReveal { .. }, Phase::Answer) => Err(rule(format!(
                "submission {id} is a plain answer, but challenge {challenge} takes a commitment, then its reveal"
            ))),
            (Phases::CommitReveal { .. }, Phase::Commit { task_epoch }) => {
                if task_epoch.get().saturating_add(1) < epoch.get() || task_epoch > epoch {
                    return Err(rule(format!(
                        "commitment {id} answers the task of epoch {task_epoch}; a block of epoch {epoch} takes \
                         commitments to its own epoch's task or the one before"
                    )));
                }
                let Some(seed) = self.task_seeds.get(&task_epoch) else {
                    return Err(rule(format!(
                        "commitment {id} answers epoch {task_epoch}, whose task is not drawn yet"
                    )));
                };
                let key = (challenge.to_owned(), info.miner, task_epoch);
                if self.commitments.contains_key(&key) || overlay.committed.contains(&key) {
                    return Err(rule(format!(
                        "commitment {id}: miner {} already committed to the task of epoch {task_epoch} (one \
                         commitment per task, so the sampling cannot be drawn again)",
                        info.miner
                    )));
                }
                Ok(Entry::Commitment(task_epoch, *seed))
            }
            (Phases::CommitReveal { reveal_blocks }, Phase::Reveal { commitment }) => {
                let from = (challenge.to_owned(), info.miner, Epoch::new(0));
                let to = (challenge.to_owned(), info.miner, Epoch::new(u64::MAX));
                let Some(c) = self.commitments.range(from..=to).map(|(_, c)| c).find(|c| c.id == commitment) else {
                    if overlay.committed_ids.contains(&commitment) {
                        return Err(rule(format!(
                            "reveal {id}: commitment {commitment} is ordered in this same block, and its \
                             sampling seed is not drawn yet"
                        )));
                    }
                    return Err(rule(format!(
                        "reveal {id}: {commitment} is not a commitment of miner {} to challenge {challenge} \
                         that can still be revealed",
                        info.miner
                    )));
                };
                if c.height < entry.since {
                    return Err(rule(format!(
                        "reveal {id}: commitment {commitment} predates challenge {challenge}'s current version"
                    )));
                }
                if c.revealed || overlay.revealed.contains(&commitment) {
                    return Err(rule(format!("reveal {id}: commitment {commitment} is revealed already")));
                }
                let closes = c.height.get().saturating_add(u64::from(reveal_blocks));
                if at.get() > closes {
                    return Err(rule(format!(
                        "reveal {id} comes late: the reveal window of commitment {commitment} (ordered at height \
                         {}) closed at height {closes}",
                        c.height
                    )));
                }
                Ok(Entry::Evaluated(Some(Revealed {
                    commitment,
                    task_seed: c.task_seed,
                    sampling_seed: c.sampling_seed(),
                })))
            }
        }
    }

    /// After a block of `epoch` with hash `block_hash` at `height`: the epoch's task seed, if
    /// this is its first block, and, as the epoch moves, the commitments that can no longer be
    /// revealed nor stand in the way of another go (their window closed and their task's
    /// epoch is past, or their challenge is gone or has another version).
    pub(crate) fn move_phases(&mut self, epoch: Epoch, block_hash: &Hash, height: Height) {
        if self.task_seeds.contains_key(&epoch) {
            return;
        }
        self.task_seeds.insert(epoch, task_seed(block_hash));
        while self.task_seeds.len() > 2 {
            self.task_seeds.pop_first();
        }
        let challenges = &self.registry.challenges;
        self.commitments.retain(|(challenge, _, task_epoch), c| {
            let Some(entry) = challenges.get(challenge).filter(|e| c.height >= e.since) else { return false };
            let Some(window) = entry.spec.phases.reveal_blocks() else { return false };
            let open = !c.revealed && height.get() <= c.height.get().saturating_add(u64::from(window));
            open || task_epoch.get().saturating_add(1) >= epoch.get()
        });
    }
}
