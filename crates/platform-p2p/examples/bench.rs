//! Loopback measurements of the p2p layer, each against a baseline from the same run:
//!
//! 1. gossip propagation latency to *all* of N nodes (N = 4, 8, 16), p50 and p99, against the
//!    latency to the *first* node that delivers (one hop);
//! 2. signed messages per second one node receives and validates (sr25519 verify of each
//!    envelope), against the rate of the bare verifications in one thread;
//! 3. blob transfer throughput (DHT lookup, request, hash check), against blake2b over the
//!    same bytes.
//!
//! ```text
//! cargo run --release -p platform-p2p --example bench
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use platform_p2p::{Client, Event, GuardLimits, P2pConfig, Provider, Topic, Verdict};
use platform_types::{Envelope, Hash, Keypair, MessageKind, NetUid, PublicKey, blake2b_256};

const NETUID: NetUid = NetUid::new(7);

struct Blobs(HashMap<Hash, Vec<u8>>);

impl Provider for Blobs {
    fn blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.0.get(hash).cloned()
    }
    fn sync(&self, _: &[u8]) -> Vec<u8> {
        Vec::new()
    }
}

type Deliveries = Arc<Mutex<Vec<(u64, Instant)>>>;

struct Node {
    client: Client,
    hotkey: PublicKey,
    address: String,
    deliveries: Deliveries,
}

fn limits() -> GuardLimits {
    GuardLimits { max_messages_per_second: 1_000_000, max_connections_per_ip: 1000, ..GuardLimits::default() }
}

/// A validator node whose application verifies each envelope's signature and records when
/// each sequence number (first 8 payload bytes) arrived.
async fn start(i: usize, provider: Arc<dyn Provider>, frame: usize) -> Node {
    let mut config = P2pConfig::new(NETUID);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    config.limits = limits();
    config.heartbeat = Duration::from_millis(200);
    config.binding_interval = Duration::from_millis(300);
    config.max_frame_bytes = frame;
    config.channel_capacity = 65_536;
    config.max_pending_validations = 65_536;
    let key = Keypair::from_suri(&format!("//Platform//bench-{i}")).expect("key");
    let hotkey = key.public();
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&(i as u64 + 1000).to_le_bytes());
    let (client, mut events, event_loop) = platform_p2p::new(config, secret, Some(key), provider).expect("network");
    tokio::spawn(event_loop.run());
    let deliveries: Deliveries = Arc::default();
    let (app_client, app_deliveries) = (client.clone(), deliveries.clone());
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message { id, data, .. } = event {
                let verdict = match Envelope::from_bytes(&data, 1 << 20).ok().filter(|e| e.verify(NETUID).is_ok()) {
                    Some(e) => {
                        let seq = u64::from_le_bytes(e.payload[..8].try_into().unwrap_or_default());
                        app_deliveries.lock().expect("lock").push((seq, Instant::now()));
                        Verdict::Valid
                    }
                    None => Verdict::Invalid,
                };
                let _ = app_client.report(id, verdict).await;
            }
        }
    });
    let address = loop {
        if let Some(a) = client.listen_addresses().await.expect("addresses").into_iter().next() {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    Node { client, hotkey, address, deliveries }
}

async fn mesh(count: usize, base: usize) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..count {
        let n = start(base + i, Arc::new(Blobs(HashMap::new())), 1 << 20).await;
        for j in [0, i.saturating_sub(1), i / 2] {
            if j < i {
                n.client.dial(&nodes[j].address).await.expect("dial");
            }
        }
        nodes.push(n);
    }
    let set: Vec<PublicKey> = nodes.iter().map(|n| n.hotkey).collect();
    for n in &nodes {
        n.client.set_validators(set.clone()).await.expect("set");
    }
    // Let bindings spread and meshes form.
    tokio::time::sleep(Duration::from_secs(3)).await;
    nodes
}

fn envelope(key: &Keypair, seq: u64) -> Vec<u8> {
    let mut payload = seq.to_le_bytes().to_vec();
    payload.extend_from_slice(&[0u8; 120]);
    Envelope::sign(key, NETUID, MessageKind::Prepare, payload).to_bytes()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn propagation(count: usize, base: usize) {
    let nodes = mesh(count, base).await;
    let keys: Vec<Keypair> =
        (0..count).map(|i| Keypair::from_suri(&format!("//Platform//bench-{}", base + i)).expect("key")).collect();
    let messages = 200u64;
    let mut sent = HashMap::new();
    for seq in 0..messages {
        let from = (seq as usize) % count;
        let data = envelope(&keys[from], seq);
        sent.insert(seq, (from, Instant::now()));
        if nodes[from].client.publish(Topic::Consensus, data).await.is_err() {
            sent.remove(&seq);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut to_all = Vec::new();
    let mut first_hop = Vec::new();
    for (seq, (from, at)) in &sent {
        let times: Vec<Instant> = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| i != from)
            .filter_map(|(_, n)| n.deliveries.lock().expect("lock").iter().find(|(s, _)| s == seq).map(|(_, t)| *t))
            .collect();
        if times.len() == count - 1 {
            to_all.push(times.iter().max().copied().unwrap_or(*at) - *at);
            first_hop.push(times.iter().min().copied().unwrap_or(*at) - *at);
        }
    }
    to_all.sort();
    first_hop.sort();
    println!(
        "propagation, {count:>2} nodes: to all p50 {:>6.2} ms p99 {:>6.2} ms | first hop p50 {:>5.2} ms | ratio p50 {:.2}x | {}/{} messages reached all",
        pct(&to_all, 0.5).as_secs_f64() * 1e3,
        pct(&to_all, 0.99).as_secs_f64() * 1e3,
        pct(&first_hop, 0.5).as_secs_f64() * 1e3,
        pct(&to_all, 0.5).as_secs_f64() / pct(&first_hop, 0.5).as_secs_f64(),
        to_all.len(),
        messages,
    );
}

async fn throughput() {
    let nodes = mesh(2, 100).await;
    let key = Keypair::from_suri("//Platform//bench-101").expect("key");
    let total = 20_000u64;
    let batch: Vec<Vec<u8>> = (0..total).map(|seq| envelope(&key, seq)).collect();
    // Baseline: the bare verifications, one thread.
    let decoded: Vec<Envelope> = batch.iter().map(|b| Envelope::from_bytes(b, 1 << 20).expect("decodes")).collect();
    let t = Instant::now();
    for e in &decoded {
        e.verify(NETUID).expect("valid");
    }
    let bare = total as f64 / t.elapsed().as_secs_f64();
    let start = Instant::now();
    for data in batch {
        let _ = nodes[1].client.publish(Topic::Consensus, data).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while nodes[0].deliveries.lock().expect("lock").len() < total as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = nodes[0].deliveries.lock().expect("lock").len();
    let last = nodes[0].deliveries.lock().expect("lock").iter().map(|(_, t)| *t).max().unwrap_or(start);
    let rate = received as f64 / (last - start).as_secs_f64();
    println!(
        "validated messages/s at one node: {rate:>8.0} ({received}/{total} received) | bare verify {bare:>8.0}/s | ratio {:.2}",
        rate / bare
    );
}

async fn blobs() {
    let size = 64 * 1024 * 1024;
    let blob: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let t = Instant::now();
    let hash = blake2b_256(&blob);
    let hash_rate = size as f64 / t.elapsed().as_secs_f64() / 1e6;
    let provider = start(200, Arc::new(Blobs([(hash, blob.clone())].into_iter().collect())), 2 * size).await;
    let fetcher = start(201, Arc::new(Blobs(HashMap::new())), 2 * size).await;
    fetcher.client.dial(&provider.address).await.expect("dial");
    tokio::time::sleep(Duration::from_millis(500)).await;
    provider.client.provide(hash).await.expect("provide");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let got = fetcher.client.fetch_blob(hash).await.expect("fetch");
        rates.push(size as f64 / t.elapsed().as_secs_f64() / 1e6);
        assert_eq!(got.len(), size);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "blob transfer (64 MiB, lookup + request + hash check): median {:.0} MB/s | blake2b alone {hash_rate:.0} MB/s | ratio {:.2}",
        rates[1],
        rates[1] / hash_rate
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("platform-p2p loopback benchmark ({} cores)", std::thread::available_parallelism().map_or(0, |n| n.get()));
    propagation(4, 0).await;
    propagation(8, 10).await;
    propagation(16, 30).await;
    throughput().await;
    blobs().await;
}
