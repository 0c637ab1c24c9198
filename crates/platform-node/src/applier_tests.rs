//! A committed block applied off the loop, seen from the core in the window before the loop
//! takes it back.

use std::time::Duration;

use platform_consensus::Input as CInput;

use crate::core::Clock;
use crate::sim::net::{MINER, Net, add_challenge, key, submission_input};

/// Until the loop takes an applied block back, the state is the one before it, admission goes
/// on against that state (the block's submission, still in the mempool, is refused as a
/// duplicate; a new one is admitted and written), and the consensus machine waits at the
/// block's height; taken back, the state and the machine move past the block, and the
/// submission it ordered leaves the mempool while the new one stays.
#[test]
fn a_committed_block_is_applied_off_the_loop_while_admission_goes_on() {
    let mut net = Net::new(4, 11);
    add_challenge(&mut net, 0, "sim", crate::sim::sandbox::module()).expect("added");
    // Validator 3 stops taking part; it holds the submission the others order meanwhile.
    net.down[3] = true;
    let now = |net: &Net| Clock {
        now: net.start.now + net.elapsed,
        wall_ms: net.start.wall_ms + net.elapsed.as_millis() as u64,
    };
    let miner = key(MINER);
    let (id, to_node_0) = submission_input(&net, &miner, "sim", 1, b"ordered".to_vec(), None);
    let (_, to_node_3) = submission_input(&net, &miner, "sim", 1, b"ordered".to_vec(), None);
    // The same submission again (the same signed time), for validator 3 during the window.
    let (reply, mut duplicate) = tokio::sync::oneshot::channel();
    let (again, duplicate_input) = submission_input(&net, &miner, "sim", 1, b"ordered".to_vec(), Some(reply));
    assert_eq!(again, id);
    let clock = now(&net);
    let lagging = &mut net.nodes[3];
    lagging.set_time(clock);
    lagging.handle(to_node_3);
    lagging.settle_writes();
    assert!(lagging.mempool.get(&id).is_some(), "admitted by validator 3");
    net.deliver(0, to_node_0);
    net.run_until(Duration::from_secs(30), |net| net.nodes[0].state.submissions.contains_key(&id)).expect("ordered");

    // Validator 3 catches up through sync up to the block before the one ordering it.
    let from = net.nodes[3].state.tip.height.get() + 1;
    let blocks = net.nodes[0].records.blocks_from(from, 64).expect("stored");
    let at = blocks
        .iter()
        .position(|(block, _)| block.actions.contains(&platform_types::Action::Submission(id)))
        .expect("a block orders it");
    let height = blocks[at].0.header.height;
    // The state root after the block, as the next block names it.
    net.run_until(Duration::from_secs(30), |net| net.nodes[0].state.tip.height > height).expect("next block");
    let next = net.nodes[0].records.blocks_from(height.get() + 1, 1).expect("stored");
    let root_after = next[0].0.header.parent_state_root;
    let mut blocks = blocks.into_iter().take(at + 1);
    let clock = now(&net);
    let lagging = &mut net.nodes[3];
    lagging.set_time(clock);
    for (block, certificate) in blocks.by_ref().take(at) {
        lagging.feed(CInput::Synced { block, certificate });
        lagging.settle_applies();
    }
    let (block, certificate) = blocks.next().expect("the block ordering it");
    lagging.feed(CInput::Synced { block, certificate });

    // The window: committed, being applied.
    assert!(lagging.applying(), "the block went to the apply thread");
    assert_eq!(lagging.state.tip.height.next(), height, "the state is still the one before the block");
    assert!(!lagging.state.submissions.contains_key(&id));
    assert_eq!(lagging.machine.as_ref().expect("voting").height(), height, "the machine waits for the apply");
    lagging.handle(duplicate_input);
    let refused = duplicate.try_recv().expect("answered at once").expect_err("a duplicate");
    assert_eq!(refused.status, 409, "{}", refused.reason);
    let (reply, mut fresh) = tokio::sync::oneshot::channel();
    let (new, input) = submission_input(&net, &miner, "sim", 2, b"admitted meanwhile".to_vec(), Some(reply));
    let lagging = &mut net.nodes[3];
    lagging.handle(input);
    lagging.settle_writes();
    assert_eq!(fresh.try_recv().expect("answered once written").expect("admitted"), new);

    // Taken back.
    lagging.settle_applies();
    assert!(!lagging.applying());
    assert_eq!(lagging.state.tip.height, height);
    assert!(lagging.state.submissions.contains_key(&id), "applied");
    assert_eq!(lagging.state.tip.state_root, root_after, "the same state as the others'");
    let lagging = &net.nodes[3];
    assert!(lagging.mempool.get(&id).is_none(), "the ordered submission left the mempool");
    assert!(lagging.mempool.get(&new).is_some(), "the one admitted meanwhile stays");
    assert_eq!(lagging.machine.as_ref().expect("voting").height(), height.next(), "the machine moved on");
}
