//! When a node has lost every connection (its link went down, its peers restarted, a
//! partition), it dials its bootstrap peers again, backing off exponentially so a node whose
//! peers are gone for good does not hammer them.

use std::time::{Duration, Instant};

/// First wait after a failed round of redials.
const FIRST: Duration = Duration::from_secs(1);
/// Longest wait between rounds.
const LONGEST: Duration = Duration::from_secs(60);

/// The redial schedule. Pure: the event loop tells it the time and whether the node is alone.
#[derive(Debug)]
pub struct Redial {
    backoff: Duration,
    next: Option<Instant>,
}

impl Default for Redial {
    fn default() -> Self {
        Redial { backoff: FIRST, next: None }
    }
}

impl Redial {
    /// Called every tick: true when the bootstrap peers should be dialled now. A node that is
    /// not alone never redials; a node alone redials at once, then after 1, 2, 4 … 60 s.
    pub fn due(&mut self, alone: bool, now: Instant) -> bool {
        if !alone {
            return false;
        }
        if self.next.is_some_and(|at| now < at) {
            return false;
        }
        self.next = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(LONGEST);
        true
    }

    /// A connection was established: the next loss starts the schedule afresh.
    pub fn connected(&mut self) {
        *self = Redial::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_while_alone_and_starts_afresh_after_a_connection() {
        let start = Instant::now();
        let mut r = Redial::default();
        assert!(!r.due(false, start), "a connected node never redials");
        assert!(r.due(true, start), "alone: at once");
        assert!(!r.due(true, start + Duration::from_millis(999)));
        let mut dials = vec![0u64];
        for s in 1..=300 {
            if r.due(true, start + Duration::from_secs(s)) {
                dials.push(s);
            }
        }
        assert_eq!(&dials[..7], &[0, 1, 3, 7, 15, 31, 63], "1, 2, 4 … s apart");
        assert_eq!(dials[7], 123, "then at most 60 s apart");
        r.connected();
        let later = start + Duration::from_secs(1000);
        assert!(r.due(true, later), "a fresh loss redials at once");
        assert!(!r.due(true, later + Duration::from_millis(500)));
        assert!(r.due(true, later + Duration::from_secs(1)));
    }
}
