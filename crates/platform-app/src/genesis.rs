//! Which genesis validator set a validator with an empty store adopts.
//!
//! Taking any one peer's word let a single silent or lying bootstrap peer split a joining
//! validator from the network for good: after five seconds without an answer it derived and
//! persisted a genesis of its own. Now a genesis is adopted only when validators vouch for it
//! who hold more than two thirds of the stake **as this validator reads it from the chain**
//! (the metagraph's permit holders with at least the minimum stake), so fewer than a third of
//! the stake cannot make it adopt anything, and it never persists a guess: it keeps asking.
//!
//! A validator that holds a genesis vouches for it; one that does not yet vouches for the set
//! it derives from the metagraph (its *candidate*), so at a network's birth, when every
//! validator reads the same metagraph, the candidates agree and all adopt them. A validator
//! joining later hears the stored genesis from the running validators. One whose own stake
//! keeps the others below two thirds of the whole (it holds more than a third) adopts what
//! more than two thirds of the *others'* stake vouches for.

use std::collections::BTreeMap;

use platform_types::{Hash, PublicKey, ValidatorSet};

/// The votes for a genesis validator set, counted by the chain stake of who cast them.
#[derive(Debug, Clone)]
pub struct GenesisVotes {
    /// Chain stake of each validator (permit holders with the minimum stake).
    stake: BTreeMap<PublicKey, u128>,
    total: u128,
    me: PublicKey,
    /// Each voter's set, by hash.
    votes: BTreeMap<PublicKey, Hash>,
    sets: BTreeMap<Hash, ValidatorSet>,
}

impl GenesisVotes {
    /// Counting starts with this validator's own vote for `candidate` (what it derives from
    /// the metagraph); `chain` is the validator set the metagraph gives now, whose stakes weigh
    /// every vote.
    pub fn new(chain: &ValidatorSet, me: PublicKey, candidate: ValidatorSet) -> Self {
        let stake: BTreeMap<PublicKey, u128> =
            chain.validators.iter().map(|v| (v.hotkey, u128::from(v.stake))).collect();
        let total = stake.values().sum();
        let mut votes = GenesisVotes { stake, total, me, votes: BTreeMap::new(), sets: BTreeMap::new() };
        votes.vote(me, candidate);
        votes
    }

    /// Records `voter`'s answer (its stored genesis, or its candidate); a later answer from the
    /// same voter replaces the earlier one. Votes of hotkeys without chain stake count nothing.
    pub fn vote(&mut self, voter: PublicKey, set: ValidatorSet) {
        let hash = set.hash();
        self.sets.entry(hash).or_insert(set);
        self.votes.insert(voter, hash);
    }

    /// The set to adopt, once decided: vouched for by more than two thirds of the chain stake
    /// with at least one other validator among them (this validator's vote alone never
    /// decides), or by more than two thirds of the other validators' stake. A validator alone
    /// on the chain adopts its own candidate.
    pub fn decided(&self) -> Option<&ValidatorSet> {
        let mine = self.stake.get(&self.me).copied().unwrap_or(0);
        let others_total = self.total - mine;
        if others_total == 0 {
            return self.votes.get(&self.me).and_then(|hash| self.sets.get(hash));
        }
        let mut tally: BTreeMap<Hash, (u128, u128)> = BTreeMap::new();
        for (voter, hash) in &self.votes {
            let stake = self.stake.get(voter).copied().unwrap_or(0);
            let (all, others) = tally.entry(*hash).or_default();
            *all += stake;
            if *voter != self.me {
                *others += stake;
            }
        }
        let (hash, _) = tally
            .into_iter()
            .find(|(_, (all, others))| (*others > 0 && all * 3 > self.total * 2) || others * 3 > others_total * 2)?;
        self.sets.get(&hash)
    }

    /// The share of the chain stake (in parts per thousand) behind the best-supported set, for
    /// progress logs.
    pub fn best_share_permille(&self) -> u128 {
        let mut tally: BTreeMap<Hash, u128> = BTreeMap::new();
        for (voter, hash) in &self.votes {
            *tally.entry(*hash).or_default() += self.stake.get(voter).copied().unwrap_or(0);
        }
        tally.values().max().copied().unwrap_or(0) * 1000 / self.total.max(1)
    }
}

#[cfg(test)]
mod tests {
    use platform_types::{Epoch, Keypair, Uid, Validator};

    use super::*;

    fn keys(n: usize) -> Vec<PublicKey> {
        (0..n).map(|i| Keypair::from_suri(&format!("//G{i}")).expect("key").public()).collect()
    }

    fn set(members: &[PublicKey], stake: u64) -> ValidatorSet {
        ValidatorSet {
            epoch: Epoch::new(0),
            validators: members
                .iter()
                .enumerate()
                .map(|(i, k)| Validator { hotkey: *k, uid: Uid::new(i as u16), stake })
                .collect(),
        }
    }

    /// Hole: one peer's answer was adopted (and persisted) whatever it said.
    #[test]
    fn one_lying_peer_cannot_make_a_validator_adopt_its_genesis() {
        let k = keys(4);
        let chain = set(&k, 100);
        let forged = set(&k[3..], 100);
        let mut votes = GenesisVotes::new(&chain, k[0], chain.clone());
        votes.vote(k[3], forged.clone());
        assert_eq!(votes.decided(), None, "a quarter of the stake decides nothing");
        votes.vote(k[1], chain.clone());
        assert_eq!(votes.decided(), None, "half of the stake decides nothing");
        votes.vote(k[2], chain.clone());
        assert_eq!(votes.decided(), Some(&chain), "three quarters agree");
    }

    #[test]
    fn a_validator_joining_later_adopts_the_stored_genesis_of_the_running_ones() {
        let k = keys(5);
        let genesis = set(&k[..4], 100);
        let chain_now = set(&k, 100);
        let mut votes = GenesisVotes::new(&chain_now, k[4], chain_now.clone());
        for voter in &k[..2] {
            votes.vote(*voter, genesis.clone());
            assert_eq!(votes.decided(), None);
        }
        votes.vote(k[2], genesis.clone());
        assert_eq!(votes.decided(), Some(&genesis), "three quarters of the others' stake vouch for it");
    }

    #[test]
    fn a_validator_with_a_large_stake_follows_the_others() {
        let k = keys(4);
        let mut chain = set(&k, 100);
        chain.validators[3].stake = 1_000;
        let genesis = set(&k[..3], 100);
        let mut votes = GenesisVotes::new(&chain, k[3], chain.clone());
        assert_eq!(votes.decided(), None, "its own vote alone never decides, whatever its stake");
        votes.vote(k[0], genesis.clone());
        votes.vote(k[1], genesis.clone());
        assert_eq!(votes.decided(), None, "two thirds of the others is not more than two thirds");
        votes.vote(k[2], genesis.clone());
        assert_eq!(votes.decided(), Some(&genesis));
    }

    #[test]
    fn votes_of_hotkeys_without_chain_stake_count_nothing() {
        let k = keys(6);
        let chain = set(&k[..3], 100);
        let forged = set(&k[3..], 100);
        let mut votes = GenesisVotes::new(&chain, k[0], chain.clone());
        for outsider in &k[3..] {
            votes.vote(*outsider, forged.clone());
        }
        assert_eq!(votes.decided(), None);
        assert_eq!(votes.best_share_permille(), 333);
    }

    #[test]
    fn a_lone_validator_adopts_its_own_candidate() {
        let k = keys(1);
        let chain = set(&k, 100);
        assert_eq!(GenesisVotes::new(&chain, k[0], chain.clone()).decided(), Some(&chain));
    }
}
