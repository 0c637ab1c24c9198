//! View changes (PBFT §4.4): a view's timeout, view changes signed, gathered and joined, and
//! the new view they justify.

use std::collections::BTreeMap;

use platform_types::{Envelope, Height, NewView, PublicKey, View, ViewChange};

use super::Consensus;
use crate::certificates::{highest_prepared, verify_prepared};
use crate::io::{Misbehaviour, Output, PeerTag};
use crate::safety::SafetyError;

impl Consensus {
    pub(super) fn on_timeout(&mut self, height: Height, view: View, out: &mut Vec<Output>) {
        if height != self.height || view != self.round.view || self.round.committed.is_some() {
            return;
        }
        if !self.round.ahead.is_empty() {
            out.push(Output::NeedSync { height: self.height }); // the last answer may have been lost
        }
        self.round.ticks += 1;
        if self.round.ticks.saturating_mul(self.tick_ms()) < self.timeout_for(view) {
            self.send_again(out);
            out.push(Output::SetTimer { height, view, after_ms: self.tick_ms() });
            return;
        }
        self.start_view_change(view.next(), out);
    }

    pub(super) fn start_view_change(&mut self, target: View, out: &mut Vec<Output>) {
        if !self.voting {
            // A follower that does not vote catches up by sync, and asks again each timeout.
            out.push(Output::NeedSync { height: self.height });
            return self.arm(out);
        }
        let (envelope, change) = match self.safety.sign_view_change(self.height, target) {
            Ok(signed) => signed,
            Err(SafetyError::Conflict(_)) => return,
            Err(error) => return self.halt(error),
        };
        self.round.view = target;
        self.round.view_changing = true;
        out.push(Output::Broadcast(envelope.clone()));
        self.remember(target, &envelope);
        self.arm(out);
        self.record_view_change(envelope, change, out);
    }

    pub(super) fn on_view_change(
        &mut self,
        from: PeerTag,
        envelope: Envelope,
        change: ViewChange,
        out: &mut Vec<Output>,
    ) {
        let view = change.view;
        if view.get() > self.round.view.get().saturating_add(self.config.max_view_ahead) || view.get() == 0 {
            return;
        }
        let known = self.round.view_changes.get(&view).is_some_and(|m| m.contains_key(&envelope.signer));
        if known || view < self.round.view {
            return;
        }
        if envelope.verify(self.config.netuid).is_err() {
            return out.push(Output::Misbehaviour { from, reason: Misbehaviour::BadSignature(envelope.signer) });
        }
        if let Some(proof) = &change.prepared {
            if let Err(reason) = verify_prepared(proof, self.height, view, &self.committee, self.config.netuid) {
                return out.push(Output::Misbehaviour { from, reason });
            }
            self.round.blocks.insert(proof.block.hash(), proof.block.clone());
        }
        self.record_view_change(envelope, change, out);
        self.commit_if_decided(out);
        // Join a view change backed by more than a third of the stake (PBFT §4.5.2).
        let ahead: BTreeMap<PublicKey, View> = self
            .round
            .view_changes
            .range(self.round.view.next()..)
            .flat_map(|(v, m)| m.keys().map(move |k| (*k, *v)))
            .collect();
        if self.committee.exceeds_one_third(self.committee.stake_of(ahead.keys()))
            && let Some(smallest) = ahead.values().min().copied()
        {
            self.start_view_change(smallest, out);
        }
    }

    pub(super) fn record_view_change(&mut self, envelope: Envelope, change: ViewChange, out: &mut Vec<Output>) {
        let view = change.view;
        self.round.view_changes.entry(view).or_default().insert(envelope.signer, (envelope, change));
        if view != self.round.view || !self.round.view_changing || self.round.leading.is_some() {
            return;
        }
        if self.committee.leader(self.height, view) != self.me {
            return;
        }
        let changes = &self.round.view_changes[&view];
        if !self.committee.is_quorum(self.committee.stake_of(changes.keys())) {
            return;
        }
        let new_view =
            NewView { height: self.height, view, view_changes: changes.values().map(|(e, _)| e.clone()).collect() };
        let prepared = match highest_prepared(changes.values().filter_map(|(_, c)| c.prepared.clone())) {
            Ok(prepared) => prepared,
            Err(_) => return, // cannot happen with < 1/3 faulty stake; wait for more view changes
        };
        match prepared {
            Some(proof) => self.propose(proof.block, Some(new_view), out),
            None => {
                self.round.leading = Some(new_view);
                out.push(Output::BuildProposal { height: self.height, view });
            }
        }
    }
}
