//! Byzantine behaviour: a validator that floods its peers with messages that are validly signed
//! but useless: batches of evaluations of submissions nobody made, naming its current epoch (as
//! if a block its peers have not applied yet had ordered them) — with every batch of real ones,
//! and with every other consensus message while the run is young (before the submissions are
//! evaluated, so that the pools are full when the honest evaluations arrive) — and, with every
//! consensus message, votes for heights far ahead, bytes that decode as nothing, and a vote
//! whose signature does not match (which the receivers' gossip pumps refuse). Nothing
//! but the receivers' own bounds stops them: one signer's share of the evaluations waiting to be
//! ordered, and its share of the buffered future votes. And when it leads it orders none of the
//! others' evaluations (it wants their pools to be the only way they reach a block). The honest
//! validators' evaluations must still be ordered, so every submission becomes final.

use platform_p2p::Topic;
use platform_types::{
    Action, ChallengeId, Envelope, Epoch, Evaluation, EvaluationBatch, EvaluationStatus, Hash, Height, Keypair, NetUid,
    SubmissionId, View, Vote, VoteKind, blake2b_256,
};

use super::setup::NETUID;

/// Made-up evaluations sent with each batch of real ones, and with one in
/// [`EARLY_EVERY`] consensus messages below [`EARLY_HEIGHTS`]: more than one signer's share of
/// an honest pool at n = 7 (36), three quarters of it at n = 4 (64), so that a few batches fill
/// it.
const EVALUATIONS_PER_BATCH: u64 = 48;

/// One in this many consensus messages below [`EARLY_HEIGHTS`] carries a batch. (With every
/// one, the batches, each signed once and checked by every receiver, were a third of a sweep's
/// time; with one in two the flood still fills a pool bounded only in total, which is what the
/// flood test must catch.)
const EARLY_EVERY: u64 = 2;

/// Heights during which consensus messages carry made-up evaluations too.
const EARLY_HEIGHTS: u64 = 12;

/// Votes for heights far ahead sent with each consensus message.
const VOTES_PER_MESSAGE: u64 = 2;

/// The junk the flooder sends every peer along with a message it published on `topic`, its
/// tip at `height` in `epoch`; `seq` makes every message's junk its own.
pub(crate) fn junk(keypair: &Keypair, topic: Topic, height: Height, epoch: Epoch, seq: u64) -> Vec<(Topic, Vec<u8>)> {
    let netuid = NetUid::new(NETUID);
    let mut junk = Vec::new();
    let early = topic == Topic::Consensus && height.get() < EARLY_HEIGHTS && seq.is_multiple_of(EARLY_EVERY);
    if topic == Topic::Evaluations || early {
        let made_up = |n: u64| Evaluation {
            submission: SubmissionId(blake2b_256(&[seq.to_le_bytes(), n.to_le_bytes()].concat())),
            challenge: ChallengeId::new("sim").expect("id"),
            validator: keypair.public(),
            status: EvaluationStatus::Scored,
            score_ppb: 1_000_000_000,
            fuel_used: 1,
            output_hash: Hash::ZERO,
            epoch,
        };
        // Signed batches of four made-up verdicts each.
        let batch: Vec<Vec<u8>> = (0..EVALUATIONS_PER_BATCH / 4)
            .map(|b| {
                let verdicts = EvaluationBatch::new((4 * b..4 * b + 4).map(made_up).collect()).expect("batch");
                Envelope::seal(keypair, netuid, &verdicts).to_bytes()
            })
            .collect();
        junk.push((Topic::Evaluations, Envelope::join_batch(&batch)));
    }
    if topic == Topic::Consensus {
        for n in 0..VOTES_PER_MESSAGE {
            let ahead = Height::new(height.get() + 2 + (seq.wrapping_mul(7) + n) % 50);
            let vote = Vote {
                kind: VoteKind::Prepare,
                height: ahead,
                view: View::new(0),
                block_hash: blake2b_256(&[seq, n].map(u64::to_le_bytes).concat()),
            };
            junk.push((Topic::Consensus, Envelope::seal(keypair, netuid, &vote).to_bytes()));
        }
        // Malformed: not an envelope at all, and a vote whose signature was tampered with.
        junk.push((Topic::Consensus, [0xff, 0xff, 0xff].iter().copied().chain(seq.to_le_bytes()).collect()));
        let vote = Vote { kind: VoteKind::Commit, height, view: View::new(0), block_hash: Hash::ZERO };
        let mut forged = Envelope::seal(keypair, netuid, &vote);
        let mut signature = *forged.signature.as_bytes();
        signature[0] ^= 1;
        forged.signature = platform_types::Signature::from_bytes(signature);
        junk.push((Topic::Consensus, forged.to_bytes()));
    }
    junk
}

/// Its proposal without the evaluations other validators signed, signed again; `None` for any
/// other message.
pub(crate) fn censor(keypair: &Keypair, bytes: &[u8]) -> Option<Vec<u8>> {
    super::behaviour::reproposed(keypair, bytes, |_, actions| {
        actions.retain(|a| !matches!(a, Action::Evaluations(e) if e.signer != keypair.public()));
        Some(())
    })
}
