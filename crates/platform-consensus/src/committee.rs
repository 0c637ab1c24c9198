//! The validator set as consensus uses it: leader order and stake-weighted quorums.
//!
//! Thresholds are integer comparisons on `u128` sums of `u64` stakes. At most
//! [`platform_types::limits::MAX_VALIDATORS`] (256) stakes of at most 2^64 - 1 sum below 2^72,
//! so `3 * stake` never overflows; the arithmetic is checked anyway, and an overflow counts as
//! "no quorum" rather than wrapping.

use std::collections::BTreeMap;

use platform_types::{DecodeError, Hash, Height, PublicKey, Validator, ValidatorSet, View};

/// A validated validator set in leader order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committee {
    set: ValidatorSet,
    order: Vec<Validator>,
    stakes: BTreeMap<PublicKey, u64>,
    total: u128,
    hash: Hash,
}

impl Committee {
    /// Validates `set` and orders it: stake descending, ties by hotkey bytes ascending.
    pub fn new(set: ValidatorSet) -> Result<Self, DecodeError> {
        set.validate()?;
        let mut order = set.validators.clone();
        order.sort_by(|a, b| b.stake.cmp(&a.stake).then_with(|| a.hotkey.cmp(&b.hotkey)));
        let stakes = order.iter().map(|v| (v.hotkey, v.stake)).collect();
        let total = order.iter().map(|v| u128::from(v.stake)).sum();
        let hash = set.hash();
        Ok(Committee { set, order, stakes, total, hash })
    }

    /// The leader of `(height, view)`: position `(height + view) mod n` in leader order, so
    /// leadership rotates with every view and every height.
    pub fn leader(&self, height: Height, view: View) -> PublicKey {
        let n = self.order.len() as u128;
        let index = (u128::from(height.get()) + u128::from(view.get())) % n;
        self.order[index as usize].hotkey
    }

    /// The stake of a member, or `None` for a non-member.
    pub fn stake(&self, hotkey: &PublicKey) -> Option<u64> {
        self.stakes.get(hotkey).copied()
    }

    /// Whether `hotkey` is a member.
    pub fn contains(&self, hotkey: &PublicKey) -> bool {
        self.stakes.contains_key(hotkey)
    }

    /// Total stake.
    pub fn total(&self) -> u128 {
        self.total
    }

    /// Whether `stake` is a quorum: strictly more than two thirds of the total.
    pub fn is_quorum(&self, stake: u128) -> bool {
        match (stake.checked_mul(3), self.total.checked_mul(2)) {
            (Some(lhs), Some(rhs)) => lhs > rhs,
            _ => false,
        }
    }

    /// Whether `stake` is more than one third of the total: enough that at least one honest
    /// validator is among its holders when faulty stake is below one third.
    pub fn exceeds_one_third(&self, stake: u128) -> bool {
        stake.checked_mul(3).is_some_and(|lhs| lhs > self.total)
    }

    /// Sum of the stakes of distinct members among `hotkeys` (non-members count 0).
    pub fn stake_of<'a>(&self, hotkeys: impl IntoIterator<Item = &'a PublicKey>) -> u128 {
        let mut seen = std::collections::BTreeSet::new();
        hotkeys.into_iter().filter(|k| seen.insert(**k)).filter_map(|k| self.stake(k)).map(u128::from).sum()
    }

    /// Members in leader order.
    pub fn members(&self) -> &[Validator] {
        &self.order
    }

    /// The set as given.
    pub fn validator_set(&self) -> &ValidatorSet {
        &self.set
    }

    /// The set's hash, which every block header of its epoch commits to.
    pub fn hash(&self) -> Hash {
        self.hash
    }
}
