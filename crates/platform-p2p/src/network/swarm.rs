//! The event loop's handling of the swarm's events: connections (the guard's per-IP limit and
//! the refusals of the inbound bounds counted, bindings exchanged), gossip, bindings, DHT queries, and blob and sync requests.

use std::time::Instant;

use libp2p::core::ConnectedPoint;
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{connection_limits, gossipsub, identify, kad, request_response};
use platform_types::Hash;
use tracing::debug;

use super::{BehaviourEvent, EventLoop, ip_of};
use crate::api::P2pError;

impl EventLoop {
    pub(super) fn handle_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, num_established, .. } => {
                if self.isolated {
                    self.swarm.close_connection(connection_id);
                    return;
                }
                if let ConnectedPoint::Listener { send_back_addr, .. } = &endpoint
                    && let Some(ip) = ip_of(send_back_addr)
                {
                    if !self.guard.connection_opened(&peer_id, &ip, Instant::now()) {
                        debug!(%peer_id, %ip, "connection refused: per-IP limit or ban");
                        self.swarm.close_connection(connection_id);
                        return;
                    }
                    self.inbound_ips.insert(connection_id, ip);
                }
                if num_established.get() == 1 {
                    if let Some(bytes) = self.binding_envelope() {
                        self.swarm.behaviour_mut().bind.send_request(&peer_id, bytes);
                    }
                    self.redial.connected();
                    // The first peer after none (at start, or after a loss): refresh the
                    // routing table through it.
                    if self.swarm.connected_peers().count() == 1 {
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                if let Some(ip) = self.inbound_ips.remove(&connection_id) {
                    self.guard.connection_closed(&ip);
                }
                if num_established == 0 {
                    self.guard.forget(&peer_id, Instant::now());
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.handle_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                for addr in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Bind(request_response::Event::Message { peer, message, .. })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        let verdict = self.accept_binding(peer, &request);
                        self.penalise(peer, verdict);
                        let ours = self.binding_envelope().unwrap_or_default();
                        let _ = self.swarm.behaviour_mut().bind.send_response(channel, ours);
                    }
                    request_response::Message::Response { response, .. } => {
                        if !response.is_empty() {
                            let verdict = self.accept_binding(peer, &response);
                            self.penalise(peer, verdict);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result,
                step,
                ..
            })) => {
                if let kad::QueryResult::GetProviders(result) = result
                    && let Some(&fetch_id) = self.fetch_by_query.get(&id)
                {
                    let local = *self.swarm.local_peer_id();
                    if let Some(fetch) = self.fetches.get_mut(&fetch_id) {
                        match result {
                            Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => {
                                fetch.candidates.extend(providers.into_iter().filter(|p| *p != local));
                            }
                            Ok(kad::GetProvidersOk::FinishedWithNoAdditionalRecord { .. }) | Err(_) => {
                                fetch.query_done = true;
                            }
                        }
                        if step.last {
                            fetch.query_done = true;
                        }
                    }
                    if step.last {
                        self.fetch_by_query.remove(&id);
                    }
                    self.advance_fetch(fetch_id);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, .. })) => {
                let connected = self.swarm.connected_peers().count();
                if connected < self.config.target_peers
                    && !self.swarm.is_connected(&peer)
                    && !self.banned.contains(&peer)
                {
                    let _ = self.swarm.dial(peer);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Blob(request_response::Event::Message { peer, message, .. })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        let data = Hash::from_slice("blob hash", &request)
                            .ok()
                            .and_then(|h| self.provider.blob(&h))
                            .unwrap_or_default();
                        let _ = self.swarm.behaviour_mut().blob.send_response(channel, data);
                    }
                    request_response::Message::Response { request_id, response } => {
                        self.blob_response(request_id, peer, Some(response));
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Blob(request_response::Event::OutboundFailure {
                peer,
                request_id,
                ..
            })) => self.blob_response(request_id, peer, None),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. })) => {
                match message {
                    request_response::Message::Request { request, channel, .. } => {
                        // Catch-up data is served to bound validators only.
                        let data =
                            if self.is_bound_validator(&peer) { self.provider.sync(&request) } else { Vec::new() };
                        let _ = self.swarm.behaviour_mut().sync.send_response(channel, data);
                    }
                    request_response::Message::Response { request_id, response } => {
                        if let Some(reply) = self.syncs.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                request_id,
                error,
                ..
            })) => {
                if let Some(reply) = self.syncs.remove(&request_id) {
                    let _ = reply.send(Err(P2pError::Request(error.to_string())));
                }
            }
            SwarmEvent::IncomingConnectionError { error: ListenError::Denied { cause }, send_back_addr, .. }
                if cause.downcast_ref::<connection_limits::Exceeded>().is_some() =>
            {
                debug!(%send_back_addr, %cause, "connection refused: the node's inbound bounds");
                self.guard.connection_refused();
            }
            SwarmEvent::NewListenAddr { address, .. } => debug!(%address, "listening"),
            _ => {}
        }
    }
}
