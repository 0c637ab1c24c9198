//! Several validators' cores linked only by this harness: a seeded network of delays, timers
//! in virtual time, a chain whose head moves, validators that may be down, and one Byzantine
//! behaviour (a leader jumping epochs). The real core, driven by hand: the start of a
//! whole-node deterministic simulation. Not simulated yet: sync between validators (a
//! validator that falls behind stays behind), module loading and the sandbox (evaluations
//! are answered with a score every honest validator computes alike), restarts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_p2p::Topic;
use platform_types::{Keypair, Metagraph, NetUid, VerifiedEnvelopes};

use super::tests::{MINER, NETUID, metagraph, validator};
use super::*;
use crate::effects::Effect;
use crate::evaluations::Request as Evaluate;

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
    /// The metagraph every validator reads (its block moves with the chain).
    metagraph: Metagraph,
    /// The chain's head, and how often it moves (never when `None`).
    chain: u64,
    chain_every: Option<Duration>,
    /// The weights each validator asked the chain to set, in order.
    weights: Vec<Vec<platform_types::WeightsProposal>>,
    /// A Byzantine validator that leads with blocks claiming an epoch far ahead of the chain
    /// (the epoch jump that once stopped weight setting): its proposals are rewritten and
    /// signed again with its own key on their way out.
    epoch_jumper: Option<usize>,
    /// Proposals the epoch jumper sent rewritten.
    jumped: u64,
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
            metagraph: metagraph(&refs),
            chain: 1,
            chain_every: None,
            weights: vec![Vec::new(); count],
            epoch_jumper: None,
            jumped: 0,
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
        self.run_until(limit, |net| {
            net.nodes.iter().zip(&net.down).all(|(n, down)| *down || n.state.tip.height.get() >= height)
        });
    }

    /// The metagraph as read at chain block `number`.
    fn metagraph_at(&self, number: u64) -> Arc<Metagraph> {
        Arc::new(Metagraph { block: platform_chain::test_block(number), ..self.metagraph.clone() })
    }

    /// Hands `input` to validator `to` at the next step.
    fn deliver(&mut self, to: usize, input: Input) {
        self.sent += 1;
        self.in_flight.push((self.start.now + self.elapsed, self.sent, to, input));
    }

    /// Runs in steps of 5 ms of virtual time until `done`.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) {
        use rand::Rng;
        while !done(self) {
            assert!(self.elapsed < limit, "stuck at heights {:?}", heights(&self.nodes));
            self.elapsed += Duration::from_millis(5);
            // The chain moves: every validator sees the new head, and reads the metagraph at it.
            if let Some(every) = self.chain_every
                && self.elapsed.as_millis().is_multiple_of(every.as_millis())
            {
                self.chain += 1;
                let (block, metagraph) = (platform_chain::test_block(self.chain), self.metagraph_at(self.chain));
                for to in 0..self.nodes.len() {
                    self.deliver(to, Input::Chain { block, metagraph: Some(metagraph.clone()) });
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
                for effect in node.take_effects() {
                    match effect {
                        Effect::Publish { topic, bytes } => {
                            let bytes = match self.epoch_jumper == Some(i) {
                                true => match jump_epoch(&node.keypair, &bytes) {
                                    Some(jumped) => {
                                        self.jumped += 1;
                                        jumped
                                    }
                                    None => bytes,
                                },
                                false => bytes,
                            };
                            for to in (0..self.down.len()).filter(|&to| to != i && !self.down[to]) {
                                self.sent += 1;
                                let message = received(topic, bytes.clone(), &node.verified);
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
                        Effect::Evaluate(Evaluate::Evaluate(target)) => own.push(evaluated(&node.keypair, &target)),
                        Effect::Chain(crate::chain_client::Request::Weights { weights, .. }) => {
                            self.weights[i].push(weights)
                        }
                        Effect::Chain(crate::chain_client::Request::Metagraph(block)) => {
                            let metagraph = Arc::new(Metagraph {
                                block: platform_chain::test_block(block.number),
                                ..self.metagraph.clone()
                            });
                            own.push(Input::MetagraphRead { block, metagraph: Ok(metagraph) })
                        }
                        // Modules, reveals, blocks and bodies from peers are not needed here.
                        _ => {}
                    }
                }
                for input in own {
                    self.deliver(i, input);
                }
            }
        }
    }

    /// The hashes of the first `count` blocks validator `i` stored.
    fn blocks(&self, i: usize, count: usize) -> Vec<platform_types::Hash> {
        self.nodes[i].records.blocks_from(1, count).expect("read").into_iter().map(|(b, _)| b.hash()).collect()
    }
}

/// A proposal leaves with its block's epoch 1 000 ahead, signed again by `keypair` (so the
/// signature holds and only the block rules can refuse it); `None` for any other message.
fn jump_epoch(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    use platform_types::{Codec, Envelope, MessageKind, Proposal};
    let envelope = Envelope::from_bytes(bytes, 1 << 20).ok().filter(|e| e.kind == MessageKind::Proposal)?;
    let mut proposal = Proposal::from_bytes(&envelope.payload).ok()?;
    proposal.block.header.epoch = platform_types::Epoch::new(proposal.block.header.epoch.get() + 1_000);
    Some(Envelope::seal(keypair, NetUid::new(NETUID), &proposal).to_bytes())
}

/// What the gossip pump makes of a message published on `topic`.
fn received(topic: Topic, bytes: Vec<u8>, verified: &VerifiedEnvelopes) -> Gossiped {
    use platform_types::{Envelope, Evaluation, Submission};
    let netuid = NetUid::new(NETUID);
    match topic {
        Topic::SubmissionBatches | Topic::Evaluations => {
            let raw = Envelope::split_batch(&bytes, 1 << 20).expect("a batch");
            let envelopes: Vec<Envelope> =
                raw.iter().map(|b| Envelope::from_bytes(b, 1 << 20).expect("decodes")).collect();
            if topic == Topic::Evaluations {
                let opened = Envelope::open_batch::<Evaluation>(envelopes, netuid);
                Gossiped::Evaluations(opened.into_iter().map(|e| e.expect("signed")).collect())
            } else {
                let opened = Envelope::open_batch::<Submission>(envelopes, netuid);
                Gossiped::Submissions(opened.into_iter().map(|e| e.expect("signed")).zip(raw).collect())
            }
        }
        _ => {
            let envelope = Envelope::from_bytes(&bytes, 1 << 20).expect("decodes");
            Gossiped::open(envelope, bytes, netuid, verified).expect("a signed message")
        }
    }
}

/// A validator's signed evaluation of `target`, as the evaluation actor would answer: a score
/// every honest validator computes alike (here, from the submission id).
fn evaluated(keypair: &Keypair, target: &crate::evaluations::Target) -> Input {
    let id = target.id;
    let evaluation = platform_types::Evaluation {
        submission: id,
        challenge: target.challenge.clone(),
        validator: keypair.public(),
        status: platform_types::EvaluationStatus::Scored,
        score_ppb: u32::from_le_bytes(id.0.as_bytes()[..4].try_into().expect("4 bytes")) % 1_000_000_000,
        fuel_used: 1_000,
        output_hash: platform_types::blake2b_256(id.0.as_bytes()),
        epoch: target.epoch,
    };
    Input::Evaluated { id, envelope: platform_types::Envelope::seal(keypair, NetUid::new(NETUID), &evaluation) }
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

/// The pipeline above consensus, simulated: the owner adds a challenge, a miner submits to one
/// validator, every validator evaluates what is committed, and when the chain moves to the next
/// epoch all four ask the chain to set the same weights, which reward the miner.
#[test]
fn four_validators_evaluate_and_agree_on_the_weights_they_set() {
    let mut net = Net::new(4, 3);
    net.chain_every = Some(Duration::from_millis(100));
    let miner = challenge_and_submissions(&mut net);
    net.run_until(Duration::from_secs(60), |net| net.weights.iter().all(|w| !w.is_empty()));
    let first = &net.weights[0][0];
    assert!(net.weights.iter().all(|w| w[0] == *first), "the same weights from all four: {:?}", net.weights);
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    assert!(first.mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "the miner is rewarded: {first:?}");
    assert_eq!(net.nodes[0].state.submissions.len(), 6, "every submission committed");
}

/// The owner adds challenge `sim` through validator 0 and, once every validator has it, the
/// miner submits six payloads to validator 0; returns the miner's key.
fn challenge_and_submissions(net: &mut Net) -> Keypair {
    use platform_types::{
        ChallengeId, ChallengeSpec, Envelope, MechanismId, Payload, Submission, SudoAction, SudoCommand,
    };
    let netuid = NetUid::new(NETUID);
    let owner = Keypair::from_suri("//V0").expect("owner");
    let spec = ChallengeSpec {
        id: ChallengeId::new("sim").expect("id"),
        name: "sim".into(),
        module_hash: platform_types::blake2b_256(b"module"),
        module_size: 6,
        policy: Default::default(),
        scoring: Default::default(),
        mechanism: MechanismId::new(0),
        emission_share_ppb: 1_000_000_000,
    };
    let action = SudoAction { command: SudoCommand::AddChallenge(spec), nonce: 1, timestamp_ms: net.start.wall_ms };
    let signed = Envelope::seal(&owner, netuid, &action).open(netuid).expect("signed");
    net.deliver(0, Input::Sudo { signed, local: true, reply: None });
    net.run_until(Duration::from_secs(30), |net| {
        net.nodes.iter().all(|n| n.state.challenge(&ChallengeId::new("sim").expect("id")).is_some())
    });

    let miner = Keypair::from_suri(MINER).expect("miner");
    for nonce in 0..6u64 {
        let payload = format!("answer {nonce}").into_bytes();
        let submission = Submission {
            challenge: ChallengeId::new("sim").expect("id"),
            miner: miner.public(),
            payload_size: payload.len() as u64,
            payload: Payload::Inline(payload),
            metadata: vec![],
            nonce,
            timestamp_ms: net.start.wall_ms + net.elapsed.as_millis() as u64,
        };
        let envelope = Envelope::seal(&miner, netuid, &submission);
        let bytes = envelope.to_bytes();
        let signed = envelope.open(netuid).expect("signed");
        net.deliver(0, Input::Submit { signed, bytes, local: true, blob: None, reply: None });
    }
    miner
}

/// One of four validators leads with blocks whose epoch jumps 1 000 ahead of the chain. The
/// others refuse them (the block's epoch must be its linked chain block's), change views past
/// it, and keep setting the same weights each epoch; no committed block carries a jumped epoch.
#[test]
fn an_epoch_jumping_leader_is_refused_and_weights_keep_being_set() {
    let mut net = Net::new(4, 11);
    net.chain_every = Some(Duration::from_millis(100));
    net.epoch_jumper = Some(1);
    let miner = challenge_and_submissions(&mut net);
    let honest = [0usize, 2, 3];
    net.run_until(Duration::from_secs(120), |net| honest.iter().all(|&i| net.weights[i].len() >= 2));
    for epoch in 0..2 {
        let first = &net.weights[0][epoch];
        assert!(honest.iter().all(|&i| net.weights[i][epoch] == *first), "epoch {epoch}: {:?}", net.weights);
    }
    let miner_uid = net.metagraph.uid_of(&miner.public()).expect("registered");
    assert!(net.weights[0][1].mechanisms.iter().any(|m| m.uids.contains(&miner_uid)), "{:?}", net.weights[0][1]);
    let height = net.nodes[0].state.tip.height.get() as usize;
    let blocks = net.nodes[0].records.blocks_from(1, height).expect("read");
    assert!(blocks.iter().all(|(b, _)| b.header.epoch.get() < 1_000), "a jumped epoch was committed");
    assert!(net.nodes[0].state.tip.epoch.get() < 1_000);
    assert!(net.jumped > 0, "the jumper led and its proposals went out rewritten");
}
