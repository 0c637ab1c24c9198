//! The event loop's handling of its client's commands, and of blob fetches.

use std::collections::{HashSet, VecDeque};

use libp2p::gossipsub::IdentTopic;
use libp2p::{PeerId, kad, request_response};
use platform_types::blake2b_256;
use tracing::warn;

use super::{EventLoop, Fetch};
use crate::api::{P2pError, Peer};
use crate::client::Command;
use crate::guard::Verdict;

impl EventLoop {
    pub(super) fn handle_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, reply } => {
                let t = IdentTopic::new(topic.name(self.config.netuid));
                let result = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(t, data)
                    .map(|_| ())
                    .map_err(|e| P2pError::Publish(e.to_string()));
                let _ = reply.send(result);
            }
            Command::Report { id, verdict } => {
                if let Some(source) = self.pending.remove(&id.0) {
                    self.finish(&id.0, source, verdict);
                }
            }
            Command::SetValidators { hotkeys } => self.validators = hotkeys.into_iter().collect(),
            Command::Dial { address, reply } => {
                let _ = reply.send(self.swarm.dial(address).map_err(|e| P2pError::Publish(e.to_string())));
            }
            Command::Peers { reply } => {
                let peers = self.swarm.connected_peers().map(|p| (Peer(*p), self.bindings.get(p).copied())).collect();
                let _ = reply.send(peers);
            }
            Command::Listening { reply } => {
                let local = *self.swarm.local_peer_id();
                let addrs = self.swarm.listeners().map(|a| format!("{a}/p2p/{local}")).collect();
                let _ = reply.send(addrs);
            }
            Command::Counters { reply } => {
                let _ = reply.send(self.guard.counters());
            }
            Command::Penalise { peer } => self.penalise(peer, Verdict::Invalid),
            Command::Isolate { on, reply } => {
                self.isolate(on);
                let _ = reply.send(());
            }
            Command::Provide { hash } => {
                let key = kad::RecordKey::new(hash.as_bytes());
                if let Err(e) = self.swarm.behaviour_mut().kad.start_providing(key) {
                    warn!(error = %e, "cannot announce a blob");
                }
            }
            Command::FetchBlob { hash, reply } => {
                let id = self.next_fetch;
                self.next_fetch += 1;
                let query = self.swarm.behaviour_mut().kad.get_providers(kad::RecordKey::new(hash.as_bytes()));
                self.fetch_by_query.insert(query, id);
                let fetch = Fetch {
                    hash,
                    reply,
                    candidates: VecDeque::new(),
                    tried: HashSet::new(),
                    query_done: false,
                    in_flight: false,
                };
                self.fetches.insert(id, fetch);
            }
            Command::Sync { peer, request, reply } => {
                let request_id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.syncs.insert(request_id, reply);
            }
        }
    }

    /// Sends the next request of fetch `id`, or ends it when nobody is left to ask.
    pub(super) fn advance_fetch(&mut self, id: u64) {
        let Some(fetch) = self.fetches.get_mut(&id) else { return };
        if fetch.in_flight {
            return;
        }
        while let Some(peer) = fetch.candidates.pop_front() {
            if !fetch.tried.insert(peer) || self.banned.contains(&peer) {
                continue;
            }
            fetch.in_flight = true;
            let hash = fetch.hash;
            let request = self.swarm.behaviour_mut().blob.send_request(&peer, hash.as_bytes().to_vec());
            self.fetch_by_request.insert(request, id);
            return;
        }
        if fetch.query_done
            && let Some(fetch) = self.fetches.remove(&id)
        {
            let _ = fetch.reply.send(Err(P2pError::BlobNotFound(fetch.hash)));
        }
    }

    pub(super) fn blob_response(
        &mut self,
        request: request_response::OutboundRequestId,
        peer: PeerId,
        data: Option<Vec<u8>>,
    ) {
        let Some(id) = self.fetch_by_request.remove(&request) else { return };
        let Some(fetch) = self.fetches.get_mut(&id) else { return };
        fetch.in_flight = false;
        match data {
            Some(bytes) if !bytes.is_empty() && blake2b_256(&bytes) == fetch.hash => {
                if let Some(fetch) = self.fetches.remove(&id) {
                    let _ = fetch.reply.send(Ok(bytes));
                }
                return;
            }
            Some(bytes) if !bytes.is_empty() => {
                warn!(%peer, "provider served bytes that do not match the blob hash");
                self.penalise(peer, Verdict::Invalid);
            }
            // Empty (the peer does not hold it) or a failed request: ask the next one.
            _ => {}
        }
        self.advance_fetch(id);
    }
}
