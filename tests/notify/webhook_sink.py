#!/usr/bin/python3
"""A local webhook receiver for the notification tests.

Records every request as DIR/NNNN.json: method, path, headers and body. With
--secret it checks, on paths under /hook, X-Shoebox-Signature (sha256=HEX of HMAC-SHA256 over the
body) as a receiver should, records signature_ok, and answers 401 to a bad
or missing signature. Other paths (an ntfy topic) are recorded as they
come; GET requests (device pings) are answered 200.

  webhook_sink.py --port P --dir D [--secret S]
"""
import argparse
import hashlib
import hmac
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
COUNT = [0]


def record(entry):
    COUNT[0] += 1
    tmp = os.path.join(ARGS.dir, ".%04d.tmp" % COUNT[0])
    with open(tmp, "w") as f:
        json.dump(entry, f)
    os.rename(tmp, os.path.join(ARGS.dir, "%04d.json" % COUNT[0]))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        record({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": ""})
        self._answer(200, "OK")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        entry = {"method": "POST", "path": self.path, "headers": dict(self.headers),
                 "body": body.decode("utf-8", "replace")}
        code = 200
        if ARGS.secret is not None and self.path.startswith("/hook"):
            want = "sha256=" + hmac.new(ARGS.secret.encode(), body, hashlib.sha256).hexdigest()
            got = self.headers.get("X-Shoebox-Signature", "")
            entry["signature_ok"] = hmac.compare_digest(want, got)
            if not entry["signature_ok"]:
                code = 401
        record(entry)
        self._answer(code, "recorded" if code == 200 else "bad signature")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--secret")
    ARGS = p.parse_args()
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
