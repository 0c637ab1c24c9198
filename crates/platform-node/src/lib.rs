//! The validator pipeline, composed from Platform's library crates.
//!
//! A submission arrives (HTTP or gossip), is checked ([`core`]'s admission: signature,
//! registration, active challenge, size, rate) and waits in the [`mempool`]. The consensus
//! leader orders it into a block; after commit every validator evaluates it in the sandbox
//! ([`evaluator`]), signs the result and gossips it; the next blocks order those evaluations.
//! The application state (`platform-app`) is a pure function of the committed blocks, so at
//! each epoch boundary of the chain every validator computes the same weights and the leader's
//! proposal is checked exactly; after commit each validator submits them to the chain.
//!
//! [`start`] wires it together: storage under `data/`, the libp2p network, the chain follower,
//! the event loop and the HTTP API ([`http`]).

mod admission;
pub mod audit;
mod chain_client;
mod chain_follow;
pub mod config;
mod core;
mod effects;
mod epoch_answers;
mod evaluation_ingress;
pub mod evaluation_pool;
mod evaluation_run;
mod evaluations;
pub mod evaluator;
mod event_loop;
mod handle;
pub mod history;
mod http;
mod inputs;
mod json;
mod mailbox;
pub mod mempool;
pub mod metrics;
mod node;
mod ordering;
pub mod outbox;
mod proposals;
mod pruning;
pub mod records;
mod recovery;
mod rejoin;
mod running;
pub mod sim;
mod snapshots;
pub mod soak;
mod state_sync;
mod sync_client;
mod tasks;
mod ui;
pub mod verdicts;
pub mod verifier;
mod view;
mod writer;

pub use config::{ConfigError, Fault, LogFormat, NodeConfig, Settings};
pub use core::{Query, Rejection, node_version};
pub use node::start;
pub use running::RunningNode;
