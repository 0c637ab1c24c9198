//! A validator crashing and starting again from its store, or losing its disk and joining anew.

use std::sync::Arc;

use platform_app::AppState;
use platform_storage::{MemoryStore, Store};
use platform_types::{Epoch, VerifiedEnvelopes};

use super::Behaviour;
use super::net::Net;
use crate::config::NodeConfig;
use crate::records::Records;

impl Net {
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
        let metagraph = (*self.metagraph_at(self.chain)).clone();
        let mut core = super::setup::core(self.nodes[i].cfg.clone(), records, state, metagraph, verified, self.clock());
        core.start();
        self.nodes[i] = core;
        self.timers[i] = Default::default();
        self.sandboxes[i] = Default::default();
    }
}
