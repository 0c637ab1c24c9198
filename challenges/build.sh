#!/usr/bin/env bash
# Builds every challenge and example agent for wasm32-unknown-unknown into challenges/dist/.
#
# rustup's toolchain here has no wasm32 target; Debian's rustc-web ships the standard library
# source, so core and alloc are built from source (-Zbuild-std, enabled by RUSTC_BOOTSTRAP on a
# stable compiler). Installs the Debian packages it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")"

packages=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q . || packages+=(rustc-web)
[ -x /usr/bin/cargo ] || packages+=(cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || packages+=(rust-web-src)
command -v wasm-ld-19 >/dev/null || packages+=(lld-19)
if [ ${#packages[@]} -gt 0 ]; then
    echo "challenges: installing ${packages[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${packages[@]}" >&2
fi

export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
export CARGO_TARGET_DIR="${CHALLENGES_TARGET_DIR:-$PWD/target/wasm}"

mkdir -p dist
# The benchmark kernels, built alone: they link regression and matmul-proof with the `library`
# feature, which must not reach those challenges' own builds below. Built the way an
# integer-heavy challenge should be (docs/runtime-abi.md): integer SIMD on (the runtime accepts
# integer SIMD and refuses float SIMD; native code has SSE2), and vectorised loops interleaved
# twice, which LLVM does by itself for x86 but not for wasm32.
RUSTFLAGS="-C target-feature=+simd128 -C llvm-args=-force-vector-interleave=2" /usr/bin/cargo build --quiet --release --locked --target wasm32-unknown-unknown -Zbuild-std=core,alloc -p kernels --lib
cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/kernels.wasm" dist/kernels.wasm
/usr/bin/cargo build --quiet --release --locked --target wasm32-unknown-unknown -Zbuild-std=core,alloc --workspace --exclude kernels --lib
for name in regression invariant_agent matmul_proof compute_lease invariant_baseline; do
    cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm" "dist/${name//_/-}.wasm"
done
ls -l dist/*.wasm | awk '{print "challenges: built " $NF " (" $5 " bytes)"}' >&2
