#!/usr/bin/env bash
# The long seeded sweeps, beside the test command's shorter ones (tests/run-all.sh): the whole
# node at 500 seeds for n = 4, f = 1 and 100 for n = 7, f = 2 (both cores each), then the
# consensus machine alone at 1000 and 200 seeds in a release build. 10 to 20 minutes on 2 cores,
# by the machine (docs/benchmarks.md); run it after changing the application rules, the node's core or the
# consensus machine.
#
#   bash tests/sweep.sh
#
# Needs what the test command installs (bash tests/run-all.sh once, or deploy/system-packages.sh
# and challenges/build.sh). Environment: CARGO_TARGET_DIR as in tests/run-all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/platform-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo run -q -p platform-node --example simulate_node -- --validators 4 --byzantine 1 --seeds 500 --jobs 2
cargo run -q -p platform-node --example simulate_node -- --validators 7 --byzantine 2 --seeds 100 --jobs 2
cargo run --release -q -p platform-consensus --example simulate -- --validators 4 --byzantine 1 --seeds 1000
cargo run --release -q -p platform-consensus --example simulate -- --validators 7 --byzantine 2 --seeds 200
