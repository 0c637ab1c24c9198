//! [`TestChain`]: a test double of [`Chain`] held in memory, for tests of what sits above the
//! chain client (the node's pipeline) that need neither Node.js nor a subtensor runtime. Only
//! built with the `test-double` feature; the real-runtime tests stay with [`crate::SubxtChain`].
//!
//! The test drives it: it sets the metagraph, produces blocks (each pushed to every stream),
//! and reads back the weight calls validators submitted. Every call is accepted as
//! `set_weights` on a runtime without commit-reveal, under the subnet's rate limit
//! (`LastUpdate` is kept per mechanism and uid). It can also go away
//! ([`TestChain::set_reachable`]) and fail the next submissions as a lost connection would
//! ([`TestChain::fail_next_submissions`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use platform_types::{BlockRef, Keypair, MechanismId, Metagraph, NetUid, PublicKey, SubnetParams, blake2b_256};
use tokio::sync::mpsc;

use crate::calls::{Capabilities, WeightsCall};
use crate::chain::{BlockStream, Chain};
use crate::error::ChainError;
use crate::path::WeightsContext;
use crate::sender::SenderState;
use crate::types::{Head, Inclusion};

#[derive(Debug)]
struct State {
    head: BlockRef,
    metagraph: Metagraph,
    streams: Vec<mpsc::Sender<Result<BlockRef, ChainError>>>,
    submitted: Vec<(PublicKey, WeightsCall)>,
    weights: BTreeMap<(u8, u16), Vec<(u16, u16)>>,
    /// `LastUpdate` by (mechanism, uid).
    last_update: BTreeMap<(u8, u16), u64>,
    reachable: bool,
    fail_submissions: u32,
}

/// A test double of the chain, in memory. Cheap to clone; clones share one chain.
#[derive(Clone, Debug)]
pub struct TestChain {
    state: Arc<Mutex<State>>,
}

/// The hash the test double gives block `number`.
pub fn test_block(number: u64) -> BlockRef {
    BlockRef { number, hash: blake2b_256(&number.to_le_bytes()) }
}

impl TestChain {
    /// A chain at block 1 whose subnet is `metagraph` (its `block` is replaced by the head).
    pub fn new(mut metagraph: Metagraph) -> Self {
        let head = test_block(1);
        metagraph.block = head;
        let state = State {
            head,
            metagraph,
            streams: Vec::new(),
            submitted: Vec::new(),
            weights: BTreeMap::new(),
            last_update: BTreeMap::new(),
            reachable: true,
            fail_submissions: 0,
        };
        TestChain { state: Arc::new(Mutex::new(state)) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Produces `count` blocks, each sent to every open stream (none while unreachable).
    pub fn produce_blocks(&self, count: u64) {
        let mut state = self.state();
        for _ in 0..count {
            state.head = test_block(state.head.number + 1);
            let head = state.head;
            if !state.reachable {
                continue;
            }
            state.streams.retain(|stream| stream.try_send(Ok(head)).is_ok() || !stream.is_closed());
        }
    }

    /// Makes the chain unreachable (every call fails as with a lost connection, streams get no
    /// block) or reachable again.
    pub fn set_reachable(&self, reachable: bool) {
        self.state().reachable = reachable;
    }

    /// The next `count` submissions fail as with a lost connection (nothing is included).
    pub fn fail_next_submissions(&self, count: u32) {
        self.state().fail_submissions = count;
    }

    /// Submissions still to fail ([`Self::fail_next_submissions`]).
    pub fn failures_left(&self) -> u32 {
        self.state().fail_submissions
    }

    fn reach(&self) -> Result<MutexGuard<'_, State>, ChainError> {
        let state = self.state();
        if state.reachable { Ok(state) } else { Err(ChainError::Rpc("the test chain is unreachable".into())) }
    }

    /// The newest block.
    pub fn head(&self) -> BlockRef {
        self.state().head
    }

    /// Replaces the subnet's metagraph (registrations, stake, permits).
    pub fn set_metagraph(&self, metagraph: Metagraph) {
        self.state().metagraph = metagraph;
    }

    /// Every weights call submitted so far, with its signer.
    pub fn submitted(&self) -> Vec<(PublicKey, WeightsCall)> {
        self.state().submitted.clone()
    }
}

impl Chain for TestChain {
    async fn block(&self, _head: Head) -> Result<BlockRef, ChainError> {
        Ok(self.reach()?.head)
    }

    async fn blocks(&self, _head: Head) -> Result<BlockStream, ChainError> {
        let (sender, receiver) = mpsc::channel(1024);
        self.state().streams.push(sender);
        Ok(BlockStream(receiver))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            set_weights: true,
            commit_reveal: false,
            mechanism_weights: false,
            mechanism_commit_reveal: false,
            timelocked_commits: false,
            mechanism_timelocked_commits: false,
            mechanism_count: false,
            stake_per_subnet: true,
            owner_hotkey: true,
            dynamic_tempo: false,
            commit_reveal_version: false,
            tao_weight: false,
            child_keys: false,
        }
    }

    async fn subnet_params(&self, _netuid: NetUid, _at: Option<BlockRef>) -> Result<SubnetParams, ChainError> {
        Ok(self.reach()?.metagraph.params)
    }

    async fn epoch_state(
        &self,
        _netuid: NetUid,
        _at: BlockRef,
    ) -> Result<Option<platform_types::EpochState>, ChainError> {
        self.reach().map(|_| None)
    }

    async fn weights_context(&self, netuid: NetUid, at: Option<BlockRef>) -> Result<WeightsContext, ChainError> {
        let state = self.reach()?;
        let block = at.unwrap_or(state.head);
        let params = state.metagraph.params;
        Ok(WeightsContext {
            block,
            params,
            epoch: params.schedule(netuid).epoch_state(block.number),
            dynamic_tempo: false,
            commit_reveal_version: 0,
            block_time_secs: crate::path::DEFAULT_BLOCK_TIME_SECS,
        })
    }

    async fn sender_state(
        &self,
        _netuid: NetUid,
        mechanism: MechanismId,
        hotkey: PublicKey,
        _commit_epoch: u64,
        _at: BlockRef,
    ) -> Result<SenderState, ChainError> {
        let state = self.reach()?;
        let Some(uid) = state.metagraph.uid_of(&hotkey) else { return Ok(SenderState::default()) };
        let last_update = state.last_update.get(&(mechanism.get(), uid.get())).copied().unwrap_or(0);
        Ok(SenderState { uid: Some(uid.get()), last_update, timelocked_unrevealed: 0 })
    }

    async fn metagraph(&self, _netuid: NetUid, at: Option<BlockRef>) -> Result<Metagraph, ChainError> {
        let state = self.reach()?;
        let mut metagraph = state.metagraph.clone();
        metagraph.block = at.unwrap_or(state.head);
        Ok(metagraph)
    }

    /// The weights as they are now, whatever `at` asks (the double keeps no history).
    async fn weights(
        &self,
        _netuid: NetUid,
        mechanism: MechanismId,
        uid: u16,
        _at: Option<BlockRef>,
    ) -> Result<Vec<(u16, u16)>, ChainError> {
        Ok(self.reach()?.weights.get(&(mechanism.get(), uid)).cloned().unwrap_or_default())
    }

    async fn submit(&self, signer: &Keypair, call: &WeightsCall) -> Result<Inclusion, ChainError> {
        let mut state = self.reach()?;
        if state.fail_submissions > 0 {
            state.fail_submissions -= 1;
            return Err(ChainError::Rpc("connection lost before inclusion (test chain)".into()));
        }
        if let WeightsCall::Set(vector) = call
            && let Some(uid) = state.metagraph.uid_of(&signer.public())
        {
            // The runtime's rate limit, counted from the block that includes the call.
            let key = (vector.mechanism.get(), uid.get());
            let included = state.head.number + 1;
            let rate_limit = state.metagraph.params.weights_rate_limit;
            let last = state.last_update.get(&key).copied().unwrap_or(0);
            if included < crate::next_allowed_block(last, rate_limit) {
                return Err(ChainError::RateLimited { blocks: rate_limit, next_block: None });
            }
            let pairs = vector.uids.iter().copied().zip(vector.values.iter().copied()).collect();
            state.weights.insert(key, pairs);
            state.last_update.insert(key, included);
        }
        state.submitted.push((signer.public(), call.clone()));
        Ok(Inclusion {
            block: state.head,
            extrinsic: blake2b_256(&state.submitted.len().to_le_bytes()),
            events: vec!["SubtensorModule::WeightsSet".into(), "System::ExtrinsicSuccess".into()],
        })
    }
}
