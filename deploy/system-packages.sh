#!/usr/bin/env bash
# Installs the system packages building and running Platform needs, when they are missing:
# clang and libclang (RocksDB's C++ and its Rust bindings), make (jemalloc, the validator's allocator) and Node.js with npm (chopsticks, the
# local subtensor runtime of the tests and of the local network), and Python 3 with venv (the
# HTTP API's contract tests and the Python client example, tests/api), and Chromium (the web
# dashboard's browser test, tests/ui), and procps (kill, pkill: the devnet tests). The wasm32 toolchain of the
# example challenges is installed by challenges/build.sh. SKIP_APT=1 installs nothing.
set -euo pipefail

need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v make >/dev/null 2>&1 || need+=(make)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
[ -n "$(ls /usr/lib/llvm-*/lib/libclang*.so* 2>/dev/null)" ] || need+=(libclang-dev)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
[ -x /usr/bin/chromium ] || need+=(chromium)
# kill and pkill: the devnet tests signal process groups and a chain's process.
command -v pkill >/dev/null 2>&1 || need+=(procps)
if [ "${#need[@]}" -eq 0 ] || [ "${SKIP_APT:-0}" = 1 ]; then
  exit 0
fi
echo "==> Installing system packages: ${need[*]} (RocksDB's bindings need libclang; jemalloc needs make; chopsticks needs Node.js; tests/api needs Python; tests/ui needs Chromium)" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
