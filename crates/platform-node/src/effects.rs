//! Effects: what the event loop decides to do outside itself, as data. The loop's logic
//! ([`crate::core::Core`]) never calls the network, the chain or another actor; it pushes an
//! [`Effect`], and after each turn the [`Dispatcher`] hands the effects to the actor that
//! carries them out. The dispatcher never waits and never spawns a task per effect.
//!
//! Overflow policy, per effect:
//! - `Publish` and `SetValidators` go to the publisher (one task, in order) through a
//!   [`Mailbox`]: never dropped (a consensus vote or an admitted batch must go out); overflow
//!   waits in order and is offered again at each tick.
//! - `Report` and `Provide` are `try_` commands to the p2p layer: under a flood a full command
//!   queue drops them, counted in `platform_p2p_commands_dropped_total` (an unreported message
//!   is neither forwarded nor penalised; blobs are announced again at start).
//! - `Evaluate`, `Sync` and `Chain` go to their actor's [`Mailbox`]: never dropped.
//! - `Timer`s wait in the dispatcher until due and come back as [`Input::Timer`] at the next
//!   tick (20 ms); the consensus machine ignores a timer of a view it has left.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_p2p::{Client, MessageId, Topic, Verdict};
use platform_types::{Hash, Height, PublicKey, View};
use tokio::sync::mpsc;
use tracing::debug;

use crate::core::Input;
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;
use crate::{chain_client, evaluations, sync_client};

/// Messages the publisher's channel holds; more wait in the dispatcher's backlog.
pub(crate) const PUBLISHER_MAILBOX: usize = 4096;

/// Something the event loop asks to be done outside it.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Gossip `bytes` on `topic`.
    Publish { topic: Topic, bytes: Vec<u8> },
    /// The verdict on a gossiped message: forward it, drop it, or drop it and penalise.
    Report { id: MessageId, verdict: Verdict },
    /// Announce on the DHT that this node holds the blob with this hash.
    Provide(Hash),
    /// The validators whose peers may publish on validator-only topics.
    SetValidators(Vec<PublicKey>),
    /// Wake the consensus machine for `(height, view)` after `after`.
    Timer { height: Height, view: View, after: Duration },
    /// Ask the evaluation actor.
    Evaluate(evaluations::Request),
    /// Ask peers for blocks or bodies.
    Sync(sync_client::Request),
    /// Ask the chain.
    Chain(chain_client::Request),
}

/// What the publisher sends to the p2p layer, in order.
#[derive(Debug)]
enum Outgoing {
    Publish(Topic, Vec<u8>),
    SetValidators(Vec<PublicKey>),
}

/// Carries out the loop's effects through the actors' mailboxes.
pub(crate) struct Dispatcher {
    p2p: Client,
    publisher: Mailbox<Outgoing>,
    evaluations: Mailbox<evaluations::Request>,
    sync: Mailbox<sync_client::Request>,
    chain: Mailbox<chain_client::Request>,
    timers: Timers,
    metrics: Arc<Metrics>,
}

impl Dispatcher {
    /// A dispatcher over the actors' mailboxes; starts the publisher.
    pub fn new(
        p2p: Client,
        evaluations: Mailbox<evaluations::Request>,
        sync: Mailbox<sync_client::Request>,
        chain: Mailbox<chain_client::Request>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(PUBLISHER_MAILBOX);
        tokio::spawn(publish(p2p.clone(), rx));
        Dispatcher { p2p, publisher: Mailbox::new(tx), evaluations, sync, chain, timers: Timers::default(), metrics }
    }

    /// Hands each effect to whoever carries it out, in order; never waits.
    pub fn dispatch(&mut self, effects: impl IntoIterator<Item = Effect>) {
        for effect in effects {
            match effect {
                Effect::Publish { topic, bytes } => self.publisher.send(Outgoing::Publish(topic, bytes)),
                Effect::SetValidators(hotkeys) => self.publisher.send(Outgoing::SetValidators(hotkeys)),
                Effect::Report { id, verdict } => {
                    if self.p2p.try_report(id, verdict).is_err() {
                        self.metrics.p2p_commands_dropped.inc();
                    }
                }
                Effect::Provide(hash) => {
                    if self.p2p.try_provide(hash).is_err() {
                        self.metrics.p2p_commands_dropped.inc();
                    }
                }
                Effect::Timer { height, view, after } => self.timers.set(Instant::now() + after, height, view),
                Effect::Evaluate(request) => self.evaluations.send(request),
                Effect::Sync(request) => self.sync.send(request),
                Effect::Chain(request) => self.chain.send(request),
            }
        }
    }

    /// At each tick: offers the mailboxes' backlogs again and returns the timers due at `now`.
    pub fn tick(&mut self, now: Instant) -> Vec<Input> {
        self.publisher.flush();
        self.evaluations.flush();
        self.sync.flush();
        self.chain.flush();
        self.metrics.evaluation_backlog.set(self.evaluations.backlog() as i64);
        self.timers.due(now).into_iter().map(|(height, view)| Input::Timer { height, view }).collect()
    }
}

/// The consensus machine's timers, earliest first. Each view sets a few; a timer of a view
/// the machine has left fires anyway and is ignored by it, so the heap holds at most the
/// timers set within one timeout.
#[derive(Default)]
pub(crate) struct Timers(BinaryHeap<Reverse<(Instant, Height, View)>>);

impl Timers {
    pub(crate) fn set(&mut self, at: Instant, height: Height, view: View) {
        self.0.push(Reverse((at, height, view)));
    }

    /// The timers due at `now`, earliest first; they are removed.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<(Height, View)> {
        let mut due = Vec::new();
        while let Some(Reverse((at, height, view))) = self.0.peek().copied()
            && at <= now
        {
            self.0.pop();
            due.push((height, view));
        }
        due
    }
}

/// The publisher: sends to the p2p layer one message at a time, in the order decided.
async fn publish(p2p: Client, mut outgoing: mpsc::Receiver<Outgoing>) {
    while let Some(message) = outgoing.recv().await {
        match message {
            Outgoing::Publish(topic, bytes) => {
                if let Err(e) = p2p.publish(topic, bytes).await {
                    debug!(%e, ?topic, "publish failed");
                }
            }
            Outgoing::SetValidators(hotkeys) => {
                if p2p.set_validators(hotkeys).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_once_when_due_and_earliest_first() {
        let mut timers = Timers::default();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let (h, v) = (Height::new(5), |n| View::new(n));
        timers.set(at(300), h, v(2));
        timers.set(at(100), h, v(0));
        timers.set(at(200), h, v(1));
        assert!(timers.due(at(50)).is_empty(), "none is due yet");
        assert_eq!(timers.due(at(250)), vec![(h, v(0)), (h, v(1))]);
        assert!(timers.due(at(250)).is_empty(), "a timer fires once");
        assert_eq!(timers.due(at(1_000)), vec![(h, v(2))]);
    }
}
