//! What the audit reports: per epoch, the committed weights against the recomputed ones and
//! against each validator's on chain; the evaluations run again against the committed
//! verdicts; and the blocks that broke a rule.

use std::collections::BTreeMap;

use platform_types::{BlockRef, Metagraph, NetUid, PublicKey};
use serde::Serialize;

/// What the audit checks besides the blocks themselves.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// The subnet (signatures and certificates name it).
    pub netuid: NetUid,
    /// Keys allowed to sign sudo actions; empty: the owner's hotkeys and coldkeys in the
    /// metagraph snapshots the replayed blocks commit (validators read the owner from the chain).
    pub sudo: Vec<PublicKey>,
    /// Minimum stake weight, in rao, of a validator (as the validators were configured).
    pub min_stake_rao: u64,
    /// Blocks between snapshots: the protocol's [`platform_app::SNAPSHOT_INTERVAL`] (state
    /// roots differ at snapshot heights, so the replay must take the network's).
    pub snapshot_interval: u64,
    /// Evaluate one committed submission in `sample` again (1: all; 0: none). An epoch of a
    /// challenge that scores epochs is scored again whole when any of its answers is sampled.
    pub sample: u64,
}

/// How a recomputed weight vector compares with another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Agreement {
    /// Identical.
    Agreed,
    /// Different; the first uid whose weight differs (or that only one of them has).
    Differs {
        /// That uid, when there is one (else the vectors differ in length only).
        first_uid: Option<u16>,
    },
    /// Nothing to compare with: not (yet) set, or the chain no longer serves that block.
    NotOnChain {
        /// Why.
        reason: String,
    },
}

/// What one validator's hotkey had on chain for an epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnChain {
    /// The validator's hotkey (SS58).
    pub validator: String,
    /// Its uid in the epoch's metagraph.
    pub uid: Option<u16>,
    /// The chain block read.
    pub read_at: Option<u64>,
    /// Its weights against the recomputed vector.
    #[serde(flatten)]
    pub agreement: Agreement,
}

/// One epoch's weights.
#[derive(Clone, Debug, Serialize)]
pub struct EpochAudit {
    /// The epoch.
    pub epoch: u64,
    /// The block that committed its weights.
    pub height: u64,
    /// The committed vector against the one recomputed from the committed evaluations.
    pub recomputed: Agreement,
    /// Per validator of the epoch, its weights on chain (filled by [`compare_with_chain`]).
    pub on_chain: Vec<OnChain>,
    /// Mechanism 0's vector as `(uid, weight)` pairs, what a validator sets on chain.
    #[serde(skip)]
    pub weights: Vec<(u16, u16)>,
    /// The metagraph the weights were computed from (uids of the validators).
    #[serde(skip)]
    pub(super) metagraph: Option<Metagraph>,
    /// The chain block the committing block links to, and whether the subnet reveals weights
    /// an epoch (or more) after they are committed.
    #[serde(skip)]
    pub(super) link: BlockRef,
    #[serde(skip)]
    pub(super) reveal_delay: u64,
    /// The validator set in force after the committing block: whose weights are compared.
    #[serde(skip)]
    pub(super) validators: Vec<PublicKey>,
}

/// A committed verdict that differs from the audit's re-run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Differing {
    /// The submission.
    pub submission: String,
    /// The validator whose signed verdict it is.
    pub validator: String,
    /// Its verdict, e.g. "scored 123456789".
    pub committed: String,
    /// The re-run's.
    pub rerun: String,
}

/// The evaluations run again.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EvaluationAudit {
    /// Submissions evaluated again.
    pub rerun: u64,
    /// Committed verdicts equal to the re-run's.
    pub agreed: u64,
    /// Committed verdicts that differ from it.
    pub differing: Vec<Differing>,
    /// Per validator, how many of its verdicts differ.
    pub differing_by_validator: BTreeMap<String, u64>,
    /// Submissions that could not be run again, with why (module or payload not stored).
    pub not_rerun: BTreeMap<String, u64>,
}

/// A block that breaks the rules or is not certified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// Its height.
    pub height: u64,
    /// The action, when one action breaks the rules.
    pub action: Option<usize>,
    /// Why.
    pub reason: String,
}

/// The audit's findings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// "genesis" or "snapshot at height H (its state after block C)".
    pub started_from: String,
    /// First and last block replayed.
    pub first_height: u64,
    /// Last block replayed.
    pub last_height: u64,
    /// Blocks replayed, each with its certificate checked.
    pub blocks: u64,
    /// Blocks that break the rules; the replay stops at the first uncertified block.
    pub broken: Vec<Broken>,
    /// Every epoch whose weights were committed.
    pub epochs: Vec<EpochAudit>,
    /// The evaluations run again.
    pub evaluations: EvaluationAudit,
}

impl Report {
    /// Whether anything differs: a broken or uncertified block, a committed weight vector that
    /// is not the recomputed one, or a validator whose weights on chain differ from it.
    pub fn differs(&self) -> bool {
        !self.broken.is_empty()
            || self.epochs.iter().any(|e| {
                e.recomputed != Agreement::Agreed
                    || e.on_chain.iter().any(|c| matches!(c.agreement, Agreement::Differs { .. }))
            })
    }
}

/// The first uid at which two `(uid, weight)` vectors differ.
pub fn first_difference(a: &[(u16, u16)], b: &[(u16, u16)]) -> Option<Agreement> {
    if a == b {
        return None;
    }
    let first_uid = a.iter().zip(b).find(|(x, y)| x != y).map(|(x, y)| x.0.min(y.0)).or_else(|| {
        let n = a.len().min(b.len());
        a.get(n).or(b.get(n)).map(|x| x.0)
    });
    Some(Agreement::Differs { first_uid })
}
