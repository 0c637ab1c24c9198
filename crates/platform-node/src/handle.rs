//! The core's reaction to each [`Input`]: one match that hands it to the concern's file
//! (admission, ordering, evaluations, the chain follower, sync, queries).

use platform_consensus::Input as CInput;
use platform_types::{Submission, SubmissionId};
use tracing::{error, warn};

use crate::core::*;
use crate::evaluator;

impl Core {
    /// Reacts to one input; whatever it wants done outside the core joins its effects.
    pub(crate) fn handle(&mut self, input: Input) {
        match input {
            Input::Gossip { id, from, message } => self.on_gossip(id, from, message),
            Input::Timer { height, view } => {
                self.feed(CInput::Timeout { height, view });
            }
            Input::Submit { signed, bytes, local, blob, reply } => {
                let _ = self.on_submit(signed, bytes, local, blob, reply);
            }
            Input::Precheck { check, reply } => {
                let result = match &check {
                    Precheck::Submission(id, submission) => self.submission_checks(id, submission),
                    Precheck::Sudo { signer, hash } => self.sudo_checks(signer, hash),
                };
                let _ = reply.send(result);
            }
            Input::Sudo { signed, local, reply } => {
                let result = self.admit_sudo(signed, local);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Input::Evaluated { id, evaluation } => self.on_evaluated(id, evaluation),
            Input::Abstained { id, reason } => {
                warn!(%id, %reason, attempts = evaluator::ATTEMPTS, "abstaining from an evaluation: it failed on this machine, not by the submission's fault");
                self.metrics.evaluations_abstained.inc();
                self.abstained = Some((id, reason));
            }
            Input::ModulesLoaded(loaded) => {
                self.modules_loaded = loaded;
                self.view_dirty = true;
            }
            Input::Chain { block, epoch, metagraph } => self.on_chain(block, epoch, metagraph),
            Input::MetagraphRead { block, metagraph } => self.on_metagraph_read(block, metagraph),
            Input::WeightsPath(choice) => self.on_weights_path(choice),
            Input::Synced { blocks, behind } => {
                self.syncing = false;
                if behind && !self.rejoin {
                    warn!(
                        height = self.state.tip.height.get(),
                        "peers no longer hold the blocks after this node's tip; starting again from their snapshot"
                    );
                    self.rejoin = true;
                }
                for (block, certificate) in blocks {
                    if block.header.height > self.state.tip.height {
                        self.feed(CInput::Synced { block, certificate });
                    }
                }
            }
            Input::Bodies { envelopes } => {
                let mut fetched = Vec::new();
                for envelope in envelopes {
                    if let Ok(signed) = envelope.open::<Submission>(self.cfg.netuid) {
                        let id = SubmissionId(envelope.payload_hash());
                        let _ = self.mempool.admit(id, signed.message, self.clock.wall_ms, false);
                        fetched.push((id, envelope.to_bytes()));
                    }
                }
                let _ = self.records.put_submissions(fetched.iter().map(|(id, bytes)| (id, &bytes[..])));
                // A proposal may have waited for them.
                self.recheck_verifying();
                // The consensus machine waits for the block it committed to be applied.
                if let Some((block, certificate)) = self.committing.take()
                    && let Some(applied) = self.commit(block, certificate)
                {
                    self.feed(applied);
                }
            }
            Input::WeightsSubmitted { epoch, record } => {
                if let Err(e) = self.records.put_weights_record(epoch, record.to_string().as_bytes()) {
                    error!(%e, "cannot record the chain's answer");
                }
            }
        }
    }
}
