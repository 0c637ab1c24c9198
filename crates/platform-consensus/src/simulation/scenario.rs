//! What a simulated run is asked to do ([`Scenario`]) and what it reports ([`Report`]).

use platform_types::Hash;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::byzantine::Behaviour;
use super::network::LinkConfig;

/// One simulated run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Validators in the committee.
    pub validators: usize,
    /// Behaviour of validators `0..behaviours.len()`; the rest are honest.
    pub behaviours: Vec<Behaviour>,
    /// Stake of each validator (default: 1000 TAO each).
    pub stakes: Option<Vec<u64>>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Heights every honest node must commit.
    pub target_height: u64,
    /// Virtual time limit.
    pub max_time_ms: u64,
    /// Link behaviour.
    pub link: LinkConfig,
    /// `(from_ms, to_ms, group of each process)`: partitions in force during those intervals
    /// (nodes in different groups cannot reach each other). Successive entries change the split
    /// mid-run; between and after them the network is whole.
    pub partitions: Vec<(u64, u64, Vec<u8>)>,
    /// `(process, crash_at_ms, restart_at_ms)`.
    pub crashes: Vec<(usize, u64, u64)>,
    /// View-0 timeout.
    pub base_timeout_ms: u64,
}

impl Scenario {
    /// `validators` honest validators with equal stake on a 10 ms ± 5 ms network.
    pub fn new(validators: usize, seed: u64) -> Self {
        Scenario {
            validators,
            behaviours: Vec::new(),
            stakes: None,
            seed,
            target_height: 10,
            max_time_ms: 600_000,
            link: LinkConfig::default(),
            partitions: Vec::new(),
            crashes: Vec::new(),
            base_timeout_ms: 500,
        }
    }

    /// The happy path: `byzantine` faulty validators (behaviours cycling from the seed) on a
    /// 10 ms network without jitter or loss.
    pub fn calm(validators: usize, byzantine: usize, seed: u64, behaviours: &[Behaviour], heights: u64) -> Self {
        let mut scenario = Scenario::new(validators, seed);
        scenario.target_height = heights;
        scenario.behaviours = (0..byzantine).map(|i| behaviours[(seed as usize + i) % behaviours.len()]).collect();
        scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 0, loss_ppm: 0 };
        scenario
    }

    /// Faults drawn from the seed: `byzantine` faulty validators (behaviours cycling from the
    /// seed), 10 ± 10 ms links losing `loss_ppm`, a partition that first cuts off one honest
    /// validator and then moves to another process, and another honest validator crashed and
    /// restarted.
    pub fn random(
        validators: usize,
        byzantine: usize,
        seed: u64,
        behaviours: &[Behaviour],
        heights: u64,
        loss_ppm: u32,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5ca1_ab1e);
        let mut scenario = Scenario::calm(validators, byzantine, seed, behaviours, heights);
        scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 10, loss_ppm };
        let honest: Vec<usize> = (byzantine..validators).collect();
        if honest.len() >= 2 {
            // One honest validator is cut off, then the cut moves to another process.
            let pick = rng.gen_range(0..honest.len());
            let mut first = vec![0u8; scenario.processes()];
            first[honest[pick]] = 1;
            let mut second = vec![0u8; scenario.processes()];
            second[rng.gen_range(0..scenario.processes())] = 1;
            let start = rng.gen_range(0..2_000);
            let change = start + rng.gen_range(500..3_000);
            let end = change + rng.gen_range(500..3_000);
            scenario.partitions = vec![(start, change, first), (change, end, second)];
            let at = rng.gen_range(0..3_000);
            scenario.crashes = vec![(honest[(pick + 1) % honest.len()], at, at + rng.gen_range(100..4_000))];
        }
        scenario
    }

    /// Processes: one per validator, plus a second one for each twin.
    pub fn processes(&self) -> usize {
        self.validators + self.behaviours.iter().filter(|b| **b == Behaviour::Twin).count()
    }

    /// When the network is whole again and every crashed node is back.
    pub(super) fn settled_at(&self) -> u64 {
        let partition = self.partitions.iter().map(|p| p.1).max().unwrap_or(0);
        let restarts = self.crashes.iter().map(|c| c.2).max().unwrap_or(0);
        partition.max(restarts)
    }
}

/// What a run did, and whether it broke any property.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Committed height of each process at the end.
    pub heights: Vec<u64>,
    /// Lowest committed height among honest processes.
    pub min_honest_height: u64,
    /// Messages sent (per recipient).
    pub messages_sent: u64,
    /// Messages delivered.
    pub messages_delivered: u64,
    /// Misbehaviour reports raised by honest nodes.
    pub misbehaviour_reports: u64,
    /// Checkpoints emitted by honest nodes, each verified with [`crate::verify_checkpoint`].
    pub checkpoints: Vec<platform_types::Checkpoint>,
    /// Virtual time at the end.
    pub virtual_time_ms: u64,
    /// For each height: virtual ms from its first proposal to the first honest commit.
    pub commit_latency_ms: Vec<u64>,
    /// Wall time spent inside the validators' state machines, in nanoseconds (the validators'
    /// own CPU time, without the simulator's).
    pub machine_nanos: u128,
    /// Property breaches (empty for a correct run).
    pub violations: Vec<String>,
    /// Digest of the trace: equal for equal scenarios.
    pub digest: Hash,
}
