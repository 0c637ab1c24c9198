//! Recovery at start: the application state is a pure function of the committed blocks, so a
//! restarted validator rebuilds it from its newest stored snapshot (or the genesis validator
//! set when it has none it can use) by applying the stored blocks after it, reading nothing
//! from the chain.

use anyhow::bail;
use platform_app::{AppState, Context};
use platform_types::{PublicKey, SubmissionId, ValidatorSet, VerifiedEnvelopes};
use tracing::{info, warn};

use crate::config::NodeConfig;
use crate::records::Records;

/// The newest stored snapshot that is whole, matches its manifest and does not contradict the
/// stored block at its height (a snapshot fetched from peers has none: it was checked against a
/// checkpoint then); else the genesis state. A snapshot that fails is reported and skipped.
pub(crate) fn starting_state(records: &Records, genesis: ValidatorSet, snapshot_interval: u64) -> AppState {
    let manifests = records.snapshot_manifests().unwrap_or_else(|e| {
        warn!(%e, "cannot list the stored snapshots; replaying from genesis");
        Vec::new()
    });
    for manifest in manifests {
        let height = manifest.height.get();
        let stored_block = records.blocks_from(height, 1).ok().and_then(|b| b.into_iter().next());
        if stored_block.is_some_and(|(b, _)| b.header.height.get() == height && b.hash() != manifest.block_hash) {
            warn!(height, "a stored snapshot names another block than the one stored at its height; skipped");
            continue;
        }
        let restored = match records.snapshot(&manifest) {
            Ok(Some(snapshot)) => AppState::from_snapshot(&snapshot, snapshot_interval).map_err(|e| e.to_string()),
            Ok(None) => Err("a chunk is missing".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        match restored {
            Ok(state) => {
                info!(height, bytes = manifest.len, "starting from the stored snapshot");
                return state;
            }
            Err(reason) => warn!(height, %reason, "a stored snapshot is unusable; trying an older one"),
        }
    }
    genesis_state(genesis, snapshot_interval)
}

fn genesis_state(genesis: ValidatorSet, snapshot_interval: u64) -> AppState {
    AppState { snapshot_interval, ..AppState::genesis(genesis) }
}

/// The state after every stored block: from [`starting_state`], the blocks after it applied;
/// with the height it started from (0: genesis). Nothing is read from the chain: the chain
/// data the state depends on is in the blocks.
pub(crate) fn replay(
    records: &Records,
    genesis: ValidatorSet,
    cfg: &NodeConfig,
    sudo: &[PublicKey],
    verified: &VerifiedEnvelopes,
) -> anyhow::Result<(AppState, u64)> {
    let start = starting_state(records, genesis, cfg.snapshot_interval);
    let from = start.tip.height.get();
    // Submissions retired by the blocks replayed are kept again: a crash may have come between
    // a block and their write.
    let keep = |_: &platform_types::Block, effects: &platform_app::Effects| {
        if let Err(e) = records.put_retired(&effects.retired) {
            tracing::warn!(%e, "cannot keep the retired submissions");
        }
    };
    Ok((apply_stored(records, start, cfg, sudo, verified, keep)?, from))
}

/// Applies the stored blocks after `state`'s tip.
fn apply_stored(
    records: &Records,
    mut state: AppState,
    cfg: &NodeConfig,
    sudo: &[PublicKey],
    verified: &VerifiedEnvelopes,
    mut applied: impl FnMut(&platform_types::Block, &platform_app::Effects),
) -> anyhow::Result<AppState> {
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
