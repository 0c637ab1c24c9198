//! The wall-clock safety net: one thread per runtime that interrupts stores past their deadline.
//!
//! Fuel bounds what a module can do; the deadline catches what fuel does not price well (bulk
//! memory operations, a compile of a large nested module). Arming costs a mutex and a condvar
//! notification, not a thread, so it stays off the instantiate+call fast path.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use wasmer::Interrupter;

/// How often an interrupt is repeated until the guest has actually stopped (wasmer documents that
/// a signal can be missed just before the guest enters WASM code).
const RETRY: Duration = Duration::from_millis(5);

#[derive(Default)]
struct State {
    /// When the thread will next look at the deadlines (`None`: it waits for a notification).
    next_wake: Option<Instant>,
    next_id: u64,
    armed: BTreeMap<u64, (Instant, Interrupter)>,
    fired: Vec<u64>,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Owns the watchdog thread; dropping it stops the thread.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

/// Disarms its deadline when dropped; tells whether the deadline fired.
pub(crate) struct Armed<'a> {
    watchdog: &'a Watchdog,
    id: u64,
}

impl Watchdog {
    pub(crate) fn start() -> Watchdog {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new() });
        let worker = Arc::clone(&shared);
        thread::Builder::new()
            .name("wasm-watchdog".into())
            .spawn(move || run(&worker))
            .unwrap_or_else(|e| panic!("cannot start the runtime watchdog thread: {e}"));
        Watchdog { shared }
    }

    /// Interrupts the store behind `interrupter` at `deadline` unless the guard is dropped first.
    pub(crate) fn arm(&self, interrupter: Interrupter, deadline: Instant) -> Armed<'_> {
        let mut state = self.shared.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.armed.insert(id, (deadline, interrupter));
        // Wake the thread only if it would otherwise sleep past this deadline: evaluations arm
        // deadlines in roughly increasing order, so this is rare and arming stays cheap.
        let wake = state.next_wake.is_none_or(|at| deadline < at);
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
        Armed { watchdog: self, id }
    }
}

impl Armed<'_> {
    /// Whether the deadline passed and the store was interrupted.
    pub(crate) fn fired(&self) -> bool {
        self.watchdog.shared.lock().fired.contains(&self.id)
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        let mut state = self.watchdog.shared.lock();
        state.armed.remove(&self.id);
        state.fired.retain(|id| *id != self.id);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.shutdown {
            return;
        }
        let now = Instant::now();
        let mut next_wake: Option<Instant> = None;
        let mut due = Vec::new();
        for (id, (deadline, interrupter)) in &state.armed {
            if *deadline <= now {
                due.push((*id, interrupter.clone()));
                next_wake = Some(now + RETRY);
            } else {
                next_wake = Some(next_wake.map_or(*deadline, |w| w.min(*deadline)));
            }
        }
        for (id, interrupter) in due {
            interrupter.interrupt();
            if !state.fired.contains(&id) {
                state.fired.push(id);
            }
        }
        state.next_wake = next_wake;
        state = match next_wake {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                shared.wake.wait_timeout(state, wait).unwrap_or_else(PoisonError::into_inner).0
            }
            None => shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner),
        };
    }
}
