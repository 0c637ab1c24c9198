//! A bounded mailbox the event loop writes to without ever waiting: what the actor's channel
//! cannot take yet waits in order in a backlog and is offered again at the next
//! [`Mailbox::flush`]. For messages that must not be dropped (each committed submission must be
//! evaluated) and an actor that drains them at its own pace; the backlog only grows while the
//! actor is behind, and holds ids and references, not payloads.

use std::collections::VecDeque;

use tokio::sync::mpsc;

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

#[cfg(test)]
mod tests {
    use super::*;

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
