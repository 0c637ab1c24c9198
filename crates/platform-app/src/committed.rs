//! What the state holds of each committed submission: its body's facts ([`SubmissionInfo`]),
//! its committed evaluations ([`Evaluations`], a compact map), and what they make of it
//! ([`Committed`]: scores, the stake that evaluated it, whether it is final).

use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_scoring::Score;
use platform_types::{
    ChallengeId, Epoch, EvaluationStatus, Hash, Height, Phase, PublicKey, Submission, SubmissionId, ValidatorSet,
};

use crate::phases::Revealed;

/// What the rules need of a submission body (held by the mempool or the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionInfo {
    /// Its challenge.
    pub challenge: ChallengeId,
    /// Its miner.
    pub miner: PublicKey,
    /// When the miner signed it (ms since the Unix epoch): replay protection
    /// ([`crate::retire::ReplayWindow`]).
    pub timestamp_ms: u64,
    /// What it is in its challenge's phases ([`crate::phases`]).
    pub phase: Phase,
}

impl SubmissionInfo {
    /// What the rules need of `submission`.
    pub fn of(submission: &Submission) -> SubmissionInfo {
        SubmissionInfo {
            challenge: submission.challenge.clone(),
            miner: submission.miner,
            timestamp_ms: submission.timestamp_ms,
            phase: submission.phase,
        }
    }
}

/// One committed submission and the evaluations committed for it.
#[derive(Clone, Debug, Encode, Decode)]
pub struct Committed {
    /// Its challenge.
    pub challenge: ChallengeId,
    /// Its miner.
    pub miner: PublicKey,
    /// Height of the block that ordered it.
    pub height: Height,
    /// Hash of that block (the evaluation seed derives from it).
    pub block_hash: Hash,
    /// Epoch of that block.
    pub epoch: Epoch,
    /// Committed evaluations by validator: status, score, output hash.
    pub evaluations: Evaluations,
    /// For the reveal of a two-phase challenge's commitment, what it is evaluated with.
    pub revealed: Option<Revealed>,
}

/// What a committed evaluation says: status, score (ppb), output hash.
pub type Verdict = (EvaluationStatus, u32, Hash);

/// The answers ordered in one closed epoch to one challenge
/// ([`AppState::epoch_answers`](crate::state::AppState::epoch_answers)).
#[derive(Clone, Debug)]
pub struct EpochAnswers<'a> {
    /// The challenge.
    pub challenge: ChallengeId,
    /// The epoch.
    pub epoch: Epoch,
    /// Each answer's id and what the state holds of it, in commit order (height, then id).
    pub answers: Vec<(SubmissionId, &'a Committed)>,
}

/// One submission's committed evaluations by validator, in key order: a sorted slice (a
/// submission has a handful, and a `BTreeMap`'s first node alone holds room for eleven, which
/// across every committed submission was most of a validator's memory), none allocated while
/// empty, shared between copies of the state. The state is a persistent map that the read view
/// shares, so the first change after a view is published copies the touched map node with its
/// entries: sharing makes each entry's copy a reference count instead of an allocation.
/// Encodes exactly as a `BTreeMap` of the same entries (so state roots are the same).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluations(Option<Arc<[(PublicKey, Verdict)]>>);

impl Evaluations {
    fn entries(&self) -> &[(PublicKey, Verdict)] {
        self.0.as_deref().unwrap_or_default()
    }

    /// Sets `validator`'s evaluation; the one it replaces, if any.
    pub fn insert(&mut self, validator: PublicKey, verdict: Verdict) -> Option<Verdict> {
        let entries = self.entries();
        let (replaced, at) = match entries.binary_search_by(|(k, _)| k.cmp(&validator)) {
            Ok(at) => (Some(entries[at].1), at),
            Err(at) => (None, at),
        };
        let skip = usize::from(replaced.is_some());
        let mut next = Vec::with_capacity(entries.len() + 1 - skip);
        next.extend_from_slice(&entries[..at]);
        next.push((validator, verdict));
        next.extend_from_slice(&entries[at + skip..]);
        self.0 = Some(next.into());
        replaced
    }

    /// `validator`'s evaluation.
    pub fn get(&self, validator: &PublicKey) -> Option<&Verdict> {
        let entries = self.entries();
        entries.binary_search_by(|(k, _)| k.cmp(validator)).ok().map(|at| &entries[at].1)
    }

    /// Whether `validator`'s evaluation is committed.
    pub fn contains_key(&self, validator: &PublicKey) -> bool {
        self.get(validator).is_some()
    }

    /// The evaluations, by validator in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&PublicKey, &Verdict)> {
        self.entries().iter().map(|(k, v)| (k, v))
    }

    /// The validators whose evaluations are committed, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.entries().iter().map(|(k, _)| k)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Forgets them all.
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

impl FromIterator<(PublicKey, Verdict)> for Evaluations {
    fn from_iter<I: IntoIterator<Item = (PublicKey, Verdict)>>(entries: I) -> Self {
        let mut out = Evaluations::default();
        for (validator, verdict) in entries {
            out.insert(validator, verdict);
        }
        out
    }
}

impl Encode for Evaluations {
    fn size_hint(&self) -> usize {
        self.entries().size_hint()
    }

    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        // A compact length, then the pairs in key order: a BTreeMap's encoding.
        self.entries().encode_to(dest);
    }
}

impl Decode for Evaluations {
    fn decode<I: parity_scale_codec::Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        let entries = Vec::<(PublicKey, Verdict)>::decode(input)?;
        // As a BTreeMap would: sorted, the last of equal keys kept.
        Ok(entries.into_iter().collect())
    }
}

impl Committed {
    /// The committed scores, each weighted by its evaluator's stake in `validators` (a rejection
    /// scores 0; evaluations by non-members are left out).
    pub fn scores(&self, validators: &ValidatorSet) -> Vec<Score> {
        self.evaluations
            .iter()
            .filter_map(|(validator, (status, score, _))| {
                let stake = validators.validators.iter().find(|v| &v.hotkey == validator)?.stake;
                let score_ppb = if *status == EvaluationStatus::Scored { *score } else { 0 };
                Some(Score { stake, score_ppb })
            })
            .collect()
    }

    /// Stake of the members of `validators` whose evaluations are committed.
    pub fn evaluated_stake(&self, validators: &ValidatorSet) -> u128 {
        validators
            .validators
            .iter()
            .filter(|v| self.evaluations.contains_key(&v.hotkey))
            .map(|v| u128::from(v.stake))
            .sum()
    }

    /// Final: evaluations from more than two thirds of the stake are committed.
    pub fn is_final(&self, validators: &ValidatorSet) -> bool {
        let total: u128 = validators.validators.iter().map(|v| u128::from(v.stake)).sum();
        self.evaluated_stake(validators) * 3 > total * 2
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The compact map encodes exactly as the `BTreeMap` it replaced (so state roots and
    /// snapshots are unchanged), whatever the order of insertion, and decodes to the same map.
    #[test]
    fn evaluations_encode_as_a_btreemap_of_the_same_entries() {
        let key = |n: u8| PublicKey::from_bytes([n; 32]);
        let verdict = |n: u8| (EvaluationStatus::Scored, u32::from(n), Hash::from_bytes([n; 32]));
        let order = [7u8, 2, 9, 2, 4, 1];
        let mut compact = Evaluations::default();
        let mut tree = BTreeMap::new();
        for (i, n) in order.iter().enumerate() {
            let v = verdict(*n + i as u8);
            assert_eq!(compact.insert(key(*n), v), tree.insert(key(*n), v));
        }
        assert_eq!(compact.encode(), tree.encode());
        assert_eq!(compact.len(), tree.len());
        assert!(compact.keys().eq(tree.keys()));
        assert_eq!(compact.get(&key(2)), tree.get(&key(2)));
        assert!(!compact.contains_key(&key(3)));
        assert_eq!(Evaluations::decode(&mut &tree.encode()[..]).expect("decodes"), compact);
    }
}
