//! Replay protection for signed messages that carry a `(nonce, timestamp)` pair.
//!
//! A message is accepted once: its timestamp must lie within `window` of the caller's clock,
//! and its `(signer, nonce)` must not have been seen inside that window. Entries older than
//! the window are forgotten, since their timestamps are rejected anyway, so memory is bounded
//! by the window and by a hard entry cap. No clock is read here: the caller passes `now_ms`.

use std::collections::{BTreeSet, HashMap};

use crate::keys::PublicKey;

/// Why a message was refused as a possible replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The timestamp is older than the window.
    #[error("message is stale: {age_ms} ms old, window is {window_ms} ms")]
    Stale {
        /// How old the message is.
        age_ms: u64,
        /// The accepted window.
        window_ms: u64,
    },
    /// The timestamp is further in the future than the window allows (clock skew).
    #[error("message is from the future: {ahead_ms} ms ahead, window is {window_ms} ms")]
    Future {
        /// How far ahead.
        ahead_ms: u64,
        /// The accepted window.
        window_ms: u64,
    },
    /// This `(signer, nonce)` was already accepted inside the window.
    #[error("duplicate nonce {nonce} from this signer")]
    Duplicate {
        /// The repeated nonce.
        nonce: u64,
    },
    /// The guard holds its maximum number of entries; try again later.
    #[error("replay guard is full ({0} recent messages); try again later")]
    Saturated(usize),
}

/// Remembers recently accepted `(signer, nonce)` pairs.
#[derive(Debug)]
pub struct ReplayGuard {
    window_ms: u64,
    max_entries: usize,
    seen: HashMap<(PublicKey, u64), u64>,
    by_time: BTreeSet<(u64, PublicKey, u64)>,
}

impl ReplayGuard {
    /// A guard accepting timestamps within `window_ms` of now, remembering at most
    /// `max_entries` messages.
    pub fn new(window_ms: u64, max_entries: usize) -> Self {
        ReplayGuard { window_ms, max_entries, seen: HashMap::new(), by_time: BTreeSet::new() }
    }

    /// Accepts the message and remembers it, or says why not.
    pub fn check(&mut self, signer: PublicKey, nonce: u64, timestamp_ms: u64, now_ms: u64) -> Result<(), ReplayError> {
        let window_ms = self.window_ms;
        self.forget_before(now_ms.saturating_sub(window_ms));
        if timestamp_ms.saturating_add(window_ms) < now_ms {
            return Err(ReplayError::Stale { age_ms: now_ms - timestamp_ms, window_ms });
        }
        if timestamp_ms > now_ms.saturating_add(window_ms) {
            return Err(ReplayError::Future { ahead_ms: timestamp_ms - now_ms, window_ms });
        }
        if self.seen.contains_key(&(signer, nonce)) {
            return Err(ReplayError::Duplicate { nonce });
        }
        if self.seen.len() >= self.max_entries {
            return Err(ReplayError::Saturated(self.max_entries));
        }
        self.seen.insert((signer, nonce), timestamp_ms);
        self.by_time.insert((timestamp_ms, signer, nonce));
        Ok(())
    }

    /// How many messages are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn forget_before(&mut self, cutoff_ms: u64) {
        while let Some(&(timestamp, signer, nonce)) = self.by_time.first() {
            if timestamp >= cutoff_ms {
                break;
            }
            self.by_time.pop_first();
            self.seen.remove(&(signer, nonce));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PublicKey {
        PublicKey::from_bytes([byte; 32])
    }

    #[test]
    fn accepts_once_and_rejects_the_replay() {
        let mut guard = ReplayGuard::new(1_000, 10);
        assert_eq!(guard.check(key(1), 7, 10_000, 10_000), Ok(()));
        assert_eq!(guard.check(key(1), 7, 10_000, 10_500), Err(ReplayError::Duplicate { nonce: 7 }));
        assert_eq!(guard.check(key(2), 7, 10_000, 10_500), Ok(()), "nonces are per signer");
    }

    #[test]
    fn rejects_outside_the_window_and_forgets_old_entries() {
        let mut guard = ReplayGuard::new(1_000, 10);
        assert!(matches!(guard.check(key(1), 1, 8_000, 10_000), Err(ReplayError::Stale { .. })));
        assert!(matches!(guard.check(key(1), 1, 12_000, 10_000), Err(ReplayError::Future { .. })));
        guard.check(key(1), 1, 10_000, 10_000).expect("fresh");
        // Much later the old entry is pruned; the replayed message is now stale instead.
        assert!(matches!(guard.check(key(1), 1, 10_000, 20_000), Err(ReplayError::Stale { .. })));
        assert!(guard.is_empty());
    }

    #[test]
    fn is_bounded() {
        let mut guard = ReplayGuard::new(1_000, 2);
        guard.check(key(1), 1, 5_000, 5_000).expect("first");
        guard.check(key(1), 2, 5_000, 5_000).expect("second");
        assert_eq!(guard.check(key(1), 3, 5_000, 5_000), Err(ReplayError::Saturated(2)));
        assert_eq!(guard.len(), 2);
        guard.check(key(1), 3, 6_500, 6_500).expect("room after the window moved");
    }
}
