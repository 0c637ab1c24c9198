//! [`WeightSetter`]: sends a weight vector the way the subnet requires, and reveals commits in
//! their window — also after a restart, because pending commits are persisted before the commit
//! leaves the node.

use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_storage::{Column, Store};
use platform_types::{Hash, Keypair, MechanismId, NetUid};
use tracing::{info, warn};

use crate::calls::WeightsCall;
use crate::chain::Chain;
use crate::commit::{commit_hash, netuid_index};
use crate::error::{ChainError, RevealRefusal};
use crate::path::{PathChoice, WeightsContext, WeightsPath, path_at, timelocked_call};
use crate::sender::{check_sender, commit_epoch};
use crate::types::{Inclusion, WeightVector};

/// Key prefix of pending commits in [`Column::Weights`].
const PREFIX: &[u8] = b"chain/commit/";

/// Salt length, in u16 words (the Python SDK uses 8).
const SALT_WORDS: usize = 8;

/// A commit that still has to be revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCommit {
    /// The weights committed.
    pub weights: WeightVector,
    /// The salt committed.
    pub salt: Vec<u16>,
    /// The commit hash sent.
    pub hash: Hash,
    /// The block the commit was included in (before inclusion is confirmed: the best block when
    /// it was sent).
    pub commit_block: u64,
    /// First block of the reveal window.
    pub reveal_from: u64,
    /// Last block of the reveal window.
    pub reveal_until: u64,
}

#[derive(Encode, Decode)]
struct Record {
    netuid: u16,
    mechanism: u8,
    uids: Vec<u16>,
    values: Vec<u16>,
    version_key: u64,
    salt: Vec<u16>,
    hash: [u8; 32],
    commit_block: u64,
    reveal_from: u64,
    reveal_until: u64,
}

impl From<&PendingCommit> for Record {
    fn from(p: &PendingCommit) -> Self {
        Record {
            netuid: p.weights.netuid.get(),
            mechanism: p.weights.mechanism.get(),
            uids: p.weights.uids.clone(),
            values: p.weights.values.clone(),
            version_key: p.weights.version_key,
            salt: p.salt.clone(),
            hash: *p.hash.as_bytes(),
            commit_block: p.commit_block,
            reveal_from: p.reveal_from,
            reveal_until: p.reveal_until,
        }
    }
}

impl From<Record> for PendingCommit {
    fn from(r: Record) -> Self {
        PendingCommit {
            weights: WeightVector {
                netuid: NetUid::new(r.netuid),
                mechanism: MechanismId::new(r.mechanism),
                uids: r.uids,
                values: r.values,
                version_key: r.version_key,
            },
            salt: r.salt,
            hash: Hash::from_bytes(r.hash),
            commit_block: r.commit_block,
            reveal_from: r.reveal_from,
            reveal_until: r.reveal_until,
        }
    }
}

/// What [`WeightSetter::submit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Weights set directly.
    Set(Inclusion),
    /// Weights committed timelocked; the runtime reveals them itself once drand publishes
    /// `reveal_round`.
    Timelocked {
        /// The commit's inclusion.
        inclusion: Inclusion,
        /// The drand round the commit was encrypted to.
        reveal_round: u64,
    },
    /// Weights committed; [`WeightSetter::reveal_due`] reveals them in the window.
    Committed {
        /// The commit's inclusion.
        inclusion: Inclusion,
        /// The commit, as persisted.
        commit: PendingCommit,
    },
}

/// What happened to one pending commit in [`WeightSetter::reveal_due`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevealOutcome {
    /// Revealed; the weights are on chain.
    Revealed(Inclusion),
    /// The window passed without a successful reveal; the commit was dropped.
    Expired(PendingCommit),
    /// The reveal failed and will be tried again on a later block.
    Retrying(ChainError),
    /// The chain no longer has the commit (it was revealed, or never landed); dropped.
    Dropped(ChainError),
}

/// Sends one hotkey's weights: directly, or by commit and reveal when the subnet requires it.
pub struct WeightSetter<C> {
    chain: C,
    store: Arc<dyn Store>,
    signer: Keypair,
    clock: fn() -> f64,
}

/// The wall clock in Unix seconds: drand rounds are a function of real time.
pub fn unix_now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn key(p: &PendingCommit, signer: &Keypair) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(signer.public().as_bytes());
    k.extend_from_slice(&netuid_index(p.weights.netuid.get(), p.weights.mechanism.get()).to_be_bytes());
    k.extend_from_slice(p.hash.as_bytes());
    k
}

impl<C: Chain> WeightSetter<C> {
    /// A setter for `signer`'s weights, keeping pending commits in `store`.
    pub fn new(chain: C, store: Arc<dyn Store>, signer: Keypair) -> Self {
        WeightSetter { chain, store, signer, clock: unix_now_secs }
    }

    /// The same setter reading time from `clock` (Unix seconds) when it picks a reveal round.
    pub fn with_clock(mut self, clock: fn() -> f64) -> Self {
        self.clock = clock;
        self
    }

    /// The chain this setter talks to.
    pub fn chain(&self) -> &C {
        &self.chain
    }

    /// How `weights` would be sent now, and why ([`crate::choose_path`] on the chain's current state).
    pub async fn path(&self, weights: &WeightVector) -> Result<(PathChoice, WeightsContext), ChainError> {
        path_at(&self.chain, weights.netuid, weights.mechanism, None).await
    }

    /// Sends `weights` the way the chain requires ([`crate::choose_path`]), once the chain would
    /// take them ([`crate::check_sender`]: the rate limit has passed and the hotkey is below the
    /// bound on unrevealed commits; otherwise a transient error says what to wait for, and
    /// nothing is signed): `set_weights` (or the
    /// mechanism variant) when commit-reveal is off; one drand-timelocked commit, which the
    /// runtime reveals, when the runtime has them; otherwise a hashed commit that
    /// [`Self::reveal_due`] reveals later, persisted before it is sent so that a node stopped at
    /// any point still reveals it after a restart.
    pub async fn submit(&self, weights: WeightVector) -> Result<Submitted, ChainError> {
        weights.validate()?;
        let (choice, ctx) = self.path(&weights).await?;
        let sender = self
            .chain
            .sender_state(weights.netuid, weights.mechanism, self.signer.public(), commit_epoch(&ctx), ctx.block)
            .await?;
        let included = ctx.block.number.saturating_add(platform_types::INCLUSION_DELAY_BLOCKS);
        let hashed_unrevealed = match choice.path {
            WeightsPath::HashedCommitReveal => {
                let waiting = self.pending()?.into_iter().filter(|p| p.reveal_until >= included).count();
                u32::try_from(waiting).unwrap_or(u32::MAX)
            }
            _ => 0,
        };
        check_sender(weights.netuid, &self.signer.public(), &ctx, choice.path, &sender, hashed_unrevealed)?;
        info!(path = choice.path.name(), reason = %choice.reason, "sending weights");
        let best = ctx.block;
        let params = ctx.params;
        match choice.path {
            WeightsPath::Direct => {
                return self.chain.submit(&self.signer, &WeightsCall::Set(weights)).await.map(Submitted::Set);
            }
            WeightsPath::Timelocked { commit_reveal_version } => {
                let reveal_round = ctx.reveal_round((self.clock)())?;
                let call = timelocked_call(
                    &self.signer.public(),
                    &weights,
                    reveal_round,
                    commit_reveal_version,
                    &mut rand::rngs::OsRng,
                )?;
                let inclusion = self.chain.submit(&self.signer, &call).await?;
                info!(block = inclusion.block.number, reveal_round, "weights committed, timelocked");
                return Ok(Submitted::Timelocked { inclusion, reveal_round });
            }
            WeightsPath::HashedCommitReveal => {}
        }
        let salt: Vec<u16> = (0..SALT_WORDS).map(|_| rand::random::<u16>()).collect();
        let index = netuid_index(weights.netuid.get(), weights.mechanism.get());
        let hash =
            commit_hash(&self.signer.public(), index, &weights.uids, &weights.values, &salt, weights.version_key);
        let schedule = params.schedule(weights.netuid);
        // Expected inclusion: the next block.
        let commit_block = best.number + 1;
        let (reveal_from, reveal_until) = schedule.reveal_window(commit_block);
        let mut pending = PendingCommit { weights, salt, hash, commit_block, reveal_from, reveal_until };
        self.persist(&pending)?;
        let call = WeightsCall::Commit { netuid: pending.weights.netuid, mechanism: pending.weights.mechanism, hash };
        let inclusion = match self.chain.submit(&self.signer, &call).await {
            Ok(inclusion) => inclusion,
            Err(e) => {
                self.store.delete(Column::Weights, &key(&pending, &self.signer))?;
                return Err(e);
            }
        };
        pending.commit_block = inclusion.block.number;
        (pending.reveal_from, pending.reveal_until) = schedule.reveal_window(inclusion.block.number);
        self.persist(&pending)?;
        info!(block = inclusion.block.number, reveal_from = pending.reveal_from, "weights committed");
        Ok(Submitted::Committed { inclusion, commit: pending })
    }

    fn persist(&self, pending: &PendingCommit) -> Result<(), ChainError> {
        self.store.put(Column::Weights, &key(pending, &self.signer), &Record::from(pending).encode())?;
        Ok(())
    }

    /// This hotkey's commits not yet revealed, oldest window first.
    pub fn pending(&self) -> Result<Vec<PendingCommit>, ChainError> {
        let mut prefix = PREFIX.to_vec();
        prefix.extend_from_slice(self.signer.public().as_bytes());
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.store.scan(Column::Weights, &prefix, after.as_deref(), 256)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (_, value) in &page {
                let record = Record::decode(&mut &value[..])
                    .map_err(|e| ChainError::Store(format!("a pending commit record is corrupt: {e}")))?;
                out.push(PendingCommit::from(record));
            }
        }
        out.sort_by_key(|p| p.reveal_from);
        Ok(out)
    }

    /// Reveals every pending commit whose window contains `block`, and drops the ones whose
    /// window has passed. Call it on every new block.
    pub async fn reveal_due(&self, block: u64) -> Result<Vec<RevealOutcome>, ChainError> {
        let mut outcomes = Vec::new();
        for pending in self.pending()? {
            if block < pending.reveal_from {
                continue;
            }
            let key = key(&pending, &self.signer);
            if block > pending.reveal_until {
                warn!(commit_block = pending.commit_block, "commit expired before it was revealed");
                self.store.delete(Column::Weights, &key)?;
                outcomes.push(RevealOutcome::Expired(pending));
                continue;
            }
            let call = WeightsCall::Reveal { weights: pending.weights.clone(), salt: pending.salt.clone() };
            match self.chain.submit(&self.signer, &call).await {
                Ok(inclusion) => {
                    self.store.delete(Column::Weights, &key)?;
                    info!(block = inclusion.block.number, "weights revealed");
                    outcomes.push(RevealOutcome::Revealed(inclusion));
                }
                Err(
                    e @ ChainError::Reveal(
                        RevealRefusal::Expired | RevealRefusal::NoMatchingCommit | RevealRefusal::NoCommit,
                    ),
                ) => {
                    self.store.delete(Column::Weights, &key)?;
                    outcomes.push(RevealOutcome::Dropped(e));
                }
                Err(e) => outcomes.push(RevealOutcome::Retrying(e)),
            }
        }
        Ok(outcomes)
    }
}
