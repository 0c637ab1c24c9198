//! What the network exposes besides its [`Client`](crate::Client): the [`Peer`]s and
//! [`MessageId`]s it names, the [`Event`]s it reports, its [`P2pError`]s and the [`Provider`]
//! of what this node serves.

use libp2p::PeerId;
use libp2p::gossipsub;
use libp2p::identity::Keypair as NodeKey;
use platform_types::{Hash, PublicKey};

use crate::config::Topic;

/// What this node serves to peers: blobs by hash and answers to catch-up sync requests.
/// Called from the event loop, so implementations must be quick (a storage read).
pub trait Provider: Send + Sync + 'static {
    /// The blob with this blake2b-256 hash, if held.
    fn blob(&self, hash: &Hash) -> Option<Vec<u8>>;
    /// The answer to a sync request from a validator (the request's format is the node's).
    fn sync(&self, request: &[u8]) -> Vec<u8>;
}

/// A provider that holds nothing.
pub struct NoProvider;

impl Provider for NoProvider {
    fn blob(&self, _: &Hash) -> Option<Vec<u8>> {
        None
    }

    fn sync(&self, _: &[u8]) -> Vec<u8> {
        Vec::new()
    }
}

/// A peer's identity on the network (its libp2p peer id), printable and comparable.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer(pub(crate) PeerId);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Peer({})", self.0)
    }
}

impl Peer {
    /// The peer id of a node whose identity seed is `node_secret` (as given to [`new`](crate::new)).
    pub fn from_secret(node_secret: [u8; 32]) -> Result<Peer, P2pError> {
        Ok(Peer(node_key(node_secret)?.public().to_peer_id()))
    }

    /// The peer id's bytes (what a peer binding signs).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
}

/// The libp2p identity of a node whose identity seed is `node_secret`.
pub(crate) fn node_key(node_secret: [u8; 32]) -> Result<NodeKey, P2pError> {
    let mut seed = node_secret;
    NodeKey::ed25519_from_bytes(&mut seed).map_err(|e| P2pError::Setup(e.to_string()))
}

/// Identifies a received gossip message until its verdict is reported.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MessageId(pub(crate) gossipsub::MessageId);

impl MessageId {
    /// An id made outside a network: a simulator delivering messages between nodes itself
    /// names each with it. Reporting a verdict on it to a real network does nothing.
    pub fn from_bytes(id: &[u8]) -> Self {
        MessageId(gossipsub::MessageId::new(id))
    }
}

/// What the network tells the application.
#[derive(Debug, Clone)]
pub enum Event {
    /// A gossip message awaiting the application's [`Verdict`](crate::Verdict) (report it with
    /// [`Client::report`](crate::Client::report); until then it is not forwarded).
    Message {
        /// Its id, for the report.
        id: MessageId,
        /// The topic.
        topic: Topic,
        /// The peer that authored it.
        author: Peer,
        /// The hotkey the author is bound to, when known.
        author_hotkey: Option<PublicKey>,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A peer proved which hotkey it belongs to.
    PeerBound {
        /// The peer.
        peer: Peer,
        /// Its hotkey.
        hotkey: PublicKey,
    },
    /// A peer was banned for invalid messages.
    PeerBanned {
        /// The peer.
        peer: Peer,
    },
}

/// Why a network operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum P2pError {
    /// A configured address does not parse.
    #[error("invalid address {address}: {reason}")]
    Address {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The transport could not be built or could not listen.
    #[error("network setup failed: {0}")]
    Setup(String),
    /// Publishing failed (no peers on the topic yet, message too large, duplicate).
    #[error("publish failed: {0}")]
    Publish(String),
    /// No provider served the blob with the right bytes.
    #[error("blob {0} not found on the network")]
    BlobNotFound(Hash),
    /// A request to a peer failed.
    #[error("request failed: {0}")]
    Request(String),
    /// The event loop has stopped.
    #[error("the network event loop has stopped")]
    Stopped,
    /// The command queue is full (a `try_` call, which never waits).
    #[error("the network's command queue is full")]
    Busy,
}
