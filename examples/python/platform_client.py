#!/usr/bin/env python3
"""A miner's client for a Platform validator, written from docs/wire-protocol.md and
docs/openapi.yaml alone: protobuf messages from proto/, sr25519 signatures from
py-sr25519-bindings, JSON over HTTP.

    python platform_client.py key --key-file miner.key
    python platform_client.py submit --url http://127.0.0.1:8080 --netuid 1 \\
        --key-file miner.key --challenge regression --payload "1 -2 0.25 5 -0.5"
    python platform_client.py check-example --doc ../../docs/wire-protocol.md

`key` creates a key file (a random 32-byte seed, hex) if there is none and prints the hotkey
to register (`validator-node devnet --miner-key <SS58>` does it on a devnet). `submit` signs a
submission, sends it, and follows it to its final score. `check-example` recomputes the bytes of
the documents' worked example.
"""

import argparse
import hashlib
import json
import os
import pathlib
import sys
import tempfile
import time
import urllib.error
import urllib.request

import sr25519

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"

# Signed header: b"platform/v1" and a zero byte, the message kind, the netuid (u16 LE).
DOMAIN_PREFIX = b"platform/v1\x00"
KIND_SUBMISSION = 1
MAX_INLINE_PAYLOAD = 256 * 1024
SS58_PREFIX = 42
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def protobuf_modules():
    """Compiles proto/platform_network/v1 with grpcio-tools' protoc into a temporary folder and
    imports the generated modules (package platform_network: no clash with Python's `platform`)."""
    from grpc_tools import protoc

    out = pathlib.Path(tempfile.mkdtemp(prefix="platform-proto-"))
    files = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "platform_network" / "v1").glob("*.proto"))
    if protoc.main(["protoc", f"-I{PROTO_ROOT}", f"--python_out={out}", *files]) != 0:
        raise SystemExit("protoc failed on " + ", ".join(files))
    sys.path.insert(0, str(out))
    from platform_network.v1 import envelope_pb2, work_pb2

    return envelope_pb2, work_pb2


def ss58(public: bytes) -> str:
    """The SS58 address of a 32-byte key with Bittensor's prefix 42."""
    body = bytes([SS58_PREFIX]) + public
    checksum = hashlib.blake2b(b"SS58PRE" + body, digest_size=64).digest()[:2]
    data = body + checksum
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\x00"))) + text


def blake2b_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def load_key(path: pathlib.Path):
    """The keypair whose 32-byte seed (hex) is in `path`, created at random if the file is missing."""
    if not path.exists():
        path.write_text(os.urandom(32).hex() + "\n")
        path.chmod(0o600)
    seed = bytes.fromhex(path.read_text().strip().removeprefix("0x"))
    if len(seed) != 32:
        raise SystemExit(f"{path}: a key file holds a 32-byte seed in hex")
    return sr25519.pair_from_seed(seed)


def submission_bytes(work_pb2, public: bytes, challenge: str, payload: bytes, nonce: int, timestamp_ms: int):
    """The encoded Submission and, for a payload above the inline cap, the blob to send beside it."""
    message = work_pb2.Submission(
        challenge_id=challenge, miner=public, payload_size=len(payload), nonce=nonce, timestamp_ms=timestamp_ms
    )
    blob = None
    if len(payload) <= MAX_INLINE_PAYLOAD:
        message.inline = payload
    else:
        message.blob_hash = blake2b_256(payload)
        blob = payload
    return message.SerializeToString(), blob


def signed_bytes(netuid: int, kind: int, payload: bytes) -> bytes:
    return DOMAIN_PREFIX + bytes([kind]) + netuid.to_bytes(2, "little") + payload


def envelope_bytes(envelope_pb2, keypair, netuid: int, payload: bytes) -> bytes:
    public, _ = keypair
    signature = sr25519.sign(keypair, signed_bytes(netuid, KIND_SUBMISSION, payload))
    envelope = envelope_pb2.Envelope(kind=KIND_SUBMISSION, payload=payload, signer=public, signature=signature)
    return envelope.SerializeToString()


def http(method: str, url: str, body=None):
    """(status, JSON answer). Every answer of the API is JSON, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def submit(args) -> int:
    envelope_pb2, work_pb2 = protobuf_modules()
    keypair = load_key(pathlib.Path(args.key_file))
    public = keypair[0]
    payload = args.payload.encode() if args.payload is not None else pathlib.Path(args.payload_file).read_bytes()
    base = args.url.rstrip("/")
    deadline = time.monotonic() + args.wait
    while True:
        # A fresh nonce and timestamp each attempt: a retried envelope would be a replay (409).
        now = int(time.time() * 1000)
        message, blob = submission_bytes(work_pb2, public, args.challenge, payload, now, now)
        expected = "0x" + blake2b_256(message).hex()
        body = {"envelope": envelope_bytes(envelope_pb2, keypair, args.netuid, message).hex()}
        if blob is not None:
            body["blob"] = blob.hex()
        status, answer = http("POST", f"{base}/submissions", body)
        # 403 until the validator's next metagraph read sees a fresh registration; 503 while it
        # starts; 429 when over the rate: all worth waiting for.
        if status == 202 or status not in (403, 429, 503) or time.monotonic() > deadline:
            break
        print(f"{status} {answer['error']}; retrying", file=sys.stderr)
        time.sleep(2)
    if status != 202:
        print(f"refused: {status} {answer.get('error')}", file=sys.stderr)
        return 1
    if answer["id"] != expected:
        print(f"the validator's id {answer['id']} is not blake2b-256 of the Submission ({expected})", file=sys.stderr)
        return 1
    print(f"submitted {expected} as {ss58(public)}", file=sys.stderr)
    last = None
    while time.monotonic() < deadline:
        status, answer = http("GET", f"{base}/submissions/{expected}")
        if status == 200 and answer["status"] != last:
            last = answer["status"]
            print(f"  {last}", file=sys.stderr)
        if status == 200 and answer["final"]:
            print(json.dumps(answer, indent=2))
            return 0
        time.sleep(1)
    print(f"no final score within {args.wait} s (last status {last})", file=sys.stderr)
    return 1


def key(args) -> int:
    public, _ = load_key(pathlib.Path(args.key_file))
    print(ss58(public))
    return 0


def check_example(args) -> int:
    """Recomputes the worked example of docs/wire-protocol.md; exits 1 on any difference."""
    _, work_pb2 = protobuf_modules()
    text = pathlib.Path(args.doc).read_text()
    shown = {}
    for line in text[text.index("### Worked example") :].splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() and " " not in value.strip():
            shown.setdefault(name.strip(), value.strip())
    keypair = sr25519.pair_from_seed(bytes([1] * 32))
    public = keypair[0]
    message, _ = submission_bytes(work_pb2, public, "regression", b"1 -2 0.25 5 -0.5", 7, 1_764_000_000_000)
    signed = signed_bytes(1, KIND_SUBMISSION, message)
    computed = {
        "miner public key": "0x" + public.hex(),
        "miner SS58": ss58(public),
        "Submission bytes": message.hex(),
        "signed bytes": signed.hex(),
        "submission id": "0x" + blake2b_256(message).hex(),
    }
    wrong = [f"{name}: document {shown.get(name)} computed {value}" for name, value in computed.items() if shown.get(name) != value]
    signature = bytes.fromhex(shown["signature"])
    if not sr25519.verify(signature, signed, public):
        wrong.append("signature: does not verify over the signed bytes")
    for line in wrong:
        print(line, file=sys.stderr)
    if not wrong:
        print("the worked example's bytes match, and its signature verifies")
    return 1 if wrong else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("key", help="create a key file if missing; print its hotkey (SS58)")
    p.add_argument("--key-file", required=True)
    p.set_defaults(run=key)
    p = commands.add_parser("submit", help="submit a payload and follow it to its final score")
    p.add_argument("--url", required=True, help="a validator's HTTP API, e.g. http://127.0.0.1:8080")
    p.add_argument("--netuid", type=int, required=True)
    p.add_argument("--key-file", required=True)
    p.add_argument("--challenge", required=True, help="a challenge id from GET /challenges")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--payload", help="the payload as text")
    group.add_argument("--payload-file", help="the payload's file (over 256 KiB it travels as a blob)")
    p.add_argument("--wait", type=float, default=180, help="seconds to wait for the final score")
    p.set_defaults(run=submit)
    p = commands.add_parser("check-example", help="recompute docs/wire-protocol.md's worked example")
    p.add_argument("--doc", default=str(HERE.parent.parent / "docs" / "wire-protocol.md"))
    p.set_defaults(run=check_example)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
