#!/usr/bin/env bash
# Installs the pinned chopsticks (package-lock.json) into tests/chopsticks/node_modules, once.
# Used by tests/run-all.sh, by platform-chain's tests when it is missing, and by the local network.
set -euo pipefail
cd "$(dirname "$0")"
entry=node_modules/@acala-network/chopsticks/chopsticks.cjs
if [ -f "$entry" ]; then
  exit 0
fi
if ! command -v npm > /dev/null; then
  echo "chopsticks needs Node.js and npm; install them (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
echo "installing chopsticks 1.5.1 into $(pwd)/node_modules (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error
test -f "$entry"
