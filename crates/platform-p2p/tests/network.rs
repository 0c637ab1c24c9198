//! In-process nodes on loopback: propagation, peer binding, validator-only topics, flood
//! protection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use platform_p2p::{Client, Event, GuardLimits, P2pConfig, Topic, Verdict};
use platform_types::{Keypair, NetUid, PublicKey};
use tokio::task::JoinHandle;

/// What a node's application saw.
#[derive(Default)]
struct Seen {
    delivered: Vec<(Topic, Vec<u8>)>,
    bound: Vec<PublicKey>,
    banned: usize,
}

struct Node {
    client: Client,
    hotkey: Option<PublicKey>,
    seen: Arc<Mutex<Seen>>,
    address: String,
    _tasks: Vec<JoinHandle<()>>,
}

fn hotkey(i: usize) -> Keypair {
    Keypair::from_suri(&format!("//Platform//p2p-{i}")).expect("hotkey")
}

/// Starts a node whose application accepts every message except those starting with `bad`.
async fn node(i: usize, bound: bool, limits: GuardLimits) -> Node {
    let mut config = P2pConfig::new(NetUid::new(7));
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    config.limits = limits;
    config.binding_interval = Duration::from_millis(300);
    config.heartbeat = Duration::from_millis(200);
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    let key = bound.then(|| hotkey(i));
    let hotkey_public = key.as_ref().map(|k| k.public());
    let (client, mut events, event_loop) = platform_p2p::new(config, secret, key).expect("network builds");
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
    Node { client, hotkey: hotkey_public, seen, address, _tasks: vec![run, app] }
}

fn loose() -> GuardLimits {
    GuardLimits { max_connections_per_ip: 64, ..GuardLimits::default() }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes, retrying while the mesh forms.
async fn publish(node: &Node, topic: Topic, data: &[u8]) {
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

fn delivered(node: &Node, data: &[u8]) -> bool {
    node.seen.lock().expect("seen").delivered.iter().any(|(_, d)| d == data)
}

/// `count` bound validators, each dialling node 0 and its predecessor; every node knows every
/// validator hotkey and has seen every binding.
async fn validators(count: usize) -> Vec<Node> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consensus_message_reaches_all_eight_nodes() {
    let nodes = validators(8).await;
    publish(&nodes[5], Topic::Consensus, b"vote from 5").await;
    for (i, n) in nodes.iter().enumerate().filter(|(i, _)| *i != 5) {
        eventually(&format!("node {i} delivers"), || delivered(n, b"vote from 5")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_validator_cannot_publish_on_validator_only_topics() {
    let nodes = validators(3).await;
    // Bound to a hotkey outside the validator set.
    let outsider = node(9, true, loose()).await;
    outsider.client.dial(&nodes[0].address).await.expect("dial");
    eventually("outsider's binding seen", || {
        nodes[0].seen.lock().expect("seen").bound.contains(&outsider.hotkey.expect("bound"))
    })
    .await;
    // Its submissions are relayed (an open topic) ...
    publish(&outsider, Topic::Submissions, b"submission from outsider").await;
    for n in &nodes {
        eventually("submission delivered", || delivered(n, b"submission from outsider")).await;
    }
    // ... its consensus messages are not.
    publish(&outsider, Topic::Consensus, b"vote from outsider").await;
    publish(&nodes[1], Topic::Consensus, b"vote from validator 1").await;
    for n in &nodes {
        eventually("validator's vote delivered", || {
            delivered(n, b"vote from validator 1") || n.hotkey == nodes[1].hotkey
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in &nodes {
        assert!(!delivered(n, b"vote from outsider"), "a non-validator's vote was delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooder_of_invalid_messages_is_banned_and_honest_traffic_flows() {
    let nodes = validators(2).await;
    let flooder = node(20, false, loose()).await;
    flooder.client.dial(&nodes[0].address).await.expect("dial");
    for i in 0..30 {
        publish(&flooder, Topic::Submissions, format!("bad {i}").as_bytes()).await;
    }
    eventually("flooder banned", || nodes[0].seen.lock().expect("seen").banned >= 1).await;
    let counters = nodes[0].client.counters().await.expect("counters");
    assert!(counters.invalid >= 10 && counters.bans == 1, "{counters:?}");
    let peers = nodes[0].client.peers().await.expect("peers");
    assert!(peers.iter().all(|(p, _)| *p != flooder.client.local_peer()), "the flooder is disconnected");
    publish(&nodes[1], Topic::Submissions, b"honest after the flood").await;
    eventually("honest traffic delivered", || delivered(&nodes[0], b"honest after the flood")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_connection_from_one_ip_is_refused() {
    let target = node(30, true, GuardLimits::default()).await;
    let mut others = Vec::new();
    for i in 0..6 {
        let n = node(31 + i, false, loose()).await;
        n.client.dial(&target.address).await.expect("dial");
        // One at a time, so which one is the sixth is deterministic.
        let expected = (i + 1).min(5);
        eventually("connection settles", || {
            let peers = futures_peers(&target);
            peers == expected
        })
        .await;
        others.push(n);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(futures_peers(&target), 5);
    let counters = target.client.counters().await.expect("counters");
    assert!(counters.refused_connections >= 1, "{counters:?}");
}

/// The target's connected peer count, read synchronously for `eventually`.
fn futures_peers(node: &Node) -> usize {
    let client = node.client.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(client.peers()).map(|p| p.len()).unwrap_or(0)
    })
    .join()
    .unwrap_or(0)
}
