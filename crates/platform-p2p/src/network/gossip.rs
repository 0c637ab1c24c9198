//! The event loop's judgement of gossip: peer bindings, verdicts reported to gossipsub and
//! the guard, and received messages handed to the application.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance};
use platform_types::{Envelope, PeerBinding};
use tracing::{debug, info, warn};

use super::EventLoop;
use crate::api::{Event, MessageId, Peer};
use crate::guard::{Admission, Verdict};

impl EventLoop {
    pub(super) fn binding_envelope(&self) -> Option<Vec<u8>> {
        let hotkey = self.hotkey.as_ref()?;
        let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let binding = PeerBinding { peer_id: self.swarm.local_peer_id().to_bytes(), timestamp_ms };
        Some(Envelope::seal(hotkey, self.config.netuid, &binding).to_bytes())
    }

    pub(super) fn announce_binding(&mut self) {
        if let Some(bytes) = self.binding_envelope() {
            let topic = self.bindings_topic.clone();
            if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                debug!(error = %e, "binding announcement not sent");
            }
        }
    }

    /// Checks a binding envelope claimed for `peer`; records it when valid.
    pub(super) fn accept_binding(&mut self, peer: PeerId, bytes: &[u8]) -> Verdict {
        let Ok(envelope) = Envelope::from_bytes(bytes, self.config.max_frame_bytes) else { return Verdict::Invalid };
        let Ok(signed) = envelope.open::<PeerBinding>(self.config.netuid) else { return Verdict::Invalid };
        if signed.message.peer_id != peer.to_bytes() {
            return Verdict::Invalid;
        }
        if self.bindings.insert(peer, signed.signer) != Some(signed.signer) {
            info!(%peer, hotkey = %signed.signer, "peer bound to hotkey");
            let _ = self.events.try_send(Event::PeerBound { peer: Peer(peer), hotkey: signed.signer });
        }
        Verdict::Valid
    }

    pub(super) fn penalise(&mut self, peer: PeerId, verdict: Verdict) {
        if self.guard.judge(&peer, verdict, Instant::now()) {
            warn!(%peer, "peer banned for invalid messages");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.banned.insert(peer);
            let _ = self.events.try_send(Event::PeerBanned { peer: Peer(peer) });
        }
    }

    pub(super) fn is_bound_validator(&self, peer: &PeerId) -> bool {
        self.bindings.get(peer).is_some_and(|h| self.validators.contains(h))
    }

    /// Reports a verdict to gossipsub and the guard.
    pub(super) fn finish(&mut self, id: &gossipsub::MessageId, source: PeerId, verdict: Verdict) {
        let acceptance = match verdict {
            Verdict::Valid => MessageAcceptance::Accept,
            Verdict::Invalid => MessageAcceptance::Reject,
            Verdict::Ignored => MessageAcceptance::Ignore,
        };
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(id, &source, acceptance);
        self.penalise(source, verdict);
    }

    pub(super) fn handle_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        match self.guard.admit_message(&source, Instant::now()) {
            Admission::Accept => {}
            Admission::RateLimited => return self.finish(&id, source, Verdict::Ignored),
            Admission::Banned => return self.finish(&id, source, Verdict::Invalid),
        }
        let Some(author) = message.source else { return self.finish(&id, source, Verdict::Invalid) };
        if message.topic == self.bindings_topic {
            let verdict = self.accept_binding(author, &message.data);
            return self.finish(&id, source, verdict);
        }
        let Some(topic) = self.topics.get(&message.topic).copied() else {
            return self.finish(&id, source, Verdict::Ignored);
        };
        let author_hotkey = self.bindings.get(&author).copied();
        if topic.validator_only() {
            match author_hotkey {
                // Not bound yet: drop without blame (its binding may still be on its way).
                None => return self.finish(&id, source, Verdict::Ignored),
                Some(h) if !self.validators.contains(&h) => return self.finish(&id, source, Verdict::Invalid),
                Some(_) => {}
            }
        }
        // Bound the messages awaiting a verdict: the oldest is ignored to make room.
        while self.pending.len() >= self.config.max_pending_validations {
            let Some(oldest) = self.pending_order.pop_front() else { break };
            if let Some(src) = self.pending.remove(&oldest) {
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &oldest,
                    &src,
                    MessageAcceptance::Ignore,
                );
            }
        }
        let event = Event::Message {
            id: MessageId(id.clone()),
            topic,
            author: Peer(author),
            author_hotkey,
            data: message.data,
        };
        if self.events.try_send(event).is_err() {
            // The application is not keeping up: drop without blame.
            return self.finish(&id, source, Verdict::Ignored);
        }
        self.pending.insert(id.clone(), source);
        self.pending_order.push_back(id);
        if self.pending_order.len() > 2 * self.config.max_pending_validations {
            let pending = &self.pending;
            self.pending_order.retain(|m| pending.contains_key(m));
        }
    }
}
