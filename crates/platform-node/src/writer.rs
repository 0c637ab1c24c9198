//! Group commit on a thread of its own. The event loop hands admitted submissions to the
//! [`Writer`] in batches; one synced write is in flight at a time, and whatever the loop admits
//! meanwhile becomes the next batch. The loop keeps verifying and admitting during the write
//! instead of waiting for the disk, so each fsync serves every submission that arrived during
//! the previous one.
//!
//! The loop learns that a write finished through [`Writer::waker`], and only then acknowledges
//! the batch: nothing is acknowledged before it is on disk.

use std::sync::{Arc, mpsc};

use tokio::sync::Notify;

type WriteFn<T> = Arc<dyn Fn(&[T]) -> Result<(), String> + Send + Sync>;

/// A batch back from the writer with the result of its write.
pub(crate) struct Written<T> {
    pub batch: Vec<T>,
    pub result: Result<(), String>,
}

/// The writer thread's handle, owned by the event loop. The thread ends with it.
pub(crate) struct Writer<T> {
    write: WriteFn<T>,
    jobs: mpsc::Sender<Vec<T>>,
    done: mpsc::Receiver<Written<T>>,
    wake: Arc<Notify>,
    in_flight: bool,
    /// A batch the thread could not take (it stopped): returned as failed.
    refused: Option<Written<T>>,
}

impl<T: Send + 'static> Writer<T> {
    /// Starts the thread; `write` persists one batch (synced) or says why it could not.
    pub fn start(write: impl Fn(&[T]) -> Result<(), String> + Send + Sync + 'static) -> std::io::Result<Self> {
        let write: WriteFn<T> = Arc::new(write);
        let (jobs, batches) = mpsc::channel::<Vec<T>>();
        let (finished, done) = mpsc::channel();
        let wake = Arc::new(Notify::new());
        let (thread_write, thread_wake) = (write.clone(), wake.clone());
        std::thread::Builder::new().name("platform-writer".into()).spawn(move || {
            while let Ok(batch) = batches.recv() {
                // A write that panics fails its batch instead of ending the thread: the batch
                // comes back, so every submission in it still gets its answer.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread_write(&batch)))
                    .unwrap_or_else(|_| Err("the storage write panicked".into()));
                if finished.send(Written { batch, result }).is_err() {
                    break;
                }
                thread_wake.notify_one();
            }
        })?;
        Ok(Writer { write, jobs, done, wake, in_flight: false, refused: None })
    }

    /// Notified after each write finishes (a permit is kept when nobody waits).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Whether a batch is being written.
    pub fn busy(&self) -> bool {
        self.in_flight
    }

    /// Hands `batch` to the thread. Call only when not [`busy`](Self::busy).
    pub fn begin(&mut self, batch: Vec<T>) {
        debug_assert!(!self.in_flight, "one write in flight at a time");
        if batch.is_empty() {
            return;
        }
        self.in_flight = true;
        if let Err(mpsc::SendError(batch)) = self.jobs.send(batch) {
            self.refused = Some(Written { batch, result: Err("the storage writer thread stopped".into()) });
            self.wake.notify_one();
        }
    }

    /// The batch in flight, if its write has finished.
    pub fn try_finish(&mut self) -> Option<Written<T>> {
        if !self.in_flight {
            return None;
        }
        let written = self.refused.take().or_else(|| self.done.try_recv().ok())?;
        self.in_flight = false;
        Some(written)
    }

    /// The batch in flight, waiting for its write (blocks the calling thread for at most one
    /// write); `None` when nothing is in flight.
    pub fn finish(&mut self) -> Option<Written<T>> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        Some(self.refused.take().unwrap_or_else(|| {
            self.done.recv().unwrap_or_else(|_| Written {
                batch: Vec::new(),
                result: Err("the storage writer thread stopped".into()),
            })
        }))
    }

    /// Writes `batch` on the calling thread, after the write in flight (which the caller must
    /// have finished).
    pub fn write_now(&self, batch: Vec<T>) -> Written<T> {
        debug_assert!(!self.in_flight, "finish the write in flight first");
        let result = if batch.is_empty() { Ok(()) } else { (self.write)(&batch) };
        Written { batch, result }
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

    /// A write function that records batches into `log` and waits at `gate`.
    fn recording(log: &Log, gate: &Gate) -> impl Fn(&[u32]) -> Result<(), String> + use<> {
        let (l, g) = (log.clone(), gate.clone());
        move |batch: &[u32]| {
            let _held = g.lock().expect("gate");
            if batch.contains(&13) {
                return Err("unlucky".to_string());
            }
            l.lock().expect("log").push(batch.to_vec());
            Ok(())
        }
    }

    #[tokio::test]
    async fn one_write_in_flight_reported_through_the_waker() {
        let (log, gate): (Log, Gate) = Default::default();
        let write = recording(&log, &gate);
        let mut writer = Writer::start(write).expect("thread");
        let wake = writer.waker();
        assert!(writer.try_finish().is_none(), "nothing in flight");

        let held = gate.lock().expect("gate");
        writer.begin(vec![1, 2, 3]);
        assert!(writer.busy());
        // A blocking sleep: the gate guard must not live across an await.
        std::thread::sleep(Duration::from_millis(20));
        assert!(writer.try_finish().is_none(), "the write is held at the gate");
        drop(held);

        tokio::time::timeout(Duration::from_secs(5), wake.notified()).await.expect("woken after the write");
        let done = writer.try_finish().expect("finished");
        assert_eq!((done.batch, done.result), (vec![1, 2, 3], Ok(())));
        assert!(!writer.busy());

        writer.begin(vec![13]);
        let failed = writer.finish().expect("waited for");
        assert_eq!((failed.batch, failed.result), (vec![13], Err("unlucky".to_string())));

        let now = writer.write_now(vec![4]);
        assert_eq!(now.result, Ok(()));
        assert_eq!(*log.lock().expect("log"), vec![vec![1, 2, 3], vec![4]]);
        assert!(writer.finish().is_none(), "nothing in flight");
    }

    #[test]
    fn a_write_that_panics_fails_its_batch_and_the_writer_goes_on() {
        let mut writer = Writer::start(|batch: &[u32]| {
            assert!(!batch.contains(&99), "disk on fire");
            Ok(())
        })
        .expect("thread");
        writer.begin(vec![1, 99]);
        let failed = writer.finish().expect("waited for");
        assert_eq!((failed.batch, failed.result), (vec![1, 99], Err("the storage write panicked".to_string())));
        writer.begin(vec![2]);
        let done = writer.finish().expect("waited for");
        assert_eq!((done.batch, done.result), (vec![2], Ok(())));
    }
}
