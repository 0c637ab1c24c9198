//! The harness of the block-rule tests: a network's keys and chain, proposals built on a
//! state, and the verdict a follower must reach on each ([`TestStep`]).
#![allow(dead_code, unused_imports)]

pub use std::collections::HashMap;
pub use std::sync::Arc;

pub use platform_app::{AppState, CHAIN_LAG, CHAIN_LEAD, ChainView, Context, Invalid, SubmissionInfo, weights};
pub use platform_types::{
    Action, Block, BlockHeaderFields, BlockRef, ChallengeId, ChallengeSpec, Envelope, Epoch, Evaluation,
    EvaluationBatch, EvaluationStatus, Hash, Keypair, MechanismId, Metagraph, NetUid, Neuron, Normalisation, Phase,
    Phases, PublicKey, RuntimePolicy, Schedule, ScoringConfig, SubmissionId, SubnetParams, SudoAction, SudoCommand,
    Uid, VerifiedEnvelopes, blake2b_256,
};

pub const NETUID: NetUid = NetUid::new(1);
pub const TEMPO: u16 = 20;

pub fn key(name: &str) -> Keypair {
    Keypair::from_suri(&format!("//{name}")).expect("dev key")
}

pub fn chain_block(number: u64) -> BlockRef {
    BlockRef { number, hash: blake2b_256(&number.to_le_bytes()) }
}

/// Epoch of a chain block for netuid 1, tempo 20: (block + 2) / 21.
pub fn epoch_at(number: u64) -> Epoch {
    Epoch::new(Schedule { netuid: NETUID.get(), tempo: TEMPO, reveal_period_epochs: 1 }.epoch_index(number))
}

pub struct Net {
    pub validators: Vec<Keypair>,
    pub owner: Keypair,
    pub miner: Keypair,
    /// A second miner.
    pub rival: Keypair,
    /// The subnet as the chain holds it (the template of every read).
    pub metagraph: Metagraph,
    /// The metagraphs this validator read from the chain, by chain block hash.
    pub reads: HashMap<Hash, Arc<Metagraph>>,
    pub chain: ChainView,
    pub bodies: HashMap<SubmissionId, SubmissionInfo>,
    pub verified: VerifiedEnvelopes,
    pub sudo_nonce: u64,
}

impl Net {
    pub fn new() -> Net {
        let validators: Vec<Keypair> = (0..4).map(|i| key(&format!("V{i}"))).collect();
        let (owner, miner, rival) = (key("Owner"), key("Miner"), key("Rival"));
        let mut neurons: Vec<Neuron> = validators
            .iter()
            .enumerate()
            .map(|(i, k)| Neuron {
                uid: Uid::new(i as u16),
                hotkey: k.public(),
                stake: 2_000_000_000_000,
                validator_permit: true,
            })
            .collect();
        neurons.push(Neuron { uid: Uid::new(4), hotkey: miner.public(), stake: 0, validator_permit: false });
        neurons.push(Neuron { uid: Uid::new(5), hotkey: owner.public(), stake: 0, validator_permit: false });
        neurons.push(Neuron { uid: Uid::new(6), hotkey: rival.public(), stake: 0, validator_permit: false });
        let params = SubnetParams::unrestricted(TEMPO);
        let metagraph = Metagraph {
            netuid: NETUID,
            block: chain_block(1),
            neurons,
            owner_coldkey: None,
            owner_hotkey: Some(owner.public()),
            params,
        };
        let chain = ChainView::new(params.schedule(NETUID));
        Net {
            validators,
            owner,
            miner,
            rival,
            metagraph,
            reads: HashMap::new(),
            chain,
            bodies: HashMap::new(),
            verified: VerifiedEnvelopes::new(1024),
            sudo_nonce: 0,
        }
    }

    pub fn genesis(&self) -> AppState {
        AppState::genesis(weights::validator_set(&self.metagraph, 1, Epoch::new(0)).expect("validators"))
    }

    /// The metagraph at chain block `number`, as this validator reads it from the chain.
    pub fn read_at(&mut self, number: u64) -> Metagraph {
        let metagraph = Metagraph { block: chain_block(number), ..self.metagraph.clone() };
        self.reads.insert(metagraph.block.hash, Arc::new(metagraph.clone()));
        metagraph
    }

    pub fn see_chain_up_to(&mut self, number: u64) {
        let from = self.chain.head().map_or(1, |h| h.number + 1);
        for n in from..=number {
            self.chain.observe(chain_block(n), None);
        }
    }

    pub fn block(&self, state: &AppState, link: BlockRef, epoch: Epoch, actions: Vec<Action>) -> Block {
        Block::new(
            BlockHeaderFields {
                height: state.tip.height.next(),
                epoch,
                chain: link,
                parent_hash: state.tip.hash,
                parent_state_root: state.tip.state_root,
                proposer: self.validators[0].public(),
                validators_hash: state.registry.validators.hash(),
            },
            actions,
        )
    }

    /// A block linked to the newest chain block seen, of that block's epoch.
    pub fn next_block(&self, state: &AppState, actions: Vec<Action>) -> Block {
        let head = self.chain.head().expect("a chain block seen");
        self.block(state, head, self.chain.epoch_of(&head, state.tip.epoch).expect("seen"), actions)
    }

    pub fn sudo(&mut self, signer: &Keypair, command: SudoCommand) -> Action {
        self.sudo_nonce += 1;
        let action = SudoAction { command, nonce: self.sudo_nonce, timestamp_ms: 0 };
        Action::Sudo(Envelope::seal(signer, NETUID, &action))
    }

    pub fn add_challenge(&mut self, id: &str) -> Action {
        self.add_scored_challenge(id, ScoringConfig::default())
    }

    pub fn add_scored_challenge(&mut self, id: &str, scoring: ScoringConfig) -> Action {
        self.add_challenge_as(id, scoring, Phases::One)
    }

    /// Adds a two-phase challenge whose reveals are accepted within `reveal_blocks`.
    pub fn add_two_phase_challenge(&mut self, id: &str, reveal_blocks: u32) -> Action {
        self.add_challenge_as(id, ScoringConfig::default(), Phases::CommitReveal { reveal_blocks })
    }

    pub fn add_challenge_as(&mut self, id: &str, scoring: ScoringConfig, phases: Phases) -> Action {
        let spec = ChallengeSpec {
            id: ChallengeId::new(id).expect("id"),
            name: id.into(),
            module_hash: blake2b_256(id.as_bytes()),
            module_size: 1,
            policy: RuntimePolicy::default(),
            scoring,
            mechanism: MechanismId::new(0),
            emission_share_ppb: 1_000_000_000,
            params: Vec::new(),
            phases,
        };
        let owner = self.owner.clone();
        self.sudo(&owner, SudoCommand::AddChallenge(spec))
    }

    /// A submission body known to this validator, and the action ordering it.
    pub fn submission(&mut self, challenge: &str, tag: u8) -> (SubmissionId, Action) {
        let miner = self.miner.public();
        self.submission_by(challenge, tag, miner)
    }

    /// A submission of `miner`'s, signed `tag` seconds after the Unix epoch.
    pub fn submission_by(&mut self, challenge: &str, tag: u8, miner: PublicKey) -> (SubmissionId, Action) {
        self.submission_at(challenge, tag, miner, u64::from(tag) * 1000)
    }

    /// A submission of `miner`'s signed at `timestamp_ms`.
    pub fn submission_at(
        &mut self,
        challenge: &str,
        tag: u8,
        miner: PublicKey,
        timestamp_ms: u64,
    ) -> (SubmissionId, Action) {
        self.phased(challenge, tag, miner, timestamp_ms, Phase::Answer)
    }

    /// A submission of `miner`'s signed at `timestamp_ms`, in `phase`.
    pub fn phased(
        &mut self,
        challenge: &str,
        tag: u8,
        miner: PublicKey,
        timestamp_ms: u64,
        phase: Phase,
    ) -> (SubmissionId, Action) {
        let id = SubmissionId(Hash::from_bytes([tag; 32]));
        let info = SubmissionInfo { challenge: ChallengeId::new(challenge).expect("id"), miner, timestamp_ms, phase };
        self.bodies.insert(id, info);
        (id, Action::Submission(id))
    }

    pub fn evaluation(&self, by: &Keypair, id: SubmissionId, challenge: &str, epoch: Epoch) -> Action {
        self.scored(by, id, challenge, epoch, 500_000_000)
    }

    pub fn scored(&self, by: &Keypair, id: SubmissionId, challenge: &str, epoch: Epoch, score_ppb: u32) -> Action {
        self.batch(by, &[(id, challenge, epoch, score_ppb)])
    }

    /// One batch of `by`'s verdicts: (submission, challenge, epoch, score) each.
    pub fn batch(&self, by: &Keypair, verdicts: &[(SubmissionId, &str, Epoch, u32)]) -> Action {
        let evaluations = verdicts
            .iter()
            .map(|&(submission, challenge, epoch, score_ppb)| Evaluation {
                submission,
                challenge: ChallengeId::new(challenge).expect("id"),
                validator: by.public(),
                status: EvaluationStatus::Scored,
                score_ppb,
                fuel_used: 1,
                output_hash: Hash::ZERO,
                epoch,
            })
            .collect();
        Action::Evaluations(Envelope::seal(by, NETUID, &EvaluationBatch::new(evaluations).expect("batch")))
    }

    pub fn check(&self, state: &AppState, block: &Block) -> Result<(), Invalid> {
        let sudo = [self.owner.public()];
        let lookup = |id: &SubmissionId| self.bodies.get(id).cloned();
        let metagraph_at = |b: &BlockRef| self.reads.get(&b.hash).cloned();
        let ctx = Context {
            netuid: NETUID,
            sudo: &sudo,
            metagraph_at: &metagraph_at,
            chain: Some(&self.chain),
            min_stake: 1,
            lookup: &lookup,
            verified: &self.verified,
        };
        state.check_block(block, &ctx)
    }

    /// Applies a committed block, as a replay does: without chain reads or chain blocks.
    pub fn apply(&self, state: &mut AppState, block: &Block) -> platform_app::Effects {
        let sudo = [self.owner.public()];
        let lookup = |id: &SubmissionId| self.bodies.get(id).cloned();
        let ctx = Context {
            netuid: NETUID,
            sudo: &sudo,
            metagraph_at: &|_| None,
            chain: None,
            min_stake: 1,
            lookup: &lookup,
            verified: &self.verified,
        };
        let effects = state.apply_block(block, &ctx);
        assert!(effects.skipped.is_empty(), "a checked block applies whole: {:?}", effects.skipped);
        effects
    }
}

/// What a follower must say of a proposal.
#[derive(Debug)]
pub enum Expect {
    /// Valid: it votes for it, and the block is applied.
    Valid,
    /// Refused for good, with a reason containing this text.
    Refused(&'static str),
    /// Not yet: something it refers to may still arrive.
    Pending,
}

/// One proposal and the verdict expected of it. The block is built when the step runs, on
/// the state the steps before it left: linked to `link` with `epoch`, or, by default, to the
/// newest chain block seen with that block's epoch.
pub struct TestStep {
    pub rule: &'static str,
    pub link: Option<(BlockRef, Epoch)>,
    pub actions: Vec<Action>,
    pub expect: Expect,
}

/// A step whose block links to the newest chain block seen.
pub fn step(rule: &'static str, actions: Vec<Action>, expect: Expect) -> TestStep {
    TestStep { rule, link: None, actions, expect }
}

/// A step whose block links to `link` and claims `epoch`.
pub fn linked(rule: &'static str, link: BlockRef, epoch: Epoch, expect: Expect) -> TestStep {
    TestStep { rule, link: Some((link, epoch)), actions: vec![], expect }
}

pub fn run(net: &Net, state: &mut AppState, step: TestStep) {
    let block = match step.link {
        Some((link, epoch)) => net.block(state, link, epoch, step.actions),
        None => net.next_block(state, step.actions),
    };
    let verdict = net.check(state, &block);
    match (&step.expect, &verdict) {
        (Expect::Valid, Ok(())) => drop(net.apply(state, &block)),
        (Expect::Refused(text), Err(e @ Invalid::Rule(reason))) if reason.contains(text) && !e.is_pending() => {}
        (Expect::Pending, Err(e)) if e.is_pending() => {}
        _ => panic!("rule {:?}: expected {:?}, got {:?}", step.rule, step.expect, verdict),
    }
}

pub fn run_all(net: &Net, state: &mut AppState, steps: Vec<TestStep>) {
    for s in steps {
        run(net, state, s);
    }
}
