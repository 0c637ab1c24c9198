//! The application state: a deterministic function of the committed blocks. Every validator
//! applies the same blocks in the same order and so holds the same state, with the same root.
//!
//! One rule set ([`crate::rules`]) serves both uses: [`AppState::check_block`] runs it on a
//! scratch copy of the small registry (to vote on a proposal), [`AppState::apply_block`] runs it
//! for real (after commit). An action that fails the rules on apply is skipped, identically
//! everywhere, and reported in [`Effects::skipped`].

use std::collections::BTreeMap;
use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_types::{
    Action, Block, BlockRef, ChallengeId, ChallengeSpec, Epoch, Hash, Height, Metagraph, Phases, PublicKey,
    SubmissionId, Tip, ValidatorSet, Version, WeightsProposal, blake2b_256_parts, hash_of,
};

pub use crate::committed::{Committed, EpochAnswers, Evaluations, SubmissionInfo, Verdict};
use crate::phases::{Commitment, Commitments, TaskSeeds};
use crate::rules::{Change, Context, Overlay, apply_to_registry};

/// A registered challenge.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChallengeEntry {
    /// Its specification.
    pub spec: ChallengeSpec,
    /// Height at which this version took effect; older submissions do not count for it.
    pub since: Height,
}

/// The small, cloneable part of the state.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Registry {
    /// Active challenges.
    pub challenges: BTreeMap<String, ChallengeEntry>,
    /// The lowest node version allowed to vote.
    pub required_version: Option<Version>,
    /// The current validator set.
    pub validators: ValidatorSet,
    /// Highest sudo nonce applied (sudo nonces must increase).
    pub sudo_nonce: Option<u64>,
    /// Epoch of the last committed weights (initially the first block's epoch).
    pub weights_epoch: Option<Epoch>,
    /// The last committed metagraph snapshot and the epoch of the block that committed it:
    /// the epoch's weights and validator set are computed from it.
    pub metagraph: Option<(Epoch, Metagraph)>,
}

/// What applying a block changed, for the node to act on.
#[derive(Debug, Default)]
pub struct Effects {
    /// Submissions ordered by the block, to evaluate.
    pub submissions: Vec<SubmissionId>,
    /// Commitments to two-phase challenges ordered by the block (not evaluated).
    pub commitments: Vec<SubmissionId>,
    /// Submissions that left the state as the block's weights committed, as they were then
    /// ([`crate::retire`]): for the node to keep in its store.
    pub retired: Vec<(SubmissionId, Committed)>,
    /// Evaluations committed, by (submission, validator).
    pub evaluations: Vec<(SubmissionId, PublicKey)>,
    /// Sudo actions applied (their payload hashes) and those skipped.
    pub sudo: Vec<(Hash, Result<(), String>)>,
    /// Weights agreed in this block.
    pub weights: Option<WeightsProposal>,
    /// A validator set for the following heights.
    pub next_validators: Option<ValidatorSet>,
    /// A challenge was added, updated or removed.
    pub challenges_changed: bool,
    /// Committed actions the rules skipped: their index in the block and why.
    pub skipped: Vec<(usize, String)>,
    /// At a capture height ([`crate::snapshot`]), the state after the block, to encode before
    /// the snapshot height: for the node to hand to a thread of its own
    /// ([`Capture::encode`](crate::snapshot::Capture::encode)), so that the snapshot height's
    /// block does not encode it on the node's event loop.
    pub capture: Option<Arc<crate::snapshot::Capture>>,
    /// At a snapshot height, the snapshot the state root covers (of the state captured
    /// [`snapshot_lag`](crate::snapshot::snapshot_lag) blocks before): for the node to store.
    pub snapshot: Option<crate::snapshot::Snapshot>,
}

/// The whole application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The last applied block.
    pub tip: Tip,
    /// The chain block the last applied block is linked to (`None` before the first block).
    pub chain: Option<BlockRef>,
    /// The small part.
    pub registry: Registry,
    /// Committed submissions not yet retired ([`crate::retire`]; a persistent map: cloning the
    /// state costs O(1), which is how the node publishes a read-only view of it). Each entry is
    /// shared: the first change after a view is published copies the map's touched nodes, and
    /// a node holds up to 32 entries, so a block of thousands of actions copied about the whole
    /// map while entries were values (docs/benchmarks.md, session 23).
    pub submissions: imbl::HashMap<SubmissionId, Arc<Committed>>,
    /// Their ids per challenge, in commit order.
    pub by_challenge: BTreeMap<String, imbl::Vector<SubmissionId>>,
    /// What retired submissions still count for, per challenge and miner.
    pub retired: crate::retire::Retired,
    /// Each miner's recently committed submissions, so that none is ordered twice.
    pub replays: crate::retire::Replays,
    /// Smoothed scores of the last committed weights, per challenge (the EMA's memory).
    pub smoothed: crate::weights::Smoothed,
    /// Who holds each champion-takes-all challenge since the last committed weights.
    pub champions: crate::weights::Champions,
    /// Two-phase challenges' commitments that can still be revealed or that stand in the way of
    /// another commitment to the same task ([`crate::phases`]).
    pub commitments: Commitments,
    /// The task seeds of the newest two epochs.
    pub task_seeds: TaskSeeds,
    /// Who answered each challenge in which of the last 64 epochs ([`crate::participation`]).
    pub participation: crate::participation::Participations,
    /// Blocks between snapshot heights (a protocol constant, [`SNAPSHOT_INTERVAL`], settable
    /// for tests; not part of the state): at a height divisible by it the state root covers
    /// the whole state as it was captured a few blocks before ([`crate::snapshot`]), and
    /// applying the block yields the snapshot.
    pub snapshot_interval: u64,
    /// The state captured for the next snapshot height, from its capture height until that
    /// height's block (not part of the state: a copy of it, shared by the state's copies).
    pub captured: Option<Arc<crate::snapshot::Capture>>,
}

/// Blocks between snapshot heights on a real network. Every validator must use the same value:
/// it decides which state roots cover a snapshot. The consensus machine's checkpoint (the
/// block after a snapshot height) certifies each such root.
pub const SNAPSHOT_INTERVAL: u64 = platform_types::CHECKPOINT_INTERVAL;

impl AppState {
    /// The state before any block, with the genesis validator set.
    pub fn genesis(validators: ValidatorSet) -> AppState {
        let registry = Registry {
            challenges: BTreeMap::new(),
            required_version: None,
            validators,
            sudo_nonce: None,
            weights_epoch: None,
            metagraph: None,
        };
        let root = hash_of(&registry);
        AppState {
            tip: Tip::genesis(root, Epoch::new(0)),
            chain: None,
            registry,
            submissions: imbl::HashMap::new(),
            by_challenge: BTreeMap::new(),
            retired: BTreeMap::new(),
            replays: imbl::OrdMap::new(),
            smoothed: BTreeMap::new(),
            champions: BTreeMap::new(),
            commitments: BTreeMap::new(),
            task_seeds: BTreeMap::new(),
            participation: BTreeMap::new(),
            snapshot_interval: SNAPSHOT_INTERVAL,
            captured: None,
        }
    }

    /// The active challenge with this id.
    pub fn challenge(&self, id: &ChallengeId) -> Option<&ChallengeEntry> {
        self.registry.challenges.get(id.as_str())
    }

    /// The answers ordered in the epochs `closed` accepts that are still in the state, per
    /// active challenge (of its current version) and epoch, each list in commit order (height,
    /// then id): what a challenge that scores epochs scores once an epoch has closed. Challenges
    /// and epochs in id and epoch order.
    pub fn epoch_answers(&self, closed: impl Fn(Epoch) -> bool) -> Vec<EpochAnswers<'_>> {
        let mut out = Vec::new();
        // A two-phase challenge's reveals are evaluated one by one, with their commitments.
        for (challenge, entry) in self.registry.challenges.iter().filter(|(_, e)| e.spec.phases == Phases::One) {
            let mut by_epoch: BTreeMap<Epoch, Vec<(SubmissionId, &Committed)>> = BTreeMap::new();
            for id in self.by_challenge.get(challenge).into_iter().flatten() {
                if let Some(c) = self.submissions.get(id).filter(|c| c.height >= entry.since && closed(c.epoch)) {
                    by_epoch.entry(c.epoch).or_default().push((*id, c));
                }
            }
            for (epoch, mut answers) in by_epoch {
                answers.sort_by_key(|(id, c)| (c.height, *id));
                out.push(EpochAnswers { challenge: entry.spec.id.clone(), epoch, answers });
            }
        }
        out
    }

    /// Whether the root after the block at `height` covers a snapshot (of the state captured
    /// [`snapshot_lag`](crate::snapshot::snapshot_lag) blocks before).
    pub fn is_snapshot_height(&self, height: Height) -> bool {
        self.snapshot_interval > 0 && height.get() > 0 && height.get().is_multiple_of(self.snapshot_interval)
    }

    /// Whether the state after the block at `height` is captured for the next snapshot height.
    pub fn is_capture_height(&self, height: Height) -> bool {
        let lag = crate::snapshot::snapshot_lag(self.snapshot_interval);
        height.get() > 0 && self.is_snapshot_height(Height::new(height.get() + lag))
    }

    /// Whether weights are due in a block of `epoch`.
    pub fn weights_due(&self, epoch: Epoch) -> bool {
        self.registry.weights_epoch.is_some_and(|last| epoch > last)
    }

    /// Applies a committed block; returns what changed. The tip moves to the block. Metagraph
    /// snapshots, weights and validator sets are taken as committed (a quorum compared the
    /// snapshot with the chain, and the weights with the snapshot); every other rule runs
    /// again, and the submissions the block orders must be known to `ctx`.
    pub fn apply_block(&mut self, block: &Block, ctx: &Context<'_>) -> Effects {
        let mut effects = Effects::default();
        let header = &block.header;
        // Hashed once: every submission the block orders records it.
        let block_hash = block.hash();
        if self.registry.weights_epoch.is_none() {
            self.registry.weights_epoch = Some(header.epoch);
        }
        let empty = Overlay::default();
        // Replay windows move after the block: every action is checked against the windows
        // before it, when applying as when voting (the checker does not move them).
        let mut ordered: Vec<(PublicKey, u64, SubmissionId)> = Vec::new();
        for (index, action) in block.actions.iter().enumerate() {
            let change =
                match self.check_action(&self.registry, &empty, header.epoch, action, ctx, crate::rules::Mode::Apply) {
                    Ok(change) => change,
                    Err(reason) => {
                        if let Action::Sudo(envelope) = action {
                            effects.sudo.push((envelope.payload_hash(), Err(reason.to_string())));
                        }
                        effects.skipped.push((index, reason.to_string()));
                        continue;
                    }
                };
            apply_to_registry(&mut self.registry, &change, header.height);
            match change {
                Change::Commitment(id, info, task_epoch, task_seed) => {
                    ordered.push((info.miner, info.timestamp_ms, id));
                    let commitment = Commitment { id, height: header.height, block_hash, task_seed, revealed: false };
                    self.commitments.insert((info.challenge.as_str().to_owned(), info.miner, task_epoch), commitment);
                    effects.commitments.push(id);
                }
                Change::Submission(id, info, revealed) => {
                    ordered.push((info.miner, info.timestamp_ms, id));
                    self.record_participation(info.challenge.as_str(), info.miner, header.epoch);
                    if let Some(revealed) = &revealed
                        && let Some(c) = self.commitments.values_mut().find(|c| c.id == revealed.commitment)
                    {
                        c.revealed = true;
                    }
                    match self.by_challenge.get_mut(info.challenge.as_str()) {
                        Some(ids) => ids.push_back(id),
                        None => {
                            self.by_challenge.insert(info.challenge.as_str().to_owned(), imbl::vector![id]);
                        }
                    }
                    self.submissions.insert(
                        id,
                        Arc::new(Committed {
                            challenge: info.challenge,
                            miner: info.miner,
                            height: header.height,
                            block_hash,
                            epoch: header.epoch,
                            evaluations: Evaluations::default(),
                            revealed,
                        }),
                    );
                    effects.submissions.push(id);
                }
                Change::Evaluations(evaluations) => {
                    for evaluation in evaluations {
                        let id = evaluation.submission;
                        if let Some(committed) = self.submissions.get_mut(&id) {
                            Arc::make_mut(committed).evaluations.insert(
                                evaluation.validator,
                                (evaluation.status, evaluation.score_ppb, evaluation.output_hash),
                            );
                        }
                        effects.evaluations.push((id, evaluation.validator));
                    }
                }
                Change::Sudo(hash, _) => {
                    effects.sudo.push((hash, Ok(())));
                    effects.challenges_changed = true;
                }
                Change::Weights(proposal) => {
                    // The EMA's memory and the champions move with the committed weights, from
                    // committed data alone: the evaluations and the snapshot committed before.
                    match &self.registry.metagraph {
                        Some((_, metagraph)) => {
                            let outcome = crate::weights::outcome(self, metagraph, proposal.epoch);
                            (self.smoothed, self.champions) = (outcome.smoothed, outcome.champions);
                        }
                        None => self.smoothed = crate::weights::smoothed(self),
                    }
                    effects.weights = Some(proposal);
                }
                Change::Validators(set) => effects.next_validators = Some(set),
                Change::Metagraph(..) => {}
            }
        }
        for (miner, timestamp_ms, id) in ordered {
            self.replays.entry(miner).or_default().record(timestamp_ms, id);
        }
        // Submissions retire after the block too, with the evaluations it commits after its
        // weights: the rules checked those against the state before the block.
        if let Some(weights) = &effects.weights {
            effects.retired = self.retire(weights.epoch);
        }
        if header.epoch > self.tip.epoch {
            self.prune_participation(header.epoch);
        }
        self.move_phases(header.epoch, &block_hash, header.height);
        let prev_root = self.tip.state_root;
        let registry_hash = hash_of(&self.registry);
        self.chain = Some(header.chain);
        self.tip = Tip { height: header.height, hash: block_hash, state_root: Hash::ZERO, epoch: header.epoch };
        // A capture waits for its snapshot height, `lag` blocks above it, whose root covers it.
        let lag = crate::snapshot::snapshot_lag(self.snapshot_interval);
        let height = header.height.get();
        let captured = self.captured.take().filter(|c| c.height().get() + lag >= height);
        self.tip.state_root = match captured {
            Some(capture) if capture.height().get() + lag == height && self.is_snapshot_height(header.height) => {
                let snapshot = capture.snapshot(header.height, block_hash, prev_root, registry_hash);
                let root = snapshot.manifest.root();
                effects.snapshot = Some(snapshot);
                root
            }
            // Not yet its snapshot height: kept.
            capture => {
                self.captured = capture;
                blake2b_256_parts(&[prev_root.as_bytes(), block_hash.as_bytes(), registry_hash.as_bytes()])
            }
        };
        if self.is_capture_height(header.height) {
            let capture = Arc::new(self.capture());
            effects.capture = Some(capture.clone());
            self.captured = Some(capture);
        }
        effects
    }
}
