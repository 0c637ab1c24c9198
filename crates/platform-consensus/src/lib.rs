//! Stake-weighted PBFT for Platform as a pure (sans-IO) state machine, with a deterministic
//! Byzantine simulator.
//!
//! [`Consensus::handle`] takes an [`Input`] (a message, a timeout, an application answer) and
//! returns [`Output`]s (messages to broadcast, timers, blocks to commit). It reads no clock and
//! does no I/O except writing its safety record through the [`platform_storage::Store`] trait
//! before any signature leaves ([`SafetyRules`]). Quorums are strictly more than two thirds of
//! the stake ([`Committee`]); leaders rotate in stake order.
//!
//! [`simulation`] runs many validators in one process with virtual time, lossy links,
//! partitions, crashes and Byzantine behaviours, and checks agreement, validity and progress.

mod certificates;
mod committee;
mod io;
mod machine;
mod safety;
pub mod simulation;
mod votes;

pub use certificates::{highest_prepared, verify_certificate, verify_checkpoint, verify_new_view, verify_prepared};
pub use committee::Committee;
pub use io::{Input, Misbehaviour, Output, PeerTag};
pub use machine::{Config, Consensus};
pub use platform_types::Tip;
pub use safety::{SafetyData, SafetyError, SafetyRules};
