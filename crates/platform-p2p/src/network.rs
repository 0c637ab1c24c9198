//! The libp2p swarm behind a [`Client`] / [`EventLoop`] pair.
//!
//! The event loop owns the swarm; the client sends it commands over a bounded channel with
//! oneshot replies; the application receives [`Event`]s over another bounded channel. Gossip
//! messages are held by gossipsub until the application's [`Verdict`] comes back through
//! [`Client::report`]: only accepted messages are forwarded, and the verdict feeds both
//! gossipsub's peer scoring and the [`PeerGuard`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::core::multiaddr::Protocol;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, TopicHash, ValidationMode};
use libp2p::identity::Keypair as NodeKey;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, identify, kad, noise, ping, tcp, yamux};
use platform_types::{Envelope, Hash, Keypair, PeerBinding, PublicKey, blake2b_256};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::codec::BytesCodec;
use crate::config::{P2pConfig, Topic, bindings_topic};
use crate::guard::{Admission, GuardCounters, PeerGuard, Verdict};
use crate::redial::Redial;

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
pub struct Peer(PeerId);

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
    /// The peer id of a node whose identity seed is `node_secret` (as given to [`new`]).
    pub fn from_secret(node_secret: [u8; 32]) -> Result<Peer, P2pError> {
        Ok(Peer(node_key(node_secret)?.public().to_peer_id()))
    }

    /// The peer id's bytes (what a peer binding signs).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
}

/// Identifies a received gossip message until its verdict is reported.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MessageId(gossipsub::MessageId);

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
    /// A gossip message awaiting the application's [`Verdict`] (report it with
    /// [`Client::report`]; until then it is not forwarded).
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

enum Command {
    Publish { topic: Topic, data: Vec<u8>, reply: oneshot::Sender<Result<(), P2pError>> },
    Report { id: MessageId, verdict: Verdict },
    SetValidators { hotkeys: Vec<PublicKey> },
    Dial { address: Multiaddr, reply: oneshot::Sender<Result<(), P2pError>> },
    Peers { reply: oneshot::Sender<Vec<(Peer, Option<PublicKey>)>> },
    Listening { reply: oneshot::Sender<Vec<String>> },
    Counters { reply: oneshot::Sender<GuardCounters> },
    Provide { hash: Hash },
    FetchBlob { hash: Hash, reply: oneshot::Sender<Result<Vec<u8>, P2pError>> },
    Sync { peer: PeerId, request: Vec<u8>, reply: oneshot::Sender<Result<Vec<u8>, P2pError>> },
    Isolate { on: bool, reply: oneshot::Sender<()> },
    Penalise { peer: PeerId },
}

/// The handle the rest of the node uses. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    local: Peer,
}

impl Client {
    /// This node's peer.
    pub fn local_peer(&self) -> Peer {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| P2pError::Stopped)?;
        rx.await.map_err(|_| P2pError::Stopped)
    }

    /// Publishes `data` on `topic`.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), P2pError> {
        self.ask(|reply| Command::Publish { topic, data, reply }).await?
    }

    /// Reports the application's verdict on a received message: `Valid` forwards it,
    /// `Invalid` drops it and penalises the peer that sent it, `Ignored` drops it.
    pub async fn report(&self, id: MessageId, verdict: Verdict) -> Result<(), P2pError> {
        self.commands.send(Command::Report { id, verdict }).await.map_err(|_| P2pError::Stopped)
    }

    /// [`Client::report`] without waiting: when the command queue is full the verdict is
    /// dropped ([`P2pError::Busy`]) and the message stays unvalidated, so gossipsub neither
    /// forwards it nor penalises its sender. For callers that must not wait (an event loop
    /// reporting one verdict per message received, which a flood of messages would otherwise
    /// turn into as many waiting tasks).
    pub fn try_report(&self, id: MessageId, verdict: Verdict) -> Result<(), P2pError> {
        self.try_command(Command::Report { id, verdict })
    }

    /// [`Client::provide`] without waiting: when the command queue is full the announcement
    /// is dropped ([`P2pError::Busy`]); the node announces every blob it holds again at start.
    pub fn try_provide(&self, hash: Hash) -> Result<(), P2pError> {
        self.try_command(Command::Provide { hash })
    }

    fn try_command(&self, command: Command) -> Result<(), P2pError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => P2pError::Busy,
            mpsc::error::TrySendError::Closed(_) => P2pError::Stopped,
        })
    }

    /// Sets the current validator set: the hotkeys whose bound peers may publish on
    /// validator-only topics.
    pub async fn set_validators(&self, hotkeys: Vec<PublicKey>) -> Result<(), P2pError> {
        self.commands.send(Command::SetValidators { hotkeys }).await.map_err(|_| P2pError::Stopped)
    }

    /// Dials a peer by multiaddr.
    pub async fn dial(&self, address: &str) -> Result<(), P2pError> {
        let address = parse_addr(address)?;
        self.ask(|reply| Command::Dial { address, reply }).await?
    }

    /// Connected peers and their hotkeys where bound.
    pub async fn peers(&self) -> Result<Vec<(Peer, Option<PublicKey>)>, P2pError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// The addresses this node listens on, each ending in `/p2p/<peer id>`.
    pub async fn listen_addresses(&self) -> Result<Vec<String>, P2pError> {
        self.ask(|reply| Command::Listening { reply }).await
    }

    /// Announces on the DHT that this node provides the blob `hash` (served through the
    /// [`Provider`]).
    pub async fn provide(&self, hash: Hash) -> Result<(), P2pError> {
        self.commands.send(Command::Provide { hash }).await.map_err(|_| P2pError::Stopped)
    }

    /// Finds providers of `hash` on the DHT and fetches the blob from them, one at a time,
    /// until one serves bytes that hash to `hash`; a provider serving other bytes is penalised.
    pub async fn fetch_blob(&self, hash: Hash) -> Result<Vec<u8>, P2pError> {
        self.ask(|reply| Command::FetchBlob { hash, reply }).await?
    }

    /// Sends a catch-up sync request to `peer` (which answers only bound validators).
    pub async fn request_sync(&self, peer: Peer, request: Vec<u8>) -> Result<Vec<u8>, P2pError> {
        self.ask(|reply| Command::Sync { peer: peer.0, request, reply }).await?
    }

    /// Penalises `peer` as for an invalid message: it answered a request with data that failed
    /// its check (a snapshot chunk that does not hash to its manifest's entry, say). Enough of
    /// these ban it, like invalid gossip.
    pub async fn penalise(&self, peer: Peer) -> Result<(), P2pError> {
        self.commands.send(Command::Penalise { peer: peer.0 }).await.map_err(|_| P2pError::Stopped)
    }

    /// Flood-protection counters.
    pub async fn counters(&self) -> Result<GuardCounters, P2pError> {
        self.ask(|reply| Command::Counters { reply }).await
    }

    /// Cuts this node off the network (`true`): every connection is closed and every new one,
    /// inbound or outbound, is closed as soon as it is established, until called with `false`;
    /// the node then redials its bootstrap peers. For operators taking a node off the network
    /// without stopping it, and for partition tests.
    pub async fn set_isolated(&self, on: bool) -> Result<(), P2pError> {
        self.ask(|reply| Command::Isolate { on, reply }).await
    }
}

fn parse_addr(address: &str) -> Result<Multiaddr, P2pError> {
    address.parse().map_err(|e: libp2p::multiaddr::Error| P2pError::Address {
        address: address.to_string(),
        reason: e.to_string(),
    })
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    gossipsub: gossipsub::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    bind: request_response::Behaviour<BytesCodec>,
    blob: request_response::Behaviour<BytesCodec>,
    sync: request_response::Behaviour<BytesCodec>,
}

/// One blob being fetched.
struct Fetch {
    hash: Hash,
    reply: oneshot::Sender<Result<Vec<u8>, P2pError>>,
    candidates: VecDeque<PeerId>,
    tried: HashSet<PeerId>,
    query_done: bool,
    in_flight: bool,
}

/// Owns the swarm; run it with [`EventLoop::run`].
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    config: P2pConfig,
    hotkey: Option<Keypair>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    guard: PeerGuard<PeerId, IpAddr>,
    topics: HashMap<TopicHash, Topic>,
    bindings_topic: TopicHash,
    bindings: HashMap<PeerId, PublicKey>,
    validators: HashSet<PublicKey>,
    pending: HashMap<gossipsub::MessageId, PeerId>,
    pending_order: VecDeque<gossipsub::MessageId>,
    inbound_ips: HashMap<ConnectionId, IpAddr>,
    banned: HashSet<PeerId>,
    provider: Arc<dyn Provider>,
    bootstrap: Vec<Multiaddr>,
    redial: Redial,
    isolated: bool,
    fetches: HashMap<u64, Fetch>,
    next_fetch: u64,
    fetch_by_query: HashMap<kad::QueryId, u64>,
    fetch_by_request: HashMap<request_response::OutboundRequestId, u64>,
    syncs: HashMap<request_response::OutboundRequestId, oneshot::Sender<Result<Vec<u8>, P2pError>>>,
}

/// Builds the network: a client, the application's event receiver, and the loop to spawn.
fn node_key(node_secret: [u8; 32]) -> Result<NodeKey, P2pError> {
    let mut seed = node_secret;
    NodeKey::ed25519_from_bytes(&mut seed).map_err(|e| P2pError::Setup(e.to_string()))
}

/// `node_secret` is the node's ed25519 identity seed (its peer id follows from it); `hotkey`,
/// when given, is bound to that peer id so validator-only topics accept this node; `provider`
/// serves blobs and sync requests.
pub fn new(
    config: P2pConfig,
    node_secret: [u8; 32],
    hotkey: Option<Keypair>,
    provider: Arc<dyn Provider>,
) -> Result<(Client, mpsc::Receiver<Event>, EventLoop), P2pError> {
    let key = node_key(node_secret)?;
    let local = key.public().to_peer_id();
    let setup = |e: &dyn std::fmt::Display| P2pError::Setup(e.to_string());

    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .heartbeat_interval(config.heartbeat)
        .max_transmit_size(config.max_message_bytes)
        .message_id_fn(|m: &gossipsub::Message| gossipsub::MessageId::from(blake2b_256(&m.data).as_bytes().to_vec()))
        .build()
        .map_err(|e| setup(&e))?;
    let frame = config.max_frame_bytes;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_quic()
        .with_behaviour(|key| {
            let peer = key.public().to_peer_id();
            let mut kad_config = kad::Config::new(StreamProtocol::new("/platform/kad/1"));
            kad_config.set_query_timeout(Duration::from_secs(30));
            Ok(Behaviour {
                blocked: allow_block_list::Behaviour::default(),
                identify: identify::Behaviour::new(identify::Config::new("/platform/1".into(), key.public())),
                ping: ping::Behaviour::default(),
                gossipsub: gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)?,
                kad: kad::Behaviour::with_config(peer, kad::store::MemoryStore::new(peer), kad_config),
                bind: request_response(frame, "/platform/bind/1"),
                blob: request_response(frame, "/platform/blob/1"),
                sync: request_response(frame, "/platform/sync/1"),
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    swarm.behaviour_mut().kad.set_mode(Some(kad::Mode::Server));

    let mut topics = HashMap::new();
    for topic in Topic::ALL {
        let t = IdentTopic::new(topic.name(config.netuid));
        swarm.behaviour_mut().gossipsub.subscribe(&t).map_err(|e| setup(&e))?;
        topics.insert(t.hash(), topic);
    }
    let bindings = IdentTopic::new(bindings_topic(config.netuid));
    swarm.behaviour_mut().gossipsub.subscribe(&bindings).map_err(|e| setup(&e))?;
    // Peer scoring: rejected messages (invalid deliveries) lower the sender's score, so that
    // gossipsub stops gossiping to and then graylists it even before the guard's ban. Quiet
    // topics must not count against honest peers (no mesh-delivery deficit penalty), and the
    // per-IP limit is the guard's, not gossipsub's colocation factor.
    let mut score = gossipsub::PeerScoreParams { ip_colocation_factor_weight: 0.0, ..Default::default() };
    for hash in topics.keys().cloned().chain([bindings.hash()]) {
        let params = gossipsub::TopicScoreParams {
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            ..Default::default()
        };
        score.topics.insert(hash, params);
    }
    swarm
        .behaviour_mut()
        .gossipsub
        .with_peer_score(score, gossipsub::PeerScoreThresholds::default())
        .map_err(P2pError::Setup)?;
    for address in &config.listen {
        swarm.listen_on(parse_addr(address)?).map_err(|e| setup(&e))?;
    }
    for address in &config.external {
        swarm.add_external_address(parse_addr(address)?);
    }
    // Dialled by the first tick of the event loop, and again whenever the node is alone.
    let mut bootstrap = Vec::with_capacity(config.bootstrap.len());
    for address in &config.bootstrap {
        let addr = parse_addr(address)?;
        if let Some(Protocol::P2p(peer)) = addr.iter().last() {
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
        bootstrap.push(addr);
    }

    let (command_tx, command_rx) = mpsc::channel(config.channel_capacity);
    let (event_tx, event_rx) = mpsc::channel(config.channel_capacity);
    let event_loop = EventLoop {
        swarm,
        guard: PeerGuard::new(config.limits),
        config,
        hotkey,
        commands: command_rx,
        events: event_tx,
        topics,
        bindings_topic: bindings.hash(),
        bindings: HashMap::new(),
        validators: HashSet::new(),
        pending: HashMap::new(),
        pending_order: VecDeque::new(),
        inbound_ips: HashMap::new(),
        banned: HashSet::new(),
        provider,
        bootstrap,
        redial: Redial::default(),
        isolated: false,
        fetches: HashMap::new(),
        next_fetch: 0,
        fetch_by_query: HashMap::new(),
        fetch_by_request: HashMap::new(),
        syncs: HashMap::new(),
    };
    Ok((Client { commands: command_tx, local: Peer(local) }, event_rx, event_loop))
}

fn request_response(max: usize, protocol: &'static str) -> request_response::Behaviour<BytesCodec> {
    request_response::Behaviour::with_codec(
        BytesCodec { max },
        [(StreamProtocol::new(protocol), ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
    )
}

fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl EventLoop {
    /// Runs until every [`Client`] is dropped.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut announce = tokio::time::interval(self.config.binding_interval);
        let mut discover = tokio::time::interval(self.config.discovery_interval);
        loop {
            tokio::select! {
                // Local work first: commands from the node.
                biased;
                command = self.commands.recv() => match command {
                    Some(c) => self.handle_command(c),
                    None => return,
                },
                event = self.swarm.select_next_some() => self.handle_swarm(event),
                _ = announce.tick() => self.announce_binding(),
                _ = tick.tick() => {
                    self.lift_expired_bans();
                    self.redial_if_alone();
                }
                _ = discover.tick() => if !self.isolated {
                    let _ = self.swarm.behaviour_mut().kad.bootstrap();
                }
            }
        }
    }

    fn binding_envelope(&self) -> Option<Vec<u8>> {
        let hotkey = self.hotkey.as_ref()?;
        let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let binding = PeerBinding { peer_id: self.swarm.local_peer_id().to_bytes(), timestamp_ms };
        Some(Envelope::seal(hotkey, self.config.netuid, &binding).to_bytes())
    }

    fn announce_binding(&mut self) {
        if let Some(bytes) = self.binding_envelope() {
            let topic = self.bindings_topic.clone();
            if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                debug!(error = %e, "binding announcement not sent");
            }
        }
    }

    /// Checks a binding envelope claimed for `peer`; records it when valid.
    fn accept_binding(&mut self, peer: PeerId, bytes: &[u8]) -> Verdict {
        let Ok(envelope) = Envelope::from_bytes(bytes, self.config.max_frame_bytes) else { return Verdict::Invalid };
        let Ok(signed) = envelope.open::<PeerBinding>(self.config.netuid) else { return Verdict::Invalid };
        if signed.message.peer_id != peer.to_bytes() {
            return Verdict::Invalid;
        }
        if self.bindings.insert(peer, signed.signer) != Some(signed.signer) {
            info!(%peer, hotkey = %signed.signer, "peer bound to hotkey");
            let _ = self.events.try_send(Event::PeerBound { peer: Peer(peer), hotkey: signed.signer });
        }
        Verdict::Valid
    }

    fn penalise(&mut self, peer: PeerId, verdict: Verdict) {
        if self.guard.judge(&peer, verdict, Instant::now()) {
            warn!(%peer, "peer banned for invalid messages");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.banned.insert(peer);
            let _ = self.events.try_send(Event::PeerBanned { peer: Peer(peer) });
        }
    }

    fn lift_expired_bans(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self.banned.iter().copied().filter(|p| !self.guard.is_banned(p, now)).collect();
        for peer in expired {
            self.banned.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
    }

    fn redial_if_alone(&mut self) {
        let alone = self.swarm.connected_peers().next().is_none();
        if self.isolated || !self.redial.due(alone, Instant::now()) {
            return;
        }
        for address in &self.bootstrap {
            if let Err(e) = self.swarm.dial(address.clone()) {
                warn!(%address, error = %e, "bootstrap dial failed");
            }
        }
    }

    fn isolate(&mut self, on: bool) {
        self.isolated = on;
        if on {
            warn!("isolated: every p2p connection closed until further notice");
            let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
            for peer in peers {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        } else {
            warn!("isolation lifted: redialling bootstrap peers");
            self.redial.connected();
            self.redial_if_alone();
        }
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, reply } => {
                let t = IdentTopic::new(topic.name(self.config.netuid));
                let result = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(t, data)
                    .map(|_| ())
                    .map_err(|e| P2pError::Publish(e.to_string()));
                let _ = reply.send(result);
            }
            Command::Report { id, verdict } => {
                if let Some(source) = self.pending.remove(&id.0) {
                    self.finish(&id.0, source, verdict);
                }
            }
            Command::SetValidators { hotkeys } => self.validators = hotkeys.into_iter().collect(),
            Command::Dial { address, reply } => {
                let _ = reply.send(self.swarm.dial(address).map_err(|e| P2pError::Publish(e.to_string())));
            }
            Command::Peers { reply } => {
                let peers = self.swarm.connected_peers().map(|p| (Peer(*p), self.bindings.get(p).copied())).collect();
                let _ = reply.send(peers);
            }
            Command::Listening { reply } => {
                let local = *self.swarm.local_peer_id();
                let addrs = self.swarm.listeners().map(|a| format!("{a}/p2p/{local}")).collect();
                let _ = reply.send(addrs);
            }
            Command::Counters { reply } => {
                let _ = reply.send(self.guard.counters());
            }
            Command::Penalise { peer } => self.penalise(peer, Verdict::Invalid),
            Command::Isolate { on, reply } => {
                self.isolate(on);
                let _ = reply.send(());
            }
            Command::Provide { hash } => {
                let key = kad::RecordKey::new(hash.as_bytes());
                if let Err(e) = self.swarm.behaviour_mut().kad.start_providing(key) {
                    warn!(error = %e, "cannot announce a blob");
                }
            }
            Command::FetchBlob { hash, reply } => {
                let id = self.next_fetch;
                self.next_fetch += 1;
                let query = self.swarm.behaviour_mut().kad.get_providers(kad::RecordKey::new(hash.as_bytes()));
                self.fetch_by_query.insert(query, id);
                let fetch = Fetch {
                    hash,
                    reply,
                    candidates: VecDeque::new(),
                    tried: HashSet::new(),
                    query_done: false,
                    in_flight: false,
                };
                self.fetches.insert(id, fetch);
            }
            Command::Sync { peer, request, reply } => {
                let request_id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.syncs.insert(request_id, reply);
            }
        }
    }

    /// Sends the next request of fetch `id`, or ends it when nobody is left to ask.
    fn advance_fetch(&mut self, id: u64) {
        let Some(fetch) = self.fetches.get_mut(&id) else { return };
        if fetch.in_flight {
            return;
        }
        while let Some(peer) = fetch.candidates.pop_front() {
            if !fetch.tried.insert(peer) || self.banned.contains(&peer) {
                continue;
            }
            fetch.in_flight = true;
            let hash = fetch.hash;
            let request = self.swarm.behaviour_mut().blob.send_request(&peer, hash.as_bytes().to_vec());
            self.fetch_by_request.insert(request, id);
            return;
        }
        if fetch.query_done
            && let Some(fetch) = self.fetches.remove(&id)
        {
            let _ = fetch.reply.send(Err(P2pError::BlobNotFound(fetch.hash)));
        }
    }

    fn blob_response(&mut self, request: request_response::OutboundRequestId, peer: PeerId, data: Option<Vec<u8>>) {
        let Some(id) = self.fetch_by_request.remove(&request) else { return };
        let Some(fetch) = self.fetches.get_mut(&id) else { return };
        fetch.in_flight = false;
        match data {
            Some(bytes) if !bytes.is_empty() && blake2b_256(&bytes) == fetch.hash => {
                if let Some(fetch) = self.fetches.remove(&id) {
                    let _ = fetch.reply.send(Ok(bytes));
                }
                return;
            }
            Some(bytes) if !bytes.is_empty() => {
                warn!(%peer, "provider served bytes that do not match the blob hash");
                self.penalise(peer, Verdict::Invalid);
            }
            // Empty (the peer does not hold it) or a failed request: ask the next one.
            _ => {}
        }
        self.advance_fetch(id);
    }

    fn is_bound_validator(&self, peer: &PeerId) -> bool {
        self.bindings.get(peer).is_some_and(|h| self.validators.contains(h))
    }

    /// Reports a verdict to gossipsub and the guard.
    fn finish(&mut self, id: &gossipsub::MessageId, source: PeerId, verdict: Verdict) {
        let acceptance = match verdict {
            Verdict::Valid => MessageAcceptance::Accept,
            Verdict::Invalid => MessageAcceptance::Reject,
            Verdict::Ignored => MessageAcceptance::Ignore,
        };
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(id, &source, acceptance);
        self.penalise(source, verdict);
    }

    fn handle_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        match self.guard.admit_message(&source, Instant::now()) {
            Admission::Accept => {}
            Admission::RateLimited => return self.finish(&id, source, Verdict::Ignored),
            Admission::Banned => return self.finish(&id, source, Verdict::Invalid),
        }
        let Some(author) = message.source else { return self.finish(&id, source, Verdict::Invalid) };
        if message.topic == self.bindings_topic {
            let verdict = self.accept_binding(author, &message.data);
            return self.finish(&id, source, verdict);
        }
        let Some(topic) = self.topics.get(&message.topic).copied() else {
            return self.finish(&id, source, Verdict::Ignored);
        };
        let author_hotkey = self.bindings.get(&author).copied();
        if topic.validator_only() {
            match author_hotkey {
                // Not bound yet: drop without blame (its binding may still be on its way).
                None => return self.finish(&id, source, Verdict::Ignored),
                Some(h) if !self.validators.contains(&h) => return self.finish(&id, source, Verdict::Invalid),
                Some(_) => {}
            }
        }
        // Bound the messages awaiting a verdict: the oldest is ignored to make room.
        while self.pending.len() >= self.config.max_pending_validations {
            let Some(oldest) = self.pending_order.pop_front() else { break };
            if let Some(src) = self.pending.remove(&oldest) {
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &oldest,
                    &src,
                    MessageAcceptance::Ignore,
                );
            }
        }
        let event = Event::Message {
            id: MessageId(id.clone()),
            topic,
            author: Peer(author),
            author_hotkey,
            data: message.data,
        };
        if self.events.try_send(event).is_err() {
            // The application is not keeping up: drop without blame.
            return self.finish(&id, source, Verdict::Ignored);
        }
        self.pending.insert(id.clone(), source);
        self.pending_order.push_back(id);
        if self.pending_order.len() > 2 * self.config.max_pending_validations {
            let pending = &self.pending;
            self.pending_order.retain(|m| pending.contains_key(m));
        }
    }

    fn handle_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, num_established, .. } => {
                if self.isolated {
                    self.swarm.close_connection(connection_id);
                    return;
                }
                if let ConnectedPoint::Listener { send_back_addr, .. } = &endpoint
                    && let Some(ip) = ip_of(send_back_addr)
                {
                    if !self.guard.connection_opened(&peer_id, &ip, Instant::now()) {
                        debug!(%peer_id, %ip, "connection refused: per-IP limit or ban");
                        self.swarm.close_connection(connection_id);
                        return;
                    }
                    self.inbound_ips.insert(connection_id, ip);
                }
                if num_established.get() == 1 {
                    if let Some(bytes) = self.binding_envelope() {
                        self.swarm.behaviour_mut().bind.send_request(&peer_id, bytes);
                    }
                    self.redial.connected();
                    // The first peer after none (at start, or after a loss): refresh the
                    // routing table through it.
                    if self.swarm.connected_peers().count() == 1 {
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                if let Some(ip) = self.inbound_ips.remove(&connection_id) {
                    self.guard.connection_closed(&ip);
                }
                if num_established == 0 {
                    self.guard.forget(&peer_id, Instant::now());
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.handle_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                for addr in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Bind(request_response::Event::Message { peer, message, .. })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        let verdict = self.accept_binding(peer, &request);
                        self.penalise(peer, verdict);
                        let ours = self.binding_envelope().unwrap_or_default();
                        let _ = self.swarm.behaviour_mut().bind.send_response(channel, ours);
                    }
                    request_response::Message::Response { response, .. } => {
                        if !response.is_empty() {
                            let verdict = self.accept_binding(peer, &response);
                            self.penalise(peer, verdict);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result,
                step,
                ..
            })) => {
                if let kad::QueryResult::GetProviders(result) = result
                    && let Some(&fetch_id) = self.fetch_by_query.get(&id)
                {
                    let local = *self.swarm.local_peer_id();
                    if let Some(fetch) = self.fetches.get_mut(&fetch_id) {
                        match result {
                            Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => {
                                fetch.candidates.extend(providers.into_iter().filter(|p| *p != local));
                            }
                            Ok(kad::GetProvidersOk::FinishedWithNoAdditionalRecord { .. }) | Err(_) => {
                                fetch.query_done = true;
                            }
                        }
                        if step.last {
                            fetch.query_done = true;
                        }
                    }
                    if step.last {
                        self.fetch_by_query.remove(&id);
                    }
                    self.advance_fetch(fetch_id);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, .. })) => {
                let connected = self.swarm.connected_peers().count();
                if connected < self.config.target_peers
                    && !self.swarm.is_connected(&peer)
                    && !self.banned.contains(&peer)
                {
                    let _ = self.swarm.dial(peer);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Blob(request_response::Event::Message { peer, message, .. })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        let data = Hash::from_slice("blob hash", &request)
                            .ok()
                            .and_then(|h| self.provider.blob(&h))
                            .unwrap_or_default();
                        let _ = self.swarm.behaviour_mut().blob.send_response(channel, data);
                    }
                    request_response::Message::Response { request_id, response } => {
                        self.blob_response(request_id, peer, Some(response));
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Blob(request_response::Event::OutboundFailure {
                peer,
                request_id,
                ..
            })) => self.blob_response(request_id, peer, None),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        // Catch-up data is served to bound validators only.
                        let data =
                            if self.is_bound_validator(&peer) { self.provider.sync(&request) } else { Vec::new() };
                        let _ = self.swarm.behaviour_mut().sync.send_response(channel, data);
                    }
                    request_response::Message::Response { request_id, response } => {
                        if let Some(reply) = self.syncs.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                request_id,
                error,
                ..
            })) => {
                if let Some(reply) = self.syncs.remove(&request_id) {
                    let _ = reply.send(Err(P2pError::Request(error.to_string())));
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => debug!(%address, "listening"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `try_` commands never wait: a full queue drops them with [`P2pError::Busy`], a
    /// stopped network says so.
    #[test]
    fn try_commands_drop_when_the_queue_is_full() {
        let (commands, mut queue) = mpsc::channel(1);
        let client = Client { commands, local: Peer(PeerId::random()) };
        let id = MessageId(gossipsub::MessageId::new(b"m"));
        assert!(client.try_report(id.clone(), Verdict::Valid).is_ok());
        assert!(matches!(client.try_report(id.clone(), Verdict::Valid), Err(P2pError::Busy)));
        assert!(matches!(client.try_provide(Hash::ZERO), Err(P2pError::Busy)));
        assert!(matches!(queue.try_recv(), Ok(Command::Report { .. })));
        drop(queue);
        assert!(matches!(client.try_report(id, Verdict::Valid), Err(P2pError::Stopped)));
    }
}
