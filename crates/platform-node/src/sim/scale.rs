//! The network at size: `n` validators running their real cores with the node's default timing
//! (a block at most every 250 ms, a 2 s view timeout), over links of a given latency, while a
//! challenge is added, a miner's submissions are evaluated by every validator and the chain
//! moves an epoch a second (so blocks carry orders, evaluations, metagraph snapshots and
//! weights). Measured over a window of heights: how long each block takes from its first
//! proposal to each validator's commit (virtual time, so the links' latency only), what every
//! validator sends per block, and the real time the simulator spends per validator per block —
//! every core's whole work (signatures made and checked, rules, application, store, views),
//! run one after the other on one thread. With a load ([`Scale::submissions`]), the difference
//! from the same run without it is each validator's work per submission at that size.
//! `benches/benches/scale.rs` prints them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_types::{Action, SubmissionId, VerifiedEnvelopes};

use super::Stuck;
use super::actions::{challenge_and_submissions, submission_input};
use super::net::Net;
use super::setup::Timing;
use crate::mempool::Mempool;

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
    /// Submissions handed in as the window opens, spread over the validators (signed and
    /// checked by the miner's side before the clock starts, as the API's verifier would): each
    /// is relayed, ordered and evaluated by every validator, and the run goes on past the
    /// window until every one of those evaluations is ordered ([`measure`]).
    pub submissions: usize,
    /// Each validator's mempool capacity (the node's default is
    /// [`crate::config::DEFAULT_MEMPOOL_CAPACITY`]); evaluations have four times the room,
    /// shared among the validators, and the memory of checked signatures is sized to it as the
    /// node sizes it. The miner's rate allows the whole load.
    pub pool: usize,
}

/// What a measured run gave.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Heights measured (the window; with a load, until it was all evaluated and ordered).
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
    /// Submissions committed in the window: the set-up's six and the load.
    pub submissions: usize,
}

/// Evaluations of `ids` ordered in the blocks after `first` up to `last`, as `records` holds them.
fn load_evaluations(records: &crate::records::Records, first: u64, last: u64, ids: &HashSet<SubmissionId>) -> usize {
    let blocks = records.blocks_from(first + 1, (last - first) as usize).unwrap_or_default();
    let batches = blocks.iter().flat_map(|(block, _)| &block.actions).filter_map(Action::evaluation_batch);
    batches.map(|batch| batch.evaluations().iter().filter(|e| ids.contains(&e.submission)).count()).sum()
}

/// Runs `scale` and measures it: over [`Scale::heights`], and with a load until every
/// validator's evaluation of it is ordered (at most four times as many heights).
pub fn measure(scale: &Scale) -> Result<Figures, Stuck> {
    let n = scale.validators;
    let mut net = Net::with_timing(n, scale.seed, Timing::NODE);
    net.chain_every = Some(Duration::from_millis(100));
    net.link_ms = (scale.link.0.as_millis() as u64, scale.link.1.as_millis() as u64);
    let limit = Duration::from_secs(600);
    // The load is the simulated subnet's one miner's: its rate allows it (as many miners'
    // submissions, each within the node's default rate, would be admitted).
    let rate = u32::try_from(scale.submissions + 64).unwrap_or(u32::MAX);
    for node in &mut net.nodes {
        node.mempool = Mempool::new(scale.pool, rate).with_byte_cap(node.cfg.max_unordered_bytes);
        // The node's memory of checked signatures, sized to the pool as `validator-node` sizes it.
        node.verified = Arc::new(VerifiedEnvelopes::new(crate::node::verified_capacity(scale.pool)));
    }
    let miner = challenge_and_submissions(&mut net, 0)?;
    let (ids, load): (HashSet<SubmissionId>, Vec<_>) = (0..scale.submissions)
        .map(|i| {
            let payload = format!("answer {i}").into_bytes();
            submission_input(&net, &miner, "sim", 1_000 + i as u64, payload, None, Default::default())
        })
        .unzip();
    net.max_inputs = net.max_inputs.saturating_add(64 * (n * scale.submissions) as u64);
    let first = net.nodes.iter().map(|node| node.state.tip.height.get()).min().unwrap_or(0);
    let mut last = first + scale.heights;
    net.measure();
    let (started, virtual_start) = (Instant::now(), net.elapsed);
    for (i, input) in load.into_iter().enumerate() {
        net.deliver(i % n, input);
    }
    net.run_to(last, limit)?;
    let mut cpu = started.elapsed();
    // A load is measured until every validator's evaluation of it is ordered, a height at a
    // time (the count read off the clock), at most four windows.
    while !ids.is_empty() && last < first + 4 * scale.heights {
        if load_evaluations(&net.nodes[0].records, first, last, &ids) >= n * ids.len() {
            break;
        }
        last += 1;
        let more = Instant::now();
        net.run_to(last, limit)?;
        cpu += more.elapsed();
    }
    let heights = last - first;
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
    let blocks = heights.max(1);
    let per_block = |total: u64| total / (n as u64 * blocks);
    let records = &net.nodes[0].records;
    let blocks_measured = records.blocks_from(first + 1, heights as usize).unwrap_or_default();
    let actions = || blocks_measured.iter().flat_map(|(block, _)| &block.actions);
    let evaluations = actions().filter_map(Action::evaluation_batch).map(|b| b.evaluations().len()).sum();
    let submissions = actions().filter(|a| matches!(a, Action::Submission(_))).count();
    Ok(Figures {
        heights,
        virtual_time,
        commit_p50: pick(0.5),
        commit_p99: pick(0.99),
        commit_max: latencies.last().copied().unwrap_or_default(),
        bytes_per_validator_per_block: per_block(measured.bytes.iter().sum()),
        messages_per_validator_per_block: per_block(measured.messages.iter().sum()),
        cpu_per_validator_per_block: cpu / (n as u32 * blocks as u32),
        evaluations,
        submissions,
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
        let scale = Scale { validators: 4, link, heights: 8, seed: 1, submissions: 0, pool: 64 };
        let figures = measure(&scale).expect("commits");
        assert_eq!(figures.heights, 8);
        assert!(figures.commit_p50 >= 3 * link.0, "{figures:?}");
        assert!(figures.commit_p50 <= figures.commit_p99 && figures.commit_p99 <= figures.commit_max);
        assert!(figures.commit_max < Duration::from_secs(2), "{figures:?}");
        assert!(figures.messages_per_validator_per_block >= 2, "{figures:?}");
        assert!(figures.bytes_per_validator_per_block > 100 * figures.messages_per_validator_per_block, "{figures:?}");
        assert!(figures.virtual_time >= Duration::from_millis(8 * 250), "a block at most every 250 ms: {figures:?}");
    }

    /// A load handed in as the window opens is ordered, and evaluated by every validator with
    /// each evaluation ordered, within the window: what makes the loaded run's extra CPU the
    /// work of those submissions. Hole: with eight validators each one's evaluations beyond
    /// its share of the pool (132 here, of 206) were refused, even by itself, and never
    /// ordered: 1 063 of 1 648.
    #[test]
    fn a_load_is_ordered_and_evaluated_by_everyone_in_the_window() {
        let link = (Duration::from_millis(45), Duration::from_millis(55));
        let scale = Scale { validators: 8, link, heights: 16, seed: 2, submissions: 200, pool: 264 };
        let figures = measure(&scale).expect("commits");
        assert_eq!(figures.submissions, 6 + 200, "{figures:?}");
        assert_eq!(figures.evaluations, 8 * (6 + 200), "{figures:?}");
    }
}
