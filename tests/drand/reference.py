"""The Bittensor SDK's drand code (PyPI bittensor-drand), driven by platform-chain's tests.

Reads one JSON request per line on stdin and answers one JSON line on stdout:
  {"op": "decrypt", "ciphertext": HEX, "signature": HEX}  -> {"plaintext": HEX} | {"error": STR}
  {"op": "encrypt_at_round", "data": HEX, "round": N}     -> {"ciphertext": HEX}
  {"op": "commit_v2", "uids": [...], "weights": [...], "version_key": N, "last_epoch_block": N,
   "pending_epoch_at": N, "subnet_epoch_index": N, "tempo": N, "blocks_since_last_step": N,
   "current_block": N, "reveal_period_epochs": N, "block_time": F, "hotkey": HEX}
      -> {"round": N, "ciphertext": HEX, "before": F, "after": F}
     ("before" and "after" are the Unix times read just before and after the SDK's call: the
      SDK reads the clock itself, so the caller checks its own round at both instants.)
None of these calls touch the network.
"""
import json
import sys
import time

import bittensor_drand as bd


def answer(req):
    op = req["op"]
    if op == "decrypt":
        try:
            plain = bd.decrypt_with_signature(bytes.fromhex(req["ciphertext"]), req["signature"])
        except Exception as e:  # the SDK raises ValueError on any failure
            return {"error": str(e)}
        return {"plaintext": bytes(plain).hex()}
    if op == "encrypt_at_round":
        ct, _ = bd.encrypt_at_round(bytes.fromhex(req["data"]), req["round"])
        return {"ciphertext": bytes(ct).hex()}
    if op == "commit_v2":
        before = time.time()
        ct, rnd = bd.get_encrypted_commit_v2(
            req["uids"], req["weights"], req["version_key"], req["last_epoch_block"],
            req["pending_epoch_at"], req["subnet_epoch_index"], req["tempo"],
            req["blocks_since_last_step"], req["current_block"], req["reveal_period_epochs"],
            req["block_time"], bytes.fromhex(req["hotkey"]))
        after = time.time()
        return {"round": rnd, "ciphertext": bytes(ct).hex(), "before": before, "after": after}
    return {"error": f"unknown op {op}"}


for line in sys.stdin:
    if line.strip():
        print(json.dumps(answer(json.loads(line))), flush=True)
