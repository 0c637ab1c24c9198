//! Network configuration, with the seed's defaults.

use std::time::Duration;

use platform_types::NetUid;

use crate::guard::GuardLimits;

/// How a node joins the network.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// The subnet; topics and signatures are bound to it.
    pub netuid: NetUid,
    /// Addresses to listen on (multiaddr text): TCP, or QUIC with `/udp/<port>/quic-v1`.
    /// Default `/ip4/0.0.0.0/tcp/9000`.
    pub listen: Vec<String>,
    /// Addresses to announce to peers, when different from the listen addresses.
    pub external: Vec<String>,
    /// Peers to dial at start (multiaddrs ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<String>,
    /// Flood protection.
    pub limits: GuardLimits,
    /// Largest gossip message.
    pub max_message_bytes: usize,
    /// Largest request or response frame (peer bindings, blobs).
    pub max_frame_bytes: usize,
    /// Messages awaiting the application's verdict; beyond it the oldest are ignored.
    pub max_pending_validations: usize,
    /// Capacity of the command and event channels.
    pub channel_capacity: usize,
    /// How often the node re-announces its peer binding on the bindings topic.
    pub binding_interval: Duration,
    /// Gossipsub heartbeat.
    pub heartbeat: Duration,
    /// Peers to keep connected; below it, peers found through Kademlia are dialled.
    pub target_peers: usize,
    /// How often a Kademlia bootstrap (random walk) refreshes the routing table.
    pub discovery_interval: Duration,
}

impl P2pConfig {
    /// The defaults for `netuid`.
    pub fn new(netuid: NetUid) -> Self {
        P2pConfig {
            netuid,
            listen: vec!["/ip4/0.0.0.0/tcp/9000".into()],
            external: Vec::new(),
            bootstrap: Vec::new(),
            limits: GuardLimits::default(),
            max_message_bytes: 1024 * 1024,
            max_frame_bytes: 16 * 1024 * 1024,
            max_pending_validations: 16_384,
            channel_capacity: 4096,
            binding_interval: Duration::from_secs(30),
            heartbeat: Duration::from_millis(700),
            target_peers: 16,
            discovery_interval: Duration::from_secs(60),
        }
    }
}

/// A gossip topic of the subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Miners' submissions, relayed by validators (any bound or unbound peer may publish).
    Submissions,
    /// Submissions a validator admitted, relayed to the other validators in batches
    /// (`EnvelopeBatch`; validators only).
    SubmissionBatches,
    /// Validators' signed evaluations, in batches (`EnvelopeBatch`; validators only).
    Evaluations,
    /// Consensus proposals, votes and view changes (validators only).
    Consensus,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 4] = [Topic::Submissions, Topic::SubmissionBatches, Topic::Evaluations, Topic::Consensus];

    /// Whether only peers bound to a current validator's hotkey may publish on it.
    pub fn validator_only(self) -> bool {
        !matches!(self, Topic::Submissions)
    }

    pub(crate) fn name(self, netuid: NetUid) -> String {
        let t = match self {
            Topic::Submissions => "submissions",
            Topic::SubmissionBatches => "submission-batches",
            Topic::Evaluations => "evaluations",
            Topic::Consensus => "consensus",
        };
        format!("/platform/{}/{t}/1", netuid.get())
    }
}

pub(crate) fn bindings_topic(netuid: NetUid) -> String {
    format!("/platform/{}/bindings/1", netuid.get())
}
