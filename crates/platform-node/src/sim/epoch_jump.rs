//! Byzantine behaviour: a leader whose blocks claim an epoch far ahead of the chain, the jump
//! that once stopped weight setting for good (weights are due only for an epoch after the last
//! one weighted).

use platform_types::{Codec, Envelope, Keypair, MessageKind, NetUid, Proposal};

use super::setup::NETUID;

/// A proposal leaves with its block's epoch 1 000 ahead, signed again by `keypair` (so the
/// signature holds and only the block rules can refuse it); `None` for any other message.
pub(crate) fn rewrite(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    let envelope = Envelope::from_bytes(bytes, 1 << 20).ok().filter(|e| e.kind == MessageKind::Proposal)?;
    let mut proposal = Proposal::from_bytes(&envelope.payload).ok()?;
    proposal.block.header.epoch = platform_types::Epoch::new(proposal.block.header.epoch.get() + 1_000);
    Some(Envelope::seal(keypair, NetUid::new(NETUID), &proposal).to_bytes())
}
