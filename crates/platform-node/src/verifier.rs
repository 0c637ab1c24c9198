//! Submission signatures checked in batches. Every submission handed to the node (HTTP, or
//! [`RunningNode::submit`](crate::RunningNode)) waits here for its signature check; the
//! [`Verifier`] gathers the submissions that arrive while earlier checks run and verifies each
//! gathering together (schnorrkel batch verification costs a fraction of one-by-one checks per
//! signature), on one checking thread per core. A quiet node checks one at a time, as
//! before; a busy one checks in ever larger batches, like the group commit that follows.
//!
//! A batch with a bad signature is checked again one by one, so each submitter gets its own
//! answer; forged submissions cost their sender's batch about one and a half checks each.

use std::sync::{Arc, Mutex};

use platform_types::{Envelope, EnvelopeError, NetUid, Signed, Submission};
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{mpsc, oneshot};

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
    /// Starts `threads` checking threads; each batch's size goes to `batches`. The threads end
    /// when every handle is gone.
    ///
    /// One thread at a time gathers: it waits for the first submission, takes every one queued
    /// behind it, lets the next thread gather, and checks its batch. So a quiet node checks each
    /// submission as it comes, and a busy one in batches of what arrived while the others checked.
    pub fn start(netuid: NetUid, threads: usize, batches: Histogram) -> Verifier {
        let (queue, requests) = mpsc::channel::<(Envelope, Reply)>(QUEUE);
        let requests = Arc::new(Mutex::new(requests));
        for _ in 0..threads.max(1) {
            let (requests, batches) = (requests.clone(), batches.clone());
            let checker = move || {
                while let Some(batch) = gather(&requests) {
                    batches.observe(batch.len() as f64);
                    let (envelopes, replies): (Vec<Envelope>, Vec<Reply>) = batch.into_iter().unzip();
                    let results = Envelope::open_batch::<Submission>(envelopes, netuid);
                    for (result, reply) in results.into_iter().zip(replies) {
                        let _ = reply.send(result);
                    }
                }
            };
            std::thread::Builder::new().name("platform-verify".into()).spawn(checker).expect("a checking thread");
        }
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

/// The next batch: the first submission waited for, then every one queued behind it (at most
/// [`MAX_BATCH`]). `None` once every handle is gone.
fn gather(requests: &Mutex<mpsc::Receiver<(Envelope, Reply)>>) -> Option<Vec<(Envelope, Reply)>> {
    let mut requests = requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut batch = vec![requests.blocking_recv()?];
    while batch.len() < MAX_BATCH {
        match requests.try_recv() {
            Ok(request) => batch.push(request),
            Err(_) => break,
        }
    }
    Some(batch)
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
