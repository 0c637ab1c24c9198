//! Work waiting to be ordered: accepted submissions, sudo actions and evaluations
//! ([`EvaluationPool`]), each bounded, in arrival order. The leader drains it into blocks;
//! committed items leave it.

use std::collections::{HashMap, HashSet, VecDeque};

use platform_types::{Envelope, PublicKey, Submission, SubmissionId};

use platform_app::SubmissionInfo;

use crate::evaluation_pool::EvaluationPool;

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

/// Verdicts a pool of `capacity` submissions holds, at most: four per submission.
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
    /// Evaluations, in validators' signed batches, and this validator's verdicts not yet signed.
    pub evaluations: EvaluationPool,
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
            evaluations: EvaluationPool::new(evaluation_room(capacity)),
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

    /// Pending sudo envelopes, oldest first.
    pub fn sudo(&self) -> &[Envelope] {
        &self.sudo
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

    /// Forgets a committed or skipped sudo action.
    pub fn remove_sudo(&mut self, payload_hash: &platform_types::Hash) {
        self.sudo.retain(|e| &e.payload_hash() != payload_hash);
    }
}

#[cfg(test)]
#[path = "mempool_tests.rs"]
mod tests;
