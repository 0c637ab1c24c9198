//! Checking certificates received from others: quorum certificates, the view changes that
//! justify a new view, and checkpoints.

use std::collections::BTreeSet;

use platform_types::{
    Checkpoint, Codec, Envelope, Height, NetUid, NewView, PreparedProof, QuorumCertificate, View, ViewChange, Vote,
    VoteKind,
};

use crate::committee::Committee;
use crate::io::Misbehaviour;

type Result<T> = std::result::Result<T, Misbehaviour>;

/// Checks that `certificate` holds valid votes of its kind, height, view and block from
/// distinct members of `committee`, with more than two thirds of the stake.
pub fn verify_certificate(certificate: &QuorumCertificate, committee: &Committee, netuid: NetUid) -> Result<()> {
    let invalid = Misbehaviour::InvalidCertificate;
    let mut signers = BTreeSet::new();
    for envelope in &certificate.votes {
        let vote = Vote::from_bytes(&envelope.payload).map_err(|_| invalid("undecodable vote"))?;
        let expected = (certificate.kind, certificate.height, certificate.view, certificate.block_hash);
        if (vote.kind, vote.height, vote.view, vote.block_hash) != expected || envelope.kind != vote.kind.message_kind()
        {
            return Err(invalid("a vote is for something else"));
        }
        if !committee.contains(&envelope.signer) {
            return Err(invalid("a vote is from a non-member"));
        }
        if !signers.insert(envelope.signer) {
            return Err(invalid("two votes from one signer"));
        }
    }
    if !committee.is_quorum(committee.stake_of(&signers)) {
        return Err(invalid("votes fall short of a quorum"));
    }
    let envelopes: Vec<&Envelope> = certificate.votes.iter().collect();
    Envelope::verify_batch(&envelopes, netuid).map_err(|_| invalid("a vote's signature does not verify"))
}

/// Checks a prepared proof carried by a view change to `view` at `height`.
pub fn verify_prepared(
    proof: &PreparedProof,
    height: Height,
    view: View,
    committee: &Committee,
    netuid: NetUid,
) -> Result<()> {
    let certificate = &proof.certificate;
    if certificate.kind != VoteKind::Prepare || certificate.height != height || certificate.view >= view {
        return Err(Misbehaviour::InvalidCertificate("prepared certificate out of place"));
    }
    if proof.block.hash() != certificate.block_hash {
        return Err(Misbehaviour::InvalidCertificate("prepared block does not match"));
    }
    verify_certificate(certificate, committee, netuid)
}

/// Checks a new view's justification: a quorum of valid view changes to `(height, view)`.
/// Returns the highest prepared proof among them, which the new leader must re-propose.
pub fn verify_new_view(
    new_view: &NewView,
    height: Height,
    view: View,
    committee: &Committee,
    netuid: NetUid,
) -> Result<Option<PreparedProof>> {
    let invalid = Misbehaviour::InvalidCertificate;
    if new_view.height != height || new_view.view != view {
        return Err(invalid("new view for another height or view"));
    }
    let mut signers = BTreeSet::new();
    let mut changes: Vec<ViewChange> = Vec::with_capacity(new_view.view_changes.len());
    for envelope in &new_view.view_changes {
        let change = ViewChange::from_bytes(&envelope.payload).map_err(|_| invalid("undecodable view change"))?;
        if change.height != height || change.view != view {
            return Err(invalid("a view change is for another height or view"));
        }
        if !committee.contains(&envelope.signer) || !signers.insert(envelope.signer) {
            return Err(invalid("a view change is from a non-member or repeated"));
        }
        if let Some(proof) = &change.prepared {
            verify_prepared(proof, height, view, committee, netuid)?;
        }
        changes.push(change);
    }
    if !committee.is_quorum(committee.stake_of(&signers)) {
        return Err(invalid("view changes fall short of a quorum"));
    }
    let envelopes: Vec<&Envelope> = new_view.view_changes.iter().collect();
    Envelope::verify_batch(&envelopes, netuid).map_err(|_| invalid("a view change's signature does not verify"))?;
    highest_prepared(changes.into_iter().filter_map(|c| c.prepared))
}

/// The prepared proof of the highest view; two different blocks prepared in one view cannot
/// both be certified unless a third of the stake equivocated, and are refused.
pub fn highest_prepared(proofs: impl IntoIterator<Item = PreparedProof>) -> Result<Option<PreparedProof>> {
    let mut best: Option<PreparedProof> = None;
    for proof in proofs {
        match &best {
            Some(held)
                if held.certificate.view == proof.certificate.view && held.block.hash() != proof.block.hash() =>
            {
                return Err(Misbehaviour::InvalidCertificate("two blocks prepared in one view"));
            }
            Some(held) if held.certificate.view >= proof.certificate.view => {}
            _ => best = Some(proof),
        }
    }
    Ok(best)
}

/// Checks a checkpoint against the validator set it names: the set hashes to the header's
/// `validators_hash`, and the commit certificate is a quorum of that set for the header.
/// On success the checkpoint's `header.parent_state_root` can be trusted.
pub fn verify_checkpoint(checkpoint: &Checkpoint, netuid: NetUid) -> Result<Committee> {
    let committee = Committee::new(checkpoint.validators.clone())
        .map_err(|_| Misbehaviour::InvalidCertificate("invalid validator set"))?;
    if committee.hash() != checkpoint.header.validators_hash {
        return Err(Misbehaviour::InvalidCertificate("validator set does not match the header"));
    }
    let certificate = &checkpoint.commit;
    if certificate.kind != VoteKind::Commit
        || certificate.height != checkpoint.header.height
        || certificate.block_hash != checkpoint.header.hash()
    {
        return Err(Misbehaviour::InvalidCertificate("certificate is not for this header"));
    }
    verify_certificate(certificate, &committee, netuid)?;
    Ok(committee)
}
