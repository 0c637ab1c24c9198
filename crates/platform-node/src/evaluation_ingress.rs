//! What the event loop and the evaluation actor ([`crate::evaluations`]) say to each other:
//! the [`Request`]s the loop sends, with the challenges and submissions they name, and the
//! core's side — which challenges are active, which committed submissions to evaluate (after a
//! commit, or after a restart), and this validator's verdicts coming back, signed in batches.

use std::collections::HashSet;

use platform_runtime::ChallengeModule;
use platform_types::{ChallengeId, Epoch, Hash, Height, PublicKey, RuntimePolicy, SubmissionId};
use tracing::warn;

use crate::core::*;
use crate::effects::Effect;

/// What the event loop asks of the evaluation actor.
#[derive(Debug)]
pub(crate) enum Request {
    /// The active challenges: load the modules missing, drop the others (a challenge whose
    /// policy or parameters changed is loaded again).
    Challenges(Vec<Active>),
    /// Evaluate a committed submission (once: a repeat is ignored); nothing for a challenge
    /// whose module scores epochs.
    Evaluate(Target),
    /// Score a closed epoch's answers to a challenge, if its module scores epochs (once per
    /// challenge and epoch); nothing otherwise.
    ScoreEpoch(EpochTargets),
}

/// An active challenge as the evaluation actor runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Active {
    pub id: String,
    pub module_hash: Hash,
    pub policy: RuntimePolicy,
    /// The challenge's parameters (`ChallengeSpec::params`), served to its module.
    pub params: Vec<u8>,
}

impl Active {
    /// Whether `module` is this challenge's, loaded as it now says (policy, parameters).
    pub fn runs(&self, module: &ChallengeModule) -> bool {
        module.hash() == self.module_hash && *module.policy() == self.policy && module.params() == self.params
    }

    /// What names this version of the challenge's module: its hash, policy and parameters.
    pub fn version(&self) -> Hash {
        let policy = platform_types::hash_of(&self.policy);
        platform_types::blake2b_256_parts(&[self.module_hash.as_bytes(), policy.as_bytes(), &self.params])
    }
}

/// A closed epoch's committed answers to one challenge, for its epoch scorer.
#[derive(Debug)]
pub(crate) struct EpochTargets {
    pub challenge: ChallengeId,
    pub epoch: Epoch,
    /// [`evaluator::epoch_seed`].
    pub seed: [u8; 32],
    /// Every answer of the epoch, in commit order (height, then id).
    pub answers: Vec<(SubmissionId, PublicKey)>,
    /// Answers this validator's evaluation of is already committed: scored with the others, but
    /// not signed again.
    pub skip: HashSet<SubmissionId>,
    /// The answering miners' participation, served to the scorer
    /// ([`platform_app::AppState::epoch_participation`]).
    pub participation: platform_runtime::Participation,
}

/// A committed submission to evaluate: what the evaluation needs besides the payload.
#[derive(Debug)]
pub(crate) struct Target {
    pub id: SubmissionId,
    pub challenge: ChallengeId,
    pub block_hash: Hash,
    pub epoch: Epoch,
    pub miner: PublicKey,
    /// For a reveal, what it opens.
    pub revealed: Option<platform_app::Revealed>,
}

impl Target {
    /// Whether `module` scores this submission with its epoch's others rather than alone (a
    /// reveal is always evaluated alone, with its commitment).
    pub fn by_epoch(&self, module: &ChallengeModule) -> bool {
        module.scores_epochs() && self.revealed.is_none()
    }
}

impl Core {
    /// Tells the evaluation actor which challenges are active (after a commit changed them).
    pub(crate) fn ensure_modules(&mut self) {
        let challenges = self
            .state
            .registry
            .challenges
            .iter()
            .map(|(id, entry)| Active {
                id: id.clone(),
                module_hash: entry.spec.module_hash,
                policy: entry.spec.policy,
                params: entry.spec.params.clone(),
            })
            .collect();
        self.effects.push(Effect::Evaluate(Request::Challenges(challenges)));
    }

    /// After a restart: evaluate committed submissions this validator has not evaluated yet,
    /// oldest first, and score again the closed epochs holding some of them (for challenges
    /// that score epochs: the actor decides).
    pub(crate) fn resume_evaluations(&mut self) {
        self.ensure_modules();
        let me = self.me();
        let mut ids: Vec<(Height, SubmissionId)> = self
            .state
            .submissions
            .iter()
            .filter(|(_, c)| !c.evaluations.contains_key(&me))
            .map(|(id, c)| (c.height, *id))
            .collect();
        ids.sort();
        for (_, id) in ids {
            self.start_evaluation(id);
        }
        let tip = self.state.tip.epoch;
        for (challenge, epoch, mut answers) in self.epoch_answers(|epoch| epoch < tip) {
            if answers.iter().all(|a| a.evaluated) {
                continue;
            }
            // Answers of the epoch may have retired from the state since it closed (final, with
            // the others' evaluations): found again in the stored blocks, so that the scorer
            // sees the same answers it saw on every other validator.
            match self.retired_answers(&challenge, epoch, &answers) {
                Ok(retired) => answers.extend(retired),
                Err(reason) => {
                    warn!(%challenge, epoch = epoch.get(), %reason, "cannot score a closed epoch again after the restart; abstaining");
                    for answer in answers.iter().filter(|a| !a.evaluated) {
                        self.metrics.evaluations_abstained.inc();
                        self.abstained = Some((answer.id, reason.clone()));
                    }
                    continue;
                }
            }
            self.request_epoch_scoring(challenge, epoch, answers);
        }
    }

    /// Hands a committed submission to the evaluation actor, unless its challenge was removed
    /// or updated since it was ordered: a verdict under a later version could differ from what
    /// every other validator and the audit computed under the version in force then (and such
    /// a submission no longer counts for the weights).
    pub(crate) fn start_evaluation(&mut self, id: SubmissionId) {
        let Some(c) = self.state.submissions.get(&id) else { return };
        if self.state.challenge(&c.challenge).is_none_or(|entry| c.height < entry.since) {
            return;
        }
        let target = Target {
            id,
            challenge: c.challenge.clone(),
            block_hash: c.block_hash,
            epoch: c.epoch,
            miner: c.miner,
            revealed: c.revealed.clone(),
        };
        self.effects.push(Effect::Evaluate(Request::Evaluate(target)));
    }

    /// This validator's verdict on `id`: signed in its next batch of verdicts
    /// ([`Core::seal_own_evaluations`]), unless one of its verdicts on `id` is committed already.
    pub(crate) fn on_evaluated(&mut self, id: SubmissionId, evaluation: platform_types::Evaluation) {
        let me = self.me();
        if evaluation.validator != me || self.state.submissions.get(&id).is_none_or(|c| c.evaluations.contains_key(&me))
        {
            return;
        }
        self.metrics.evaluations.inc();
        self.mempool.evaluations.add_own(evaluation);
        self.metrics.own_evaluations_waiting.set(self.mempool.evaluations.own_waiting() as i64);
    }

    /// Signs this validator's waiting verdicts into batches, as far as its share of the pool
    /// allows (the rest wait for earlier batches to be ordered), and gossips them (in the
    /// evaluation outbox's messages). Each tick, and after each committed block.
    pub(crate) fn seal_own_evaluations(&mut self) {
        let share = self.mempool.evaluations.share(self.state.registry.validators.validators.len());
        let now = self.clock.now;
        while let Some(envelope) = self.mempool.evaluations.seal_own(&self.keypair, self.cfg.netuid, share) {
            self.verified.remember(&envelope, self.cfg.netuid);
            let full = self.evaluation_outbox.push(envelope.to_bytes(), now);
            self.send(full);
        }
        self.metrics.own_evaluations_waiting.set(self.mempool.evaluations.own_waiting() as i64);
    }
}
