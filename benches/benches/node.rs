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
//!    (part `wrk`; `apt-get install wrk`; skipped without it);
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

#[path = "node/audit.rs"]
mod audit;
#[path = "node/http_load.rs"]
mod http_load;
#[path = "../../crates/platform-node/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use platform_devnet::{Devnet, DevnetConfig, now_ms};
use platform_node::{Query, Settings};
use platform_types::{ChallengeId, Envelope, Keypair, NetUid, Payload, Submission, SubmissionId};

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

fn regression_wasm() -> Vec<u8> {
    let path = support::regression_wasm();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run bash challenges/build.sh", path.display()))
}

/// `count` signed regression submissions, round-robin over the miners.
fn sign_submissions(miners: &[Keypair], count: usize, first_nonce: u64) -> Vec<Envelope> {
    (0..count)
        .map(|i| {
            let miner = &miners[i % miners.len()];
            let payload = format!("{} -2 0.25 5 -0.5", 1 + i % 7).into_bytes();
            let submission = Submission {
                challenge: ChallengeId::new("regression").expect("id"),
                miner: miner.public(),
                payload_size: payload.len() as u64,
                payload: Payload::Inline(payload),
                metadata: vec![],
                nonce: first_nonce + i as u64,
                timestamp_ms: now_ms(),
                phase: Default::default(),
            };
            Envelope::seal(miner, NetUid::new(NETUID), &submission)
        })
        .collect()
}

fn rss_mib() -> f64 {
    rss_mib_of("self")
}

/// CPU seconds (user + system) of a `/proc/.../stat` file; zero when it cannot be read.
fn stat_cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which ends with the last ')'): utime and stime are the
    // 12th and 13th of them, in clock ticks of 1/100 s on Linux.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds this process has used, in total and by thread name.
fn cpu_by_thread() -> (f64, std::collections::BTreeMap<String, f64>) {
    let mut threads = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_string();
        *threads.entry(name).or_insert(0.0) += stat_cpu_seconds(&dir.join("stat").to_string_lossy());
    }
    (stat_cpu_seconds("/proc/self/stat"), threads)
}

/// Cores used between two [`cpu_by_thread`] readings over `elapsed`: the total and the
/// busiest thread names.
fn cores_used(
    before: &(f64, std::collections::BTreeMap<String, f64>),
    after: &(f64, std::collections::BTreeMap<String, f64>),
    elapsed: Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    let mut by_name: Vec<(String, f64)> = after
        .1
        .iter()
        .map(|(name, cpu)| (name.clone(), (cpu - before.1.get(name).copied().unwrap_or(0.0)) / secs))
        .filter(|(_, cores)| *cores >= 0.01)
        .collect();
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = by_name.iter().map(|(name, cores)| format!("{name} {cores:.2}")).collect();
    format!("{:.2} cores ({})", (after.0 - before.0) / secs, parts.join(", "))
}

/// VmRSS of `/proc/<pid>/status`, in MiB.
fn rss_mib_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Samples the process's RSS every 50 ms, keeping the peak.
struct PeakRss {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl PeakRss {
    fn start() -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kib.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max((rss_mib() * 1024.0) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        PeakRss { peak_kib, stop }
    }

    fn peak_mib(&self) -> f64 {
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Envelopes verified per second on every core: the ceiling admission cannot pass.
fn verification_rate(envelopes: &[Envelope]) -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for chunk in envelopes.chunks(envelopes.len().div_ceil(threads)) {
            scope.spawn(move || {
                for e in chunk {
                    e.open::<Submission>(NetUid::new(NETUID)).expect("valid");
                }
            });
        }
    });
    envelopes.len() as f64 / start.elapsed().as_secs_f64()
}

/// Hands `envelopes` to validator 0 from `concurrency` tasks; returns (accepted, elapsed).
async fn submit_direct(net: &Arc<Devnet>, envelopes: Vec<Envelope>, concurrency: usize) -> (usize, Duration) {
    let queue = Arc::new(std::sync::Mutex::new(envelopes));
    let accepted = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (net, queue, accepted) = (net.clone(), queue.clone(), accepted.clone());
        tasks.spawn(async move {
            loop {
                let next = queue.lock().expect("queue").pop();
                let Some(envelope) = next else { break };
                match net.node(0).expect("validator 0").submit(envelope, None).await {
                    Ok(_) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(r) => eprintln!("refused: {}", r.reason),
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    (accepted.load(Ordering::Relaxed) as usize, start.elapsed())
}

/// Posts `envelopes` to `url` from `threads` blocking HTTP clients; returns (accepted, elapsed).
fn submit_http(url: &str, envelopes: Vec<Envelope>, threads: usize) -> (usize, Duration) {
    let bodies: Vec<String> =
        envelopes.iter().map(|e| serde_json::json!({ "envelope": hex::encode(e.to_bytes()) }).to_string()).collect();
    let queue = std::sync::Mutex::new(bodies);
    let accepted = AtomicU64::new(0);
    let endpoint = format!("{url}/submissions");
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                loop {
                    let next = queue.lock().expect("queue").pop();
                    let Some(body) = next else { break };
                    let response = agent.post(&endpoint).content_type("application/json").send(body.as_str());
                    match response {
                        Ok(r) if r.status().as_u16() == 202 => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(mut r) => eprintln!("refused: {}", r.body_mut().read_to_string().unwrap_or_default()),
                        Err(e) => eprintln!("HTTP error: {e}"),
                    }
                }
            });
        }
    });
    (accepted.load(Ordering::Relaxed) as usize, start.elapsed())
}

async fn metric(url: &str, name: &str) -> u64 {
    metric_f64(url, name).await as u64
}

/// The value of metric `name` at `url` (0 when absent).
async fn metric_f64(url: &str, name: &str) -> f64 {
    let url = format!("{url}/metrics");
    let text = tokio::task::spawn_blocking(move || {
        ureq::get(&url).call().ok().and_then(|mut r| r.body_mut().read_to_string().ok()).unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// The cumulative buckets `(upper bound in seconds, count)` of histogram `name` at `url`.
async fn histogram(url: &str, name: &str) -> Vec<(f64, u64)> {
    let url = format!("{url}/metrics");
    let text = tokio::task::spawn_blocking(move || {
        ureq::get(&url).call().ok().and_then(|mut r| r.body_mut().read_to_string().ok()).unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    let prefix = format!("{name}_bucket{{le=\"");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// The `q` quantile of the observations between two scrapes of the same histograms (summed
/// over validators), interpolated linearly within its bucket; and how many there were.
fn quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> (f64, u64) {
    let deltas: Vec<(f64, u64)> =
        after.iter().zip(before).map(|(&(le, a), &(_, b))| (le, a.saturating_sub(b))).collect();
    let total = deltas.last().map_or(0, |&(_, c)| c);
    let rank = q * total as f64;
    let mut lower = (0.0, 0u64);
    for &(le, count) in &deltas {
        if count as f64 >= rank {
            let span = (count - lower.1).max(1) as f64;
            let upper = if le.is_finite() { le } else { lower.0 * 2.0 };
            return (lower.0 + (upper - lower.0) * (rank - lower.1 as f64) / span, total);
        }
        lower = (le, count);
    }
    (f64::NAN, total)
}

/// The histograms of every validator, summed bucket by bucket.
async fn summed_histogram(urls: &[String], name: &str) -> Vec<(f64, u64)> {
    let mut sum: Vec<(f64, u64)> = Vec::new();
    for url in urls {
        let one = histogram(url, name).await;
        if sum.is_empty() {
            sum = one;
        } else {
            for (slot, (_, count)) in sum.iter_mut().zip(one) {
                slot.1 += count;
            }
        }
    }
    sum
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

async fn throughput_and_memory(rows: &mut Vec<String>) {
    let work = tempfile::tempdir().expect("tempdir");
    let before = rss_mib();
    // Validators in the process (PLATFORM_BENCH_VALIDATORS, default 2): with one, the load's
    // validator has the two cores to itself, as on an operator's machine, and nothing gossips.
    let validators: usize =
        std::env::var("PLATFORM_BENCH_VALIDATORS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1);
    eprintln!("throughput: starting {validators} validators");
    let net = Devnet::start(config(work.path(), validators, 250), &mut progress).await.expect("devnet");
    net.add_challenge("regression", regression_wasm(), 1_000_000_000, Duration::from_secs(60)).await.expect("add");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle = rss_mib();
    let net = Arc::new(net);
    let url0 = net.url(0).expect("url");
    // The second validator's acceptances by gossip; validator 0's own count without one.
    let url1 = net.url(1.min(validators - 1)).expect("url");

    let direct = sign_submissions(&net.miners, 40_000, 1);
    // Submissions in flight at once (each waits for its synced write): PLATFORM_BENCH_TASKS.
    let tasks: usize = std::env::var("PLATFORM_BENCH_TASKS").ok().and_then(|t| t.parse().ok()).unwrap_or(64);
    let http = sign_submissions(&net.miners, 20_000, 1_000_000);
    let baseline = verification_rate(&direct[..10_000]);

    let peak = PeakRss::start();
    let gossiped_before = metric(&url1, "platform_submissions_accepted_total").await;
    let stages = ["check_seconds", "check_batch", "store_seconds", "write_seconds", "write_batch"]
        .map(|stage| format!("platform_admission_{stage}"));
    let mut stages_before = Vec::new();
    for name in &stages {
        stages_before.push(histogram(&url0, name).await);
    }
    let commit_turns_before = histogram(&url0, "platform_commit_turn_seconds").await;
    let committing_before = metric_f64(&url0, "platform_commit_turn_seconds_sum").await;
    let cpu_before = cpu_by_thread();
    let unix = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let direct_from = unix();
    let (direct_ok, direct_time) = submit_direct(&net, direct, tasks).await;
    // Wall-clock bounds of the direct phase, to slice a profile (`perf record -k realtime`).
    eprintln!("throughput: direct phase from {direct_from:.3} to {:.3} (Unix seconds)", unix());
    let direct_cores = cores_used(&cpu_before, &cpu_by_thread(), direct_time);
    let commit_turns = histogram(&url0, "platform_commit_turn_seconds").await;
    let committing = metric_f64(&url0, "platform_commit_turn_seconds_sum").await - committing_before;
    let commit_turn =
        (quantile(&commit_turns_before, &commit_turns, 0.5), quantile(&commit_turns_before, &commit_turns, 0.99).0);
    let mut stage_quantiles = Vec::new();
    for (name, before) in stages.iter().zip(&stages_before) {
        let after = histogram(&url0, name).await;
        let (p50, total) = quantile(before, &after, 0.5);
        stage_quantiles.push((p50, quantile(before, &after, 0.99).0, total));
    }
    let url = url0.clone();
    let (http_ok, http_time) =
        tokio::task::spawn_blocking(move || submit_http(&url, http, 32)).await.expect("http load");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let gossiped = metric(&url1, "platform_submissions_accepted_total").await - gossiped_before;
    let peak_mib = peak.peak_mib();
    drop(peak);

    let direct_rate = direct_ok as f64 / direct_time.as_secs_f64();
    let http_rate = http_ok as f64 / http_time.as_secs_f64();
    rows.push(format!(
        "| accepted, handed in directly ({tasks} tasks; the process used {direct_cores} meanwhile) | {direct_ok} in {:.2} s: **{direct_rate:.0}/s** | verification only, 2 threads: {baseline:.0}/s | {:.2} |",
        direct_time.as_secs_f64(),
        direct_rate / baseline
    ));
    let ms = |(p50, p99, _): (f64, f64, u64)| format!("p50 {:.2} ms, p99 {:.2} ms", p50 * 1e3, p99 * 1e3);
    // Batch sizes: the mean is what a submission sees (the median batch is often of one).
    let n = |(p50, p99, batches): (f64, f64, u64)| {
        format!(
            "{:.1} on average (p50 {p50:.0}, p99 {p99:.0}, {batches} batches)",
            direct_ok as f64 / batches.max(1) as f64
        )
    };
    let [check, check_batch, store, write, write_batch] = stage_quantiles[..] else { unreachable!("five stages") };
    rows.push(format!(
        "| a direct submission's round trip at validator 0 (same phase) | signature check (queue and batch): {}, batches of {}; hand-off to answer (loop, checks, group write): {}; one group write: {}, of {} | | |",
        ms(check),
        n(check_batch),
        ms(store),
        ms(write),
        n(write_batch)
    ));
    let ((turn_p50, blocks), turn_p99) = commit_turn;
    rows.push(format!(
        "| the event loop's turns committing a block (same phase; it admits nothing meanwhile) | {blocks} blocks, p50 {:.1} ms, p99 {:.1} ms: {:.0} ms in all, {:.1} % of the phase | | |",
        turn_p50 * 1e3,
        turn_p99 * 1e3,
        committing * 1e3,
        100.0 * committing / direct_time.as_secs_f64()
    ));
    rows.push(format!(
        "| accepted over HTTP (32 keep-alive clients in the same process) | {http_ok} in {:.2} s: **{http_rate:.0}/s** | verification only, 2 threads: {baseline:.0}/s | {:.2} |",
        http_time.as_secs_f64(),
        http_rate / baseline
    ));
    if validators > 1 {
        rows.push(format!(
            "| received by gossip and accepted by the second validator | {gossiped} of {} | | |",
            direct_ok + http_ok
        ));
    }
    rows.push(format!(
        "| process RSS, idle ({validators} validators; load generator not started) | {idle:.0} MiB (≈ {:.0} MiB each) | before any validator: {before:.0} MiB | |",
        (idle - before) / validators as f64
    ));
    rows.push(format!(
        "| process RSS, peak under the load above | {peak_mib:.0} MiB | idle: {idle:.0} MiB | {:.2} |",
        peak_mib / idle
    ));
    match Arc::try_unwrap(net) {
        Ok(net) => net.shutdown().await,
        Err(_) => eprintln!("devnet still shared; dropped"),
    }
}

/// One `validator-node` process (the release binary next to this benchmark's) idle in a network
/// of two, with the regression challenge loaded: its resident memory over 30 s.
async fn idle_process(rows: &mut Vec<String>) {
    let binary = validator_binary();
    let work = tempfile::tempdir().expect("tempdir");
    eprintln!("idle: starting a validator in-process and one as a process");
    let mut config = config(work.path(), 2, 250);
    config.external = 1;
    let net = Devnet::start(config, &mut progress).await.expect("devnet");
    let mut settings = net.settings(1);
    settings.http_addr = Some(format!("127.0.0.1:{}", support::free_port()));
    let url = format!("http://{}", settings.http_addr.as_deref().expect("addr"));
    let mut child =
        support::spawn_validator(binary.to_str().expect("utf-8"), &settings, &work.path().join("v1.log"), &[]);
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
        "| `validator-node` process idle for 30 s (one peer, regression loaded, committing empty blocks: height {height}) | RSS **{last:.0} MiB** (max {max:.0}) | goal ≤ 100 MiB | {:.2} |",
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
