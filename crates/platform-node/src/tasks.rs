//! The node's background tasks that feed the event loop: the gossip pump (signatures checked
//! off the loop), the chain follower, and the genesis vote a validator with an empty store
//! holds before its event loop can start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::GenesisVotes;
use platform_chain::{Chain, Head, Metagraph};
use platform_consensus::PeerTag;
use platform_p2p::{Client, Event, Peer, Topic};
use platform_types::limits::MAX_ENVELOPE_BYTES;
use platform_types::{
    Codec, Envelope, Signed, SyncRequest, SyncResponse, ValidatorSet, VerifiedEnvelopes, WireMessage,
};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::core::{Gossiped, Input};

/// Checks the signatures of gossiped messages off the event loop and hands the event loop
/// what passed; what did not is reported invalid at once.
pub(crate) async fn gossip_pump(
    mut events: mpsc::Receiver<Event>,
    p2p: Client,
    inputs: mpsc::Sender<Input>,
    netuid: platform_types::NetUid,
    verified: Arc<VerifiedEnvelopes>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            e = events.recv() => match e { Some(e) => e, None => break },
            _ = shutdown.changed() => break,
        };
        let Event::Message { id, author, data, topic, .. } = event else { continue };
        let from = peer_tag(&author);
        let opened = if topic == Topic::SubmissionBatches {
            open_batch(data, netuid, None).await.map(Gossiped::Submissions)
        } else if topic == Topic::Evaluations {
            open_batch(data, netuid, Some(verified.clone())).await.map(Gossiped::Evaluations)
        } else {
            Envelope::from_bytes(&data, MAX_ENVELOPE_BYTES).ok().and_then(|e| Gossiped::open(e, netuid, &verified))
        };
        match opened {
            Some(message) => {
                if inputs.send(Input::Gossip { id, from, message }).await.is_err() {
                    break;
                }
            }
            None => {
                let _ = p2p.report(id, platform_p2p::Verdict::Invalid).await;
            }
        }
    }
}

/// The consensus machine's name for a peer: derived from its peer id, so that no table of
/// every peer ever seen has to be kept.
fn peer_tag(peer: &Peer) -> PeerTag {
    let hash = platform_types::blake2b_256(&peer.to_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    PeerTag(u64::from_le_bytes(first))
}

/// Asks the connected validators, again and again, which genesis validator set they hold (or,
/// lacking one, derive), until validators holding more than two thirds of the chain's stake
/// vouch for one ([`GenesisVotes`]). `candidate` is the set the metagraph gives now: this
/// node's own vote, and the stakes every vote is weighed by.
pub(crate) async fn genesis_by_vote(
    p2p: &Client,
    me: platform_types::PublicKey,
    candidate: ValidatorSet,
) -> ValidatorSet {
    let mut votes = GenesisVotes::new(&candidate, me, candidate.clone());
    let mut last_log = Instant::now();
    loop {
        if let Some(set) = votes.decided() {
            info!(validators = set.validators.len(), hash = %set.hash(), "genesis validator set agreed");
            return set.clone();
        }
        for (peer, hotkey) in p2p.peers().await.unwrap_or_default() {
            // Only an answer over a connection bound to a hotkey counts (and only for that hotkey).
            let Some(hotkey) = hotkey else { continue };
            let Ok(bytes) = p2p.request_sync(peer, SyncRequest::Genesis.to_bytes()).await else { continue };
            if let Ok(SyncResponse::Genesis(Some(set))) = SyncResponse::from_bytes(&bytes) {
                votes.vote(hotkey, set);
            }
        }
        if last_log.elapsed() > Duration::from_secs(10) {
            last_log = Instant::now();
            info!(
                best_share_permille = votes.best_share_permille() as u64,
                "waiting for validators holding more than two thirds of the stake to agree on the genesis validator set"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Chain blocks after which the metagraph is read again even within an epoch.
pub(crate) const METAGRAPH_REFRESH_BLOCKS: u64 = 30;

/// Follows the chain's best blocks; reads the metagraph again at each new epoch (and at
/// least every [`METAGRAPH_REFRESH_BLOCKS`] blocks).
pub(crate) async fn follow_chain<C: Chain + 'static>(
    chain: C,
    netuid: platform_types::NetUid,
    inputs: mpsc::Sender<Input>,
    mut shutdown: watch::Receiver<bool>,
    mut metagraph: Metagraph,
) {
    let mut last_read = metagraph.block.number;
    let mut stream = loop {
        match chain.blocks(Head::Best).await {
            Ok(stream) => break stream,
            Err(e) => {
                warn!(%e, "cannot follow the chain; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {},
                    _ = shutdown.changed() => return,
                }
            }
        }
    };
    loop {
        let block = tokio::select! {
            next = stream.next() => match next { Some(Ok(block)) => block, Some(Err(e)) => { warn!(%e, "chain stream"); continue }, None => return },
            _ = shutdown.changed() => return,
        };
        let schedule = metagraph.params.schedule(netuid);
        let fresh = if schedule.epoch_index(block.number) != schedule.epoch_index(last_read)
            || block.number >= last_read + METAGRAPH_REFRESH_BLOCKS
        {
            match chain.metagraph(netuid, Some(block)).await {
                Ok(m) => {
                    last_read = block.number;
                    metagraph = m.clone();
                    Some(Arc::new(m))
                }
                Err(e) => {
                    warn!(%e, "cannot read the metagraph");
                    None
                }
            }
        } else {
            None
        };
        if inputs.send(Input::Chain { block, metagraph: fresh }).await.is_err() {
            return;
        }
    }
}

/// Opens a batch a validator gossiped (admitted submissions, or its evaluations), verifying the
/// signatures together on a blocking thread; `remember` keeps them as verified for the rules.
/// `None` when anything in it is malformed or forged: a validator gossips only what it
/// verified or signed, so one bad envelope condemns the batch.
async fn open_batch<M: WireMessage + Send + 'static>(
    data: Vec<u8>,
    netuid: platform_types::NetUid,
    remember: Option<Arc<VerifiedEnvelopes>>,
) -> Option<Vec<Signed<M>>> {
    let envelopes = Envelope::decode_batch(&data, MAX_ENVELOPE_BYTES).ok()?;
    let opened = tokio::task::spawn_blocking(move || Envelope::open_batch::<M>(envelopes, netuid)).await.ok()?;
    let opened = opened.into_iter().collect::<Result<Vec<_>, _>>().ok()?;
    if let Some(verified) = remember {
        for signed in &opened {
            verified.remember(&signed.envelope, netuid);
        }
    }
    Some(opened)
}
