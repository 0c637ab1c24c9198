//! Admission: the checks a submission or sudo action passes before it is held, the group
//! commit of admitted submissions, their relay, and gossip's verdicts on what arrived.

use platform_consensus::{Input as CInput, PeerTag};
use platform_p2p::{MessageId, Topic, Verdict};
use platform_types::{Hash, PublicKey, ReplayError, Signed, Submission, SubmissionId, SudoAction};
use std::sync::Arc;
use tokio::sync::oneshot;

use crate::core::*;
use crate::effects::Effect;
use crate::mempool::Refusal;
use crate::metrics::Metrics;
use crate::records::Records;
use crate::writer::{Writer, Written};

/// A submission admitted in memory whose write to `data/` is pending: it is acknowledged,
/// relayed and proposed only once the [`Writer`] has written it.
pub(crate) struct Unwritten {
    pub(crate) id: SubmissionId,
    /// The envelope's bytes as received: stored and relayed as they are.
    pub(crate) bytes: Vec<u8>,
    /// The blob of a large payload (its hash checked), stored with the submission.
    pub(crate) blob: Option<(Hash, Vec<u8>)>,
    pub(crate) local: bool,
    pub(crate) reply: Option<oneshot::Sender<Result<SubmissionId, Rejection>>>,
}

/// The writer of admitted submissions: each batch in one synced write to `records`, then
/// acknowledged from the writer's thread at once (a failed batch is refused by the loop).
/// Each write's duration and size go to `metrics`.
pub(crate) fn submission_writer(records: Records, metrics: Arc<Metrics>) -> std::io::Result<Writer<Unwritten>> {
    Writer::start(move |batch: &mut [Unwritten]| {
        let start = std::time::Instant::now();
        let written = records
            .put_admitted(batch.iter().map(|u| (&u.id, &u.bytes[..], u.blob.as_ref())))
            .map_err(|e| e.to_string());
        metrics.admission_write.observe(start.elapsed().as_secs_f64());
        metrics.admission_write_batch.observe(batch.len() as f64);
        if written.is_ok() {
            for unwritten in batch.iter_mut() {
                if let Some(reply) = unwritten.reply.take() {
                    let _ = reply.send(Ok(unwritten.id));
                }
            }
        }
        written
    })
}

impl Core {
    /// Admits a submission in memory (held out of proposals) and queues its write; the reply
    /// waits for the write.
    pub(crate) fn on_submit(
        &mut self,
        signed: Signed<Submission>,
        bytes: Vec<u8>,
        local: bool,
        blob: Option<(Hash, Vec<u8>)>,
        reply: Option<oneshot::Sender<Result<SubmissionId, Rejection>>>,
    ) -> Result<(), Rejection> {
        match self.admit(&signed) {
            Ok(id) => {
                self.mempool.hold(id);
                self.unwritten.push(Unwritten { id, bytes, blob, local, reply });
                Ok(())
            }
            Err(rejection) => {
                self.metrics.submissions_rejected.inc();
                if let Some(reply) = reply {
                    let _ = reply.send(Err(rejection.clone()));
                }
                Err(rejection)
            }
        }
    }

    /// Hands the submissions admitted this turn to the writer: written with its next write.
    pub(crate) fn write_admitted(&mut self) {
        self.writer.push(std::mem::take(&mut self.unwritten));
    }

    /// The writes that have finished, taken in turn.
    pub(crate) fn take_written(&mut self) {
        while let Some(done) = self.writer.try_finish() {
            self.on_written(done);
        }
    }

    /// Writes everything admitted before returning, waiting for the writer. A block ordering a
    /// held submission is committed only after this, so that the bodies it orders are on disk
    /// before it is.
    pub(crate) fn settle_writes(&mut self) {
        self.write_admitted();
        while let Some(done) = self.writer.finish() {
            self.on_written(done);
        }
    }

    /// A batch is on disk (or could not be written): releases for proposals and relays its
    /// submissions, or refuses them; answers whoever the writer's thread has not.
    pub(crate) fn on_written(&mut self, Written { batch, result }: Written<Unwritten>) {
        let now = self.clock.now;
        for unwritten in batch {
            let result = match &result {
                Ok(()) => {
                    self.mempool.release(&unwritten.id);
                    self.metrics.submissions_accepted.inc();
                    if let Some((hash, _)) = unwritten.blob {
                        self.effects.push(Effect::Provide(hash));
                    }
                    self.accepted_at.insert(unwritten.id, now);
                    if unwritten.local {
                        let full = self.outbox.push(unwritten.bytes, now);
                        self.send(full);
                    }
                    Ok(unwritten.id)
                }
                Err(e) => {
                    self.mempool.remove_submission(&unwritten.id);
                    self.metrics.submissions_rejected.inc();
                    Err(Rejection::new(500, format!("cannot store the submission: {e}")))
                }
            };
            if let Some(reply) = unwritten.reply {
                let _ = reply.send(result);
            }
        }
        let due = self.outbox.due(now);
        self.send(due);
    }

    /// Gossips a batch an [`Outbox`] handed out.
    pub(crate) fn send(&mut self, batch: Option<(Topic, Vec<u8>)>) {
        if let Some((topic, bytes)) = batch {
            self.publish(topic, bytes);
        }
    }

    /// The admission rules: everything but the write. Every path (HTTP, gossip, relayed
    /// batches) is under the same checks and the same per-miner rate.
    pub(crate) fn admit(&mut self, signed: &Signed<Submission>) -> Result<SubmissionId, Rejection> {
        let id = SubmissionId(signed.envelope.payload_hash());
        let submission = &signed.message;
        self.submission_checks(&id, submission)?;
        let now_ms = self.clock.wall_ms;
        self.replay.check(submission.miner, submission.nonce, submission.timestamp_ms, now_ms).map_err(
            |e| match e {
                ReplayError::Duplicate { .. } => Rejection::new(409, e.to_string()),
                ReplayError::Stale { .. } | ReplayError::Future { .. } => {
                    Rejection::new(400, format!("timestamp_ms outside the replay window: {e}"))
                }
                ReplayError::Saturated(_) => Rejection::new(429, e.to_string()),
            },
        )?;
        self.mempool.admit(id, submission.clone(), now_ms, true).map_err(|refusal| match refusal {
            Refusal::Duplicate => Rejection::new(409, refusal.to_string()),
            Refusal::RateLimited(_) | Refusal::Full(_) | Refusal::Bytes { .. } | Refusal::MinerBytes { .. } => {
                Rejection::new(429, refusal.to_string())
            }
        })?;
        Ok(id)
    }

    /// The checks of a signed submission that change nothing: not seen before, an active
    /// challenge, within its size limit, in a phase the challenge takes now (a commitment to a
    /// task whose seed is drawn, a reveal of an open commitment of the miner's), a miner
    /// registered on the subnet.
    pub(crate) fn submission_checks(&self, id: &SubmissionId, submission: &Submission) -> Result<(), Rejection> {
        let id = *id;
        if self.state.submissions.contains_key(&id) || self.mempool.get(&id).is_some() {
            return Err(Rejection::new(409, format!("duplicate submission {id}")));
        }
        let Some(entry) = self.state.challenge(&submission.challenge) else {
            return Err(Rejection::new(
                404,
                format!("unknown or inactive challenge {:?}", submission.challenge.as_str()),
            ));
        };
        if submission.payload_size > u64::from(entry.spec.policy.max_input_bytes) {
            return Err(Rejection::new(
                413,
                format!(
                    "payload of {} bytes is over challenge {}'s limit of {} bytes",
                    submission.payload_size, submission.challenge, entry.spec.policy.max_input_bytes
                ),
            ));
        }
        self.state
            .admits_phase(&id, &platform_app::SubmissionInfo::of(submission))
            .map_err(|e| Rejection::new(400, e.to_string()))?;
        let Some(metagraph) = &self.metagraph else {
            return Err(Rejection::new(503, "the validator has not read the metagraph yet; retry shortly"));
        };
        if metagraph.uid_of(&submission.miner).is_none() {
            return Err(Rejection::new(
                403,
                format!(
                    "hotkey {} is not registered on subnet {} in the metagraph this validator read at chain block {}; \
                     it reads the metagraph again at each epoch and at least every {} blocks, so a hotkey registered \
                     since is admitted after the next read",
                    submission.miner,
                    self.cfg.netuid,
                    metagraph.block.number,
                    crate::chain_client::METAGRAPH_REFRESH_BLOCKS
                ),
            ));
        }
        Ok(())
    }

    /// The checks of a signed sudo action that change nothing: signed by the owner, not
    /// applied before.
    pub(crate) fn sudo_checks(&self, signer: &PublicKey, hash: &Hash) -> Result<(), Rejection> {
        if !self.sudo_keys().contains(signer) {
            return Err(Rejection::new(
                403,
                format!("{signer} is not the subnet owner; sudo actions must be signed by the owner key"),
            ));
        }
        if self.sudo_results.contains_key(hash) {
            return Err(Rejection::new(409, "this sudo action was already applied"));
        }
        Ok(())
    }

    pub(crate) fn admit_sudo(&mut self, signed: Signed<SudoAction>, local: bool) -> Result<Hash, Rejection> {
        let hash = signed.envelope.payload_hash();
        self.sudo_checks(&signed.signer, &hash)?;
        // A module this validator lacks is fetched by hash once the action commits (the HTTP
        // path has checked that the entry validator holds it).
        self.mempool.add_sudo(signed.envelope.clone());
        self.view_dirty = true;
        if local {
            self.publish(Topic::Submissions, signed.envelope.to_bytes());
        }
        Ok(hash)
    }

    pub(crate) fn on_gossip(&mut self, id: MessageId, from: PeerTag, message: Gossiped) {
        let verdict = match message {
            // The signature was valid (the pump checked it); a refusal here depends on this
            // validator's own view (a challenge or registration it has not caught up with yet,
            // a full mempool), so it is no ground to penalise the peer.
            Gossiped::Submission(signed, bytes) => match self.on_submit(signed, bytes, false, None, None) {
                Ok(()) => Verdict::Valid,
                Err(_) => Verdict::Ignored,
            },
            Gossiped::Submissions(batch) => {
                let admitted = batch
                    .into_iter()
                    .map(|(signed, bytes)| self.on_submit(signed, bytes, false, None, None))
                    .filter(Result::is_ok)
                    .count();
                if admitted > 0 { Verdict::Valid } else { Verdict::Ignored }
            }
            Gossiped::Sudo(signed) => match self.admit_sudo(signed, false) {
                Ok(_) => Verdict::Valid,
                Err(_) => Verdict::Ignored,
            },
            Gossiped::Evaluations(batches) => {
                let share = self.mempool.evaluations.share(self.state.registry.validators.validators.len());
                let tip = self.state.tip.epoch;
                let mut useful = false;
                for signed in batches {
                    let validator = signed.signer;
                    // Every verdict must still be orderable, or no block can order the batch.
                    let waits = signed.message.evaluations().iter().all(|evaluation| {
                        match self.state.submissions.get(&evaluation.submission) {
                            Some(c) => !c.evaluations.contains_key(&validator),
                            // Not committed here: it still can be in a block of this epoch or the
                            // next that this validator has not applied yet. A verdict names the
                            // epoch of the block that ordered its submission, so one naming an
                            // earlier epoch can never be ordered (retired, or never committed).
                            None => evaluation.epoch >= tip && evaluation.epoch.get() <= tip.get() + 1,
                        }
                    });
                    useful |= waits && self.mempool.evaluations.add(&signed.message, signed.envelope, share).is_ok();
                }
                // Nothing kept (stale, or its signer's share is full): not forwarded either.
                if useful { Verdict::Valid } else { Verdict::Ignored }
            }
            // The machine's own judgement: a refused message is not forwarded, and counts
            // toward its sender's ban.
            Gossiped::Consensus(envelope) => self.feed(CInput::Message { from, envelope }),
        };
        // One verdict per message received; under a flood the dispatcher drops verdicts the
        // network's command queue cannot take (the messages then go unforwarded).
        self.effects.push(Effect::Report { id, verdict });
    }

    pub(crate) fn publish(&mut self, topic: Topic, bytes: Vec<u8>) {
        self.effects.push(Effect::Publish { topic, bytes });
    }
}
