//! A baseline miner agent for the `invariant-agent` challenge: checks each invariant directly.
//! It reads the case bytes itself (as a miner's agent would), documented in the challenge.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use platform_challenge_sdk::agent;

/// 1 if the case's storage diff is invalid, else 0 (an undecodable case is flagged).
pub fn judge(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() != 42 || bytes[0] > 2 {
        return vec![1];
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[2 + 8 * i..10 + 8 * i]);
        u64::from_le_bytes(w)
    };
    let (kind, admin) = (bytes[0], bytes[1] == 1);
    let (amount, from_before, to_before, from_after, to_after) = (word(0), word(1), word(2), word(3), word(4));
    let moved_out = from_before >= amount && from_after == from_before - amount;
    let moved_in = to_before.checked_add(amount) == Some(to_after);
    let ok = match kind {
        0 => moved_out && moved_in,
        1 => admin && from_after == from_before && moved_in,
        _ => admin && moved_out && to_after == to_before,
    };
    vec![u8::from(!ok)]
}

agent!(judge);

#[cfg(test)]
mod tests {
    use super::*;
    use platform_challenge_sdk::host::{NestedRun, NestedStatus};

    #[test]
    fn the_baseline_is_always_right() {
        for seed in 0..20u8 {
            for case in invariant_agent::cases(&[seed; 32]) {
                assert_eq!(judge(&case.encode()), vec![u8::from(case.breaks_invariant())]);
            }
        }
        let verdict = invariant_agent::evaluate_with(&[9; 32], invariant_agent::Exponents::DEFAULT, |bytes| {
            NestedRun { status: NestedStatus::Ok, fuel_used: 1_000, output: judge(bytes) }
        });
        assert_eq!(verdict.score_ppb(), platform_challenge_sdk::PPB);
    }
}
