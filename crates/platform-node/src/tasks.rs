//! The node's background tasks that feed the event loop: the gossip pump (signatures checked
//! off the loop), and the genesis vote a validator with an empty store
//! holds before its event loop can start.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::GenesisVotes;
use platform_consensus::PeerTag;
use platform_p2p::{Client, Event, Peer, Topic};
use platform_types::limits::MAX_ENVELOPE_BYTES;
use platform_types::{
    Codec, Envelope, Signed, SyncRequest, SyncResponse, ValidatorSet, VerifiedEnvelopes, WireMessage,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::info;

use crate::core::{Gossiped, Input};

/// Batches received while another is being checked, at most; beyond, the pump stops reading
/// gossip until one is done (the p2p layer's bounded event queue then holds the rest).
pub(crate) const BATCHES_WAITING: usize = 8;

/// A gossiped message as received: its id for the verdict, its sender, its topic and bytes.
type Received = (platform_p2p::MessageId, PeerTag, Topic, Vec<u8>);

/// Checks the signatures of gossiped messages off the event loop and hands the event loop
/// what passed; what did not is reported invalid at once. Consensus messages go to the loop's
/// consensus lane (`consensus`), which it takes before anything else; everything else to
/// `inputs`. Batches (admitted submissions, evaluations) are checked one at a time on a
/// blocking thread, which bounds the CPU gossip takes from the rest of the node; while one is
/// checked the pump goes on reading, so a consensus message passes the batches waiting (at
/// most [`BATCHES_WAITING`]) instead of queueing behind them.
pub(crate) async fn gossip_pump(
    mut events: mpsc::Receiver<Event>,
    p2p: Client,
    consensus: mpsc::Sender<Input>,
    inputs: mpsc::Sender<Input>,
    netuid: platform_types::NetUid,
    verified: Arc<VerifiedEnvelopes>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut waiting: VecDeque<Received> = VecDeque::new();
    let mut checking = JoinSet::new();
    loop {
        if checking.is_empty()
            && let Some((id, from, topic, data)) = waiting.pop_front()
        {
            let verified = verified.clone();
            checking.spawn(async move {
                let opened = tokio::task::spawn_blocking(move || open_gossip(topic, data, netuid, &verified))
                    .await
                    .ok()
                    .flatten();
                (id, from, opened)
            });
        }
        let (id, from, opened) = tokio::select! {
            event = events.recv(), if waiting.len() < BATCHES_WAITING => {
                let Some(event) = event else { break };
                let Event::Message { id, author, data, topic, .. } = event else { continue };
                let from = peer_tag(&author);
                if topic == Topic::SubmissionBatches || topic == Topic::Evaluations {
                    waiting.push_back((id, from, topic, data));
                    continue;
                }
                (id, from, open_gossip(topic, data, netuid, &verified))
            }
            Some(done) = checking.join_next(), if !checking.is_empty() => match done {
                Ok(done) => done,
                Err(_) => continue,
            },
            _ = shutdown.changed() => break,
        };
        let Some(message) = opened else {
            let _ = p2p.report(id, platform_p2p::Verdict::Invalid).await;
            continue;
        };
        let lane = if matches!(message, Gossiped::Consensus(_)) { &consensus } else { &inputs };
        if lane.send(Input::Gossip { id, from, message }).await.is_err() {
            break;
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

/// Decodes and checks a gossiped message as received on `topic` — the pump's check, and the
/// simulator's: a batch (admitted submissions, or a validator's evaluations) has every
/// signature verified together, and evaluations are remembered as verified for the rules;
/// anything else is one envelope, opened as its kind says. `None` when anything in it is
/// malformed or forged: a validator gossips only what it verified or signed, so one bad
/// envelope condemns the batch (and the pump reports the message invalid, which costs its
/// sender).
pub(crate) fn open_gossip(
    topic: Topic,
    data: Vec<u8>,
    netuid: platform_types::NetUid,
    verified: &VerifiedEnvelopes,
) -> Option<Gossiped> {
    match topic {
        Topic::SubmissionBatches => open_batch(&data, netuid).map(Gossiped::Submissions),
        Topic::Evaluations => {
            let opened = open_batch::<platform_types::EvaluationBatch>(&data, netuid)?;
            for (signed, _) in &opened {
                verified.remember(&signed.envelope, netuid);
            }
            Some(Gossiped::Evaluations(opened.into_iter().map(|(signed, _)| signed).collect()))
        }
        _ => {
            let envelope = Envelope::from_bytes(&data, MAX_ENVELOPE_BYTES).ok()?;
            Gossiped::open(envelope, data, netuid, verified)
        }
    }
}

/// Opens a batch, each envelope with its bytes as received; `None` if any fails.
fn open_batch<M: WireMessage>(data: &[u8], netuid: platform_types::NetUid) -> Option<Vec<(Signed<M>, Vec<u8>)>> {
    let raw = Envelope::split_batch(data, MAX_ENVELOPE_BYTES).ok()?;
    let envelopes =
        raw.iter().map(|b| Envelope::from_bytes(b, MAX_ENVELOPE_BYTES)).collect::<Result<Vec<_>, _>>().ok()?;
    let opened = Envelope::open_batch::<M>(envelopes, netuid).into_iter().collect::<Result<Vec<_>, _>>().ok()?;
    Some(opened.into_iter().zip(raw).collect())
}
