//! Recovery at start: the application state is a pure function of the committed blocks, so a
//! restarted validator rebuilds it by applying every stored block to the genesis validator
//! set, reading nothing from the chain.

use anyhow::bail;
use platform_app::{AppState, Context};
use platform_types::{PublicKey, SubmissionId, ValidatorSet, VerifiedEnvelopes};

use crate::config::NodeConfig;
use crate::records::Records;

/// Applies every stored block to the genesis state. Nothing is read from the chain: the chain
/// data the state depends on is in the blocks.
pub(crate) fn replay(
    records: &Records,
    genesis: ValidatorSet,
    cfg: &NodeConfig,
    sudo: &[PublicKey],
    verified: &VerifiedEnvelopes,
) -> anyhow::Result<AppState> {
    replay_with(records, genesis, cfg, sudo, verified, |_, _| {})
}

/// [`replay`], handing each block and what applying it changed to `applied`.
pub(crate) fn replay_with(
    records: &Records,
    genesis: ValidatorSet,
    cfg: &NodeConfig,
    sudo: &[PublicKey],
    verified: &VerifiedEnvelopes,
    mut applied: impl FnMut(&platform_types::Block, &platform_app::Effects),
) -> anyhow::Result<AppState> {
    let mut state = AppState::genesis(genesis);
    let lookup = |id: &SubmissionId| records.submission_info(id);
    let ctx = Context {
        netuid: cfg.netuid,
        sudo,
        metagraph_at: &|_| None,
        chain: None,
        min_stake: cfg.min_stake_rao,
        lookup: &lookup,
        verified,
    };
    loop {
        let from = state.tip.height.get() + 1;
        let blocks = records.blocks_from(from, 256).map_err(anyhow::Error::msg)?;
        if blocks.is_empty() {
            break;
        }
        for (block, _) in blocks {
            if block.header.height.get() != state.tip.height.get() + 1 {
                bail!("the stored blocks skip from height {} to {}", state.tip.height, block.header.height);
            }
            let effects = state.apply_block(&block, &ctx);
            applied(&block, &effects);
        }
    }
    Ok(state)
}
