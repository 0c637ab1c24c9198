//! Byzantine behaviour: a leader that orders again a submission already committed — the oldest
//! one in its own committed blocks, which by then has left the state (retired after the epoch's
//! weights) or is still in it. Its body is stored everywhere and its signature is the miner's,
//! so only the state's memory of what was ordered stops it: each miner's replay window
//! (`platform_app::retire`). Followers refuse the block and change views; no submission is
//! committed twice, so none is evaluated or counted twice.

use platform_types::{Action, Keypair};

use crate::records::Records;

/// The proposal with the first committed submission ordered again, signed again by `keypair`;
/// `None` for any other message, or before anything was committed.
pub(crate) fn rewrite(keypair: &Keypair, records: &Records, bytes: &[u8]) -> Option<Vec<u8>> {
    let first =
        records.blocks_from(1, 64).ok()?.into_iter().flat_map(|(block, _)| block.actions).find_map(|action| {
            match action {
                Action::Submission(id) => Some(id),
                _ => None,
            }
        })?;
    super::behaviour::reproposed(keypair, bytes, |_, actions| {
        actions.push(Action::Submission(first));
        Some(())
    })
}
