//! A deterministic simulation of many validators in one process.
//!
//! Virtual time, a seeded RNG and ordered maps only: the same [`Scenario`] and seed give the same
//! run, checked by a trace digest over every delivered message (payloads, not signatures, which
//! are randomised) and every commit. Links have latency, jitter and loss; partitions change
//! mid-run; nodes crash and restart from their persisted store (safety record and committed
//! blocks). Byzantine behaviours live in [`byzantine`], one per file.
//!
//! After every run [`Report::violations`] lists any breach of:
//! - **agreement**: two honest nodes committed different blocks at one height;
//! - **validity**: a committed block does not extend the previous one, or was not proposed by
//!   the leader of some view of its height;
//! - **progress**: after the network healed, some honest node did not reach the target height.

pub mod byzantine;
mod network;
mod node;
mod run;
mod scenario;

pub use byzantine::Behaviour;
pub use network::LinkConfig;
pub use run::run;
pub use scenario::{Report, Scenario};
