//! One validator over the in-memory chain double (no Node.js): a lone validator holds all the
//! stake, adopts its own genesis and commits blocks alone. Shared by the tests that need a
//! running node but no network.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_chain::TestChain;
use platform_node::{NodeConfig, Query, RunningNode, Settings};
use platform_types::{Keypair, Metagraph, NetUid, Neuron, SubnetParams, Uid};

pub const NETUID: u16 = 7;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64
}

pub fn key(name: &str) -> Keypair {
    Keypair::from_suri(&format!("//{name}")).expect("key")
}

/// One validator with a permit and stake, one registered miner, owner `owner`.
pub fn chain(validator: &Keypair, miner: &Keypair, owner: &Keypair) -> TestChain {
    TestChain::new(Metagraph {
        netuid: NetUid::new(NETUID),
        block: platform_chain::test_block(1),
        neurons: vec![
            Neuron { uid: Uid::new(0), hotkey: validator.public(), stake: 5_000_000_000_000, validator_permit: true },
            Neuron { uid: Uid::new(1), hotkey: miner.public(), stake: 0, validator_permit: false },
        ],
        owner_coldkey: None,
        owner_hotkey: Some(owner.public()),
        params: SubnetParams::unrestricted(20),
    })
}

pub async fn start(dir: &std::path::Path, chain: TestChain, owner: &Keypair) -> RunningNode {
    let cfg = NodeConfig::from_settings(Settings {
        secret_key: Some("//Validator".into()),
        netuid: Some(NETUID),
        p2p_listen_addr: Some("/ip4/127.0.0.1/tcp/0".into()),
        bootstrap_peers: Some(vec![]),
        data_dir: Some(dir.to_path_buf()),
        http_addr: Some("127.0.0.1:0".into()),
        sudo_key: Some(owner.public().to_ss58()),
        block_interval_ms: Some(100),
        view_timeout_ms: Some(1_000),
        ..Settings::default()
    })
    .expect("config");
    let node = platform_node::start(cfg, chain).await.expect("starts");
    // A lone validator holds all the stake: it adopts its own genesis and commits blocks.
    node.started(Duration::from_secs(30)).await.expect("genesis agreed");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let info = node.query(Query::Consensus).await.expect("consensus info");
        if info["tip"]["height"].as_u64() >= Some(1) {
            return node;
        }
        assert!(std::time::Instant::now() < deadline, "no block committed: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `query` until `done` holds for its answer.
pub async fn until(node: &RunningNode, query: Query, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let answer = node.query(query.clone()).await.expect("query");
        if done(&answer) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
