//! The core on its own: no tokio runtime, no network, no chain client, no actor. What it wants
//! done outside itself comes out as data.

use std::time::{Duration, Instant};

use platform_consensus::Input as CInput;
use platform_p2p::Topic;
use platform_types::Action;

use super::*;
use crate::effects::Effect;
use crate::evaluations::Request as Evaluate;
use crate::sim::setup::{Timing, metagraph, validator};

/// A core of a lone validator (all the stake).
fn lone_validator() -> Core {
    validator("Alice", metagraph(&["Alice"]), Clock { now: Instant::now(), wall_ms: 1_764_000_000_000 }, Timing::SIM)
}

/// Runs without a tokio runtime and without a clock: a core that spawned a task or called the
/// network (as the event loop did before effects became data) panics here, and one that read
/// the system's clock would not commit, since the test's time only moves when it says so.
#[test]
fn the_core_commits_blocks_and_hands_out_its_effects_as_data() {
    let mut core = lone_validator();
    let start = core.clock;
    core.start();
    let started = core.take_effects();
    assert!(
        started.iter().any(|e| matches!(e, Effect::Evaluate(Evaluate::Challenges(c)) if c.is_empty())),
        "the evaluation actor is told the active challenges: {started:?}"
    );
    assert!(started.iter().any(|e| matches!(e, Effect::Timer { .. })), "the view timer is asked for: {started:?}");
    assert!(core.take_effects().is_empty(), "taken effects are gone");

    let mut effects = Vec::new();
    let mut elapsed = Duration::ZERO;
    while core.state.tip.height.get() < 3 {
        assert!(elapsed < Duration::from_secs(10), "no blocks committed; effects so far: {effects:?}");
        // Virtual time: 20 ms per tick, as the event loop's ticks.
        elapsed += Duration::from_millis(20);
        core.set_time(Clock { now: start.now + elapsed, wall_ms: start.wall_ms + elapsed.as_millis() as u64 });
        core.tick();
        core.end_turn();
        effects.extend(core.take_effects());
    }
    let published = effects.iter().filter(|e| matches!(e, Effect::Publish { topic: Topic::Consensus, .. })).count();
    assert!(published >= 3, "each block's proposal and votes go out as effects: {effects:?}");
    assert!(core.records.blocks_from(1, 8).expect("read").len() >= 3, "committed blocks are stored");
}

/// A leader checks its own fresh proposal by its header only when the block's actions are the
/// ones it built at that height and view; its own block with other actions (one it signed
/// before a restart, replayed by a peer) is checked action by action.
#[test]
fn a_leaders_own_proposal_skips_only_the_actions_it_built() {
    let mut core = lone_validator();
    core.start();
    let (chain, epoch) = core.current_link().expect("the start-up metagraph's block is seen");
    let machine = core.machine.as_ref().expect("voting");
    let (height, view) = (machine.height(), machine.view());
    let fields = platform_types::BlockHeaderFields {
        height,
        epoch,
        chain,
        parent_hash: core.state.tip.hash,
        parent_state_root: core.state.tip.state_root,
        proposer: core.keypair.public(),
        validators_hash: machine.committee().hash(),
    };
    let unknown = Action::Submission(SubmissionId(platform_types::blake2b_256(b"never submitted")));
    let verdict = |core: &mut Core, built: Vec<Action>, actions: Vec<Action>| {
        core.built = Some(crate::proposals::Built { height, view, epoch, actions: built });
        let block = Block::new(fields, actions);
        match core.verify(view, block, false, core.clock.now) {
            Some(CInput::ProposalVerified { valid, .. }) => valid,
            other => panic!("no verdict: {other:?}"),
        }
    };
    assert!(verdict(&mut core, vec![], vec![]), "the empty block it built is valid");
    assert!(
        !verdict(&mut core, vec![], vec![unknown]),
        "its own block ordering a submission nobody holds, not the one it built, is refused"
    );
    assert!(core.built.is_none(), "the built actions are compared once");
}
