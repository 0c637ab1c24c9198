//! Safety rules: the only place that signs consensus messages, and only after persisting what
//! it is about to sign (aptos' safety-rules discipline). A restarted node loads this record and
//! can never vote against what it voted before the crash:
//!
//! - never two different proposals, prepares or commits for one (height, view);
//! - never a prepare or commit in a view below one it has moved past with a view change;
//! - never anything for a height below its current one;
//! - the highest prepared certificate survives restarts, so view changes still carry it.

use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};
use platform_storage::{Column, Store, StoreError};
use platform_types::{
    Codec, Envelope, Hash, Height, Keypair, MessageKind, NetUid, PreparedProof, Proposal, View, ViewChange, Vote,
    VoteKind,
};

const SAFETY_KEY: &[u8] = b"safety";

/// What has been signed, persisted before each signature leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SafetyData {
    /// The height the node is deciding.
    pub height: Height,
    /// The highest view entered at `height`.
    pub view: View,
    /// The proposal signed at (height, view), if any.
    pub proposed: Option<(View, Hash)>,
    /// The prepare signed at (height, view), if any.
    pub prepared_vote: Option<(View, Hash)>,
    /// The commit signed at (height, view), if any.
    pub commit_vote: Option<(View, Hash)>,
    /// The highest prepared certificate held at `height`.
    pub prepared: Option<PreparedProof>,
}

/// Why the safety rules refused to sign.
#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    /// Signing would contradict an earlier signature.
    #[error("refusing to sign: {0}")]
    Conflict(&'static str),
    /// The record could not be persisted, so nothing is signed.
    #[error("cannot persist safety data: {0}")]
    Storage(#[from] StoreError),
    /// The persisted record does not decode.
    #[error("corrupt safety data: {0}")]
    Corrupt(String),
}

/// Signs consensus messages for one validator, persisting first.
pub struct SafetyRules {
    keypair: Keypair,
    netuid: NetUid,
    store: Arc<dyn Store>,
    data: SafetyData,
}

impl std::fmt::Debug for SafetyRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetyRules").field("signer", &self.keypair.public()).field("data", &self.data).finish()
    }
}

impl SafetyRules {
    /// Loads the record from `store` (an empty record for a new node).
    pub fn load(keypair: Keypair, netuid: NetUid, store: Arc<dyn Store>) -> Result<Self, SafetyError> {
        let data = match store.get(Column::Consensus, SAFETY_KEY)? {
            Some(bytes) => {
                SafetyData::decode(&mut bytes.as_slice()).map_err(|e| SafetyError::Corrupt(e.to_string()))?
            }
            None => SafetyData::default(),
        };
        Ok(SafetyRules { keypair, netuid, store, data })
    }

    /// The persisted record.
    pub fn data(&self) -> &SafetyData {
        &self.data
    }

    /// The signing key's public half.
    pub fn signer(&self) -> platform_types::PublicKey {
        self.keypair.public()
    }

    fn persist(&mut self, next: SafetyData) -> Result<(), SafetyError> {
        if next != self.data {
            self.store.put(Column::Consensus, SAFETY_KEY, &next.encode())?;
            self.data = next;
        }
        Ok(())
    }

    /// Moves to a new height (after a commit), clearing per-height votes.
    pub fn enter_height(&mut self, height: Height) -> Result<(), SafetyError> {
        if height < self.data.height {
            return Err(SafetyError::Conflict("height below the recorded one"));
        }
        if height == self.data.height {
            return Ok(());
        }
        self.persist(SafetyData { height, ..SafetyData::default() })
    }

    fn check_view(&self, height: Height, view: View) -> Result<SafetyData, SafetyError> {
        if height != self.data.height {
            return Err(SafetyError::Conflict("not the recorded height"));
        }
        if view < self.data.view {
            return Err(SafetyError::Conflict("view below one already left"));
        }
        let mut next = self.data.clone();
        if view > next.view {
            next.view = view;
            next.proposed = None;
            next.prepared_vote = None;
            next.commit_vote = None;
        }
        Ok(next)
    }

    fn sign_once(
        &mut self,
        height: Height,
        view: View,
        hash: Hash,
        slot: fn(&mut SafetyData) -> &mut Option<(View, Hash)>,
        kind: MessageKind,
        payload: Vec<u8>,
    ) -> Result<Envelope, SafetyError> {
        let mut next = self.check_view(height, view)?;
        match *slot(&mut next) {
            Some((_, signed)) if signed != hash => {
                return Err(SafetyError::Conflict("already signed another block here"));
            }
            _ => *slot(&mut next) = Some((view, hash)),
        }
        self.persist(next)?;
        Ok(Envelope::sign(&self.keypair, self.netuid, kind, payload))
    }

    /// Signs a proposal, at most one block per (height, view).
    pub fn sign_proposal(&mut self, proposal: &Proposal) -> Result<Envelope, SafetyError> {
        let hash = proposal.block.hash();
        self.sign_once(
            proposal.height,
            proposal.view,
            hash,
            |d| &mut d.proposed,
            MessageKind::Proposal,
            proposal.to_bytes(),
        )
    }

    /// Signs a prepare or commit vote, at most one block per (height, view) and kind.
    pub fn sign_vote(&mut self, vote: &Vote) -> Result<Envelope, SafetyError> {
        let slot: fn(&mut SafetyData) -> &mut Option<(View, Hash)> = match vote.kind {
            VoteKind::Prepare => |d| &mut d.prepared_vote,
            VoteKind::Commit => |d| &mut d.commit_vote,
        };
        self.sign_once(vote.height, vote.view, vote.block_hash, slot, vote.kind.message_kind(), vote.to_bytes())
    }

    /// Records a prepared certificate if it is higher than the one held.
    pub fn record_prepared(&mut self, proof: PreparedProof) -> Result<(), SafetyError> {
        if proof.certificate.height != self.data.height {
            return Err(SafetyError::Conflict("prepared certificate for another height"));
        }
        let higher = self.data.prepared.as_ref().is_none_or(|held| proof.certificate.view > held.certificate.view);
        if higher {
            let mut next = self.data.clone();
            next.prepared = Some(proof);
            self.persist(next)?;
        }
        Ok(())
    }

    /// Signs again a message this validator signed before (the same kind and payload: a
    /// statement the record already allowed and persisted), so that it can be sent again
    /// through gossip, which drops bytes it has already seen. A message signed by another key
    /// is returned as it is.
    pub fn sign_again(&self, envelope: &Envelope) -> Envelope {
        if envelope.signer != self.keypair.public() {
            return envelope.clone();
        }
        Envelope::sign(&self.keypair, self.netuid, envelope.kind, envelope.payload.clone())
    }

    /// Signs a view change to `view`, after which nothing is signed in lower views. It carries
    /// the highest prepared certificate held.
    pub fn sign_view_change(&mut self, height: Height, view: View) -> Result<(Envelope, ViewChange), SafetyError> {
        if view <= self.data.view && height == self.data.height {
            return Err(SafetyError::Conflict("view change must move to a higher view"));
        }
        let next = self.check_view(height, view)?;
        self.persist(next)?;
        let change = ViewChange { height, view, prepared: self.data.prepared.clone() };
        let envelope = Envelope::sign(&self.keypair, self.netuid, MessageKind::ViewChange, change.to_bytes());
        Ok((envelope, change))
    }
}
