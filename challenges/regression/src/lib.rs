//! `regression`: a miner submits linear-model coefficients; the challenge scores them by mean
//! squared error on a sample drawn from the epoch seed.
//!
//! The hidden relation is fixed ([`TRUE_COEFFICIENTS`], published: this is an example) and the
//! epoch seed draws fresh points and noise, so a submission cannot be fitted to one epoch's
//! sample. All arithmetic is Q32.32 fixed point ([`Fixed`]): bit-identical everywhere and fast in
//! WASM.
//!
//! Payload: `FEATURES + 1` decimal numbers (weights, then the bias) separated by whitespace or
//! commas, e.g. `1.5 -2 0.25 3 0.5`. Score: `1e9 / (1 + MSE / NOISE_FLOOR)` ppb, so the true
//! model scores about 0.5 and every error on top of the noise lowers the score.
//!
//! Miners: the scoring is public; `sample` generates any seed's data so you can fit offline, and
//! `miner-cli evaluate --challenge regression.wasm --payload coefficients.txt` gives your score.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use core::ops::{Add, Mul, Sub};

use platform_challenge_sdk::fixed::Fixed;
use platform_challenge_sdk::rng::Rng;
use platform_challenge_sdk::{Input, Verdict};

/// Input features per point.
pub const FEATURES: usize = 4;
/// Points in one epoch's sample.
pub const SAMPLES: usize = 512;
/// The relation the sample follows: weights for x0..x3, then the bias, as fractions.
pub const TRUE_COEFFICIENTS: [(i64, i64); FEATURES + 1] = [(3, 2), (-2, 1), (1, 4), (5, 1), (-1, 2)];

/// The number type the scoring runs on: [`Fixed`] in the published challenge; `f64` exists so
/// the benchmark can measure what the same code costs with floats (`docs/runtime-abi.md`).
pub trait Real: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + PartialEq {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// `num / den`.
    fn ratio(num: i64, den: i64) -> Self;
    /// `self / other`.
    fn quotient(self, other: Self) -> Self;
    /// The value in ppb, clamped to 0..=1e9.
    fn ppb(self) -> u32;
}

impl Real for Fixed {
    const ZERO: Fixed = Fixed::ZERO;
    const ONE: Fixed = Fixed::ONE;
    fn ratio(num: i64, den: i64) -> Fixed {
        Fixed::from_ratio(num, den)
    }
    fn quotient(self, other: Fixed) -> Fixed {
        self / other
    }
    fn ppb(self) -> u32 {
        self.to_ppb()
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    fn ratio(num: i64, den: i64) -> f64 {
        num as f64 / den as f64
    }
    fn quotient(self, other: f64) -> f64 {
        self / other
    }
    fn ppb(self) -> u32 {
        (self * 1e9).clamp(0.0, 1e9) as u32
    }
}

/// One epoch's sample: points with `FEATURES` values in [-1, 1] and their noisy targets.
pub fn sample<T: Real>(seed: &[u8; 32]) -> Vec<([T; FEATURES], T)> {
    let mut rng = Rng::new(seed, b"regression/sample");
    let truth: Vec<T> = TRUE_COEFFICIENTS.iter().map(|(n, d)| T::ratio(*n, *d)).collect();
    (0..SAMPLES)
        .map(|_| {
            let x: [T; FEATURES] = core::array::from_fn(|_| T::ratio(rng.range_i64(-1_000_000, 1_000_000), 1_000_000));
            // Uniform noise in [-0.5, 0.5]: variance 1/12.
            let noise = T::ratio(rng.range_i64(-500_000, 500_000), 1_000_000);
            (x, predict(&truth, &x) + noise)
        })
        .collect()
}

fn predict<T: Real>(coefficients: &[T], x: &[T; FEATURES]) -> T {
    x.iter().zip(coefficients).fold(coefficients[FEATURES], |acc, (xi, wi)| acc + *xi * *wi)
}

/// Parses the payload into `FEATURES + 1` coefficients.
pub fn parse(payload: &[u8]) -> Result<Vec<Fixed>, &'static str> {
    let text = core::str::from_utf8(payload).map_err(|_| "payload is not UTF-8 text")?;
    let numbers: Option<Vec<Fixed>> =
        text.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).map(Fixed::parse).collect();
    let numbers = numbers.ok_or("payload holds something that is not a decimal number")?;
    if numbers.len() != FEATURES + 1 {
        return Err("payload must hold exactly 5 numbers: 4 weights, then the bias");
    }
    Ok(numbers)
}

/// Mean squared error of `coefficients` on `sample`.
pub fn mse<T: Real>(coefficients: &[T], sample: &[([T; FEATURES], T)]) -> T {
    let total = sample.iter().fold(T::ZERO, |acc, (x, y)| {
        let err = predict(coefficients, x) - *y;
        acc + err * err
    });
    total.quotient(T::ratio(sample.len() as i64, 1))
}

/// The challenge's scoring on number type `T`: `1e9 / (1 + MSE / noise variance)` ppb.
pub fn evaluate_as<T: Real>(input: &Input, to_real: fn(Fixed) -> T) -> Verdict {
    let coefficients: Vec<T> = match parse(input.payload) {
        Ok(c) => c.into_iter().map(to_real).collect(),
        Err(reason) => return Verdict::rejected(reason),
    };
    let error = mse(&coefficients, &sample::<T>(&input.seed));
    let score = T::ONE.quotient(T::ONE + error.quotient(T::ratio(1, 12)));
    Verdict::Scored { score_ppb: score.ppb(), detail: format!("mse_ppb={}", error.ppb()).into_bytes() }
}

/// The challenge, in Q32.32 fixed point.
pub fn evaluate(input: &Input) -> Verdict {
    evaluate_as::<Fixed>(input, |c| c)
}

#[cfg(not(feature = "library"))]
platform_challenge_sdk::challenge!(evaluate);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(payload: &[u8]) -> Input<'_> {
        Input { seed: [3; 32], epoch: 1, miner: [0; 32], commitment: None, payload }
    }

    #[test]
    fn the_true_model_beats_a_wrong_one_and_junk_is_rejected() {
        let truth = evaluate(&input(b"1.5 -2 0.25 5 -0.5")).score_ppb();
        let wrong = evaluate(&input(b"0 0 0 0 0")).score_ppb();
        let close = evaluate(&input(b"1.4, -2.1, 0.3, 4.9, -0.4")).score_ppb();
        assert!(truth > close && close > wrong, "{truth} {close} {wrong}");
        assert!((400_000_000..600_000_000).contains(&truth), "{truth}");
        assert!(matches!(evaluate(&input(b"1 2 3")), Verdict::Rejected { .. }));
        assert!(matches!(evaluate(&input(b"1 2 3 4 x")), Verdict::Rejected { .. }));
        assert!(matches!(evaluate(&input(&[0xff, 0xfe])), Verdict::Rejected { .. }));
    }

    #[test]
    fn floats_and_fixed_point_agree_closely() {
        let payload = b"1.4 -2.1 0.3 4.9 -0.4";
        let fixed = evaluate_as::<Fixed>(&input(payload), |c| c).score_ppb();
        let float = evaluate_as::<f64>(&input(payload), |c| c.0 as f64 / 4_294_967_296.0).score_ppb();
        assert!(fixed.abs_diff(float) < 1_000, "{fixed} vs {float}");
    }

    #[test]
    fn the_sample_depends_on_the_seed_only() {
        assert_eq!(sample::<Fixed>(&[1; 32]), sample::<Fixed>(&[1; 32]));
        assert_ne!(sample::<Fixed>(&[1; 32]), sample::<Fixed>(&[2; 32]));
    }
}
