//! State sync against the real subtensor runtime (chopsticks): five validators are seated, four
//! run past the first snapshot height (one of them restarted to serve every snapshot chunk with
//! a byte changed), then the fifth starts with an empty store. It joins from the snapshot the
//! others offer instead of fetching every block since genesis, refuses and penalises the lying
//! provider, ends with the blocks the others hold, and votes: with one of the others stopped,
//! blocks commit only because it does.

mod support;

use std::time::Duration;

use platform_chain::{Chain, SubxtChain};
use platform_node::records::Records;
use platform_node::{NodeConfig, RunningNode, Settings};
use platform_storage::RocksStore;
use platform_types::{Keypair, NetUid};
use serde_json::json;
use support::chain_common::{NETUID, hotkey, start};
use support::{eventually, get};

const STAKE_RAO: u64 = 5_000_000_000_000;
/// The snapshot interval, a protocol constant.
const SNAPSHOT: u64 = platform_app::SNAPSHOT_INTERVAL;

fn node_config(name: &str, dir: &std::path::Path, endpoint: &str, bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig::from_settings(Settings {
        secret_key: Some(format!("//Platform//{name}")),
        subtensor_endpoint: Some(endpoint.to_owned()),
        netuid: Some(NETUID),
        p2p_listen_addr: Some("/ip4/127.0.0.1/tcp/0".into()),
        bootstrap_peers: Some(bootstrap),
        data_dir: Some(dir.to_path_buf()),
        http_addr: Some("127.0.0.1:0".into()),
        // Idle blocks every 100 ms: the first snapshot height within seconds.
        block_interval_ms: Some(20),
        view_timeout_ms: Some(200),
        ..Settings::default()
    })
    .expect("valid config")
}

async fn run(cfg: NodeConfig, endpoint: &str) -> RunningNode {
    let chain = SubxtChain::connect(endpoint, Default::default()).await.expect("connect");
    platform_node::start(cfg, chain).await.expect("node starts")
}

fn tip(node: &RunningNode) -> (u64, String) {
    let (_, info) = get(&format!("http://{}/consensus/info", node.http_addr));
    (info["tip"]["height"].as_u64().unwrap_or(0), info["tip"]["hash"].as_str().unwrap_or("").to_owned())
}

async fn metric(node: &RunningNode, name: &str) -> f64 {
    let url = format!("http://{}/metrics", node.http_addr);
    let text = tokio::task::spawn_blocking(move || {
        ureq::get(&url).call().expect("/metrics").into_body().read_to_string().expect("text")
    })
    .await
    .expect("scrape");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// The stored blocks' heights and hashes, read from a stopped node's data directory.
fn stored_blocks(dir: &std::path::Path) -> Vec<(u64, platform_types::Hash)> {
    let store = RocksStore::open(&dir.join("db")).expect("store opens");
    let records = Records::new(std::sync::Arc::new(store));
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let blocks = records.blocks_from(from, 256).expect("read");
        let Some((last, _)) = blocks.last() else { break };
        from = last.header.height.get() + 1;
        out.extend(blocks.iter().map(|(b, _)| (b.header.height.get(), b.hash())));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_validator_with_an_empty_store_joins_from_a_snapshot_past_a_lying_provider_and_votes() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    let Some(fx) = start().await else { return };
    let names = ["s0", "s1", "s2", "s3", "joiner"];
    let mut seated: Vec<Keypair> = Vec::new();
    for name in names {
        let key = hotkey(name);
        fx.chain.burned_register(&fx.alice, NetUid::new(NETUID), &key.public()).await.expect("registers");
        seated.push(key);
    }
    let graph = fx.chain.metagraph(NetUid::new(NETUID), None).await.expect("metagraph");
    let mut permits = vec![false; graph.neurons.len()];
    let mut stakes = Vec::new();
    for key in &seated {
        permits[usize::from(graph.uid_of(&key.public()).expect("registered").get())] = true;
        stakes.push(json!([[key.public().to_ss58(), NETUID], STAKE_RAO]));
    }
    fx.local
        .set_storage(
            json!({ "SubtensorModule": { "ValidatorPermit": [[[NETUID], permits]], "TotalHotkeyAlpha": stakes } }),
        )
        .await
        .expect("stake and permits");
    let endpoint = fx.local.url();

    // Four of five (80 % of the stake) run past the first snapshot height.
    let dirs: Vec<tempfile::TempDir> = (0..5).map(|_| tempfile::tempdir().expect("dir")).collect();
    let mut nodes: Vec<RunningNode> = Vec::new();
    for (i, name) in names[..4].iter().enumerate() {
        let bootstrap = nodes.first().map(|n| n.p2p_addresses.clone()).unwrap_or_default();
        nodes.push(run(node_config(name, dirs[i].path(), &endpoint, bootstrap), &endpoint).await);
    }
    eventually("the four past the first checkpoint", Duration::from_secs(180), || {
        nodes.iter().all(|n| tip(n).0 >= SNAPSHOT + 3).then_some(())
    })
    .await;

    // The provider whose peer id sorts first (the joiner asks providers in that order) is
    // restarted from its store to serve every snapshot chunk with a byte changed.
    let liar = (0..4).min_by_key(|&i| nodes[i].peer_id.clone()).expect("four");
    let liar_node = nodes.remove(liar);
    liar_node.shutdown().await;
    let bootstrap = nodes[0].p2p_addresses.clone();
    let mut cfg = node_config(names[liar], dirs[liar].path(), &endpoint, bootstrap);
    cfg.fault = Some(platform_node::Fault::WrongSnapshotChunks);
    nodes.insert(liar, run(cfg, &endpoint).await);
    assert!(
        metric(&nodes[liar], "platform_started_from_snapshot").await >= SNAPSHOT as f64,
        "restarted from its snapshot"
    );

    // The fifth starts with an empty store, bootstrapping from the liar.
    let bootstrap = nodes[liar].p2p_addresses.clone();
    let joiner = run(node_config("joiner", dirs[4].path(), &endpoint, bootstrap), &endpoint).await;
    let target = tip(&nodes[0]).0;
    eventually("the joiner to catch up", Duration::from_secs(120), || (tip(&joiner).0 >= target).then_some(())).await;
    let started_from = metric(&joiner, "platform_started_from_snapshot").await;
    assert!(started_from >= SNAPSHOT as f64, "joined from a snapshot, not from genesis: {started_from}");
    assert!(metric(&joiner, "platform_state_sync_chunks_total").await >= 1.0);
    assert!(metric(&joiner, "platform_state_sync_refused_total").await >= 1.0, "the liar's chunk was refused");

    // It votes: with one of the other four stopped, the rest hold 60 % of the stake and commit
    // only with the joiner's votes.
    let stopped = (0..4).find(|&i| i != liar).expect("an honest one");
    nodes.remove(stopped).shutdown().await;
    let before = tip(&joiner).0;
    eventually("blocks to commit with the joiner's votes", Duration::from_secs(60), || {
        (tip(&nodes[0]).0 >= before + 5).then_some(())
    })
    .await;

    for node in nodes {
        node.shutdown().await;
    }
    joiner.shutdown().await;
    // The joiner holds no block before the snapshot, and the blocks after it are the others'.
    let joined = stored_blocks(dirs[4].path());
    let reference = stored_blocks(dirs[liar].path());
    let first = joined.first().expect("blocks after the snapshot").0;
    assert_eq!(first, started_from as u64 + 1, "nothing before the snapshot was fetched");
    for (height, hash) in &joined {
        if let Some((_, theirs)) = reference.iter().find(|(h, _)| h == height) {
            assert_eq!(hash, theirs, "height {height}");
        }
    }
    assert!(joined.len() >= 5);
}
