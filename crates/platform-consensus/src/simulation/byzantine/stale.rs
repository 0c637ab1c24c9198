//! A validator out of time: it replays messages from earlier heights and views, and sends
//! votes for views far ahead, which must neither confuse nor stall the others.

use platform_types::{Codec, Envelope, View, Vote};
use rand::seq::SliceRandom;

use super::{Context, To};

pub(crate) fn act(ctx: &mut Context<'_>, envelope: Envelope) -> Vec<(To, Envelope)> {
    let mut sends = vec![(To::All, envelope.clone())];
    if let Some(old) = ctx.history.choose(ctx.rng) {
        sends.push((To::All, old.clone()));
    }
    if let Ok(vote) = Vote::from_bytes(&envelope.payload) {
        let future = Vote { view: View::new(vote.view.get() + 1_000), ..vote };
        sends.push((To::All, Envelope::seal(ctx.keypair, ctx.netuid, &future)));
    }
    if ctx.history.len() < 256 {
        ctx.history.push(envelope);
    }
    sends
}
