#!/usr/bin/env bash
# Makes (once) the Python venv with the SDK's drand package (tests/drand/requirements.txt) and
# prints its python. platform-chain's drand_reference tests run it through PLATFORM_DRAND_PYTHON.
#
#   export PLATFORM_DRAND_PYTHON=$(bash tests/drand/venv.sh)
#
# Environment: PLATFORM_DRAND_VENV (default ~/.cache/platform-drand-venv).
set -euo pipefail
cd "$(dirname "$0")"
venv="${PLATFORM_DRAND_VENV:-$HOME/.cache/platform-drand-venv}"
if ! "$venv/bin/python" -c 'import bittensor_drand' 2>/dev/null || ! cmp -s requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r requirements.txt >&2
  cp requirements.txt "$venv/requirements.txt"
fi
echo "$venv/bin/python"
