#!/usr/bin/env bash
# A whole local network in one command: installs what is missing (system packages, the wasm32
# toolchain, chopsticks), builds the example challenges and validator-node, then runs
# `validator-node devnet` (a real subtensor runtime, 4 validators, the owner adding challenges,
# miners submitting, weights read back from the chain every epoch). Ctrl-C stops it.
#
#   bash deploy/devnet.sh                  # options after it go to `validator-node devnet`
#   bash deploy/devnet.sh --validators 7 --miners 5
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/system-packages.sh
echo "==> Building the example challenges (challenges/build.sh)" >&2
bash challenges/build.sh
echo "==> Installing chopsticks (tests/chopsticks)" >&2
bash tests/chopsticks/install.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/platform-target}"
echo "==> Building validator-node (release; the first build takes about 15 minutes on 2 cores)" >&2
cargo build --release -p validator-node
exec "$CARGO_TARGET_DIR/release/validator-node" devnet "$@"
