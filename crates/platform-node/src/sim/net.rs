//! The simulated network: validators' real cores, linked only by this module. Each one's
//! `Publish` effects reach the others as the gossip pump would hand them over, after a delay
//! drawn from a seeded generator; timers fire in virtual time; a chain's head moves and every
//! validator reads the metagraph at it; evaluations are answered as the evaluation actor
//! would, with a score every honest validator computes alike; admission's writes are waited
//! for at each step. Same seed, same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::AppState;
use platform_p2p::Topic;
use platform_storage::{MemoryStore, Store};
use platform_types::{Epoch, Keypair, Metagraph, NetUid, Neuron, SubnetParams, Uid, VerifiedEnvelopes};
use serde_json::Value;
use tokio::sync::watch;

use super::{Behaviour, Stuck};
use crate::config::{NodeConfig, Settings};
use crate::core::{Clock, Core, CoreParts, Gossiped, Input};
use crate::effects::Effect;
use crate::evaluations::Request as Evaluate;
use crate::metrics::Metrics;
use crate::records::Records;
use crate::sync_client;

/// The subnet simulated.
pub(crate) const NETUID: u16 = 3;

/// The miner registered beside the validators (uid = number of validators).
pub(crate) const MINER: &str = "Miner";

/// The secret URI of the simulated participant `name`: a raw seed hashed from the name. Reading
/// it costs one key expansion, where a `//Name` phrase costs 2 048 PBKDF2-SHA512 rounds (which
/// were most of a run's time when every simulated key was derived so).
pub(crate) fn suri(name: &str) -> String {
    format!("0x{}", hex::encode(platform_types::blake2b_256(name.as_bytes()).as_bytes()))
}

/// The key of the simulated participant `name` (see [`suri`]).
pub(crate) fn key(name: &str) -> Keypair {
    Keypair::from_suri(&suri(name)).expect("a 32-byte seed")
}

/// The subnet's metagraph at chain block 1 with the validators named (equal stake each, the
/// first one the owner) and [`MINER`].
pub(crate) fn metagraph(validators: &[&str]) -> Metagraph {
    let keys: Vec<Keypair> = validators.iter().map(|name| key(name)).collect();
    let miner = key(MINER);
    Metagraph {
        netuid: NetUid::new(NETUID),
        block: chain_block(1),
        neurons: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Neuron {
                uid: Uid::new(i as u16),
                hotkey: k.public(),
                stake: 5_000_000_000_000,
                validator_permit: true,
            })
            .chain([Neuron {
                uid: Uid::new(keys.len() as u16),
                hotkey: miner.public(),
                stake: 0,
                validator_permit: false,
            }])
            .collect(),
        owner_coldkey: None,
        owner_hotkey: Some(keys[0].public()),
        params: SubnetParams::unrestricted(9),
    }
}

/// The metagraph as read at chain block `number`: `base`, or the last of `changes` from a block
/// at or before it.
fn read_at(base: &Metagraph, changes: &[(u64, Metagraph)], number: u64) -> Arc<Metagraph> {
    let changed = changes.iter().rev().find(|(from, _)| *from <= number).map(|(_, m)| m);
    Arc::new(Metagraph { block: chain_block(number), ..changed.unwrap_or(base).clone() })
}

/// How fast simulated validators propose and give up on a leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// The least time between a commit and the next proposal.
    pub block_interval_ms: u64,
    /// How long a view waits for its leader.
    pub view_timeout_ms: u64,
}

impl Timing {
    /// The checking runs': blocks as fast as the links allow, so that epochs pass in few steps.
    pub const SIM: Timing = Timing { block_interval_ms: 10, view_timeout_ms: 200 };
    /// `validator-node`'s defaults.
    pub const NODE: Timing = Timing { block_interval_ms: 250, view_timeout_ms: 2_000 };
}

/// The height `bytes` proposes a block for, when it is a proposal.
fn proposal_height(topic: Topic, bytes: &[u8]) -> Option<u64> {
    use platform_types::{Codec, Envelope, MessageKind, Proposal};
    if topic != Topic::Consensus {
        return None;
    }
    let envelope = Envelope::from_bytes(bytes, 1 << 20).ok().filter(|e| e.kind == MessageKind::Proposal)?;
    Some(Proposal::from_bytes(&envelope.payload).ok()?.block.header.height.get())
}

/// The core of validator `name` (see [`suri`]) of `metagraph`'s subnet over an in-memory store,
/// starting at `clock`.
pub(crate) fn validator(name: &str, metagraph: Metagraph, clock: Clock, timing: Timing) -> Core {
    let cfg = NodeConfig::from_settings(Settings {
        secret_key: Some(suri(name)),
        netuid: Some(NETUID),
        // Never opened: the core keeps everything in the memory store below.
        data_dir: Some(std::path::PathBuf::from("simulated")),
        block_interval_ms: Some(timing.block_interval_ms),
        view_timeout_ms: Some(timing.view_timeout_ms),
        // Room for what the scenarios need (a few submissions, their evaluations), so that a
        // flood reaches the pool's bounds within a run.
        mempool_capacity: Some(64),
        // The miner's six submissions and a few of its flood (the Byzantine clients) a minute.
        miner_rate_per_minute: Some(8),
        ..Settings::default()
    })
    .expect("config");
    // Snapshots every 2 heights, so that restarts start from one and every run checks that the
    // roots covering them agree.
    let cfg = NodeConfig { snapshot_interval: 2, ..cfg };
    let genesis = platform_app::weights::validator_set(&metagraph, cfg.min_stake_rao, Epoch::new(0)).expect("a set");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (status, _) = watch::channel(Value::Null);
    let (read_view, _) = watch::channel(Arc::new(crate::view::ReadView::starting()));
    // Kept as a validator keeps the genesis it adopted (the audit starts from it).
    let records = Records::new(store.clone());
    records.put_genesis(&genesis).expect("memory store");
    let state = AppState { snapshot_interval: cfg.snapshot_interval, ..AppState::genesis(genesis) };
    let parts = CoreParts {
        cfg: Arc::new(cfg),
        records,
        state,
        metagraph,
        verified: Arc::new(VerifiedEnvelopes::new(64)),
        metrics: Arc::new(Metrics::default()),
        status,
        read_view,
        clock,
    };
    let mut core = Core::new(parts, store).expect("core");
    core.snapshots = crate::snapshots::SnapshotWriter::Inline(core.records.clone());
    core
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
        let clock =
            Clock { now: self.start.now + self.elapsed, wall_ms: self.start.wall_ms + self.elapsed.as_millis() as u64 };
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

    /// The metagraph as read at chain block `number`.
    pub fn metagraph_at(&self, number: u64) -> Arc<Metagraph> {
        read_at(&self.metagraph, &self.changes, number)
    }

    /// Dynamic tempo from now on, the tempo becoming `tempo` at chain block `from` (which must
    /// be after every metagraph change already made): the metagraph read from there shows it.
    pub fn change_tempo(&mut self, from: u64, tempo: u16) {
        let mut changed = (*self.metagraph_at(from)).clone();
        changed.params.tempo = tempo;
        self.changes.push((from, changed));
        self.tempo_change = Some((from, tempo));
    }

    /// The subnet's epoch at chain block `number` as the chain reports it: `None` under the
    /// legacy rule; with dynamic tempo, the legacy rule's index before the change, then one more
    /// epoch from the change and one every `tempo + 1` blocks after it (never going back).
    pub fn chain_epoch(&self, number: u64) -> Option<u64> {
        let (from, tempo) = self.tempo_change?;
        let before = self.metagraph.params.schedule(NetUid::new(NETUID));
        if number < from {
            return Some(before.epoch_index(number));
        }
        Some(before.epoch_index(from.saturating_sub(1)) + 1 + (number - from) / (u64::from(tempo) + 1))
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
        self.in_flight.push((self.start.now + self.elapsed, self.sent, to, input));
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
            let clock = Clock {
                now: self.start.now + self.elapsed,
                wall_ms: self.start.wall_ms + self.elapsed.as_millis() as u64,
            };
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
                                let out = self.behaviour[i].map_or(super::Outgoing::AsPublished, |b| {
                                    b.outgoing(&node.keypair, &node.records, topic, &bytes, to)
                                });
                                let sent = match out {
                                    super::Outgoing::AsPublished => bytes.clone(),
                                    super::Outgoing::Replaced(forged) => {
                                        self.rewritten += 1;
                                        forged
                                    }
                                    super::Outgoing::Withheld => {
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
    fn reachable(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(move |&j| j != i && !self.down[j] && !self.cut(i, j))
    }

    /// [`Net::reachable`] in the order `i` asks them (sync, genesis): the misbehaving ones
    /// first, the worst order.
    fn asked_by(&self, i: usize) -> Vec<usize> {
        let mut peers: Vec<usize> = self.reachable(i).collect();
        peers.sort_by_key(|&j| self.behaviour[j].is_none());
        peers
    }

    /// Validator `i`'s evaluation actor carries out `requests` (and loads a module it still
    /// lacks, from its store or a reachable peer's); what it answers its core.
    fn evaluate(&mut self, i: usize, requests: Vec<Evaluate>) -> Vec<Input> {
        if requests.is_empty() && self.sandboxes[i].idle() {
            return Vec::new();
        }
        let peers: Vec<&Records> = self.reachable(i).map(|j| &self.nodes[j].records).collect();
        let node = &self.nodes[i];
        let signer = crate::evaluator::Signer {
            keypair: node.keypair.clone(),
            netuid: NetUid::new(NETUID),
            invert_scores: false,
        };
        let sandbox = &mut self.sandboxes[i];
        let mut inputs = sandbox.load(&node.records, &peers, &signer);
        for request in requests {
            inputs.extend(sandbox.handle(request, &node.records, &peers, &signer));
        }
        inputs
    }

    /// The answer validator `i`'s sync client gets, asking as it does: the other running
    /// validators in turn — the misbehaving ones first, the worst order — each through its own
    /// sync server (`Records` as the p2p layer's provider, or a liar's answer), until one answers
    /// with blocks [`sync_client::usable`] accepts.
    fn answer_sync(&mut self, i: usize, request: sync_client::Request) -> Input {
        use platform_p2p::Provider;
        use platform_types::{Codec, Height, SyncRequest, SyncResponse};
        let peers = self.asked_by(i);
        match request {
            sync_client::Request::Blocks { from, parent, validators } => {
                let ask = SyncRequest::Blocks { from: Height::new(from.max(1)) }.to_bytes();
                let netuid = NetUid::new(NETUID);
                let mut behind = false;
                for j in peers {
                    let answer = match self.behaviour[j] {
                        Some(Behaviour::LyingSync) => {
                            self.rewritten += 1;
                            super::lying_sync::answer(&self.nodes[j].keypair, &self.nodes[j].records, from)
                        }
                        _ => match SyncResponse::from_bytes(&self.nodes[j].records.sync(&ask)) {
                            Ok(SyncResponse::Blocks(blocks)) => blocks,
                            _ => Vec::new(),
                        },
                    };
                    let (blocks, pruned) = sync_client::judge(from, parent, &validators, netuid, answer);
                    if !blocks.is_empty() {
                        return Input::Synced { blocks, behind: false };
                    }
                    behind |= pruned;
                }
                Input::Synced { blocks: Vec::new(), behind }
            }
            sync_client::Request::Bodies(ids) => {
                let ask = SyncRequest::Submissions(ids).to_bytes();
                let mut envelopes = Vec::new();
                for j in peers {
                    if let Ok(SyncResponse::Submissions(found)) =
                        SyncResponse::from_bytes(&self.nodes[j].records.sync(&ask))
                    {
                        envelopes.extend(found);
                    }
                }
                Input::Bodies { envelopes }
            }
        }
    }

    /// Validator `i` crashes and starts again from what its store holds: the state replayed
    /// from the stored blocks, the consensus machine's safety record, the acknowledged
    /// submissions; timers and anything in memory are lost.
    pub fn restart(&mut self, i: usize) {
        let records = Records::new(self.nodes[i].records.store().clone());
        let cfg = self.nodes[i].cfg.clone();
        let genesis = self.genesis(&cfg);
        let owner: Vec<_> = self.metagraph.owner_hotkey.into_iter().collect();
        let verified = Arc::new(VerifiedEnvelopes::new(4096));
        let state = crate::recovery::replay(&records, genesis, &cfg, &owner, &verified).expect("replays").0;
        self.boot(i, records, state, verified);
    }

    /// Validator `i` loses its disk and starts again with an empty store, as a new validator
    /// joins: it asks every other running validator it can reach for the genesis validator set
    /// (each through its sync server, a Byzantine one first, the worst order), adopts the set
    /// validators holding more than two thirds of the chain's stake vouch for
    /// ([`platform_app::GenesisVotes`], as `validator-node` decides it), and catches up by sync.
    /// `Err` when no set is decided (it then never guesses one).
    pub fn rejoin(&mut self, i: usize) -> Result<(), String> {
        use platform_p2p::Provider;
        use platform_types::{Codec, SyncRequest, SyncResponse};
        let cfg = self.nodes[i].cfg.clone();
        let me = self.nodes[i].keypair.public();
        let metagraph = self.metagraph_at(self.chain);
        let candidate = platform_app::weights::validator_set(&metagraph, cfg.min_stake_rao, Epoch::new(0))
            .ok_or("the chain gives no validator set")?;
        let mut votes = platform_app::GenesisVotes::new(&candidate, me, candidate.clone());
        let peers = self.asked_by(i);
        for j in peers {
            let answer = match self.behaviour[j] {
                Some(Behaviour::ForgedGenesis) => {
                    self.rewritten += 1;
                    Some(super::forged_genesis::answer(&self.nodes[j].keypair, &candidate))
                }
                _ => match SyncResponse::from_bytes(&self.nodes[j].records.sync(&SyncRequest::Genesis.to_bytes())) {
                    Ok(SyncResponse::Genesis(set)) => set,
                    _ => None,
                },
            };
            if let Some(set) = answer {
                votes.vote(self.nodes[j].keypair.public(), set);
            }
        }
        let genesis = votes.decided().cloned().ok_or_else(|| {
            format!(
                "no genesis set is vouched for by more than two thirds of the stake ({} permille at most)",
                votes.best_share_permille()
            )
        })?;
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let records = Records::new(store);
        records.put_genesis(&genesis).map_err(|e| e.to_string())?;
        let state = AppState { snapshot_interval: cfg.snapshot_interval, ..AppState::genesis(genesis) };
        self.boot(i, records, state, Arc::new(VerifiedEnvelopes::new(4096)));
        Ok(())
    }

    /// The genesis validator set of this network, as `cfg` derives it.
    pub fn genesis(&self, cfg: &NodeConfig) -> platform_types::ValidatorSet {
        platform_app::weights::validator_set(&self.metagraph, cfg.min_stake_rao, Epoch::new(0))
            .expect("the genesis set")
    }

    /// Starts validator `i` again (same key and configuration) over `records` at `state`.
    fn boot(&mut self, i: usize, records: Records, state: AppState, verified: Arc<VerifiedEnvelopes>) {
        let store = records.store().clone();
        let (status, _) = watch::channel(Value::Null);
        let (read_view, _) = watch::channel(Arc::new(crate::view::ReadView::starting()));
        let clock =
            Clock { now: self.start.now + self.elapsed, wall_ms: self.start.wall_ms + self.elapsed.as_millis() as u64 };
        let parts = CoreParts {
            cfg: self.nodes[i].cfg.clone(),
            records,
            state,
            metagraph: (*self.metagraph_at(self.chain)).clone(),
            verified,
            metrics: Arc::new(Metrics::default()),
            status,
            read_view,
            clock,
        };
        let mut core = Core::new(parts, store).expect("starts");
        core.snapshots = crate::snapshots::SnapshotWriter::Inline(core.records.clone());
        core.start();
        self.nodes[i] = core;
        self.timers[i] = Default::default();
        self.sandboxes[i] = Default::default();
    }

    /// How many submissions validator `i`'s stored blocks order (those still in its state and
    /// those retired from it).
    #[cfg(test)]
    pub fn committed_submissions(&self, i: usize) -> usize {
        let height = self.nodes[i].state.tip.height.get() as usize;
        let blocks = self.nodes[i].records.blocks_from(1, height).expect("read");
        blocks
            .iter()
            .flat_map(|(b, _)| &b.actions)
            .filter(|a| matches!(a, platform_types::Action::Submission(_)))
            .count()
    }

    /// The public audit of validator `i`'s committed blocks (`crate::audit`: every block's
    /// certificate and parent, every action as a voter checks it, weights and validator sets
    /// recomputed, every evaluation run again in the sandbox and each validator's verdict
    /// compared with it).
    pub fn audit(&self, i: usize) -> Result<crate::audit::Report, String> {
        let node = &self.nodes[i];
        let options = crate::audit::AuditOptions {
            netuid: node.cfg.netuid,
            sudo: self.metagraph.owner_hotkey.into_iter().collect(),
            min_stake_rao: node.cfg.min_stake_rao,
            snapshot_interval: node.cfg.snapshot_interval,
            sample: 1,
        };
        crate::audit::replay(&node.records, &options, Some(super::sandbox::runtime()))
            .map_err(|e| format!("the audit could not start: {e}"))
    }

    /// The first action of validator `i`'s committed blocks that [`Net::audit`] finds breaking
    /// the rules: its height, index and why.
    #[cfg(test)]
    pub fn refused_action(&self, i: usize) -> Option<(u64, usize, String)> {
        match self.audit(i) {
            Ok(report) => {
                report.broken.into_iter().next().map(|b| (b.height, b.action.unwrap_or(usize::MAX), b.reason))
            }
            Err(e) => Some((0, usize::MAX, e)),
        }
    }

    /// Whether validator `i`, restarted now, would hold the state it holds: the state recovered
    /// from its newest stored snapshot and the blocks after it must have the same tip and root,
    /// and the newest snapshot must be of its newest snapshot height.
    pub fn check_restore(&self, i: usize) -> Result<(), String> {
        let node = &self.nodes[i];
        let genesis = self.genesis(&node.cfg);
        let interval = node.cfg.snapshot_interval;
        let height = node.state.tip.height.get();
        let newest = node.records.snapshot_manifests().map_err(|e| e.to_string())?.first().map(|m| m.height.get());
        let expected = (height / interval * interval > 0).then_some(height / interval * interval);
        if newest != expected {
            return Err(format!("at height {height} the newest snapshot is {newest:?}, not {expected:?}"));
        }
        let owner: Vec<_> = self.metagraph.owner_hotkey.into_iter().collect();
        let verified = VerifiedEnvelopes::new(4096);
        let start = crate::recovery::starting_state(&node.records, genesis.clone(), interval);
        let restored =
            crate::recovery::replay(&node.records, genesis, &node.cfg, &owner, &verified).map_err(|e| e.to_string())?.0;
        if start.tip.height.get() != newest.unwrap_or(0) {
            return Err(format!("started from height {} instead of the snapshot {newest:?}", start.tip.height));
        }
        if restored.tip != node.state.tip {
            return Err(format!(
                "from the snapshot at {newest:?}: tip {:?} against {:?}",
                restored.tip, node.state.tip
            ));
        }
        // Between snapshot heights the root covers only the registry: the rest compared whole.
        let live = |s: &platform_app::AppState| {
            let mut ids: Vec<_> = s.submissions.iter().map(|(id, c)| (*id, c.evaluations.clone())).collect();
            ids.sort_by_key(|(id, _)| *id);
            ids
        };
        if restored.retired != node.state.retired
            || restored.replays != node.state.replays
            || restored.smoothed != node.state.smoothed
            || live(&restored) != live(&node.state)
        {
            return Err(format!("from the snapshot at {newest:?}: the same tip, another state"));
        }
        Ok(())
    }

    /// The hashes of the first `count` blocks validator `i` stored.
    pub fn blocks(&self, i: usize, count: usize) -> Vec<platform_types::Hash> {
        self.nodes[i].records.blocks_from(1, count).expect("read").into_iter().map(|(b, _)| b.hash()).collect()
    }
}

/// Whether one of `cuts` separates validators `a` and `b` at `now`.
fn separated(cuts: &[Cut], now: Duration, a: usize, b: usize) -> bool {
    cuts.iter().any(|c| c.from <= now && now < c.until && (c.side.contains(&a) != c.side.contains(&b)))
}

/// What the gossip pump makes of a message published on `topic`.
/// What validator `to` makes of `bytes` gossiped on `topic`: its gossip pump's check
/// ([`crate::tasks::open_gossip`], with its memory of verified envelopes); `None` when the pump
/// refuses it (malformed or forged), so that it never reaches the core.
pub(crate) fn received(topic: Topic, bytes: Vec<u8>, verified: &VerifiedEnvelopes) -> Option<Gossiped> {
    crate::tasks::open_gossip(topic, bytes, NetUid::new(NETUID), verified)
}

pub(crate) fn heights(nodes: &[Core]) -> Vec<u64> {
    nodes.iter().map(|n| n.state.tip.height.get()).collect()
}

/// The owner (validator 0's key) adds challenge `sim` through validator `via` and, once every
/// running validator has it, the miner submits six payloads to `via`; returns the miner's key.
pub(crate) fn challenge_and_submissions(net: &mut Net, via: usize) -> Result<Keypair, Stuck> {
    add_challenge(net, via, "sim", super::sandbox::module())?;
    let miner = key(MINER);
    let payloads: Vec<Vec<u8>> = (0..6u64).map(|nonce| format!("answer {nonce}").into_bytes()).collect();
    submit(net, via, &miner, "sim", 0, &payloads);
    Ok(miner)
}

/// The owner (validator `V0`) adds challenge `id` running `module` through validator `via`
/// (which keeps the module, as `POST /sudo` does, for the others to fetch by its hash); runs
/// until every running validator has it.
pub(crate) fn add_challenge(net: &mut Net, via: usize, id: &str, module: &[u8]) -> Result<(), Stuck> {
    register_challenge(net, via, challenge_spec(id, module), module, false)
}

/// Challenge `id` running `module` with the default policy and scoring, its whole mechanism's
/// emission, no parameters, one phase: what [`register_challenge`] takes, to vary.
pub(crate) fn challenge_spec(id: &str, module: &[u8]) -> platform_types::ChallengeSpec {
    platform_types::ChallengeSpec {
        id: platform_types::ChallengeId::new(id).expect("id"),
        name: id.into(),
        module_hash: platform_types::blake2b_256(module),
        module_size: module.len() as u64,
        policy: Default::default(),
        scoring: Default::default(),
        mechanism: platform_types::MechanismId::new(0),
        emission_share_ppb: 1_000_000_000,
        params: Vec::new(),
        phases: Default::default(),
    }
}

/// [`add_challenge`] of `spec` (running `module`), or an update to it (`update`): runs until
/// every running validator holds the challenge with `spec`'s parameters.
pub(crate) fn register_challenge(
    net: &mut Net,
    via: usize,
    spec: platform_types::ChallengeSpec,
    module: &[u8],
    update: bool,
) -> Result<(), Stuck> {
    use platform_types::{Envelope, SudoAction, SudoCommand};
    let netuid = NetUid::new(NETUID);
    let owner = key("V0");
    let (id, params, hash) = (spec.id.clone(), spec.params.clone(), spec.module_hash);
    // The owner's nonces increase: one more than the challenges added so far (an update comes
    // after them all).
    let nonce = net.nodes[via].state.registry.challenges.len() as u64 + 1 + 100 * u64::from(update);
    let command = if update { SudoCommand::UpdateChallenge(spec) } else { SudoCommand::AddChallenge(spec) };
    let action = SudoAction { command, nonce, timestamp_ms: net.start.wall_ms + net.elapsed.as_millis() as u64 };
    let signed = Envelope::seal(&owner, netuid, &action).open(netuid).expect("signed");
    net.nodes[via].records.put_blob(&hash, module).expect("memory store");
    net.deliver(via, Input::Sudo { signed, local: true, reply: None });
    net.run_until(Duration::from_secs(30), |net| {
        net.nodes
            .iter()
            .zip(&net.down)
            .all(|(n, down)| *down || n.state.challenge(&id).is_some_and(|c| c.spec.params == params))
    })
}

/// `miner` submits `payloads` to `challenge` through validator `via`, with nonces from
/// `first_nonce` on, signed now; their ids.
pub(crate) fn submit(
    net: &mut Net,
    via: usize,
    miner: &Keypair,
    challenge: &str,
    first_nonce: u64,
    payloads: &[Vec<u8>],
) -> Vec<platform_types::SubmissionId> {
    let mut ids = Vec::new();
    for (nonce, payload) in (first_nonce..).zip(payloads) {
        let (id, input) = submission_input(net, miner, challenge, nonce, payload.clone(), None);
        ids.push(id);
        net.deliver(via, input);
    }
    ids
}

/// `miner`'s submission of `payload` (inline) to `challenge` with `nonce`, signed now, as the
/// API hands it to a validator's core (answering on `reply`, if given); and its id.
pub(crate) fn submission_input(
    net: &Net,
    miner: &Keypair,
    challenge: &str,
    nonce: u64,
    payload: Vec<u8>,
    reply: Option<tokio::sync::oneshot::Sender<Result<platform_types::SubmissionId, crate::core::Rejection>>>,
) -> (platform_types::SubmissionId, Input) {
    phased_input(net, miner, challenge, nonce, payload, reply, platform_types::Phase::Answer)
}

/// [`submission_input`] of a submission in `phase`.
pub(crate) fn phased_input(
    net: &Net,
    miner: &Keypair,
    challenge: &str,
    nonce: u64,
    payload: Vec<u8>,
    reply: Option<tokio::sync::oneshot::Sender<Result<platform_types::SubmissionId, crate::core::Rejection>>>,
    phase: platform_types::Phase,
) -> (platform_types::SubmissionId, Input) {
    use platform_types::{ChallengeId, Envelope, Payload, Submission, SubmissionId};
    let netuid = NetUid::new(NETUID);
    let submission = Submission {
        challenge: ChallengeId::new(challenge).expect("id"),
        miner: miner.public(),
        payload_size: payload.len() as u64,
        payload: Payload::Inline(payload),
        metadata: vec![],
        nonce,
        timestamp_ms: net.start.wall_ms + net.elapsed.as_millis() as u64,
        phase,
    };
    let envelope = Envelope::seal(miner, netuid, &submission);
    let id = SubmissionId(envelope.payload_hash());
    let bytes = envelope.to_bytes();
    let signed = envelope.open(netuid).expect("signed");
    (id, Input::Submit { signed, bytes, local: true, blob: None, reply })
}

/// The simulated chain's block `number` (its hash is a function of the number: the simulated
/// chain never reorganises).
pub(crate) fn chain_block(number: u64) -> platform_chain::BlockRef {
    platform_chain::BlockRef { number, hash: platform_types::blake2b_256(&number.to_le_bytes()) }
}
