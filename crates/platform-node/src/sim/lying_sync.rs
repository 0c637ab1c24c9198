//! Byzantine behaviour: a validator that answers block syncs with a history of its own making —
//! its committed blocks with every action erased (no submissions, no evaluations, no weights),
//! re-linked, each with a commit certificate carrying only its own vote. The simulator hands its
//! answer first to any validator catching up (the worst order); the sync client must see that no
//! quorum certified it and ask the next peer, and the validator must end with the honest blocks.

use platform_p2p::Provider;
use platform_types::{
    Block, BlockHeaderFields, Codec, Envelope, Height, Keypair, NetUid, QuorumCertificate, SyncRequest, SyncResponse,
    Vote, VoteKind,
};

use super::setup::NETUID;
use crate::records::Records;

/// The rewritten history from height `from`, as this liar answers a sync.
pub(crate) fn answer(keypair: &Keypair, records: &Records, from: u64) -> Vec<(Block, QuorumCertificate)> {
    let ask = SyncRequest::Blocks { from: Height::new(from.max(1)) }.to_bytes();
    let Ok(SyncResponse::Blocks(blocks)) = SyncResponse::from_bytes(&records.sync(&ask)) else { return Vec::new() };
    let mut parent = blocks.first().map(|(b, _)| b.header.parent_hash);
    blocks
        .into_iter()
        .map(|(block, certificate)| {
            let h = &block.header;
            let fields = BlockHeaderFields { parent_hash: parent.unwrap_or(h.parent_hash), ..h.fields() };
            let forged = Block::new(fields, Vec::new());
            parent = Some(forged.hash());
            let vote =
                Vote { kind: VoteKind::Commit, height: h.height, view: certificate.view, block_hash: forged.hash() };
            let votes = vec![Envelope::seal(keypair, NetUid::new(NETUID), &vote)];
            let certificate = QuorumCertificate { votes, block_hash: forged.hash(), ..certificate };
            (forged, certificate)
        })
        .collect()
}
