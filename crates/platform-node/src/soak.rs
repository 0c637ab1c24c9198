//! A soak run: one validator's `data/` driven through a long history by a fast path, to measure
//! how disk, memory and restart time grow with it (`examples/soak.rs`).
//!
//! The fast path skips the network and the sandbox, not the data: every submission is a
//! miner-signed envelope admitted into RocksDB as admission stores it (body and pending mark);
//! every block is built on the application state, applied by the same `AppState::apply_block`
//! (so every evaluation's signature is checked), and stored with a signed commit certificate;
//! each submission gets a signed evaluation in the next block; each epoch's first block commits
//! a metagraph snapshot and the epoch's weights. Snapshots are stored and pruning runs exactly
//! as the snapshot writer does it. The validator set is one validator, so that
//! one machine can make a long history in minutes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::{AppState, Context};
use platform_storage::{RocksStore, Store};
use platform_types::{
    Action, Block, BlockHeaderFields, BlockRef, ChallengeId, ChallengeSpec, Envelope, Epoch, Evaluation,
    EvaluationBatch, EvaluationStatus, Height, Keypair, MechanismId, Metagraph, NetUid, Neuron, Payload,
    QuorumCertificate, RuntimePolicy, ScoringConfig, Submission, SubmissionId, SubnetParams, SudoAction, SudoCommand,
    Uid, Validator, ValidatorSet, VerifiedEnvelopes, View, Vote, VoteKind, blake2b_256,
};

use crate::config::{NodeConfig, Settings};
use crate::records::Records;

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// Submissions committed over the run.
    pub submissions: u64,
    /// Submissions per block.
    pub per_block: u64,
    /// Distinct miners submitting in turn.
    pub miners: u32,
    /// `RETAIN_BLOCKS` (0: keep every block).
    pub retain_blocks: u64,
    /// Blocks per epoch: the first block of each epoch commits a metagraph snapshot and the
    /// epoch's weights, after which the submissions that can no longer change retire from the
    /// state, as on a real network.
    pub epoch_blocks: u64,
    /// The data directory (created; should be empty).
    pub dir: PathBuf,
    /// When to measure, in per cent of the run.
    pub samples: Vec<u64>,
}

/// One measurement.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Per cent of the run.
    pub percent: u64,
    /// Committed height.
    pub height: u64,
    /// Committed submissions.
    pub submissions: u64,
    /// Bytes under the data directory.
    pub disk_bytes: u64,
    /// Resident memory of this process, which holds the state as a validator does and built it
    /// block by block (with what the allocator kept of the snapshots it encoded).
    pub rss_bytes: u64,
    /// Resident memory of a fresh process once it recovered the state from the store: what a
    /// restarted validator holds.
    pub restarted_rss_bytes: u64,
    /// Encoded state (the newest snapshot's length).
    pub state_bytes: u64,
    /// Recovering the state in a fresh process: opening the store, the newest snapshot and the
    /// blocks after it.
    pub restart: Duration,
    /// A joiner's share of state sync on this machine: checking and decoding the newest
    /// snapshot's chunks into the state (the fetch over the network is not included).
    pub restore: Duration,
    /// The lowest block height still stored.
    pub first_block: u64,
    /// A new validator's start on this machine, the network transfer aside: the newest snapshot
    /// stored into an empty data directory and the state recovered from it in a fresh process
    /// (it then follows the blocks after the snapshot and votes, as a running validator does).
    pub joiner_start: Duration,
}

const NETUID: u16 = 1;

fn key(name: &str) -> Keypair {
    Keypair::from_suri(&format!("//Soak//{name}")).expect("dev key")
}

/// What a restart probe reports: the height recovered, how long it took and the resident
/// memory after it.
pub type Probe = (u64, Duration, u64);

/// Runs the soak; at each sample, with the store closed, `restart` recovers the state from the
/// data directory in a fresh process ([`recover`] there); calls `report` with each sample.
pub fn run(
    cfg: &SoakConfig,
    mut restart: impl FnMut(&Path) -> anyhow::Result<Probe>,
    mut report: impl FnMut(&Sample),
) -> anyhow::Result<Vec<Sample>> {
    std::fs::create_dir_all(&cfg.dir)?;
    let db = cfg.dir.join("db");
    let netuid = NetUid::new(NETUID);
    let validator = key("Validator");
    let owner = key("Owner");
    let miners: Vec<Keypair> = (0..cfg.miners.max(1)).map(|i| key(&format!("Miner{i}"))).collect();
    let node = NodeConfig {
        retain_blocks: cfg.retain_blocks,
        ..NodeConfig::from_settings(Settings {
            secret_key: Some("//Soak//Validator".into()),
            netuid: Some(NETUID),
            data_dir: Some(cfg.dir.clone()),
            ..Settings::default()
        })?
    };
    let genesis = ValidatorSet {
        epoch: Epoch::new(0),
        validators: vec![Validator { hotkey: validator.public(), uid: Uid::new(0), stake: 1_000_000_000_000 }],
    };
    let sudo = [owner.public()];
    let verified = VerifiedEnvelopes::new(65_536);
    let mut records = Records::new(Arc::new(RocksStore::open(&db)?));
    let mut state = AppState { snapshot_interval: node.snapshot_interval, ..AppState::genesis(genesis.clone()) };

    // The subnet: the validator, the miners, the owner.
    let mut neurons =
        vec![Neuron { uid: Uid::new(0), hotkey: validator.public(), stake: 1_000_000_000_000, validator_permit: true }];
    for (i, miner) in miners.iter().chain([&owner]).enumerate() {
        let uid = Uid::new(u16::try_from(i + 1).map_err(|_| anyhow::anyhow!("too many miners"))?);
        neurons.push(Neuron { uid, hotkey: miner.public(), stake: 0, validator_permit: false });
    }
    let params = SubnetParams::unrestricted(360);
    let metagraph_at = |block: BlockRef| Metagraph {
        netuid,
        block,
        neurons: neurons.clone(),
        owner_coldkey: None,
        owner_hotkey: Some(owner.public()),
        params,
    };
    let epoch_blocks = cfg.epoch_blocks.max(1);

    let challenge = ChallengeId::new("soak").expect("id");
    let spec = ChallengeSpec {
        id: challenge.clone(),
        name: "soak".into(),
        module_hash: blake2b_256(b"soak module"),
        module_size: 1,
        policy: RuntimePolicy::default(),
        scoring: ScoringConfig::default(),
        mechanism: MechanismId::new(0),
        emission_share_ppb: 1_000_000_000,
        params: Vec::new(),
        phases: Default::default(),
    };
    let add = SudoAction { command: SudoCommand::AddChallenge(spec), nonce: 1, timestamp_ms: 0 };
    let mut pending: Vec<Action> = vec![Action::Sudo(Envelope::seal(&owner, netuid, &add))];
    let mut last: Vec<SubmissionId> = Vec::new();
    let mut committed = 0u64;
    let mut samples = Vec::new();
    let mut next_sample = cfg.samples.iter().copied().peekable();
    let started_ms = 1_700_000_000_000u64;
    while committed < cfg.submissions {
        let height = state.tip.height.get() + 1;
        let epoch = Epoch::new((height - 1) / epoch_blocks);
        let link = BlockRef { number: height, hash: blake2b_256(&height.to_le_bytes()) };
        // A new epoch's weights first, then evaluations of the previous block's submissions,
        // then new submissions.
        let mut actions = std::mem::take(&mut pending);
        if state.weights_due(epoch) {
            let metagraph = metagraph_at(link);
            let weights = platform_app::weights::compute(&state, &metagraph, epoch);
            actions.push(Action::Metagraph(metagraph));
            actions.push(Action::Weights(weights));
        }
        let verdicts: Vec<Evaluation> = last
            .drain(..)
            .map(|id| Evaluation {
                submission: id,
                challenge: challenge.clone(),
                validator: validator.public(),
                status: EvaluationStatus::Scored,
                score_ppb: (u32::from(id.0.as_bytes()[0]) + 1) * 3_000_000,
                fuel_used: 1_000,
                output_hash: id.0,
                epoch: state.tip.epoch,
            })
            .collect();
        for chunk in verdicts.chunks(platform_types::limits::MAX_BATCH_EVALUATIONS) {
            let batch = EvaluationBatch::new(chunk.to_vec()).expect("one validator's verdicts on distinct submissions");
            actions.push(Action::Evaluations(Envelope::seal(&validator, netuid, &batch)));
        }
        let count = cfg.per_block.min(cfg.submissions - committed);
        let mut admitted: Vec<(SubmissionId, Vec<u8>)> = Vec::new();
        if height > 1 {
            for n in 0..count {
                let index = committed + n;
                let miner = &miners[(index % miners.len() as u64) as usize];
                let submission = Submission {
                    challenge: challenge.clone(),
                    miner: miner.public(),
                    payload: Payload::Inline(index.to_le_bytes().repeat(8)),
                    payload_size: 64,
                    metadata: Vec::new(),
                    nonce: index,
                    timestamp_ms: started_ms + height * 1_000,
                    phase: Default::default(),
                };
                let envelope = Envelope::seal(miner, netuid, &submission);
                let id = SubmissionId(envelope.payload_hash());
                admitted.push((id, envelope.to_bytes()));
                actions.push(Action::Submission(id));
                last.push(id);
            }
            committed += count;
        }
        records.put_admitted(admitted.iter().map(|(id, bytes)| (id, &bytes[..], None)))?;
        let block = Block::new(
            BlockHeaderFields {
                height: Height::new(height),
                epoch,
                chain: link,
                parent_hash: state.tip.hash,
                parent_state_root: state.tip.state_root,
                proposer: validator.public(),
                validators_hash: state.registry.validators.hash(),
            },
            actions,
        );
        let vote =
            Vote { kind: VoteKind::Commit, height: Height::new(height), view: View::new(0), block_hash: block.hash() };
        let certificate = QuorumCertificate {
            kind: VoteKind::Commit,
            height: Height::new(height),
            view: View::new(0),
            block_hash: block.hash(),
            votes: vec![Envelope::seal(&validator, netuid, &vote)],
        };
        records.put_block(&block, &certificate)?;
        let lookup = |id: &SubmissionId| records.submission_info(id);
        let ctx = Context {
            netuid,
            sudo: &sudo,
            metagraph_at: &|_| None,
            chain: None,
            min_stake: node.min_stake_rao,
            lookup: &lookup,
            verified: &verified,
        };
        let effects = state.apply_block(&block, &ctx);
        anyhow::ensure!(effects.skipped.is_empty(), "height {height}: actions skipped: {:?}", effects.skipped);
        records.put_retired(&effects.retired)?;
        if let Some(snapshot) = effects.snapshot {
            records.put_snapshot(&snapshot)?;
            let plan = crate::pruning::Plan {
                below: (cfg.retain_blocks > 0).then(|| Height::new(height.saturating_sub(cfg.retain_blocks))),
                keep_blobs: Default::default(),
                now_ms: started_ms + height * 1_000,
            };
            records.prune(&plan)?;
        }
        while next_sample.peek().is_some_and(|p| committed * 100 >= p * cfg.submissions && committed > 0) {
            let percent = next_sample.next().expect("peeked");
            let (sample, reopened) = measure(records, &db, &node, &state, percent, committed, &mut restart)?;
            records = reopened;
            report(&sample);
            samples.push(sample);
        }
    }
    Ok(samples)
}

fn measure(
    records: Records,
    db: &Path,
    node: &NodeConfig,
    state: &AppState,
    percent: u64,
    committed: u64,
    restart: &mut impl FnMut(&Path) -> anyhow::Result<Probe>,
) -> anyhow::Result<(Sample, Records)> {
    let newest = records.snapshot_manifests()?.into_iter().next();
    let restore = match &newest {
        Some(manifest) => {
            let snapshot = records.snapshot(manifest)?.ok_or_else(|| anyhow::anyhow!("a chunk is missing"))?;
            let started = Instant::now();
            AppState::from_snapshot(&snapshot, node.snapshot_interval)?;
            started.elapsed()
        }
        None => Duration::ZERO,
    };
    let first_block = records.first_height().unwrap_or(0);
    let joiner_start = match &newest {
        Some(manifest) => {
            let snapshot = records.snapshot(manifest)?.ok_or_else(|| anyhow::anyhow!("a chunk is missing"))?;
            // Outside the data directory, whose size is measured.
            let joiner = std::env::temp_dir().join(format!("platform-soak-joiner-{}-{percent}", std::process::id()));
            let started = Instant::now();
            Records::new(Arc::new(RocksStore::open(&joiner.join("db"))?)).put_snapshot(&snapshot)?;
            let (height, _, _) = restart(&joiner)?;
            let took = started.elapsed();
            std::fs::remove_dir_all(&joiner)?;
            anyhow::ensure!(height == manifest.captured.get(), "the joiner recovered height {height}");
            took
        }
        None => Duration::ZERO,
    };
    // A restart: the store closed, the state recovered from it elsewhere, the store reopened.
    drop(records);
    let (height, restart, restarted_rss_bytes) = restart(db.parent().unwrap_or(db))?;
    anyhow::ensure!(height == state.tip.height.get(), "recovered height {height}, not {}", state.tip.height);
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(db)?);
    let records = Records::new(store);
    let sample = Sample {
        percent,
        height: state.tip.height.get(),
        submissions: committed,
        disk_bytes: dir_bytes(db.parent().unwrap_or(db)),
        rss_bytes: rss_bytes(),
        restarted_rss_bytes,
        state_bytes: newest.map_or(0, |m| m.len),
        restart,
        restore,
        first_block,
        joiner_start,
    };
    Ok((sample, records))
}

/// A restart of the soak's validator in this process: opens the data directory `dir`, recovers
/// the state as a starting validator does, and returns its height, the time it took and the
/// resident memory after it. Run it in a fresh process for figures a restarted validator has.
pub fn recover(dir: &Path) -> anyhow::Result<(u64, Duration, u64)> {
    let started = Instant::now();
    let node = NodeConfig::from_settings(Settings {
        secret_key: Some("//Soak//Validator".into()),
        netuid: Some(NETUID),
        data_dir: Some(dir.to_path_buf()),
        ..Settings::default()
    })?;
    let genesis = ValidatorSet {
        epoch: Epoch::new(0),
        validators: vec![Validator { hotkey: key("Validator").public(), uid: Uid::new(0), stake: 1_000_000_000_000 }],
    };
    let records = Records::new(Arc::new(RocksStore::open(&dir.join("db"))?));
    let verified = VerifiedEnvelopes::new(65_536);
    let (state, _) = crate::recovery::replay(&records, genesis, &node, &[key("Owner").public()], &verified)?;
    Ok((state.tip.height.get(), started.elapsed(), rss_bytes()))
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().trim_end_matches(" kB").trim().to_owned()))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
