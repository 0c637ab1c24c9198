//! `chain_weights` against vectors computed by Python with the Bittensor SDK's formula.

use platform_scoring::{WeightsError, chain_weights};
use proptest::prelude::*;

fn list<T: std::str::FromStr>(text: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().expect("number")).collect()
}

#[test]
fn matches_the_python_sdk_vectors() {
    let text = include_str!("golden_weights.txt");
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let (uids, weights): (Vec<u16>, Vec<f64>) = (list(cols[1]), list(cols[2]));
        let expected: (Vec<u16>, Vec<u16>) = (list(cols[3]), list(cols[4]));
        assert_eq!(chain_weights(&uids, &weights), Ok(expected), "case {}", cols[0]);
        cases += 1;
    }
    assert!(cases >= 15);
}

#[test]
fn rejects_what_the_sdk_rejects() {
    assert_eq!(chain_weights(&[1, 2], &[1.0]), Err(WeightsError::LengthMismatch { uids: 2, weights: 1 }));
    assert_eq!(chain_weights(&[1, 2], &[1.0, f64::NAN]), Err(WeightsError::NotFinite { uid: 2 }));
    assert_eq!(chain_weights(&[1], &[f64::INFINITY]), Err(WeightsError::NotFinite { uid: 1 }));
    assert_eq!(chain_weights(&[1, 2], &[1.0, -0.5]), Err(WeightsError::Negative { uid: 2 }));
}

proptest! {
    #[test]
    fn the_largest_weight_maps_to_65535_and_order_is_kept(weights in proptest::collection::vec(0.0f64..1e6, 1..200)) {
        let uids: Vec<u16> = (0..weights.len() as u16).collect();
        let (out_uids, values) = chain_weights(&uids, &weights).expect("valid");
        if weights.iter().any(|w| *w > 0.0) {
            prop_assert_eq!(values.iter().copied().max(), Some(u16::MAX));
        }
        prop_assert!(values.iter().all(|v| *v > 0));
        prop_assert!(out_uids.windows(2).all(|w| w[0] < w[1]));
    }
}
