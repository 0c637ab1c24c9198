//! The libp2p swarm behind a [`Client`] / [`EventLoop`] pair.
//!
//! The event loop owns the swarm; the client sends it commands over a bounded channel with
//! oneshot replies; the application receives [`Event`]s over another bounded channel. Gossip
//! messages are held by gossipsub until the application's [`Verdict`](crate::Verdict) comes back through
//! [`Client::report`]: only accepted messages are forwarded, and the verdict feeds both
//! gossipsub's peer scoring and the [`PeerGuard`](crate::PeerGuard).

mod commands;
mod gossip;
mod swarm;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::multiaddr::Protocol;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, TopicHash, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{ConnectionId, NetworkBehaviour};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, connection_limits, identify, kad, noise, ping, tcp,
    yamux,
};
use platform_types::{Hash, Keypair, PublicKey, blake2b_256};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::api::{Event, P2pError, Peer, Provider, node_key};
use crate::client::{Client, Command, parse_addr};
use crate::codec::BytesCodec;
use crate::config::{P2pConfig, Topic, bindings_topic};
use crate::guard::PeerGuard;
use crate::redial::Redial;

/// The protocols the swarm runs.
#[derive(NetworkBehaviour)]
struct Behaviour {
    /// Bounds inbound connections in their handshake and open (the guard's limits); first, so
    /// a connection past them is refused before any other protocol sees it.
    limits: connection_limits::Behaviour,
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
    let connections = connection_limits::ConnectionLimits::default()
        .with_max_pending_incoming(Some(config.limits.max_pending_incoming))
        .with_max_established_incoming(Some(config.limits.max_incoming));
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
                limits: connection_limits::Behaviour::new(connections),
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

/// A request-response protocol of raw bytes, at most `max` a message.
fn request_response(max: usize, protocol: &'static str) -> request_response::Behaviour<BytesCodec> {
    request_response::Behaviour::with_codec(
        BytesCodec { max },
        [(StreamProtocol::new(protocol), ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
    )
}

/// The IP address a multiaddr names, if any.
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
}
