//! Evaluations waiting to be ordered: validators' signed batches ([`EvaluationBatch`]), each
//! ordered whole as one block action, and this validator's own verdicts not yet signed into
//! one. Bounded in verdicts, in all and per signer; a batch no block can order any more (one
//! of its verdicts ordered in another batch, its submission retired) leaves, and this
//! validator's verdicts in such a batch of its own are signed again in a later one.

use std::collections::{HashMap, HashSet, VecDeque};

use platform_types::{
    Envelope, Epoch, Evaluation, EvaluationBatch, Hash, Keypair, NetUid, PublicKey, SubmissionId,
    limits::MAX_BATCH_EVALUATIONS,
};

/// A batch in the pool: its envelope, its signer and its verdicts' submissions with the epoch
/// each names.
struct Pooled {
    envelope: Envelope,
    validator: PublicKey,
    verdicts: Vec<(SubmissionId, Epoch)>,
}

/// Pending evaluations.
pub struct EvaluationPool {
    /// Verdicts the pooled batches hold, at most.
    room: usize,
    /// Pooled batches by their payload hash, in arrival order.
    batches: HashMap<Hash, Pooled>,
    order: VecDeque<Hash>,
    /// The pooled batch holding each verdict (submission, validator): a batch overlapping one
    /// already pooled is refused, so every verdict is in one batch at most.
    holder: HashMap<(SubmissionId, PublicKey), Hash>,
    /// Verdicts pooled, in all and per signer.
    verdicts: usize,
    held_by: HashMap<PublicKey, usize>,
    /// This validator's verdicts not yet signed into a pooled batch, oldest first.
    own_waiting: VecDeque<Evaluation>,
    own_waiting_ids: HashSet<SubmissionId>,
    /// This validator's verdicts in its pooled batches, by batch: signed again, in a later
    /// batch, when one of theirs can no longer be ordered.
    own_batched: HashMap<Hash, Vec<Evaluation>>,
}

/// Why a batch was not pooled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The same batch is pooled already.
    #[error("already pooled")]
    Duplicate,
    /// One of its verdicts is in another pooled batch.
    #[error("a verdict of it is in another pooled batch")]
    Overlaps,
    /// Its signer would hold more than its share, or the pool more than its room.
    #[error("no room for its signer's verdicts")]
    Full,
}

impl EvaluationPool {
    /// An empty pool holding at most `room` verdicts.
    pub fn new(room: usize) -> Self {
        EvaluationPool {
            room,
            batches: HashMap::new(),
            order: VecDeque::new(),
            holder: HashMap::new(),
            verdicts: 0,
            held_by: HashMap::new(),
            own_waiting: VecDeque::new(),
            own_waiting_ids: HashSet::new(),
            own_batched: HashMap::new(),
        }
    }

    /// Verdicts the pool holds, at most.
    pub fn room(&self) -> usize {
        self.room
    }

    /// What one of `validators` validators may hold of [`EvaluationPool::room`].
    pub fn share(&self, validators: usize) -> usize {
        (self.room / validators.max(1)).max(1)
    }

    /// Whether nothing waits (pooled or unsigned).
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty() && self.own_waiting.is_empty()
    }

    /// Verdicts pooled that `validator` signed.
    pub fn held_by(&self, validator: &PublicKey) -> usize {
        self.held_by.get(validator).copied().unwrap_or(0)
    }

    /// This validator's verdicts waiting to be signed into a batch.
    pub fn own_waiting(&self) -> usize {
        self.own_waiting.len()
    }

    /// Pools a signed batch (its signature checked by the caller), each verdict naming the
    /// epoch given, unless it is pooled already, overlaps a pooled batch, or its signer would
    /// hold more than `share` verdicts (or the pool more than its room).
    pub fn add(&mut self, batch: &EvaluationBatch, envelope: Envelope, share: usize) -> Result<(), Refused> {
        let hash = envelope.payload_hash();
        if self.batches.contains_key(&hash) {
            return Err(Refused::Duplicate);
        }
        let validator = batch.validator();
        if batch.evaluations().iter().any(|e| self.holder.contains_key(&(e.submission, validator))) {
            return Err(Refused::Overlaps);
        }
        let n = batch.evaluations().len();
        if self.held_by(&validator) + n > share || self.verdicts + n > self.room {
            return Err(Refused::Full);
        }
        let verdicts: Vec<(SubmissionId, Epoch)> =
            batch.evaluations().iter().map(|e| (e.submission, e.epoch)).collect();
        for (id, _) in &verdicts {
            self.holder.insert((*id, validator), hash);
        }
        self.verdicts += n;
        *self.held_by.entry(validator).or_default() += n;
        self.batches.insert(hash, Pooled { envelope, validator, verdicts });
        self.order.push_back(hash);
        Ok(())
    }

    /// Queues this validator's own verdict, to be signed into its next batch
    /// ([`EvaluationPool::seal_own`]); a verdict on a submission it already has one on, waiting
    /// or pooled, is ignored.
    pub fn add_own(&mut self, evaluation: Evaluation) {
        let key = (evaluation.submission, evaluation.validator);
        if self.holder.contains_key(&key) || !self.own_waiting_ids.insert(evaluation.submission) {
            return;
        }
        self.own_waiting.push_back(evaluation);
    }

    /// Signs this validator's waiting verdicts (by `keypair`) into one batch, oldest first, as
    /// many as its `share` of the pool and the pool's room allow (at most
    /// [`MAX_BATCH_EVALUATIONS`]), and pools it: returned, to gossip. `None` when none wait or
    /// there is no room (they wait for earlier batches to be ordered).
    pub fn seal_own(&mut self, keypair: &Keypair, netuid: NetUid, share: usize) -> Option<Envelope> {
        let me = keypair.public();
        let take = share
            .saturating_sub(self.held_by(&me))
            .min(self.room.saturating_sub(self.verdicts))
            .min(MAX_BATCH_EVALUATIONS)
            .min(self.own_waiting.len());
        if take == 0 {
            return None;
        }
        let evaluations: Vec<Evaluation> = self.own_waiting.drain(..take).collect();
        for evaluation in &evaluations {
            self.own_waiting_ids.remove(&evaluation.submission);
        }
        // The worker writes valid verdicts of this validator on different submissions; one that
        // is not could never be ordered, and is not signed.
        let batch = match EvaluationBatch::new(evaluations.clone()) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(%e, "verdicts that no block could order were not signed");
                return None;
            }
        };
        let envelope = Envelope::seal(keypair, netuid, &batch);
        // Cannot be refused: within the share and the room, and none of these verdicts pooled.
        self.add(&batch, envelope.clone(), share).ok()?;
        self.own_batched.insert(envelope.payload_hash(), evaluations);
        Some(envelope)
    }

    /// The pooled batches' envelopes, oldest first.
    pub fn envelopes(&self) -> impl Iterator<Item = &Envelope> {
        self.order.iter().filter_map(|hash| self.batches.get(hash)).map(|p| &p.envelope)
    }

    /// After a block ordered `ordered` (submission, validator): every batch holding one of them
    /// leaves (ordered whole, or now holding a second verdict no block can order), and this
    /// validator's (`me`) verdicts in such a batch that were not ordered wait to be signed again.
    pub fn remove_ordered(&mut self, ordered: &[(SubmissionId, PublicKey)], me: &PublicKey) {
        let done: HashSet<&(SubmissionId, PublicKey)> = ordered.iter().collect();
        self.retain_waiting(|e| !done.contains(&(e.submission, *me)));
        let hashes: HashSet<Hash> = ordered.iter().filter_map(|key| self.holder.get(key).copied()).collect();
        for hash in hashes {
            self.drop_batch(&hash, |evaluation| !done.contains(&(evaluation.submission, evaluation.validator)));
        }
    }

    /// Keeps only the batches whose every verdict `keep` holds on to (by submission and the
    /// epoch it names): a verdict on a submission that left the application state (retired), or
    /// naming an epoch in which its submission can no longer be committed, can never be ordered,
    /// nor can its batch. This validator's other verdicts in such a batch of its own wait to be
    /// signed again; its waiting ones are kept by the same test.
    pub fn retain(&mut self, keep: impl Fn(&SubmissionId, Epoch) -> bool) {
        self.retain_waiting(|e| keep(&e.submission, e.epoch));
        let doomed: Vec<Hash> = self
            .order
            .iter()
            .filter(|hash| self.batches.get(hash).is_some_and(|p| p.verdicts.iter().any(|(id, e)| !keep(id, *e))))
            .copied()
            .collect();
        for hash in doomed {
            self.drop_batch(&hash, |evaluation| keep(&evaluation.submission, evaluation.epoch));
        }
    }

    fn retain_waiting(&mut self, keep: impl Fn(&Evaluation) -> bool) {
        let ids = &mut self.own_waiting_ids;
        self.own_waiting.retain(|e| {
            let kept = keep(e);
            if !kept {
                ids.remove(&e.submission);
            }
            kept
        });
    }

    /// Removes a pooled batch; of this validator's verdicts in it, those `again` holds wait to be
    /// signed again (ahead of the newer ones).
    fn drop_batch(&mut self, hash: &Hash, again: impl Fn(&Evaluation) -> bool) {
        let Some(pooled) = self.batches.remove(hash) else { return };
        for (id, _) in &pooled.verdicts {
            self.holder.remove(&(*id, pooled.validator));
        }
        self.verdicts -= pooled.verdicts.len();
        if let Some(held) = self.held_by.get_mut(&pooled.validator) {
            *held -= pooled.verdicts.len();
            if *held == 0 {
                self.held_by.remove(&pooled.validator);
            }
        }
        if let Some(own) = self.own_batched.remove(hash) {
            for evaluation in own.into_iter().rev().filter(|e| again(e)) {
                if self.own_waiting_ids.insert(evaluation.submission) {
                    self.own_waiting.push_front(evaluation);
                }
            }
        }
        while self.order.front().is_some_and(|front| !self.batches.contains_key(front)) {
            self.order.pop_front();
        }
        if self.order.len() > 2 * self.batches.len() + 64 {
            self.order.retain(|h| self.batches.contains_key(h));
        }
    }
}

#[cfg(test)]
#[path = "evaluation_pool_tests.rs"]
mod tests;
