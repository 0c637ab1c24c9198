//! `sudo-cli challenge add|update --scoring FILE`: a challenge's scoring settings as JSON, in
//! the shape `GET /challenges` shows them under `scoring` (so one can be copied into the
//! other). Any subset of the fields; the rest keep their defaults; unknown fields are an error.
//!
//! ```json
//! { "normalisation": { "champion": { "margin_ppb": 10000000, "owner_share_ppb": 0 } },
//!   "ema_alpha_ppb": 300000000, "empty_policy": "hold" }
//! ```

use std::path::Path;

use anyhow::Context;
use platform_types::{EmptyPolicy, Normalisation, ScoringConfig};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoringFile {
    normalisation: Option<NormalisationFile>,
    outlier_z_milli: Option<u32>,
    min_coverage_ppb: Option<u32>,
    min_confidence_ppb: Option<u32>,
    ema_alpha_ppb: Option<u32>,
    empty_policy: Option<EmptyPolicyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum NormalisationFile {
    Linear {},
    Softmax { temperature_milli: u32 },
    Champion { margin_ppb: u32, owner_share_ppb: u32 },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum EmptyPolicyFile {
    BurnToOwner,
    Hold,
}

/// What the owner chose for a challenge's unearned emission (`--unearned`): there is no
/// default, because each choice costs something on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Unearned {
    /// Weight the subnet owner's uid with it. The chain burns miner emission paid to the owner's
    /// hotkey and shrinks the subnet's share of chain emission by it (`MinerBurned`).
    Burn,
    /// Give it to the mechanism's challenges that did score; when none did, the mechanism sets
    /// no new weights that epoch and the weights on chain stay.
    Hold,
}

impl From<Unearned> for EmptyPolicy {
    fn from(u: Unearned) -> Self {
        match u {
            Unearned::Burn => EmptyPolicy::BurnToOwner,
            Unearned::Hold => EmptyPolicy::Hold,
        }
    }
}

/// Reads a scoring file (the defaults without one), applies the owner's `unearned` choice and
/// checks the result. A file naming another `empty_policy` than `unearned` is refused.
pub(crate) fn load_scoring(path: Option<&Path>, unearned: Unearned) -> anyhow::Result<ScoringConfig> {
    let mut scoring = match path {
        None => ScoringConfig::default(),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read scoring {}", path.display()))?;
            let scoring = parse_scoring(&text).with_context(|| format!("scoring {}", path.display()))?;
            let named = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("empty_policy").cloned())
                .is_some();
            if named && scoring.empty_policy != EmptyPolicy::from(unearned) {
                anyhow::bail!(
                    "scoring {} says empty_policy {:?} but --unearned says {unearned:?}: choose one",
                    path.display(),
                    scoring.empty_policy
                );
            }
            scoring
        }
    };
    scoring.empty_policy = unearned.into();
    Ok(scoring)
}

fn parse_scoring(text: &str) -> anyhow::Result<ScoringConfig> {
    let file: ScoringFile = serde_json::from_str(text).context("not a valid scoring file")?;
    let d = ScoringConfig::default();
    let scoring = ScoringConfig {
        normalisation: match file.normalisation {
            None => d.normalisation,
            Some(NormalisationFile::Linear {}) => Normalisation::Linear,
            Some(NormalisationFile::Softmax { temperature_milli }) => Normalisation::Softmax { temperature_milli },
            Some(NormalisationFile::Champion { margin_ppb, owner_share_ppb }) => {
                Normalisation::ChampionTakesAll { margin_ppb, owner_share_ppb }
            }
        },
        outlier_z_milli: file.outlier_z_milli.unwrap_or(d.outlier_z_milli),
        min_coverage_ppb: file.min_coverage_ppb.unwrap_or(d.min_coverage_ppb),
        min_confidence_ppb: file.min_confidence_ppb.unwrap_or(d.min_confidence_ppb),
        ema_alpha_ppb: file.ema_alpha_ppb.unwrap_or(d.ema_alpha_ppb),
        empty_policy: match file.empty_policy {
            None => d.empty_policy,
            Some(EmptyPolicyFile::BurnToOwner) => EmptyPolicy::BurnToOwner,
            Some(EmptyPolicyFile::Hold) => EmptyPolicy::Hold,
        },
    };
    scoring.validate()?;
    Ok(scoring)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_reads_and_missing_fields_keep_their_defaults() {
        let text = r#"{ "normalisation": { "champion": { "margin_ppb": 10000000, "owner_share_ppb": 0 } },
                        "ema_alpha_ppb": 300000000, "empty_policy": "hold" }"#;
        let scoring = parse_scoring(text).expect("valid");
        assert_eq!(
            scoring.normalisation,
            Normalisation::ChampionTakesAll { margin_ppb: 10_000_000, owner_share_ppb: 0 }
        );
        assert_eq!(scoring.ema_alpha_ppb, 300_000_000);
        assert_eq!(scoring.empty_policy, EmptyPolicy::Hold);
        assert_eq!(scoring.outlier_z_milli, ScoringConfig::default().outlier_z_milli);
        assert_eq!(parse_scoring("{}").expect("empty"), ScoringConfig::default());
    }

    #[test]
    fn the_unearned_choice_is_applied_and_a_conflicting_file_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("scoring.json");
        assert_eq!(load_scoring(None, Unearned::Hold).expect("no file").empty_policy, EmptyPolicy::Hold);
        assert_eq!(load_scoring(None, Unearned::Burn).expect("no file").empty_policy, EmptyPolicy::BurnToOwner);
        std::fs::write(&file, r#"{ "empty_policy": "hold" }"#).expect("write");
        assert_eq!(load_scoring(Some(&file), Unearned::Hold).expect("agrees").empty_policy, EmptyPolicy::Hold);
        let err = format!("{:#}", load_scoring(Some(&file), Unearned::Burn).expect_err("conflict"));
        assert!(err.contains("choose one"), "{err}");
    }

    #[test]
    fn unknown_fields_and_values_out_of_range_are_refused() {
        let err = |text: &str| format!("{:#}", parse_scoring(text).expect_err("refused"));
        assert!(err(r#"{ "ema_alpha": 1 }"#).contains("unknown field"));
        assert!(err(r#"{ "empty_policy": "give_away" }"#).contains("unknown variant"));
        assert!(err(r#"{ "ema_alpha_ppb": 2000000000 }"#).contains("ema_alpha_ppb"));
        assert!(err(r#"{ "normalisation": { "softmax": { "temperature_milli": 0 } } }"#).contains("temperature_milli"));
    }
}
