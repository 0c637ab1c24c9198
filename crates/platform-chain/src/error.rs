//! Typed chain errors: what the runtime or the node said, in words an operator can act on.

use thiserror::Error;

/// Everything that can go wrong talking to the chain.
///
/// The runtime's own refusals of a weights call have their own variants; any other module error
/// keeps the pallet and error names the runtime's metadata gives it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// The endpoint could not be reached (after the configured retries).
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The endpoint URL.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// An RPC request failed (transport, timeout, node error).
    #[error("chain RPC failed: {0}")]
    Rpc(String),
    /// The connected runtime has no such call or storage item.
    #[error("the connected runtime does not support {0}")]
    Unsupported(String),
    /// A value read from the chain did not have the expected shape.
    #[error("unexpected chain data in {what}: {reason}")]
    Decode {
        /// The storage item or event being read.
        what: String,
        /// Why it could not be read.
        reason: String,
    },
    /// The caller passed something the chain would refuse anyway.
    #[error("invalid weights: {0}")]
    InvalidWeights(String),
    /// `SettingWeightsTooFast` / `CommittingWeightsTooFast`: the weights rate limit has not passed.
    #[error(
        "weights rate limit: wait until {blocks} blocks have passed since this hotkey last set weights{}",
        next_block.map_or(String::new(), |b| format!(" (the chain accepts them from block {b})"))
    )]
    RateLimited {
        /// The subnet's `WeightsSetRateLimit`, when known.
        blocks: u64,
        /// The first block the chain accepts weights from this uid again, when known (read from
        /// `LastUpdate` before sending).
        next_block: Option<u64>,
    },
    /// `TooManyUnrevealedCommits`: the hotkey has as many commits waiting to be revealed as the
    /// chain allows; a commit can be sent once one of them is revealed or expires.
    #[error("this hotkey already has {limit} unrevealed weight commits, the chain's bound; waiting for reveals")]
    TooManyUnrevealed {
        /// The chain's bound ([`crate::MAX_UNREVEALED_COMMITS`]).
        limit: u32,
    },
    /// `IncorrectWeightVersionKey`: the version key is below the subnet's `WeightsVersionKey`.
    #[error("weights version key {sent} is below the subnet's required {required}")]
    VersionKey {
        /// The key sent.
        sent: u64,
        /// The subnet's key, when known.
        required: u64,
    },
    /// `NeuronNoValidatorPermit`: the hotkey has no validator permit on the subnet.
    #[error("hotkey has no validator permit on subnet {netuid}")]
    NoValidatorPermit {
        /// The subnet.
        netuid: u16,
    },
    /// `CommitRevealEnabled`: the subnet requires commit-reveal; plain `set_weights` is refused.
    #[error("subnet {netuid} has commit-reveal enabled: weights must be committed, then revealed")]
    CommitRevealEnabled {
        /// The subnet.
        netuid: u16,
    },
    /// `CommitRevealDisabled`: a commit or reveal on a subnet without commit-reveal.
    #[error("subnet {netuid} has commit-reveal disabled: set weights directly")]
    CommitRevealDisabled {
        /// The subnet.
        netuid: u16,
    },
    /// The hotkey is not registered on the subnet.
    #[error("hotkey {hotkey} is not registered on subnet {netuid}")]
    NotRegistered {
        /// The subnet.
        netuid: u16,
        /// The hotkey's SS58 address.
        hotkey: String,
    },
    /// A reveal outside its window, or a reveal matching no commit.
    #[error("reveal refused: {0}")]
    Reveal(RevealRefusal),
    /// The transaction pool refused the transaction before it reached a block.
    #[error("transaction refused by the node: {0}")]
    TransactionInvalid(String),
    /// Any other runtime module error, named from the metadata.
    #[error("runtime error {pallet}::{error}: {docs}")]
    Module {
        /// Pallet name.
        pallet: String,
        /// Error variant name.
        error: String,
        /// The error's documentation in the metadata (may be empty).
        docs: String,
    },
    /// A non-module dispatch error (bad origin, arithmetic, exhausted, ...).
    #[error("dispatch failed: {0}")]
    Dispatch(String),
    /// A drand-timelocked commit could not be built or opened.
    #[error("timelock: {0}")]
    Timelock(String),
    /// The pending-commit store failed.
    #[error("commit store: {0}")]
    Store(String),
}

impl ChainError {
    /// Whether sending the same weights again later may succeed: the endpoint failed, the pool
    /// refused the transaction for now, the rate limit has not passed, earlier commits are still
    /// waiting to be revealed, or the subnet's
    /// commit-reveal setting changed under the path chosen (it is chosen again).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ChainError::Rpc(_)
                | ChainError::Connect { .. }
                | ChainError::TransactionInvalid(_)
                | ChainError::RateLimited { .. }
                | ChainError::TooManyUnrevealed { .. }
                | ChainError::CommitRevealEnabled { .. }
                | ChainError::CommitRevealDisabled { .. }
        )
    }
}

impl From<platform_storage::StoreError> for ChainError {
    fn from(e: platform_storage::StoreError) -> Self {
        ChainError::Store(e.to_string())
    }
}

/// Why the runtime refused a reveal.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum RevealRefusal {
    /// `RevealTooEarly`: the reveal epoch has not started.
    #[error("too early: the reveal epoch has not started")]
    TooEarly,
    /// `ExpiredWeightCommit`: the reveal epoch is over.
    #[error("the commit expired: its reveal epoch is over")]
    Expired,
    /// `InvalidRevealCommitHashNotMatch`: no commit has this hash.
    #[error("no commit matches these weights and salt")]
    NoMatchingCommit,
    /// `NoWeightsCommitFound`: the hotkey has no pending commit.
    #[error("this hotkey has no pending commit")]
    NoCommit,
}
