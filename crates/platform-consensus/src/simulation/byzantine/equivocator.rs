//! An equivocating leader: its proposal goes to one half of the network, and a different
//! block for the same (height, view) to the other half.

use platform_types::{Action, Block, BlockHeaderFields, Codec, Envelope, Hash, MessageKind, Proposal, SubmissionId};
use rand::Rng;

use super::{Context, To};

pub(crate) fn act(ctx: &mut Context<'_>, envelope: Envelope) -> Vec<(To, Envelope)> {
    if envelope.kind != MessageKind::Proposal {
        return vec![(To::All, envelope)];
    }
    let Ok(proposal) = Proposal::from_bytes(&envelope.payload) else {
        return vec![(To::All, envelope)];
    };
    let header = &proposal.block.header;
    let mut actions = proposal.block.actions.clone();
    actions.push(Action::Submission(SubmissionId(Hash::from_bytes(ctx.rng.r#gen()))));
    let other = Block::new(
        BlockHeaderFields {
            height: header.height,
            epoch: header.epoch,
            chain: header.chain,
            parent_hash: header.parent_hash,
            parent_state_root: header.parent_state_root,
            proposer: header.proposer,
            validators_hash: header.validators_hash,
        },
        actions,
    );
    let conflicting = Proposal { block: other, ..proposal };
    let forged = Envelope::seal(ctx.keypair, ctx.netuid, &conflicting);
    let (first, second) = ctx.halves();
    vec![(To::Only(first), envelope), (To::Only(second), forged)]
}
