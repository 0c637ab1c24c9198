//! The sync client actor: asks peers for what the event loop lacks — committed blocks it fell
//! behind on, and the bodies of submissions a committed block orders — and answers with
//! [`Input::Synced`] or [`Input::Bodies`]. The serving side is `records/` (the p2p layer's
//! [`platform_p2p::Provider`]).
//!
//! Ingress: [`Request`]s through the loop's [`Mailbox`] of [`MAILBOX`] messages, which the loop
//! never waits on. The loop asks for at most one block sync and one body fetch at a time (it
//! waits for the answer before asking again), so the mailbox holds at most two; nothing is
//! dropped. Each request runs as a task of its own, at most [`IN_FLIGHT`] at once, so a long
//! block sync never delays the bodies a commit waits for. Egress: exactly one answer per
//! request, possibly empty when no peer had it, through the loop's inputs.

use std::time::Duration;

use platform_consensus::{Committee, verify_certificate};
use platform_p2p::Client;
use platform_types::{
    Block, Codec, Hash, Height, NetUid, PublicKey, QuorumCertificate, SubmissionId, SyncRequest, SyncResponse,
    ValidatorSet, VoteKind,
};
use tokio::sync::mpsc;

use crate::core::Input;
use crate::mailbox::{Mailbox, serve};

/// Requests the actor's channel holds.
pub(crate) const MAILBOX: usize = 16;

/// Requests served at once.
pub(crate) const IN_FLIGHT: usize = 2;

/// What the event loop asks peers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// Committed blocks from `from` on (the block before has hash `parent`), from validators of
    /// the current set only; an answer is believed only as far as [`usable`] checks it.
    Blocks { from: u64, parent: Hash, validators: ValidatorSet },
    /// The bodies of these submissions, from any peer bound to a hotkey (each body is checked
    /// against its id, its hash, by the loop).
    Bodies(Vec<SubmissionId>),
}

/// Starts the actor for subnet `netuid`; the loop keeps the returned mailbox.
pub(crate) fn spawn(p2p: Client, inputs: mpsc::Sender<Input>, netuid: NetUid) -> Mailbox<Request> {
    let (tx, rx) = mpsc::channel(MAILBOX);
    tokio::spawn(serve(rx, IN_FLIGHT, move |request| answer(p2p.clone(), inputs.clone(), netuid, request)));
    Mailbox::new(tx)
}

/// The blocks of a sync answer a node can use: the longest prefix of `blocks` that starts at
/// height `from`, links each block to the one before (the first to `parent`), and certifies each
/// with a commit certificate for exactly that block carrying votes of more than two thirds of
/// the stake of `validators`. A validator set that changes within the answer ends the prefix
/// (the rest is asked for again, under the new set). An answer with nothing usable is a lie or
/// stale: the next peer is asked.
pub(crate) fn usable(
    from: u64,
    parent: Hash,
    validators: &ValidatorSet,
    netuid: NetUid,
    blocks: Vec<(Block, QuorumCertificate)>,
) -> Vec<(Block, QuorumCertificate)> {
    let Ok(committee) = Committee::new(validators.clone()) else { return Vec::new() };
    let mut expected = (from.max(1), parent);
    let mut out = Vec::new();
    for (block, certificate) in blocks {
        if !certifies(&block, &certificate, expected, &committee, netuid) {
            break;
        }
        expected = (expected.0 + 1, block.hash());
        out.push((block, certificate));
    }
    out
}

/// Whether `block` is at height `expected.0` on parent `expected.1` and `certificate` is a
/// commit certificate for exactly it with votes of more than two thirds of `committee`'s stake.
pub(crate) fn certifies(
    block: &Block,
    certificate: &QuorumCertificate,
    expected: (u64, Hash),
    committee: &Committee,
    netuid: NetUid,
) -> bool {
    block.header.height.get() == expected.0
        && block.header.parent_hash == expected.1
        && certificate.kind == VoteKind::Commit
        && certificate.height == block.header.height
        && certificate.block_hash == block.hash()
        && verify_certificate(certificate, committee, netuid).is_ok()
}

/// One peer's answer to a block sync from `from`: the blocks usable ([`usable`]), and whether
/// the peer no longer holds block `from` (its answer starts above it: it pruned it).
pub(crate) fn judge(
    from: u64,
    parent: Hash,
    validators: &ValidatorSet,
    netuid: NetUid,
    blocks: Vec<(Block, QuorumCertificate)>,
) -> (Vec<(Block, QuorumCertificate)>, bool) {
    let pruned = blocks.first().is_some_and(|(b, _)| b.header.height.get() > from.max(1));
    (usable(from, parent, validators, netuid, blocks), pruned)
}

async fn answer(p2p: Client, inputs: mpsc::Sender<Input>, netuid: NetUid, request: Request) {
    let input = match request {
        Request::Blocks { from, parent, validators } => {
            let mut blocks = Vec::new();
            let mut pruned = 0;
            let request = SyncRequest::Blocks { from: Height::new(from.max(1)) }.to_bytes();
            let members: Vec<PublicKey> = validators.validators.iter().map(|v| v.hotkey).collect();
            let validator = |hotkey: Option<PublicKey>| hotkey.is_some_and(|h| members.contains(&h));
            ask_peers(&p2p, &request, validator, |bytes| {
                if let Ok(SyncResponse::Blocks(list)) = SyncResponse::from_bytes(bytes) {
                    let (usable, gone) = judge(from, parent, &validators, netuid, list);
                    blocks = usable;
                    pruned += usize::from(gone);
                }
                // Peers that pruned the next block answer what they still hold: two such answers
                // (two peers, or one asked twice) and this node is behind them.
                !blocks.is_empty() || pruned >= 2
            })
            .await;
            Input::Synced { behind: blocks.is_empty() && pruned > 0, blocks }
        }
        Request::Bodies(ids) => {
            let mut envelopes = Vec::new();
            let wanted = ids.len();
            let request = SyncRequest::Submissions(ids).to_bytes();
            ask_peers(
                &p2p,
                &request,
                |hotkey| hotkey.is_some(),
                |bytes| {
                    if let Ok(SyncResponse::Submissions(list)) = SyncResponse::from_bytes(bytes) {
                        envelopes.extend(list);
                    }
                    envelopes.len() >= wanted
                },
            )
            .await;
            Input::Bodies { envelopes }
        }
    };
    let _ = inputs.send(input).await;
}

/// Sends `request` to each connected peer whose hotkey `ask` accepts, handing every answer to
/// `answered` until it reports that it has what it needs. A node that has just started may not
/// know its peers' hotkeys yet, so rounds repeat with growing pauses (20 rounds, about 50 s in
/// all) before giving up.
async fn ask_peers(
    p2p: &Client,
    request: &[u8],
    ask: impl Fn(Option<PublicKey>) -> bool,
    mut answered: impl FnMut(&[u8]) -> bool,
) {
    for attempt in 0..20u64 {
        for (peer, hotkey) in p2p.peers().await.unwrap_or_default() {
            if !ask(hotkey) {
                continue;
            }
            if let Ok(bytes) = p2p.request_sync(peer, request.to_vec()).await
                && answered(&bytes)
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(250 * (attempt + 1))).await;
    }
}
