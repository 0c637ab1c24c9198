//! The whole network as four `validator-node` processes on loopback, against the real subtensor
//! runtime (chopsticks). One of them lies about every score (`PLATFORM_FAULT=wrong-scores`).
//!
//! - Bad input (a sudo action signed by a non-owner key, a submission from an unregistered
//!   hotkey, a malformed envelope, a payload the challenge cannot read) is refused with its
//!   reason, and the network keeps going.
//! - The liar's evaluations are committed but excluded as outliers: every final score equals
//!   the honest validators' score, and the weights every validator sets on chain (the liar
//!   included: it follows consensus) equal those computed from the honest scores alone.
//! - One honest validator is partitioned off (`PLATFORM_FAULT=isolate-on-signal`: SIGUSR2 closes
//!   every p2p connection it has and every new one, in both directions, while the process keeps
//!   running; this machine has no packet filter to drop its traffic instead): the other three
//!   hold 3/4 of the stake and keep committing and finalising, while it cannot commit alone.
//!   Restored (SIGUSR2 again), it redials its peers, catches up, evaluates what it missed, and sets the
//!   next epoch's weights like everyone else.
//!
//! Killing a validator process with SIGKILL and restarting it from `data/` is `process.rs`.

#[path = "../../../crates/platform-node/tests/support/mod.rs"]
mod support;

use std::process::Child;
use std::time::Duration;

use platform_chain::Chain;
use platform_devnet::{Devnet, challenge_spec, now_ms};
use platform_scoring::{MinerScore, chain_weights, normalise};
use platform_types::{
    ChallengeId, Envelope, Keypair, MechanismId, NetUid, Normalisation, Payload, Submission, SudoAction, SudoCommand,
};
use serde_json::{Value, json};
use support::{eventually, free_port, get, height, post, root};

const NETUID: u16 = 1;
const LIAR: usize = 3;
const CUT_OFF: usize = 2;

/// The four processes, their API URLs and logs.
struct Processes {
    children: Vec<Child>,
    urls: Vec<String>,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{name}");
}

fn sealed<T: platform_types::WireMessage>(key: &Keypair, message: &T) -> String {
    hex::encode(Envelope::seal(key, NetUid::new(NETUID), message).to_bytes())
}

fn submission(miner: &Keypair, payload: &[u8], nonce: u64) -> Submission {
    Submission {
        challenge: ChallengeId::new("regression").expect("id"),
        miner: miner.public(),
        payload_size: payload.len() as u64,
        payload: Payload::Inline(payload.to_vec()),
        metadata: vec![],
        nonce,
        timestamp_ms: now_ms(),
        phase: Default::default(),
    }
}

/// POSTs a submission; the id when accepted.
fn submit(url: &str, miner: &Keypair, payload: &[u8], nonce: u64) -> String {
    let (status, body) =
        post(&format!("{url}/submissions"), json!({ "envelope": sealed(miner, &submission(miner, payload, nonce)) }));
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// Waits until `url` reports the submission final with evaluations from `evaluators` validators.
async fn final_with(url: &str, id: &str, evaluators: usize) -> Value {
    eventually(&format!("{id} final with {evaluators} evaluations at {url}"), Duration::from_secs(90), || {
        let (_, s) = get(&format!("{url}/submissions/{id}"));
        let n = s["evaluations"].as_array().map_or(0, Vec::len);
        (s["final"] == true && n >= evaluators).then_some(s)
    })
    .await
}

/// The score the honest validators gave, checking they agree and the liar does not.
fn honest_score(status: &Value, liar: &str) -> u32 {
    let evaluations = status["evaluations"].as_array().expect("evaluations");
    let honest: Vec<u64> =
        evaluations.iter().filter(|e| e["validator"] != liar).filter_map(|e| e["score_ppb"].as_u64()).collect();
    assert!(honest.len() >= 2 && honest.iter().all(|s| *s == honest[0]), "{status}");
    if let Some(lie) = evaluations.iter().find(|e| e["validator"] == liar) {
        assert_ne!(lie["score_ppb"].as_u64(), Some(honest[0]), "the liar lied: {status}");
    }
    assert_eq!(status["score_ppb"].as_u64(), Some(honest[0]), "the final score is the honest one: {status}");
    u32::try_from(honest[0]).expect("ppb")
}

/// The weights the subnet should get from these (uid, honest score) pairs: one linear
/// challenge holding the whole emission.
fn expected_weights(scores: &[(u16, u32)]) -> Vec<(u16, u16)> {
    let miners: Vec<MinerScore> = scores.iter().map(|&(uid, score_ppb)| MinerScore { uid, score_ppb }).collect();
    let shares = normalise(&miners, Normalisation::Linear, None, 0);
    let (uids, values): (Vec<u16>, Vec<f64>) = shares.into_iter().unzip();
    let (uids, weights) = chain_weights(&uids, &values).expect("weights");
    uids.into_iter().zip(weights).collect()
}

/// Waits until every validator's weights on chain equal `expected`.
async fn weights_on_chain(net: &Devnet, expected: &[(u16, u16)]) {
    let graph = net.chain.metagraph(NetUid::new(NETUID), None).await.expect("metagraph");
    for (i, key) in net.validators.iter().enumerate() {
        let uid = graph.uid_of(&key.public()).expect("seated").get();
        eventually(&format!("validator {i}'s weights on chain"), Duration::from_secs(120), || {
            let chain = net.chain.clone();
            let weights = tokio::runtime::Handle::current()
                .block_on(async move { chain.weights(NetUid::new(NETUID), MechanismId::new(0), uid, None).await })
                .expect("read weights");
            (weights == expected).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_processes_refuse_bad_input_exclude_a_liar_and_survive_a_partitioned_validator() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(net) = support::devnet(work.path(), 4, 4, 3).await else { return };
    let graph = net.chain.metagraph(NetUid::new(NETUID), None).await.expect("metagraph");
    let uid = |key: &Keypair| graph.uid_of(&key.public()).expect("seated").get();
    let liar = net.validators[LIAR].public().to_ss58();

    // Four processes; each bootstraps from the ones started before it.
    let mut procs = Processes { children: Vec::new(), urls: Vec::new() };
    let mut bootstrap: Vec<String> = Vec::new();
    for i in 0..4 {
        let mut settings = net.settings(i);
        settings.http_addr = Some(format!("127.0.0.1:{}", free_port()));
        let port = free_port();
        settings.p2p_listen_addr = Some(format!("/ip4/127.0.0.1/tcp/{port}"));
        settings.bootstrap_peers = Some(bootstrap.clone());
        let url = format!("http://{}", settings.http_addr.as_deref().expect("addr"));
        let fault: &[(&str, &str)] = match i {
            LIAR => &[("PLATFORM_FAULT", "wrong-scores")],
            CUT_OFF => &[("PLATFORM_FAULT", "isolate-on-signal")],
            _ => &[],
        };
        let log = work.path().join(format!("validator-{i}.log"));
        procs.children.push(support::spawn_validator(env!("CARGO_BIN_EXE_validator-node"), &settings, &log, fault));
        let identity = eventually(&format!("validator {i} to serve its API"), Duration::from_secs(60), || {
            let (status, body) = get(&format!("{url}/identity"));
            (status == 200).then_some(body)
        })
        .await;
        bootstrap.push(format!("/ip4/127.0.0.1/tcp/{port}/p2p/{}", identity["peer_id"].as_str().expect("peer id")));
        procs.urls.push(url);
    }
    let urls = procs.urls.clone();
    for url in &urls {
        eventually("every process to commit blocks", Duration::from_secs(90), || (height(url) >= 2).then_some(()))
            .await;
    }

    // The owner adds the challenge through validator 0's API; every process loads it.
    let wasm = std::fs::read(root().join("challenges/dist/regression.wasm")).expect("run challenges/build.sh");
    let spec = challenge_spec("regression", &wasm, 1_000_000_000).expect("spec");
    let add = SudoAction { command: SudoCommand::AddChallenge(spec), nonce: now_ms(), timestamp_ms: now_ms() };

    // Bad input first: a non-owner's sudo action, then the owner's.
    let intruder = net.miners[0].clone();
    let (status, body) = post(
        &format!("{}/sudo", urls[0]),
        json!({ "envelope": sealed(&intruder, &add), "module": hex::encode(&wasm) }),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("owner")), "{body}");
    let (status, body) = post(
        &format!("{}/sudo", urls[0]),
        json!({ "envelope": sealed(&net.owner, &add), "module": hex::encode(&wasm) }),
    );
    assert_eq!(status, 202, "{body}");
    for url in &urls {
        eventually("every process to load the challenge", Duration::from_secs(60), || {
            (get(&format!("{url}/challenges")).1[0]["module_loaded"] == true).then_some(())
        })
        .await;
    }

    // An unregistered hotkey, a malformed envelope: refused with a reason.
    let stranger = Keypair::from_suri("//Platform//stranger").expect("key");
    let (status, body) = post(
        &format!("{}/submissions", urls[1]),
        json!({ "envelope": sealed(&stranger, &submission(&stranger, b"1 -2 0.25 5 -0.5", 1)) }),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("not registered")), "{body}");
    let (status, body) = post(&format!("{}/submissions", urls[2]), json!({ "envelope": "00ff00ff" }));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("malformed")), "{body}");

    // Two miners with different models, a third whose payload the challenge cannot read.
    let [a, b, c] = [&net.miners[0], &net.miners[1], &net.miners[2]];
    let id_a = submit(&urls[0], a, b"1 -2 0.25 5 -0.5", 1);
    let id_b = submit(&urls[1], b, b"1 -1 0 4 0", 1);
    let id_c = submit(&urls[2], c, b"this is not a model", 1);
    let status_c = final_with(&urls[3], &id_c, 4).await;
    assert!(status_c["evaluations"].as_array().expect("evaluations").iter().all(|e| e["status"] == "rejected"));
    assert_eq!(status_c["score_ppb"].as_u64(), Some(0), "{status_c}");
    // A refused payload is reported as such, with the challenge's reason (not as "scored" 0).
    assert_eq!(status_c["status"], "rejected", "{status_c}");
    assert!(status_c["reason"].as_str().is_some_and(|r| r.contains("not a decimal number")), "{status_c}");
    let mut scores = Vec::new();
    for (key, id) in [(a, &id_a), (b, &id_b)] {
        let finals: Vec<Value> = {
            let mut v = Vec::new();
            for url in &urls {
                v.push(final_with(url, id, 4).await);
            }
            v
        };
        assert!(finals.iter().all(|s| s["score_ppb"] == finals[0]["score_ppb"]), "{finals:?}");
        scores.push((uid(key), honest_score(&finals[0], &liar)));
    }
    assert_ne!(scores[0].1, scores[1].1, "two different models score differently");

    // An epoch passes: every validator, the liar included, sets the honest weights.
    net.local.new_blocks(u32::from(net.config.tempo) + 2).await.expect("blocks");
    weights_on_chain(&net, &expected_weights(&scores)).await;

    // Validator 2 is partitioned off. The other three hold 3/4 of the stake and go on; it is
    // alone and cannot commit.
    let cut_at = height(&urls[0]);
    signal(&procs.children[CUT_OFF], "USR2");
    eventually("the partitioned validator to have no peers", Duration::from_secs(30), || {
        get(&format!("{}/peers", urls[CUT_OFF])).1.as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .await;
    let island_at = height(&urls[CUT_OFF]);
    eventually("the majority to commit without it", Duration::from_secs(60), || {
        (height(&urls[0]) >= cut_at.max(island_at) + 10).then_some(())
    })
    .await;
    let cut_off_peer = get(&format!("{}/identity", urls[CUT_OFF])).1["peer_id"].clone();
    for i in [0, 1, LIAR] {
        let peers = get(&format!("{}/peers", urls[i])).1;
        assert!(peers.as_array().expect("peers").iter().all(|p| p["peer_id"] != cut_off_peer), "{i}: {peers}");
    }
    // Miner a sends the true model: its best score rises, so the next weights differ.
    let id_a2 = submit(&urls[1], a, b"1.5 -2 0.25 5 -0.5", 2);
    let during = final_with(&urls[0], &id_a2, 3).await;
    let cut_off = net.validators[CUT_OFF].public().to_ss58();
    assert!(during["evaluations"].as_array().expect("evaluations").iter().all(|e| e["validator"] != cut_off.as_str()));
    let score_a2 = honest_score(&during, &liar);

    assert!(height(&urls[CUT_OFF]) <= island_at + 1, "alone, it commits nothing (at most a block already voted)");

    // Restored: it rejoins, catches up, evaluates what it missed, votes again.
    signal(&procs.children[CUT_OFF], "USR2");
    let target = height(&urls[0]);
    eventually("the cut-off validator to catch up", Duration::from_secs(90), || {
        (height(&urls[CUT_OFF]) >= target).then_some(())
    })
    .await;
    eventually("its evaluation of what it missed, committed", Duration::from_secs(90), || {
        let (_, s) = get(&format!("{}/submissions/{id_a2}", urls[0]));
        let evaluations = s["evaluations"].as_array().cloned().unwrap_or_default();
        evaluations.iter().any(|e| e["validator"] == cut_off.as_str()).then_some(())
    })
    .await;
    assert_eq!(get(&format!("{}/health", urls[CUT_OFF])).0, 200);

    // The next epoch's weights (miner a's best score is now the true model's) are set by every
    // validator, the one that was cut off included.
    assert!(score_a2 > scores[0].1, "the true model beats a wrong one");
    let best_a = score_a2;
    let next = expected_weights(&[(scores[0].0, best_a), scores[1]]);
    net.local.new_blocks(u32::from(net.config.tempo) + 2).await.expect("blocks");
    weights_on_chain(&net, &next).await;

    // The liar's own log says it misbehaved on purpose.
    let text = std::fs::read_to_string(work.path().join(format!("validator-{LIAR}.log"))).expect("log");
    assert!(text.contains("fault injection is on"), "the liar's log says it is one");

    // The public audit of the history fetched over the network from an honest validator, still
    // running, into a fresh directory; then of an honest validator's own data directory, its
    // process stopped. Each: every block certified and within the rules, every epoch's weights
    // recomputed and, on chain, what every validator set; the liar's verdicts differ from the
    // re-run and it is named.
    let fetched_into = tempfile::tempdir().expect("tempdir");
    let fetched = audit_json(&net, &["--from", &urls[1]], &fetched_into.path().join("history"));
    drop(procs);
    let own = audit_json(&net, &[], &net.data_dir(0));
    for report in [&fetched, &own] {
        audit_agrees(&net, report, &liar);
    }
    // The same for people, with the liar named.
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_validator-node"))
        .args(["audit", "--data-dir"])
        .arg(net.data_dir(1))
        .args(["--netuid", &NETUID.to_string(), "--endpoint", &net.local.url()])
        .args(["--sudo-key", &net.owner.public().to_ss58()])
        .output()
        .expect("validator-node audit runs");
    let shown = String::from_utf8_lossy(&text.stdout);
    eprintln!("{shown}");
    assert!(text.status.success(), "{shown} {}", String::from_utf8_lossy(&text.stderr));
    assert!(shown.contains("Result: agreed") && shown.contains(&format!("{liar}: ")), "{shown}");

    net.shutdown().await;
}

/// `validator-node audit` of `data_dir` with `extra` arguments, its JSON report; it must agree.
fn audit_json(net: &Devnet, extra: &[&str], data_dir: &std::path::Path) -> Value {
    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_validator-node"))
        .args(["audit", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .args(["--netuid", &NETUID.to_string(), "--endpoint", &net.local.url(), "--output", "json"])
        .args(["--sudo-key", &net.owner.public().to_ss58()])
        .output()
        .expect("validator-node audit runs");
    let stderr = String::from_utf8_lossy(&audit.stderr);
    let report: Value = serde_json::from_slice(&audit.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(audit.status.success(), "the audit agrees (status {:?}): {report:#} {stderr}", audit.status);
    eprintln!("{stderr}");
    report
}

/// What an audit of this run must find: the history from genesis, within the rules, every
/// epoch agreed and on chain, and only the liar's verdicts differing.
fn audit_agrees(net: &Devnet, report: &Value, liar: &str) {
    assert_eq!(report["started_from"], "genesis", "{report:#}");
    assert!(report["blocks"].as_u64().is_some_and(|n| n > 10), "{report:#}");
    assert_eq!(report["broken"].as_array().map(Vec::len), Some(0), "{report:#}");
    let epochs = report["epochs"].as_array().expect("epochs");
    assert!(epochs.len() >= 2, "two epochs' weights at least: {report:#}");
    assert!(epochs.iter().all(|e| e["recomputed"]["status"] == "agreed"), "{report:#}");
    // The weights asserted on chain above, found by the audit for the honest validators and
    // the liar (it follows consensus) alike.
    for hotkey in [0, 1, LIAR].map(|i| net.validators[i].public().to_ss58()) {
        let agreed = epochs
            .iter()
            .flat_map(|e| e["on_chain"].as_array().cloned().unwrap_or_default())
            .filter(|c| c["validator"] == hotkey.as_str() && c["status"] == "agreed")
            .count();
        assert!(agreed >= 1, "{hotkey}'s weights on chain agree for an epoch at least: {report:#}");
    }
    let evaluations = &report["evaluations"];
    assert!(evaluations["rerun"].as_u64().is_some_and(|n| n >= 3), "{report:#}");
    let differing = evaluations["differing_by_validator"].as_object().expect("by validator");
    assert!(differing.get(liar).and_then(Value::as_u64).is_some_and(|n| n >= 3), "the liar is named: {report:#}");
    assert_eq!(differing.len(), 1, "only the liar's verdicts differ: {report:#}");
}
