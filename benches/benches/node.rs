//! The validator node under load, against the real subtensor runtime (chopsticks):
//!
//! 1. submissions per second one validator accepts (signature checked, admitted, stored with a
//!    synced write, gossiped to a second validator), handed in directly and over HTTP, against
//!    the rate at which the same two cores only verify the same envelopes
//!    (`PLATFORM_BENCH_VALIDATORS=1`: the validator alone on the cores; `PLATFORM_BENCH_TASKS`:
//!    submissions in flight, 64 by default);
//! 2. submission -> final score latency with four validators (p50, p99), against the time the
//!    network takes to commit one block;
//! 3. resident memory of the process: before any validator, idle, and at the peak under load;
//! 4. consensus commit latency of four validators (p50, p99), idle and while one of them admits
//!    submissions at full load (part `commit`);
//! 5. submissions per second accepted over HTTP with the load from a separate process, `wrk`
//!    (part `wrk`; `apt-get install wrk`; skipped without it; `PLATFORM_BENCH_VALIDATORS` as in 1;
//!    bodies are the envelopes' wire bytes, or JSON with `PLATFORM_BENCH_BODY=json`);
//! 6. `validator-node devnet` with 4 and with 16 validators: time to first weights (part `devnet`);
//! 7. the public audit's replay: blocks per second, and evaluations run again per second against
//!    the sandbox's own rate on the same payloads (part `audit`).
//!
//! ```sh
//! cargo bench -p platform-benches --bench node
//! ```
//!
//! Needs the chain spec (`PLATFORM_CHAIN_DIR`, default `../shared/chain`), Node.js for
//! chopsticks, and `challenges/dist/regression.wasm` (`bash challenges/build.sh`).

/// The validators run in this process: on the allocator `validator-node` uses (its `main.rs`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "node/audit.rs"]
mod audit;
#[path = "node/http_load.rs"]
mod http_load;
#[path = "node/process.rs"]
mod process;
#[path = "node/scrape.rs"]
mod scrape;
#[path = "../../crates/platform-node/tests/support/mod.rs"]
mod support;
#[path = "node/throughput.rs"]
mod throughput;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use platform_devnet::{Devnet, DevnetConfig, now_ms};
use platform_node::{Query, Settings};
use platform_types::{ChallengeId, Envelope, Keypair, NetUid, Payload, Submission, SubmissionId};

use process::*;
use scrape::*;
use throughput::*;

const NETUID: u16 = 1;

fn config(work: &std::path::Path, validators: usize, block_interval_ms: u64) -> DevnetConfig {
    let spec = support::chain_common::spec_path().expect("the chain spec (PLATFORM_CHAIN_DIR)");
    let mut config = DevnetConfig::new(spec, support::root().join("tests/chopsticks"), work.to_path_buf());
    config.validators = validators;
    config.miners = 4;
    config.netuid = NETUID;
    config.settings = Settings {
        block_interval_ms: Some(block_interval_ms),
        view_timeout_ms: Some(2_000),
        miner_rate_per_minute: Some(u32::MAX),
        mempool_capacity: Some(1_000_000),
        ..Settings::default()
    };
    config
}

/// Validators the load parts start in the process (`PLATFORM_BENCH_VALIDATORS`, default 2): with
/// one, the loaded validator has the two cores to itself, as on an operator's machine, and
/// nothing gossips; with two, the second admits every submission again from gossip on the same
/// cores.
fn bench_validators() -> usize {
    std::env::var("PLATFORM_BENCH_VALIDATORS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1)
}

fn regression_wasm() -> Vec<u8> {
    let path = support::regression_wasm();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run bash challenges/build.sh", path.display()))
}

/// Consensus commit latency (proposal held → committed, `platform_commit_latency_seconds`) of
/// four validators on loopback, idle and while validator 0 admits submissions at full load.
async fn commit_latency(rows: &mut Vec<String>) {
    let work = tempfile::tempdir().expect("tempdir");
    eprintln!("commit latency: starting 4 validators");
    let net = Devnet::start(config(work.path(), 4, 250), &mut progress).await.expect("devnet");
    net.add_challenge("regression", regression_wasm(), 1_000_000_000, Duration::from_secs(60)).await.expect("add");
    let urls: Vec<String> = (0..4).map(|i| net.url(i).expect("url")).collect();
    let name = "platform_commit_latency_seconds";
    tokio::time::sleep(Duration::from_secs(5)).await;
    let start = summed_histogram(&urls, name).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let idle = summed_histogram(&urls, name).await;
    let net = Arc::new(net);
    let envelopes = sign_submissions(&net.miners, 100_000, 1);
    let before_load = summed_histogram(&urls, name).await;
    let (accepted, elapsed) = submit_direct(&net, envelopes, 64).await;
    let loaded = summed_histogram(&urls, name).await;
    let ms = |(s, _): (f64, u64)| s * 1e3;
    let (idle_p50, idle_p99) = (quantile(&start, &idle, 0.5), quantile(&start, &idle, 0.99));
    let (load_p50, load_p99) = (quantile(&before_load, &loaded, 0.5), quantile(&before_load, &loaded, 0.99));
    rows.push(format!(
        "| commit latency, 4 validators idle for 30 s ({} commits over the 4) | p50 {:.0} ms, p99 {:.0} ms | | |",
        idle_p50.1,
        ms(idle_p50),
        ms(idle_p99)
    ));
    rows.push(format!(
        "| commit latency while validator 0 admits {accepted} submissions at {:.0}/s (64 in flight; {} commits over the 4) | p50 **{:.0} ms**, p99 **{:.0} ms** | idle: p50 {:.0} ms, p99 {:.0} ms | p50 {:.2}, p99 {:.2} |",
        accepted as f64 / elapsed.as_secs_f64(),
        load_p50.1,
        ms(load_p50),
        ms(load_p99),
        ms(idle_p50),
        ms(idle_p99),
        load_p50.0 / idle_p50.0,
        load_p99.0 / idle_p99.0
    ));
    match Arc::try_unwrap(net) {
        Ok(net) => net.shutdown().await,
        Err(_) => eprintln!("devnet still shared; dropped"),
    }
}

fn progress(step: String) {
    eprintln!("  {step}");
}

/// One `validator-node` process (the release binary next to this benchmark's) idle in a network
/// of four, with the regression challenge loaded: its resident memory over 30 s. The other three
/// run in this process: they hold more than two thirds of the stake, so they agree on the
/// genesis set before the process starts (two validators, one of them the process, could not).
async fn idle_process(rows: &mut Vec<String>) {
    let binary = validator_binary();
    let work = tempfile::tempdir().expect("tempdir");
    eprintln!("idle: starting three validators in-process and one as a process");
    let mut config = config(work.path(), 4, 250);
    config.external = 1;
    let net = Devnet::start(config, &mut progress).await.expect("devnet");
    let mut settings = net.settings(3);
    settings.http_addr = Some(format!("127.0.0.1:{}", support::free_port()));
    let url = format!("http://{}", settings.http_addr.as_deref().expect("addr"));
    let mut child =
        support::spawn_validator(binary.to_str().expect("utf-8"), &settings, &work.path().join("v3.log"), &[]);
    support::eventually("the process to commit", Duration::from_secs(60), || {
        (support::height(&url) >= 2).then_some(())
    })
    .await;
    net.add_challenge("regression", regression_wasm(), 1_000_000_000, Duration::from_secs(60)).await.expect("add");
    let pid = child.id().to_string();
    let mut samples = Vec::new();
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(rss_mib_of(&pid));
    }
    let height = support::height(&url);
    let _ = child.kill();
    let _ = child.wait();
    net.shutdown().await;
    let max = samples.iter().copied().fold(0.0, f64::max);
    let last = samples.last().copied().unwrap_or(0.0);
    rows.push(format!(
        "| `validator-node` process idle for 30 s (three peers, regression loaded, committing empty blocks: height {height}) | RSS **{last:.0} MiB** (max {max:.0}) | goal ≤ 100 MiB | {:.2} |",
        last / 100.0
    ));
}

/// The release binary next to this benchmark's.
fn validator_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let binary = exe.parent().and_then(|deps| deps.parent()).map(|dir| dir.join("validator-node")).expect("path");
    assert!(binary.is_file(), "{} missing: cargo build --release -p validator-node first", binary.display());
    binary
}

/// `validator-node devnet` (the README's first command, built): wall time from its start to
/// the first weights on chain, and to the same weights from every validator; with the default
/// four validators, then with sixteen.
fn devnet_command(rows: &mut Vec<String>) {
    for (validators, miners) in [(4, 3), (16, 5)] {
        let work = tempfile::tempdir().expect("tempdir");
        eprintln!("devnet: running validator-node devnet with {validators} validators until the weights are on chain");
        let start = Instant::now();
        let (v, m) = (validators.to_string(), miners.to_string());
        let run = support::run_devnet_command(
            validator_binary().to_str().expect("utf-8"),
            &work.path().join("devnet"),
            &["--validators", &v, "--miners", &m],
            Duration::from_secs(600),
        );
        let total = start.elapsed();
        assert!(run.clean_exit, "{}", run.output);
        assert!(run.output.contains("identical across validators: yes"), "{}", run.output);
        rows.push(format!(
            "| `validator-node devnet --validators {validators}` (release, built): start to first weights on chain | **{:.1} s** (identical from all {validators} validators, Ctrl-C, clean exit: {:.1} s in all) | goal ≤ 120 s | {:.2} |",
            run.first_weights.as_secs_f64(),
            total.as_secs_f64(),
            run.first_weights.as_secs_f64() / 120.0
        ));
    }
}

async fn latency(rows: &mut Vec<String>) {
    let work = tempfile::tempdir().expect("tempdir");
    eprintln!("latency: starting 4 validators");
    let net = Devnet::start(config(work.path(), 4, 250), &mut progress).await.expect("devnet");
    net.add_challenge("regression", regression_wasm(), 1_000_000_000, Duration::from_secs(60)).await.expect("add");
    let net = Arc::new(net);
    let node = || net.node(0).expect("validator 0");
    let height = |v: serde_json::Value| v["tip"]["height"].as_u64().unwrap_or(0);

    // Baseline: the time one block takes to commit, over 10 s.
    let h0 = height(node().query(Query::Consensus).await.expect("info"));
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let h1 = height(node().query(Query::Consensus).await.expect("info"));
    let block_ms = t0.elapsed().as_secs_f64() * 1000.0 / (h1 - h0).max(1) as f64;

    // 200 submissions at 20 per second; each is followed until validator 0 reports it final.
    let envelopes = sign_submissions(&net.miners, 200, 1);
    let mut pending: Vec<(SubmissionId, Instant)> = Vec::new();
    let mut latencies: Vec<f64> = Vec::new();
    let mut next = envelopes.into_iter();
    let mut send_tick = tokio::time::interval(Duration::from_millis(50));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut sending = true;
    while (sending || !pending.is_empty()) && Instant::now() < deadline {
        send_tick.tick().await;
        if sending {
            match next.next() {
                Some(envelope) => {
                    let sent = Instant::now();
                    let id = node().submit(envelope, None).await.expect("accepted");
                    pending.push((id, sent));
                }
                None => sending = false,
            }
        }
        let mut still = Vec::new();
        for (id, sent) in pending {
            let status = node().query(Query::Submission(id)).await.expect("status");
            if status["final"] == true {
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            } else {
                still.push((id, sent));
            }
        }
        pending = still;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    rows.push(format!(
        "| submission -> final score, 4 validators, 20/s for 10 s ({} of 200 final) | p50 **{:.0} ms**, p99 **{:.0} ms**, max {:.0} ms | one block commits every {block_ms:.0} ms | p50 = {:.1} blocks |",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(0.0),
        pct(0.5) / block_ms
    ));
    match Arc::try_unwrap(net) {
        Ok(net) => net.shutdown().await,
        Err(_) => eprintln!("devnet still shared; dropped"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and a run of several
    // local networks is no unit test.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("node benchmark: run it with cargo bench -p platform-benches --bench node");
        return;
    }
    // A filter argument picks one part.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    println!("| measurement | result | baseline in the same run | ratio |");
    println!("|---|---|---|---|");
    // Rows are printed as each part finishes, so a failing part keeps the others' figures.
    let print = |rows: &mut Vec<String>| {
        for row in rows.drain(..) {
            println!("{row}");
        }
    };
    let mut rows = Vec::new();
    runtime.block_on(async {
        if filter.is_empty() || "throughput".contains(&filter) {
            throughput_and_memory(&mut rows).await;
            print(&mut rows);
        }
        if filter.is_empty() || "wrk".contains(&filter) {
            http_load::external_http_load(&mut rows).await;
            print(&mut rows);
        }
        if filter.is_empty() || "latency".contains(&filter) {
            latency(&mut rows).await;
            print(&mut rows);
        }
        if filter.is_empty() || "commit".contains(&filter) {
            commit_latency(&mut rows).await;
            print(&mut rows);
        }
        if filter.is_empty() || "idle".contains(&filter) {
            idle_process(&mut rows).await;
            print(&mut rows);
        }
        if filter.is_empty() || "devnet".contains(&filter) {
            tokio::task::block_in_place(|| devnet_command(&mut rows));
            print(&mut rows);
        }
        if filter.is_empty() || "audit".contains(&filter) {
            audit::audit(&mut rows).await;
            print(&mut rows);
        }
    });
}
