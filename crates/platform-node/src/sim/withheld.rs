//! Byzantine behaviour: a validator that evaluates what is committed but never publishes its
//! evaluations. The others hold more than two thirds of the stake, so every submission still
//! becomes final on their evaluations alone, and the weights are set without it.

use platform_p2p::Topic;

/// Whether a message the withholder published on `topic` is kept from every peer: its
/// evaluations are.
pub(crate) fn withholds(topic: Topic) -> bool {
    topic == Topic::Evaluations
}
