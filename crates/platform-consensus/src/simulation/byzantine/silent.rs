//! A silent validator: crashes in the worst way, holding its stake while sending nothing.

use platform_types::Envelope;

use super::{Context, To};

pub(crate) fn act(_ctx: &mut Context<'_>, _envelope: Envelope) -> Vec<(To, Envelope)> {
    Vec::new()
}
