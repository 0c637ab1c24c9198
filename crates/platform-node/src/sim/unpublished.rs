//! Byzantine behaviour: a leader whose blocks order a submission nobody has — a body it never
//! published. Followers cannot check such a block (the rules need the submission's challenge
//! and miner), so they do not vote for it; the view changes past the leader and the network
//! goes on. A block ordering an unknown body must never commit: no honest validator could
//! evaluate what it orders.

use platform_types::{Action, Keypair, SubmissionId, blake2b_256};

/// The proposal with one more submission, whose body was never published, signed again by
/// `keypair`; `None` for any other message.
pub(crate) fn rewrite(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    super::behaviour::reproposed(keypair, bytes, |header, actions| {
        let invented = blake2b_256(&[b"never published".as_slice(), &header.height.get().to_le_bytes()].concat());
        actions.push(Action::Submission(SubmissionId(invented)));
        Some(())
    })
}
