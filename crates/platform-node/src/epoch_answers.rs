//! The answers of a closed epoch, for challenges whose module scores epochs: found in the
//! state (and, once retired from it, in the stored blocks), put in commit order with the
//! scorer's seed, and handed to the evaluation actor as one [`Request::ScoreEpoch`]. The read
//! view lists the same answers for `GET /challenges/{id}/epochs/{epoch}`.

use std::collections::HashSet;

use platform_types::{Action, ChallengeId, Epoch, Hash, Height, PublicKey, SubmissionId};
use tracing::warn;

use crate::core::*;
use crate::effects::Effect;
use crate::evaluations::{EpochTargets, Request};
use crate::evaluator;
use crate::records::Records;

/// An answer of a closed epoch, as the core finds it in the state.
#[derive(Clone)]
pub(crate) struct EpochAnswer {
    pub id: SubmissionId,
    pub miner: PublicKey,
    pub height: Height,
    pub block_hash: Hash,
    /// This validator's evaluation of it is committed.
    pub evaluated: bool,
}

impl Core {
    /// After a block moved the epoch from `from` to `to`: each challenge's answers of the
    /// epochs that closed (`from` up to `to`, not included) go to the evaluation actor, which
    /// scores them if the challenge's module scores epochs.
    pub(crate) fn score_closed_epochs(&mut self, from: Epoch, to: Epoch) {
        for (challenge, epoch, answers) in self.epoch_answers(|epoch| epoch >= from && epoch < to) {
            self.request_epoch_scoring(challenge, epoch, answers);
        }
    }

    pub(crate) fn request_epoch_scoring(
        &mut self,
        challenge: ChallengeId,
        epoch: Epoch,
        mut answers: Vec<EpochAnswer>,
    ) {
        let Some(seed) = in_commit_order(&challenge, epoch, &mut answers) else { return };
        let miners = answers.iter().map(|a| &a.miner);
        let Some(participation) = self.state.epoch_participation(challenge.as_str(), epoch, miners) else {
            let reason = format!("the participation history of epoch {epoch} is no longer held");
            warn!(%challenge, epoch = epoch.get(), %reason, "cannot score a closed epoch; abstaining");
            for answer in answers.iter().filter(|a| !a.evaluated) {
                self.metrics.evaluations_abstained.inc();
                self.abstained = Some((answer.id, reason.clone()));
            }
            return;
        };
        let skip = answers.iter().filter(|a| a.evaluated).map(|a| a.id).collect();
        let answers = answers.into_iter().map(|a| (a.id, a.miner)).collect();
        self.effects.push(Effect::Evaluate(Request::ScoreEpoch(EpochTargets {
            challenge,
            epoch,
            seed,
            answers,
            skip,
            participation,
        })));
    }

    /// [`held_answers`] of this validator's state, with whether its own evaluation of each is
    /// committed.
    pub(crate) fn epoch_answers(&self, closed: impl Fn(Epoch) -> bool) -> Vec<(ChallengeId, Epoch, Vec<EpochAnswer>)> {
        held_answers(&self.state, closed, Some(&self.me()))
    }

    /// [`retired_answers`] of this validator's state and store.
    pub(crate) fn retired_answers(
        &self,
        challenge: &ChallengeId,
        epoch: Epoch,
        held: &[EpochAnswer],
    ) -> Result<Vec<EpochAnswer>, String> {
        retired_answers(&self.state, &self.records, challenge, epoch, held)
    }
}

/// The committed answers in `state` of the epochs `closed` accepts, per active challenge and
/// epoch ([`platform_app::AppState::epoch_answers`]), each marked evaluated when `me`'s
/// evaluation of it is committed.
pub(crate) fn held_answers(
    state: &platform_app::AppState,
    closed: impl Fn(Epoch) -> bool,
    me: Option<&PublicKey>,
) -> Vec<(ChallengeId, Epoch, Vec<EpochAnswer>)> {
    state
        .epoch_answers(closed)
        .into_iter()
        .map(|platform_app::EpochAnswers { challenge, epoch, answers }| {
            let answers = answers
                .into_iter()
                .map(|(id, c)| EpochAnswer {
                    id,
                    miner: c.miner,
                    height: c.height,
                    block_hash: c.block_hash,
                    evaluated: me.is_some_and(|me| c.evaluations.contains_key(me)),
                })
                .collect();
            (challenge, epoch, answers)
        })
        .collect()
}

/// Puts an epoch's `answers` in the order its scorer takes them (height, then id) and gives the
/// scorer's seed, from the block ordering the last one; `None` when there are none.
pub(crate) fn in_commit_order(challenge: &ChallengeId, epoch: Epoch, answers: &mut [EpochAnswer]) -> Option<[u8; 32]> {
    answers.sort_by_key(|a| (a.height, a.id));
    answers.last().map(|last| evaluator::epoch_seed(challenge, epoch, &last.block_hash))
}

/// The answers to `challenge` ordered in `epoch` that have left the state (`held` are those
/// still in it), from the epoch's stored blocks; `Err` when a block or a retired record is
/// missing (pruned), as the answers are then not all known.
pub(crate) fn retired_answers(
    state: &platform_app::AppState,
    records: &Records,
    challenge: &ChallengeId,
    epoch: Epoch,
    held: &[EpochAnswer],
) -> Result<Vec<EpochAnswer>, String> {
    let since = state.registry.challenges.get(challenge.as_str()).map_or(Height::new(0), |e| e.since);
    let known: HashSet<SubmissionId> = held.iter().map(|a| a.id).collect();
    let Some(low) = held.iter().map(|a| a.height).min() else { return Ok(Vec::new()) };
    let block_at = |height: u64| -> Result<Option<platform_types::Block>, String> {
        match records.blocks_from(height, 1)?.into_iter().next() {
            Some((block, _)) if block.header.height.get() == height => Ok(Some(block)),
            _ if height > state.tip.height.get() || height == 0 => Ok(None),
            _ => Err(format!("block {height} is no longer stored")),
        }
    };
    // The epoch's blocks: a run of heights around those of the answers held.
    let mut blocks = Vec::new();
    let mut height = low.get();
    while let Some(block) = block_at(height.saturating_sub(1))?.filter(|b| b.header.epoch == epoch) {
        height -= 1;
        blocks.push(block);
    }
    let mut height = low.get();
    while let Some(block) = block_at(height)?.filter(|b| b.header.epoch == epoch) {
        height += 1;
        blocks.push(block);
    }
    let mut out = Vec::new();
    for block in blocks {
        for action in &block.actions {
            let Action::Submission(id) = action else { continue };
            if known.contains(id) || state.submissions.contains_key(id) {
                continue;
            }
            let c = records.retired(id).ok_or_else(|| format!("the retired record of {id} is missing"))?;
            if &c.challenge == challenge && c.height >= since && c.epoch == epoch {
                out.push(EpochAnswer {
                    id: *id,
                    miner: c.miner,
                    height: c.height,
                    block_hash: c.block_hash,
                    evaluated: false,
                });
            }
        }
    }
    Ok(out)
}
