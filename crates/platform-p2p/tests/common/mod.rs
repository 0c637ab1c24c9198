//! Loopback test nodes shared by the p2p tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use platform_p2p::{Client, Event, GuardLimits, P2pConfig, Provider, Topic, Verdict};
use platform_types::{Keypair, NetUid, PublicKey};
use tokio::task::JoinHandle;

/// What a node's application saw.
#[derive(Default)]
pub struct Seen {
    pub delivered: Vec<(Topic, Vec<u8>)>,
    pub bound: Vec<PublicKey>,
    pub banned: usize,
}

pub struct Node {
    pub client: Client,
    pub hotkey: Option<PublicKey>,
    pub seen: Arc<Mutex<Seen>>,
    pub address: String,
    pub tasks: Vec<JoinHandle<()>>,
}

pub fn hotkey(i: usize) -> Keypair {
    Keypair::from_suri(&format!("//Platform//p2p-{i}")).expect("hotkey")
}

/// Starts a node whose application accepts every message except those starting with `bad`.
pub async fn node(i: usize, bound: bool, limits: GuardLimits) -> Node {
    node_with(i, bound, limits, Arc::new(platform_p2p::NoProvider), "/ip4/127.0.0.1/tcp/0").await
}

/// A node with a provider, listening on `listen`.
pub async fn node_with(i: usize, bound: bool, limits: GuardLimits, provider: Arc<dyn Provider>, listen: &str) -> Node {
    start(i, bound, config(listen, limits), provider).await
}

/// A node that dials `bootstrap` (and redials it whenever it is alone).
pub async fn node_bootstrapped(i: usize, bootstrap: &[&str]) -> Node {
    let mut config = config("/ip4/127.0.0.1/tcp/0", loose());
    config.bootstrap = bootstrap.iter().map(|a| a.to_string()).collect();
    start(i, true, config, Arc::new(platform_p2p::NoProvider)).await
}

/// The test configuration: fast bindings and heartbeat.
pub fn config(listen: &str, limits: GuardLimits) -> P2pConfig {
    let mut config = P2pConfig::new(NetUid::new(7));
    config.listen = vec![listen.into()];
    config.limits = limits;
    config.binding_interval = Duration::from_millis(300);
    config.heartbeat = Duration::from_millis(200);
    config
}

/// Starts a node with `config`.
pub async fn start(i: usize, bound: bool, config: P2pConfig, provider: Arc<dyn Provider>) -> Node {
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    let key = bound.then(|| hotkey(i));
    let hotkey_public = key.as_ref().map(|k| k.public());
    let (client, mut events, event_loop) = platform_p2p::new(config, secret, key, provider).expect("network builds");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let run = tokio::spawn(event_loop.run());
    let app_client = client.clone();
    let app_seen = seen.clone();
    let app = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                Event::Message { id, topic, data, .. } => {
                    let verdict = if data.starts_with(b"bad") { Verdict::Invalid } else { Verdict::Valid };
                    if verdict == Verdict::Valid {
                        app_seen.lock().expect("seen").delivered.push((topic, data));
                    }
                    let _ = app_client.report(id, verdict).await;
                }
                Event::PeerBound { hotkey, .. } => app_seen.lock().expect("seen").bound.push(hotkey),
                Event::PeerBanned { .. } => app_seen.lock().expect("seen").banned += 1,
            }
        }
    });
    let address = loop {
        let addrs = client.listen_addresses().await.expect("addresses");
        if let Some(a) = addrs.into_iter().next() {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Node { client, hotkey: hotkey_public, seen, address, tasks: vec![run, app] }
}

pub fn loose() -> GuardLimits {
    GuardLimits { max_connections_per_ip: 64, ..GuardLimits::default() }
}

pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes, retrying while the mesh forms.
pub async fn publish(node: &Node, topic: Topic, data: &[u8]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match node.client.publish(topic, data.to_vec()).await {
            Ok(()) => return,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "publish failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

pub fn delivered(node: &Node, data: &[u8]) -> bool {
    node.seen.lock().expect("seen").delivered.iter().any(|(_, d)| d == data)
}

/// `count` bound validators, each dialling node 0 and its predecessor; every node knows every
/// validator hotkey and has seen every binding.
pub async fn validators(count: usize) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..count {
        let n = node(i, true, loose()).await;
        if i > 0 {
            n.client.dial(&nodes[0].address).await.expect("dial 0");
            if i > 1 {
                n.client.dial(&nodes[i - 1].address).await.expect("dial previous");
            }
        }
        nodes.push(n);
    }
    let set: Vec<PublicKey> = nodes.iter().filter_map(|n| n.hotkey).collect();
    for n in &nodes {
        n.client.set_validators(set.clone()).await.expect("validators");
    }
    for n in &nodes {
        eventually("every binding seen", || {
            let seen = n.seen.lock().expect("seen");
            set.iter().filter(|h| Some(**h) != n.hotkey).all(|h| seen.bound.contains(h))
        })
        .await;
    }
    nodes
}

/// A node's connected peer count, read synchronously (for `eventually`).
pub fn peer_count(node: &Node) -> usize {
    let client = node.client.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(client.peers()).map(|p| p.len()).unwrap_or(0)
    })
    .join()
    .unwrap_or(0)
}
