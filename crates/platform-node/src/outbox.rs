//! Envelopes gossiped in batches. Admitted submissions and this validator's evaluations go to
//! the other validators as one `EnvelopeBatch` per topic and tick instead of one gossip message
//! each: every gossip message costs a libp2p signature, its check at each receiver and a slot in
//! the peers' message rate, whatever its size.

use std::time::{Duration, Instant};

use platform_p2p::Topic;
use platform_types::Envelope;

/// A batch is sent once it holds about this many bytes (a gossip message carries at most 1 MiB).
pub const BATCH_BYTES: usize = 512 * 1024;

/// The shortest time between two batches that are not full: a quiet network sends at once, a
/// busy one at most this often.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// Room for an envelope's fields besides its payload, and the batch's framing.
const ENVELOPE_OVERHEAD: usize = 128;

/// Envelopes waiting for the next batch on one topic.
pub struct Outbox {
    topic: Topic,
    envelopes: Vec<Envelope>,
    bytes: usize,
    last_sent: Instant,
}

impl Outbox {
    /// An empty outbox for `topic`.
    pub fn new(topic: Topic) -> Self {
        Outbox { topic, envelopes: Vec::new(), bytes: 0, last_sent: Instant::now() }
    }

    /// Queues an envelope; the batch to send now when it made the batch full.
    pub fn push(&mut self, envelope: Envelope) -> Option<(Topic, Vec<u8>)> {
        self.bytes += envelope.payload.len() + ENVELOPE_OVERHEAD;
        self.envelopes.push(envelope);
        if self.bytes >= BATCH_BYTES { self.take() } else { None }
    }

    /// The batch to send now when the last one left at least [`INTERVAL`] ago.
    pub fn due(&mut self) -> Option<(Topic, Vec<u8>)> {
        if self.last_sent.elapsed() >= INTERVAL { self.take() } else { None }
    }

    /// Whatever is queued, as one encoded batch; `None` when nothing is.
    pub fn take(&mut self) -> Option<(Topic, Vec<u8>)> {
        if self.envelopes.is_empty() {
            return None;
        }
        let batch = Envelope::encode_batch(&self.envelopes);
        self.envelopes.clear();
        self.bytes = 0;
        self.last_sent = Instant::now();
        Some((self.topic, batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{Keypair, MessageKind, Signature};

    fn envelope(size: usize) -> Envelope {
        Envelope {
            kind: MessageKind::Submission,
            payload: vec![7; size],
            signer: Keypair::from_suri("//m").expect("key").public(),
            signature: Signature::from_bytes([0; 64]),
        }
    }

    #[test]
    fn batches_fill_by_size_and_leave_by_interval() {
        let mut outbox = Outbox::new(Topic::Evaluations);
        assert!(outbox.take().is_none(), "nothing queued");
        let mut sent = None;
        let mut pushed = 0;
        while sent.is_none() {
            sent = outbox.push(envelope(4096));
            pushed += 1;
        }
        let (topic, bytes) = sent.expect("full");
        assert_eq!(topic, Topic::Evaluations);
        assert_eq!(pushed, BATCH_BYTES / (4096 + ENVELOPE_OVERHEAD) + 1);
        assert!(
            bytes.len() < platform_p2p::P2pConfig::new(platform_types::NetUid::new(1)).max_message_bytes,
            "a full batch fits in a gossip message"
        );
        assert_eq!(Envelope::decode_batch(&bytes, usize::MAX).expect("decodes").len(), pushed);

        assert!(outbox.push(envelope(10)).is_none());
        assert!(outbox.due().is_none(), "the last batch left just now");
        std::thread::sleep(INTERVAL);
        let (_, bytes) = outbox.due().expect("due after the interval");
        assert_eq!(Envelope::decode_batch(&bytes, usize::MAX).expect("decodes").len(), 1);
        assert!(outbox.take().is_none(), "emptied");
    }
}
