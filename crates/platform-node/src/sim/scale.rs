//! The network at size: `n` validators running their real cores with the node's default timing
//! (a block at most every 250 ms, a 2 s view timeout), over links of a given latency, while a
//! challenge is added, a miner's submissions are evaluated by every validator and the chain
//! moves an epoch a second (so blocks carry orders, evaluations, metagraph snapshots and
//! weights). Measured over a window of heights: how long each block takes from its first
//! proposal to each validator's commit (virtual time, so the links' latency only), what every
//! validator sends per block, and the real time the simulator spends per validator per block —
//! every core's whole work (signatures made and checked, rules, application, store, views),
//! run one after the other on one thread. `benches/benches/scale.rs` prints them.

use std::time::{Duration, Instant};

use super::Stuck;
use super::actions::challenge_and_submissions;
use super::net::Net;
use super::setup::Timing;

/// A measured run.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Validators, equal stake each, all honest.
    pub validators: usize,
    /// The least and the most a message takes on a link (uniform between them).
    pub link: (Duration, Duration),
    /// Heights measured, after the challenge and the submissions are in.
    pub heights: u64,
    /// Seeds the links' delays and the chain's pace.
    pub seed: u64,
}

/// What a measured run gave.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Heights measured (the window).
    pub heights: u64,
    /// The virtual time the window took.
    pub virtual_time: Duration,
    /// From a height's first proposal to a validator's commit of it, over every validator and
    /// height of the window: the median.
    pub commit_p50: Duration,
    /// ... the 99th percentile.
    pub commit_p99: Duration,
    /// ... the most.
    pub commit_max: Duration,
    /// Bytes each validator sent per block, on average: each message sent once to every peer, as
    /// over a full mesh.
    pub bytes_per_validator_per_block: u64,
    /// Messages each validator sent per block (one per receiver), on average.
    pub messages_per_validator_per_block: u64,
    /// Real time the simulator spent per validator per block in the window (one thread, so the
    /// CPU time of the cores' work).
    pub cpu_per_validator_per_block: Duration,
    /// Evaluations committed in the window.
    pub evaluations: usize,
}

/// Runs `scale` and measures it.
pub fn measure(scale: &Scale) -> Result<Figures, Stuck> {
    let n = scale.validators;
    let mut net = Net::with_timing(n, scale.seed, Timing::NODE);
    net.chain_every = Some(Duration::from_millis(100));
    net.link_ms = (scale.link.0.as_millis() as u64, scale.link.1.as_millis() as u64);
    let limit = Duration::from_secs(600);
    challenge_and_submissions(&mut net, 0)?;
    let first = net.nodes.iter().map(|node| node.state.tip.height.get()).min().unwrap_or(0);
    let last = first + scale.heights;
    net.measure();
    let (started, virtual_start) = (Instant::now(), net.elapsed);
    net.run_to(last, limit)?;
    let cpu = started.elapsed();
    let virtual_time = net.elapsed - virtual_start;
    let measured = net.measured.take().expect("measured");

    let mut latencies: Vec<Duration> = Vec::new();
    for committed in &measured.committed {
        for (height, at) in committed.range(first + 1..=last) {
            if let Some(proposed) = measured.proposed.get(height) {
                latencies.push(at.saturating_sub(*proposed));
            }
        }
    }
    latencies.sort();
    let pick =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    let blocks = scale.heights.max(1);
    let per_block = |total: u64| total / (n as u64 * blocks);
    let records = &net.nodes[0].records;
    let evaluations = records
        .blocks_from(first + 1, scale.heights as usize)
        .unwrap_or_default()
        .iter()
        .map(|(block, _)| block.actions.iter().filter(|a| matches!(a, platform_types::Action::Evaluation(_))).count())
        .sum();
    Ok(Figures {
        heights: scale.heights,
        virtual_time,
        commit_p50: pick(0.5),
        commit_p99: pick(0.99),
        commit_max: latencies.last().copied().unwrap_or_default(),
        bytes_per_validator_per_block: per_block(measured.bytes.iter().sum()),
        messages_per_validator_per_block: per_block(measured.messages.iter().sum()),
        cpu_per_validator_per_block: cpu / (n as u32 * blocks as u32),
        evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures are those of the run: every height measured commits at every validator after
    /// its proposal, no sooner than three link delays (proposal, prepare, commit votes), and
    /// every validator sends something for every block.
    #[test]
    fn a_measured_run_reports_latencies_bounded_by_its_links() {
        let link = (Duration::from_millis(45), Duration::from_millis(55));
        let figures = measure(&Scale { validators: 4, link, heights: 8, seed: 1 }).expect("commits");
        assert_eq!(figures.heights, 8);
        assert!(figures.commit_p50 >= 3 * link.0, "{figures:?}");
        assert!(figures.commit_p50 <= figures.commit_p99 && figures.commit_p99 <= figures.commit_max);
        assert!(figures.commit_max < Duration::from_secs(2), "{figures:?}");
        assert!(figures.messages_per_validator_per_block >= 2, "{figures:?}");
        assert!(figures.bytes_per_validator_per_block > 100 * figures.messages_per_validator_per_block, "{figures:?}");
        assert!(figures.virtual_time >= Duration::from_millis(8 * 250), "a block at most every 250 ms: {figures:?}");
    }
}
