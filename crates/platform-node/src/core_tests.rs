//! The core on its own: no tokio runtime, no network, no chain client, no actor. What it wants
//! done outside itself comes out as data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::AppState;
use platform_p2p::Topic;
use platform_storage::{MemoryStore, Store};
use platform_types::{Epoch, Keypair, Metagraph, NetUid, Neuron, SubnetParams, Uid, VerifiedEnvelopes};
use tokio::sync::watch;

use super::*;
use crate::config::Settings;
use crate::effects::Effect;
use crate::evaluations::Request as Evaluate;

const NETUID: u16 = 3;

/// The subnet's metagraph with these validators, equal stake each.
fn metagraph(validators: &[&str]) -> Metagraph {
    let keys: Vec<Keypair> = validators.iter().map(|s| Keypair::from_suri(s).expect("key")).collect();
    Metagraph {
        netuid: NetUid::new(NETUID),
        block: platform_chain::test_block(1),
        neurons: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Neuron {
                uid: Uid::new(i as u16),
                hotkey: k.public(),
                stake: 5_000_000_000_000,
                validator_permit: true,
            })
            .collect(),
        owner_coldkey: None,
        owner_hotkey: Some(keys[0].public()),
        params: SubnetParams {
            tempo: 100,
            weights_version_key: 0,
            weights_rate_limit: 1,
            commit_reveal_enabled: false,
            reveal_period_epochs: 1,
            mechanism_count: 1,
        },
    }
}

/// The core of validator `suri` of `metagraph`'s subnet over an in-memory store, starting at
/// `clock`.
fn validator(suri: &str, metagraph: Metagraph, clock: Clock) -> Core {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = NodeConfig::from_settings(Settings {
        secret_key: Some(suri.into()),
        netuid: Some(NETUID),
        data_dir: Some(dir.path().to_path_buf()),
        block_interval_ms: Some(10),
        view_timeout_ms: Some(200),
        ..Settings::default()
    })
    .expect("config");
    let genesis = platform_app::weights::validator_set(&metagraph, cfg.min_stake_rao, Epoch::new(0)).expect("a set");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (status, _) = watch::channel(Value::Null);
    let (read_view, _) = watch::channel(Arc::new(crate::view::ReadView::starting()));
    let parts = CoreParts {
        cfg: Arc::new(cfg),
        records: Records::new(store.clone()),
        state: AppState::genesis(genesis),
        metagraph,
        verified: Arc::new(VerifiedEnvelopes::new(64)),
        metrics: Arc::new(Metrics::default()),
        status,
        read_view,
        clock,
    };
    Core::new(parts, store).expect("core")
}

/// A core of a lone validator (all the stake).
fn lone_validator() -> Core {
    validator("//Alice", metagraph(&["//Alice"]), Clock { now: Instant::now(), wall_ms: 1_764_000_000_000 })
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

/// Validators whose only link is this harness: each one's consensus `Publish` effects reach
/// the others as gossip after a delay drawn from a seeded generator, timers fire in virtual
/// time, and a validator may be down (it neither hears nor speaks). The real core, driven by
/// hand: the start of a whole-node deterministic simulation.
struct Net {
    nodes: Vec<Core>,
    timers: Vec<crate::effects::Timers>,
    /// Messages on their way: (when, sequence, to, input).
    in_flight: Vec<(Instant, u64, usize, Input)>,
    down: Vec<bool>,
    rng: rand::rngs::StdRng,
    start: Clock,
    elapsed: Duration,
    sent: u64,
}

impl Net {
    fn new(count: usize, seed: u64) -> Net {
        use rand::SeedableRng;
        let names: Vec<String> = (0..count).map(|i| format!("//V{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // A fixed origin: the same seed gives the same run.
        let start = Clock { now: Instant::now(), wall_ms: 1_764_000_000_000 };
        let mut nodes: Vec<Core> = names.iter().map(|n| validator(n, metagraph(&refs), start)).collect();
        for node in &mut nodes {
            node.start();
        }
        Net {
            timers: nodes.iter().map(|_| Default::default()).collect(),
            down: vec![false; count],
            nodes,
            in_flight: Vec::new(),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            start,
            elapsed: Duration::ZERO,
            sent: 0,
        }
    }

    /// Runs in steps of 5 ms of virtual time until every running validator reached `height`.
    fn run_to(&mut self, height: u64, limit: Duration) {
        use rand::Rng;
        while self.nodes.iter().zip(&self.down).any(|(n, down)| !down && n.state.tip.height.get() < height) {
            assert!(self.elapsed < limit, "stuck at heights {:?}", heights(&self.nodes));
            self.elapsed += Duration::from_millis(5);
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
                for effect in node.take_effects() {
                    match effect {
                        Effect::Publish { topic: Topic::Consensus, bytes } => {
                            for to in (0..self.down.len()).filter(|&to| to != i && !self.down[to]) {
                                self.sent += 1;
                                let envelope = platform_types::Envelope::from_bytes(&bytes, 1 << 20).expect("decodes");
                                let message =
                                    Gossiped::open(envelope, bytes.clone(), NetUid::new(NETUID), &node.verified)
                                        .expect("a consensus message");
                                let id = platform_p2p::MessageId::from_bytes(&self.sent.to_le_bytes());
                                let from = platform_consensus::PeerTag(i as u64);
                                let latency = Duration::from_millis(self.rng.gen_range(1..=20));
                                self.in_flight.push((
                                    clock.now + latency,
                                    self.sent,
                                    to,
                                    Input::Gossip { id, from, message },
                                ));
                            }
                        }
                        Effect::Timer { height, view, after } => self.timers[i].set(clock.now + after, height, view),
                        // Nothing to evaluate, sync or send to a chain here.
                        _ => {}
                    }
                }
            }
        }
    }

    /// The hashes of the first `count` blocks validator `i` stored.
    fn blocks(&self, i: usize, count: usize) -> Vec<platform_types::Hash> {
        self.nodes[i].records.blocks_from(1, count).expect("read").into_iter().map(|(b, _)| b.hash()).collect()
    }
}

fn heights(nodes: &[Core]) -> Vec<u64> {
    nodes.iter().map(|n| n.state.tip.height.get()).collect()
}

/// Two validators of half the stake each (both must vote) commit the same blocks.
#[test]
fn two_validators_commit_the_same_blocks_through_their_effects_alone() {
    let mut net = Net::new(2, 1);
    net.run_to(5, Duration::from_secs(30));
    assert_eq!(net.blocks(0, 5).len(), 5);
    assert_eq!(net.blocks(0, 5), net.blocks(1, 5), "the same five blocks on both");
    assert_eq!(net.nodes[0].state.tip.state_root, net.nodes[1].state.tip.state_root);
}

/// Four validators, one of them down from the start (f = 1 of n = 4): the other three hold
/// three quarters of the stake and keep committing, the same blocks, at every seed tried.
#[test]
fn three_of_four_validators_commit_without_the_fourth() {
    for seed in 0..5 {
        let mut net = Net::new(4, seed);
        net.down[3] = true;
        net.run_to(4, Duration::from_secs(60));
        let first = net.blocks(0, 4);
        assert_eq!(first.len(), 4, "seed {seed}");
        assert!((1..3).all(|i| net.blocks(i, 4) == first), "seed {seed}: the three agree");
    }
}

/// The same seed gives the same run: every validator's blocks, byte for byte, and the virtual
/// time it took; another seed (other delays) still commits.
#[test]
fn the_same_seed_replays_the_same_run() {
    let run = |seed: u64| {
        let mut net = Net::new(4, seed);
        net.run_to(6, Duration::from_secs(60));
        ((0..4).map(|i| net.blocks(i, 6)).collect::<Vec<_>>(), net.elapsed)
    };
    let (first, took) = run(7);
    assert!(first.iter().all(|b| *b == first[0] && b.len() == 6), "all four agree");
    assert_eq!(run(7), (first, took), "seed 7 twice");
    assert_eq!(run(8).0[0].len(), 6);
}
