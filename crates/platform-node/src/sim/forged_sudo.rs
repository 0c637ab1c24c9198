//! Byzantine behaviour: a leader that slips sudo actions the owner did not send into its blocks —
//! at one height an action it signed itself (adding a challenge of its own), at the next a
//! replay of the owner's first action, taken from its own committed blocks. Followers check
//! every sudo action's signer against the owner's key and its nonce against the last applied
//! one, refuse the block and change views; nothing unsigned by the owner, and nothing twice, is
//! ever applied.

use platform_types::{Action, ChallengeSpec, Envelope, Keypair, NetUid, SudoAction, SudoCommand};

use super::actions::challenge_spec;
use super::setup::NETUID;
use crate::records::Records;

/// The proposal with one more sudo action — self-signed at even heights, the owner's first
/// action replayed at odd ones (when it has one) — signed again by `keypair`; `None` for any
/// other message.
pub(crate) fn rewrite(keypair: &Keypair, records: &Records, bytes: &[u8]) -> Option<Vec<u8>> {
    super::behaviour::reproposed(keypair, bytes, |header, actions| {
        let forged = if header.height.get().is_multiple_of(2) {
            let spec = ChallengeSpec { name: "not the owner's".into(), ..challenge_spec("forged", b"forged module") };
            let action = SudoAction {
                command: SudoCommand::AddChallenge(spec),
                nonce: 1_000_000,
                timestamp_ms: 1_764_000_000_000,
            };
            Envelope::seal(keypair, NetUid::new(NETUID), &action)
        } else {
            first_sudo(records)?
        };
        actions.push(Action::Sudo(forged));
        Some(())
    })
}

/// The first sudo action in the blocks `records` holds.
fn first_sudo(records: &Records) -> Option<Envelope> {
    let blocks = records.blocks_from(1, 64).ok()?;
    blocks.into_iter().flat_map(|(block, _)| block.actions).find_map(|action| match action {
        Action::Sudo(envelope) => Some(envelope),
        _ => None,
    })
}
