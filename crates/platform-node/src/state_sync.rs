//! State sync: a validator with an empty store starts from a recent snapshot fetched from its
//! peers instead of fetching and applying every block since genesis.
//!
//! What it trusts, in order, before anything of the snapshot is decoded:
//! 1. the offer's checkpoint: a commit certificate of the block after the snapshot, whose
//!    signers hold more than two thirds of the stake *the chain gives the validators now*
//!    (this node's own metagraph read), and which verifies against the set it names
//!    ([`check_offer`]);
//! 2. the manifest: it gives the certified state root (`parent_state_root`);
//! 3. each chunk, as it arrives, against its hash in the manifest. A peer serving a chunk that
//!    fails is penalised (as for invalid gossip) and no longer asked; another provider of the
//!    same snapshot is. Checked chunks are staged in the store, so a fetch cut short resumes.

use std::collections::HashSet;
use std::time::Duration;

use platform_app::{AppState, Manifest, Snapshot};
use platform_p2p::{Client, Peer};
use platform_types::{Checkpoint, Codec, NetUid, SyncRequest, SyncResponse, ValidatorSet};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::records::Records;

/// How long to wait for connected peers to bind (this node to them, and them to this node)
/// before choosing among the offers.
const SETTLE: Duration = Duration::from_secs(5);

/// Why an offer is not believed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The offer proves something false: a certificate that does not verify against the set
    /// it names, or a manifest that does not give the certified root. Its sender lied.
    Forged(String),
    /// The offer may be honest but cannot be checked against the chain as this node reads it
    /// (signed by a set that no longer holds two thirds of the stake).
    Unproven(String),
}

/// Checks a snapshot offer against the validator set the chain gives now (`chain`).
pub(crate) fn check_offer(
    checkpoint: &Checkpoint,
    manifest: &Manifest,
    netuid: NetUid,
    chain: &ValidatorSet,
) -> Result<(), Refusal> {
    platform_consensus::verify_checkpoint(checkpoint, netuid).map_err(|e| Refusal::Forged(e.to_string()))?;
    let header = &checkpoint.header;
    if header.height != manifest.height.next() || header.parent_hash != manifest.block_hash {
        return Err(Refusal::Forged("the checkpoint is not the block after the snapshot".into()));
    }
    manifest.check(manifest.height, &header.parent_state_root).map_err(|e| Refusal::Forged(e.to_string()))?;
    let total: u128 = chain.validators.iter().map(|v| u128::from(v.stake)).sum();
    let mut signers = HashSet::new();
    let signed: u128 = checkpoint
        .commit
        .votes
        .iter()
        .filter(|vote| signers.insert(vote.signer))
        .filter_map(|vote| chain.validators.iter().find(|v| v.hotkey == vote.signer))
        .map(|v| u128::from(v.stake))
        .sum();
    if signed * 3 <= total * 2 {
        return Err(Refusal::Unproven(format!(
            "its signers hold {} of the {} rao the chain gives the validators now, not more than two thirds",
            signed, total
        )));
    }
    Ok(())
}

/// What a fetch found.
pub(crate) struct Fetched {
    pub snapshot: Snapshot,
    pub checkpoint: Checkpoint,
}

/// Asks the connected peers bound to a hotkey (waiting up to [`SETTLE`] for the others to bind)
/// for their newest snapshot, checks the offers, and fetches the highest one above height
/// `above` offered by a peer whose offer passed, chunk by chunk from every peer offering it. Waits up to `patience` for peers to connect and answer; `None` when
/// no peer offers a snapshot above `above` it can check (a young network, or this validator is
/// not behind: it goes on from what it holds) or every provider failed.
pub(crate) async fn fetch(
    p2p: &Client,
    records: &Records,
    netuid: NetUid,
    chain: &ValidatorSet,
    above: u64,
    metrics: &Metrics,
    patience: Duration,
) -> Option<Fetched> {
    let deadline = Instant::now() + patience;
    // Peers connected but not yet bound to a hotkey (they answer sync requests only once bound)
    // are waited for this long, so that the choice is made among every peer's offer.
    let settle = Instant::now() + patience.min(SETTLE);
    // Peers caught lying are not asked again, whatever they offer later.
    let mut distrusted: HashSet<Peer> = HashSet::new();
    loop {
        let connected = p2p.peers().await.unwrap_or_default();
        let unbound = connected.iter().filter(|(_, hotkey)| hotkey.is_none()).count();
        let mut peers: Vec<Peer> = connected
            .into_iter()
            .filter(|(peer, hotkey)| hotkey.is_some() && !distrusted.contains(peer))
            .map(|(peer, _)| peer)
            .collect();
        // A fixed order (by peer id), so that which provider serves which chunk is reproducible.
        peers.sort_by_cached_key(|p| p.to_string());
        let mut offers: Vec<(Peer, Checkpoint, Manifest)> = Vec::new();
        let mut answered = 0;
        let mut refusing = 0;
        for peer in peers {
            let Ok(bytes) = p2p.request_sync(peer, SyncRequest::Snapshot.to_bytes()).await else { continue };
            // An empty answer is a refusal to serve (this node is not yet bound to its hotkey
            // there): asked again next round. Only "no snapshot" counts as an answer.
            let (checkpoint, manifest) = match SyncResponse::from_bytes(&bytes) {
                Ok(SyncResponse::Snapshot(Some(offer))) => *offer,
                Ok(SyncResponse::Snapshot(None)) => {
                    answered += 1;
                    continue;
                }
                _ if bytes.is_empty() => {
                    refusing += 1;
                    continue;
                }
                _ => continue,
            };
            answered += 1;
            if manifest.captured.get() <= above {
                continue;
            }
            match check_offer(&checkpoint, &manifest, netuid, chain) {
                Ok(()) => offers.push((peer, checkpoint, manifest)),
                Err(Refusal::Forged(why)) => {
                    warn!(%peer, %why, "a peer offered a forged snapshot; penalised");
                    metrics.state_sync_refused.inc();
                    distrusted.insert(peer);
                    let _ = p2p.penalise(peer).await;
                }
                Err(Refusal::Unproven(why)) => info!(%peer, %why, "a snapshot offer cannot be checked; ignored"),
            }
        }
        let settled = (unbound == 0 && refusing == 0) || Instant::now() >= settle;
        if !settled {
            // Some peers are still binding, one way or the other: ask again shortly, them included.
        } else if let Some(best) = offers.iter().map(|(_, _, m)| (m.height, m.root())).max() {
            let providers: Vec<Peer> =
                offers.iter().filter(|(_, _, m)| (m.height, m.root()) == best).map(|(p, _, _)| *p).collect();
            let (_, checkpoint, manifest) = offers.into_iter().find(|(_, _, m)| (m.height, m.root()) == best)?;
            info!(
                height = manifest.height.get(),
                bytes = manifest.len,
                chunks = manifest.chunks.len(),
                providers = providers.len(),
                "fetching a snapshot"
            );
            if let Some(chunks) = fetch_chunks(p2p, records, &manifest, providers, &mut distrusted, metrics).await {
                return Some(Fetched { snapshot: Snapshot { manifest, chunks: chunks.into() }, checkpoint });
            }
        } else if answered > 0 {
            return None;
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every chunk of `manifest`: staged ones reused if they check, the others asked of the
/// providers in turn. A provider serving a chunk that fails its check is penalised and
/// dropped; one that lacks it is asked again for later chunks.
async fn fetch_chunks(
    p2p: &Client,
    records: &Records,
    manifest: &Manifest,
    mut providers: Vec<Peer>,
    distrusted: &mut HashSet<Peer>,
    metrics: &Metrics,
) -> Option<Vec<Vec<u8>>> {
    let mut chunks = Vec::with_capacity(manifest.chunks.len());
    let mut turn = 0usize;
    for index in 0..manifest.chunks.len() {
        if let Some(staged) = records.staged_chunk(manifest.height, index)
            && manifest.check_chunk(index, &staged).is_ok()
        {
            chunks.push(staged);
            continue;
        }
        let mut misses = 0;
        let chunk = loop {
            if providers.is_empty() || misses >= 3 * providers.len() {
                warn!(index, "no provider served a good chunk; giving up on this snapshot");
                return None;
            }
            let peer = providers[turn % providers.len()];
            turn += 1;
            let request = SyncRequest::Chunk { height: manifest.height, index: index as u32 };
            let answer = p2p.request_sync(peer, request.to_bytes()).await.ok();
            match answer.and_then(|bytes| SyncResponse::from_bytes(&bytes).ok()) {
                Some(SyncResponse::Chunk(Some(bytes))) if manifest.check_chunk(index, &bytes).is_ok() => break bytes,
                Some(SyncResponse::Chunk(Some(_))) => {
                    warn!(%peer, index, "a peer served a snapshot chunk that does not match the manifest; penalised");
                    metrics.state_sync_refused.inc();
                    let _ = p2p.penalise(peer).await;
                    distrusted.insert(peer);
                    providers.retain(|p| *p != peer);
                }
                _ => misses += 1,
            }
        };
        if let Err(e) = records.stage_chunk(manifest.height, index, &chunk) {
            warn!(%e, "cannot stage a snapshot chunk; a restart would fetch it again");
        }
        metrics.state_sync_chunks.inc();
        chunks.push(chunk);
    }
    Some(chunks)
}

/// Joins from a snapshot above height `held` (what this validator holds): fetches one
/// ([`fetch`]), checks that it decodes to the state it claims, and stores it with its
/// checkpoint so that recovery starts from it. Returns the snapshot's height, or `None`
/// (nothing stored) when the node goes on from what it holds, or from genesis.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn join(
    p2p: &Client,
    records: &Records,
    netuid: NetUid,
    chain: &ValidatorSet,
    held: u64,
    snapshot_interval: u64,
    metrics: &Metrics,
    patience: Duration,
) -> Option<u64> {
    let Fetched { snapshot, checkpoint } = fetch(p2p, records, netuid, chain, held, metrics, patience).await?;
    let height = snapshot.manifest.height.get();
    // Certified, so this cannot fail unless the validators that signed it are faulty.
    if let Err(e) = AppState::from_snapshot(&snapshot, snapshot_interval) {
        warn!(height, %e, "a certified snapshot does not decode; starting from genesis");
        return None;
    }
    if let Err(e) = records.put_fetched_snapshot(&snapshot, &checkpoint) {
        warn!(height, %e, "cannot store the fetched snapshot; starting from genesis");
        return None;
    }
    info!(height, "joined from a snapshot fetched from peers");
    Some(height)
}
