//! Work waiting to be ordered: accepted submissions, sudo actions and evaluations, each
//! bounded, in arrival order. The leader drains it into blocks; committed items leave it.

use std::collections::{HashMap, HashSet, VecDeque};

use platform_types::{Envelope, Epoch, PublicKey, Submission, SubmissionId};

use platform_app::SubmissionInfo;

/// Encoded bytes of a block's actions the leader aims to stay under (a proposal travels in
/// one gossip message of at most 1 MiB).
pub const BLOCK_BYTES_BUDGET: usize = 600 * 1024;

/// Bytes an admitted submission is counted for until a block orders it: its payload (inline or
/// blob, as declared and checked) and its envelope around it.
pub fn footprint(submission: &Submission) -> u64 {
    submission.payload_size.saturating_add(ENVELOPE_OVERHEAD)
}

/// What an envelope adds to its payload, counted generously (metadata, signature, framing).
const ENVELOPE_OVERHEAD: u64 = 2048;

/// One miner's unordered submissions may hold at most this fraction of the whole cap.
pub const MINER_SHARE: u64 = 16;

/// Evaluations a pool of `capacity` submissions holds, at most: four per submission.
pub fn evaluation_room(capacity: usize) -> usize {
    capacity.saturating_mul(4)
}

/// A per-miner sliding window of admissions.
#[derive(Default)]
struct Rate {
    window_start_ms: u64,
    count: u32,
}

/// Pending work.
pub struct Mempool {
    capacity: usize,
    rate_per_minute: u32,
    /// Each submission with its admission number; `order` names an entry by both, so an entry
    /// left behind by a removal never stands for a later admission of the same id.
    submissions: HashMap<SubmissionId, (u64, Submission)>,
    order: VecDeque<(u64, SubmissionId)>,
    admitted: u64,
    /// Admitted submissions whose write to `data/` is pending: known (duplicates, rates,
    /// proposals of other leaders) but not proposed by this validator until released.
    held: HashSet<SubmissionId>,
    sudo: Vec<Envelope>,
    /// Evaluations with the epoch they name, and how many each validator has here: one
    /// validator may hold at most its share of the room ([`Mempool::evaluation_share`]), so a
    /// flood of evaluations signed by one key never crowds out the others'.
    evaluations: HashMap<(SubmissionId, PublicKey), (Epoch, Envelope)>,
    evaluation_order: VecDeque<(SubmissionId, PublicKey)>,
    evaluations_by: HashMap<PublicKey, usize>,
    /// This validator's own evaluations beyond its share, oldest first: offered (moved into the
    /// pool, and gossiped) as its earlier ones are ordered ([`Mempool::offer_own`]), so the
    /// other validators, whose pools give it the same share, have room for each one it sends.
    /// Never refused: they are bounded by the committed submissions the state holds, each
    /// evaluated once.
    own_waiting: HashMap<(SubmissionId, PublicKey), (Epoch, Envelope)>,
    own_order: VecDeque<(SubmissionId, PublicKey)>,
    rates: HashMap<PublicKey, Rate>,
    /// Bytes the unordered submissions hold ([`footprint`]), in all and per miner, and the cap.
    bytes: u64,
    bytes_by_miner: HashMap<PublicKey, u64>,
    max_bytes: u64,
}

/// Why the mempool refused a submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Seen before.
    #[error("duplicate submission")]
    Duplicate,
    /// The miner exceeded its rate.
    #[error("rate limit: at most {0} submissions per minute per miner")]
    RateLimited(u32),
    /// The pool is full.
    #[error("the validator is overloaded ({0} submissions waiting); retry later")]
    Full(usize),
    /// The unordered submissions already hold the bytes this validator keeps for them.
    #[error("the validator holds {held} bytes of unordered submissions, its cap is {cap}; retry later")]
    Bytes {
        /// Bytes held.
        held: u64,
        /// The cap.
        cap: u64,
    },
    /// This miner's unordered submissions hold its share of the cap.
    #[error(
        "this miner's unordered submissions hold {held} bytes, at most {cap} per miner; retry once they are ordered"
    )]
    MinerBytes {
        /// Bytes held by the miner's.
        held: u64,
        /// The per-miner cap.
        cap: u64,
    },
}

impl Mempool {
    /// An empty pool.
    pub fn new(capacity: usize, rate_per_minute: u32) -> Self {
        Mempool {
            capacity,
            rate_per_minute,
            submissions: HashMap::new(),
            order: VecDeque::new(),
            admitted: 0,
            held: HashSet::new(),
            sudo: Vec::new(),
            evaluations: HashMap::new(),
            evaluation_order: VecDeque::new(),
            evaluations_by: HashMap::new(),
            own_waiting: HashMap::new(),
            own_order: VecDeque::new(),
            rates: HashMap::new(),
            bytes: 0,
            bytes_by_miner: HashMap::new(),
            max_bytes: u64::MAX,
        }
    }

    /// The pool with at most `max_bytes` held by unordered submissions ([`footprint`]), and at
    /// most a [`MINER_SHARE`]-th of that by one miner's.
    pub fn with_byte_cap(self, max_bytes: u64) -> Self {
        Mempool { max_bytes, ..self }
    }

    /// Bytes the unordered submissions hold.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The cap on [`Mempool::bytes`].
    pub fn byte_cap(&self) -> u64 {
        self.max_bytes
    }

    /// Admits a submission (already verified) under the per-miner rate, when `rate_limited`.
    pub fn admit(
        &mut self,
        id: SubmissionId,
        submission: Submission,
        now_ms: u64,
        rate_limited: bool,
    ) -> Result<(), Refusal> {
        if self.submissions.contains_key(&id) {
            return Err(Refusal::Duplicate);
        }
        if self.submissions.len() >= self.capacity {
            return Err(Refusal::Full(self.submissions.len()));
        }
        let size = footprint(&submission);
        if self.bytes.saturating_add(size) > self.max_bytes {
            return Err(Refusal::Bytes { held: self.bytes, cap: self.max_bytes });
        }
        let miner_cap = self.max_bytes / MINER_SHARE;
        let miner_held = self.bytes_by_miner.get(&submission.miner).copied().unwrap_or(0);
        if miner_held.saturating_add(size) > miner_cap {
            return Err(Refusal::MinerBytes { held: miner_held, cap: miner_cap });
        }
        if rate_limited {
            let rate = self.rates.entry(submission.miner).or_default();
            if now_ms.saturating_sub(rate.window_start_ms) >= 60_000 {
                *rate = Rate { window_start_ms: now_ms, count: 0 };
            }
            if rate.count >= self.rate_per_minute {
                return Err(Refusal::RateLimited(self.rate_per_minute));
            }
            rate.count += 1;
        }
        self.admitted += 1;
        self.bytes += size;
        *self.bytes_by_miner.entry(submission.miner).or_default() += size;
        self.submissions.insert(id, (self.admitted, submission));
        self.order.push_back((self.admitted, id));
        Ok(())
    }

    /// Keeps an admitted submission out of [`submission_ids`](Self::submission_ids) until
    /// [`release`](Self::release).
    pub fn hold(&mut self, id: SubmissionId) {
        if self.submissions.contains_key(&id) {
            self.held.insert(id);
        }
    }

    /// Lets a held submission be proposed.
    pub fn release(&mut self, id: &SubmissionId) {
        self.held.remove(id);
    }

    /// Whether `id` is admitted and held (its write to `data/` is still pending).
    pub fn is_held(&self, id: &SubmissionId) -> bool {
        self.held.contains(id)
    }

    /// A pending submission's body.
    pub fn get(&self, id: &SubmissionId) -> Option<&Submission> {
        self.submissions.get(id).map(|(_, submission)| submission)
    }

    /// What the rules need of a pending submission.
    pub fn info(&self, id: &SubmissionId) -> Option<SubmissionInfo> {
        self.get(id).map(SubmissionInfo::of)
    }

    /// Submissions waiting.
    pub fn len(&self) -> usize {
        self.submissions.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.submissions.is_empty() && self.sudo.is_empty() && self.evaluations.is_empty()
    }

    /// Queues a sudo action envelope (once).
    pub fn add_sudo(&mut self, envelope: Envelope) {
        if !self.sudo.contains(&envelope) && self.sudo.len() < 256 {
            self.sudo.push(envelope);
        }
    }

    /// Evaluations waiting, at most ([`evaluation_room`] of its capacity).
    pub fn evaluation_room(&self) -> usize {
        evaluation_room(self.capacity)
    }

    /// What one of `validators` validators may hold of [`Mempool::evaluation_room`].
    pub fn evaluation_share(&self, validators: usize) -> usize {
        (self.evaluation_room() / validators.max(1)).max(1)
    }

    /// Queues the evaluation envelope of `id` by `validator`, naming `epoch` (the first one per
    /// submission and validator), unless the pool is full or the validator already holds `share`
    /// of it; returns whether it was queued.
    pub fn add_evaluation(
        &mut self,
        id: SubmissionId,
        validator: PublicKey,
        epoch: Epoch,
        envelope: Envelope,
        share: usize,
    ) -> bool {
        let held = self.evaluations_by.get(&validator).copied().unwrap_or(0);
        if held >= share || self.evaluations.len() >= self.evaluation_room() {
            return false;
        }
        if self.evaluations.contains_key(&(id, validator)) {
            return false;
        }
        self.evaluations.insert((id, validator), (epoch, envelope));
        self.evaluation_order.push_back((id, validator));
        *self.evaluations_by.entry(validator).or_default() += 1;
        true
    }

    /// Queues this validator's own evaluation of `id` (signed by `me`, naming `epoch`) behind
    /// those of its own already waiting, and offers what its share allows ([`Mempool::offer_own`]):
    /// returned, to gossip. Never refused: a refused evaluation of its own would never be
    /// ordered, and the submission would miss this validator's stake.
    pub fn add_own_evaluation(
        &mut self,
        id: SubmissionId,
        me: PublicKey,
        epoch: Epoch,
        envelope: Envelope,
        share: usize,
    ) -> Vec<Envelope> {
        let key = (id, me);
        if self.evaluations.contains_key(&key) || self.own_waiting.contains_key(&key) {
            return Vec::new();
        }
        self.own_waiting.insert(key, (epoch, envelope));
        self.own_order.push_back(key);
        self.offer_own(&me, share)
    }

    /// Moves this validator's waiting evaluations (signed by `me`) into the pool, oldest first,
    /// while it holds less than `share` there and the pool has room; returns them, to gossip.
    pub fn offer_own(&mut self, me: &PublicKey, share: usize) -> Vec<Envelope> {
        let mut offered = Vec::new();
        while !self.own_waiting.is_empty()
            && self.evaluations_by(me) < share
            && self.evaluations.len() < self.evaluation_room()
        {
            let Some(key) = self.own_order.pop_front() else { break };
            // An entry whose evaluation was ordered or dropped meanwhile is skipped.
            let Some((epoch, envelope)) = self.own_waiting.remove(&key) else { continue };
            if self.add_evaluation(key.0, key.1, epoch, envelope.clone(), share) {
                offered.push(envelope);
            }
        }
        offered
    }

    /// This validator's own evaluations waiting beyond its share.
    pub fn own_waiting(&self) -> usize {
        self.own_waiting.len()
    }

    /// Evaluations `validator`'s key signed that wait here.
    pub fn evaluations_by(&self, validator: &PublicKey) -> usize {
        self.evaluations_by.get(validator).copied().unwrap_or(0)
    }

    /// Pending sudo envelopes, oldest first.
    pub fn sudo(&self) -> &[Envelope] {
        &self.sudo
    }

    /// Pending evaluation envelopes, oldest first, then this validator's own waiting ones.
    pub fn evaluations(&self) -> impl Iterator<Item = (&(SubmissionId, PublicKey), &Envelope)> {
        let pooled = self.evaluation_order.iter().filter_map(|key| self.evaluations.get_key_value(key));
        let own = self.own_order.iter().filter_map(|key| self.own_waiting.get_key_value(key));
        pooled.chain(own).map(|(k, (_, e))| (k, e))
    }

    /// Pending submission ids that are not held, oldest first.
    pub fn submission_ids(&self) -> impl Iterator<Item = &SubmissionId> {
        self.order.iter().filter(|entry| self.current(entry) && !self.held.contains(&entry.1)).map(|(_, id)| id)
    }

    /// Whether an `order` entry stands for a submission still here.
    fn current(&self, (admitted, id): &(u64, SubmissionId)) -> bool {
        self.submissions.get(id).is_some_and(|(n, _)| n == admitted)
    }

    /// Forgets a committed (or dropped) submission.
    pub fn remove_submission(&mut self, id: &SubmissionId) {
        self.held.remove(id);
        if let Some((_, submission)) = self.submissions.remove(id) {
            let size = footprint(&submission);
            self.bytes -= size;
            if let Some(held) = self.bytes_by_miner.get_mut(&submission.miner) {
                *held -= size;
                if *held == 0 {
                    self.bytes_by_miner.remove(&submission.miner);
                }
            }
            while self.order.front().is_some_and(|front| !self.current(front)) {
                self.order.pop_front();
            }
        }
    }

    /// Forgets a committed evaluation.
    pub fn remove_evaluation(&mut self, id: &SubmissionId, validator: &PublicKey) {
        // Ordered by this validator's own block while it waited.
        if self.own_waiting.remove(&(*id, *validator)).is_some() {
            while self.own_order.front().is_some_and(|front| !self.own_waiting.contains_key(front)) {
                self.own_order.pop_front();
            }
        }
        if self.evaluations.remove(&(*id, *validator)).is_some() {
            self.uncount(validator);
            while self.evaluation_order.front().is_some_and(|front| !self.evaluations.contains_key(front)) {
                self.evaluation_order.pop_front();
            }
        }
    }

    /// Keeps only the evaluations `keep` holds on to (by submission and the epoch they name):
    /// those of submissions that left the application state (retired), and those naming an
    /// epoch in which their submission can no longer be committed, can never be ordered.
    pub fn retain_evaluations(&mut self, keep: impl Fn(&SubmissionId, Epoch) -> bool) {
        self.own_waiting.retain(|(id, _), (epoch, _)| keep(id, *epoch));
        self.own_order.retain(|key| self.own_waiting.contains_key(key));
        let mut dropped = Vec::new();
        self.evaluations.retain(|(id, validator), (epoch, _)| {
            let kept = keep(id, *epoch);
            if !kept {
                dropped.push(*validator);
            }
            kept
        });
        if !dropped.is_empty() {
            for validator in &dropped {
                self.uncount(validator);
            }
            self.evaluation_order.retain(|key| self.evaluations.contains_key(key));
        }
    }

    fn uncount(&mut self, validator: &PublicKey) {
        if let Some(held) = self.evaluations_by.get_mut(validator) {
            *held -= 1;
            if *held == 0 {
                self.evaluations_by.remove(validator);
            }
        }
    }

    /// Forgets a committed or skipped sudo action.
    pub fn remove_sudo(&mut self, payload_hash: &platform_types::Hash) {
        self.sudo.retain(|e| &e.payload_hash() != payload_hash);
    }
}

#[cfg(test)]
#[path = "mempool_tests.rs"]
mod tests;
