//! Envelopes gossiped in batches. Admitted submissions and this validator's evaluations go to
//! the other validators as one `EnvelopeBatch` per topic and tick instead of one gossip message
//! each: every gossip message costs a libp2p signature, its check at each receiver and a slot in
//! the peers' message rate, whatever its size. Envelopes are queued as their wire bytes (as
//! received, for a relayed submission) and joined into the batch without being encoded again.

use std::time::{Duration, Instant};

use platform_p2p::Topic;
use platform_types::Envelope;

/// A batch is sent once it holds about this many bytes (a gossip message carries at most 1 MiB).
pub const BATCH_BYTES: usize = 512 * 1024;

/// The shortest time between two batches that are not full: a quiet network sends at once, a
/// busy one at most this often.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// Envelopes waiting for the next batch on one topic.
pub struct Outbox {
    topic: Topic,
    envelopes: Vec<Vec<u8>>,
    bytes: usize,
    last_sent: Instant,
}

impl Outbox {
    /// An empty outbox for `topic`, made at `now`.
    pub fn new(topic: Topic, now: Instant) -> Self {
        Outbox { topic, envelopes: Vec::new(), bytes: 0, last_sent: now }
    }

    /// Queues an envelope's wire bytes at `now`; the batch to send now when it made the batch
    /// full.
    pub fn push(&mut self, envelope: Vec<u8>, now: Instant) -> Option<(Topic, Vec<u8>)> {
        // The envelope and its framing in the batch (a key byte and a length of up to 3).
        self.bytes += envelope.len() + 4;
        self.envelopes.push(envelope);
        if self.bytes >= BATCH_BYTES { self.take(now) } else { None }
    }

    /// The batch to send at `now` when the last one left at least [`INTERVAL`] before.
    pub fn due(&mut self, now: Instant) -> Option<(Topic, Vec<u8>)> {
        if now.saturating_duration_since(self.last_sent) >= INTERVAL { self.take(now) } else { None }
    }

    /// Whatever is queued, as one encoded batch sent at `now`; `None` when nothing is.
    pub fn take(&mut self, now: Instant) -> Option<(Topic, Vec<u8>)> {
        if self.envelopes.is_empty() {
            return None;
        }
        let batch = Envelope::join_batch(&self.envelopes);
        self.envelopes.clear();
        self.bytes = 0;
        self.last_sent = now;
        Some((self.topic, batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{Keypair, MessageKind, Signature};

    fn envelope(size: usize) -> Vec<u8> {
        Envelope {
            kind: MessageKind::Submission,
            payload: vec![7; size],
            signer: Keypair::from_suri("//m").expect("key").public(),
            signature: Signature::from_bytes([0; 64]),
        }
        .to_bytes()
    }

    #[test]
    fn batches_fill_by_size_and_leave_by_interval() {
        let (big, small) = (envelope(4096), envelope(10));
        let start = Instant::now();
        let mut outbox = Outbox::new(Topic::Evaluations, start);
        assert!(outbox.take(start).is_none(), "nothing queued");
        let mut sent = None;
        let mut pushed = 0;
        while sent.is_none() {
            sent = outbox.push(big.clone(), start);
            pushed += 1;
        }
        let (topic, bytes) = sent.expect("full");
        assert_eq!(topic, Topic::Evaluations);
        let each = big.len() + 4;
        assert_eq!(pushed, BATCH_BYTES.div_ceil(each));
        assert!(
            bytes.len() < platform_p2p::P2pConfig::new(platform_types::NetUid::new(1)).max_message_bytes,
            "a full batch fits in a gossip message"
        );
        let split = Envelope::split_batch(&bytes, usize::MAX).expect("splits");
        assert_eq!(split.len(), pushed);
        assert!(split.iter().all(|e| *e == big), "each envelope as it was pushed");

        assert!(outbox.push(small.clone(), start).is_none());
        assert!(outbox.due(start + INTERVAL / 2).is_none(), "the last batch left just now");
        let (_, bytes) = outbox.due(start + INTERVAL).expect("due after the interval");
        assert_eq!(Envelope::split_batch(&bytes, usize::MAX).expect("splits"), vec![small]);
        assert!(outbox.take(start + INTERVAL).is_none(), "emptied");
    }
}
