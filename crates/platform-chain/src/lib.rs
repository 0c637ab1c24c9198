//! Bittensor chain client for Platform: metagraph, blocks, tempo and weights over subxt.
//!
//! - [`Chain`] is what the node asks of the chain; [`SubxtChain`] implements it over subxt's
//!   dynamic API, so one binary works against runtimes of different versions: the calls and
//!   storage items used are chosen from the connected runtime's metadata ([`Capabilities`]).
//! - [`WeightSetter`] sends a weight vector as the subnet requires (`set_weights`, or commit then
//!   reveal), persisting pending commits so that a restarted node still reveals them.
//! - [`commit_hash`] and [`Schedule`] (from `platform-types`) are the runtime's own arithmetic,
//!   pure and tested.
//!
//! Only this crate sees subxt types.

mod calls;
mod chain;
mod client;
mod commit;
mod dispatch;
mod error;
mod failover;
mod local;
mod path;
mod sender;
mod setter;
mod signer;
#[cfg(feature = "test-double")]
mod test_double;
pub mod tlock;
mod types;

pub use calls::{Capabilities, ChainMetadata, WeightsCall};
pub use chain::{BlockStream, Chain};
pub use client::{ConnectOptions, SubxtChain};
pub use commit::{commit_hash, netuid_index};
pub use error::{ChainError, RevealRefusal};
pub use failover::{FailoverChain, FailoverOptions, parse_endpoints};
pub use local::{ALICE, LocalChain, LocalChainConfig, MAX_REGISTRATIONS, install_chopsticks};
pub use path::{
    DEFAULT_BLOCK_TIME_SECS, PathChoice, WeightsContext, WeightsPath, choose_path, path_at, timelocked_call,
};
pub use platform_types::{BlockRef, Metagraph, Neuron, Schedule, SubnetParams};
pub use sender::{MAX_UNREVEALED_COMMITS, SenderState, check_sender, commit_epoch, next_allowed_block};
pub use setter::{PendingCommit, RevealOutcome, Submitted, WeightSetter, unix_now_secs};
#[cfg(feature = "test-double")]
pub use test_double::{TestChain, test_block};
pub use types::{Head, Inclusion, WeightVector};
