//! What the harness answers in place of the actors it replaces: a validator's evaluation actor
//! and the sync servers of the validators it asks.

use platform_types::NetUid;

use super::Behaviour;
use super::net::Net;
use super::setup::NETUID;
use crate::core::Input;
use crate::evaluations::Request as Evaluate;
use crate::records::Records;
use crate::sync_client;

impl Net {
    /// Validator `i`'s evaluation actor carries out `requests` (and loads a module it still
    /// lacks, from its store or a reachable peer's); what it answers its core.
    pub(super) fn evaluate(&mut self, i: usize, requests: Vec<Evaluate>) -> Vec<Input> {
        if requests.is_empty() && self.sandboxes[i].idle() {
            return Vec::new();
        }
        let peers: Vec<&Records> = self.reachable(i).map(|j| &self.nodes[j].records).collect();
        let node = &self.nodes[i];
        let author = crate::evaluator::Author { validator: node.keypair.public(), invert_scores: false };
        let sandbox = &mut self.sandboxes[i];
        let mut inputs = sandbox.load(&node.records, &peers, &author);
        for request in requests {
            inputs.extend(sandbox.handle(request, &node.records, &peers, &author));
        }
        inputs
    }

    /// The answer validator `i`'s sync client gets, asking as it does: the other running
    /// validators in turn — the misbehaving ones first, the worst order — each through its own
    /// sync server (`Records` as the p2p layer's provider, or a liar's answer), until one answers
    /// with blocks [`sync_client::usable`] accepts.
    pub(super) fn answer_sync(&mut self, i: usize, request: sync_client::Request) -> Input {
        use platform_p2p::Provider;
        use platform_types::{Codec, Height, SyncRequest, SyncResponse};
        let peers = self.asked_by(i);
        match request {
            sync_client::Request::Blocks { from, parent, validators } => {
                let ask = SyncRequest::Blocks { from: Height::new(from.max(1)) }.to_bytes();
                let netuid = NetUid::new(NETUID);
                let mut behind = false;
                for j in peers {
                    let answer = match self.behaviour[j] {
                        Some(Behaviour::LyingSync) => {
                            self.rewritten += 1;
                            super::lying_sync::answer(&self.nodes[j].keypair, &self.nodes[j].records, from)
                        }
                        _ => match SyncResponse::from_bytes(&self.nodes[j].records.sync(&ask)) {
                            Ok(SyncResponse::Blocks(blocks)) => blocks,
                            _ => Vec::new(),
                        },
                    };
                    let (blocks, pruned) = sync_client::judge(from, parent, &validators, netuid, answer);
                    if !blocks.is_empty() {
                        return Input::Synced { blocks, behind: false };
                    }
                    behind |= pruned;
                }
                Input::Synced { blocks: Vec::new(), behind }
            }
            sync_client::Request::Bodies(ids) => {
                let ask = SyncRequest::Submissions(ids).to_bytes();
                let mut envelopes = Vec::new();
                for j in peers {
                    if let Ok(SyncResponse::Submissions(found)) =
                        SyncResponse::from_bytes(&self.nodes[j].records.sync(&ask))
                    {
                        envelopes.extend(found);
                    }
                }
                Input::Bodies { envelopes }
            }
        }
    }
}
