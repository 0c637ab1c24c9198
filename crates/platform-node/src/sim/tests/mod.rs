//! The simulator's own tests, by what they exercise.

mod byzantine;
mod chain;
mod challenges;
mod faults;
mod harness;
