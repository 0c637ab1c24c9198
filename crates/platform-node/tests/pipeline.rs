//! Four validators on loopback against the real subtensor runtime (chopsticks): the owner adds
//! a challenge, a miner submits, every validator reports the same final score, an epoch passes
//! and every validator's weights land on chain, identical. Bad input is refused with a reason.
//! Then a two-phase challenge (matmul-proof): a miner commits to its epoch's task, reveals the
//! rows drawn after its commitment and is scored alike everywhere; reveals that come late, for
//! another miner's commitment or twice, and a second commitment to the task, are refused.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_chain::{Chain, SubxtChain};
use platform_node::{NodeConfig, RunningNode, Settings};
use platform_types::{
    ChallengeId, Envelope, Epoch, Hash, Keypair, MechanismId, NetUid, Payload, Phase, Phases, Submission, SubmissionId,
    SudoAction, SudoCommand,
};
use serde_json::json;
use support::chain_common::{NETUID, TEMPO, hotkey, start};
use support::{eventually, get, post};

const STAKE_RAO: u64 = 5_000_000_000_000;

fn net() -> NetUid {
    NetUid::new(NETUID)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64
}

fn regression_wasm() -> Vec<u8> {
    let path = support::regression_wasm();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run challenges/build.sh", path.display()))
}

fn sudo(owner: &Keypair, command: SudoCommand, nonce: u64) -> Envelope {
    Envelope::seal(owner, net(), &SudoAction { command, nonce, timestamp_ms: now_ms() })
}

fn submission(miner: &Keypair, payload: &[u8], nonce: u64) -> Envelope {
    submission_to("regression", miner, payload, nonce, Phase::Answer)
}

fn submission_to(challenge: &str, miner: &Keypair, payload: &[u8], nonce: u64, phase: Phase) -> Envelope {
    let submission = Submission {
        challenge: ChallengeId::new(challenge).expect("id"),
        miner: miner.public(),
        payload: Payload::Inline(payload.to_vec()),
        payload_size: payload.len() as u64,
        metadata: vec![],
        nonce,
        timestamp_ms: now_ms(),
        phase,
    };
    Envelope::seal(miner, net(), &submission)
}

/// Posts a submission envelope; its status and body.
fn send(url: &str, envelope: &Envelope) -> (u16, serde_json::Value) {
    post(&format!("{url}/submissions"), json!({ "envelope": hex::encode(envelope.to_bytes()) }))
}

/// Asserts a refusal with status 400 whose reason says `why`.
fn refused((status, body): (u16, serde_json::Value), why: &str) {
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains(why)), "expected {why:?}: {body}");
}

fn seed_of(value: &serde_json::Value) -> [u8; 32] {
    *Hash::from_hex(value.as_str().expect("a seed")).expect("hex").as_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_score_a_submission_and_set_identical_weights() {
    let Some(fx) = start().await else { return };
    let names = ["v0", "v1", "v2", "v3"];
    let owner = fx.alice.clone();

    // Seat four validators (registered, staked, with permits) and one miner.
    let mut seated = Vec::new();
    for name in names.iter().chain(["miner", "rival"].iter()) {
        let key = hotkey(name);
        fx.chain.burned_register(&fx.alice, net(), &key.public()).await.expect("registers");
        seated.push(key);
    }
    let graph = fx.chain.metagraph(net(), None).await.expect("metagraph");
    let uid = |k: &Keypair| graph.uid_of(&k.public()).expect("registered").get();
    let mut permits = vec![false; graph.neurons.len()];
    let mut stakes = Vec::new();
    for key in &seated[..4] {
        permits[usize::from(uid(key))] = true;
        stakes.push(json!([[key.public().to_ss58(), NETUID], STAKE_RAO]));
    }
    fx.local
        .set_storage(
            json!({ "SubtensorModule": { "ValidatorPermit": [[[NETUID], permits]], "TotalHotkeyAlpha": stakes } }),
        )
        .await
        .expect("stake and permits");

    // Start the four validators, each bootstrapping from the first.
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().expect("dir")).collect();
    let mut nodes: Vec<RunningNode> = Vec::new();
    for (i, key) in seated[..4].iter().enumerate() {
        let bootstrap = nodes.first().map(|n| n.p2p_addresses.clone()).unwrap_or_default();
        let cfg = node_config(&format!("//Platform//{}", names[i]), dirs[i].path(), &fx.local.url(), bootstrap, &owner);
        assert_eq!(cfg.hotkey.public(), key.public());
        let chain = SubxtChain::connect(&fx.local.url(), Default::default()).await.expect("connect");
        nodes.push(platform_node::start(cfg, chain).await.expect("node starts"));
    }
    let urls: Vec<String> = nodes.iter().map(|n| format!("http://{}", n.http_addr)).collect();

    // Consensus commits blocks.
    for url in &urls {
        eventually("blocks to commit", Duration::from_secs(60), || {
            let (_, info) = get(&format!("{url}/consensus/info"));
            (info["tip"]["height"].as_u64() >= Some(2)).then_some(())
        })
        .await;
    }

    // Bad input is refused with its reason.
    let wasm = regression_wasm();
    let spec = platform_devnet::challenge_spec("regression", &wasm, 1_000_000_000).expect("spec");
    let stranger = hotkey("stranger");
    let forged = sudo(&stranger, SudoCommand::AddChallenge(spec.clone()), 1);
    let (status, body) = post(
        &format!("{}/sudo", urls[0]),
        json!({ "envelope": hex::encode(forged.to_bytes()), "module": hex::encode(&wasm) }),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().expect("reason").contains("not the subnet owner"), "{body}");
    let (status, body) = post(&format!("{}/submissions", urls[0]), json!({ "envelope": "zz" }));
    assert_eq!(status, 400, "{body}");

    // The owner adds the challenge at one validator; all four apply it.
    let add = sudo(&owner, SudoCommand::AddChallenge(spec.clone()), 1);
    let (status, body) = post(
        &format!("{}/sudo", urls[0]),
        json!({ "envelope": hex::encode(add.to_bytes()), "module": hex::encode(&wasm) }),
    );
    assert_eq!(status, 202, "{body}");
    let action = body["id"].as_str().expect("id").to_owned();
    let (_, done) = eventually("the sudo action to commit", Duration::from_secs(60), || {
        let (_, s) = get(&format!("{}/sudo/{action}", urls[0]));
        (s["status"] == "committed").then_some(((), s))
    })
    .await;
    assert!(done["height"].as_u64().is_some());
    for url in &urls {
        eventually("the challenge on every validator", Duration::from_secs(60), || {
            let (_, list) = get(&format!("{url}/challenges"));
            (list[0]["id"] == "regression" && list[0]["module_loaded"] == true).then_some(())
        })
        .await;
    }

    // An unregistered miner is refused; the registered one is scored by everyone alike.
    let (status, body) = post(
        &format!("{}/submissions", urls[1]),
        json!({ "envelope": hex::encode(submission(&stranger, b"1 1 1 1 1", 1).to_bytes()) }),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().expect("reason").contains("not registered"), "{body}");
    let miner = &seated[4];
    let (status, body) = post(
        &format!("{}/submissions", urls[2]),
        json!({ "envelope": hex::encode(submission(miner, b"1.5 -2 0.25 5 -0.5", 1).to_bytes()) }),
    );
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let mut scores = Vec::new();
    for url in &urls {
        let status = eventually("a final score", Duration::from_secs(60), || {
            let (_, s) = get(&format!("{url}/submissions/{id}"));
            (s["final"] == true).then_some(s)
        })
        .await;
        scores.push(status["score_ppb"].as_u64().expect("score"));
    }
    assert!(scores.iter().all(|s| *s == scores[0] && *s > 0), "{scores:?}");

    // An epoch passes on chain: the weights are agreed and every validator sets them.
    fx.local.new_blocks(u32::from(TEMPO) + 2).await.expect("blocks");
    let miner_uid = uid(miner);
    for key in &seated[..4] {
        let weights = eventually("weights on chain", Duration::from_secs(120), || {
            let chain = fx.chain.clone();
            let validator = uid(key);
            let w = tokio::runtime::Handle::current()
                .block_on(async move { chain.weights(net(), MechanismId::new(0), validator, None).await })
                .expect("read weights");
            (!w.is_empty()).then_some(w)
        })
        .await;
        assert_eq!(weights, vec![(miner_uid, u16::MAX)], "validator {}", uid(key));
    }
    let (_, history) = get(&format!("{}/weights/history", urls[3]));
    assert!(history[0]["mechanisms"][0]["uids"] == json!([miner_uid]), "{history}");
    let metrics = ureq::get(&format!("{}/metrics", urls[3])).call().expect("metrics").into_body().read_to_string();
    let metrics = metrics.expect("metrics text");
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a number")
    };
    assert_eq!(value("platform_voting"), 1.0);
    assert!(value("platform_peers") >= 3.0, "three other validators");
    assert!(value(r#"platform_weights_submissions_total{path="set",outcome="ok"}"#) >= 1.0);
    assert!(!metrics.contains(r#"outcome="refused""#), "no weights refused: {metrics}");
    assert!(value("platform_weights_landed_block") > 0.0);
    assert!(value("platform_connected_stake_permille") > 666.0, "connected to the other validators");
    assert!(value("platform_submissions_accepted_total") >= 1.0);

    let reveal_id = two_phase(&urls, &owner, miner, &seated[5]).await;

    // A validator stopped and started again recovers its state from data/ and keeps up.
    let (_, before) = get(&format!("{}/consensus/info", urls[3]));
    let stopped = nodes.pop().expect("fourth node");
    stopped.shutdown().await;
    let bootstrap = nodes[0].p2p_addresses.clone();
    let cfg = node_config("//Platform//v3", dirs[3].path(), &fx.local.url(), bootstrap, &owner);
    let chain = SubxtChain::connect(&fx.local.url(), Default::default()).await.expect("connect");
    let restarted = platform_node::start(cfg, chain).await.expect("node restarts");
    let url = format!("http://{}", restarted.http_addr);
    let (_, status) = get(&format!("{url}/submissions/{id}"));
    assert_eq!(status["final"], true, "{status}");
    assert_eq!(status["score_ppb"].as_u64(), Some(scores[0]));
    let (_, revealed) = get(&format!("{url}/submissions/{reveal_id}"));
    assert_eq!((&revealed["final"], &revealed["score_ppb"]), (&json!(true), &json!(1_000_000_000)), "{revealed}");
    let height_before = before["tip"]["height"].as_u64().expect("height");
    eventually("the restarted validator to follow new blocks", Duration::from_secs(60), || {
        let (_, info) = get(&format!("{url}/consensus/info"));
        (info["tip"]["height"].as_u64() > Some(height_before + 2)).then_some(())
    })
    .await;
    nodes.push(restarted);

    for node in nodes {
        node.shutdown().await;
    }
}

/// matmul-proof as a two-phase challenge with a reveal window of 20 blocks (an idle network
/// here makes a block every 0.75 s).
/// Returns the scored reveal's id.
async fn two_phase(urls: &[String], owner: &Keypair, miner: &Keypair, rival: &Keypair) -> String {
    let path = support::root().join("challenges/dist/matmul-proof.wasm");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run challenges/build.sh", path.display()));
    let mut spec = platform_devnet::challenge_spec("matmul-proof", &wasm, 1_000_000_000).expect("spec");
    spec.phases = Phases::CommitReveal { reveal_blocks: 20 };
    let add = sudo(owner, SudoCommand::AddChallenge(spec), 2);
    let (status, body) = post(
        &format!("{}/sudo", urls[0]),
        json!({ "envelope": hex::encode(add.to_bytes()), "module": hex::encode(&wasm) }),
    );
    assert_eq!(status, 202, "{body}");
    for url in urls {
        eventually("matmul-proof on every validator", Duration::from_secs(60), || {
            let (_, list) = get(&format!("{url}/challenges"));
            let entry = list.as_array()?.iter().find(|c| c["id"] == "matmul-proof")?.clone();
            (entry["module_loaded"] == true && entry["reveal_blocks"] == 20).then_some(())
        })
        .await;
    }
    let matmul = |who: &Keypair, payload: &[u8], nonce: u64, phase: Phase| {
        submission_to("matmul-proof", who, payload, nonce, phase)
    };

    // The task: the newest epoch's seed, the matrices drawn from it for this miner.
    let (_, task) = get(&format!("{}/task", urls[1]));
    let latest = task["task_seeds"].as_array().and_then(|s| s.last()).expect("a task seed").clone();
    let task_epoch = Epoch::new(latest["epoch"].as_u64().expect("epoch"));
    let work = matmul_proof::Work::compute(&seed_of(&latest["seed"]), miner.public().as_bytes());
    let commit = Phase::Commit { task_epoch };
    refused(send(&urls[1], &matmul(miner, b"openings", 10, Phase::Answer)), "takes a commitment, then its reveal");
    let commitment = matmul(miner, &work.root(), 11, commit);
    let commitment_id = SubmissionId(commitment.payload_hash());
    refused(
        send(&urls[1], &matmul(miner, b"too early", 12, Phase::Reveal { commitment: commitment_id })),
        "that can still be revealed",
    );
    let (status, body) = send(&urls[1], &commitment);
    assert_eq!(status, 202, "{body}");
    let id = commitment_id.to_string();
    let mut sampling = Vec::new();
    for url in urls {
        let status = eventually("the commitment ordered", Duration::from_secs(60), || {
            let (_, s) = get(&format!("{url}/submissions/{id}"));
            (s["status"] == "committed").then_some(s)
        })
        .await;
        assert_eq!(status["phase"], "commitment", "{status}");
        sampling.push(status["reveal"]["sampling_seed"].clone());
    }
    assert!(sampling.iter().all(|s| *s == sampling[0]), "one sampling seed everywhere: {sampling:?}");
    let sampling_seed = seed_of(&sampling[0]);

    // Grinding, someone else's commitment, and a plain answer are refused.
    refused(send(&urls[2], &matmul(miner, &[7; 32], 13, commit)), "already committed to the task");
    let by_rival = matmul(rival, &work.reveal(&sampling_seed), 14, Phase::Reveal { commitment: commitment_id });
    refused(send(&urls[2], &by_rival), "is not a commitment of miner");

    // The honest reveal scores 1.0 on every validator.
    let reveal = matmul(miner, &work.reveal(&sampling_seed), 15, Phase::Reveal { commitment: commitment_id });
    let (status, body) = send(&urls[2], &reveal);
    assert_eq!(status, 202, "{body}");
    let reveal_id = body["id"].as_str().expect("id").to_owned();
    for url in urls {
        let status = eventually("the reveal's final score", Duration::from_secs(60), || {
            let (_, s) = get(&format!("{url}/submissions/{reveal_id}"));
            (s["final"] == true).then_some(s)
        })
        .await;
        assert_eq!(status["score_ppb"], 1_000_000_000, "{status}");
        assert_eq!((&status["phase"], &status["reveals"]), (&json!("reveal"), &json!(id)), "{status}");
    }
    let again = matmul(miner, &work.reveal(&sampling_seed), 16, Phase::Reveal { commitment: commitment_id });
    refused(send(&urls[0], &again), "revealed already");

    // A reveal after the window is refused.
    let rival_work = matmul_proof::Work::compute(&seed_of(&latest["seed"]), rival.public().as_bytes());
    let late_commitment = matmul(rival, &rival_work.root(), 17, commit);
    let late_id = SubmissionId(late_commitment.payload_hash());
    let (status, body) = send(&urls[3], &late_commitment);
    assert_eq!(status, 202, "{body}");
    let ordered = eventually("the rival's commitment ordered", Duration::from_secs(60), || {
        let (_, s) = get(&format!("{}/submissions/{late_id}", urls[3]));
        (s["status"] == "committed").then_some(s)
    })
    .await;
    let last = ordered["reveal"]["last_height"].as_u64().expect("last height");
    eventually("the reveal window to close", Duration::from_secs(60), || {
        (support::height(&urls[3]) > last).then_some(())
    })
    .await;
    let late_seed = seed_of(&ordered["reveal"]["sampling_seed"]);
    let late = matmul(rival, &rival_work.reveal(&late_seed), 18, Phase::Reveal { commitment: late_id });
    let (status, body) = send(&urls[3], &late);
    assert_eq!(status, 400, "{body}");
    let reason = body["error"].as_str().unwrap_or_default();
    assert!(reason.contains("comes late") || reason.contains("can still be revealed"), "{body}");
    reveal_id
}

fn node_config(
    suri: &str,
    dir: &std::path::Path,
    endpoint: &str,
    bootstrap: Vec<String>,
    owner: &Keypair,
) -> NodeConfig {
    NodeConfig::from_settings(Settings {
        secret_key: Some(suri.to_owned()),
        subtensor_endpoint: Some(endpoint.to_owned()),
        netuid: Some(NETUID),
        p2p_listen_addr: Some("/ip4/127.0.0.1/tcp/0".into()),
        bootstrap_peers: Some(bootstrap),
        data_dir: Some(dir.to_path_buf()),
        http_addr: Some("127.0.0.1:0".into()),
        sudo_key: Some(owner.public().to_ss58()),
        block_interval_ms: Some(100),
        view_timeout_ms: Some(1_500),
        ..Settings::default()
    })
    .expect("valid config")
}
