//! Table-driven tests of single state-machine transitions: each step feeds one input and
//! lists the outputs expected, by kind, in order. Here: the harness, the happy path and a
//! validator that follows without signing; hostile and malformed inputs in [`hostile`]; view
//! changes, resends and restarts in [`views`].

mod hostile;
mod views;

use std::sync::Arc;

use platform_consensus::{Committee, Config, Consensus, Input, Misbehaviour, Output, PeerTag, Tip};
use platform_storage::{MemoryStore, Store};
use platform_types::*;

const NETUID: NetUid = NetUid::new(1);

struct Net {
    keys: Vec<Keypair>,
    committee: Committee,
}

impl Net {
    fn new() -> Self {
        let keys: Vec<Keypair> = (0..4).map(|i| Keypair::from_suri(&format!("//t/{i}")).expect("key")).collect();
        let validators = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator { hotkey: k.public(), uid: Uid::new(i as u16), stake: 10 })
            .collect();
        let committee = Committee::new(ValidatorSet { epoch: Epoch::new(0), validators }).expect("set");
        Net { keys, committee }
    }

    fn key_of(&self, hotkey: PublicKey) -> &Keypair {
        self.keys.iter().find(|k| k.public() == hotkey).expect("member")
    }

    fn leader(&self, height: u64, view: u64) -> &Keypair {
        self.key_of(self.committee.leader(Height::new(height), View::new(view)))
    }

    /// A validator that is not the leader of (1, 0) or (1, 1): the node under test.
    fn follower(&self) -> &Keypair {
        let leaders =
            [self.committee.leader(Height::new(1), View::new(0)), self.committee.leader(Height::new(1), View::new(1))];
        self.keys.iter().find(|k| !leaders.contains(&k.public())).expect("a follower")
    }

    fn others(&self, me: &Keypair) -> Vec<&Keypair> {
        self.keys.iter().filter(|k| k.public() != me.public()).collect()
    }

    fn block(&self, height: u64, view: u64, tag: u8) -> Block {
        Block::new(
            BlockHeaderFields {
                height: Height::new(height),
                epoch: Epoch::new(0),
                chain: BlockRef::default(),
                parent_hash: Hash::ZERO,
                parent_state_root: Hash::from_bytes([7; 32]),
                proposer: self.committee.leader(Height::new(height), View::new(view)),
                validators_hash: self.committee.hash(),
            },
            vec![Action::Submission(SubmissionId(Hash::from_bytes([tag; 32])))],
        )
    }

    fn proposal(&self, view: u64, block: Block) -> Input {
        let proposal = Proposal { height: block.header.height, view: View::new(view), block, justification: None };
        let signer = self.leader(proposal.height.get(), view);
        Input::Message { from: PeerTag(1), envelope: Envelope::seal(signer, NETUID, &proposal) }
    }

    fn vote(&self, signer: &Keypair, kind: VoteKind, view: u64, block: &Block) -> Input {
        let vote = Vote { kind, height: block.header.height, view: View::new(view), block_hash: block.hash() };
        Input::Message { from: PeerTag(2), envelope: Envelope::seal(signer, NETUID, &vote) }
    }

    /// A started machine for [`Net::follower`] with a fresh store.
    fn started_follower(&self) -> (Consensus, &Keypair) {
        let me = self.follower();
        let mut machine = self.machine(me, Arc::new(MemoryStore::new()));
        machine.start();
        (machine, me)
    }

    fn machine(&self, me: &Keypair, store: Arc<dyn Store>) -> Consensus {
        let tip = Tip::genesis(Hash::from_bytes([7; 32]), Epoch::new(0));
        Consensus::new(Config::new(NETUID), me.clone(), store, self.committee.clone(), tip).expect("machine")
    }
}

fn describe(output: &Output) -> String {
    match output {
        Output::Broadcast(e) => format!("send:{:?}", e.kind),
        Output::SetTimer { view, .. } => format!("timer:{}", view.get()),
        Output::BuildProposal { .. } => "build".into(),
        Output::VerifyProposal { .. } => "verify".into(),
        Output::Commit { .. } => "commit".into(),
        Output::Checkpoint(_) => "checkpoint".into(),
        Output::NeedSync { height } => format!("sync:{}", height.get()),
        Output::Misbehaviour { reason, .. } => match reason {
            Misbehaviour::BadSignature(_) => "bad-signature".into(),
            Misbehaviour::NotTheLeader(_) => "not-leader".into(),
            Misbehaviour::NotAValidator(_) => "not-validator".into(),
            Misbehaviour::Equivocation(_) => "equivocation".into(),
            Misbehaviour::InvalidProposal(why) => format!("invalid-proposal:{why}"),
            Misbehaviour::InvalidCertificate(why) => format!("invalid-certificate:{why}"),
            Misbehaviour::Malformed(_) => "malformed".into(),
        },
    }
}

struct Step {
    name: &'static str,
    input: Input,
    expect: &'static [&'static str],
}

fn run(machine: &mut Consensus, steps: Vec<Step>) {
    for step in steps {
        let outputs: Vec<String> = machine.handle(step.input).iter().map(describe).collect();
        assert_eq!(outputs, step.expect, "step {:?}", step.name);
    }
}

#[test]
fn the_happy_path_commits_in_three_phases() {
    let net = Net::new();
    let me = net.follower();
    let mut machine = net.machine(me, Arc::new(MemoryStore::new()));
    assert_eq!(machine.start().iter().map(describe).collect::<Vec<_>>(), ["timer:0"]);
    let block = net.block(1, 0, 1);
    let others = net.others(me);
    run(
        &mut machine,
        vec![
            Step { name: "proposal", input: net.proposal(0, block.clone()), expect: &["verify"] },
            Step {
                name: "application accepts",
                input: Input::ProposalVerified {
                    height: Height::new(1),
                    view: View::new(0),
                    block_hash: block.hash(),
                    valid: true,
                },
                expect: &["send:Prepare"],
            },
            Step { name: "prepare 2/4", input: net.vote(others[0], VoteKind::Prepare, 0, &block), expect: &[] },
            Step {
                name: "prepare 3/4: prepared",
                input: net.vote(others[1], VoteKind::Prepare, 0, &block),
                expect: &["send:Commit"],
            },
            Step {
                name: "late prepare ignored",
                input: net.vote(others[2], VoteKind::Prepare, 0, &block),
                expect: &[],
            },
            Step { name: "commit 2/4", input: net.vote(others[0], VoteKind::Commit, 0, &block), expect: &[] },
            Step {
                name: "commit 3/4: decided",
                input: net.vote(others[1], VoteKind::Commit, 0, &block),
                expect: &["commit"],
            },
            Step {
                name: "applied: next height",
                input: Input::Applied {
                    height: Height::new(1),
                    state_root: Hash::from_bytes([8; 32]),
                    next_validators: None,
                },
                expect: &["timer:0"],
            },
        ],
    );
    assert_eq!(machine.height(), Height::new(2));
    assert_eq!(machine.tip().hash, block.hash());
}

/// Hole: a validator below the network's required version stopped following blocks; it must
/// keep following (and serving reads) and only stop signing.
#[test]
fn a_validator_that_stopped_voting_follows_without_signing() {
    let net = Net::new();
    let (mut machine, me) = net.started_follower();
    machine.stop_voting();
    assert!(!machine.is_voting());
    let block = net.block(1, 0, 1);
    let others = net.others(me);
    let verified =
        Input::ProposalVerified { height: Height::new(1), view: View::new(0), block_hash: block.hash(), valid: true };
    run(
        &mut machine,
        vec![
            Step { name: "proposal", input: net.proposal(0, block.clone()), expect: &["verify"] },
            Step { name: "accepted, but no prepare sent", input: verified, expect: &[] },
            Step { name: "prepare 1", input: net.vote(others[0], VoteKind::Prepare, 0, &block), expect: &[] },
            Step { name: "prepare 2", input: net.vote(others[1], VoteKind::Prepare, 0, &block), expect: &[] },
            Step {
                name: "prepare 3: prepared, no commit sent",
                input: net.vote(others[2], VoteKind::Prepare, 0, &block),
                expect: &[],
            },
            Step { name: "commit 1", input: net.vote(others[0], VoteKind::Commit, 0, &block), expect: &[] },
            Step { name: "commit 2", input: net.vote(others[1], VoteKind::Commit, 0, &block), expect: &[] },
            Step {
                name: "commit 3: decided by the others",
                input: net.vote(others[2], VoteKind::Commit, 0, &block),
                expect: &["commit"],
            },
            Step {
                name: "applied: next height",
                input: Input::Applied {
                    height: Height::new(1),
                    state_root: Hash::from_bytes([8; 32]),
                    next_validators: None,
                },
                expect: &["timer:0"],
            },
            Step {
                name: "a timeout asks for sync instead of a view change",
                input: Input::Timeout { height: Height::new(2), view: View::new(0) },
                expect: &["sync:2", "timer:0"],
            },
        ],
    );
    assert_eq!(machine.tip().hash, block.hash());
}
