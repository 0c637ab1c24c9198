//! Links between simulated nodes: latency, jitter, loss and partitions.

use rand::Rng;
use rand::rngs::StdRng;

/// How messages travel.
#[derive(Clone, Copy, Debug)]
pub struct LinkConfig {
    /// Base one-way delay, ms.
    pub latency_ms: u64,
    /// Uniform extra delay in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Probability of loss, in parts per million.
    pub loss_ppm: u32,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { latency_ms: 10, jitter_ms: 5, loss_ppm: 0 }
    }
}

/// Which nodes can reach which: nodes in different groups cannot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Partition {
    /// Group of each node; `None` for no partition.
    groups: Option<Vec<u8>>,
}

impl Partition {
    pub(crate) fn split(groups: Vec<u8>) -> Self {
        Partition { groups: Some(groups) }
    }

    pub(crate) fn healed() -> Self {
        Partition { groups: None }
    }

    pub(crate) fn connected(&self, a: usize, b: usize) -> bool {
        match &self.groups {
            Some(groups) => groups.get(a) == groups.get(b),
            None => true,
        }
    }
}

impl LinkConfig {
    /// The delay of one message, or `None` if it is lost.
    pub(crate) fn delay(&self, rng: &mut StdRng) -> Option<u64> {
        if self.loss_ppm > 0 && rng.gen_range(0..1_000_000) < self.loss_ppm {
            return None;
        }
        let jitter = if self.jitter_ms > 0 { rng.gen_range(0..=self.jitter_ms) } else { 0 };
        Some(self.latency_ms + jitter)
    }
}
