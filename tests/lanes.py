#!/usr/bin/env python3
"""Runs the workspace's test binaries, built beforehand, in parallel lanes.

`cargo test` runs one test binary after another. Most of the suite's running time is six
binaries whose tests start validator processes and a chain (chopsticks) and then mostly wait:
for blocks, for timeouts, for a process to come back. Two of them at a time keep both cores
busier and shorten the run; the unit-test binaries fill the gaps.

    cargo test --workspace --all-targets --no-run --message-format=json-render-diagnostics > build.json
    python3 tests/lanes.py build.json [--lanes 2]
    cargo build --workspace --examples --message-format=json-render-diagnostics >> build.json
    python3 tests/lanes.py build.json --example platform-node simulate_node   # prints its path

Each binary runs as `cargo test` would run it (from its package's directory, with
CARGO_MANIFEST_DIR and CARGO_PKG_NAME set, no arguments); its output is printed whole when it
ends, so lanes do not interleave. Every binary runs even after a failure (like
`--no-fail-fast`); the exit status is 1 when any failed. The summary lists each binary's time.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

# The multi-process binaries, longest first (their seconds on a fast 2-core machine, session 31):
# started first, so that the short binaries fill in around them.
LONG = [
    ("validator-node", "devnet"),  # 124 s
    ("validator-node", "process"),  # 100 s
    ("platform-chain", "real_runtime"),  # 75 s
    ("platform-node", "state_sync"),  # 65 s
    ("validator-node", "e2e"),  # 55 s
    ("platform-node", "pipeline"),  # 42 s
]


def executables(messages):
    """Cargo's messages (JSON lines) of every artifact that is an executable."""
    for line in messages:
        line = line.strip()
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            yield message


def test_binaries(messages):
    """(package, target, kind, executable, manifest dir) of every test binary cargo built."""
    found = []
    seen = set()
    for message in executables(messages):
        if not message.get("profile", {}).get("test"):
            continue
        executable = message["executable"]
        if executable in seen:
            continue
        seen.add(executable)
        package = message["package_id"]
        name = package_name(package, message["manifest_path"])
        target = message["target"]
        found.append(
            {
                "package": name,
                "target": target["name"],
                "kind": target["kind"][0],
                "executable": executable,
                "dir": os.path.dirname(message["manifest_path"]),
            }
        )
    return found


def example(messages, package, name):
    """The executable of `package`'s example `name`, built as a program (`cargo build --workspace
    --examples` after the test build: the workspace's unified features, so nothing but the
    example itself is compiled again, where `cargo run -p PACKAGE` would rebuild dependencies
    with that package's own features)."""
    found = None
    owners = {}
    for message in executables(messages):
        if message.get("profile", {}).get("test"):
            continue  # built as a test harness by --all-targets, not as the program
        target = message["target"]
        if "example" not in target["kind"]:
            continue
        owner = package_name(message["package_id"], message["manifest_path"])
        owners.setdefault(message["executable"], set()).add(owner)
        if target["name"] == name and owner == package:
            found = message["executable"]
    # Cargo copies each example to examples/NAME: two packages' examples of one name share that
    # path, and it holds whichever was linked last.
    if found is not None and len(owners[found]) > 1:
        raise SystemExit(f"lanes: {found} is the example of several packages ({', '.join(sorted(owners[found]))}); rename one")
    return found


def package_name(package_id, manifest_path):
    """The package's name: from `path+file:///…/dir#name@version`, or its directory."""
    tail = package_id.rsplit("#", 1)[-1]
    if "@" in tail:
        return tail.split("@", 1)[0]
    return os.path.basename(os.path.dirname(manifest_path))


def ordered(binaries):
    """The long binaries first (in LONG's order), then the rest in cargo's order."""
    rank = {key: i for i, key in enumerate(LONG)}
    long = sorted(
        (b for b in binaries if (b["package"], b["target"]) in rank),
        key=lambda b: rank[(b["package"], b["target"])],
    )
    rest = [b for b in binaries if (b["package"], b["target"]) not in rank]
    return long + rest


def label(binary):
    if binary["kind"] in ("lib", "bin") and binary["target"].replace("-", "_") == binary["package"].replace("-", "_"):
        return f"{binary['package']} (unit tests)"
    return f"{binary['package']} {binary['kind']} {binary['target']}"


def run(binary):
    env = dict(os.environ)
    env["CARGO_MANIFEST_DIR"] = binary["dir"]
    env["CARGO_PKG_NAME"] = binary["package"]
    start = time.monotonic()
    completed = subprocess.run(
        [binary["executable"]],
        cwd=binary["dir"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    return completed.returncode, completed.stdout.decode("utf-8", "replace"), time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", help="cargo's JSON messages from the --no-run build")
    parser.add_argument("--lanes", type=int, default=2, help="binaries running at once (default 2)")
    parser.add_argument(
        "--example", nargs=2, metavar=("PACKAGE", "NAME"), help="print the path of this example's executable and exit"
    )
    args = parser.parse_args()

    if args.example:
        with open(args.messages, encoding="utf-8") as f:
            path = example(f, *args.example)
        if path is None:
            print(f"lanes: no example {args.example[1]} of {args.example[0]} in the build's messages", file=sys.stderr)
            return 1
        print(path)
        return 0

    with open(args.messages, encoding="utf-8") as f:
        queue = ordered(test_binaries(f))
    if not queue:
        print("lanes: no test binaries in the build's messages", file=sys.stderr)
        return 1
    print(f"lanes: {len(queue)} test binaries, {args.lanes} at a time", flush=True)

    lock = threading.Lock()
    results = []

    def lane():
        while True:
            with lock:
                if not queue:
                    return
                binary = queue.pop(0)
            code, output, seconds = run(binary)
            with lock:
                results.append((binary, code, seconds))
                print(f"\n     Running {label(binary)} ({binary['executable']}): {seconds:.1f} s", flush=True)
                sys.stdout.write(output)
                if code != 0:
                    print(f"error: {label(binary)} failed (exit status {code})", flush=True)
                sys.stdout.flush()

    started = time.monotonic()
    threads = [threading.Thread(target=lane) for _ in range(max(1, args.lanes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    print(f"\nlanes: {len(results)} binaries in {time.monotonic() - started:.0f} s; the longest:")
    for binary, code, seconds in sorted(results, key=lambda r: -r[2])[:8]:
        print(f"  {seconds:7.1f} s  {label(binary)}{'  FAILED' if code else ''}")
    failed = [label(b) for b, code, _ in results if code != 0]
    if failed:
        print(f"error: {len(failed)} test binaries failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
