#!/usr/bin/env python3
"""A local Dropbox for tests: OAuth 2.0 and the files API v2, Python 3 stdlib only.

Follows:
  https://www.dropbox.com/developers/documentation/http/documentation
    (files/upload, files/upload_session/start, append_v2, finish,
     files/get_metadata, files/list_folder (+/continue), files/download,
     files/delete_v2, files/create_folder_v2; the "Request and response
     formats" section: Dropbox-API-Arg JSON in a header must escape every
     non-ASCII character as \\uXXXX; errors are 409 with
     {"error_summary": ..., "error": {...}}; 429 with Retry-After)
  https://developers.dropbox.com/oauth-guide
    (/oauth2/authorize with PKCE S256 and token_access_type=offline,
     /oauth2/token: authorization_code and refresh_token grants; short-lived
     access tokens; expired tokens answered 401 expired_access_token)
  https://www.dropbox.com/developers/reference/content-hash

Where a rule is unclear the stricter reading wins: a request body is at most
150,000,000 bytes; every upload-session request but the one that closes the
session carries a multiple of 4 MiB; Dropbox-API-Arg must be pure ASCII;
content endpoints require Content-Type application/octet-stream; the
redirect URI must be a loopback http URI or an exact registered one;
PKCE must be S256.

The test user is approved automatically: GET /oauth2/authorize redirects at
once with code and state.

Control endpoints (no auth), for tests:
  GET  /_control/stats    {"sessions": {id: {"received", "applied", "dropped"}},
                           "requests": {endpoint: n}, "throttled": n,
                           "throttled_after_retry_after": n, "refreshes": n}
  POST /_control/config   {"token_ttl": s, "budget": n, "window": s, "page_size": n}
  POST /_control/fault    {"endpoint": "/2/files/upload_session/append_v2",
                           "drop_after": BYTES | "status": 500|503, "count": n,
                           "skip": n (let the first n matching requests through)}
  POST /_control/revoke   every refresh and access token stops working
Usage: dropbox_server.py --port N [--client-id ID] [--client-secret S]
                         [--token-ttl S] [--data DIR] [--latency-ms MS]
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import socket
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_common  # tests/fakes/fake_common.py

MAX_BODY = 150_000_000
BLOCK = 4 * 1024 * 1024
FORBIDDEN = set('\\<>:"|?*')


def content_hash(path):
    outer = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(BLOCK)
            if not b:
                break
            outer.update(hashlib.sha256(b).digest())
    return outer.hexdigest()


def err(summary, error):
    return {"error_summary": summary + "/..", "error": error}


def path_not_found(tag="path"):
    return err(tag + "/not_found", {".tag": tag, tag: {".tag": "not_found"}})


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.token_ttl = args.token_ttl
        self.latency_s = args.latency_ms / 1000.0
        self.data = args.data or tempfile.mkdtemp(prefix="dropbox-fake-")
        self.codes = {}  # code -> dict
        self.refresh = {}  # refresh token -> client_id
        self.access = {}  # access token -> expiry
        self.files = {}  # lower path -> metadata (+ "blob")
        self.folders = {"": ""}  # lower -> display
        self.sessions = {}  # id -> {"blob", "offset", "closed", "received", "applied", "dropped"}
        self.finished_sessions = {}
        self.requests = {}
        self.budget = 0
        self.window = 1.0
        self.window_start = time.time()
        self.window_count = 0
        self.throttled = 0
        self.throttled_after = 0
        self.last_retry_after_until = 0.0
        self.page_size = 1000
        self.faults = []
        self.refreshes = 0
        self.next_id = 1
        self.rev = 1


S = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet, one line per request on stderr
        pass

    # ---- plumbing -------------------------------------------------------
    def reply(self, code, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
            if ctype == "application/json":
                ctype = "text/plain; charset=utf-8"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def length(self):
        cl = self.headers.get("Content-Length")
        if cl is None:
            if self.headers.get("Transfer-Encoding"):
                return None
            return 0
        return int(cl)

    def read_body(self, limit=MAX_BODY):
        n = self.length()
        if n is None:
            self.reply(411, "Content-Length is required")
            return None
        if n > limit:
            self.reply(413, "request body of %d bytes is larger than %d" % (n, limit))
            self.close_connection = True
            return None
        return self.rfile.read(n)

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def fault_for(self, endpoint):
        with S.lock:
            for f in S.faults:
                if f["endpoint"] == endpoint and f["count"] > 0:
                    if f.get("skip", 0) > 0:  # let that many matching requests through
                        f["skip"] -= 1
                        continue
                    f["count"] -= 1
                    return dict(f)
        return None

    def throttle(self):
        """(429, body, headers) once the request budget of the window is spent."""
        with S.lock:
            if S.budget <= 0:
                return None
            now = time.time()
            if now - S.window_start >= S.window:
                S.window_start = now
                S.window_count = 0
            if S.window_count < S.budget:
                S.window_count += 1
                return None
            S.throttled += 1
            if now < S.last_retry_after_until:
                S.throttled_after += 1  # the client did not wait as told
            wait = max(1, int(S.window - (now - S.window_start) + 0.999))
            S.last_retry_after_until = now + wait - 0.05
        return (429, err("too_many_requests",
                         {"reason": {".tag": "too_many_requests"}, "retry_after": wait}),
                {"Retry-After": str(wait)})

    def auth(self):
        """None when the bearer token is valid; else (code, body, headers)."""
        h = self.headers.get("Authorization", "")
        if not h.startswith("Bearer "):
            return (400, "Error in call: missing or malformed Authorization header", {})
        tok = h[len("Bearer "):]
        with S.lock:
            exp = S.access.get(tok)
        if exp is None:
            return (401, err("invalid_access_token", {".tag": "invalid_access_token"}), {})
        if time.time() >= exp:
            return (401, err("expired_access_token", {".tag": "expired_access_token"}), {})
        return None

    def count(self, endpoint):
        with S.lock:
            S.requests[endpoint] = S.requests.get(endpoint, 0) + 1

    # ---- HTTP verbs ------------------------------------------------------
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        self.count(u.path)
        if u.path == "/oauth2/authorize":
            return self.authorize(urllib.parse.parse_qs(u.query))
        if u.path == "/_control/stats":
            with S.lock:
                sess = {k: {x: v[x] for x in ("received", "applied", "dropped")}
                        for k, v in list(S.sessions.items()) + list(S.finished_sessions.items())}
                return self.reply(200, {"sessions": sess, "requests": S.requests,
                                        "throttled": S.throttled,
                                        "throttled_after_retry_after": S.throttled_after,
                                        "refreshes": S.refreshes})
        self.reply(404, "no such endpoint")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        ep = u.path
        self.count(ep)
        if ep.startswith("/_control/"):
            return self.control(ep)
        if S.latency_s:
            time.sleep(S.latency_s)
        if ep == "/oauth2/token":
            body = self.read_body(1 << 20)
            if body is None:
                return
            return self.token(body)
        content = {"/2/files/upload", "/2/files/upload_session/start",
                   "/2/files/upload_session/append_v2", "/2/files/upload_session/finish",
                   "/2/files/download"}
        rpc = {"/2/files/get_metadata", "/2/files/list_folder", "/2/files/list_folder/continue",
               "/2/files/delete_v2", "/2/files/create_folder_v2"}
        if ep not in content and ep not in rpc:
            self.read_body()
            return self.reply(404, "Unknown API function: " + ep)
        refusal = self.throttle() or self.auth()
        if refusal:
            n = self.length() or 0
            if n <= MAX_BODY:
                self.rfile.read(n)
            else:
                self.close_connection = True
            return self.reply(refusal[0], refusal[1], headers=refusal[2])
        fault = self.fault_for(ep)
        if fault and "status" in fault:
            self.read_body()
            return self.reply(fault["status"], "injected fault")
        if ep in rpc:
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                self.read_body()
                return self.reply(400, "Error in call: Content-Type must be application/json")
            body = self.read_body(1 << 20)
            if body is None:
                return
            try:
                arg = json.loads(body or b"null")
            except ValueError:
                return self.reply(400, "Error in call: request body is not JSON")
            return getattr(self, "rpc_" + ep.split("/2/files/")[1].replace("/", "_"))(arg)
        raw = self.headers.get("Dropbox-API-Arg")
        if raw is None:
            self.read_body()
            return self.reply(400, "Error in call: missing Dropbox-API-Arg header")
        if any(ord(c) > 127 for c in raw):
            self.read_body()
            return self.reply(400, "Error in call: Dropbox-API-Arg must be ASCII; escape "
                                   "non-ASCII characters as \\uXXXX")
        try:
            arg = json.loads(raw)
        except ValueError:
            self.read_body()
            return self.reply(400, "Error in call: Dropbox-API-Arg is not JSON")
        if ep == "/2/files/download":
            self.read_body()
            return self.download(arg)
        if self.headers.get("Content-Type", "") != "application/octet-stream":
            self.read_body()
            return self.reply(400, "Error in call: Content-Type must be application/octet-stream")
        return self.upload(ep, arg, fault)

    # ---- OAuth -------------------------------------------------------------
    def authorize(self, q):
        one = lambda k: (q.get(k) or [""])[0]
        if one("client_id") != S.client_id:
            return self.reply(400, "invalid client_id")
        if one("response_type") != "code":
            return self.reply(400, "response_type must be code")
        redirect = one("redirect_uri")
        r = urllib.parse.urlsplit(redirect)
        if r.scheme != "http" or r.hostname not in ("127.0.0.1", "localhost", "::1"):
            return self.reply(400, "redirect_uri must be a loopback http URI")
        if one("code_challenge_method") != "S256" or len(one("code_challenge")) != 43:
            return self.reply(400, "PKCE with code_challenge_method=S256 is required")
        code = secrets.token_urlsafe(24)
        with S.lock:
            S.codes[code] = {"redirect": redirect, "challenge": one("code_challenge"),
                             "expires": time.time() + 600,
                             "offline": one("token_access_type") == "offline"}
        sep = "&" if "?" in redirect else "?"
        loc = redirect + sep + urllib.parse.urlencode({"code": code, "state": one("state")})
        self.reply(302, "", headers={"Location": loc})

    def client_ok(self, form):
        cid, secret = form.get("client_id", ""), form.get("client_secret")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            try:
                cid, secret = base64.b64decode(basic[6:]).decode().split(":", 1)
            except ValueError:
                return False
        if cid != S.client_id:
            return False
        return secret is None or secret == S.client_secret

    def new_access(self):
        tok = "sl." + secrets.token_urlsafe(24)
        with S.lock:
            S.access[tok] = time.time() + S.token_ttl
        return tok

    def token(self, body):
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self.reply(400, {"error": "invalid_request",
                                    "error_description": "form body expected"})
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        if not self.client_ok(form):
            return self.reply(400, {"error": "invalid_client",
                                    "error_description": "unknown client or wrong secret"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with S.lock:
                c = S.codes.pop(form.get("code", ""), None)
            if c is None or time.time() > c["expires"]:
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": "code doesn't exist or has expired"})
            if form.get("redirect_uri") != c["redirect"]:
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": "redirect_uri mismatch"})
            verifier = form.get("code_verifier", "")
            want = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            if not 43 <= len(verifier) <= 128 or want.decode() != c["challenge"]:
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": "invalid code verifier"})
            out = {"access_token": self.new_access(), "token_type": "bearer",
                   "expires_in": int(S.token_ttl), "uid": "1", "account_id": "dbid:test",
                   "scope": "files.content.read files.content.write files.metadata.read"}
            if c["offline"]:
                rt = secrets.token_urlsafe(32)
                with S.lock:
                    S.refresh[rt] = S.client_id
                out["refresh_token"] = rt
            return self.reply(200, out)
        if grant == "refresh_token":
            with S.lock:
                ok = form.get("refresh_token", "") in S.refresh
                S.refreshes += 1
            if not ok:
                return self.reply(400, {"error": "invalid_grant",
                                        "error_description": "refresh token is invalid or revoked"})
            return self.reply(200, {"access_token": self.new_access(), "token_type": "bearer",
                                    "expires_in": int(S.token_ttl)})
        return self.reply(400, {"error": "unsupported_grant_type"})

    # ---- control -----------------------------------------------------------
    def control(self, ep):
        body = self.read_body(1 << 20)
        if body is None:
            return
        arg = json.loads(body or b"{}")
        with S.lock:
            if ep == "/_control/config":
                S.token_ttl = float(arg.get("token_ttl", S.token_ttl))
                S.budget = int(arg.get("budget", S.budget))
                S.window = float(arg.get("window", S.window))
                S.page_size = int(arg.get("page_size", S.page_size))
                S.window_start, S.window_count = time.time(), 0
            elif ep == "/_control/fault":
                arg.setdefault("count", 1)
                S.faults.append(arg)
            elif ep == "/_control/revoke":
                S.refresh.clear()
                S.access.clear()
            else:
                return self.reply(404, "no such control")
        self.reply(200, {})

    # ---- files -------------------------------------------------------------
    def check_path(self, p, allow_root=False):
        """None when valid; else an error body (409 malformed_path)."""
        if p == "" and allow_root:
            return None
        if not isinstance(p, str) or not p.startswith("/") or p.endswith("/") or "//" in p:
            return err("path/malformed_path", {".tag": "path", "path": {".tag": "malformed_path"}})
        for name in p[1:].split("/"):
            if (any(c in FORBIDDEN or ord(c) < 32 for c in name) or name.endswith(" ")
                    or name.endswith(".") or len(name.encode()) > 255):
                return err("path/malformed_path",
                           {".tag": "path", "path": {".tag": "malformed_path"}})
        return None

    def meta(self, m):
        return {k: v for k, v in m.items() if k != "blob"}

    def folder_meta(self, low):
        disp = S.folders[low]
        return {".tag": "folder", "name": disp.rsplit("/", 1)[-1], "path_lower": low,
                "path_display": disp, "id": "id:f" + hashlib.md5(low.encode()).hexdigest()[:12]}

    def parent_ok(self, path):
        """Creates the parent folders of `path`; False when a file is in the way."""
        parts = path.split("/")[1:-1]
        cur = ""
        for p in parts:
            cur += "/" + p
            if cur.lower() in S.files:
                return False
            S.folders.setdefault(cur.lower(), cur)
        return True

    def commit(self, c, blob, size):
        """Commits `blob` under c["path"] per the write mode; (code, body)."""
        path = c.get("path", "")
        bad = self.check_path(path)
        if bad:
            return 409, err("path/malformed_path",
                            {".tag": "path", "path": {"reason": {".tag": "malformed_path"}}})
        mode = c.get("mode", "add")
        tag = mode if isinstance(mode, str) else mode.get(".tag")
        low = path.lower()
        conflict = lambda what: (409, err("path/conflict/" + what, {
            ".tag": "path", "path": {"reason": {".tag": "conflict", "conflict": {".tag": what}}}}))
        with S.lock:
            if low in S.folders:
                return conflict("folder")
            cur = S.files.get(low)
            if tag == "add" and cur is not None:
                return conflict("file")
            if tag == "update":
                if cur is None or cur["rev"] != mode.get("update"):
                    return conflict("file")
            elif tag not in ("add", "overwrite"):
                return 400, "Error in call: unknown write mode"
            if not self.parent_ok(path):
                return conflict("file_ancestor")
            S.rev += 1
            rev = "%09x" % S.rev
            dest = os.path.join(S.data, "f-" + rev)
            os.replace(blob, dest)
            if cur is not None:
                try:
                    os.unlink(cur["blob"])
                except OSError:
                    pass
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            m = {".tag": "file", "name": path.rsplit("/", 1)[-1], "path_lower": low,
                 "path_display": path, "id": cur["id"] if cur else "id:" + rev,
                 "client_modified": c.get("client_modified", now), "server_modified": now,
                 "rev": rev, "size": size, "is_downloadable": True,
                 "content_hash": content_hash(dest), "blob": dest}
            S.files[low] = m
            return 200, self.meta(m)

    def upload(self, ep, arg, fault):
        n = self.length()
        if n is None:
            return self.reply(411, "Content-Length is required")
        if n > MAX_BODY:
            self.close_connection = True
            return self.reply(413, "request body of %d bytes is larger than %d" % (n, MAX_BODY))
        sid = None
        if ep in ("/2/files/upload_session/append_v2", "/2/files/upload_session/finish"):
            sid = (arg.get("cursor") or {}).get("session_id")
        # Read the body to a temporary file, dropping the connection on a fault.
        fd, tmp = tempfile.mkstemp(dir=S.data, prefix="in-")
        got = 0
        limit = fault.get("drop_after") if fault else None
        with os.fdopen(fd, "wb") as f:
            while got < n:
                want = min(1 << 20, n - got)
                if limit is not None:
                    want = min(want, limit - got)
                    if want <= 0:
                        break
                b = self.rfile.read(want)
                if not b:
                    break
                f.write(b)
                got += len(b)
        with S.lock:
            if sid in S.sessions:
                S.sessions[sid]["received"] += got
                if got < n:
                    S.sessions[sid]["dropped"] += got
        if got < n:
            os.unlink(tmp)
            return self.drop()
        if ep == "/2/files/upload":
            code, body = self.commit(arg, tmp, n)
            if code != 200 and os.path.exists(tmp):
                os.unlink(tmp)
            return self.reply(code, body)
        if ep == "/2/files/upload_session/start":
            if not arg.get("close", False) and n % BLOCK != 0:
                os.unlink(tmp)
                return self.reply(400, "Error in call: data of a session request that does "
                                       "not close it must be a multiple of 4194304 bytes")
            with S.lock:
                sid = "sess-%d" % S.next_id
                S.next_id += 1
                S.sessions[sid] = {"blob": tmp, "offset": n, "closed": bool(arg.get("close")),
                                   "received": n, "applied": n, "dropped": 0}
            return self.reply(200, {"session_id": sid})
        cursor = arg.get("cursor") or {}
        finish = ep.endswith("/finish")
        wrap = (lambda e, s: err("lookup_failed/" + s, {".tag": "lookup_failed",
                                                         "lookup_failed": e})) if finish else \
            (lambda e, s: err(s, e))
        with S.lock:
            s = S.sessions.get(sid)
            if s is None:
                os.unlink(tmp)
                return self.reply(409, wrap({".tag": "not_found"}, "not_found"))
            if s["closed"] and n > 0:
                os.unlink(tmp)
                return self.reply(409, wrap({".tag": "closed"}, "closed"))
            if cursor.get("offset") != s["offset"]:
                os.unlink(tmp)
                return self.reply(409, wrap({".tag": "incorrect_offset",
                                             "correct_offset": s["offset"]}, "incorrect_offset"))
            closing = finish or bool(arg.get("close"))
            if not closing and n % BLOCK != 0:
                os.unlink(tmp)
                return self.reply(400, "Error in call: data of a session request that does "
                                       "not close it must be a multiple of 4194304 bytes")
            with open(s["blob"], "ab") as out, open(tmp, "rb") as inp:
                while True:
                    b = inp.read(1 << 20)
                    if not b:
                        break
                    out.write(b)
            os.unlink(tmp)
            s["offset"] += n
            s["applied"] += n
            s["closed"] = s["closed"] or closing
            size, blob = s["offset"], s["blob"]
        if not finish:
            return self.reply(200, "null")
        code, body = self.commit(arg.get("commit") or {}, blob, size)
        with S.lock:
            if code == 200:
                S.finished_sessions[sid] = S.sessions.pop(sid)
        return self.reply(code, body)

    def download(self, arg):
        p = arg.get("path", "")
        with S.lock:
            m = S.files.get(p.lower()) if isinstance(p, str) else None
        if m is None:
            return self.reply(409, path_not_found())
        with open(m["blob"], "rb") as f:
            data = f.read()
        res = json.dumps(self.meta(m), ensure_ascii=True)
        self.reply(200, data, ctype="application/octet-stream",
                   headers={"Dropbox-API-Result": res})

    def rpc_get_metadata(self, arg):
        p = arg.get("path", "")
        bad = self.check_path(p)
        if bad:
            return self.reply(409, bad)
        with S.lock:
            m = S.files.get(p.lower())
            if m is not None:
                return self.reply(200, self.meta(m))
            if p.lower() in S.folders:
                return self.reply(200, self.folder_meta(p.lower()))
        self.reply(409, path_not_found())

    def listing(self, low, recursive):
        out = []
        pre = low + "/"
        for k in sorted(S.folders):
            if k and k.startswith(pre) and (recursive or "/" not in k[len(pre):]):
                out.append(self.folder_meta(k))
        for k in sorted(S.files):
            if k.startswith(pre) and (recursive or "/" not in k[len(pre):]):
                out.append(self.meta(S.files[k]))
        return out

    def page(self, entries, start, state):
        end = start + S.page_size
        cur = base64.urlsafe_b64encode(json.dumps(dict(state, offset=end)).encode()).decode()
        return {"entries": entries[start:end], "cursor": cur, "has_more": end < len(entries)}

    def rpc_list_folder(self, arg):
        p = arg.get("path", "")
        bad = self.check_path(p, allow_root=True)
        if bad:
            return self.reply(409, bad)
        with S.lock:
            if p.lower() not in S.folders:
                return self.reply(409, path_not_found())
            entries = self.listing(p.lower(), bool(arg.get("recursive")))
            return self.reply(200, self.page(entries, 0, {"p": p.lower(),
                                                          "r": bool(arg.get("recursive"))}))

    def rpc_list_folder_continue(self, arg):
        try:
            st = json.loads(base64.urlsafe_b64decode(arg.get("cursor", "").encode()))
        except ValueError:
            return self.reply(409, err("reset", {".tag": "reset"}))
        with S.lock:
            if st["p"] not in S.folders:
                return self.reply(409, path_not_found())
            entries = self.listing(st["p"], st["r"])
            return self.reply(200, self.page(entries, st["offset"], st))

    def rpc_delete_v2(self, arg):
        p = arg.get("path", "")
        bad = self.check_path(p)
        if bad:
            return self.reply(409, bad)
        low = p.lower()
        with S.lock:
            if low in S.files:
                m = S.files.pop(low)
                os.unlink(m["blob"])
                return self.reply(200, {"metadata": self.meta(m)})
            if low in S.folders:
                md = self.folder_meta(low)
                for k in [k for k in S.files if k.startswith(low + "/")]:
                    os.unlink(S.files.pop(k)["blob"])
                for k in [k for k in S.folders if k == low or k.startswith(low + "/")]:
                    del S.folders[k]
                return self.reply(200, {"metadata": md})
        self.reply(409, path_not_found("path_lookup"))

    def rpc_create_folder_v2(self, arg):
        p = arg.get("path", "")
        bad = self.check_path(p)
        if bad:
            return self.reply(409, bad)
        low = p.lower()
        with S.lock:
            if low in S.folders or low in S.files:
                what = "folder" if low in S.folders else "file"
                return self.reply(409, err("path/conflict/" + what, {
                    ".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": what}}}))
            if not self.parent_ok(p + "/x"):
                return self.reply(409, err("path/conflict/file_ancestor", {
                    ".tag": "path", "path": {".tag": "conflict",
                                             "conflict": {".tag": "file_ancestor"}}}))
            S.folders[low] = p
            return self.reply(200, {"metadata": self.folder_meta(low)})


def main():
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--client-id", default="test-app-key")
    ap.add_argument("--client-secret", default="test-app-secret")
    ap.add_argument("--token-ttl", type=float, default=14400)
    ap.add_argument("--data", default="")
    ap.add_argument("--latency-ms", type=float, default=0,
                    help="added to every API request (not /_control)")
    args = ap.parse_args()
    S = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    fake_common.exit_with_parent()
    srv.serve_forever()


if __name__ == "__main__":
    main()
