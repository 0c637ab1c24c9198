//! A deterministic simulation of validators: their real cores (the same code `validator-node`
//! runs, not a model of it), linked only by the simulator, in virtual time, with seeded
//! message delays, a chain whose head moves and whose metagraph changes, and validators that
//! misbehave. Same scenario and seed, same run: the same blocks, the same weights, the same
//! digest.
//!
//! [`run`] plays a [`Scenario`]: the subnet owner adds a challenge (a real WASM module, which
//! the others fetch by the hash the owner signed and run in the real sandbox: `sandbox.rs`), a
//! miner submits to an honest validator and hostile clients send what must be refused
//! (`clients.rs`), the chain's validator set changes (a permit lost, a stake tripled), the chain
//! may keep the epochs itself and shorten the tempo mid-run ([`Scenario::tempo_change`]), an
//! honest validator acknowledges a submission nobody else has and crashes at once, starting
//! again from its store, or loses its disk and joins again from nothing (catching up through
//! the others' sync servers), the network is cut twice, the cut moving, links lose messages
//! ([`Scenario::loss_permille`]), and the validators run until the honest ones have asked the
//! chain to set weights for the epochs asked. It then checks what must hold with more than two
//! thirds of the stake honest — agreement (the same block at every height), validity (every
//! committed block passes the public audit: certificates, rules, weights recomputed, and every
//! evaluation run again, which must name no honest validator; no submission committed twice;
//! nothing a hostile client sent), liveness (weights every epoch; the validator that left the
//! set still follows), durability (the submission acknowledged before the crash is ordered by
//! every honest validator), identical weights, bounded queues, the genesis every honest
//! validator holds, and that a restart from the stored snapshots gives the state held — and
//! returns the first [`Violation`]. `examples/simulate_node.rs` sweeps seeds and prints the command that replays a
//! failing one.
//!
//! Byzantine behaviours, one file each: silent (crashed), `epoch_jump.rs` (a leader's blocks
//! claim an epoch far ahead), `wrong_weights.rs` (a leader's blocks carry other weights),
//! `equivocation.rs` (two different signed results per evaluation, each to half the peers),
//! `withheld.rs` (evaluations never published), `unpublished.rs` (a leader's blocks order a
//! body nobody has), `forged_sudo.rs` (a leader's blocks carry sudo actions the owner did not
//! sign, or replay the owner's), `lying_sync.rs` (sync answers with a rewritten history, given
//! first to a validator catching up), `replayed_submissions.rs` (a leader's blocks order again a
//! submission already committed, retired from the state or not), `gossip_flood.rs` (validly
//! signed junk with its messages: evaluations of made-up submissions, votes far ahead),
//! `forged_genesis.rs` (a genesis set of its own served to a joiner), `wrong_scores.rs` (every
//! evaluation signed with a wrong score).
//!
//! The harness: `scenario.rs` (what a run plays and what it returns), `net.rs` (the network of
//! cores and its run loop in virtual time), `setup.rs` (the participants' keys, the metagraph,
//! a validator's core over a memory store), `chain.rs` (the simulated chain), `actions.rs` (the
//! owner's and the miner's actions), `services.rs` (the evaluation actor and the sync servers
//! the harness stands in for), `restart.rs` (crashes, restarts and rejoins), `inspect.rs` (what
//! a run checks of a validator's blocks and state) and `behaviour.rs` (what each Byzantine
//! behaviour changes in what its core publishes).
//!
//! `scale.rs` measures the network at size (commit latency, bytes and CPU per validator per
//! block) for `benches/benches/scale.rs`.

pub(crate) mod actions;
mod behaviour;
mod chain;
mod clients;
mod epoch_jump;
mod equivocation;
mod forged_genesis;
mod forged_sudo;
mod gossip_flood;
mod inspect;
mod lying_sync;
pub(crate) mod net;
mod replayed_submissions;
mod restart;
pub(crate) mod sandbox;
pub mod scale;
mod scenario;
mod services;
pub(crate) mod setup;
mod unpublished;
mod withheld;
mod wrong_scores;
mod wrong_weights;

use std::time::Duration;

use parity_scale_codec::Encode;
use platform_types::{Action, Codec, WeightsProposal, blake2b_256};

pub use behaviour::Behaviour;
use net::Net;
use scenario::set_changed;
pub use scenario::{Outcome, SET_CHANGE_BLOCK, Scenario, Stuck, TEMPO_AFTER, TEMPO_CHANGE_BLOCK, Violation};

/// Virtual time a run may take.
const LIMIT: Duration = Duration::from_secs(240);

/// The longest the restarting validator stays down.
const DOWN_AT_MOST: Duration = Duration::from_secs(2);

/// Plays `scenario` and checks it; see the module documentation.
pub fn run(scenario: &Scenario) -> Result<Outcome, Violation> {
    let mut net = Net::new(scenario.validators, scenario.seed);
    net.chain_every = Some(Duration::from_millis(100));
    net.loss_permille = scenario.loss_permille;
    let n = scenario.validators;
    let byzantine: Vec<usize> = (0..scenario.byzantine.min(n)).map(|k| (scenario.seed as usize + k) % n).collect();
    let honest: Vec<usize> = (0..n).filter(|i| !byzantine.contains(i)).collect();
    for &i in &byzantine {
        match scenario.behaviour {
            Behaviour::Silent => net.down[i] = true,
            behaviour => net.behaviour[i] = Some(behaviour),
        }
    }
    let Some(&via) = honest.first() else {
        return Err(Violation::Liveness(Stuck { heights: Vec::new(), elapsed: Duration::ZERO, inputs: 0 }));
    };
    // The validator set changes (see `Scenario::set_change`): not the validator the miner uses,
    // nor the one that restarts.
    let leaver = (scenario.set_change && honest.len() >= 3).then(|| honest[1]);
    let newcomer = scenario.set_change.then(|| net.add_newcomer("Newcomer"));
    if scenario.set_change {
        let key = newcomer.map(|i| net.nodes[i].keypair.public());
        net.changes.push((SET_CHANGE_BLOCK, set_changed(&net.metagraph, leaver, via, key)));
    }
    if scenario.tempo_change {
        net.change_tempo(TEMPO_CHANGE_BLOCK, TEMPO_AFTER);
    }
    // Those who set weights: the honest validators but one that left the set (the newcomer's are
    // checked from the epoch it joined).
    let voters: Vec<usize> = honest.iter().copied().filter(|&i| Some(i) != leaver).collect();
    // Every honest validator, the newcomer too.
    let everyone: Vec<usize> = honest.iter().copied().chain(newcomer).collect();
    let miner = actions::challenge_and_submissions(&mut net, via).map_err(Violation::Liveness)?;
    // A submission the crashing validator acknowledged: (validator, (id, signed timestamp)).
    let mut late = None;
    if scenario.restart
        && let Some(&crashed) = honest.last()
    {
        // Down for a few blocks, so that it has to catch up by sync when it starts again — unless
        // the Byzantine validators are silent: down beside them it would take the faults past
        // the bound, so it starts again at once.
        net.run_to(3, LIMIT).map_err(Violation::Liveness)?;
        // It acknowledges a submission just before it crashes (unless it loses its disk).
        if scenario.behaviour != Behaviour::ForgedGenesis {
            let acknowledged = clients::acknowledge_then_crash(&mut net, crashed, &miner)
                .map_err(|why| Violation::Lost(String::new(), crashed, why))?;
            late = Some((crashed, acknowledged));
        }
        if scenario.behaviour != Behaviour::Silent {
            // Down until the others pass height 6, or for two seconds at most: beside a
            // Byzantine validator it takes the faults to the bound, and when lost messages leave
            // the only copy of a commit with a liar, nothing need progress until it is back.
            net.down[crashed] = true;
            let back = net.elapsed + DOWN_AT_MOST;
            net.run_until(LIMIT, |net| {
                net.elapsed >= back
                    || net.nodes.iter().zip(&net.down).all(|(n, down)| *down || n.state.tip.height.get() >= 6)
            })
            .map_err(Violation::Liveness)?;
            net.down[crashed] = false;
        }
        if scenario.behaviour == Behaviour::ForgedGenesis {
            net.rejoin(crashed).map_err(|why| Violation::Genesis(crashed, why))?;
        } else {
            net.restart(crashed);
        }
    }
    // The hostile clients after the restart: the one that crashes acknowledges a submission of
    // the miner first, which the flood (relayed to it) would otherwise find over its rate.
    let (forbidden, malformed) = clients::send(&mut net, via, &miner);
    // After the restart: a validator down beside a cut would take the faults past the bound.
    if scenario.partitions {
        let first = (scenario.seed as usize / n + 1) % n;
        let start = net.elapsed + Duration::from_millis(200);
        let second: Vec<usize> = (1..=2).map(|k| (first + k) % n).collect();
        net.cuts.push(net::Cut { side: vec![first], from: start, until: start + Duration::from_millis(800) });
        let (from, until) = (start + Duration::from_millis(800), start + Duration::from_millis(1_600));
        net.cuts.push(net::Cut { side: second, from, until });
    }
    let epochs = scenario.epochs;
    net.run_until(LIMIT, |net| {
        voters.iter().all(|&i| net.weights[i].len() >= epochs) && newcomer.iter().all(|&i| !net.weights[i].is_empty())
    })
    .map_err(Violation::Liveness)?;
    // Nothing acknowledged is lost across a restart: the submission acknowledged just before
    // the crash is ordered once the validator is back (it relays it again from its store).
    if let Some((crashed, late)) = late
        && net.run_until(LIMIT, |net| everyone.iter().all(|&i| late.ordered_by(net, i))).is_err()
    {
        let lacking: Vec<usize> = everyone.iter().copied().filter(|&i| !late.ordered_by(&net, i)).collect();
        let heights = net::heights(&net.nodes);
        let what = format!("not ordered by validators {lacking:?} (heights {heights:?})");
        return Err(Violation::Lost(late.id.to_string(), crashed, what));
    }
    // The validator that left the set still follows the blocks.
    if let Some(leaver) = leaver {
        let target = voters.iter().map(|&i| net.nodes[i].state.tip.height.get()).min().unwrap_or(0);
        net.run_until(LIMIT, |net| net.nodes[leaver].state.tip.height.get() >= target).map_err(Violation::Liveness)?;
    }

    let height = everyone.iter().map(|&i| net.nodes[i].state.tip.height.get()).min().unwrap_or(0);
    let first = net.blocks(honest[0], height as usize);
    for &i in &everyone[1..] {
        let blocks = net.blocks(i, height as usize);
        if let Some(at) = first.iter().zip(&blocks).position(|(a, b)| a != b) {
            return Err(Violation::Agreement(honest[0], i, at as u64 + 1));
        }
    }
    let records = &net.nodes[honest[0]].records;
    let mut ordered = std::collections::HashMap::new();
    for (block, _) in records.blocks_from(1, height as usize).unwrap_or_default() {
        let at = block.header.height.get();
        if block.header.epoch.get() >= 1_000 {
            return Err(Violation::Validity(at, block.header.epoch.get()));
        }
        for action in &block.actions {
            if let Action::Submission(id) = action
                && let Some(first) = ordered.insert(*id, at)
            {
                return Err(Violation::OrderedTwice(id.to_string(), first, at));
            }
            // The malformed answer: every honest verdict committed says rejected. (Committed
            // envelopes passed the rules' signature check: decoding is enough here.)
            for evaluation in action.evaluation_batch().iter().flat_map(|b| b.evaluations()) {
                if evaluation.submission == malformed
                    && honest.iter().any(|&i| net.nodes[i].keypair.public() == evaluation.validator)
                    && evaluation.status != platform_types::EvaluationStatus::Rejected
                {
                    return Err(Violation::MalformedScored(evaluation.validator.to_string(), at));
                }
            }
        }
    }
    // Byzantine clients: nothing refused is ordered, and the miner no more than its rate.
    for (id, what) in &forbidden {
        if let Some(at) = ordered.get(id) {
            return Err(Violation::ClientAdmitted(id.to_string(), what, *at));
        }
    }
    // Each validator the miner submitted to admits at most its rate (the miner's clients went
    // to `via`, and one submission to the validator that crashed).
    let rate = net.nodes[via].cfg.miner_rate_per_minute as usize * (1 + usize::from(late.is_some()));
    let by_miner = ordered.keys().filter(|id| records.submission_info(id).is_some_and(|i| i.miner == miner.public()));
    let count = by_miner.count();
    if count > rate {
        return Err(Violation::Unbounded(
            via,
            format!("{count} submissions of one miner ordered, its rate is {rate} a minute"),
        ));
    }
    // Bounded queues: no signer holds more than its share of the evaluations waiting.
    for &i in &everyone {
        let node = &net.nodes[i];
        let share = node.mempool.evaluations.share(node.state.registry.validators.validators.len());
        for other in &net.nodes {
            let held = node.mempool.evaluations.held_by(&other.keypair.public());
            if held > share {
                return Err(Violation::Unbounded(i, format!("{held} evaluations by one signer (share {share})")));
            }
        }
    }
    let report = net.audit(honest[0]).map_err(|why| Violation::InvalidAction(0, usize::MAX, why))?;
    if let Some(b) = report.broken.first() {
        return Err(Violation::InvalidAction(b.height, b.action.unwrap_or(usize::MAX), b.reason.clone()));
    }
    // The audit names whoever signed verdicts the sandbox does not give, and no honest validator.
    for name in report.evaluations.differing_by_validator.keys() {
        if everyone.iter().any(|&i| net.nodes[i].keypair.public().to_ss58() == *name) {
            return Err(Violation::Blamed(name.clone()));
        }
    }
    for &i in &everyone {
        net.check_restore(i).map_err(|why| Violation::Restore(i, why))?;
        let genesis = net.genesis(&net.nodes[i].cfg);
        if net.nodes[i].records.genesis().ok().flatten().as_ref() != Some(&genesis) {
            return Err(Violation::Genesis(i, "it holds another genesis validator set than the network's".into()));
        }
    }
    let weights: &[WeightsProposal] = &net.weights[voters[0]][..epochs];
    // Epoch by epoch: the one that left the set sets none after it, the newcomer none before it
    // joined, and all the same.
    for &i in everyone.iter().filter(|&&i| i != voters[0]) {
        for (k, theirs) in net.weights[i].iter().enumerate() {
            if net.weights[voters[0]].iter().find(|w| w.epoch == theirs.epoch).is_some_and(|ours| ours != theirs) {
                return Err(Violation::Weights(voters[0], i, k));
            }
        }
    }
    let mut digest = Vec::new();
    for (block, _) in records.blocks_from(1, height as usize).unwrap_or_default() {
        let h = &block.header;
        digest.extend(h.height.get().to_le_bytes());
        digest.extend(h.epoch.get().to_le_bytes());
        digest.extend(h.chain.number.to_le_bytes());
        digest.extend_from_slice(h.chain.hash.as_bytes());
        digest.extend_from_slice(h.proposer.as_bytes());
        for action in &block.actions {
            match action {
                Action::Sudo(envelope) | Action::Evaluations(envelope) => {
                    digest.extend_from_slice(envelope.payload_hash().as_bytes())
                }
                other => digest.extend(other.encode()),
            }
        }
    }
    for w in weights {
        digest.extend(w.to_bytes());
    }
    Ok(Outcome {
        heights: net.nodes.iter().map(|n| n.state.tip.height.get()).collect(),
        digest: blake2b_256(&digest),
        elapsed: net.elapsed,
        forged: net.rewritten,
        messages: net.sent,
    })
}

#[cfg(test)]
mod tests;
