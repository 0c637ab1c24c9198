//! Part `throughput`: submissions per second one validator accepts, handed in directly and over
//! HTTP, against the rate at which the same cores only verify them; the stages of a submission's
//! round trip; the process's memory.

use super::*;

/// `count` signed regression submissions, round-robin over the miners.
pub(crate) fn sign_submissions(miners: &[Keypair], count: usize, first_nonce: u64) -> Vec<Envelope> {
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

/// Envelopes verified per second on every core: the ceiling admission cannot pass.
pub(crate) fn verification_rate(envelopes: &[Envelope]) -> f64 {
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
pub(crate) async fn submit_direct(
    net: &Arc<Devnet>,
    envelopes: Vec<Envelope>,
    concurrency: usize,
) -> (usize, Duration) {
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
pub(crate) fn submit_http(url: &str, envelopes: Vec<Envelope>, threads: usize) -> (usize, Duration) {
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

pub(crate) async fn throughput_and_memory(rows: &mut Vec<String>) {
    let work = tempfile::tempdir().expect("tempdir");
    let before = rss_mib();
    let validators = bench_validators();
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
