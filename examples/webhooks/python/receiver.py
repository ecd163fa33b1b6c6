#!/usr/bin/env python3
"""A Textbird webhook receiver that verifies every request's Standard Webhooks signature.

Standard library only. Run it with the endpoint's secret (shown once, when the endpoint is
created) and a port:

    TEXTBIRD_WEBHOOK_SECRET=whsec_... python3 receiver.py 9000

It answers 204 to a request whose signature verifies and whose timestamp is within five
minutes of now, prints one JSON line per accepted event, and answers 401 to anything else.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

TOLERANCE_SECS = 300


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, signatures: str) -> bool:
    """True when one of the `v1,<base64>` signatures is the HMAC-SHA256 of `id.timestamp.body`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - ts) > TOLERANCE_SECS:
        return False
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # During a secret rotation the header carries two signatures, separated by a space.
    for sig in signatures.split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Receiver(http.server.BaseHTTPRequestHandler):
    secret = os.environ["TEXTBIRD_WEBHOOK_SECRET"]

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ok = verify(
            self.secret,
            self.headers.get("webhook-id", ""),
            self.headers.get("webhook-timestamp", ""),
            body,
            self.headers.get("webhook-signature", ""),
        )
        if not ok:
            self.send_response(401)
            self.end_headers()
            return
        event = json.loads(body)
        print(json.dumps({"verified": True, "id": self.headers["webhook-id"], "type": event.get("type"),
                          "data": event.get("data")}), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()
