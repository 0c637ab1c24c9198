//! The weights page's values: the agreed vectors of the last epochs, what this validator's
//! submissions of them did on chain, and which validators' weights read on chain match them.

use serde::Serialize;
use serde_json::Value;

use crate::records::Records;

/// Epochs of agreed weights the weights page shows.
pub(crate) const WEIGHT_EPOCHS: usize = 50;

/// `/ui/weights` and `/dashboard/weights`: the agreed vectors, newest epoch first.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct Weights {
    pub epochs: Vec<EpochWeights>,
}

/// One epoch's agreed weights and what the chain said to this validator's submission.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct EpochWeights {
    pub epoch: u64,
    pub height: u64,
    pub mechanisms: Vec<MechanismWeights>,
    /// The validators' weights on chain, read before this epoch's were sent.
    #[serde(skip)]
    pub on_chain: Option<OnChain>,
}

/// One mechanism's weights as read from the chain: `(mechanism, [(uid, weight)])`.
pub(crate) type MechanismReading = (u8, Vec<(u16, u16)>);

/// The validators' weights on chain at one chain block.
#[derive(Debug, Clone, Default)]
pub(crate) struct OnChain {
    pub block: u64,
    /// Per validator hotkey: `(mechanism, weights)` as read.
    pub validators: Vec<(String, Vec<MechanismReading>)>,
}

/// Whether two weight vectors are the same once zero entries are dropped and each is scaled so
/// its largest weight is 65 535 (the chain stores weights max-upscaled).
pub(crate) fn same_weights(a: &[(u16, u16)], b: &[(u16, u16)]) -> bool {
    fn normal(v: &[(u16, u16)]) -> Vec<(u16, u16)> {
        let max = u32::from(v.iter().map(|(_, w)| *w).max().unwrap_or(0));
        let mut out: Vec<(u16, u16)> = v
            .iter()
            .filter(|(_, w)| *w > 0)
            .map(|(u, w)| (*u, ((u32::from(*w) * 65_535 + max / 2) / max.max(1)) as u16))
            .collect();
        out.sort_unstable();
        out
    }
    normal(a) == normal(b)
}

/// One mechanism's vector.
#[derive(Serialize, Debug, Clone)]
pub(crate) struct MechanismWeights {
    pub mechanism: u8,
    /// `(uid, u16 weight)`, as agreed.
    pub weights: Vec<(u16, u16)>,
    /// The path the weights went by (`set`, `commit`, `timelocked`), when they landed.
    pub path: Option<String>,
    /// Whether this validator's submission landed, the block, and the error when it did not.
    pub landed: bool,
    pub block: Option<u64>,
    pub error: Option<String>,
    /// Validators whose weights on chain, read at a later epoch, were this vector.
    pub on_chain_matches: Vec<String>,
}

/// `part` of `total` in parts per billion (0 when `total` is 0).
pub(crate) fn share_ppb(part: u128, total: u128) -> u64 {
    (part * 1_000_000_000).checked_div(total).unwrap_or(0) as u64
}

impl EpochWeights {
    /// `uid`'s share of `mechanism`'s vector, ppb (`None`: no such mechanism in these weights).
    pub(crate) fn share_ppb(&self, mechanism: u8, uid: u16) -> Option<u64> {
        let m = self.mechanisms.iter().find(|m| m.mechanism == mechanism)?;
        let total: u128 = m.weights.iter().map(|(_, w)| u128::from(*w)).sum();
        let mine = m.weights.iter().find(|(u, _)| *u == uid).map_or(0, |(_, w)| u128::from(*w));
        Some(share_ppb(mine, total))
    }

    /// One record of the weights history (what the chain client stored for an agreed vector).
    pub(crate) fn from_record(record: &Value) -> Option<EpochWeights> {
        let mechanisms = record
            .get("mechanisms")?
            .as_array()?
            .iter()
            .map(|m| {
                let nums = |k: &str| -> Vec<u64> {
                    m.get(k)
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_u64).collect())
                        .unwrap_or_default()
                };
                let chain = m.get("chain");
                let flag = chain.and_then(|c| c.get("ok")).and_then(Value::as_bool).unwrap_or(false);
                MechanismWeights {
                    mechanism: m.get("mechanism").and_then(Value::as_u64).unwrap_or(0) as u8,
                    weights: nums("uids").into_iter().zip(nums("weights")).map(|(u, w)| (u as u16, w as u16)).collect(),
                    path: chain.and_then(|c| c.get("path")).and_then(Value::as_str).map(str::to_owned),
                    landed: flag,
                    block: chain.and_then(|c| c.get("inclusion")).and_then(|i| i.get("block")).and_then(Value::as_u64),
                    error: chain.and_then(|c| c.get("error")).and_then(Value::as_str).map(str::to_owned),
                    on_chain_matches: Vec::new(),
                }
            })
            .collect();
        Some(EpochWeights {
            epoch: record.get("epoch")?.as_u64()?,
            height: record.get("height").and_then(Value::as_u64).unwrap_or(0),
            mechanisms,
            on_chain: record.get("on_chain").and_then(OnChain::from_json),
        })
    }

    /// The epoch's vector for `mechanism`.
    fn vector(&self, mechanism: u8) -> Option<&[(u16, u16)]> {
        self.mechanisms.iter().find(|m| m.mechanism == mechanism).map(|m| &m.weights[..])
    }
}

impl OnChain {
    fn from_json(value: &Value) -> Option<OnChain> {
        let pairs = |v: &Value| -> Vec<(u16, u16)> {
            v.as_array()
                .map(|a| {
                    a.iter().filter_map(|p| Some((p.get(0)?.as_u64()? as u16, p.get(1)?.as_u64()? as u16))).collect()
                })
                .unwrap_or_default()
        };
        let validators = value
            .get("validators")?
            .as_array()?
            .iter()
            .filter_map(|v| {
                let mechanisms = v
                    .get("mechanisms")?
                    .as_array()?
                    .iter()
                    .filter_map(|m| Some((m.get("mechanism")?.as_u64()? as u8, pairs(m.get("weights")?))))
                    .collect();
                Some((v.get("hotkey")?.as_str()?.to_owned(), mechanisms))
            })
            .collect();
        Some(OnChain { block: value.get("block")?.as_u64()?, validators })
    }
}

impl Weights {
    /// The newest agreed epoch older than `before` whose vectors equal `on_chain` for every
    /// mechanism read.
    fn matching_epoch(&self, before: u64, on_chain: &[MechanismReading]) -> Option<u64> {
        self.epochs.iter().filter(|e| e.epoch < before).find_map(|e| {
            let all = on_chain.iter().all(|(m, w)| e.vector(*m).is_some_and(|agreed| same_weights(agreed, w)));
            (all && !on_chain.is_empty()).then_some(e.epoch)
        })
    }

    /// What `hotkey` had on chain at the newest reading: the agreed epoch it matched, and in words.
    pub(crate) fn on_chain_status(&self, hotkey: &str) -> (Option<u64>, String) {
        let Some(newest) = self.epochs.iter().find(|e| e.on_chain.is_some()) else {
            return (None, "not read yet".into());
        };
        let reading = newest.on_chain.as_ref().and_then(|o| o.validators.iter().find(|(h, _)| h == hotkey));
        let Some((_, mechanisms)) = reading else { return (None, "not read yet".into()) };
        if mechanisms.iter().all(|(_, w)| w.is_empty()) {
            return (None, "none set".into());
        }
        match self.matching_epoch(newest.epoch, mechanisms) {
            Some(epoch) => (Some(epoch), format!("matches epoch {epoch}")),
            None => (None, "differs".into()),
        }
    }

    /// Fills each vector's [`MechanismWeights::on_chain_matches`] from the readings of later epochs.
    fn match_on_chain(&mut self) {
        let mut matches: Vec<(u64, u8, String)> = Vec::new();
        for reading in &self.epochs {
            let Some(on_chain) = &reading.on_chain else { continue };
            for (hotkey, mechanisms) in &on_chain.validators {
                for (mechanism, weights) in mechanisms {
                    let older = self.epochs.iter().filter(|e| e.epoch < reading.epoch);
                    if let Some(e) =
                        older.into_iter().find(|e| e.vector(*mechanism).is_some_and(|a| same_weights(a, weights)))
                    {
                        matches.push((e.epoch, *mechanism, hotkey.clone()));
                    }
                }
            }
        }
        for epoch in &mut self.epochs {
            for m in &mut epoch.mechanisms {
                let mut found: Vec<String> = matches
                    .iter()
                    .filter(|(e, mech, _)| *e == epoch.epoch && *mech == m.mechanism)
                    .map(|(_, _, h)| h.clone())
                    .collect();
                found.sort();
                found.dedup();
                m.on_chain_matches = found;
            }
        }
    }
}

/// The last `limit` agreed weight vectors, newest first.
pub(crate) fn weights(records: &Records, limit: usize) -> Weights {
    let epochs = records
        .weights_history(limit)
        .unwrap_or_default()
        .iter()
        .filter_map(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        .filter_map(|record| EpochWeights::from_record(&record))
        .collect();
    let mut weights = Weights { epochs };
    weights.match_on_chain();
    weights
}
