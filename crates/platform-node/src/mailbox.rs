//! A bounded mailbox the event loop writes to without ever waiting: what the actor's channel
//! cannot take yet waits in order in a backlog and is offered again at the next
//! [`Mailbox::flush`]. For messages that must not be dropped (each committed submission must be
//! evaluated) and an actor that drains them at its own pace; the backlog only grows while the
//! actor is behind, and holds ids and references, not payloads.
//!
//! [`serve`] runs an actor whose requests are independent of each other (chain calls, peer
//! requests): each becomes a task, a bounded number at once.

use std::collections::VecDeque;
use std::future::Future;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The sending side of an actor's mailbox, with its overflow backlog.
pub(crate) struct Mailbox<T> {
    tx: mpsc::Sender<T>,
    backlog: VecDeque<T>,
}

impl<T> Mailbox<T> {
    pub fn new(tx: mpsc::Sender<T>) -> Self {
        Mailbox { tx, backlog: VecDeque::new() }
    }

    /// Delivers `message` now if the channel has room and nothing older waits, else queues it
    /// behind the backlog. Order is kept either way. A stopped actor drops it.
    pub fn send(&mut self, message: T) {
        if !self.backlog.is_empty() {
            self.backlog.push_back(message);
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(message)) = self.tx.try_send(message) {
            self.backlog.push_back(message);
        }
    }

    /// Offers the backlog to the channel again, oldest first, until it is full.
    pub fn flush(&mut self) {
        while let Some(message) = self.backlog.pop_front() {
            match self.tx.try_send(message) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(message)) => {
                    self.backlog.push_front(message);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.backlog.clear();
                    return;
                }
            }
        }
    }

    /// Messages waiting for room.
    pub fn backlog(&self) -> usize {
        self.backlog.len()
    }
}

/// Runs each request from `requests` as a task made by `handle`, at most `limit` at once; while
/// that many run, further requests stay in the channel (and then in the sender's backlog).
/// Returns once the channel is closed and every task has ended.
pub(crate) async fn serve<T, F, Fut>(mut requests: mpsc::Receiver<T>, limit: usize, mut handle: F)
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            request = requests.recv(), if running.len() < limit.max(1) => match request {
                Some(request) => {
                    running.spawn(handle(request));
                }
                None => break,
            },
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::*;

    #[tokio::test]
    async fn serve_runs_at_most_its_limit_at_once_and_the_rest_wait_their_turn() {
        let (tx, rx) = mpsc::channel(16);
        let gate = Arc::new(Semaphore::new(0));
        let counters: [Arc<AtomicUsize>; 3] = Default::default();
        let [running, started, most] = counters.clone();
        let handler_gate = gate.clone();
        let actor = tokio::spawn(serve(rx, 2, move |_: u32| {
            let (g, r, s, m) = (handler_gate.clone(), running.clone(), started.clone(), most.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                m.fetch_max(r.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                g.acquire().await.expect("gate").forget();
                r.fetch_sub(1, Ordering::SeqCst);
            }
        }));
        let [_, started, most] = counters;
        for i in 0..5 {
            tx.send(i).await.expect("sent");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), 2, "two started, three wait");
        gate.add_permits(1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), 3, "one ended, the next started");
        gate.add_permits(4);
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), actor).await.expect("ends").expect("no panic");
        assert_eq!(started.load(Ordering::SeqCst), 5, "every request was served");
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the limit at once");
    }

    #[test]
    fn a_full_mailbox_keeps_messages_in_order_and_never_waits() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut mailbox = Mailbox::new(tx);
        for i in 0..5 {
            mailbox.send(i);
        }
        assert_eq!(mailbox.backlog(), 3, "two in the channel, three waiting");
        assert_eq!((rx.try_recv().ok(), rx.try_recv().ok()), (Some(0), Some(1)));
        mailbox.send(5);
        assert_eq!(mailbox.backlog(), 4, "nothing overtakes the backlog");
        mailbox.flush();
        assert_eq!(mailbox.backlog(), 2);
        let mut received = Vec::new();
        while mailbox.backlog() > 0 || !rx.is_empty() {
            while let Ok(i) = rx.try_recv() {
                received.push(i);
            }
            mailbox.flush();
        }
        assert_eq!(received, vec![2, 3, 4, 5]);
        drop(rx);
        mailbox.send(6);
        mailbox.flush();
        assert_eq!(mailbox.backlog(), 0, "a stopped actor's messages are dropped");
    }
}
