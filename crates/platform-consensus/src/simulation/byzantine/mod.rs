//! Byzantine behaviours, one per file. A faulty node runs the honest state machine; its
//! behaviour decides what actually leaves it: dropped, altered, duplicated with a
//! conflicting twin, forged in another validator's name, or replayed out of place.
//! [`Behaviour::Twin`] is different: two processes run honestly with one key and separate
//! safety records, which makes the key equivocate whenever the twins see different things.

mod conflicter;
mod equivocator;
mod impersonator;
mod silent;
mod stale;

use platform_types::{Envelope, Keypair, NetUid, PublicKey};
use rand::rngs::StdRng;

/// What a simulated validator does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Behaviour {
    /// Follows the protocol.
    Honest,
    /// Never sends anything.
    Silent,
    /// As leader, sends different blocks to different halves of the network.
    Equivocator,
    /// Votes for its block to half the network and for another block to the other half.
    Conflicter,
    /// Also sends votes and proposals claiming to be from others, with bad signatures.
    Impersonator,
    /// Also replays old messages and sends votes for views far behind and far ahead.
    Stale,
    /// Two processes share this validator's key (each honest, with its own safety record).
    Twin,
}

impl Behaviour {
    /// Every faulty behaviour, for cycling through in the runner.
    pub const FAULTY: [Behaviour; 6] = [
        Behaviour::Silent,
        Behaviour::Equivocator,
        Behaviour::Conflicter,
        Behaviour::Impersonator,
        Behaviour::Stale,
        Behaviour::Twin,
    ];

    /// Parses a behaviour name as the runner's `--behaviour` flag spells it.
    pub fn parse(name: &str) -> Option<Behaviour> {
        Some(match name {
            "honest" => Behaviour::Honest,
            "silent" => Behaviour::Silent,
            "equivocator" => Behaviour::Equivocator,
            "conflicter" => Behaviour::Conflicter,
            "impersonator" => Behaviour::Impersonator,
            "stale" => Behaviour::Stale,
            "twin" => Behaviour::Twin,
            _ => return None,
        })
    }
}

/// Who receives a message.
#[derive(Clone, Debug)]
pub(crate) enum To {
    /// Every other node.
    All,
    /// Only these node indices.
    Only(Vec<usize>),
}

/// What a faulty node may use: its key, the others' public keys, randomness, its history.
pub(crate) struct Context<'a> {
    pub keypair: &'a Keypair,
    pub netuid: NetUid,
    pub rng: &'a mut StdRng,
    pub nodes: usize,
    pub others: &'a [PublicKey],
    pub history: &'a mut Vec<Envelope>,
}

impl Context<'_> {
    /// Node indices split into two halves.
    pub(crate) fn halves(&self) -> (Vec<usize>, Vec<usize>) {
        let all: Vec<usize> = (0..self.nodes).collect();
        let (a, b) = all.split_at(self.nodes / 2);
        (a.to_vec(), b.to_vec())
    }
}

/// What leaves a node whose machine wants to broadcast `envelope`.
pub(crate) fn act(behaviour: Behaviour, ctx: &mut Context<'_>, envelope: Envelope) -> Vec<(To, Envelope)> {
    match behaviour {
        Behaviour::Honest | Behaviour::Twin => vec![(To::All, envelope)],
        Behaviour::Silent => silent::act(ctx, envelope),
        Behaviour::Equivocator => equivocator::act(ctx, envelope),
        Behaviour::Conflicter => conflicter::act(ctx, envelope),
        Behaviour::Impersonator => impersonator::act(ctx, envelope),
        Behaviour::Stale => stale::act(ctx, envelope),
    }
}
