//! A conflicting voter: each prepare and commit goes to half the network, and a vote for a
//! different block in the same (height, view) to the other half.

use platform_types::{Codec, Envelope, Hash, MessageKind, Vote};
use rand::Rng;

use super::{Context, To};

pub(crate) fn act(ctx: &mut Context<'_>, envelope: Envelope) -> Vec<(To, Envelope)> {
    if !matches!(envelope.kind, MessageKind::Prepare | MessageKind::Commit) {
        return vec![(To::All, envelope)];
    }
    let Ok(vote) = Vote::from_bytes(&envelope.payload) else {
        return vec![(To::All, envelope)];
    };
    let other = Vote { block_hash: Hash::from_bytes(ctx.rng.r#gen()), ..vote };
    let forged = Envelope::seal(ctx.keypair, ctx.netuid, &other);
    let (first, second) = ctx.halves();
    vec![(To::Only(first), envelope), (To::Only(second), forged)]
}
