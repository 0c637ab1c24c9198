#!/usr/bin/env bash
# Installs the pinned playwright-core (package-lock.json) into tests/ui/node_modules, once, and
# checks that Debian's Chromium is there (deploy/system-packages.sh installs it).
# Used by tests/api/run.sh before the dashboard's browser test.
set -euo pipefail
cd "$(dirname "$0")"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "the dashboard's browser test needs Chromium at $chromium (Debian: apt-get install -y chromium)" >&2
  exit 1
fi
if [ -f node_modules/playwright-core/package.json ]; then
  exit 0
fi
echo "installing playwright-core into $(pwd)/node_modules (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error
