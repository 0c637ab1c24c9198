//! The JSON forms the HTTP API answers with, one function per shape. Field names follow the
//! protobuf messages in `proto/` (a client that knows one knows the other); every shape has a
//! schema in `docs/openapi.yaml`, and `tests/api` checks answers against it.

use platform_chain::{ChainError, Inclusion, Submitted};
use platform_types::{ChallengeSpec, EmptyPolicy, Normalisation};
use serde_json::{Value, json};

/// A challenge as `GET /challenges` lists it: the `ChallengeSpec` message's fields, plus the
/// height it took effect at and whether this validator has its module loaded.
pub(crate) fn challenge(spec: &ChallengeSpec, since_height: u64, module_loaded: bool) -> Value {
    let p = &spec.policy;
    let s = &spec.scoring;
    let normalisation = match s.normalisation {
        Normalisation::Softmax { temperature_milli } => {
            json!({ "softmax": { "temperature_milli": temperature_milli } })
        }
        Normalisation::Linear => json!({ "linear": {} }),
        Normalisation::ChampionTakesAll { margin_ppb, owner_share_ppb } => {
            json!({ "champion": { "margin_ppb": margin_ppb, "owner_share_ppb": owner_share_ppb } })
        }
    };
    json!({
        "id": spec.id.as_str(),
        "name": spec.name,
        "module_hash": spec.module_hash.to_string(),
        "module_size": spec.module_size,
        "policy": {
            "fuel_limit": p.fuel_limit,
            "memory_pages_max": p.memory_pages_max,
            "deadline_ms": p.deadline_ms,
            "max_input_bytes": p.max_input_bytes,
            "max_output_bytes": p.max_output_bytes,
            "nested_fuel_limit": p.nested_fuel_limit,
        },
        "scoring": {
            "normalisation": normalisation,
            "outlier_z_milli": s.outlier_z_milli,
            "min_coverage_ppb": s.min_coverage_ppb,
            "min_confidence_ppb": s.min_confidence_ppb,
            "ema_alpha_ppb": s.ema_alpha_ppb,
            "empty_policy": match s.empty_policy {
                EmptyPolicy::BurnToOwner => "burn_to_owner",
                EmptyPolicy::Hold => "hold",
            },
        },
        "mechanism_id": spec.mechanism.get(),
        "emission_share_ppb": spec.emission_share_ppb,
        "params": if spec.params.is_empty() { String::new() } else { format!("0x{}", hex::encode(&spec.params)) },
        "reveal_blocks": spec.phases.reveal_blocks().unwrap_or(0),
        "since_height": since_height,
        "module_loaded": module_loaded,
    })
}

/// A transaction the chain included.
fn inclusion(i: &Inclusion) -> Value {
    json!({
        "block": i.block.number,
        "block_hash": i.block.hash.to_string(),
        "extrinsic": i.extrinsic.to_string(),
        "events": i.events,
    })
}

/// What the chain answered to one mechanism's weights: `{path, ok, inclusion, error}` with
/// `path` `set` (set directly), `commit` (committed, revealed later) or `timelocked` (committed
/// to a drand round, revealed by the chain), `inclusion` null when
/// the chain refused them, and `error` the chain's reason then.
pub(crate) fn chain_answer(outcome: &Result<Submitted, ChainError>) -> Value {
    match outcome {
        Ok(Submitted::Set(i)) => json!({ "path": "set", "ok": true, "inclusion": inclusion(i), "error": null }),
        Ok(Submitted::Committed { inclusion: i, commit }) => json!({
            "path": "commit", "ok": true, "inclusion": inclusion(i), "error": null,
            "reveal_from": commit.reveal_from, "reveal_until": commit.reveal_until,
        }),
        Ok(Submitted::Timelocked { inclusion: i, reveal_round }) => json!({
            "path": "timelocked", "ok": true, "inclusion": inclusion(i), "error": null, "reveal_round": reveal_round,
        }),
        Err(e) => json!({ "path": null, "ok": false, "inclusion": null, "error": e.to_string() }),
    }
}
