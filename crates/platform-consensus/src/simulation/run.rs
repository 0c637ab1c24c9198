//! The event loop: virtual time, message delivery, timers, crashes, partitions, and the checks.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use platform_types::{
    Block, BlockRef, Envelope, Epoch, Hash, Height, Keypair, MessageKind, NetUid, PublicKey, QuorumCertificate, Uid,
    Validator, ValidatorSet, View,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::byzantine::{self, Behaviour, Context, To};
use super::network::Partition;
use super::node::SimNode;
use super::scenario::{Report, Scenario};
use crate::committee::Committee;
use crate::io::{Input, Output, PeerTag};
use crate::machine::Config;

enum Event {
    Deliver { to: usize, from: usize, envelope: Envelope },
    Timer { node: usize, incarnation: u64, height: Height, view: View },
    Synced { to: usize, incarnation: u64, block: Block, certificate: QuorumCertificate },
    Crash(usize),
    Restart(usize),
    Partition(Partition),
}

struct Sim {
    scenario: Scenario,
    config: Config,
    committee: Committee,
    nodes: Vec<SimNode>,
    keys: Vec<PublicKey>,
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Event>,
    partition: Partition,
    trace: Blake2b<U32>,
    decided: BTreeMap<u64, Hash>,
    proposed_at: BTreeMap<u64, u64>,
    report: Report,
}

/// Runs a scenario to completion (every honest node at the target height, or the time limit).
pub fn run(scenario: &Scenario) -> Report {
    let mut sim = Sim::new(scenario.clone());
    sim.run();
    sim.finish()
}

impl Sim {
    fn new(scenario: Scenario) -> Self {
        let stakes = scenario.stakes.clone().unwrap_or_else(|| vec![1_000_000_000_000; scenario.validators]);
        let keypairs: Vec<Keypair> = (0..scenario.validators)
            .map(|i| Keypair::from_suri(&format!("//sim/{i}")).unwrap_or_else(|_| unreachable!("valid dev URI")))
            .collect();
        let set = ValidatorSet {
            epoch: Epoch::new(0),
            validators: keypairs
                .iter()
                .zip(&stakes)
                .enumerate()
                .map(|(i, (k, s))| Validator { hotkey: k.public(), uid: Uid::new(i as u16), stake: *s })
                .collect(),
        };
        let committee = Committee::new(set).unwrap_or_else(|e| panic!("scenario's validator set: {e}"));
        let mut config = Config::new(NetUid::new(1));
        config.base_timeout_ms = scenario.base_timeout_ms;
        config.checkpoint_interval = 5;
        let genesis = Hash::from_bytes([0x67; 32]);
        let behaviour = |i: usize| scenario.behaviours.get(i).copied().unwrap_or(Behaviour::Honest);
        let mut nodes: Vec<SimNode> =
            keypairs.iter().enumerate().map(|(i, k)| SimNode::new(k.clone(), behaviour(i), genesis)).collect();
        for (i, b) in scenario.behaviours.iter().enumerate() {
            if *b == Behaviour::Twin {
                nodes.push(SimNode::new(keypairs[i].clone(), Behaviour::Twin, genesis));
            }
        }
        let keys = nodes.iter().map(|n| n.keypair.public()).collect();
        Sim {
            rng: StdRng::seed_from_u64(scenario.seed),
            report: Report { seed: scenario.seed, ..Report::default() },
            scenario,
            config,
            committee,
            nodes,
            keys,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            partition: Partition::healed(),
            trace: Blake2b::new(),
            decided: BTreeMap::new(),
            proposed_at: BTreeMap::new(),
        }
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, event);
    }

    fn honest(&self, node: usize) -> bool {
        self.nodes[node].behaviour == Behaviour::Honest
    }

    fn run(&mut self) {
        for (from, to, groups) in self.scenario.partitions.clone() {
            self.schedule(from, Event::Partition(Partition::split(groups)));
            self.schedule(to, Event::Partition(Partition::healed()));
        }
        for (node, at, back) in self.scenario.crashes.clone() {
            self.schedule(at, Event::Crash(node));
            self.schedule(back, Event::Restart(node));
        }
        for node in 0..self.nodes.len() {
            self.boot(node);
        }
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            if at > self.scenario.max_time_ms || self.done() {
                break;
            }
            self.now = at;
            let Some(event) = self.events.remove(&seq) else {
                continue;
            };
            self.dispatch(event);
        }
    }

    fn done(&self) -> bool {
        self.now >= self.scenario.settled_at()
            && (0..self.nodes.len())
                .filter(|n| self.honest(*n))
                .all(|n| self.nodes[n].height() >= self.scenario.target_height)
    }

    fn boot(&mut self, node: usize) {
        match self.nodes[node].boot(&self.config, &self.committee) {
            Ok(outputs) => self.carry_out(node, outputs),
            Err(e) => self.report.violations.push(format!("node {node} failed to boot: {e}")),
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, envelope } => {
                if self.nodes[to].machine.is_none() {
                    return;
                }
                self.report.messages_delivered += 1;
                self.trace.update(self.now.to_le_bytes());
                self.trace.update([to as u8, from as u8, envelope.kind as u8]);
                self.trace.update(envelope.payload_hash().as_bytes());
                self.feed(to, Input::Message { from: PeerTag(from as u64), envelope });
            }
            Event::Timer { node, incarnation, height, view } => {
                if self.nodes[node].incarnation == incarnation && self.nodes[node].machine.is_some() {
                    self.feed(node, Input::Timeout { height, view });
                }
            }
            Event::Synced { to, incarnation, block, certificate } => {
                if self.nodes[to].incarnation == incarnation && self.nodes[to].machine.is_some() {
                    self.feed(to, Input::Synced { block, certificate });
                }
            }
            Event::Crash(node) => self.nodes[node].machine = None,
            Event::Restart(node) => self.boot(node),
            Event::Partition(partition) => self.partition = partition,
        }
    }

    fn feed(&mut self, node: usize, input: Input) {
        let Some(machine) = self.nodes[node].machine.as_mut() else {
            return;
        };
        let started = std::time::Instant::now();
        let outputs = machine.handle(input);
        self.report.machine_nanos += started.elapsed().as_nanos();
        self.carry_out(node, outputs);
    }

    fn carry_out(&mut self, node: usize, outputs: Vec<Output>) {
        let mut work: VecDeque<Output> = outputs.into();
        while let Some(output) = work.pop_front() {
            let follow_up = match output {
                Output::Broadcast(envelope) => {
                    self.broadcast(node, envelope);
                    None
                }
                Output::SetTimer { height, view, after_ms } => {
                    let incarnation = self.nodes[node].incarnation;
                    self.schedule(self.now + after_ms, Event::Timer { node, incarnation, height, view });
                    None
                }
                Output::BuildProposal { height, view } => {
                    let actions = self.nodes[node].build(height, view);
                    Some(Input::ProposalBuilt {
                        height,
                        view,
                        epoch: Epoch::new(0),
                        chain: BlockRef::default(),
                        actions,
                    })
                }
                Output::VerifyProposal { view, block, .. } => Some(Input::ProposalVerified {
                    height: block.header.height,
                    view,
                    block_hash: block.hash(),
                    valid: true,
                }),
                Output::Commit { block, certificate } => Some(self.commit(node, block, certificate)),
                Output::Checkpoint(checkpoint) => {
                    self.check_checkpoint(node, checkpoint);
                    None
                }
                Output::NeedSync { height } => {
                    self.serve_sync(node, height);
                    None
                }
                Output::Misbehaviour { .. } => {
                    if self.honest(node) {
                        self.report.misbehaviour_reports += 1;
                    }
                    None
                }
            };
            if let Some(input) = follow_up {
                let Some(machine) = self.nodes[node].machine.as_mut() else {
                    return;
                };
                let started = std::time::Instant::now();
                work.extend(machine.handle(input));
                self.report.machine_nanos += started.elapsed().as_nanos();
            }
        }
    }

    fn broadcast(&mut self, node: usize, envelope: Envelope) {
        if envelope.kind == MessageKind::Proposal
            && let Ok(platform_types::Message::Proposal(p)) =
                platform_types::Message::decode(envelope.kind, &envelope.payload)
        {
            self.proposed_at.entry(p.height.get()).or_insert(self.now);
        }
        let behaviour = self.nodes[node].behaviour;
        let others: Vec<PublicKey> = self.keys.iter().copied().filter(|k| *k != self.keys[node]).collect();
        let keypair = self.nodes[node].keypair.clone();
        let mut history = std::mem::take(&mut self.nodes[node].history);
        let sends = {
            let mut ctx = Context {
                keypair: &keypair,
                netuid: self.config.netuid,
                rng: &mut self.rng,
                nodes: self.nodes.len(),
                others: &others,
                history: &mut history,
            };
            byzantine::act(behaviour, &mut ctx, envelope)
        };
        self.nodes[node].history = history;
        for (to, envelope) in sends {
            let targets: Vec<usize> = match to {
                To::All => (0..self.nodes.len()).collect(),
                To::Only(list) => list,
            };
            for target in targets.into_iter().filter(|t| *t != node) {
                self.report.messages_sent += 1;
                if !self.partition.connected(node, target) {
                    continue;
                }
                if let Some(delay) = self.scenario.link.delay(&mut self.rng) {
                    self.schedule(
                        self.now + delay,
                        Event::Deliver { to: target, from: node, envelope: envelope.clone() },
                    );
                }
            }
        }
    }

    fn commit(&mut self, node: usize, block: Block, certificate: QuorumCertificate) -> Input {
        let height = block.header.height;
        let hash = block.hash();
        let expected_parent = self.nodes[node].chain.last().map_or(Hash::ZERO, |(b, _)| b.hash());
        if self.honest(node) {
            if height.get() != self.nodes[node].height() + 1 || block.header.parent_hash != expected_parent {
                self.report.violations.push(format!("validity: node {node} committed height {height} off its chain"));
            }
            let proposer_ok = (0..=certificate.view.get())
                .any(|v| self.committee.leader(height, View::new(v)) == block.header.proposer);
            if !proposer_ok {
                self.report.violations.push(format!("validity: block at height {height} not proposed by a leader"));
            }
            match self.decided.get(&height.get()) {
                Some(first) if *first != hash => self
                    .report
                    .violations
                    .push(format!("agreement: two blocks committed at height {height} ({first} and {hash})")),
                Some(_) => {}
                None => {
                    self.decided.insert(height.get(), hash);
                    if let Some(start) = self.proposed_at.get(&height.get()) {
                        self.report.commit_latency_ms.push(self.now - start);
                    }
                }
            }
        }
        self.trace.update(b"commit");
        self.trace.update([node as u8]);
        self.trace.update(hash.as_bytes());
        let state_root = self.nodes[node].apply(block, certificate);
        Input::Applied { height, state_root, next_validators: None }
    }

    /// A checkpoint must verify on its own and name the block the node committed.
    fn check_checkpoint(&mut self, node: usize, checkpoint: platform_types::Checkpoint) {
        if !self.honest(node) {
            return;
        }
        let height = checkpoint.header.height.get();
        let committed = self.nodes[node].chain.get(height as usize - 1).map(|(b, _)| b.hash());
        match crate::verify_checkpoint(&checkpoint, self.config.netuid) {
            Ok(_) if committed == Some(checkpoint.header.hash()) => self.report.checkpoints.push(checkpoint),
            Ok(_) => self.report.violations.push(format!("checkpoint at {height} names another block")),
            Err(e) => self.report.violations.push(format!("checkpoint at {height} does not verify: {e}")),
        }
    }

    /// Answers a sync request from a random reachable node that has the blocks.
    fn serve_sync(&mut self, node: usize, from_height: Height) {
        let providers: Vec<usize> = (0..self.nodes.len())
            .filter(|p| *p != node && self.partition.connected(node, *p) && self.nodes[*p].machine.is_some())
            .filter(|p| self.nodes[*p].height() >= from_height.get())
            .collect();
        if providers.is_empty() {
            return;
        }
        let provider = providers[(self.rng_next() as usize) % providers.len()];
        let start = from_height.get() as usize - 1;
        let end = (start + 16).min(self.nodes[provider].chain.len());
        let blocks: Vec<(Block, QuorumCertificate)> = self.nodes[provider].chain[start..end].to_vec();
        let incarnation = self.nodes[node].incarnation;
        let delay = 2 * self.scenario.link.latency_ms;
        for (i, (block, certificate)) in blocks.into_iter().enumerate() {
            self.schedule(self.now + delay + i as u64, Event::Synced { to: node, incarnation, block, certificate });
        }
    }

    fn rng_next(&mut self) -> u64 {
        rand::Rng::r#gen(&mut self.rng)
    }

    fn finish(mut self) -> Report {
        let honest: Vec<usize> = (0..self.nodes.len()).filter(|n| self.honest(*n)).collect();
        self.report.heights = self.nodes.iter().map(SimNode::height).collect();
        self.report.min_honest_height = honest.iter().map(|n| self.nodes[*n].height()).min().unwrap_or(0);
        self.report.virtual_time_ms = self.now;
        if self.report.min_honest_height < self.scenario.target_height {
            self.report.violations.push(format!(
                "progress: honest heights {:?} short of {} after {} ms",
                honest.iter().map(|n| self.nodes[*n].height()).collect::<Vec<_>>(),
                self.scenario.target_height,
                self.now
            ));
        }
        self.report.digest = Hash::from_bytes(self.trace.finalize().into());
        self.report
    }
}
