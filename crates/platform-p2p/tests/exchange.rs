//! Blobs by hash through DHT provider records, discovery of peers through Kademlia, catch-up
//! sync by request-response, and the QUIC transport.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, loose, node, node_with};
use platform_p2p::{P2pError, Provider};
use platform_types::{Hash, blake2b_256};

/// Serves fixed blobs (under the hash of `honest` bytes, possibly with other bytes) and
/// answers sync requests with "blocks after N".
struct TestProvider {
    blobs: HashMap<Hash, Vec<u8>>,
}

impl Provider for TestProvider {
    fn blob(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.blobs.get(hash).cloned()
    }

    fn sync(&self, request: &[u8]) -> Vec<u8> {
        let mut answer = b"blocks after ".to_vec();
        answer.extend_from_slice(request);
        answer
    }
}

fn provider(entries: &[(Hash, Vec<u8>)]) -> Arc<dyn Provider> {
    Arc::new(TestProvider { blobs: entries.iter().cloned().collect() })
}

const TCP: &str = "/ip4/127.0.0.1/tcp/0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_is_fetched_from_a_provider_and_a_lying_provider_is_penalised() {
    let module: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let hash = blake2b_256(&module);
    let liar = node_with(0, false, loose(), provider(&[(hash, b"not the module".to_vec())]), TCP).await;
    let honest = node_with(1, false, loose(), provider(&[(hash, module.clone())]), TCP).await;
    let fetcher = node(2, false, loose()).await;
    honest.client.dial(&liar.address).await.expect("dial");
    fetcher.client.dial(&liar.address).await.expect("dial");
    fetcher.client.dial(&honest.address).await.expect("dial");
    // Both announce themselves as providers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    liar.client.provide(hash).await.expect("provide");
    honest.client.provide(hash).await.expect("provide");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let fetched = loop {
        match fetcher.client.fetch_blob(hash).await {
            Ok(bytes) => break bytes,
            Err(P2pError::BlobNotFound(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("fetch failed: {e}"),
        }
    };
    assert_eq!(fetched, module);
    // The liar may or may not have been asked first; if it was, that counted against it once.
    let counters = fetcher.client.counters().await.expect("counters");
    assert!(counters.invalid <= 1, "{counters:?}");
    // A blob nobody has is reported as not found.
    let missing = blake2b_256(b"nobody has this");
    assert_eq!(fetcher.client.fetch_blob(missing).await, Err(P2pError::BlobNotFound(missing)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_liar_alone_never_passes_its_bytes_off_as_the_blob() {
    let hash = blake2b_256(b"the real bytes");
    let liar = node_with(0, false, loose(), provider(&[(hash, b"forged bytes".to_vec())]), TCP).await;
    let fetcher = node(1, false, loose()).await;
    fetcher.client.dial(&liar.address).await.expect("dial");
    tokio::time::sleep(Duration::from_millis(300)).await;
    liar.client.provide(hash).await.expect("provide");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fetcher.client.fetch_blob(hash).await, Err(P2pError::BlobNotFound(hash)));
    let counters = fetcher.client.counters().await.expect("counters");
    assert_eq!(counters.invalid, 1, "the forged blob counts against the liar: {counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_discovers_peers_through_kademlia_and_syncs() {
    let nodes = common::validators(4).await;
    // A validator that answers sync, connected to the others but not to the late joiner.
    let server = node_with(10, true, loose(), provider(&[]), TCP).await;
    for n in &nodes {
        n.client.dial(&server.address).await.expect("dial server");
    }
    // The late joiner knows only node 0.
    let late = node_with(11, true, loose(), provider(&[]), TCP).await;
    let mut set: Vec<_> = nodes.iter().filter_map(|n| n.hotkey).collect();
    set.extend([server.hotkey.expect("bound"), late.hotkey.expect("bound")]);
    for n in nodes.iter().chain([&server, &late]) {
        n.client.set_validators(set.clone()).await.expect("validators");
    }
    late.client.dial(&nodes[0].address).await.expect("dial");
    let expected = nodes.len() + 1;
    eventually("late joiner connects to peers it was never told about", || common::peer_count(&late) >= expected).await;
    // Catch-up sync from the server, which it found through the DHT.
    eventually("server knows the late joiner's binding", || {
        server.seen.lock().expect("seen").bound.contains(&late.hotkey.expect("bound"))
    })
    .await;
    let answer = late.client.request_sync(server.client.local_peer(), b"42".to_vec()).await.expect("sync");
    assert_eq!(answer, b"blocks after 42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_is_served_to_validators_only() {
    let server = node_with(20, true, loose(), provider(&[]), TCP).await;
    let stranger = node(21, false, loose()).await;
    stranger.client.dial(&server.address).await.expect("dial");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = stranger.client.request_sync(server.client.local_peer(), b"1".to_vec()).await.expect("answered");
    assert!(answer.is_empty(), "an unbound peer got sync data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_talk_over_quic() {
    let quic = "/ip4/127.0.0.1/udp/0/quic-v1";
    let a = node_with(30, true, loose(), provider(&[]), quic).await;
    let b = node_with(31, true, loose(), provider(&[]), quic).await;
    assert!(a.address.contains("quic-v1"), "{}", a.address);
    b.client.dial(&a.address).await.expect("dial over QUIC");
    let set = vec![a.hotkey.expect("bound"), b.hotkey.expect("bound")];
    for n in [&a, &b] {
        n.client.set_validators(set.clone()).await.expect("validators");
    }
    eventually("bound over QUIC", || a.seen.lock().expect("seen").bound.contains(&set[1])).await;
    common::publish(&b, platform_p2p::Topic::Consensus, b"over quic").await;
    eventually("delivered over QUIC", || common::delivered(&a, b"over quic")).await;
}
