//! Signing extrinsics with Platform's hotkeys.

use platform_types::Keypair;
use subxt::SubstrateConfig;
use subxt::utils::{AccountId32, MultiSignature};

/// A platform-types hotkey acting as a subxt signer (sr25519, `substrate` context, which is
/// what the runtime verifies).
pub(crate) struct HotkeySigner<'a>(pub &'a Keypair);

impl subxt::tx::Signer<SubstrateConfig> for HotkeySigner<'_> {
    fn account_id(&self) -> AccountId32 {
        AccountId32(*self.0.public().as_bytes())
    }

    fn sign(&self, signer_payload: &[u8]) -> MultiSignature {
        MultiSignature::Sr25519(*self.0.sign_raw(signer_payload).as_bytes())
    }
}
