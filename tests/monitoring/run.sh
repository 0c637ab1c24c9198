#!/usr/bin/env bash
# Checks deploy/monitoring/: the alert rules load (promtool check rules), behave as their unit
# tests say (promtool test rules), the Prometheus configuration loads, and the Grafana dashboard
# is valid JSON. Installs Debian's prometheus package for promtool when it is missing. (That
# every metric they name is exported is checked against a running node by
# crates/platform-node/tests/monitoring.rs, in the Rust suite.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/deploy/monitoring"

if ! command -v promtool >/dev/null 2>&1; then
  if [ "${SKIP_APT:-0}" = 1 ]; then
    echo "promtool is missing and SKIP_APT=1: install Debian's prometheus package" >&2
    exit 1
  fi
  echo "==> Installing Debian's prometheus package (promtool)" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool check rules "$dir/alerts.yml"
(cd "$dir" && promtool test rules alerts.test.yml)

# The configuration names the rules at their path inside the container; check it beside them.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$dir/alerts.yml" "$tmp/"
sed "s#/etc/prometheus/alerts.yml#$tmp/alerts.yml#" "$dir/prometheus.yml" > "$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml"

python3 - "$dir/grafana/platform.json" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
panels = [p for p in dashboard["panels"] if p["type"] != "row"]
assert panels and all(p["targets"] for p in panels), "every panel queries something"
print(f"dashboard: {len(panels)} panels")
PY
echo "monitoring: rules, their tests, the Prometheus configuration and the dashboard are valid"
