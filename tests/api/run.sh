#!/usr/bin/env bash
# The HTTP API as a contract (issue: third parties build on it). Starts a devnet (2 validators,
# the example challenges) with a miner key of the Python client registered, then:
#   1. the Python client (examples/python) recomputes docs/wire-protocol.md's worked example;
#   2. it submits a payload and follows it to a final score, the same model padded past the
#      256 KiB inline cap (a blob), and a bad payload to a final rejection with its reason;
#   3. the web dashboard in Chromium (tests/ui/check.mjs): every page against its JSON twin,
#      the journey of a submission made meanwhile up to its final score, screenshots;
#   4. schemathesis runs every operation of docs/openapi.yaml against validator 0 and checks
#      status codes, bodies and content types against the document.
#
#   bash tests/api/run.sh [path/to/validator-node]
#
# Environment: PLATFORM_CHAIN_DIR (default ../shared/chain), UI_SCREENSHOTS (default
# target/ui-screenshots), PLATFORM_VENV (the Python venv,
# default ~/.cache/platform-venv), ST_MAX_EXAMPLES (default 100 per operation), ST_SEED.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

node_bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/platform-target}/debug/validator-node}"
[ -x "$node_bin" ] || { echo "error: no validator-node at $node_bin (build it first)" >&2; exit 1; }
chain_dir="${PLATFORM_CHAIN_DIR:-$root/../shared/chain}"
if [ ! -f "$chain_dir/subtensor-raonet-spec218.json" ]; then
  if [ "${CI:-}" = true ]; then
    echo "error: no chain spec in $chain_dir (set PLATFORM_CHAIN_DIR)" >&2; exit 1
  fi
  echo "skipped: no chain spec in $chain_dir (set PLATFORM_CHAIN_DIR)" >&2; exit 0
fi

venv="${PLATFORM_VENV:-$HOME/.cache/platform-venv}"
if ! "$venv/bin/python" -c 'import schemathesis, sr25519, grpc_tools, google.protobuf' 2>/dev/null \
   || ! cmp -s tests/api/requirements.txt "$venv/requirements.txt"; then
  echo "==> Python venv $venv (tests/api/requirements.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/api/requirements.txt
  cp tests/api/requirements.txt "$venv/requirements.txt"
fi
py="$venv/bin/python"
client="examples/python/platform_client.py"

work=$(mktemp -d)
devnet_pid=""
cleanup() {
  if [ -n "$devnet_pid" ]; then kill -INT "$devnet_pid" 2>/dev/null || true; wait "$devnet_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> The worked example of docs/wire-protocol.md, recomputed in Python"
"$py" "$client" check-example

hotkey=$("$py" "$client" key --key-file "$work/miner.key")
# Two free ports in a row (validator i serves HTTP on PORT + i), below Linux's ephemeral range
# (32768-60999), so no port the system hands out meanwhile (p2p listeners, outgoing
# connections) can take them.
port=$("$py" - <<'PY'
import random, socket
for _ in range(500):
    base = random.randint(20000, 32000)
    socks = [socket.socket() for _ in range(2)]
    try:
        for offset, sock in enumerate(socks):
            sock.bind(("127.0.0.1", base + offset))
        print(base)
        break
    except OSError:
        pass
    finally:
        for sock in socks:
            sock.close()
PY
)
echo "==> Devnet: 2 validators, miner key $hotkey registered, HTTP on $port"
"$node_bin" devnet --validators 2 --miners 1 --miner-key "$hotkey" --work-dir "$work/devnet" \
  --http-port "$port" --chain-dir "$chain_dir" --chain-block-ms 500 > "$work/devnet.out" 2>&1 &
devnet_pid=$!
for _ in $(seq 1 300); do
  grep -q "Local network running" "$work/devnet.out" && break
  kill -0 "$devnet_pid" 2>/dev/null || { cat "$work/devnet.out"; echo "error: the devnet exited" >&2; exit 1; }
  sleep 1
done
grep -q "Local network running" "$work/devnet.out" || { cat "$work/devnet.out"; echo "error: no devnet after 300 s" >&2; exit 1; }
url="http://127.0.0.1:$port"

echo "==> The Python client: a payload followed to its final score"
"$py" "$client" submit --url "$url" --netuid 1 --key-file "$work/miner.key" --challenge regression \
  --payload "1 -2 0.25 5 -0.5" --wait 180 > "$work/scored.json"
"$py" - "$work/scored.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert answer["status"] == "scored" and answer["final"] and answer["score_ppb"] > 0, answer
print(f"scored {answer['score_ppb']} ppb by {len(answer['evaluations'])} validators")
PY

echo "==> The Python client: a 300 KiB payload, sent as a blob beside its envelope"
"$py" -c 'import sys; sys.stdout.write("1 -2 0.25 5 -0.5" + " " * (300 * 1024))' > "$work/large.txt"
"$py" "$client" submit --url "$url" --netuid 1 --key-file "$work/miner.key" --challenge regression \
  --payload-file "$work/large.txt" --wait 180 > "$work/large.json"
"$py" - "$work/large.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert answer["status"] == "scored" and answer["final"] and answer["score_ppb"] > 0, answer
print(f"the blob payload scored {answer['score_ppb']} ppb")
PY

echo "==> The Python client: a payload the challenge refuses, with its reason"
"$py" "$client" submit --url "$url" --netuid 1 --key-file "$work/miner.key" --challenge regression \
  --payload "not a model" --wait 180 > "$work/rejected.json"
"$py" - "$work/rejected.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert answer["status"] == "rejected" and answer["final"] and answer["score_ppb"] == 0, answer
assert "not a decimal number" in (answer["reason"] or ""), answer
print(f"rejected: {answer['reason']}")
PY

echo "==> The web dashboard in Chromium (tests/ui): every page against its JSON twin, a new submission's journey"
bash tests/ui/install.sh
# A submission made now, followed by the browser from admission to its final score.
"$py" "$client" submit --url "$url" --netuid 1 --key-file "$work/miner.key" --challenge regression \
  --payload "0.5 -1 0.75 2 -0.25" --wait 240 > "$work/ui.json" 2> "$work/ui.err" &
ui_submit=$!
ui_id=""
for _ in $(seq 1 120); do
  ui_id=$(sed -n 's/^submitted \(0x[0-9a-f]*\) as .*/\1/p' "$work/ui.err")
  [ -n "$ui_id" ] && break
  kill -0 "$ui_submit" 2>/dev/null || break
  sleep 0.5
done
[ -n "$ui_id" ] || { cat "$work/ui.err"; echo "error: the dashboard's submission was not admitted" >&2; exit 1; }
shots="${UI_SCREENSHOTS:-$root/target/ui-screenshots}"
node tests/ui/check.mjs "$url" "$ui_id" "$hotkey" "$shots"
wait "$ui_submit"
echo "==> Dashboard screenshots: $shots"

echo "==> schemathesis against $url (docs/openapi.yaml)"
export PLATFORM_MINER_KEY="$work/miner.key" PLATFORM_NETUID=1
export SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$root/tests/api${PYTHONPATH:+:$PYTHONPATH}"
# From the scratch folder: schemathesis keeps its example database in the working directory.
(cd "$work" && "$venv/bin/st" run "$root/docs/openapi.yaml" --url "$url" \
  --max-examples "${ST_MAX_EXAMPLES:-100}" ${ST_SEED:+--seed "$ST_SEED"} --no-color)
echo "==> The HTTP API matches its documents"
