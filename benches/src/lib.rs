//! Criterion benchmarks for Platform's crates. Each group measures a baseline (raw schnorrkel,
//! the in-memory store) next to the code under test, so results read as ratios from one run.
//! Run with `cargo bench -p platform-benches`; results are recorded in `docs/benchmarks.md`.
