//! Benchmark kernels (never registered as a challenge): the example challenges' inner loops,
//! repeated inside one evaluation so that a run measures the compiled code rather than
//! instantiation. The runtime benchmark runs each kernel through the real sandbox and the same
//! function natively, and compares the two.
//!
//! Payload: `kernel u8 | repetitions u32 LE`. Kernels:
//! - `b'i'` integer: the whole product `A · B` of `matmul-proof`'s matrices, row by row through
//!   [`matmul_proof::product_row`];
//! - `b'f'` float: `regression`'s mean squared error in `f64` over its sample;
//! - `b'q'` fixed point: the same in Q32.32.
//!
//! The verdict's detail is the kernel's 64-bit result, so a benchmark can check that WASM and
//! native computed the same thing.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec::Vec;

use platform_challenge_sdk::fixed::Fixed;
use platform_challenge_sdk::{Input, PPB, Verdict, challenge};
use regression::Real;

/// Runs `kernel` `repetitions` times on the data drawn from `seed`; `None` for an unknown kernel.
pub fn run(kernel: u8, repetitions: u32, seed: &[u8; 32]) -> Option<u64> {
    match kernel {
        b'i' => Some(matmul(repetitions, seed)),
        b'f' => Some(mse(repetitions, seed, |c| c.0 as f64 / 4_294_967_296.0, f64::to_bits)),
        b'q' => Some(mse(repetitions, seed, |c| c, |x: Fixed| x.0 as u64)),
        _ => None,
    }
}

fn matmul(repetitions: u32, seed: &[u8; 32]) -> u64 {
    use matmul_proof::{N, matrices, product_row};
    let (a, b) = matrices(seed, &[0; 32]);
    let mut acc = 0u64;
    for r in 0..repetitions as usize {
        for i in 0..N {
            acc = acc.wrapping_add(product_row(&a, &b, i)[(i + r) % N]);
        }
    }
    acc
}

fn mse<T: Real>(repetitions: u32, seed: &[u8; 32], from_fixed: fn(Fixed) -> T, bits: fn(T) -> u64) -> u64 {
    let sample = regression::sample::<T>(seed);
    let mut coefficients: Vec<T> =
        [(3, 2), (-2, 1), (1, 4), (5, 1), (-1, 2)].iter().map(|(n, d)| from_fixed(Fixed::from_ratio(*n, *d))).collect();
    let step = T::ratio(1, 1_000);
    let mut acc = 0u64;
    for _ in 0..repetitions {
        // A different model each time, so no repetition can be folded into another.
        coefficients[0] = coefficients[0] + step;
        acc = acc.wrapping_add(bits(regression::mse(&coefficients, &sample)));
    }
    acc
}

/// The entry point: parses the payload and returns the result in the detail.
pub fn evaluate(input: &Input) -> Verdict {
    let [kernel, r0, r1, r2, r3] = input.payload else {
        return Verdict::rejected("payload is kernel u8 | repetitions u32 LE");
    };
    match run(*kernel, u32::from_le_bytes([*r0, *r1, *r2, *r3]), &input.seed) {
        Some(result) => {
            Verdict::Scored { score_ppb: (result % u64::from(PPB)) as u32, detail: result.to_le_bytes().to_vec() }
        }
        None => Verdict::rejected("unknown kernel: use i, f or q"),
    }
}

challenge!(evaluate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_depend_on_their_repetitions_and_reject_junk() {
        for kernel in [b'i', b'f', b'q'] {
            let once = run(kernel, 1, &[1; 32]).expect("known");
            assert_ne!(once, run(kernel, 2, &[1; 32]).expect("known"), "{}", kernel as char);
        }
        assert_eq!(run(b'x', 1, &[1; 32]), None);
        let input = Input { seed: [1; 32], epoch: 0, miner: [0; 32], commitment: None, payload: b"i" };
        assert!(matches!(evaluate(&input), Verdict::Rejected { .. }));
    }
}
