//! What a simulated run is asked to play ([`Scenario`]) and what it gives back: the
//! [`Outcome`] of a run that kept every promise, or the first [`Violation`].

use std::time::Duration;

use platform_types::Hash;

use super::Behaviour;

/// One simulated run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Validators, equal stake each.
    pub validators: usize,
    /// How many of them misbehave: validators `seed`, `seed + 1`, ... (modulo the count), so
    /// that across seeds each seat, and so each leader turn, is played by a Byzantine one.
    pub byzantine: usize,
    /// What they do.
    pub behaviour: Behaviour,
    /// Seeds the message delays.
    pub seed: u64,
    /// Epochs whose weights every honest validator must set.
    pub epochs: usize,
    /// Whether the network is cut twice, the cut moving: for 800 ms after the pipeline is set up
    /// one validator is cut off from the others, then for 800 ms two others from the rest
    /// (validators chosen by the seed), once any restarted validator is back. Nothing need
    /// progress while more than a third of the stake is cut off or faulty; everything must once
    /// the cut heals.
    pub partitions: bool,
    /// Whether an honest validator crashes once the running ones reach height 3 and starts
    /// again from its store once they reach height 6 (or after two seconds), catching up by
    /// sync (at once when the Byzantine ones are silent).
    pub restart: bool,
    /// Of every thousand gossip messages, how many the links lose (each drawn per receiver).
    pub loss_permille: u32,
    /// Whether the chain's validators change at chain block [`SET_CHANGE_BLOCK`] (in force from
    /// the next epoch): an honest validator loses its permit and stake, another's stake triples,
    /// and a newcomer — registered from the start without a permit, its validator following the
    /// blocks — becomes a validator. The one that left must still follow the blocks; the
    /// newcomer must vote and set the weights with the others.
    pub set_change: bool,
    /// Whether the chain keeps the subnet's epoch index itself (dynamic tempo, as mainnet
    /// subnets do: the validators read each block's epoch instead of computing it from the
    /// tempo) and the tempo shortens from 9 to [`TEMPO_AFTER`] blocks at chain block
    /// [`TEMPO_CHANGE_BLOCK`], so that epochs come faster mid-run. Weights must still be set
    /// for every epoch asked.
    pub tempo_change: bool,
}

/// The chain block at which [`Scenario::tempo_change`] shortens the tempo (in the second epoch).
pub const TEMPO_CHANGE_BLOCK: u64 = 15;

/// The tempo from [`TEMPO_CHANGE_BLOCK`] on, in chain blocks.
pub const TEMPO_AFTER: u16 = 4;

/// The chain block at which [`Scenario::set_change`] changes the metagraph (the first epoch
/// ends at chain block 10).
pub const SET_CHANGE_BLOCK: u64 = 5;

/// `base` after [`Scenario::set_change`]: the validator of uid `leaver` without permit or stake,
/// `grower`'s stake tripled, and `newcomer` (a registered neuron) a validator with the stake
/// the validators started with.
pub(super) fn set_changed(
    base: &platform_types::Metagraph,
    leaver: Option<usize>,
    grower: usize,
    newcomer: Option<platform_types::PublicKey>,
) -> platform_types::Metagraph {
    let mut changed = base.clone();
    let stake = changed.neurons[grower].stake;
    for neuron in &mut changed.neurons {
        if Some(neuron.uid.get() as usize) == leaver {
            neuron.validator_permit = false;
            neuron.stake = 0;
        } else if neuron.uid.get() as usize == grower {
            neuron.stake *= 3;
        } else if Some(neuron.hotkey) == newcomer {
            neuron.validator_permit = true;
            neuron.stake = stake;
        }
    }
    changed
}

/// What a run that kept every promise did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Committed height of each validator.
    pub heights: Vec<u64>,
    /// blake2b-256 over what the honest validators agreed, block by block (height, epoch,
    /// chain link, proposer, and each action with a signed envelope named by its payload's
    /// hash) and the weights they set: equal for equal runs. Block hashes and state roots are
    /// left out: they cover signatures, and sr25519 signatures are randomised.
    pub digest: Hash,
    /// Virtual time the run took.
    pub elapsed: Duration,
    /// Messages the Byzantine validators sent other than as their cores published them (0:
    /// their behaviour never came into play, e.g. a bad leader never led a height with weights).
    pub forged: u64,
    /// Inputs handed to the validators' cores (messages, timers, chain heads, answers).
    pub messages: u64,
}

/// A promise a run broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The honest validators did not set weights for every epoch asked in time.
    #[error("liveness: {0}")]
    Liveness(Stuck),
    /// Two honest validators hold different blocks at a height.
    #[error("agreement: validators {0} and {1} differ at height {2}")]
    Agreement(usize, usize, u64),
    /// A block with a jumped epoch was committed.
    #[error("validity: height {0} commits epoch {1}, ahead of the chain")]
    Validity(u64, u64),
    /// A committed action fails the rules when the blocks are applied again from genesis (an
    /// unknown body, a sudo action not the owner's or replayed, ...).
    #[error("validity: action {1} of height {0} fails the rules: {2}")]
    InvalidAction(u64, usize, String),
    /// A submission was committed twice (at the two heights): evaluated and counted twice.
    #[error("validity: submission {0} committed at height {1} and again at {2}")]
    OrderedTwice(String, u64, u64),
    /// Two honest validators asked the chain to set different weights for one epoch.
    #[error("weights: validators {0} and {1} differ in their weights number {2}")]
    Weights(usize, usize, usize),
    /// A validator's state restarted from its newest stored snapshot is not the state it holds
    /// (or it stored no snapshot though it passed a snapshot height).
    #[error("restore: validator {0} restarted from its snapshots holds another state: {1}")]
    Restore(usize, String),
    /// A submission a hostile client sent, which every validator must refuse, was ordered (its
    /// id, what it was, the height).
    #[error("validity: the hostile client's submission {0} ({1}) was ordered at height {2}")]
    ClientAdmitted(String, &'static str, u64),
    /// A submission an honest validator was to acknowledge just before it crashed was not
    /// acknowledged, or was never ordered (id, validator, what happened).
    #[error("durability: submission {0} given to validator {1} just before its crash: {2}")]
    Lost(String, usize, String),
    /// An honest validator's committed verdict on the malformed answer is not a rejection.
    #[error("validity: honest validator {0} scored the malformed answer (committed at height {1})")]
    MalformedScored(String, u64),
    /// An honest validator holds more than a bounded queue allows (which, how much).
    #[error("bounds: validator {0} holds {1}")]
    Unbounded(usize, String),
    /// The public audit found an honest validator's verdicts differing from the sandbox's.
    #[error("audit: honest validator {0} named for verdicts the sandbox does not give")]
    Blamed(String),
    /// An honest validator joining from an empty store adopted no genesis validator set, or
    /// one that is not the network's.
    #[error("genesis: validator {0} joining: {1}")]
    Genesis(usize, String),
}

/// Heights, virtual time and inputs when a run gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stuck at heights {heights:?} after {elapsed:?} of virtual time and {inputs} inputs")]
pub struct Stuck {
    /// Committed height of each validator.
    pub heights: Vec<u64>,
    /// Virtual time run.
    pub elapsed: Duration,
    /// Inputs handed to the validators' cores by then.
    pub inputs: u64,
}
