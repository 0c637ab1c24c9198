//! Platform's peer-to-peer layer: a libp2p swarm (TCP + Noise + Yamux, identify, ping,
//! gossipsub, Kademlia, request-response) behind a cloneable [`Client`] and an [`EventLoop`]
//! that owns it. The rest of the node sees bytes, [`Peer`]s and hotkeys, never libp2p types.
//!
//! - Gossip per subnet on [`Topic`]s; every message waits for the application's [`Verdict`]
//!   before it is forwarded, and the verdict feeds gossipsub and the [`PeerGuard`].
//! - A validator binds its peer id to its hotkey with a signed `PeerBinding`, exchanged on
//!   connection and re-announced on gossip; validator-only topics accept only peers bound to a
//!   hotkey of the current validator set.
//! - [`PeerGuard`]: per-peer message rate, per-IP connection limit, blacklist after repeated
//!   invalid messages, with counters for metrics.
//!
//! Every channel and queue is bounded.

mod api;
mod client;
mod codec;
mod config;
mod guard;
mod network;
mod redial;

pub use api::{Event, MessageId, NoProvider, P2pError, Peer, Provider};
pub use client::Client;
pub use config::{P2pConfig, Topic};
pub use guard::{Admission, GuardCounters, GuardLimits, PeerGuard, Verdict};
pub use network::{EventLoop, new};
