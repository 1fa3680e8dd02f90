#!/usr/bin/env python3
"""A local Google Drive (API v3 + Google OAuth 2.0) for tests.

Python 3 standard library only. It follows these documentation pages, and where a
rule is unclear the stricter reading wins:

- "Upload file data" (https://developers.google.com/drive/api/guides/manage-uploads),
  resumable upload: POST /upload/drive/v3/files?uploadType=resumable (or PATCH
  /upload/drive/v3/files/ID to replace a file's content) with the metadata and
  X-Upload-Content-Length answers 200 with the session URI in Location; chunks
  are PUT with Content-Range, every chunk but the last a multiple of 256 KiB
  (a smaller non-final chunk is REFUSED here, 400), each starting exactly at
  the next byte the server expects (400 otherwise); 308 Resume Incomplete with
  "Range: bytes=0-N" (no Range before the first byte); a status query is a PUT
  with "Content-Range: bytes */SIZE" and no body; 404 on an unknown or expired
  session (the client must start over); 200/201 with the file resource at the
  end.
- files.create (folders: mimeType application/vnd.google-apps.folder),
  files.list (q with name =, 'ID' in parents, trashed =, mimeType =/!=; strings
  in single quotes with \\' and \\\\ escapes; pageSize/pageToken/nextPageToken;
  fields), files.get (alt=media for content), files.delete.
- "Resolve errors" (https://developers.google.com/drive/api/guides/handle-errors):
  401 authError, 403 userRateLimitExceeded / rateLimitExceeded, 404 notFound,
  429 rateLimitExceeded, 5xx backendError; error body {"error": {"code",
  "message", "errors": [{"domain", "reason", "message"}], "status"}}.
- Google OAuth 2.0 for installed apps: authorization code with PKCE (S256 only,
  /o/oauth2/v2/auth approves the test user at once), token endpoint /token for
  authorization_code and refresh_token grants (Google does not rotate refresh
  tokens; a revoked one is invalid_grant).
Drive allows several files with the same name in one folder; so does this server.

Control endpoints (no auth), under /_control/: token, expire_tokens, throttle
{"budget", "window_s"}, fault {"target": "upload"|"api"|"any", "action":
"drop"|"status"|"keep_less", "after_bytes", "status", "reason", "retry_after", "count",
"skip"}, sessions (bytes_accepted, bytes_received, chunks, rejected), stats
(requests, throttled, early, folder_creates, lists), revoke {"refresh_token"}.
Start: gdrive_server.py --port P --data DIR [--token-ttl S] [--page-size N]
       [--latency-ms MS] [--throttle-budget N --throttle-window S]
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import fake_common  # tests/fakes/fake_common.py

CHUNK_UNIT = 256 * 1024
FOLDER_MIME = "application/vnd.google-apps.folder"


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"


def parse_iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class DriveError(Exception):
    def __init__(self, status, reason, message, headers=None):
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, \
            headers or {}


STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                503: "UNAVAILABLE"}


def parse_query(q):
    """files.list q -> list of (field, op, value). Raises DriveError(400) otherwise."""
    toks = []
    i = 0
    while i < len(q):
        c = q[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, out = i + 1, []
            while True:
                if j >= len(q):
                    raise DriveError(400, "invalid", "Invalid Value: unterminated string")
                if q[j] == "\\":
                    if j + 1 >= len(q) or q[j + 1] not in "'\\":
                        raise DriveError(400, "invalid", "Invalid Value: bad escape")
                    out.append(q[j + 1])
                    j += 2
                elif q[j] == "'":
                    break
                else:
                    out.append(q[j])
                    j += 1
            toks.append(("str", "".join(out)))
            i = j + 1
        elif q.startswith("!=", i):
            toks.append(("op", "!="))
            i += 2
        elif c == "=":
            toks.append(("op", "="))
            i += 1
        else:
            m = re.match(r"[A-Za-z]+", q[i:])
            if not m:
                raise DriveError(400, "invalid", f"Invalid Value: unexpected {c!r}")
            toks.append(("word", m.group(0)))
            i += len(m.group(0))
    terms, k = [], 0
    while k < len(toks):
        t = toks[k:k + 3]
        if len(t) == 3 and t[0][0] == "str" and t[1] == ("word", "in") and \
                t[2] == ("word", "parents"):
            terms.append(("parents", "in", t[0][1]))
        elif len(t) == 3 and t[0][0] == "word" and t[1][0] == "op" and \
                t[0][1] in ("name", "mimeType", "trashed"):
            if t[0][1] == "trashed":
                if t[2] not in (("word", "true"), ("word", "false")):
                    raise DriveError(400, "invalid", "Invalid Value: trashed")
                terms.append(("trashed", t[1][1], t[2][1] == "true"))
            else:
                if t[2][0] != "str":
                    raise DriveError(400, "invalid", "Invalid Value: expected a string")
                terms.append((t[0][1], t[1][1], t[2][1]))
        else:
            raise DriveError(400, "invalid", "Invalid Value: unsupported query " + q)
        k += 3
        if k < len(toks):
            if toks[k] != ("word", "and"):
                raise DriveError(400, "invalid", "Invalid Value: only 'and' is supported")
            k += 1
    return terms


class State:
    def __init__(self, data_dir, token_ttl, page_size):
        self.lock = threading.RLock()
        self.data_dir, self.token_ttl, self.page_size = data_dir, token_ttl, page_size
        self.files = {"root": {"id": "root", "name": "My Drive", "mimeType": FOLDER_MIME,
                               "parents": [], "mtime": time.time(), "trashed": False}}
        self.tokens, self.refresh, self.codes = {}, {}, {}
        self.sessions, self.faults = {}, []
        self.budget, self.window_s, self.window_start, self.window_count = 0, 1.0, 0.0, 0
        self.retry_not_before = 0.0
        self.latency_s = 0.0
        self.stats = {"requests": 0, "throttled": 0, "early": 0, "folder_creates": 0,
                      "lists": 0}

    def issue_token(self):
        t = "ya29." + secrets.token_urlsafe(24)
        self.tokens[t] = time.time() + self.token_ttl
        return t


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_VERBOSE"):
            super().log_message(fmt, *args)

    @property
    def st(self):
        return self.server.state

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_empty(self, status, headers=None):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def drive_error(self, e):
        self.send_json(e.status, {"error": {
            "code": e.status, "message": e.message,
            "errors": [{"domain": "usageLimits" if "RateLimit" in e.reason or
                        e.reason == "rateLimitExceeded" else "global",
                        "reason": e.reason, "message": e.message}],
            "status": STATUS_NAMES.get(e.status, "UNKNOWN")}}, e.headers)

    def body(self):
        if getattr(self, "_read", False):
            return b""
        self._read = True
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def base(self):
        return f"http://{self.headers.get('Host')}"

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        self._read = False  # the handler lives as long as the kept-alive connection
        self._keep_less = False
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if url.path.startswith("/_control/"):
                return self.control(url.path[10:])
            if url.path in ("/token", "/o/oauth2/v2/auth"):
                return self.oauth(url.path, q)
            target = "upload" if url.path.startswith("/upload/") else "api"
            if self.fault(target, q):
                return
            self.throttle()
            if target == "upload" and "upload_id" in q:
                return self.chunk(q["upload_id"])
            self.auth()
            if target == "upload":
                return self.start_upload(url.path, q)
            return self.api(url.path, q)
        except DriveError as e:
            self.body()
            self.drive_error(e)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def fault(self, target, q):
        with self.st.lock:
            for f in self.st.faults:
                if f["count"] > 0 and f.get("target", "any") in (target, "any"):
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    f["count"] -= 1
                    fault = dict(f)
                    break
            else:
                return False
        if fault["action"] == "keep_less":
            self._keep_less = True
            return False
        if fault["action"] == "drop":
            n = int(self.headers.get("Content-Length") or 0)
            got = self.rfile.read(min(n, int(fault.get("after_bytes", 0))))
            with self.st.lock:
                s = self.st.sessions.get(q.get("upload_id", ""))
                if s:
                    s["bytes_received"] += len(got)
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        self.body()
        status = int(fault.get("status", 503))
        reason = fault.get("reason") or {429: "rateLimitExceeded", 403: "userRateLimitExceeded"}.get(
            status, "backendError")
        headers = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") else {}
        self.drive_error(DriveError(status, reason, f"Injected fault: {reason}.", headers))
        return True

    def throttle(self):
        wait = fake_common.spend_request(self.st)
        if wait is not None:
            raise DriveError(429, "rateLimitExceeded", "Rate Limit Exceeded",
                             {"Retry-After": str(wait)})

    def auth(self):
        h = self.headers.get("Authorization", "")
        tok = h[7:].strip() if h.startswith("Bearer ") else ""
        with self.st.lock:
            exp = self.st.tokens.get(tok)
        if exp is None or time.time() >= exp:
            raise DriveError(401, "authError",
                             "Request had invalid authentication credentials. Expected OAuth 2 "
                             "access token, login cookie or other valid authentication "
                             "credential.", {"WWW-Authenticate": 'Bearer realm="https://'
                                             'accounts.google.com/", error="invalid_token"'})

    # ------------------------------------------------------------------ control
    def control(self, what):
        st = self.st
        raw = self.body() if self.command == "POST" else b""
        args = json.loads(raw) if raw.strip() else {}
        with st.lock:
            if what == "token":
                return self.send_json(200, {"access_token": st.issue_token(),
                                            "expires_in": st.token_ttl})
            if what == "expire_tokens":
                for t in st.tokens:
                    st.tokens[t] = 0
                return self.send_json(200, {})
            if what == "throttle":
                st.budget, st.window_s = int(args.get("budget", 0)), float(args.get("window_s", 1))
                st.window_start, st.window_count = time.time(), 0
                return self.send_json(200, {})
            if what == "fault":
                args.setdefault("count", 1)
                st.faults.append(args)
                return self.send_json(200, {})
            if what == "revoke":
                st.refresh.pop(args.get("refresh_token", ""), None)
                return self.send_json(200, {})
            if what == "sessions":
                return self.send_json(200, {k: {f: s[f] for f in (
                    "name", "size", "bytes_accepted", "bytes_received", "chunks", "rejected")}
                    for k, s in st.sessions.items()})
            if what == "stats":
                return self.send_json(200, st.stats)
        self.send_json(404, {"error": "unknown control endpoint"})

    # ------------------------------------------------------------------ oauth
    def oauth(self, path, q):
        st = self.st
        if path == "/o/oauth2/v2/auth":
            if q.get("response_type") != "code" or not q.get("client_id"):
                return self.send_json(400, {"error": "invalid_request"})
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return self.send_json(400, {"error": "invalid_request",
                                            "error_description": "code_challenge required"})
            code = "4/" + secrets.token_urlsafe(16)
            with st.lock:
                st.codes[code] = (q["code_challenge"], q.get("redirect_uri", ""))
            return self.send_empty(302, {"Location": q.get("redirect_uri", "") + "?" +
                                         urllib.parse.urlencode({"code": code,
                                                                 "state": q.get("state", ""),
                                                                 "scope": q.get("scope", "")})})
        f = dict(urllib.parse.parse_qsl(self.body().decode(), keep_blank_values=True))
        grant = f.get("grant_type")
        with st.lock:
            if grant == "authorization_code":
                c = st.codes.pop(f.get("code", ""), None)
                want = base64.urlsafe_b64encode(hashlib.sha256(
                    f.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
                if c is None or c[0] != want or c[1] != f.get("redirect_uri", ""):
                    return self.send_json(400, {"error": "invalid_grant",
                                                "error_description": "Bad Request"})
                rt = "1//" + secrets.token_urlsafe(24)
                st.refresh[rt] = True
                return self.send_json(200, {"access_token": st.issue_token(),
                                            "expires_in": st.token_ttl, "refresh_token": rt,
                                            "scope": "https://www.googleapis.com/auth/drive.file",
                                            "token_type": "Bearer"})
            if grant == "refresh_token":
                if f.get("refresh_token") not in st.refresh:
                    return self.send_json(400, {"error": "invalid_grant",
                                                "error_description": "Token has been expired "
                                                "or revoked."})
                st.stats["refreshes"] = st.stats.get("refreshes", 0) + 1
                return self.send_json(200, {"access_token": st.issue_token(),
                                            "expires_in": st.token_ttl,
                                            "scope": "https://www.googleapis.com/auth/drive.file",
                                            "token_type": "Bearer"})
        self.send_json(400, {"error": "unsupported_grant_type"})

    # ------------------------------------------------------------------ files
    def resource(self, f, fields):
        full = {"kind": "drive#file", "id": f["id"], "name": f["name"],
                "mimeType": f["mimeType"], "parents": f["parents"],
                "modifiedTime": iso(f["mtime"]), "trashed": f["trashed"]}
        if f["mimeType"] != FOLDER_MIME:
            full["size"] = str(f["size"])
            full["md5Checksum"] = f["md5"]
        if not fields:
            return {k: full[k] for k in ("kind", "id", "name", "mimeType")}
        if fields == "*":
            return full
        return {k: full[k] for k in fields if k in full}

    @staticmethod
    def fields_of(spec, inner="files"):
        """'nextPageToken,files(id,name)' -> the names inside files(...), or the list."""
        if not spec:
            return None
        m = re.search(inner + r"\(([^)]*)\)", spec)
        if m:
            return [x.strip() for x in m.group(1).split(",")]
        return [x.strip() for x in spec.split(",")]

    def get_file(self, fid):
        f = self.st.files.get(fid)
        if f is None or (f["trashed"] and fid != "root"):
            raise DriveError(404, "notFound", f"File not found: {fid}.")
        return f

    def api(self, path, q):
        st = self.st
        m = re.fullmatch(r"/drive/v3/files(?:/([^/]+))?", path)
        if not m:
            raise DriveError(404, "notFound", "Not Found")
        fid = urllib.parse.unquote(m.group(1)) if m.group(1) else None
        if fid is None and self.command == "GET":
            return self.list(q)
        if fid is None and self.command == "POST":
            meta = json.loads(self.body() or b"{}")
            if meta.get("mimeType") != FOLDER_MIME:
                raise DriveError(400, "badContent",
                                 "Only folders are created without content here.")
            with st.lock:
                st.stats["folder_creates"] += 1
                parents = meta.get("parents") or ["root"]
                for p in parents:
                    if self.get_file(p)["mimeType"] != FOLDER_MIME:
                        raise DriveError(400, "invalidParent", "The parent is not a folder.")
                fid = secrets.token_urlsafe(24)
                st.files[fid] = {"id": fid, "name": meta.get("name", "Untitled"),
                                 "mimeType": FOLDER_MIME, "parents": parents,
                                 "mtime": time.time(), "trashed": False}
                return self.send_json(200, self.resource(st.files[fid],
                                                         self.fields_of(q.get("fields"))))
        with st.lock:
            f = self.get_file(fid)
            if self.command == "GET" and q.get("alt") == "media":
                if f["mimeType"] == FOLDER_MIME:
                    raise DriveError(403, "fileNotDownloadable", "Only files with binary "
                                     "content can be downloaded.")
                blob, size = f.get("blob"), f["size"]
            elif self.command == "GET":
                return self.send_json(200, self.resource(f, self.fields_of(q.get("fields"))))
            elif self.command == "DELETE":
                self.delete(fid)
                return self.send_empty(204)
            else:
                raise DriveError(405, "methodNotAllowed", "Method not allowed")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if size:
            with open(blob, "rb") as fh:
                while True:
                    piece = fh.read(1 << 20)
                    if not piece:
                        break
                    self.wfile.write(piece)

    def delete(self, fid):
        st = self.st
        f = st.files.pop(fid)
        for k in [k for k, v in st.files.items() if fid in v["parents"]]:
            if k in st.files:
                self.delete(k)
        if f.get("blob"):
            try:
                os.unlink(f["blob"])
            except OSError:
                pass

    def list(self, q):
        st = self.st
        terms = parse_query(q.get("q", ""))
        size = min(int(q.get("pageSize", 100)), 1000, st.page_size)
        with st.lock:
            st.stats["lists"] += 1
            out = []
            for f in st.files.values():
                if f["id"] == "root":
                    continue
                ok = True
                for field, op, val in terms:
                    if field == "parents":
                        ok &= val in f["parents"] or (val == "root" and "root" in f["parents"])
                    elif field == "trashed":
                        ok &= (f["trashed"] == val) == (op == "=")
                    else:
                        ok &= (f[field] == val) == (op == "=")
                if ok:
                    out.append(f)
            out.sort(key=lambda f: (f["name"], f["id"]))
            start = int(q.get("pageToken") or 0)
            page = out[start:start + size]
            res = {"kind": "drive#fileList", "incompleteSearch": False,
                   "files": [self.resource(f, self.fields_of(q.get("fields"))) for f in page]}
            if start + size < len(out):
                res["nextPageToken"] = str(start + size)
            return self.send_json(200, res)

    # ------------------------------------------------------------------ uploads
    def start_upload(self, path, q):
        st = self.st
        if q.get("uploadType") != "resumable":
            raise DriveError(400, "badRequest", "Only uploadType=resumable is served here.")
        m = re.fullmatch(r"/upload/drive/v3/files(?:/([^/]+))?", path)
        if not m:
            raise DriveError(404, "notFound", "Not Found")
        fid = m.group(1)
        if (fid is None) != (self.command == "POST") or self.command not in ("POST", "PATCH"):
            raise DriveError(400, "badRequest", "POST creates, PATCH /files/ID updates.")
        meta = json.loads(self.body() or b"{}")
        length = self.headers.get("X-Upload-Content-Length")
        with st.lock:
            if fid is not None:
                target = self.get_file(fid)
                if target["mimeType"] == FOLDER_MIME:
                    raise DriveError(400, "badRequest", "A folder has no content.")
                parents = target["parents"]
                name = meta.get("name", target["name"])
            else:
                parents = meta.get("parents") or ["root"]
                for p in parents:
                    if self.get_file(p)["mimeType"] != FOLDER_MIME:
                        raise DriveError(400, "invalidParent", "The parent is not a folder.")
                name = meta.get("name", "Untitled")
            sid = secrets.token_urlsafe(24)
            st.sessions[sid] = {
                "file": fid, "name": name, "parents": parents,
                "mtime": parse_iso(meta["modifiedTime"]) if "modifiedTime" in meta else None,
                "size": int(length) if length is not None else None, "next": 0,
                "blob": os.path.join(st.data_dir, "up-" + sid), "md5": hashlib.md5(),
                "bytes_accepted": 0, "bytes_received": 0, "chunks": [], "rejected": 0,
                "done": None, "fields": self.fields_of(q.get("fields"))}
            open(st.sessions[sid]["blob"], "wb").close()
        loc = f"{self.base()}/upload/drive/v3/files?uploadType=resumable&upload_id={sid}"
        self.send_empty(200, {"Location": loc})

    def incomplete(self, s):
        h = {"Range": f"bytes=0-{s['next'] - 1}"} if s["next"] else {}
        self.send_empty(308, h)

    def chunk(self, sid):
        st = self.st
        with st.lock:
            s = st.sessions.get(sid)
        if s is None:
            raise DriveError(404, "notFound", "The upload session was not found or expired.")
        if self.command != "PUT":
            raise DriveError(400, "badRequest", "Chunks are sent with PUT.")
        if s["done"] is not None:
            self.body()
            return self.send_json(200, s["done"])
        cr = self.headers.get("Content-Range", "")
        n = int(self.headers.get("Content-Length") or 0)
        m = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", cr.strip())
        if not m:
            s["rejected"] += 1
            raise DriveError(400, "badContent", f"Invalid Content-Range '{cr}'.")
        total = None if m.group(3) == "*" else int(m.group(3))
        if total is not None and s["size"] is not None and total != s["size"]:
            s["rejected"] += 1
            raise DriveError(400, "badContent", "The total size differs from "
                             "X-Upload-Content-Length.")
        if m.group(1) is None:  # status query, or the end of an empty upload
            if n:
                s["rejected"] += 1
                raise DriveError(400, "badContent", "A status query has no body.")
            if total is not None and total == s["next"]:
                s["size"] = total
                return self.finish_upload(sid, s)
            return self.incomplete(s)
        a, b = int(m.group(1)), int(m.group(2))
        length = b - a + 1
        if b < a or n != length or (total is not None and b >= total):
            s["rejected"] += 1
            raise DriveError(400, "badContent", "Content-Range does not match the body.")
        if a != s["next"]:
            s["rejected"] += 1
            raise DriveError(400, "badContent", f"The chunk starts at {a} but the server "
                             f"has {s['next']} bytes; query the status and resume there.")
        final = total is not None and b + 1 == total
        if not final and length % CHUNK_UNIT:
            s["rejected"] += 1
            raise DriveError(400, "badContent", "Every chunk but the last must be a "
                             "multiple of 256 KiB (262144 bytes).")
        remaining = length
        with open(s["blob"], "r+b") as fh:
            fh.seek(a)
            while remaining:
                piece = self.rfile.read(min(remaining, 1 << 20))
                if not piece:
                    self.close_connection = True
                    return
                s["bytes_received"] += len(piece)
                fh.write(piece)
                remaining -= len(piece)
        self._read = True
        if self._keep_less and length > CHUNK_UNIT:
            # Injected: the server persisted only the first 256 KiB (308 says so).
            length, b, final = CHUNK_UNIT, a + CHUNK_UNIT - 1, False
        with open(s["blob"], "rb") as fh:
            fh.seek(a)
            left = length
            while left:
                piece = fh.read(min(left, 1 << 22))
                s["md5"].update(piece)
                left -= len(piece)
        with st.lock:
            s["next"] = b + 1
            s["bytes_accepted"] += length
            s["chunks"].append([a, b])
            if not final:
                return self.incomplete(s)
            s["size"] = total
        return self.finish_upload(sid, s)

    def finish_upload(self, sid, s):
        st = self.st
        with st.lock:
            md5 = s["md5"].hexdigest()
            mtime = s["mtime"] or time.time()
            if s["file"] is not None:
                f = st.files.get(s["file"])
                if f is None:
                    raise DriveError(404, "notFound", "The file was deleted during the upload.")
                if f.get("blob"):
                    try:
                        os.unlink(f["blob"])
                    except OSError:
                        pass
                f.update(blob=s["blob"], size=s["size"], md5=md5, mtime=mtime, name=s["name"])
                status = 200
            else:
                fid = secrets.token_urlsafe(24)
                f = {"id": fid, "name": s["name"], "mimeType": "application/octet-stream",
                     "parents": s["parents"], "mtime": mtime, "trashed": False,
                     "blob": s["blob"], "size": s["size"], "md5": md5}
                st.files[fid] = f
                status = 200
            s["done"] = self.resource(f, s["fields"] or "*")
            return self.send_json(status, s["done"])


def main():
    ap = argparse.ArgumentParser()
    fake_common.add_server_args(ap, page_size=100)
    a = ap.parse_args()
    fake_common.serve(a, Handler, State(a.data, a.token_ttl, a.page_size))


if __name__ == "__main__":
    main()
