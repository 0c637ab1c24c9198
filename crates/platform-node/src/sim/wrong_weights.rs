//! Byzantine behaviour: a leader whose blocks carry a weight vector other than the one the
//! committed state gives (every weight moved to the owner's uid 0), the block otherwise well
//! formed and signed with its own key. Followers compute the weights themselves and refuse it.

use platform_types::{Action, Keypair, Uid};

/// The proposal with its weights moved, signed again by `keypair`; `None` for any other
/// message, and for a proposal without weights.
pub(crate) fn rewrite(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    super::behaviour::reproposed(keypair, bytes, |_, actions| {
        let weights = actions.iter_mut().find_map(|a| match a {
            Action::Weights(w) => Some(w),
            _ => None,
        })?;
        for vector in &mut weights.mechanisms {
            vector.uids = vec![Uid::new(0)];
            vector.weights = vec![u16::MAX];
        }
        Some(())
    })
}
