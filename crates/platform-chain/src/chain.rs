//! The [`Chain`] trait: everything Platform asks of a Bittensor chain.

use std::future::Future;

use platform_types::{Keypair, MechanismId, NetUid, PublicKey};

use crate::calls::{Capabilities, WeightsCall};
use crate::error::ChainError;
use crate::path::WeightsContext;
use crate::sender::SenderState;
use crate::types::{Head, Inclusion};
use platform_types::{BlockRef, EpochState, Metagraph, SubnetParams};

/// Blocks as the chain produces them, from a bounded queue. After a reconnect the next block
/// may be several numbers ahead of the last one seen: consumers must not assume `+1` steps.
pub struct BlockStream(pub(crate) tokio::sync::mpsc::Receiver<Result<BlockRef, ChainError>>);

impl BlockStream {
    /// The next block, or `None` when the stream has ended for good (the client was dropped).
    pub async fn next(&mut self) -> Option<Result<BlockRef, ChainError>> {
        self.0.recv().await
    }
}

/// A Bittensor chain.
///
/// Contract: reads at a given block are consistent with each other; `submit` returns once the
/// transaction is in a block (or refused), with the runtime's refusal as a typed
/// [`ChainError`]; methods may be called concurrently. Cancelling a `submit` future after the
/// transaction was sent does not recall it.
pub trait Chain: Send + Sync {
    /// The newest block of `head`.
    fn block(&self, head: Head) -> impl Future<Output = Result<BlockRef, ChainError>> + Send;

    /// Follows `head`; the stream re-subscribes by itself when the endpoint drops.
    fn blocks(&self, head: Head) -> impl Future<Output = Result<BlockStream, ChainError>> + Send;

    /// What the connected runtime supports (re-read after runtime upgrades).
    fn capabilities(&self) -> Capabilities;

    /// The subnet's weights parameters at `at` (the best block when `None`).
    fn subnet_params(
        &self,
        netuid: NetUid,
        at: Option<BlockRef>,
    ) -> impl Future<Output = Result<SubnetParams, ChainError>> + Send;

    /// The subnet's epoch state at `at` as the runtime keeps it (dynamic tempo:
    /// `LastEpochBlock`, `PendingEpochAt`, `SubnetEpochIndex`, `BlocksSinceLastStep`), or `None`
    /// on runtimes with the legacy fixed-tempo rule.
    fn epoch_state(
        &self,
        netuid: NetUid,
        at: BlockRef,
    ) -> impl Future<Output = Result<Option<EpochState>, ChainError>> + Send;

    /// What choosing a weights path and a reveal round needs, read at `at` (the best block when
    /// `None`): parameters, epoch state, commit-reveal version, block time.
    fn weights_context(
        &self,
        netuid: NetUid,
        at: Option<BlockRef>,
    ) -> impl Future<Output = Result<WeightsContext, ChainError>> + Send;

    /// `hotkey`'s weight-sending state on `netuid`'s `mechanism` at `at`: its uid, the uid's
    /// `LastUpdate`, and its timelocked commits filed under epoch `commit_epoch`
    /// ([`crate::commit_epoch`]).
    fn sender_state(
        &self,
        netuid: NetUid,
        mechanism: MechanismId,
        hotkey: PublicKey,
        commit_epoch: u64,
        at: BlockRef,
    ) -> impl Future<Output = Result<SenderState, ChainError>> + Send;

    /// The subnet's neurons, stake, permits and owner at `at` (the best block when `None`).
    fn metagraph(
        &self,
        netuid: NetUid,
        at: Option<BlockRef>,
    ) -> impl Future<Output = Result<Metagraph, ChainError>> + Send;

    /// The weights a uid has on chain for a subnet's mechanism, as `(uid, value)` pairs, read
    /// at `at` (the best block when `None`; an old block's state only where the node keeps it).
    fn weights(
        &self,
        netuid: NetUid,
        mechanism: MechanismId,
        uid: u16,
        at: Option<BlockRef>,
    ) -> impl Future<Output = Result<Vec<(u16, u16)>, ChainError>> + Send;

    /// Signs `call` with `signer` and submits it; returns once it is in a block.
    fn submit(
        &self,
        signer: &Keypair,
        call: &WeightsCall,
    ) -> impl Future<Output = Result<Inclusion, ChainError>> + Send;
}
