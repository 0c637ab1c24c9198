//! The owner's and the miner's actions in a simulated network: a challenge added or updated,
//! submissions signed and handed to a validator.

use std::time::Duration;

use platform_types::{Keypair, NetUid, Phase};

use super::Stuck;
use super::net::Net;
use super::setup::{MINER, NETUID, key};
use crate::core::Input;

/// The owner (validator 0's key) adds challenge `sim` through validator `via` and, once every
/// running validator has it, the miner submits six payloads to `via`; returns the miner's key.
pub(crate) fn challenge_and_submissions(net: &mut Net, via: usize) -> Result<Keypair, Stuck> {
    add_challenge(net, via, "sim", super::sandbox::module())?;
    let miner = key(MINER);
    let payloads: Vec<Vec<u8>> = (0..6u64).map(|nonce| format!("answer {nonce}").into_bytes()).collect();
    submit(net, via, &miner, "sim", 0, &payloads);
    Ok(miner)
}

/// The owner (validator `V0`) adds challenge `id` running `module` through validator `via`
/// (which keeps the module, as `POST /sudo` does, for the others to fetch by its hash); runs
/// until every running validator has it.
pub(crate) fn add_challenge(net: &mut Net, via: usize, id: &str, module: &[u8]) -> Result<(), Stuck> {
    register_challenge(net, via, challenge_spec(id, module), module, false)
}

/// Challenge `id` running `module` with the default policy and scoring, its whole mechanism's
/// emission, no parameters, one phase: what [`register_challenge`] takes, to vary.
pub(crate) fn challenge_spec(id: &str, module: &[u8]) -> platform_types::ChallengeSpec {
    platform_types::ChallengeSpec {
        id: platform_types::ChallengeId::new(id).expect("id"),
        name: id.into(),
        module_hash: platform_types::blake2b_256(module),
        module_size: module.len() as u64,
        policy: Default::default(),
        scoring: Default::default(),
        mechanism: platform_types::MechanismId::new(0),
        emission_share_ppb: 1_000_000_000,
        params: Vec::new(),
        phases: Default::default(),
    }
}

/// [`add_challenge`] of `spec` (running `module`), or an update to it (`update`): runs until
/// every running validator holds the challenge with `spec`'s parameters.
pub(crate) fn register_challenge(
    net: &mut Net,
    via: usize,
    spec: platform_types::ChallengeSpec,
    module: &[u8],
    update: bool,
) -> Result<(), Stuck> {
    use platform_types::{Envelope, SudoAction, SudoCommand};
    let netuid = NetUid::new(NETUID);
    let owner = key("V0");
    let (id, params, hash) = (spec.id.clone(), spec.params.clone(), spec.module_hash);
    // The owner's nonces increase: one more than the challenges added so far (an update comes
    // after them all).
    let nonce = net.nodes[via].state.registry.challenges.len() as u64 + 1 + 100 * u64::from(update);
    let command = if update { SudoCommand::UpdateChallenge(spec) } else { SudoCommand::AddChallenge(spec) };
    let action = SudoAction { command, nonce, timestamp_ms: net.clock().wall_ms };
    let signed = Envelope::seal(&owner, netuid, &action).open(netuid).expect("signed");
    net.nodes[via].records.put_blob(&hash, module).expect("memory store");
    net.deliver(via, Input::Sudo { signed, local: true, reply: None });
    net.run_until(Duration::from_secs(30), |net| {
        net.nodes
            .iter()
            .zip(&net.down)
            .all(|(n, down)| *down || n.state.challenge(&id).is_some_and(|c| c.spec.params == params))
    })
}

/// `miner` submits `payloads` to `challenge` through validator `via`, with nonces from
/// `first_nonce` on, signed now; their ids.
pub(crate) fn submit(
    net: &mut Net,
    via: usize,
    miner: &Keypair,
    challenge: &str,
    first_nonce: u64,
    payloads: &[Vec<u8>],
) -> Vec<platform_types::SubmissionId> {
    let mut ids = Vec::new();
    for (nonce, payload) in (first_nonce..).zip(payloads) {
        let (id, input) = submission_input(net, miner, challenge, nonce, payload.clone(), None, Phase::Answer);
        ids.push(id);
        net.deliver(via, input);
    }
    ids
}

/// `miner`'s submission of `payload` (inline) to `challenge` with `nonce` in `phase`, signed now,
/// as the API hands it to a validator's core (answering on `reply`, if given); and its id.
pub(crate) fn submission_input(
    net: &Net,
    miner: &Keypair,
    challenge: &str,
    nonce: u64,
    payload: Vec<u8>,
    reply: Option<tokio::sync::oneshot::Sender<Result<platform_types::SubmissionId, crate::core::Rejection>>>,
    phase: Phase,
) -> (platform_types::SubmissionId, Input) {
    use platform_types::{ChallengeId, Envelope, Payload, Submission, SubmissionId};
    let netuid = NetUid::new(NETUID);
    let submission = Submission {
        challenge: ChallengeId::new(challenge).expect("id"),
        miner: miner.public(),
        payload_size: payload.len() as u64,
        payload: Payload::Inline(payload),
        metadata: vec![],
        nonce,
        timestamp_ms: net.clock().wall_ms,
        phase,
    };
    let envelope = Envelope::seal(miner, netuid, &submission);
    let id = SubmissionId(envelope.payload_hash());
    let bytes = envelope.to_bytes();
    let signed = envelope.open(netuid).expect("signed");
    (id, Input::Submit { signed, bytes, local: true, blob: None, reply })
}
