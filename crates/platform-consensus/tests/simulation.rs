//! Whole-network properties under the deterministic simulator.

use platform_consensus::simulation::{Behaviour, LinkConfig, Scenario, run};

fn assert_clean(scenario: &Scenario) -> platform_consensus::simulation::Report {
    let report = run(scenario);
    assert!(report.violations.is_empty(), "seed {}: {:?}", scenario.seed, report.violations);
    assert!(report.min_honest_height >= scenario.target_height);
    report
}

#[test]
fn the_happy_path_commits_in_three_network_delays() {
    let mut scenario = Scenario::new(4, 1);
    scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 0, loss_ppm: 0 };
    let report = assert_clean(&scenario);
    // Proposal, prepare, commit: three one-way delays of 10 ms from proposal to commit.
    assert!(report.commit_latency_ms.iter().all(|l| *l == 30), "{:?}", report.commit_latency_ms);
    assert_eq!(report.misbehaviour_reports, 0);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let mut scenario = Scenario::new(4, 7);
    scenario.behaviours = vec![Behaviour::Conflicter];
    scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 10, loss_ppm: 20_000 };
    let (a, b) = (run(&scenario), run(&scenario));
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.heights, b.heights);
    scenario.seed = 8;
    assert_ne!(run(&scenario).digest, a.digest);
}

#[test]
fn every_byzantine_behaviour_is_tolerated() {
    for behaviour in Behaviour::FAULTY {
        for seed in 0..4 {
            let mut scenario = Scenario::new(4, seed);
            scenario.behaviours = vec![behaviour];
            scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 10, loss_ppm: 10_000 };
            let report = assert_clean(&scenario);
            // Forged signatures are caught when they would matter. (A conflicter's second vote goes
            // to the other half of the network, where it never nears a quorum and is never even
            // verified, so it needs no report.)
            if behaviour == Behaviour::Impersonator {
                assert!(report.misbehaviour_reports > 0, "{behaviour:?} went unnoticed");
            }
        }
    }
}

#[test]
fn two_faulty_of_seven_with_partition_crash_and_loss() {
    for seed in 0..6 {
        let mut scenario = Scenario::new(7, seed);
        scenario.behaviours = vec![Behaviour::FAULTY[seed as usize % 6], Behaviour::FAULTY[(seed as usize + 1) % 6]];
        scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 20, loss_ppm: 30_000 };
        let mut groups = vec![0u8; scenario.processes()];
        groups[3] = 1;
        groups[4] = 1;
        scenario.partitions = vec![(200, 3_000, groups)];
        scenario.crashes = vec![(5, 500, 2_500)];
        assert_clean(&scenario);
    }
}

#[test]
fn unequal_stakes_commit_with_a_stake_quorum_not_a_count_quorum() {
    // Two whales hold > 2/3 of the stake: with both small validators silent, the whales alone
    // still commit, although 2 of 4 is not 2f+1 by count.
    let mut scenario = Scenario::new(4, 3);
    scenario.stakes = Some(vec![1, 1, 100, 100]);
    scenario.behaviours = vec![Behaviour::Silent, Behaviour::Silent];
    assert_clean(&scenario);
}

#[test]
fn a_crashed_validator_restarts_from_its_store_and_catches_up() {
    let mut scenario = Scenario::new(4, 11);
    scenario.target_height = 20;
    scenario.crashes = vec![(2, 100, 3_000)];
    let report = assert_clean(&scenario);
    assert!(report.heights[2] >= 20);
}

#[test]
fn the_checker_catches_a_fork_when_the_fault_bound_is_exceeded() {
    // Two twins out of four validators is half the stake, beyond the 1/3 the protocol tolerates.
    // Partitioned {0,1,2} | {0',1',3}, each side holds three of four keys — a quorum — and both
    // sides commit different blocks. The simulator must report it.
    let mut scenario = Scenario::new(4, 5);
    scenario.behaviours = vec![Behaviour::Twin, Behaviour::Twin];
    scenario.target_height = 3;
    scenario.max_time_ms = 20_000;
    scenario.partitions = vec![(0, 20_000, vec![0, 0, 0, 1, 1, 1])];
    let report = run(&scenario);
    assert!(report.violations.iter().any(|v| v.starts_with("agreement")), "{:?}", report.violations);
}

#[test]
fn hundreds_of_seeds_with_random_faults() {
    for seed in 0..150 {
        let scenario = Scenario::random(4, 1, seed, &Behaviour::FAULTY, 6, 10_000);
        assert_clean(&scenario);
    }
    for seed in 0..30 {
        let scenario = Scenario::random(7, 2, seed, &Behaviour::FAULTY, 5, 10_000);
        assert_clean(&scenario);
    }
}

#[test]
fn checkpoints_verify_on_their_own_and_tampering_is_caught() {
    let mut scenario = Scenario::new(4, 2);
    scenario.target_height = 11; // checkpoints follow every 5th height: 6 and 11
    let report = assert_clean(&scenario);
    assert!(report.checkpoints.len() >= 2 * 4, "{} checkpoints", report.checkpoints.len());
    let netuid = platform_types::NetUid::new(1);
    let good = report.checkpoints[0].clone();
    assert!(platform_consensus::verify_checkpoint(&good, netuid).is_ok());

    let mut fewer_votes = good.clone();
    fewer_votes.commit.votes.truncate(2);
    assert!(platform_consensus::verify_checkpoint(&fewer_votes, netuid).is_err(), "2 of 4 votes is no quorum");

    let mut other_set = good.clone();
    other_set.validators.validators.pop();
    assert!(platform_consensus::verify_checkpoint(&other_set, netuid).is_err(), "set must match the header");

    let mut other_root = good.clone();
    other_root.header.parent_state_root = platform_types::Hash::from_bytes([1; 32]);
    assert!(platform_consensus::verify_checkpoint(&other_root, netuid).is_err(), "the certificate covers the root");

    assert!(platform_consensus::verify_checkpoint(&good, platform_types::NetUid::new(2)).is_err(), "other subnet");
}

/// With exactly a quorum online (16 validators, 5 silent), every honest message is needed: a
/// lost vote or view change used to cost a whole view, and each view waits twice as long as the
/// last, so 1 % loss stalled the network for minutes. Each validator now sends its messages of
/// the round again at every base timeout while the view lasts.
#[test]
fn with_exactly_a_quorum_online_lost_messages_are_sent_again_within_the_view() {
    for seed in 0..4 {
        let mut scenario = Scenario::new(16, seed);
        scenario.behaviours = vec![Behaviour::Silent; 5];
        scenario.link = LinkConfig { latency_ms: 10, jitter_ms: 10, loss_ppm: 10_000 };
        scenario.target_height = 20;
        scenario.max_time_ms = 60_000;
        assert_clean(&scenario);
    }
}
