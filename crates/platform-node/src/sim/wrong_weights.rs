//! Byzantine behaviour: a leader whose blocks carry a weight vector other than the one the
//! committed state gives (every weight moved to the owner's uid 0), the block otherwise well
//! formed and signed with its own key. Followers compute the weights themselves and refuse it.

use platform_types::{Action, Block, Codec, Envelope, Keypair, MessageKind, NetUid, Proposal, Uid};

use super::net::NETUID;

/// The proposal with its weights moved, signed again by `keypair`; `None` for any other
/// message, and for a proposal without weights.
pub(crate) fn rewrite(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    let envelope = Envelope::from_bytes(bytes, 1 << 20).ok().filter(|e| e.kind == MessageKind::Proposal)?;
    let mut proposal = Proposal::from_bytes(&envelope.payload).ok()?;
    let mut actions = proposal.block.actions.clone();
    let weights = actions.iter_mut().find_map(|a| match a {
        Action::Weights(w) => Some(w),
        _ => None,
    })?;
    for vector in &mut weights.mechanisms {
        vector.uids = vec![Uid::new(0)];
        vector.weights = vec![u16::MAX];
    }
    let h = &proposal.block.header;
    let fields = platform_types::BlockHeaderFields {
        height: h.height,
        epoch: h.epoch,
        chain: h.chain,
        parent_hash: h.parent_hash,
        parent_state_root: h.parent_state_root,
        proposer: h.proposer,
        validators_hash: h.validators_hash,
    };
    proposal.block = Block::new(fields, actions);
    Some(Envelope::seal(keypair, NetUid::new(NETUID), &proposal).to_bytes())
}
