//! One simulated validator process: its key, its persistent store, its committed chain and,
//! while it is up, its state machine. The application is a stand-in: each block orders one
//! made-up submission, every proposal verifies, and the state root chains block hashes.

use std::sync::Arc;

use platform_storage::MemoryStore;
use platform_types::{
    Action, Block, Envelope, Epoch, Hash, Height, Keypair, QuorumCertificate, SubmissionId, View, blake2b_256_parts,
};

use super::byzantine::Behaviour;
use crate::committee::Committee;
use crate::machine::{Config, Consensus};
use crate::safety::SafetyError;
use platform_types::Tip;

pub(crate) struct SimNode {
    pub keypair: Keypair,
    pub behaviour: Behaviour,
    /// The node's data directory: survives crashes.
    pub store: Arc<MemoryStore>,
    /// Committed blocks, also part of the data directory.
    pub chain: Vec<(Block, QuorumCertificate)>,
    /// State root after each committed block; `[0]` is the genesis root.
    pub roots: Vec<Hash>,
    pub machine: Option<Consensus>,
    /// Bumped at every restart, so timers of an earlier life are ignored.
    pub incarnation: u64,
    /// What a stale node replays.
    pub history: Vec<Envelope>,
}

impl SimNode {
    pub(crate) fn new(keypair: Keypair, behaviour: Behaviour, genesis_root: Hash) -> Self {
        SimNode {
            keypair,
            behaviour,
            store: Arc::new(MemoryStore::new()),
            chain: Vec::new(),
            roots: vec![genesis_root],
            machine: None,
            incarnation: 0,
            history: Vec::new(),
        }
    }

    /// Starts (or restarts) the machine from the persisted chain and safety record.
    pub(crate) fn boot(&mut self, config: &Config, committee: &Committee) -> Result<Vec<crate::Output>, SafetyError> {
        let tip = match self.chain.last() {
            Some((block, _)) => Tip {
                height: block.header.height,
                hash: block.hash(),
                state_root: *self.roots.last().unwrap_or(&Hash::ZERO),
                epoch: block.header.epoch,
            },
            None => Tip::genesis(self.roots[0], Epoch::new(0)),
        };
        self.incarnation += 1;
        let mut machine =
            Consensus::new(config.clone(), self.keypair.clone(), self.store.clone(), committee.clone(), tip)?;
        let outputs = machine.start();
        self.machine = Some(machine);
        Ok(outputs)
    }

    pub(crate) fn height(&self) -> u64 {
        self.chain.len() as u64
    }

    /// The stand-in application's block content.
    pub(crate) fn build(&self, height: Height, view: View) -> Vec<Action> {
        let id = blake2b_256_parts(&[
            self.keypair.public().as_bytes(),
            &height.get().to_le_bytes(),
            &view.get().to_le_bytes(),
        ]);
        vec![Action::Submission(SubmissionId(id))]
    }

    /// Applies a committed block; returns the new state root.
    pub(crate) fn apply(&mut self, block: Block, certificate: QuorumCertificate) -> Hash {
        let previous = *self.roots.last().unwrap_or(&Hash::ZERO);
        let root = blake2b_256_parts(&[previous.as_bytes(), block.hash().as_bytes()]);
        self.chain.push((block, certificate));
        self.roots.push(root);
        root
    }
}
