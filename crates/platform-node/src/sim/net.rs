//! The simulated network: validators' real cores, linked only by this module. Each one's
//! `Publish` effects reach the others as the gossip pump would hand them over, after a delay
//! drawn from a seeded generator; timers fire in virtual time; a chain's head moves and every
//! validator reads the metagraph at it; evaluations are answered as the evaluation actor
//! would, with a score every honest validator computes alike; admission's writes are waited
//! for at each step. Same seed, same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_p2p::Topic;
use platform_types::{Metagraph, NetUid, Neuron, Uid, VerifiedEnvelopes};

use super::chain::{chain_block, read_at};
use super::setup::{NETUID, Timing, key, metagraph, validator};
use super::{Behaviour, Stuck};
use crate::core::{Clock, Core, Gossiped, Input};
use crate::effects::Effect;

/// The height `bytes` proposes a block for, when it is a proposal.
fn proposal_height(topic: Topic, bytes: &[u8]) -> Option<u64> {
    use platform_types::{Codec, Envelope, MessageKind, Proposal};
    if topic != Topic::Consensus {
        return None;
    }
    let envelope = Envelope::from_bytes(bytes, 1 << 20).ok().filter(|e| e.kind == MessageKind::Proposal)?;
    Some(Proposal::from_bytes(&envelope.payload).ok()?.block.header.height.get())
}

/// Validators whose only link is this harness: each one's `Publish` effects reach the others
/// as the gossip pump would hand them over, after a delay drawn from a seeded generator (a
/// Byzantine validator's may be altered on the way out, per receiver); timers fire in virtual
/// time; a validator may be down (it neither hears nor speaks).
pub(crate) struct Net {
    pub nodes: Vec<Core>,
    pub timers: Vec<crate::effects::Timers>,
    /// Messages on their way: (when, sequence, to, input).
    pub in_flight: Vec<(Instant, u64, usize, Input)>,
    pub down: Vec<bool>,
    pub rng: rand::rngs::StdRng,
    pub start: Clock,
    pub elapsed: Duration,
    /// Inputs handed to the cores so far (messages, timers, chain heads, answers).
    pub sent: u64,
    /// Past this many inputs a run is stuck ([`Net::run_until`]): a storm that would otherwise
    /// spin for hours ends, deterministically. Runs hand out about 2 000 inputs at 4
    /// validators, 5 600 at 7 and 29 000 at 16; the default is 2 000 × n².
    pub max_inputs: u64,
    /// The metagraph every validator reads (its block moves with the chain) until the first of
    /// `changes`.
    pub metagraph: Metagraph,
    /// The metagraph from a chain block on (stakes moved, permits lost...), in block order.
    pub changes: Vec<(u64, Metagraph)>,
    /// With dynamic tempo, the chain block from which the tempo is the one given: the chain then
    /// reports each block's epoch itself ([`Net::chain_epoch`]). `None`: the legacy rule, each
    /// validator computing epochs from the metagraph's tempo.
    pub tempo_change: Option<(u64, u16)>,
    /// The chain's head, and about how often it moves (never when `None`): each interval is
    /// drawn between 80 % and 130 % of it, so that epochs do not begin at the same consensus
    /// heights in every run.
    pub chain: u64,
    pub chain_every: Option<Duration>,
    /// When the chain moves next.
    pub next_chain: Duration,
    /// The weights each validator asked the chain to set, in order.
    pub weights: Vec<Vec<platform_types::WeightsProposal>>,
    /// What each validator does wrong, if anything.
    pub behaviour: Vec<Option<Behaviour>>,
    /// Messages Byzantine validators sent other than as their core published them.
    pub rewritten: u64,
    /// Cuts of the network, each for a window of virtual time.
    pub cuts: Vec<Cut>,
    /// Messages lost to a cut.
    pub cut_off: u64,
    /// Gossip messages the receivers' pumps refused as malformed or forged (never handed to
    /// their cores).
    pub refused: u64,
    /// Of every thousand gossip messages, how many a link loses (drawn per message and receiver).
    pub loss_permille: u32,
    /// Messages lost so.
    pub lost: u64,
    /// The least and the most a message takes on a link, in milliseconds (drawn uniformly).
    pub link_ms: (u64, u64),
    /// What is measured of the run, when it is (`Net::measure`).
    pub measured: Option<Measured>,
    /// Each validator's evaluation actor.
    pub sandboxes: Vec<super::sandbox::Sandbox>,
}

/// What a measured run records, from when it is switched on.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// When a proposal for each height was first published (virtual time).
    pub proposed: std::collections::BTreeMap<u64, Duration>,
    /// When each validator committed each height.
    pub committed: Vec<std::collections::BTreeMap<u64, Duration>>,
    /// Bytes each validator sent.
    pub bytes: Vec<u64>,
    /// Messages each validator sent (one per receiver).
    pub messages: Vec<u64>,
}

/// A partition: from `from` until `until` (virtual time since the start), messages between a
/// validator in `side` and one outside it are lost, and sync requests do not cross it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cut {
    pub side: Vec<usize>,
    pub from: Duration,
    pub until: Duration,
}

impl Net {
    pub fn new(count: usize, seed: u64) -> Net {
        Net::with_timing(count, seed, Timing::SIM)
    }

    /// `count` validators proposing and timing out as `timing` says.
    pub fn with_timing(count: usize, seed: u64, timing: Timing) -> Net {
        use rand::SeedableRng;
        let names: Vec<String> = (0..count).map(|i| format!("V{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // Only time since this origin matters to the cores: the same seed gives the same run.
        let start = Clock { now: Instant::now(), wall_ms: 1_764_000_000_000 };
        let metagraph = metagraph(&refs);
        let mut nodes: Vec<Core> = names.iter().map(|n| validator(n, metagraph.clone(), start, timing)).collect();
        for node in &mut nodes {
            node.start();
        }
        Net {
            metagraph,
            changes: Vec::new(),
            tempo_change: None,
            chain: 1,
            chain_every: None,
            next_chain: Duration::ZERO,
            weights: vec![Vec::new(); count],
            behaviour: vec![None; count],
            rewritten: 0,
            cuts: Vec::new(),
            cut_off: 0,
            refused: 0,
            loss_permille: 0,
            lost: 0,
            link_ms: (1, 20),
            measured: None,
            sandboxes: (0..count).map(|_| Default::default()).collect(),
            timers: nodes.iter().map(|_| Default::default()).collect(),
            down: vec![false; count],
            nodes,
            in_flight: Vec::new(),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            start,
            elapsed: Duration::ZERO,
            sent: 0,
            max_inputs: 2_000 * (count as u64).pow(2),
        }
    }

    /// Registers `name` on the subnet without a validator permit (a neuron the chain knows, not a
    /// validator) and starts its validator with the others' genesis: it follows the blocks, and
    /// votes once the chain makes it a validator (see `changes`). Its index.
    pub fn add_newcomer(&mut self, name: &str) -> usize {
        let uid = Uid::new(self.metagraph.neurons.len() as u16);
        let hotkey = key(name).public();
        self.metagraph.neurons.push(Neuron { uid, hotkey, stake: 0, validator_permit: false });
        let cfg = &self.nodes[0].cfg;
        let timing =
            Timing { block_interval_ms: cfg.block_interval.as_millis() as u64, view_timeout_ms: cfg.view_timeout_ms };
        let clock = self.clock();
        let mut core = validator(name, (*self.metagraph_at(self.chain)).clone(), clock, timing);
        core.start();
        self.nodes.push(core);
        self.timers.push(Default::default());
        self.down.push(false);
        self.weights.push(Vec::new());
        self.behaviour.push(None);
        self.sandboxes.push(Default::default());
        self.nodes.len() - 1
    }

    /// The virtual time now, as the cores are told it.
    pub fn clock(&self) -> Clock {
        Clock { now: self.start.now + self.elapsed, wall_ms: self.start.wall_ms + self.elapsed.as_millis() as u64 }
    }

    /// Records from now on what [`Measured`] holds.
    pub fn measure(&mut self) {
        let n = self.nodes.len();
        let committed = vec![Default::default(); n];
        self.measured = Some(Measured { committed, bytes: vec![0; n], messages: vec![0; n], ..Default::default() });
    }

    /// Runs in steps of 5 ms of virtual time until every running validator reached `height`.
    pub fn run_to(&mut self, height: u64, limit: Duration) -> Result<(), Stuck> {
        self.run_until(limit, |net| {
            net.nodes.iter().zip(&net.down).all(|(n, down)| *down || n.state.tip.height.get() >= height)
        })
    }

    /// Whether a cut separates validators `a` and `b` now.
    pub fn cut(&self, a: usize, b: usize) -> bool {
        self.cuts
            .iter()
            .any(|c| c.from <= self.elapsed && self.elapsed < c.until && (c.side.contains(&a) != c.side.contains(&b)))
    }

    /// Hands `input` to validator `to` at the next step.
    pub fn deliver(&mut self, to: usize, input: Input) {
        self.sent += 1;
        self.in_flight.push((self.clock().now, self.sent, to, input));
    }

    /// Runs in steps of 5 ms of virtual time until `done`; `Err` when `limit` passes first.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) -> Result<(), Stuck> {
        use rand::Rng;
        while !done(self) {
            if self.elapsed >= limit || self.sent > self.max_inputs {
                return Err(Stuck { heights: heights(&self.nodes), elapsed: self.elapsed, inputs: self.sent });
            }
            self.elapsed += Duration::from_millis(5);
            // The chain moves: every validator sees the new head, and reads the metagraph at it.
            if let Some(every) = self.chain_every
                && self.elapsed >= self.next_chain
            {
                let every = every.as_millis() as u64;
                self.next_chain =
                    self.elapsed + Duration::from_millis(self.rng.gen_range(every * 8 / 10..=every * 13 / 10));
                self.chain += 1;
                let (block, metagraph) = (chain_block(self.chain), self.metagraph_at(self.chain));
                let epoch = self.chain_epoch(self.chain);
                for to in 0..self.nodes.len() {
                    self.deliver(to, Input::Chain { block, epoch, metagraph: Some(metagraph.clone()) });
                }
            }
            let clock = self.clock();
            self.in_flight.sort_by_key(|(at, seq, ..)| (*at, *seq));
            let due = self.in_flight.partition_point(|(at, ..)| *at <= clock.now);
            let mut arrived: Vec<Vec<Input>> = self.nodes.iter().map(|_| Vec::new()).collect();
            for (_, _, to, input) in self.in_flight.drain(..due) {
                arrived[to].push(input);
            }
            // Each receiver's gossip pump checks with its own memory of verified envelopes.
            let verifieds: Vec<Arc<VerifiedEnvelopes>> = self.nodes.iter().map(|n| n.verified.clone()).collect();
            for (i, inbox) in arrived.iter_mut().enumerate() {
                if self.down[i] {
                    continue;
                }
                let node = &mut self.nodes[i];
                node.set_time(clock);
                for input in std::mem::take(inbox) {
                    node.handle(input);
                }
                for (height, view) in self.timers[i].due(clock.now) {
                    node.handle(Input::Timer { height, view });
                }
                node.tick();
                node.end_turn();
                // Writes are waited for here, so that when they finish is part of the run.
                node.settle_writes();
                let mut own = Vec::new();
                let mut syncs = Vec::new();
                let mut evaluations = Vec::new();
                if let Some(m) = &mut self.measured {
                    m.committed[i].entry(node.state.tip.height.get()).or_insert(self.elapsed);
                }
                for effect in node.take_effects() {
                    match effect {
                        Effect::Publish { topic, bytes } => {
                            if let Some(m) = &mut self.measured
                                && let Some(height) = proposal_height(topic, &bytes)
                            {
                                m.proposed.entry(height).or_insert(self.elapsed);
                            }
                            let junk = match self.behaviour[i] {
                                Some(Behaviour::GossipFlood) => {
                                    // Naming the epoch the next block will have: not stale to anyone.
                                    let epoch = node.current_link().map_or(node.state.tip.epoch, |(_, e)| e);
                                    let height = node.state.tip.height;
                                    super::gossip_flood::junk(&node.keypair, topic, height, epoch, self.sent)
                                }
                                _ => Vec::new(),
                            };
                            if !junk.is_empty() {
                                self.rewritten += 1;
                            }
                            for to in (0..self.down.len()).filter(|&to| to != i && !self.down[to]) {
                                self.sent += 1;
                                if separated(&self.cuts, self.elapsed, i, to) {
                                    self.cut_off += 1;
                                    continue;
                                }
                                if self.loss_permille > 0 && self.rng.gen_range(0..1_000) < self.loss_permille {
                                    self.lost += 1;
                                    continue;
                                }
                                let out = self.behaviour[i].map_or(super::behaviour::Outgoing::AsPublished, |b| {
                                    b.outgoing(&node.keypair, &node.records, topic, &bytes, to)
                                });
                                let sent = match out {
                                    super::behaviour::Outgoing::AsPublished => bytes.clone(),
                                    super::behaviour::Outgoing::Replaced(forged) => {
                                        self.rewritten += 1;
                                        forged
                                    }
                                    super::behaviour::Outgoing::Withheld => {
                                        self.rewritten += 1;
                                        continue;
                                    }
                                };
                                if let Some(m) = &mut self.measured {
                                    m.bytes[i] +=
                                        (sent.len() + junk.iter().map(|(_, b)| b.len()).sum::<usize>()) as u64;
                                    m.messages[i] += 1 + junk.len() as u64;
                                }
                                let Some(message) = received(topic, sent, &verifieds[to]) else {
                                    self.refused += 1;
                                    continue;
                                };
                                let id = platform_p2p::MessageId::from_bytes(&self.sent.to_le_bytes());
                                let from = platform_consensus::PeerTag(i as u64);
                                let latency =
                                    Duration::from_millis(self.rng.gen_range(self.link_ms.0..=self.link_ms.1));
                                self.in_flight.push((
                                    clock.now + latency,
                                    self.sent,
                                    to,
                                    Input::Gossip { id, from, message },
                                ));
                                for (topic, bytes) in &junk {
                                    self.sent += 1;
                                    let Some(message) = received(*topic, bytes.clone(), &verifieds[to]) else {
                                        self.refused += 1;
                                        continue;
                                    };
                                    let id = platform_p2p::MessageId::from_bytes(&self.sent.to_le_bytes());
                                    self.in_flight.push((
                                        clock.now + latency,
                                        self.sent,
                                        to,
                                        Input::Gossip { id, from, message },
                                    ));
                                }
                            }
                        }
                        Effect::Timer { height, view, after } => self.timers[i].set(clock.now + after, height, view),
                        Effect::Evaluate(request) => evaluations.push(request),
                        Effect::Chain(crate::chain_client::Request::Weights { weights, .. }) => {
                            self.weights[i].push(weights)
                        }
                        Effect::Chain(crate::chain_client::Request::Metagraph(block)) => {
                            let metagraph = read_at(&self.metagraph, &self.changes, block.number);
                            own.push(Input::MetagraphRead { block, metagraph: Ok(metagraph) })
                        }
                        Effect::Sync(request) => syncs.push(request),
                        // Reveals (commit-reveal weights) are not simulated.
                        _ => {}
                    }
                }
                own.extend(self.evaluate(i, evaluations));
                for input in own {
                    self.deliver(i, input);
                }
                for request in std::mem::take(&mut syncs) {
                    let answer = self.answer_sync(i, request);
                    self.deliver(i, answer);
                }
            }
        }
        Ok(())
    }

    /// The other validators running that `i` can reach now, in index order.
    pub(super) fn reachable(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(move |&j| j != i && !self.down[j] && !self.cut(i, j))
    }

    /// [`Net::reachable`] in the order `i` asks them (sync, genesis): the misbehaving ones
    /// first, the worst order.
    pub(super) fn asked_by(&self, i: usize) -> Vec<usize> {
        let mut peers: Vec<usize> = self.reachable(i).collect();
        peers.sort_by_key(|&j| self.behaviour[j].is_none());
        peers
    }
}

/// Whether one of `cuts` separates validators `a` and `b` at `now`.
fn separated(cuts: &[Cut], now: Duration, a: usize, b: usize) -> bool {
    cuts.iter().any(|c| c.from <= now && now < c.until && (c.side.contains(&a) != c.side.contains(&b)))
}

/// What validator `to` makes of `bytes` gossiped on `topic`: its gossip pump's check
/// ([`crate::tasks::open_gossip`], with its memory of verified envelopes); `None` when the pump
/// refuses it (malformed or forged), so that it never reaches the core.
pub(crate) fn received(topic: Topic, bytes: Vec<u8>, verified: &VerifiedEnvelopes) -> Option<Gossiped> {
    crate::tasks::open_gossip(topic, bytes, NetUid::new(NETUID), verified)
}

/// Each validator's committed height.
pub(crate) fn heights(nodes: &[Core]) -> Vec<u64> {
    nodes.iter().map(|n| n.state.tip.height.get()).collect()
}
