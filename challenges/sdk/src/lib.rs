//! Guest SDK for Platform challenges (ABI version 4, see `docs/runtime-abi.md`).
//!
//! A challenge is one function from an [`Input`] to a [`Verdict`]:
//!
//! ```ignore
//! #![no_std]
//! use platform_challenge_sdk::{challenge, Input, Verdict};
//!
//! fn evaluate(input: &Input) -> Verdict {
//!     Verdict::scored(if input.payload.is_empty() { 0 } else { 1_000_000_000 })
//! }
//! challenge!(evaluate);
//! ```
//!
//! [`challenge!`] exports the ABI's entry points, decodes the input and encodes the verdict.
//! A challenge that scores each answer against the epoch's other answers adds an epoch scorer,
//! `fn(&EpochInput) -> Vec<Verdict>` (one verdict per answer, in order), with [`epoch_scorer!`].
//! A two-phase challenge (a commitment, then its reveal) reads the commitment a reveal opens
//! in [`Input::commitment`], and the sampling seed drawn after it in [`Input::seed`].
//! Modules run in the nested sandbox use [`agent!`] instead. The crate is `no_std` and builds
//! natively too: challenge logic is unit-tested on the host with the same code that runs in
//! WASM ([`host`] falls back to native implementations off wasm32).
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

pub mod fixed;
pub mod host;
pub mod merkle;
pub mod rng;
mod wire;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod runtime;

pub use wire::{
    ABI_VERSION, Answer, Commitment, EPOCH_INPUT_VERSION, EVALUATE_INPUT_VERSION, EpochInput, Input, PPB,
    REVEAL_INPUT_VERSION, Verdict, encode_verdicts,
};

/// Exports `platform_alloc` and `platform_evaluate` for a challenge whose logic is
/// `fn(&Input) -> Verdict`. Expands to nothing off wasm32, so the crate stays testable natively.
#[macro_export]
macro_rules! challenge {
    ($evaluate:path) => {
        $crate::__export_alloc!();

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn platform_evaluate(ptr: i32, len: i32) -> i64 {
            $crate::runtime::evaluate(ptr, len, $evaluate)
        }
    };
}

/// Exports `platform_score_epoch` for a challenge that also scores each epoch's committed answers
/// together, whose logic is `fn(&EpochInput) -> Vec<Verdict>` returning one verdict per answer,
/// in the input's order. Used beside [`challenge!`], which exports the allocator.
#[macro_export]
macro_rules! epoch_scorer {
    ($score:path) => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn platform_score_epoch(ptr: i32, len: i32) -> i64 {
            $crate::runtime::score_epoch(ptr, len, $score)
        }
    };
}

/// Exports `platform_alloc` and `platform_run` for a module run in the nested sandbox, whose
/// logic is `fn(&[u8]) -> Vec<u8>`.
#[macro_export]
macro_rules! agent {
    ($run:path) => {
        $crate::__export_alloc!();

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn platform_run(ptr: i32, len: i32) -> i64 {
            $crate::runtime::run(ptr, len, $run)
        }
    };
}

/// `platform_alloc`, shared by [`challenge!`] and [`agent!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __export_alloc {
    () => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn platform_alloc(len: i32) -> i32 {
            $crate::runtime::alloc(len)
        }
    };
}
