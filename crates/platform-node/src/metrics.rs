//! Prometheus metrics served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Submissions accepted (HTTP and gossip).
    pub submissions_accepted: Counter,
    /// Submissions refused.
    pub submissions_rejected: Counter,
    /// Evaluations this validator ran.
    pub evaluations: Counter,
    /// Evaluations this validator abstained from: every attempt failed on this machine
    /// (wall-clock deadline, engine, audit log), so it signed nothing.
    pub evaluations_abstained: Counter,
    /// Committed consensus height.
    pub height: Gauge,
    /// Latest chain block seen.
    pub chain_block: Gauge,
    /// 1 while this validator votes, 0 when it stopped (outdated version, storage failure).
    pub voting: Gauge,
    /// Connected libp2p peers, updated when `/metrics` is read.
    pub peers: Gauge,
    /// Weight submissions to the chain by `path` (`set`, `commit`, `reveal`; `unknown` when
    /// the call failed before a path was chosen) and `outcome` (`ok`, `refused`).
    pub weights_submissions: Family<WeightsLabels, Counter>,
    /// The chain block in which this validator's weights last landed (set directly or
    /// revealed); the chain block it started at, until then.
    pub weights_landed_block: Gauge,
    /// The subnet's tempo, in chain blocks (from the latest metagraph read).
    pub tempo_blocks: Gauge,
    /// Validators in the current set.
    pub validators: Gauge,
    /// Per mille of the validator set's stake held by this validator and the validators it is
    /// connected to (consensus needs more than 666), updated when `/metrics` is read.
    pub connected_stake_permille: Gauge,
    /// Bytes free and in all on the file system of the data directory, and bytes under it,
    /// updated when `/metrics` is read.
    pub disk_free_bytes: Gauge,
    /// See [`Metrics::disk_free_bytes`].
    pub disk_total_bytes: Gauge,
    /// See [`Metrics::disk_free_bytes`].
    pub data_bytes: Gauge,
    /// Seconds from accepting a submission to its final score (evaluations committed from
    /// more than two thirds of the stake).
    pub score_latency: Histogram,
    /// Committed submissions waiting for room in the evaluation actor's mailbox.
    pub evaluation_backlog: Gauge,
    /// This validator's evaluations waiting beyond its share of the pool, for earlier ones to
    /// be ordered.
    pub own_evaluations_waiting: Gauge,
    /// Verdicts on received messages and blob announcements dropped because the p2p command
    /// queue was full (the messages go unforwarded; blobs are announced again at start).
    pub p2p_commands_dropped: Counter,
    /// Seconds from this validator first holding a height's proposal (built or received) to
    /// committing that height.
    pub commit_latency: Histogram,
    /// Seconds the event loop spent committing one block: storing it, applying it and
    /// handing on what it started (the loop admits nothing meanwhile).
    pub commit_turn: Histogram,
    /// Seconds a submission handed to this validator (HTTP or directly) waited for its
    /// signature check: the verifier's queue and its batch.
    pub admission_check: Histogram,
    /// Submissions checked together in one batch by the verifier.
    pub admission_check_batch: Histogram,
    /// Seconds from a checked submission's hand-off to the event loop to its answer: the wait
    /// for the loop, admission's checks, the wait for the write in flight and its own write.
    pub admission_store: Histogram,
    /// Seconds one group write of admitted submissions took (synced).
    pub admission_write: Histogram,
    /// Submissions written together in one group write.
    pub admission_write_batch: Histogram,
    /// The peer guard's counters, cumulative since start, read when `/metrics` is read.
    pub guard: GuardGauges,
    /// Height of the state this validator started from: a snapshot's captured state (0: from
    /// genesis).
    pub started_from_snapshot: Gauge,
    /// Bytes held by acknowledged submissions no block has ordered yet (`mempool::footprint`).
    pub unordered_bytes: Gauge,
    /// The cap on [`Metrics::unordered_bytes`] (`MAX_UNORDERED_MIB`); one miner's may hold a
    /// sixteenth of it.
    pub unordered_bytes_cap: Gauge,
    /// Snapshot chunks fetched from peers and checked.
    pub state_sync_chunks: Counter,
    /// Snapshot offers and chunks from peers that failed their checks (their senders are
    /// penalised).
    pub state_sync_refused: Counter,
    /// Times the running node found its peers no longer hold the blocks after its tip and
    /// started again from their snapshot.
    pub state_sync_rejoins: Counter,
}

/// The p2p flood guard's counters (`platform_p2p::GuardCounters`) as gauges.
#[derive(Default)]
pub struct GuardGauges {
    /// Gossip messages admitted.
    pub accepted: Gauge,
    /// Gossip messages dropped for their peer's rate.
    pub rate_limited: Gauge,
    /// Messages or connections refused from banned peers.
    pub refused_banned: Gauge,
    /// Messages judged invalid (by the guard or by this validator's verdicts).
    pub invalid: Gauge,
    /// Bans issued.
    pub bans: Gauge,
    /// Connections refused for the per-IP limit.
    pub refused_connections: Gauge,
}

impl GuardGauges {
    /// Copies the guard's counters.
    pub fn set(&self, counters: &platform_p2p::GuardCounters) {
        let gauge = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.accepted, counters.accepted);
        gauge(&self.rate_limited, counters.rate_limited);
        gauge(&self.refused_banned, counters.refused_banned);
        gauge(&self.invalid, counters.invalid);
        gauge(&self.bans, counters.bans);
        gauge(&self.refused_connections, counters.refused_connections);
    }
}

/// The labels of [`Metrics::weights_submissions`].
pub type WeightsLabels = [(&'static str, &'static str); 2];

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("platform");
        let metrics = Metrics {
            submissions_accepted: Counter::default(),
            submissions_rejected: Counter::default(),
            evaluations: Counter::default(),
            evaluations_abstained: Counter::default(),
            height: Gauge::default(),
            chain_block: Gauge::default(),
            voting: Gauge::default(),
            peers: Gauge::default(),
            weights_submissions: Family::default(),
            weights_landed_block: Gauge::default(),
            tempo_blocks: Gauge::default(),
            validators: Gauge::default(),
            connected_stake_permille: Gauge::default(),
            disk_free_bytes: Gauge::default(),
            disk_total_bytes: Gauge::default(),
            data_bytes: Gauge::default(),
            score_latency: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            commit_latency: Histogram::new(exponential_buckets(0.002, 1.25, 36)),
            commit_turn: Histogram::new(exponential_buckets(0.000_05, 1.5, 30)),
            admission_check: Histogram::new(exponential_buckets(0.000_05, 1.5, 30)),
            admission_check_batch: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            admission_store: Histogram::new(exponential_buckets(0.000_05, 1.5, 30)),
            admission_write: Histogram::new(exponential_buckets(0.000_05, 1.5, 30)),
            admission_write_batch: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            p2p_commands_dropped: Counter::default(),
            evaluation_backlog: Gauge::default(),
            own_evaluations_waiting: Gauge::default(),
            guard: GuardGauges::default(),
            started_from_snapshot: Gauge::default(),
            unordered_bytes: Gauge::default(),
            unordered_bytes_cap: Gauge::default(),
            state_sync_chunks: Counter::default(),
            state_sync_refused: Counter::default(),
            state_sync_rejoins: Counter::default(),
            registry: Registry::default(),
        };
        let guard = &metrics.guard;
        for (name, help, gauge) in [
            ("consensus_height", "Committed consensus height", &metrics.height),
            ("chain_block", "Latest chain block seen", &metrics.chain_block),
            ("voting", "1 while this validator votes", &metrics.voting),
            ("peers", "Connected libp2p peers", &metrics.peers),
            (
                "evaluation_backlog",
                "Committed submissions waiting for room in the evaluation actor's mailbox",
                &metrics.evaluation_backlog,
            ),
            (
                "own_evaluations_waiting",
                "This validator's evaluations waiting beyond its share of the pool for earlier ones to be ordered",
                &metrics.own_evaluations_waiting,
            ),
            (
                "weights_landed_block",
                "Chain block where this validator's weights last landed (its start block until then)",
                &metrics.weights_landed_block,
            ),
            ("tempo_blocks", "The subnet's tempo in chain blocks", &metrics.tempo_blocks),
            ("validators", "Validators in the current set", &metrics.validators),
            (
                "connected_stake_permille",
                "Per mille of the set's stake held by this validator and those it is connected to",
                &metrics.connected_stake_permille,
            ),
            ("disk_free_bytes", "Bytes free on the data directory's file system", &metrics.disk_free_bytes),
            ("disk_total_bytes", "Bytes in all on the data directory's file system", &metrics.disk_total_bytes),
            ("data_bytes", "Bytes under the data directory", &metrics.data_bytes),
            ("p2p_messages_accepted", "Gossip messages admitted by the peer guard", &guard.accepted),
            ("p2p_messages_rate_limited", "Gossip messages dropped for their peer's rate", &guard.rate_limited),
            ("p2p_refused_banned", "Messages and connections refused from banned peers", &guard.refused_banned),
            ("p2p_messages_invalid", "Gossip messages judged invalid", &guard.invalid),
            ("p2p_bans", "Peers banned", &guard.bans),
            (
                "p2p_connections_refused",
                "Connections refused for the per-IP limit or the inbound bounds",
                &guard.refused_connections,
            ),
            (
                "started_from_snapshot",
                "Height of the snapshot state this validator started from (0: from genesis)",
                &metrics.started_from_snapshot,
            ),
            (
                "unordered_bytes",
                "Bytes held by acknowledged submissions no block has ordered yet",
                &metrics.unordered_bytes,
            ),
            ("unordered_bytes_cap", "The cap on unordered_bytes", &metrics.unordered_bytes_cap),
        ] {
            registry.register(name, help, gauge.clone());
        }
        for (name, help, counter) in [
            ("submissions_accepted", "Submissions accepted", &metrics.submissions_accepted),
            ("submissions_rejected", "Submissions refused", &metrics.submissions_rejected),
            ("evaluations", "Evaluations run by this validator", &metrics.evaluations),
            (
                "evaluations_abstained",
                "Evaluations abstained from after local failures (nothing signed)",
                &metrics.evaluations_abstained,
            ),
            (
                "p2p_commands_dropped",
                "Message verdicts and blob announcements dropped for a full p2p command queue",
                &metrics.p2p_commands_dropped,
            ),
            ("state_sync_chunks", "Snapshot chunks fetched from peers and checked", &metrics.state_sync_chunks),
            (
                "state_sync_rejoins",
                "Times the running node fell behind what its peers keep and started again from their snapshot",
                &metrics.state_sync_rejoins,
            ),
            (
                "state_sync_refused",
                "Snapshot offers and chunks from peers that failed their checks",
                &metrics.state_sync_refused,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        for (name, help, histogram) in [
            ("score_latency_seconds", "Seconds from submission to final score", &metrics.score_latency),
            (
                "commit_latency_seconds",
                "Seconds from holding a height's proposal to committing it",
                &metrics.commit_latency,
            ),
            (
                "commit_turn_seconds",
                "Seconds the event loop spent committing one block (it admits nothing meanwhile)",
                &metrics.commit_turn,
            ),
            (
                "admission_check_seconds",
                "Seconds a submission handed to this validator waited for its signature check (queue and batch)",
                &metrics.admission_check,
            ),
            ("admission_check_batch", "Submissions checked together in one batch", &metrics.admission_check_batch),
            (
                "admission_store_seconds",
                "Seconds from a checked submission's hand-off to the event loop to its answer (loop, checks, group write)",
                &metrics.admission_store,
            ),
            (
                "admission_write_seconds",
                "Seconds one synced group write of admitted submissions took",
                &metrics.admission_write,
            ),
            (
                "admission_write_batch",
                "Submissions written together in one group write",
                &metrics.admission_write_batch,
            ),
        ] {
            registry.register(name, help, histogram.clone());
        }
        registry.register(
            "weights_submissions",
            "Weight submissions to the chain by path (set, commit, reveal, unknown) and outcome (ok, refused)",
            metrics.weights_submissions.clone(),
        );
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// Sets [`Metrics::connected_stake_permille`]: the stake of `me` and of the `connected`
    /// hotkeys in `set`, per mille of the set's.
    pub fn set_connected_stake(
        &self,
        set: &platform_types::ValidatorSet,
        me: &platform_types::PublicKey,
        connected: &std::collections::HashSet<platform_types::PublicKey>,
    ) {
        let total: u128 = set.validators.iter().map(|v| u128::from(v.stake)).sum();
        let reached: u128 = set
            .validators
            .iter()
            .filter(|v| v.hotkey == *me || connected.contains(&v.hotkey))
            .map(|v| u128::from(v.stake))
            .sum();
        let permille = (reached * 1000).checked_div(total).unwrap_or(0);
        self.validators.set(set.validators.len() as i64);
        self.connected_stake_permille.set(permille as i64);
    }

    /// Sets the storage gauges from the data directory (walks it: call off the event loop).
    pub fn set_storage(&self, data_dir: &std::path::Path) {
        #[cfg(target_os = "linux")]
        if let Ok(fs) = rustix::fs::statvfs(data_dir) {
            let bytes = |blocks: u64| i64::try_from(blocks.saturating_mul(fs.f_frsize)).unwrap_or(i64::MAX);
            self.disk_free_bytes.set(bytes(fs.f_bavail));
            self.disk_total_bytes.set(bytes(fs.f_blocks));
        }
        self.data_bytes.set(i64::try_from(dir_bytes(data_dir)).unwrap_or(i64::MAX));
    }

    /// Counts one weight submission.
    pub fn weights_submitted(&self, path: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "refused" };
        self.weights_submissions.get_or_create(&[("path", path), ("outcome", outcome)]).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Bytes of the files under `dir`, recursively (symbolic links are not followed).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
