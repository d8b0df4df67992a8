#!/usr/bin/env python3
"""A webhook receiver for the API tests (issue #21): every request's signature is checked with the
Standard Webhooks reference library (PyPI `standardwebhooks`), not with callbase's own code.

    receiver.py PORT_FILE     listens on 127.0.0.1, an OS-chosen port written to PORT_FILE

Control (JSON): POST /_config {"secret": "whsec_…", "fail_first": N, "status": S}: the first N
attempts of each message at each path are answered 500, later ones S (default 200). GET /_received: every
request so far, in order: {"message_id", "type", "verified", "error", "answered", "body", "at"}.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

LOCK = threading.Lock()
STATE = {"secret": None, "fail_first": 0, "status": 200, "received": [], "attempts": {}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, obj=None):
        body = json.dumps(obj if obj is not None else {}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_received":
            with LOCK:
                return self._reply(200, STATE["received"])
        self._reply(404)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/_config":
            cfg = json.loads(raw)
            with LOCK:
                for k in ("secret", "fail_first", "status"):
                    if k in cfg:
                        STATE[k] = cfg[k]
            return self._reply(200, {"ok": True})
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, error, payload = False, None, None
        try:
            payload = Webhook(STATE["secret"]).verify(raw, headers)
            verified = True
        except Exception as e:  # the library's verification errors, or no secret configured
            error = f"{type(e).__name__}: {e}"
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        mid = headers.get("webhook-id")
        with LOCK:
            # Per endpoint (path) and message: one event to two endpoints has one webhook-id.
            n = STATE["attempts"].get((self.path, mid), 0) + 1
            STATE["attempts"][(self.path, mid)] = n
            status = 500 if n <= STATE["fail_first"] else STATE["status"]
            STATE["received"].append({
                "message_id": mid,
                "type": (payload or {}).get("type") if isinstance(payload, dict) else None,
                "verified": verified,
                "error": error,
                "answered": status,
                "body": payload,
                "path": self.path,
                "at": time.time(),
            })
        self._reply(status, {"ok": status < 300})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
