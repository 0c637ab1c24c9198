//! Prometheus metrics served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
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
    /// Weight vectors the chain accepted from this validator.
    pub weights_set: Counter,
    /// Weight vectors the chain refused or that could not be sent.
    pub weights_failed: Counter,
    /// Seconds from accepting a submission to its final score (evaluations committed from
    /// more than two thirds of the stake).
    pub score_latency: Histogram,
    /// Committed submissions waiting for room in the evaluation actor's mailbox.
    pub evaluation_backlog: Gauge,
    /// Verdicts on received messages and blob announcements dropped because the p2p command
    /// queue was full (the messages go unforwarded; blobs are announced again at start).
    pub p2p_commands_dropped: Counter,
    /// Seconds from this validator first holding a height's proposal (built or received) to
    /// committing that height.
    pub commit_latency: Histogram,
    /// The peer guard's counters, cumulative since start, read when `/metrics` is read.
    pub guard: GuardGauges,
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
            weights_set: Counter::default(),
            weights_failed: Counter::default(),
            score_latency: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            commit_latency: Histogram::new(exponential_buckets(0.002, 1.25, 36)),
            p2p_commands_dropped: Counter::default(),
            evaluation_backlog: Gauge::default(),
            guard: GuardGauges::default(),
            registry: Registry::default(),
        };
        let guard = &metrics.guard;
        for (name, help, gauge) in [
            ("p2p_messages_accepted", "Gossip messages admitted by the peer guard", &guard.accepted),
            ("p2p_messages_rate_limited", "Gossip messages dropped for their peer's rate", &guard.rate_limited),
            ("p2p_refused_banned", "Messages and connections refused from banned peers", &guard.refused_banned),
            ("p2p_messages_invalid", "Gossip messages judged invalid", &guard.invalid),
            ("p2p_bans", "Peers banned", &guard.bans),
            ("p2p_connections_refused", "Connections refused for the per-IP limit", &guard.refused_connections),
        ] {
            registry.register(name, help, gauge.clone());
        }
        registry.register("submissions_accepted", "Submissions accepted", metrics.submissions_accepted.clone());
        registry.register("submissions_rejected", "Submissions refused", metrics.submissions_rejected.clone());
        registry.register("evaluations", "Evaluations run by this validator", metrics.evaluations.clone());
        registry.register(
            "evaluations_abstained",
            "Evaluations abstained from after local failures (nothing signed)",
            metrics.evaluations_abstained.clone(),
        );
        registry.register("consensus_height", "Committed consensus height", metrics.height.clone());
        registry.register("chain_block", "Latest chain block seen", metrics.chain_block.clone());
        registry.register("voting", "1 while this validator votes", metrics.voting.clone());
        registry.register("peers", "Connected libp2p peers", metrics.peers.clone());
        registry.register("weights_set", "Weight vectors accepted by the chain", metrics.weights_set.clone());
        registry.register("weights_failed", "Weight vectors refused by the chain", metrics.weights_failed.clone());
        registry.register(
            "score_latency_seconds",
            "Seconds from submission to final score",
            metrics.score_latency.clone(),
        );
        registry.register(
            "evaluation_backlog",
            "Committed submissions waiting for room in the evaluation actor's mailbox",
            metrics.evaluation_backlog.clone(),
        );
        registry.register(
            "p2p_commands_dropped",
            "Message verdicts and blob announcements dropped for a full p2p command queue",
            metrics.p2p_commands_dropped.clone(),
        );
        registry.register(
            "commit_latency_seconds",
            "Seconds from holding a height's proposal to committing it",
            metrics.commit_latency.clone(),
        );
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
