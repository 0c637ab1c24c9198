//! Submissions that left the application state ([`platform_app::retire`]), kept as they were
//! then for the API: the committed-submission index beyond the state is here.
//!
//! The block committing an epoch's weights retires every final submission at once (about a
//! million an epoch at the default rate limit's bound), and writing them costs a few
//! microseconds each. So the event loop only *holds* them ([`Records::hold_retired`]: readable at
//! once, as if stored) and hands them to the snapshot writer's thread, which stores them
//! ([`Records::store_held`]) before any snapshot handed to it later: a snapshot that no longer
//! holds them is never on disk before they are (a crash before their write replays the blocks
//! that retire them, from a snapshot that still holds them, and writes them then).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use parity_scale_codec::{Decode, Encode};
use platform_app::Committed;
use platform_storage::{Column, StoreError, WriteBatch};
use platform_types::{Hash, PublicKey, SubmissionId};

use super::{RETIRED_BY_MINER_PREFIX, Records, retired_by_miner_key, retired_key};

/// Retired submissions held until written, by id.
#[derive(Default)]
pub(crate) struct Retiring(Mutex<HashMap<SubmissionId, Arc<Committed>>>);

impl Retiring {
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<SubmissionId, Arc<Committed>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Retired submissions on their way to the store ([`Records::hold_retired`]).
pub type Held = Vec<(SubmissionId, Arc<Committed>)>;

impl Records {
    /// Stores submissions that left the application state, at once.
    pub fn put_retired(&self, retired: &[(SubmissionId, Committed)]) -> Result<(), StoreError> {
        self.write_retired(retired.iter().map(|(id, c)| (id, c)))
    }

    fn write_retired<'a>(
        &self,
        retired: impl Iterator<Item = (&'a SubmissionId, &'a Committed)>,
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        for (id, committed) in retired {
            batch.put(Column::Evaluations, retired_key(id), committed.encode());
            batch.put(Column::Evaluations, retired_by_miner_key(&committed.miner, committed.height, id), Vec::new());
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.store().write(batch)
    }

    /// Holds submissions that left the application state: read as stored from now on, to be
    /// stored by [`Records::store_held`] with what this returns (on another thread).
    pub fn hold_retired(&self, retired: Vec<(SubmissionId, Committed)>) -> Held {
        let held: Held = retired.into_iter().map(|(id, c)| (id, Arc::new(c))).collect();
        let mut retiring = self.retiring.lock();
        retiring.extend(held.iter().map(|(id, c)| (*id, c.clone())));
        held
    }

    /// Stores what [`Records::hold_retired`] held, then lets it go.
    pub fn store_held(&self, held: &Held) -> Result<(), StoreError> {
        let written = self.write_retired(held.iter().map(|(id, c)| (id, &**c)));
        let mut retiring = self.retiring.lock();
        for (id, _) in held {
            retiring.remove(id);
        }
        written
    }

    /// A retired submission: held ([`Records::hold_retired`]) or stored.
    pub fn retired(&self, id: &SubmissionId) -> Option<Committed> {
        if let Some(held) = self.retiring.lock().get(id) {
            return Some((**held).clone());
        }
        let bytes = self.store().get(Column::Evaluations, &retired_key(id)).ok().flatten()?;
        Committed::decode(&mut bytes.as_slice()).ok()
    }

    /// Up to `limit` of `miner`'s retired submissions, held or still kept, newest first.
    pub fn retired_of(&self, miner: &PublicKey, limit: usize) -> Vec<(SubmissionId, Committed)> {
        let mut found: Vec<(SubmissionId, Committed)> = self
            .retiring
            .lock()
            .iter()
            .filter(|(_, c)| c.miner == *miner)
            .map(|(id, c)| (*id, (**c).clone()))
            .collect();
        let prefix = [RETIRED_BY_MINER_PREFIX, miner.as_bytes()].concat();
        let keys = self.store().scan(Column::Evaluations, &prefix, None, limit).unwrap_or_default();
        found.extend(keys.into_iter().filter_map(|(key, _)| {
            let id = SubmissionId(Hash::from_bytes(key.get(prefix.len() + 8..)?.try_into().ok()?));
            Some((id, self.retired(&id)?))
        }));
        // Newest first (as the keys are), each once: one held and stored meanwhile is in both.
        found.sort_by(|(a, x), (b, y)| y.height.cmp(&x.height).then(a.cmp(b)));
        found.dedup_by_key(|(id, _)| *id);
        found.truncate(limit);
        found
    }
}
