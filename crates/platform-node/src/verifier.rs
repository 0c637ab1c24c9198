//! Submission signatures checked in batches. Every submission handed to the node (HTTP, or
//! [`RunningNode::submit`](crate::RunningNode)) waits here for its signature check; the
//! [`Verifier`] gathers the submissions that arrive while earlier checks run and verifies each
//! gathering together (schnorrkel batch verification costs a fraction of one-by-one checks per
//! signature), on at most one blocking thread per core. A quiet node checks one at a time, as
//! before; a busy one checks in ever larger batches, like the group commit that follows.
//!
//! A batch with a bad signature is checked again one by one, so each submitter gets its own
//! answer; forged submissions cost their sender's batch about one and a half checks each.

use std::sync::Arc;

use platform_types::{Envelope, EnvelopeError, NetUid, Signed, Submission};
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Submissions checked together, at most.
const MAX_BATCH: usize = 1024;

/// Submissions waiting for a check, at most (senders wait beyond it).
const QUEUE: usize = 16_384;

type Reply = oneshot::Sender<Result<Signed<Submission>, EnvelopeError>>;

/// Handle of the batching task. Cheap to clone; the task ends when every handle is gone.
#[derive(Clone)]
pub struct Verifier {
    queue: mpsc::Sender<(Envelope, Reply)>,
}

impl Verifier {
    /// Starts the task (inside a tokio runtime), checking on at most `threads` threads at once;
    /// each batch's size goes to `batches`.
    pub fn start(netuid: NetUid, threads: usize, batches: Histogram) -> Verifier {
        let (queue, mut requests) = mpsc::channel::<(Envelope, Reply)>(QUEUE);
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(threads.max(1)));
            while let Some(first) = requests.recv().await {
                // While every thread is busy, arrivals gather into the next batch.
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match requests.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                batches.observe(batch.len() as f64);
                tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    let (envelopes, replies): (Vec<Envelope>, Vec<Reply>) = batch.into_iter().unzip();
                    let results = Envelope::open_batch::<Submission>(envelopes, netuid);
                    for (result, reply) in results.into_iter().zip(replies) {
                        let _ = reply.send(result);
                    }
                });
            }
        });
        Verifier { queue }
    }

    /// Opens a submission envelope: decoded, checked against its header and its signature
    /// verified. `None` when the verifier has stopped.
    pub async fn open(&self, envelope: Envelope) -> Option<Result<Signed<Submission>, EnvelopeError>> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((envelope, reply)).await.ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_types::{ChallengeId, Codec, Keypair, Payload};

    fn submission(miner: &Keypair, nonce: u64) -> Envelope {
        let submission = Submission {
            challenge: ChallengeId::new("c").expect("id"),
            miner: miner.public(),
            payload: Payload::Inline(vec![1, 2, 3]),
            payload_size: 3,
            metadata: vec![],
            nonce,
            timestamp_ms: 0,
            phase: Default::default(),
        };
        Envelope::seal(miner, NetUid::new(1), &submission)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_submitter_gets_its_own_answer_from_a_shared_batch() {
        let batches = Histogram::new([1.0, 10.0, 100.0, 1000.0].into_iter());
        let verifier = Verifier::start(NetUid::new(1), 2, batches.clone());
        let miner = Keypair::from_suri("//m").expect("key");
        let mut checks = tokio::task::JoinSet::new();
        for nonce in 0..300u64 {
            let mut envelope = submission(&miner, nonce);
            // Every tenth is forged: its payload no longer matches the signature.
            if nonce % 10 == 3 {
                envelope.payload = submission(&miner, nonce + 1_000).payload;
            }
            let verifier = verifier.clone();
            checks.spawn(async move { (nonce, verifier.open(envelope).await.expect("running")) });
        }
        let mut answers = 0;
        while let Some(joined) = checks.join_next().await {
            let (nonce, result) = joined.expect("task");
            match result {
                Ok(signed) => {
                    assert_ne!(nonce % 10, 3, "forged submission {nonce} accepted");
                    assert_eq!(signed.message.nonce, nonce);
                }
                Err(e) => assert_eq!(nonce % 10, 3, "genuine submission {nonce} refused: {e}"),
            }
            answers += 1;
        }
        assert_eq!(answers, 300);

        // A different subnet's signature does not verify here.
        let other = Envelope::seal(
            &miner,
            NetUid::new(2),
            &Submission::from_bytes(&submission(&miner, 1).payload).expect("decodes"),
        );
        assert!(verifier.open(other).await.expect("running").is_err());

        // Every submission was in exactly one observed batch.
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("batch", "", batches);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        assert!(text.contains("batch_sum 301.0"), "{text}");
    }
}
