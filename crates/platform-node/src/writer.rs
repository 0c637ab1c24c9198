//! Group commit on a thread of its own. The event loop hands admitted submissions to the
//! [`Writer`] after each turn; the thread writes whatever has arrived as one synced write, and
//! everything handed in meanwhile becomes its next write, which it starts as soon as the
//! previous one ends — without waiting for the loop to notice. The loop keeps verifying and
//! admitting during a write instead of waiting for the disk, so each fsync serves every
//! submission that arrived during the previous one.
//!
//! The write function runs on the thread and may answer for a batch there, the moment it is
//! on disk (admission's does); the batch then comes back to the loop through [`Writer::waker`]
//! for the rest of its work. Nothing is answered before it is on disk.

use std::sync::{Arc, mpsc};

use tokio::sync::Notify;

/// A batch back from the writer with the result of its write.
pub(crate) struct Written<T> {
    pub batch: Vec<T>,
    pub result: Result<(), String>,
}

/// The writer thread's handle, owned by the event loop. The thread ends with it.
pub(crate) struct Writer<T> {
    jobs: mpsc::Sender<Vec<T>>,
    done: mpsc::Receiver<Written<T>>,
    wake: Arc<Notify>,
    /// Items handed to the thread whose batch has not come back yet.
    pending: usize,
    /// Batches the thread could not take (it stopped): returned as failed.
    refused: Vec<Written<T>>,
}

impl<T: Send + 'static> Writer<T> {
    /// Starts the thread; `write` persists one batch (synced) or says why it could not, and
    /// may take from the items what answers them.
    pub fn start(write: impl Fn(&mut [T]) -> Result<(), String> + Send + 'static) -> std::io::Result<Self> {
        let (jobs, batches) = mpsc::channel::<Vec<T>>();
        let (finished, done) = mpsc::channel();
        let wake = Arc::new(Notify::new());
        let thread_wake = wake.clone();
        std::thread::Builder::new().name("platform-writer".into()).spawn(move || {
            while let Ok(mut batch) = batches.recv() {
                // Whatever was handed in during the previous write goes in this one.
                while let Ok(more) = batches.try_recv() {
                    batch.extend(more);
                }
                // A write that panics fails its batch instead of ending the thread: the batch
                // comes back, so every submission in it still gets its answer.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(&mut batch)))
                    .unwrap_or_else(|_| Err("the storage write panicked".into()));
                if finished.send(Written { batch, result }).is_err() {
                    break;
                }
                thread_wake.notify_one();
            }
        })?;
        Ok(Writer { jobs, done, wake, pending: 0, refused: Vec::new() })
    }

    /// Notified after each write finishes (a permit is kept when nobody waits; several writes
    /// may finish before the loop looks, so it takes them with [`try_finish`](Self::try_finish)
    /// until there are none).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Hands `items` to the thread: written with the next write.
    pub fn push(&mut self, items: Vec<T>) {
        if items.is_empty() {
            return;
        }
        self.pending += items.len();
        if let Err(mpsc::SendError(batch)) = self.jobs.send(items) {
            self.refused.push(Written { batch, result: Err("the storage writer thread stopped".into()) });
            self.wake.notify_one();
        }
    }

    /// A batch whose write has finished, if there is one.
    pub fn try_finish(&mut self) -> Option<Written<T>> {
        let written = self.refused.pop().or_else(|| self.done.try_recv().ok())?;
        Some(self.came_back(written))
    }

    /// A batch whose write has finished, waiting for one (blocks the calling thread for at
    /// most one write); `None` once everything handed in has come back.
    pub fn finish(&mut self) -> Option<Written<T>> {
        if self.pending == 0 {
            return None;
        }
        let written = self.refused.pop().or_else(|| self.done.recv().ok());
        let Some(written) = written else {
            // The thread is gone with what it held: nothing more will come back.
            self.pending = 0;
            return None;
        };
        Some(self.came_back(written))
    }

    /// Counts `written`'s items as no longer pending.
    fn came_back(&mut self, written: Written<T>) -> Written<T> {
        self.pending = self.pending.saturating_sub(written.batch.len());
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Batches written so far, in order.
    type Log = Arc<Mutex<Vec<Vec<u32>>>>;

    /// Held by a test to keep the write function waiting.
    type Gate = Arc<Mutex<()>>;

    /// A write function that says on `entered` that it has a batch, records batches into
    /// `log` and waits at `gate`.
    fn recording(
        log: &Log,
        gate: &Gate,
        entered: std::sync::mpsc::Sender<()>,
    ) -> impl Fn(&mut [u32]) -> Result<(), String> + use<> {
        let (l, g) = (log.clone(), gate.clone());
        move |batch: &mut [u32]| {
            let _ = entered.send(());
            let _held = g.lock().expect("gate");
            if batch.contains(&13) {
                return Err("unlucky".to_string());
            }
            l.lock().expect("log").push(batch.to_vec());
            Ok(())
        }
    }

    #[tokio::test]
    async fn what_arrives_during_a_write_is_the_next_write_reported_through_the_waker() {
        let (log, gate): (Log, Gate) = Default::default();
        let (entered, writing) = std::sync::mpsc::channel();
        let mut writer = Writer::start(recording(&log, &gate, entered)).expect("thread");
        let wake = writer.waker();
        assert!(writer.try_finish().is_none(), "nothing handed in");
        assert_eq!(writer.pending, 0);

        let held = gate.lock().expect("gate");
        writer.push(vec![1, 2, 3]);
        assert_eq!(writer.pending, 3);
        // A blocking wait: the gate guard must not live across an await. The thread has taken
        // the first batch and waits at the gate with it.
        writing.recv_timeout(Duration::from_secs(5)).expect("the first write began");
        writer.push(vec![4]);
        writer.push(vec![5, 6]);
        writer.push(Vec::new());
        assert!(writer.try_finish().is_none(), "the write is held at the gate");
        drop(held);

        tokio::time::timeout(Duration::from_secs(5), wake.notified()).await.expect("woken after the write");
        let mut done = Vec::new();
        while writer.pending > 0 {
            let written = writer.finish().expect("waited for");
            done.push((written.batch, written.result));
        }
        // The two batches handed in during the first write went to disk together, next.
        assert_eq!(done, vec![(vec![1, 2, 3], Ok(())), (vec![4, 5, 6], Ok(()))]);
        assert_eq!(*log.lock().expect("log"), vec![vec![1, 2, 3], vec![4, 5, 6]]);

        writer.push(vec![13]);
        let failed = writer.finish().expect("waited for");
        assert_eq!((failed.batch, failed.result), (vec![13], Err("unlucky".to_string())));
        assert!(writer.finish().is_none(), "everything came back");
    }

    #[test]
    fn the_write_function_answers_on_the_thread_before_the_batch_comes_back() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut writer = Writer::start(move |batch: &mut [Option<u32>]| {
            for item in batch.iter_mut() {
                tx.send(item.take().expect("an item")).expect("answered");
            }
            Ok(())
        })
        .expect("thread");
        writer.push(vec![Some(7), Some(8)]);
        let written = writer.finish().expect("waited for");
        assert_eq!(written.batch, vec![None, None], "the answers were taken on the thread");
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![7, 8]);
    }

    #[test]
    fn a_write_that_panics_fails_its_batch_and_the_writer_goes_on() {
        let mut writer = Writer::start(|batch: &mut [u32]| {
            assert!(!batch.contains(&99), "disk on fire");
            Ok(())
        })
        .expect("thread");
        writer.push(vec![1, 99]);
        let failed = writer.finish().expect("waited for");
        assert_eq!((failed.batch, failed.result), (vec![1, 99], Err("the storage write panicked".to_string())));
        writer.push(vec![2]);
        let done = writer.finish().expect("waited for");
        assert_eq!((done.batch, done.result), (vec![2], Ok(())));
    }
}
