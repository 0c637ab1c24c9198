//! In-process nodes on loopback: propagation, peer binding, validator-only topics, flood
//! protection.

mod common;

use std::time::Duration;

use common::{delivered, eventually, loose, node, node_bootstrapped, peer_count, publish, validators};
use platform_p2p::{GuardLimits, Topic};

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
    publish(&flooder, Topic::Submissions, b"bad 0").await;
    for i in 1..30 {
        // Once banned, the flooder has no peer left on the topic and its publishes fail: how
        // many of the 30 leave before the ban depends on how fast the target judges them.
        let _ = flooder.client.publish(Topic::Submissions, format!("bad {i}").into_bytes()).await;
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
            let peers = peer_count(&target);
            peers == expected
        })
        .await;
        others.push(n);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(peer_count(&target), 5);
    let counters = target.client.counters().await.expect("counters");
    assert!(counters.refused_connections >= 1, "{counters:?}");
}

/// Whether the other end closes `stream` within `wait` (bytes it sends meanwhile are read).
fn closed_within(stream: &mut std::net::TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    let deadline = std::time::Instant::now() + wait;
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// The defect: nothing bounded inbound connections still in their handshake (nor those open,
/// from all addresses), so anyone could take one of the node's file descriptors per TCP
/// connection that never completes a handshake. With two allowed, a third and later are closed
/// as they arrive and counted, the two stay open, and a real peer connects once they are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_handshake_bound_are_closed_as_they_arrive() {
    let target = node(50, true, GuardLimits { max_pending_incoming: 2, ..loose() }).await;
    let port: u16 = target
        .address
        .split("/tcp/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a TCP listen address");
    let open = || std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let held = tokio::task::block_in_place(|| {
        let mut held = vec![open(), open()];
        // Both are in their handshake (they never send one) before the others arrive.
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..6 {
            assert!(closed_within(&mut open(), Duration::from_secs(3)), "connection {} past the bound was kept", i + 3);
        }
        for stream in &mut held {
            assert!(!closed_within(stream, Duration::from_millis(200)), "a connection within the bound was closed");
        }
        held
    });
    let counters = target.client.counters().await.expect("counters");
    assert!(counters.refused_connections >= 6, "{counters:?}");

    drop(held);
    let peer = node(51, false, loose()).await;
    peer.client.dial(&target.address).await.expect("dial");
    eventually("a real peer connects", || peer_count(&target) == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_node_drops_every_peer_then_rejoins_through_its_bootstrap_peers() {
    let a = node(40, true, loose()).await;
    let b = node_bootstrapped(41, &[&a.address]).await;
    let c = node(42, true, loose()).await;
    c.client.dial(&b.address).await.expect("dial");
    let set: Vec<_> = [&a, &b, &c].iter().filter_map(|n| n.hotkey).collect();
    for n in [&a, &b, &c] {
        n.client.set_validators(set.clone()).await.expect("validators");
    }
    eventually("b connected to a and c", || peer_count(&b) == 2).await;

    b.client.set_isolated(true).await.expect("isolate");
    eventually("b alone, and gone from a and c", || peer_count(&b) == 0 && peer_count(&a) == 0 && peer_count(&c) == 0)
        .await;
    // Its peers cannot reach it: their connections are closed as soon as they open. (A sample
    // can catch one between its opening and its closing, and Kademlia may dial again, so the
    // check is that none lasts, not that none is ever seen.)
    a.client.dial(&b.address).await.expect("dial");
    c.client.dial(&b.address).await.expect("dial");
    tokio::time::sleep(Duration::from_millis(500)).await;
    eventually("no connection survives isolation", || {
        peer_count(&b) == 0 && peer_count(&a) == 0 && peer_count(&c) == 0
    })
    .await;
    assert!(b.client.publish(Topic::Consensus, b"from the island".to_vec()).await.is_err(), "nobody to publish to");

    // Lifted: b dials its bootstrap peer a by itself, and gossip flows again.
    b.client.set_isolated(false).await.expect("rejoin");
    eventually("b reconnected to a", || peer_count(&b) >= 1 && peer_count(&a) >= 1).await;
    publish(&a, Topic::Consensus, b"welcome back").await;
    eventually("b delivers gossip again", || delivered(&b, b"welcome back")).await;
}
