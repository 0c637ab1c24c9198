//! What a Byzantine validator does wrong ([`Behaviour`]), and how each one changes what its core
//! publishes, per receiver (each behaviour's own file holds its rewriting).

use platform_types::{Action, Codec};

use super::{
    epoch_jump, equivocation, forged_sudo, gossip_flood, replayed_submissions, setup, unpublished, withheld,
    wrong_scores, wrong_weights,
};

/// What a Byzantine validator does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Crashed from the start: it neither hears nor speaks.
    Silent,
    /// Leads with blocks whose epoch is 1 000 ahead of the chain's, signed with its own key.
    EpochJump,
    /// Leads with blocks whose weight vector is not the one the committed state gives.
    WrongWeights,
    /// Gossips two different signed results for each of its evaluations, each to half its peers.
    Equivocation,
    /// Evaluates but never publishes its evaluations.
    WithheldEvaluations,
    /// Leads with blocks that order a submission whose body it never published.
    UnpublishedBodies,
    /// Leads with blocks carrying a sudo action it signed itself, or a replay of the owner's.
    ForgedSudo,
    /// Answers every block sync first, with its history rewritten.
    LyingSync,
    /// Leads with blocks ordering again a submission already committed (retired or not).
    ReplayedSubmissions,
    /// Sends validly signed junk with everything it publishes (evaluations of made-up
    /// submissions, votes for heights far ahead), and leads without the others' evaluations.
    GossipFlood,
    /// Answers a joiner's genesis request with a set of its own (itself with all the stake);
    /// the restarting validator of these runs joins again from an empty store.
    ForgedGenesis,
    /// Signs every evaluation with a wrong score (one billion minus the sandbox's), to all.
    WrongScores,
}

/// What a Byzantine validator sends one receiver of a message its core published.
pub(super) enum Outgoing {
    /// The message as published.
    AsPublished,
    /// Other bytes, signed with its own key.
    Replaced(Vec<u8>),
    /// Nothing.
    Withheld,
}

impl Behaviour {
    /// Every behaviour, for sweeps.
    pub const ALL: [Behaviour; 12] = [
        Behaviour::Silent,
        Behaviour::EpochJump,
        Behaviour::WrongWeights,
        Behaviour::Equivocation,
        Behaviour::WithheldEvaluations,
        Behaviour::UnpublishedBodies,
        Behaviour::ForgedSudo,
        Behaviour::LyingSync,
        Behaviour::ReplayedSubmissions,
        Behaviour::GossipFlood,
        Behaviour::ForgedGenesis,
        Behaviour::WrongScores,
    ];

    /// The name the runner takes (`--behaviour`).
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Silent => "silent",
            Behaviour::EpochJump => "epoch-jump",
            Behaviour::WrongWeights => "wrong-weights",
            Behaviour::Equivocation => "equivocation",
            Behaviour::WithheldEvaluations => "withheld-evaluations",
            Behaviour::UnpublishedBodies => "unpublished-bodies",
            Behaviour::ForgedSudo => "forged-sudo",
            Behaviour::LyingSync => "lying-sync",
            Behaviour::ReplayedSubmissions => "replayed-submissions",
            Behaviour::GossipFlood => "gossip-flood",
            Behaviour::ForgedGenesis => "forged-genesis",
            Behaviour::WrongScores => "wrong-scores",
        }
    }

    /// What receiver `to` gets of `bytes` published on `topic` by a validator behaving so
    /// (with its key and its store).
    pub(super) fn outgoing(
        self,
        keypair: &platform_types::Keypair,
        records: &crate::records::Records,
        topic: platform_p2p::Topic,
        bytes: &[u8],
        to: usize,
    ) -> Outgoing {
        use platform_p2p::Topic;
        let replaced = match (self, topic) {
            (Behaviour::EpochJump, Topic::Consensus) => epoch_jump::rewrite(keypair, bytes),
            (Behaviour::WrongWeights, Topic::Consensus) => wrong_weights::rewrite(keypair, bytes),
            (Behaviour::Equivocation, Topic::Evaluations) => equivocation::rewrite(keypair, bytes, to),
            (Behaviour::WrongScores, Topic::Evaluations) => wrong_scores::rewrite(keypair, bytes),
            (Behaviour::WrongScores, Topic::Consensus) => wrong_scores::repropose(keypair, bytes),
            (Behaviour::WithheldEvaluations, topic) if withheld::withholds(topic) => return Outgoing::Withheld,
            (Behaviour::UnpublishedBodies, Topic::Consensus) => unpublished::rewrite(keypair, bytes),
            (Behaviour::ForgedSudo, Topic::Consensus) => forged_sudo::rewrite(keypair, records, bytes),
            (Behaviour::GossipFlood, Topic::Consensus) => gossip_flood::censor(keypair, bytes),
            (Behaviour::ReplayedSubmissions, Topic::Consensus) => {
                replayed_submissions::rewrite(keypair, records, bytes)
            }
            _ => None,
        };
        replaced.map_or(Outgoing::AsPublished, Outgoing::Replaced)
    }

    /// The behaviour called `name`.
    pub fn from_name(name: &str) -> Option<Behaviour> {
        Behaviour::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// `bytes` when it is a proposal: its block rebuilt with the same header fields and the
/// actions as `edit` leaves them, signed again by `keypair` (so the signature holds and only the
/// block rules can refuse it); `None` for any other message, or when `edit` gives up.
pub(super) fn reproposed(
    keypair: &platform_types::Keypair,
    bytes: &[u8],
    edit: impl FnOnce(&platform_types::BlockHeader, &mut Vec<Action>) -> Option<()>,
) -> Option<Vec<u8>> {
    use platform_types::{Block, Envelope, MessageKind, NetUid, Proposal};
    let envelope = Envelope::from_bytes(bytes, 1 << 20).ok().filter(|e| e.kind == MessageKind::Proposal)?;
    let mut proposal = Proposal::from_bytes(&envelope.payload).ok()?;
    let mut actions = proposal.block.actions.clone();
    let h = proposal.block.header.clone();
    edit(&h, &mut actions)?;
    proposal.block = Block::new(h.fields(), actions);
    Some(Envelope::seal(keypair, NetUid::new(setup::NETUID), &proposal).to_bytes())
}
