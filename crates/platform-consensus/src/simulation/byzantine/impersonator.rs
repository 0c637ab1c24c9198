//! An impersonator: alongside its own messages it sends votes and proposals in other
//! validators' names. It lacks their keys, so the signatures do not verify.

use platform_types::{Codec, Envelope, Hash, MessageKind, Vote};
use rand::Rng;
use rand::seq::SliceRandom;

use super::{Context, To};

pub(crate) fn act(ctx: &mut Context<'_>, envelope: Envelope) -> Vec<(To, Envelope)> {
    let mut sends = Vec::new();
    if let Ok(vote) = Vote::from_bytes(&envelope.payload) {
        // A forged vote for the real block goes out first: if forged votes were counted before
        // their signatures were checked, it would crowd out the victim's genuine vote.
        let fake = Vote { block_hash: Hash::from_bytes(ctx.rng.r#gen()), ..vote };
        for forged_vote in [vote, fake] {
            if let Some(victim) = ctx.others.choose(ctx.rng) {
                let mut forged = Envelope::seal(ctx.keypair, ctx.netuid, &forged_vote);
                forged.signer = *victim;
                sends.push((To::All, forged));
            }
        }
    }
    if envelope.kind == MessageKind::Proposal
        && let Some(victim) = ctx.others.choose(ctx.rng)
    {
        let mut forged = envelope.clone();
        forged.signer = *victim;
        sends.push((To::All, forged));
    }
    sends.push((To::All, envelope));
    sends
}
