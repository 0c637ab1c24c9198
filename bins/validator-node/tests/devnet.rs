//! `validator-node devnet`, the README's first command, run as a person would run it: it sets
//! up chain, subnet, validators, challenges and miners, shows where to look, prints the weights
//! every validator set (read back from chain storage, identical), and stops cleanly on Ctrl-C.

#[path = "../../../crates/platform-node/tests/support/mod.rs"]
mod support;

use std::time::Duration;

#[test]
fn the_one_command_network_sets_identical_weights_on_chain_and_stops_on_ctrl_c_even_while_the_chain_hangs() {
    if support::chain_common::spec_path().is_none() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("devnet");
    // Until the identical weights give the invariant-agent, matmul-proof and compute-lease
    // miners their shares: the first and last score each epoch's answers together, so their
    // miners are weighted only once an epoch closed and every validator's epoch verdicts were
    // committed; matmul-proof is two-phase, so its miner is weighted once it committed to a
    // task, then revealed.
    let agent_weighted = |out: &str| {
        let Some(last) = out.rfind("identical across validators: yes") else { return false };
        let Some(line) = out[..last].lines().rev().find(|l| l.trim_start().starts_with("validator 0:")) else {
            return false;
        };
        ["invariant-agent", "matmul-proof", "compute-lease"]
            .iter()
            .all(|challenge| miner_uid(out, challenge).is_some_and(|uid| line.contains(&format!("({uid}, "))))
    };
    let bin = env!("CARGO_BIN_EXE_validator-node");
    // Ctrl-C comes while the chain hangs (its process stopped): the devnet must stop all the same,
    // not wait for a block that never comes.
    let freeze = |out: &str| support::signal_devnet_chain(out, "STOP");
    let run = support::run_devnet_command_until(bin, &dir, &[], Duration::from_secs(300), &agent_weighted, &freeze);
    let out = &run.output;
    assert!(agent_weighted(out), "the invariant-agent, matmul-proof or compute-lease miner never weighted:\n{out}");
    assert!(out.contains("miner 2: committed") && out.contains("miner 2: revealed"), "{out}");
    // Progress while starting, then where to look.
    assert!(out.contains("chain: starting the subtensor runtime"), "{out}");
    assert!(out.contains("validators: starting 4/4"), "{out}");
    assert!(out.contains("Local network running: 4 validators"), "{out}");
    for i in 0..4 {
        assert!(out.contains(&format!("validator {i}: http://127.0.0.1:")), "{out}");
        assert!(dir.join(format!("validator-{i}")).is_dir());
    }
    assert!(out.contains("validators.log"), "{out}");
    // Miners' submissions, then weights on chain, identical across the four validators.
    assert!(out.contains("miner 0: submitted"), "{out}");
    assert!(out.contains("identical across validators: yes"), "{out}");
    assert!(run.clean_exit, "Ctrl-C stops it with status 0:\n{out}");
    assert_stops_promptly(&run);
    assert!(out.contains("stopping"), "{out}");
    let log = std::fs::read_to_string(dir.join("validators.log")).expect("validators.log");
    assert!(log.contains("weights sent to the chain"), "the validators' log holds their story");
    eprintln!(
        "first weights on chain after {:.1} s (debug build); stopped {:.1} s after Ctrl-C with the chain hung",
        run.first_weights.as_secs_f64(),
        run.stopped_in.unwrap_or_default().as_secs_f64()
    );
}

/// Sixteen validators (the runtime's default registration limit once stopped the devnet at the
/// 13th) all seated, all voting, and all sixteen setting the same weights on chain.
#[test]
fn sixteen_validators_all_set_identical_weights_on_chain() {
    if support::chain_common::spec_path().is_none() {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("devnet");
    let args = ["--validators", "16", "--miners", "5"];
    let run = support::run_devnet_command(env!("CARGO_BIN_EXE_validator-node"), &dir, &args, Duration::from_secs(600));
    let out = &run.output;
    assert!(out.contains("chain: registering hotkey 21/21"), "{out}");
    assert!(out.contains("Local network running: 16 validators"), "{out}");
    // Every validator's weights are on chain (none is left at "none yet"), and all agree: the
    // table's line of each validator is its last line before the verdict (stdout's lines keep
    // their order; the progress lines on stderr may land anywhere between them).
    let last = out.rfind("identical across validators: yes").expect(out);
    let before = &out[..last];
    for i in 0..16 {
        let line = before.lines().rev().find(|l| l.trim_start().starts_with(&format!("validator {i}:"))).expect(out);
        assert!(line.contains("(uid, weight of 65535)"), "validator {i} set no weights: {line}\n{out}");
    }
    assert!(run.clean_exit, "Ctrl-C stops it with status 0:\n{out}");
    assert_stops_promptly(&run);
    eprintln!("16 validators: first weights on chain after {:.1} s (debug build)", run.first_weights.as_secs_f64());
}

/// The uid of the devnet's miner submitting to `challenge`, from the list it prints.
fn miner_uid(out: &str, challenge: &str) -> Option<u16> {
    let line = out.lines().find(|l| l.contains(&format!("(submits to {challenge})")))?;
    line.split("  uid ").nth(1)?.split_whitespace().next()?.parse().ok()
}

/// Ctrl-C is answered within seconds, whatever the devnet was waiting for: it once waited for
/// the chain's answer first (with sixteen validators, for every block of an epoch's weights,
/// one per validator: 20 s and more; with a chain that hangs, for ever). A validator's
/// shutdown gives its tasks 10 s before aborting them.
fn assert_stops_promptly(run: &support::DevnetRun) {
    let limit = Duration::from_secs(25);
    assert!(
        run.stopped_in.is_some_and(|t| t <= limit),
        "Ctrl-C answered in {:?}, not within {limit:?}:\n{}",
        run.stopped_in,
        run.output
    );
}
