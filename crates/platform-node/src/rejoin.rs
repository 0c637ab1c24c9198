//! Catching up past what the peers keep, while running. A validator cut off for longer than its
//! peers' retention window (a long partition) asks for the blocks after its tip and hears that
//! they are gone ([`Input::Synced`](crate::core::Input::Synced) `behind`). It then fetches the
//! peers' newest certified snapshot in the background (state sync, as at start: checked against
//! the validator set the chain gives now), and once it is stored the event loop rebuilds the
//! core from it, as a restart would, without stopping the process. The loop goes on serving
//! while the snapshot is fetched; a fetch that finds nothing usable is tried again at most once
//! a minute, so a peer lying about what it keeps costs a query, not the loop's time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_app::weights::validator_set;
use platform_p2p::Client;
use platform_types::{Epoch, PublicKey, ValidatorSet, VerifiedEnvelopes};
use tokio::sync::oneshot;
use tracing::{error, info, warn};

use crate::config::NodeConfig;
use crate::core::Core;
use crate::metrics::Metrics;
use crate::records::Records;

/// The least time between two fetches.
const RETRY: Duration = Duration::from_secs(60);

/// How long one fetch waits for peers to offer a snapshot.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a rejoin needs besides the core: the network, the store, and what the state is
/// recovered with.
pub(crate) struct Rejoiner {
    pub p2p: Client,
    pub records: Records,
    pub cfg: Arc<NodeConfig>,
    pub genesis: ValidatorSet,
    pub sudo: Vec<PublicKey>,
    pub verified: Arc<VerifiedEnvelopes>,
    pub metrics: Arc<Metrics>,
    /// The fetch under way: the height of the snapshot it stored, if any.
    fetching: Option<oneshot::Receiver<Option<u64>>>,
    last: Option<Instant>,
}

impl Rejoiner {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p2p: Client,
        records: Records,
        cfg: Arc<NodeConfig>,
        genesis: ValidatorSet,
        sudo: Vec<PublicKey>,
        verified: Arc<VerifiedEnvelopes>,
        metrics: Arc<Metrics>,
    ) -> Rejoiner {
        Rejoiner { p2p, records, cfg, genesis, sudo, verified, metrics, fetching: None, last: None }
    }

    /// Starts fetching a snapshot above the core's tip if the core asked for one, none is under
    /// way and the last began more than [`RETRY`] ago (else the request is dropped: the next
    /// sync that finds the blocks gone asks again).
    pub fn start_if_asked(&mut self, core: &mut Core) {
        if !core.rejoin || self.fetching.is_some() {
            return;
        }
        core.rejoin = false;
        if self.last.is_some_and(|last| last.elapsed() < RETRY) {
            return;
        }
        self.last = Some(Instant::now());
        let chain_set = core
            .metagraph
            .as_deref()
            .and_then(|m| validator_set(m, self.cfg.min_stake_rao, Epoch::new(0)))
            .unwrap_or_else(|| core.state.registry.validators.clone());
        let held = core.state.tip.height.get();
        let (p2p, records, metrics) = (self.p2p.clone(), self.records.clone(), self.metrics.clone());
        let (netuid, interval) = (self.cfg.netuid, self.cfg.snapshot_interval);
        let (done, fetching) = oneshot::channel();
        tokio::spawn(async move {
            let stored =
                crate::state_sync::join(&p2p, &records, netuid, &chain_set, held, interval, &metrics, PATIENCE).await;
            let _ = done.send(stored);
        });
        self.fetching = Some(fetching);
    }

    /// The height of the snapshot the fetch under way stored, once it ends (`None`: it found
    /// none above the tip). Pending while no fetch is under way. Cancel-safe.
    pub async fn fetched(&mut self) -> Option<u64> {
        let Some(fetching) = self.fetching.as_mut() else { return std::future::pending().await };
        let stored = fetching.await.ok().flatten();
        self.fetching = None;
        stored
    }

    /// Rebuilds `core` from the stored snapshot (and the blocks after it), as a restart does;
    /// whether it did (on failure the core is left as it was, running).
    pub fn restart(&self, core: &mut Core) -> bool {
        let (state, from) =
            match crate::recovery::replay(&self.records, self.genesis.clone(), &self.cfg, &self.sudo, &self.verified) {
                Ok(recovered) => recovered,
                Err(e) => {
                    error!("cannot recover the state from the fetched snapshot: {e:#}");
                    return false;
                }
            };
        if state.tip.height <= core.state.tip.height {
            warn!(height = state.tip.height.get(), "the fetched snapshot is not ahead of this node; going on");
            return false;
        }
        match core.rebuilt(state) {
            Ok(rebuilt) => {
                *core = rebuilt;
                self.metrics.started_from_snapshot.set(from as i64);
                self.metrics.state_sync_rejoins.inc();
                info!(height = core.state.tip.height.get(), "started again from the peers' snapshot");
                true
            }
            Err(e) => {
                error!("cannot rebuild the core on the fetched snapshot: {e:#}");
                false
            }
        }
    }
}
