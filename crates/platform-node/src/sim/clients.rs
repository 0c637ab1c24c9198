//! Byzantine clients: what anyone can send a validator's API, handed in every run to the
//! honest validator the miner uses — a submission from a hotkey not registered on the subnet,
//! one for a challenge that does not exist, one declaring a payload over the challenge's limit,
//! one signed two hours ago, a malformed answer from the registered miner (an empty payload,
//! which admission takes and the challenge rejects: every honest verdict must say so), and a
//! flood of submissions from the registered miner far beyond its rate. None of the refused ones
//! may ever be ordered, and the miner's no more than its rate allows. (A submission sent again
//! byte for byte is the replayed-submissions behaviour's and the no-submission-twice check's.)
//! And the miner's submission a validator acknowledges just before it crashes
//! ([`acknowledge_then_crash`]), which must not be lost.

use platform_types::{
    ChallengeId, Envelope, Keypair, NetUid, Payload, Phase, PublicKey, Submission, SubmissionId, blake2b_256,
};

use super::net::Net;
use super::setup::NETUID;
use crate::inputs::Input;

/// Submissions the flooding miner sends beyond its first ones.
pub(crate) const FLOOD: u64 = 40;

/// What the hostile clients sent: the ids that must never be ordered, each with what it was;
/// and the malformed answer, which may be ordered but must be rejected.
pub(crate) fn send(net: &mut Net, via: usize, miner: &Keypair) -> (Vec<(SubmissionId, &'static str)>, SubmissionId) {
    let netuid = NetUid::new(NETUID);
    let now_ms = net.clock().wall_ms;
    let sim = ChallengeId::new("sim").expect("id");
    let submission =
        |miner: &Keypair, challenge: &ChallengeId, payload: Payload, size: u64, nonce: u64, at: u64| Submission {
            challenge: challenge.clone(),
            miner: miner.public(),
            payload_size: size,
            payload,
            metadata: vec![],
            nonce,
            timestamp_ms: at,
            phase: Default::default(),
        };
    let inline = |text: &str| (Payload::Inline(text.as_bytes().to_vec()), text.len() as u64);
    let stranger = super::setup::key("Stranger");
    let (p, n) = inline("unregistered");
    let mut refused = vec![
        (submission(&stranger, &sim, p, n, 1, now_ms), &stranger, "a hotkey not registered on the subnet"),
        {
            let (p, n) = inline("nowhere");
            let nope = ChallengeId::new("nope").expect("id");
            (submission(miner, &nope, p, n, 1_001, now_ms), miner, "a challenge that does not exist")
        },
        {
            let too_big = u64::from(platform_types::RuntimePolicy::default().max_input_bytes) + 1;
            let blob = Payload::Blob(blake2b_256(b"a payload nobody will fetch"));
            (submission(miner, &sim, blob, too_big, 1_002, now_ms), miner, "a payload over the challenge's limit")
        },
        {
            let (p, n) = inline("stale");
            let two_hours_ago = now_ms.saturating_sub(2 * 3_600_000);
            (submission(miner, &sim, p, n, 1_003, two_hours_ago), miner, "signed two hours ago")
        },
    ]
    .into_iter()
    .map(|(s, key, what)| (Envelope::seal(key, netuid, &s), what))
    .collect::<Vec<_>>();
    let mut forbidden = Vec::new();
    for (envelope, what) in refused.drain(..) {
        forbidden.push((SubmissionId(envelope.payload_hash()), what));
        deliver(net, via, envelope);
    }
    let empty = Envelope::seal(miner, netuid, &submission(miner, &sim, Payload::Inline(Vec::new()), 0, 1_004, now_ms));
    let malformed = SubmissionId(empty.payload_hash());
    deliver(net, via, empty);
    for nonce in 0..FLOOD {
        let (p, n) = inline(&format!("flood {nonce}"));
        deliver(net, via, Envelope::seal(miner, netuid, &submission(miner, &sim, p, n, 2_000 + nonce, now_ms)));
    }
    (forbidden, malformed)
}

fn deliver(net: &mut Net, via: usize, envelope: Envelope) {
    let netuid = NetUid::new(NETUID);
    let bytes = envelope.to_bytes();
    let signed = envelope.open(netuid).expect("signed");
    net.deliver(via, Input::Submit { signed, bytes, local: true, blob: None, reply: None });
}

/// Hands validator `to` a submission of `miner` and lets it acknowledge it (admitted, written
/// to its store) with nothing sent on: the effects of that turn are dropped, as when the
/// validator crashes right after acknowledging. Returns its id and signed timestamp (the run
/// then checks that it is ordered once the validator is back), or why it was not acknowledged.
pub(crate) fn acknowledge_then_crash(net: &mut Net, to: usize, miner: &Keypair) -> Result<Acknowledged, String> {
    let timestamp_ms = net.clock().wall_ms;
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    let payload = b"acknowledged just before a crash".to_vec();
    let (id, input) = super::actions::submission_input(net, miner, "sim", 5_000, payload, Some(reply), Phase::Answer);
    let node = &mut net.nodes[to];
    node.handle(input);
    node.end_turn();
    node.settle_writes();
    drop(node.take_effects());
    match answer.try_recv() {
        Ok(Ok(_)) => Ok(Acknowledged { miner: miner.public(), id, timestamp_ms }),
        Ok(Err(refused)) => Err(format!("refused: {refused:?}")),
        Err(_) => Err("not answered once written".into()),
    }
}

/// A submission a validator acknowledged ([`acknowledge_then_crash`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acknowledged {
    pub miner: PublicKey,
    pub id: SubmissionId,
    pub timestamp_ms: u64,
}

impl Acknowledged {
    /// Validator `i` has committed it (its replay window holds it).
    pub(crate) fn ordered_by(&self, net: &Net, i: usize) -> bool {
        net.nodes[i].state.replays.get(&self.miner).is_some_and(|w| w.ids.contains(&(self.timestamp_ms, self.id)))
    }
}
