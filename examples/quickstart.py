#!/usr/bin/env python3
"""Send one SMS through Textbird and follow it to its delivery report.

Standard library only:

    TEXTBIRD_URL=http://127.0.0.1:8080 TEXTBIRD_API_KEY=tb_... python3 quickstart.py +31612345678

Prints the accepted message, then each status it reaches, and exits 0 once it is delivered
(1 if it ends in another final status, 2 on an API error).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

FINAL = {"delivered", "undelivered", "expired", "rejected", "failed", "canceled"}


def call(method, path, body=None):
    req = urllib.request.Request(
        os.environ.get("TEXTBIRD_URL", "http://127.0.0.1:8080") + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + os.environ["TEXTBIRD_API_KEY"], "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.load(res)
    except urllib.error.HTTPError as e:
        # Every error is a problem document: its `type` links to a page saying what to do.
        problem = json.load(e)
        print(f"error {e.code}: {problem.get('title')}: {problem.get('detail')} ({problem.get('type')})", file=sys.stderr)
        sys.exit(2)


def main():
    to = sys.argv[1] if len(sys.argv) > 1 else "+31612345678"
    sent = call("POST", "/v1/messages", {"to": to, "from": "Textbird", "body": "Hello from the quickstart"})
    for err in sent["errors"]:
        print(f"not sent to {err['to']}: {err['detail']}", file=sys.stderr)
    if not sent["messages"]:
        sys.exit(2)
    message = sent["messages"][0]
    print(json.dumps({"id": message["id"], "status": message["status"], "parts": message["parts"], "price": message["price"]}))
    seen = message["status"]
    for _ in range(600):
        status = call("GET", f"/v1/messages/{message['id']}")["status"]
        if status != seen:
            print(json.dumps({"id": message["id"], "status": status}))
            seen = status
        if status in FINAL:
            sys.exit(0 if status == "delivered" else 1)
        time.sleep(0.1)
    sys.exit(1)


if __name__ == "__main__":
    main()
