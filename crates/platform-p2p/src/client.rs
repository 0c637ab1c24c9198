//! The handle the rest of the node holds: [`Client`] sends [`Command`]s to the network's
//! [`EventLoop`](crate::EventLoop) over a bounded channel, most with a oneshot reply; the
//! `try_` ones never wait.

use libp2p::{Multiaddr, PeerId};
use platform_types::{Hash, PublicKey};
use tokio::sync::{mpsc, oneshot};

use crate::api::{MessageId, P2pError, Peer};
use crate::config::Topic;
use crate::guard::{GuardCounters, Verdict};

/// What the client asks of the event loop.
pub(crate) enum Command {
    Publish { topic: Topic, data: Vec<u8>, reply: oneshot::Sender<Result<(), P2pError>> },
    Report { id: MessageId, verdict: Verdict },
    SetValidators { hotkeys: Vec<PublicKey> },
    Dial { address: Multiaddr, reply: oneshot::Sender<Result<(), P2pError>> },
    Peers { reply: oneshot::Sender<Vec<(Peer, Option<PublicKey>)>> },
    Listening { reply: oneshot::Sender<Vec<String>> },
    Counters { reply: oneshot::Sender<GuardCounters> },
    Provide { hash: Hash },
    FetchBlob { hash: Hash, reply: oneshot::Sender<Result<Vec<u8>, P2pError>> },
    Sync { peer: PeerId, request: Vec<u8>, reply: oneshot::Sender<Result<Vec<u8>, P2pError>> },
    Isolate { on: bool, reply: oneshot::Sender<()> },
    Penalise { peer: PeerId },
}

/// The handle the rest of the node uses. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) local: Peer,
}

impl Client {
    /// This node's peer.
    pub fn local_peer(&self) -> Peer {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| P2pError::Stopped)?;
        rx.await.map_err(|_| P2pError::Stopped)
    }

    /// Publishes `data` on `topic`.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), P2pError> {
        self.ask(|reply| Command::Publish { topic, data, reply }).await?
    }

    /// Reports the application's verdict on a received message: `Valid` forwards it,
    /// `Invalid` drops it and penalises the peer that sent it, `Ignored` drops it.
    pub async fn report(&self, id: MessageId, verdict: Verdict) -> Result<(), P2pError> {
        self.commands.send(Command::Report { id, verdict }).await.map_err(|_| P2pError::Stopped)
    }

    /// [`Client::report`] without waiting: when the command queue is full the verdict is
    /// dropped ([`P2pError::Busy`]) and the message stays unvalidated, so gossipsub neither
    /// forwards it nor penalises its sender. For callers that must not wait (an event loop
    /// reporting one verdict per message received, which a flood of messages would otherwise
    /// turn into as many waiting tasks).
    pub fn try_report(&self, id: MessageId, verdict: Verdict) -> Result<(), P2pError> {
        self.try_command(Command::Report { id, verdict })
    }

    /// [`Client::provide`] without waiting: when the command queue is full the announcement
    /// is dropped ([`P2pError::Busy`]); the node announces every blob it holds again at start.
    pub fn try_provide(&self, hash: Hash) -> Result<(), P2pError> {
        self.try_command(Command::Provide { hash })
    }

    fn try_command(&self, command: Command) -> Result<(), P2pError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => P2pError::Busy,
            mpsc::error::TrySendError::Closed(_) => P2pError::Stopped,
        })
    }

    /// Sets the current validator set: the hotkeys whose bound peers may publish on
    /// validator-only topics.
    pub async fn set_validators(&self, hotkeys: Vec<PublicKey>) -> Result<(), P2pError> {
        self.commands.send(Command::SetValidators { hotkeys }).await.map_err(|_| P2pError::Stopped)
    }

    /// Dials a peer by multiaddr.
    pub async fn dial(&self, address: &str) -> Result<(), P2pError> {
        let address = parse_addr(address)?;
        self.ask(|reply| Command::Dial { address, reply }).await?
    }

    /// Connected peers and their hotkeys where bound.
    pub async fn peers(&self) -> Result<Vec<(Peer, Option<PublicKey>)>, P2pError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// The addresses this node listens on, each ending in `/p2p/<peer id>`.
    pub async fn listen_addresses(&self) -> Result<Vec<String>, P2pError> {
        self.ask(|reply| Command::Listening { reply }).await
    }

    /// Announces on the DHT that this node provides the blob `hash` (served through the
    /// [`Provider`](crate::Provider)).
    pub async fn provide(&self, hash: Hash) -> Result<(), P2pError> {
        self.commands.send(Command::Provide { hash }).await.map_err(|_| P2pError::Stopped)
    }

    /// Finds providers of `hash` on the DHT and fetches the blob from them, one at a time,
    /// until one serves bytes that hash to `hash`; a provider serving other bytes is penalised.
    pub async fn fetch_blob(&self, hash: Hash) -> Result<Vec<u8>, P2pError> {
        self.ask(|reply| Command::FetchBlob { hash, reply }).await?
    }

    /// Sends a catch-up sync request to `peer` (which answers only bound validators).
    pub async fn request_sync(&self, peer: Peer, request: Vec<u8>) -> Result<Vec<u8>, P2pError> {
        self.ask(|reply| Command::Sync { peer: peer.0, request, reply }).await?
    }

    /// Penalises `peer` as for an invalid message: it answered a request with data that failed
    /// its check (a snapshot chunk that does not hash to its manifest's entry, say). Enough of
    /// these ban it, like invalid gossip.
    pub async fn penalise(&self, peer: Peer) -> Result<(), P2pError> {
        self.commands.send(Command::Penalise { peer: peer.0 }).await.map_err(|_| P2pError::Stopped)
    }

    /// Flood-protection counters.
    pub async fn counters(&self) -> Result<GuardCounters, P2pError> {
        self.ask(|reply| Command::Counters { reply }).await
    }

    /// Cuts this node off the network (`true`): every connection is closed and every new one,
    /// inbound or outbound, is closed as soon as it is established, until called with `false`;
    /// the node then redials its bootstrap peers. For operators taking a node off the network
    /// without stopping it, and for partition tests.
    pub async fn set_isolated(&self, on: bool) -> Result<(), P2pError> {
        self.ask(|reply| Command::Isolate { on, reply }).await
    }
}

/// Parses a multiaddr, saying which one failed.
pub(crate) fn parse_addr(address: &str) -> Result<Multiaddr, P2pError> {
    address.parse().map_err(|e: libp2p::multiaddr::Error| P2pError::Address {
        address: address.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::gossipsub;

    /// The `try_` commands never wait: a full queue drops them with [`P2pError::Busy`], a
    /// stopped network says so.
    #[test]
    fn try_commands_drop_when_the_queue_is_full() {
        let (commands, mut queue) = mpsc::channel(1);
        let client = Client { commands, local: Peer(PeerId::random()) };
        let id = MessageId(gossipsub::MessageId::new(b"m"));
        assert!(client.try_report(id.clone(), Verdict::Valid).is_ok());
        assert!(matches!(client.try_report(id.clone(), Verdict::Valid), Err(P2pError::Busy)));
        assert!(matches!(client.try_provide(Hash::ZERO), Err(P2pError::Busy)));
        assert!(matches!(queue.try_recv(), Ok(Command::Report { .. })));
        drop(queue);
        assert!(matches!(client.try_report(id, Verdict::Valid), Err(P2pError::Stopped)));
    }
}
