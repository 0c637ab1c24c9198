//! State sync against the real subtensor runtime (chopsticks): six validators are seated; four
//! run past two snapshot heights, pruning the blocks before the older one (one of them
//! restarted to serve every snapshot chunk with a byte changed). A fifth, cut off the network
//! early while running, is let back far behind what the others keep: it finds the blocks it
//! needs gone and starts again from their snapshot without a restart. A sixth starts with an
//! empty store and joins from their snapshot, refusing and penalising the lying provider. Both
//! end with the blocks the others hold, and vote: with one of the four stopped, blocks commit
//! only with their votes.
//!
//! `PLATFORM_JOIN_HISTORY=N` makes the four run past height N before the joiners start (default:
//! just past the second snapshot height); with 10 000 it is the long run whose times
//! `docs/benchmarks.md` reports (about 40 minutes here, so not part of the test command).

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
/// Blocks between a snapshot's state and its height: a node starts from the state captured
/// this far below the snapshot height.
const LAG: u64 = SNAPSHOT / 2;
/// Blocks kept below the newest snapshot: far fewer than an operator may set, so that the
/// blocks before the first snapshot are gone when the joiner starts.
const RETAIN: u64 = 50;

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
        // Six validators on one address.
        max_connections_per_ip: Some(32),
        ..Settings::default()
    })
    .map(|cfg| NodeConfig { retain_blocks: RETAIN, ..cfg })
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

/// The peer id of the node whose data directory is `dir` (its identity is created on first use).
fn peer_id(dir: &std::path::Path) -> String {
    let store = RocksStore::open(&dir.join("db")).expect("store");
    let seed = Records::new(std::sync::Arc::new(store)).p2p_identity().expect("identity");
    platform_p2p::Peer::from_secret(seed).expect("peer id").to_string()
}

/// The stored blocks' heights and hashes, read from a stopped node's data directory.
fn stored_blocks(dir: &std::path::Path) -> Vec<(u64, platform_types::Hash)> {
    // A stopped node has closed its store.
    let store = RocksStore::open(&dir.join("db")).expect("the store is closed after shutdown");
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

/// The heights in `blocks` within `from..=to`.
fn held_within(blocks: &[(u64, platform_types::Hash)], from: u64, to: u64) -> Vec<u64> {
    blocks.iter().map(|(h, _)| *h).filter(|h| (from..=to).contains(h)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validators_join_and_catch_up_from_a_snapshot_past_a_lying_provider_and_vote() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    let Some(fx) = start().await else { return };
    // Four validators of 5 units of stake, two of 2: the four alone hold 20/24 (more than two
    // thirds); three of them 15/24 (not), three and one of the two 17/24 (more).
    let names = ["s0", "s1", "s2", "s3", "laggard", "fresh"];
    let stake = |i: usize| if i < 4 { STAKE_RAO } else { STAKE_RAO * 2 / 5 };
    let mut seated: Vec<Keypair> = Vec::new();
    for name in names {
        let key = hotkey(name);
        fx.chain.burned_register(&fx.alice, NetUid::new(NETUID), &key.public()).await.expect("registers");
        seated.push(key);
    }
    let graph = fx.chain.metagraph(NetUid::new(NETUID), None).await.expect("metagraph");
    let mut permits = vec![false; graph.neurons.len()];
    let mut stakes = Vec::new();
    for (i, key) in seated.iter().enumerate() {
        permits[usize::from(graph.uid_of(&key.public()).expect("registered").get())] = true;
        stakes.push(json!([[key.public().to_ss58(), NETUID], stake(i)]));
    }
    fx.local
        .set_storage(
            json!({ "SubtensorModule": { "ValidatorPermit": [[[NETUID], permits]], "TotalHotkeyAlpha": stakes } }),
        )
        .await
        .expect("stake and permits");
    let endpoint = fx.local.url();
    // Joiners ask providers in the order of their peer ids, so which provider serves first is
    // fixed before any node starts: the liar is the one of the four whose id sorts first, and
    // the two joiners are given ids sorting after it (the laggard serves the fresh joiner too).
    let mut dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().expect("dir")).collect();
    let ids: Vec<String> = dirs.iter().map(|d| peer_id(d.path())).collect();
    let liar = (0..4).min_by_key(|&i| ids[i].clone()).expect("four");
    for _ in 0..2 {
        dirs.push(loop {
            let dir = tempfile::tempdir().expect("dir");
            if peer_id(dir.path()) > ids[liar] {
                break dir;
            }
        });
    }

    // The four and the laggard start; the laggard is cut off after a few blocks, and runs on
    // alone (the four hold more than two thirds of the stake without it).
    let mut nodes: Vec<RunningNode> = Vec::new();
    for (i, name) in names[..5].iter().enumerate() {
        let bootstrap = nodes.first().map(|n| n.p2p_addresses.clone()).unwrap_or_default();
        nodes.push(run(node_config(name, dirs[i].path(), &endpoint, bootstrap), &endpoint).await);
    }
    eventually("a few blocks", Duration::from_secs(120), || (tip(&nodes[4]).0 >= 10).then_some(())).await;
    let laggard = nodes.pop().expect("five");
    laggard.isolate(true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let laggard_held = tip(&laggard).0;
    assert!(laggard_held < SNAPSHOT - RETAIN, "cut off at {laggard_held}");

    // The four run past two snapshot heights (or the history asked for), pruning what the
    // laggard would need next.
    let history: u64 =
        std::env::var("PLATFORM_JOIN_HISTORY").ok().and_then(|h| h.parse().ok()).unwrap_or(0).max(2 * SNAPSHOT + 3);
    let started = std::time::Instant::now();
    eventually("the four past the history asked for", Duration::from_secs(240 + history / 2), || {
        nodes.iter().all(|n| tip(n).0 >= history).then_some(())
    })
    .await;
    eprintln!("history: {history} blocks in {:.0} s", started.elapsed().as_secs_f64());

    // The provider whose peer id sorts first is restarted from its store to serve every
    // snapshot chunk with a byte changed.
    assert_eq!(nodes[liar].peer_id, ids[liar]);
    nodes.remove(liar).shutdown().await;
    let bootstrap = nodes[0].p2p_addresses.clone();
    let mut cfg = node_config(names[liar], dirs[liar].path(), &endpoint, bootstrap);
    cfg.fault = Some(platform_node::Fault::WrongSnapshotChunks);
    nodes.insert(liar, run(cfg, &endpoint).await);
    let snapshot = metric(&nodes[liar], "platform_started_from_snapshot").await as u64;
    assert_eq!(LAG, platform_app::snapshot::snapshot_lag(SNAPSHOT));
    assert!(
        snapshot + LAG >= (2 * SNAPSHOT).max(history - history % SNAPSHOT - SNAPSHOT),
        "the liar restarted from {snapshot}"
    );

    // The laggard is let back; a new validator starts with an empty store, bootstrapping from
    // the liar.
    let bootstrap = nodes[liar].p2p_addresses.clone();
    let mut joiners = Vec::new();
    let mut started_from = Vec::new();
    let mut laggard = Some(laggard);
    for name in ["laggard", "fresh"] {
        let started = std::time::Instant::now();
        let joiner = match laggard.take() {
            Some(running) => {
                running.isolate(false).await;
                running
            }
            None => run(node_config(name, dirs[5].path(), &endpoint, bootstrap.clone()), &endpoint).await,
        };
        let target = tip(&nodes[0]).0;
        eventually("the joiner to catch up", Duration::from_secs(120), || (tip(&joiner).0 >= target).then_some(()))
            .await;
        let from = metric(&joiner, "platform_started_from_snapshot").await as u64;
        eprintln!("{name}: from the snapshot at {from} to height {target} in {:.1} s", started.elapsed().as_secs_f64());
        assert!(
            from >= snapshot && (from + LAG).is_multiple_of(SNAPSHOT),
            "{name} started from {from}, not the newest snapshot"
        );
        assert!(metric(&joiner, "platform_state_sync_chunks_total").await >= 1.0);
        // The fresh joiner bootstraps from the liar, whose id sorts first: it asks the liar first.
        // The laggard, let back, fetches from whichever peers it has reconnected to by then.
        if name == "fresh" {
            assert!(metric(&joiner, "platform_state_sync_refused_total").await >= 1.0, "the liar's chunk was refused");
        }
        let rejoins = metric(&joiner, "platform_state_sync_rejoins_total").await;
        assert_eq!(rejoins, f64::from(u8::from(name == "laggard")), "{name}: caught up while running, not at a start");
        joiners.push(joiner);
        started_from.push(from);
    }

    // They vote: with one of the four stopped, the other three hold 15/24 of the stake and
    // blocks commit only with a joiner's votes.
    let stopped = (0..4).find(|&i| i != liar).expect("an honest one");
    nodes.remove(stopped).shutdown().await;
    let before = tip(&nodes[0]).0;
    let stopped_at = std::time::Instant::now();
    eventually("blocks to commit with the joiners' votes", Duration::from_secs(60), || {
        (tip(&nodes[0]).0 >= before + 5).then_some(())
    })
    .await;
    eprintln!("5 blocks committed with the joiners' votes in {:.1} s", stopped_at.elapsed().as_secs_f64());
    for node in nodes.into_iter().chain(joiners) {
        node.shutdown().await;
    }

    // The others pruned the blocks before the oldest snapshot they keep: neither joiner could
    // have replayed from genesis or from where it stopped. The joiners hold no block between
    // what they held and the snapshot, and the blocks after it are the others'.
    let reference = stored_blocks(dirs[liar].path());
    assert!(reference.first().expect("blocks").0 > laggard_held + 1, "pruned: {:?}", reference.first());
    for ((dir, held), from) in [(4, laggard_held), (5, 0)].into_iter().zip(started_from) {
        let joined = stored_blocks(dirs[dir].path());
        assert_eq!(held_within(&joined, 1, from), held_within(&joined, 1, held), "{}", names[dir]);
        assert!(joined.len() as u64 >= held + 5);
        for (height, hash) in &joined {
            if let Some((_, theirs)) = reference.iter().find(|(h, _)| h == height) {
                assert_eq!(hash, theirs, "{} at height {height}", names[dir]);
            }
        }
    }
}
