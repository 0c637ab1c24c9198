//! Committed blocks stored and applied off the event loop. Storing a block and applying it to
//! the state (every action checked again, the submissions inserted, a snapshot computed at
//! snapshot heights) holds a core for milliseconds to tens of milliseconds under load; on the
//! event loop that is a stall every submission handed in meanwhile waits behind.
//!
//! [`Core::commit`](crate::core::Core) hands the block to the apply thread as an [`ApplyJob`]
//! carrying a clone of the state (its maps are persistent, so the clone is cheap and shares
//! them) and everything the rules read while applying; the loop goes on admitting and gossiping
//! against the state before the block. When the job comes back (through the
//! [`Writer`]'s waker) the loop swaps the new state in, finishes the commit (mempool, evaluations,
//! weights) and tells the consensus machine, which waits for that before its next height.
//! Nothing but applying a block changes the state, so the swap loses nothing; the block's
//! submissions stay in the mempool until the swap, so they are never admitted twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use platform_app::{AppState, Context, Effects, SubmissionInfo};
use platform_types::{Block, NetUid, PublicKey, QuorumCertificate, SubmissionId, VerifiedEnvelopes};

use crate::metrics::Metrics;
use crate::records::Records;
use crate::writer::Writer;

/// One committed block to store and apply.
pub(crate) struct ApplyJob {
    pub block: Block,
    pub certificate: QuorumCertificate,
    /// The state before the block; the state after it once the job has run.
    pub state: AppState,
    /// The bodies of the block's submissions the mempool holds (the others are read from the
    /// store).
    pub infos: HashMap<SubmissionId, SubmissionInfo>,
    /// Keys allowed to sign sudo actions.
    pub sudo: Vec<PublicKey>,
    /// What applying did, or why the block could not be stored (`None` until the job ran).
    pub outcome: Option<Result<Effects, String>>,
}

/// What every job shares: the store, the subnet and the signatures already checked.
pub(crate) struct Shared {
    pub records: Records,
    pub netuid: NetUid,
    pub min_stake: u64,
    pub verified: Arc<VerifiedEnvelopes>,
    pub metrics: Arc<Metrics>,
}

/// Starts the apply thread.
pub(crate) fn start(shared: Shared) -> std::io::Result<Writer<ApplyJob>> {
    Writer::start_named("platform-apply", move |jobs: &mut [ApplyJob]| {
        for job in jobs {
            job.run(&shared);
        }
        Ok(())
    })
}

impl ApplyJob {
    /// Stores the block, then applies it, then keeps the submissions it retired (before the
    /// snapshot that no longer holds them can be written; a crash before this replays the
    /// block, and writes them again). Applying needs neither the chain nor this validator's
    /// reads: committed chain data is taken as committed, as in recovery.
    pub fn run(&mut self, shared: &Shared) {
        let start = Instant::now();
        let ApplyJob { block, certificate, state, infos, sudo, outcome } = self;
        if let Err(e) = shared.records.put_block(block, certificate) {
            *outcome = Some(Err(e.to_string()));
            return;
        }
        let lookup = |id: &SubmissionId| infos.get(id).cloned().or_else(|| shared.records.submission_info(id));
        let ctx = Context {
            netuid: shared.netuid,
            sudo,
            metagraph_at: &|_| None,
            chain: None,
            min_stake: shared.min_stake,
            lookup: &lookup,
            verified: &shared.verified,
        };
        let effects = state.apply_block(block, &ctx);
        if let Err(e) = shared.records.put_retired(&effects.retired) {
            tracing::warn!(%e, "cannot keep the retired submissions; their status reads unknown");
        }
        shared.metrics.block_apply.observe(start.elapsed().as_secs_f64());
        *outcome = Some(Ok(effects));
    }
}

#[cfg(test)]
#[path = "applier_tests.rs"]
mod tests;
