//! What a run checks of a validator: its stored blocks, their public audit, and the state a
//! restart would recover.

use platform_types::VerifiedEnvelopes;

use super::net::Net;

impl Net {
    /// How many submissions validator `i`'s stored blocks order (those still in its state and
    /// those retired from it).
    #[cfg(test)]
    pub fn committed_submissions(&self, i: usize) -> usize {
        let height = self.nodes[i].state.tip.height.get() as usize;
        let blocks = self.nodes[i].records.blocks_from(1, height).expect("read");
        blocks
            .iter()
            .flat_map(|(b, _)| &b.actions)
            .filter(|a| matches!(a, platform_types::Action::Submission(_)))
            .count()
    }

    /// The public audit of validator `i`'s committed blocks (`crate::audit`: every block's
    /// certificate and parent, every action as a voter checks it, weights and validator sets
    /// recomputed, every evaluation run again in the sandbox and each validator's verdict
    /// compared with it).
    pub fn audit(&self, i: usize) -> Result<crate::audit::Report, String> {
        let node = &self.nodes[i];
        let options = crate::audit::AuditOptions {
            netuid: node.cfg.netuid,
            sudo: self.metagraph.owner_hotkey.into_iter().collect(),
            min_stake_rao: node.cfg.min_stake_rao,
            snapshot_interval: node.cfg.snapshot_interval,
            sample: 1,
        };
        crate::audit::replay(&node.records, &options, Some(super::sandbox::runtime()))
            .map_err(|e| format!("the audit could not start: {e}"))
    }

    /// The first action of validator `i`'s committed blocks that [`Net::audit`] finds breaking
    /// the rules: its height, index and why.
    #[cfg(test)]
    pub fn refused_action(&self, i: usize) -> Option<(u64, usize, String)> {
        match self.audit(i) {
            Ok(report) => {
                report.broken.into_iter().next().map(|b| (b.height, b.action.unwrap_or(usize::MAX), b.reason))
            }
            Err(e) => Some((0, usize::MAX, e)),
        }
    }

    /// Whether validator `i`, restarted now, would hold the state it holds: the state recovered
    /// from its newest stored snapshot and the blocks after it must have the same tip and root,
    /// and the newest snapshot must be of its newest snapshot height.
    pub fn check_restore(&self, i: usize) -> Result<(), String> {
        let node = &self.nodes[i];
        let genesis = self.genesis(&node.cfg);
        let interval = node.cfg.snapshot_interval;
        let height = node.state.tip.height.get();
        let manifests = node.records.snapshot_manifests().map_err(|e| e.to_string())?;
        let newest = manifests.first().map(|m| m.height.get());
        let expected = (height / interval * interval > 0).then_some(height / interval * interval);
        if newest != expected {
            return Err(format!("at height {height} the newest snapshot is {newest:?}, not {expected:?}"));
        }
        let owner: Vec<_> = self.metagraph.owner_hotkey.into_iter().collect();
        let verified = VerifiedEnvelopes::new(4096);
        let start = crate::recovery::starting_state(&node.records, genesis.clone(), interval);
        let restored =
            crate::recovery::replay(&node.records, genesis, &node.cfg, &owner, &verified).map_err(|e| e.to_string())?.0;
        // A snapshot holds the state captured `snapshot_lag` blocks below its height.
        let captured = manifests.first().map_or(0, |m| m.captured.get());
        if newest.is_some_and(|h| captured + platform_app::snapshot::snapshot_lag(interval) != h) {
            return Err(format!("the snapshot at {newest:?} holds the state after block {captured}"));
        }
        if start.tip.height.get() != captured {
            return Err(format!("started from height {} instead of the snapshot {newest:?}'s state", start.tip.height));
        }
        if restored.tip != node.state.tip {
            return Err(format!(
                "from the snapshot at {newest:?}: tip {:?} against {:?}",
                restored.tip, node.state.tip
            ));
        }
        // Between snapshot heights the root covers only the registry: the rest compared whole.
        let live = |s: &platform_app::AppState| {
            let mut ids: Vec<_> = s.submissions.iter().map(|(id, c)| (*id, c.evaluations.clone())).collect();
            ids.sort_by_key(|(id, _)| *id);
            ids
        };
        if restored.retired != node.state.retired
            || restored.replays != node.state.replays
            || restored.smoothed != node.state.smoothed
            || live(&restored) != live(&node.state)
        {
            return Err(format!("from the snapshot at {newest:?}: the same tip, another state"));
        }
        Ok(())
    }

    /// The hashes of the first `count` blocks validator `i` stored.
    pub fn blocks(&self, i: usize, count: usize) -> Vec<platform_types::Hash> {
        self.nodes[i].records.blocks_from(1, count).expect("read").into_iter().map(|(b, _)| b.hash()).collect()
    }
}
