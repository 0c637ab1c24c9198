//! The public audit: a validator's committed history checked again by anyone holding its data
//! directory, trusting nothing the validator computed.
//!
//! [`replay`] walks the stored blocks from the oldest point it can start at (the genesis set
//! when block 1 is still stored, else the oldest stored snapshot the next block's certified
//! parent state root vouches for). Every block must follow the one before (parent hash and
//! parent state root), carry a commit certificate with votes of more than two thirds of the
//! stake of the validator set then in force, and pass the block rules as a voter checks them
//! ([`AppState::audit_block`]): signatures, sudo keys, and every epoch's weight vector and
//! validator set recomputed from the committed evaluations and metagraph snapshot. Submissions
//! are evaluated again in the sandbox with the challenge module whose hash the owner signed
//! (all of them, or one in `sample`; a challenge that scores epochs has each closed epoch's
//! answers scored together again, as validators score them, whenever any is sampled), and each
//! validator's committed verdict is compared with the re-run. [`compare_with_chain`] then reads what each validator's hotkey set on chain for
//! every epoch and compares it with the recomputed vector.
//!
//! What the audit trusts: the data directory's genesis validator set (or, when the early
//! blocks are pruned, the validator set inside the oldest snapshot), and the chain link of each
//! block; metagraph snapshots are compared with the chain only where the chain still serves
//! their block's state (`metagraph_at`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use platform_app::{AppState, Context, Verdict};
use platform_chain::Chain;
use platform_consensus::Committee;
use platform_runtime::{Runtime, RuntimeOptions};
use platform_storage::RocksStore;
use platform_types::{
    Action, Block, BlockRef, Hash, MechanismId, Metagraph, NetUid, PublicKey, QuorumCertificate, SubmissionId,
    ValidatorSet, VerifiedEnvelopes, WeightsProposal,
};

pub use platform_app::SNAPSHOT_INTERVAL;

mod report;
mod rerun;

pub use report::{
    Agreement, AuditOptions, Broken, Differing, EpochAudit, EvaluationAudit, OnChain, Report, first_difference,
};
use rerun::{Modules, compare, rerun, rescore_epoch};

use crate::records::Records;

fn mechanism_zero(proposal: &WeightsProposal) -> Vec<(u16, u16)> {
    proposal
        .mechanisms
        .iter()
        .find(|m| m.mechanism == MechanismId::new(0))
        .map(|m| m.uids.iter().map(|u| u.get()).zip(m.weights.iter().copied()).collect())
        .unwrap_or_default()
}

/// Where the replay starts: the genesis state when block 1 is stored, else the oldest stored
/// snapshot whose state root the next stored block names as its parent state root.
fn starting_point(
    records: &Records,
    genesis: Option<ValidatorSet>,
    snapshot_interval: u64,
) -> anyhow::Result<(AppState, String)> {
    let first = records.first_height();
    if first == Some(1) || first.is_none() {
        let set = genesis.ok_or_else(|| anyhow::anyhow!("the data directory holds no genesis validator set"))?;
        return Ok((AppState { snapshot_interval, ..AppState::genesis(set) }, "genesis".into()));
    }
    let mut manifests = records.snapshot_manifests()?;
    manifests.sort_by_key(|m| m.height);
    for manifest in manifests {
        let height = manifest.height.get();
        let Some((next, _)) = records.blocks_from(height + 1, 1).map_err(anyhow::Error::msg)?.into_iter().next() else {
            continue;
        };
        if next.header.height.get() != height + 1 || next.header.parent_hash != manifest.block_hash {
            continue;
        }
        if manifest.root() != next.header.parent_state_root {
            continue;
        }
        let Ok(Some(snapshot)) = records.snapshot(&manifest) else { continue };
        // The state captured below the snapshot height: the replay applies the blocks from it,
        // and reaches the vouched-for root at the snapshot height only if the snapshot is true.
        if let Ok(state) = AppState::from_snapshot(&snapshot, snapshot_interval) {
            return Ok((state, format!("snapshot at height {height} (its state after block {})", manifest.captured)));
        }
    }
    anyhow::bail!("the early blocks are pruned and no stored snapshot is vouched for by the block after it")
}

/// Opens a validator's data directory (`DATA_DIR`; the validator stopped, or a copy of it: its
/// store is locked while it runs) and replays it ([`replay`]) on a fresh sandbox.
pub fn replay_dir(data_dir: &Path, options: &AuditOptions) -> anyhow::Result<Report> {
    let db = data_dir.join("db");
    if !db.is_dir() {
        anyhow::bail!("{} holds no validator store (no db/ in it)", data_dir.display());
    }
    let store = RocksStore::open(&db).with_context(|| {
        format!("cannot open the store in {} (a running validator locks it: stop it, or audit a copy)", db.display())
    })?;
    let records = Records::new(Arc::new(store));
    let runtime = Runtime::new(RuntimeOptions::default()).context("cannot start the WASM runtime")?;
    replay(&records, options, Some(&runtime))
}

/// Replays the stored blocks (see the module documentation), running evaluations again on
/// `runtime` (none: no evaluation is run again).
pub fn replay(records: &Records, options: &AuditOptions, runtime: Option<&Runtime>) -> anyhow::Result<Report> {
    let genesis = records.genesis().map_err(anyhow::Error::msg)?;
    let (mut state, started_from) = starting_point(records, genesis, options.snapshot_interval)?;
    let mut report = Report { started_from, first_height: state.tip.height.get() + 1, ..Report::default() };
    let verified = VerifiedEnvelopes::new(4096);
    let lookup = |id: &SubmissionId| records.submission_info(id);
    let mut modules = runtime.map(|runtime| Modules { runtime, loaded: HashMap::new() });
    // Re-run verdicts waiting for the submission's evaluations to be complete (it retires, or
    // the replay ends).
    let mut reruns: HashMap<SubmissionId, Verdict> = HashMap::new();
    let mut committee = None;
    let owners = match &options.sudo[..] {
        [] => owners_in(records, &state),
        keys => keys.to_vec(),
    };
    'blocks: loop {
        let from = state.tip.height.get() + 1;
        let blocks = match records.blocks_from(from, 256) {
            Ok(blocks) => blocks,
            Err(reason) => {
                // A stored block or certificate that does not decode (its actions do not match
                // its header's root, say): nothing after it can be checked.
                report.broken.push(Broken {
                    height: from,
                    action: None,
                    reason: format!("{reason} (the replay stops here)"),
                });
                break;
            }
        };
        if blocks.is_empty() {
            break;
        }
        for (block, certificate) in blocks {
            let height = block.header.height.get();
            if !certified(&mut committee, &state, &block, &certificate, options.netuid) {
                report.broken.push(Broken {
                    height,
                    action: None,
                    reason: "no commit certificate of more than 2/3 of the stake of the validator set in force \
                             (the replay stops here)"
                        .into(),
                });
                break 'blocks;
            }
            let ctx = Context {
                netuid: options.netuid,
                sudo: &owners,
                metagraph_at: &|_| None,
                chain: None,
                min_stake: options.min_stake_rao,
                lookup: &lookup,
                verified: &verified,
            };
            for (action, invalid) in state.audit_block(&block, &ctx) {
                if action.is_none() {
                    // The state computed here is not the one the network certified: nothing
                    // after it can be compared.
                    let reason =
                        format!("{invalid}: the replayed state differs from the certified one (the replay stops here)");
                    report.broken.push(Broken { height, action, reason });
                    break 'blocks;
                }
                report.broken.push(Broken { height, action, reason: invalid.to_string() });
            }
            let weights = block.actions.iter().find_map(|a| match a {
                Action::Weights(p) => Some(p.clone()),
                _ => None,
            });
            let epoch_before = state.tip.epoch;
            let effects = state.apply_block(&block, &ctx);
            report.blocks += 1;
            report.last_height = height;
            if let Some(proposal) = weights.filter(|_| effects.weights.is_some()) {
                let refused = report.broken.iter().any(|b| {
                    b.height == height
                        && b.action.is_some_and(|i| matches!(block.actions.get(i), Some(Action::Weights(_))))
                });
                let metagraph = state.registry.metagraph.as_ref().map(|(_, m)| m.clone());
                let reveal_delay = metagraph
                    .as_ref()
                    .map_or(0, |m| if m.params.commit_reveal_enabled { m.params.reveal_period_epochs } else { 0 });
                report.epochs.push(EpochAudit {
                    epoch: proposal.epoch.get(),
                    height,
                    recomputed: if refused { Agreement::Differs { first_uid: None } } else { Agreement::Agreed },
                    on_chain: Vec::new(),
                    weights: mechanism_zero(&proposal),
                    metagraph,
                    link: block.header.chain,
                    reveal_delay,
                    validators: state.registry.validators.validators.iter().map(|v| v.hotkey).collect(),
                });
            }
            if let Some(modules) = modules.as_mut().filter(|_| options.sample > 0) {
                let sampled = |id: &SubmissionId| {
                    u64::from_le_bytes(id.0.as_bytes()[..8].try_into().expect("8 bytes")) % options.sample == 0
                };
                for id in effects.submissions.iter().filter(|id| sampled(id)) {
                    match rerun(records, &state, modules, id, &block) {
                        Ok(Some(verdict)) => {
                            report.evaluations.rerun += 1;
                            reruns.insert(*id, verdict);
                        }
                        Ok(None) => {} // scored with its epoch's other answers once the epoch closes
                        Err(why) => *report.evaluations.not_rerun.entry(why).or_default() += 1,
                    }
                }
                if block.header.epoch > epoch_before {
                    let closed = |epoch| epoch >= epoch_before && epoch < block.header.epoch;
                    for platform_app::EpochAnswers { challenge, epoch, answers } in state.epoch_answers(closed) {
                        if !answers.iter().any(|(id, _)| sampled(id)) {
                            continue;
                        }
                        match rescore_epoch(records, &state, modules, &challenge, epoch, &answers) {
                            Ok(Some(verdicts)) => {
                                report.evaluations.rerun += verdicts.len() as u64;
                                reruns.extend(verdicts);
                            }
                            Ok(None) => {} // its module scores submissions one by one
                            Err(why) => *report.evaluations.not_rerun.entry(why).or_default() += answers.len() as u64,
                        }
                    }
                }
            }
            for (id, committed) in &effects.retired {
                if let Some(verdict) = reruns.remove(id) {
                    compare(&mut report.evaluations, id, committed, verdict);
                }
            }
        }
    }
    let mut left: Vec<_> = reruns.into_iter().collect();
    left.sort_by_key(|(id, _)| *id);
    for (id, verdict) in left {
        if let Some(committed) = state.submissions.get(&id) {
            compare(&mut report.evaluations, &id, committed, verdict);
        }
    }
    Ok(report)
}

/// The subnet owner's hotkeys and coldkeys in every metagraph snapshot of the starting state
/// and the stored blocks: who the validators took as the owner (each reads it from the chain).
fn owners_in(records: &Records, start: &AppState) -> Vec<PublicKey> {
    let mut owners: Vec<PublicKey> = Vec::new();
    let mut add = |m: &Metagraph| {
        for key in m.owner_hotkey.into_iter().chain(m.owner_coldkey) {
            if !owners.contains(&key) {
                owners.push(key);
            }
        }
    };
    if let Some((_, m)) = &start.registry.metagraph {
        add(m);
    }
    let mut from = start.tip.height.get() + 1;
    while let Ok(blocks) = records.blocks_from(from, 256) {
        let Some((last, _)) = blocks.last() else { break };
        from = last.header.height.get() + 1;
        for action in blocks.iter().flat_map(|(b, _)| &b.actions) {
            if let Action::Metagraph(m) = action {
                add(m);
            }
        }
    }
    owners
}

/// Whether `certificate` commits `block` with votes of more than 2/3 of the stake of the
/// validator set in force at `state`, and the block follows the tip. The committee is built
/// again only when the validator set changes.
fn certified(
    committee: &mut Option<(Hash, Committee)>,
    state: &AppState,
    block: &Block,
    certificate: &QuorumCertificate,
    netuid: NetUid,
) -> bool {
    let set = &state.registry.validators;
    let hash = set.hash();
    if committee.as_ref().is_none_or(|(h, _)| *h != hash) {
        *committee = Committee::new(set.clone()).ok().map(|c| (hash, c));
    }
    let Some((_, committee)) = committee.as_ref() else { return false };
    let expected = (state.tip.height.get() + 1, state.tip.hash);
    crate::sync_client::certifies(block, certificate, expected, committee, netuid)
}

/// Fills each epoch's [`EpochAudit::on_chain`]: every validator of the epoch's metagraph, its
/// weights on chain read where they should be that epoch's. An epoch's weights are sent right
/// after the block committing them and revealed `reveal_delay` epochs later under commit-reveal,
/// so they are read at the chain block linked by the block committing the weights
/// `1 + reveal_delay` epochs on (before those could replace them), and at the best block for
/// the newest epochs. A vector on chain equal to an older epoch's is "not on chain" (not sent or
/// revealed yet), not a difference.
pub async fn compare_with_chain(chain: &impl Chain, netuid: NetUid, report: &mut Report) {
    let links: Vec<BlockRef> = report.epochs.iter().map(|e| e.link).collect();
    let vectors: Vec<Vec<(u16, u16)>> = report.epochs.iter().map(|e| e.weights.clone()).collect();
    for (index, epoch) in report.epochs.iter_mut().enumerate() {
        let at = links.get(index + 1 + epoch.reveal_delay as usize).copied();
        let Some(metagraph) = &epoch.metagraph else { continue };
        for hotkey in &epoch.validators {
            let uid = metagraph.uid_of(hotkey).map(|u| u.get());
            let agreement = match uid {
                None => Agreement::NotOnChain { reason: "not registered in the epoch's metagraph".into() },
                Some(uid) => match chain.weights(netuid, MechanismId::new(0), uid, at).await {
                    Err(e) => Agreement::NotOnChain { reason: format!("cannot read the chain: {e}") },
                    Ok(found) if found.is_empty() => Agreement::NotOnChain { reason: "no weights set".into() },
                    Ok(found) => match first_difference(&epoch.weights, &found) {
                        None => Agreement::Agreed,
                        Some(_) if vectors[..index].contains(&found) => {
                            Agreement::NotOnChain { reason: "an older epoch's weights are still on chain".into() }
                        }
                        Some(differs) => differs,
                    },
                },
            };
            epoch.on_chain.push(OnChain { validator: hotkey.to_ss58(), uid, read_at: at.map(|b| b.number), agreement });
        }
    }
}

#[cfg(test)]
mod tests;
