//! The event loop: one task that owns the [`Core`] and the [`Dispatcher`]. It takes inputs in
//! turns (up to [`MAX_TURN`] at once and for at most [`TURN_BUDGET`], then it lets the other
//! tasks of the runtime run; admitted submissions wait for the writer across turns, so a burst
//! still forms one group write), wakes
//! the core when admission's writer finishes and every 20 ms, and after each turn hands the
//! core's effects to the dispatcher. It is the only place where the two meet.
//!
//! Inputs arrive in two lanes: consensus messages from gossip, and everything else. The
//! consensus lane is taken first, and drained again before each input of a turn, so that a
//! vote never waits behind thousands of submissions: under full admission load a turn of
//! ordinary inputs takes tens of milliseconds, and consensus must not stall with it.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::info;

use crate::core::{Clock, Core, Input, MAX_TURN};
use crate::effects::Dispatcher;
use crate::rejoin::Rejoiner;

/// The longest a turn of inputs runs before the loop yields to the runtime's other tasks (the
/// network among them: a vote waiting to be received must not wait for a whole turn).
pub(crate) const TURN_BUDGET: Duration = Duration::from_millis(5);

/// Runs `core` on the inputs of `rx` until shutdown or until every sender is gone; when the core
/// finds itself behind what its peers keep, `rejoiner` fetches their snapshot meanwhile and the
/// core is rebuilt on it.
pub(crate) async fn run(
    mut core: Core,
    mut dispatcher: Dispatcher,
    mut rejoiner: Rejoiner,
    mut consensus: mpsc::Receiver<Input>,
    mut rx: mpsc::Receiver<Input>,
    mut shutdown: watch::Receiver<bool>,
) {
    core.set_time(Clock::system());
    core.start();
    dispatcher.dispatch(core.take_effects());
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut written = core.writer.waker();
    loop {
        tokio::select! {
            biased;
            Some(input) = consensus.recv() => {
                core.set_time(Clock::system());
                core.handle(input);
                while let Ok(input) = consensus.try_recv() {
                    core.handle(input);
                }
                core.end_turn();
            }
            input = rx.recv() => match input {
                Some(input) => {
                    let clock = Clock::system();
                    core.set_time(clock);
                    core.handle(input);
                    for _ in 0..MAX_TURN {
                        if clock.now.elapsed() >= TURN_BUDGET {
                            break;
                        }
                        while let Ok(input) = consensus.try_recv() {
                            core.handle(input);
                        }
                        match rx.try_recv() {
                            Ok(input) => core.handle(input),
                            Err(_) => break,
                        }
                    }
                    core.end_turn();
                    dispatcher.dispatch(core.take_effects());
                    tokio::task::yield_now().await;
                    continue;
                }
                None => break,
            },
            _ = written.notified() => {
                core.set_time(Clock::system());
                core.on_write_done();
            }
            _ = tick.tick() => {
                let clock = Clock::system();
                core.set_time(clock);
                for timer in dispatcher.tick(clock.now) {
                    core.handle(timer);
                }
                core.tick();
            }
            fetched = rejoiner.fetched() => if fetched.is_some() {
                // What was admitted is written before the core that acknowledged it goes.
                core.settle_writes();
                dispatcher.dispatch(core.take_effects());
                if rejoiner.restart(&mut core) {
                    written = core.writer.waker();
                    core.set_time(Clock::system());
                    core.start();
                    core.publish_view();
                }
            },
            _ = shutdown.changed() => break,
        }
        rejoiner.start_if_asked(&mut core);
        dispatcher.dispatch(core.take_effects());
    }
    // What was admitted is written and acknowledged before the loop ends.
    core.settle_writes();
    dispatcher.dispatch(core.take_effects());
    info!("event loop stopped");
}
