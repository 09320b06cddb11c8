#!/usr/bin/env python3
"""Verifies a payhub webhook (Standard Webhooks signature), standard library only.

    WEBHOOK_ID=… WEBHOOK_TIMESTAMP=… WEBHOOK_SIGNATURE=… python3 verify.py whsec_… < body

Exits 0 and prints "valid" when the signature verifies and the timestamp is
within 5 minutes of now; exits 1 and prints "invalid" otherwise. In a web
handler, call verify() with the request's headers and its raw body (the
exact bytes received, before any JSON parsing).
"""
import base64
import hashlib
import hmac
import os
import sys
import time

TOLERANCE_S = 300


def verify(secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes, now=None) -> bool:
    now = time.time() if now is None else now
    try:
        if abs(now - int(timestamp)) > TOLERANCE_S:
            return False  # too old, or from the future: a replay
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        return False
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # The header may carry several space-separated signatures (key rotation).
    return any(
        version == "v1" and hmac.compare_digest(expected, value)
        for version, _, value in (part.partition(",") for part in signatures.split())
    )


if __name__ == "__main__":
    ok = verify(
        sys.argv[1],
        os.environ.get("WEBHOOK_ID", ""),
        os.environ.get("WEBHOOK_TIMESTAMP", ""),
        os.environ.get("WEBHOOK_SIGNATURE", ""),
        sys.stdin.buffer.read(),
    )
    print("valid" if ok else "invalid")
    sys.exit(0 if ok else 1)
