#!/usr/bin/env python3
"""A local Google Photos Library API (with Google OAuth 2.0) for tests.

Python 3 standard library only. It follows these pages of
developers.google.com/photos, and where a rule is unclear the stricter reading wins:

- library/guides/upload-media: two steps, bytes to /v1/uploads (an upload token
  as the raw text body), then mediaItems:batchCreate; accepted types and sizes
  (photos 200 MB, videos 20 GB: refused here at upload start by raw size, and
  at batchCreate); upload tokens are valid for one day and used once.
- library/guides/resumable-uploads: POST /v1/uploads with X-Goog-Upload-Protocol:
  resumable, X-Goog-Upload-Command: start, X-Goog-Upload-Content-Type and
  X-Goog-Upload-Raw-Size (all REQUIRED here) answers X-Goog-Upload-URL and
  X-Goog-Upload-Chunk-Granularity; chunks are POSTed to that URL with
  X-Goog-Upload-Command: upload (or "upload, finalize" for the last) and
  X-Goog-Upload-Offset, which must equal the bytes received so far (400
  otherwise); every chunk but the last must be a multiple of the granularity
  (400 otherwise; strict reading); "query" answers X-Goog-Upload-Status
  (active|final) and X-Goog-Upload-Size-Received. A chunk cut short by a
  dropped connection is discarded whole (the stricter reading).
- library/guides/manage-albums, library/reference/rest/v1/albums (create, get,
  list (pageSize at most 50; app-created albums only), batchAddMediaItems,
  batchRemoveMediaItems): items may be added only to albums
  the app created, at most 50 ids per call, at most 20,000 items per album
  (--album-limit lowers it for tests; over it the call is refused: 400
  INVALID_ARGUMENT "... the album's limit of N media items").
- library/reference/rest/v1/mediaItems (batchCreate, get, list, search, patch):
  at most 50 newMediaItems per call; per-item results newMediaItemResults[] with
  a google.rpc.Status (code 3 for an unsupported or empty file, a refused upload
  token); descriptions at most 1,000 characters; list/search pageSize at most
  100. "Call batchCreate one at a time per user" (upload best practices) is read
  strictly: a batchCreate for a user while another for the same user runs is
  refused with 429 RESOURCE_EXHAUSTED and counted (stats.concurrent_batch_create).
- library/guides/list (app-created only): with the 2025 scopes, list/get/search
  see only media items and albums this app created.
- overview/authorization (the scopes since 31 March 2025): appendonly uploads,
  creates items and albums and adds to app-created albums; readonly.appcreateddata
  lists/gets/searches app-created items and albums; edit.appcreateddata patches
  descriptions and adds/removes items of app-created albums. A call without its
  scope: 403 PERMISSION_DENIED "Request had insufficient authentication scopes."
- library/guides/api-limits-quotas: 10,000 Library API requests per project per
  day (--daily-budget; over it 429 RESOURCE_EXHAUSTED without Retry-After);
  requests for media bytes (baseUrl) are not counted.
- Google OAuth 2.0 for installed apps, as tests/fakes/gdrive_server.py: code with
  PKCE (S256 only), refresh_token grant, expiring access tokens (--token-ttl).
A file type the fake cannot judge (it does not sniff content; the shared
conformance suite sends random bytes) is accepted unless its extension is a known
document or archive type (txt, pdf, doc, docx, zip, exe, html, json).

Control endpoints (no auth), under /_control/: token {"user", "scopes"},
expire_tokens, expire_upload_tokens, budget {"daily_budget", "reset"}, fault
{"target": "upload"|"api"|"any", "path" (only requests to it), "action":
"drop"|"status", "after_bytes", "status", "count", "skip"}, redirect_downloads {"on"}, sessions, stats,
library?user=U (items and albums with their contents), blob/<id> (the stored
bytes), seed_user_item {"user"} (an item the app did not create), delete_album
{"user", "id"} (as if the user deleted it in the app).
Start: gphotos_server.py --port P --data DIR [--token-ttl S] [--latency-ms MS]
       [--daily-budget N] [--album-limit N] [--granularity BYTES]
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_common  # tests/fakes/fake_common.py

SCOPE = "https://www.googleapis.com/auth/photoslibrary."
APPEND, READ_APP, EDIT_APP = SCOPE + "appendonly", SCOPE + "readonly.appcreateddata", \
    SCOPE + "edit.appcreateddata"
ALL_SCOPES = [APPEND, READ_APP, EDIT_APP]
PHOTO_MAX, VIDEO_MAX = 200 * 1000 * 1000, 20 * 1000 * 1000 * 1000
VIDEO_EXT = {"3gp", "3g2", "asf", "avi", "divx", "m2t", "m2ts", "m4v", "mkv", "mmv", "mod",
             "mov", "mp4", "mpg", "mpeg", "mts", "tod", "wmv"}
REFUSED_EXT = {"txt", "pdf", "doc", "docx", "zip", "exe", "html", "json"}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                503: "UNAVAILABLE"}


def ext_of(name):
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class State:
    def __init__(self, a):
        self.lock = threading.RLock()
        self.data_dir, self.token_ttl = a.data, a.token_ttl
        self.latency_s = a.latency_ms / 1000.0
        self.daily_budget, self.used = a.daily_budget, 0
        self.album_limit, self.granularity = a.album_limit, a.granularity
        self.tokens = {}   # access token -> (user, scopes, expiry)
        self.refresh = {}  # refresh token -> (user, scopes)
        self.codes = {}
        self.sessions, self.upload_tokens = {}, {}
        self.items, self.albums = {}, {}  # id -> dict
        self.faults = []
        self.in_flight = {}  # user -> running batchCreate calls
        self.redirect_downloads = False
        self.stats = {"requests": 0, "counted": 0, "over_budget": 0, "batch_create_calls": 0,
                      "batch_create_items": 0, "concurrent_batch_create": 0,
                      "max_batch_in_flight": 0, "uploads_started": 0, "bytes_received": 0,
                      "albums_created": 0, "refreshes": 0, "downloads": 0}

    def issue_token(self, user, scopes):
        t = "ya29." + secrets.token_urlsafe(24)
        self.tokens[t] = (user, list(scopes), time.time() + self.token_ttl)
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

    def send_text(self, status, text, headers=None):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def api_error(self, e):
        self.send_json(e.status, {"error": {"code": e.status, "message": e.message,
                                            "status": STATUS_NAMES.get(e.status, "UNKNOWN")}},
                       e.headers)

    def body(self):
        if self._read:
            return b""
        self._read = True
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def json_body(self):
        raw = self.body()
        try:
            j = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received.")
        if not isinstance(j, dict):
            raise ApiError(400, "Invalid JSON payload received.")
        return j

    def base(self):
        return f"http://{self.headers.get('Host')}"

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = lambda self: self.dispatch()

    def dispatch(self):
        self._read = False
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if url.path.startswith("/_control/"):
                return self.control(url.path[10:], q)
            if url.path in ("/token", "/o/oauth2/v2/auth"):
                return self.oauth(url.path, q)
            if url.path.startswith("/lh3/") or url.path.startswith("/content/"):
                return self.download(url.path)
            target = "upload" if url.path == "/v1/uploads" else "api"
            if self.fault(target, url.path):
                return
            if self.st.latency_s:
                time.sleep(self.st.latency_s)
            user, scopes = self.auth()
            self.count()
            if target == "upload":
                return self.upload(user, scopes, q)
            return self.api(url.path, q, user, scopes)
        except ApiError as e:
            self.body()
            self.api_error(e)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def fault(self, target, path):
        with self.st.lock:
            for f in self.st.faults:
                if f["count"] > 0 and f.get("target", "any") in (target, "any") and \
                        f.get("path", path) == path:
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    f["count"] -= 1
                    fault = dict(f)
                    break
            else:
                return False
        if fault["action"] == "drop":
            n = int(self.headers.get("Content-Length") or 0)
            got = self.rfile.read(min(n, int(fault.get("after_bytes", 0))))
            with self.st.lock:
                self.st.stats["bytes_received"] += len(got)
                sid = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get(
                    "upload_id", [""])[0]
                if sid in self.st.sessions:
                    self.st.sessions[sid]["bytes_received"] += len(got)
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        self.body()
        status = int(fault.get("status", 503))
        self.api_error(ApiError(status, "Injected fault.",
                                {"Retry-After": str(fault["retry_after"])}
                                if fault.get("retry_after") else {}))
        return True

    def auth(self):
        h = self.headers.get("Authorization", "")
        tok = h[7:].strip() if h.startswith("Bearer ") else ""
        with self.st.lock:
            t = self.st.tokens.get(tok)
        if t is None or time.time() >= t[2]:
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth "
                           "2 access token, login cookie or other valid authentication "
                           "credential.", {"WWW-Authenticate": 'Bearer realm="https://accounts.'
                                           'google.com/", error="invalid_token"'})
        return t[0], t[1]

    def count(self):
        st = self.st
        with st.lock:
            st.stats["requests"] += 1
            if st.daily_budget and st.used >= st.daily_budget:
                st.stats["over_budget"] += 1
                raise ApiError(429, "Quota exceeded for quota metric 'All requests' and limit "
                               "'All requests per day' of service "
                               "'photoslibrary.googleapis.com'.")
            st.used += 1
            st.stats["counted"] += 1

    @staticmethod
    def need(scopes, *any_of):
        if not any(s in scopes for s in any_of):
            raise ApiError(403, "Request had insufficient authentication scopes.")

    # ------------------------------------------------------------------ control
    def control(self, what, q):
        st = self.st
        raw = self.body() if self.command == "POST" else b""
        args = json.loads(raw) if raw.strip() else {}
        with st.lock:
            if what == "token":
                scopes = args.get("scopes", ALL_SCOPES)
                return self.send_json(200, {"access_token": st.issue_token(
                    args.get("user", "default"), scopes), "expires_in": st.token_ttl})
            if what == "expire_tokens":
                for t, v in st.tokens.items():
                    st.tokens[t] = (v[0], v[1], 0)
                return self.send_json(200, {})
            if what == "expire_upload_tokens":
                for t in st.upload_tokens.values():
                    t["expires"] = 0
                return self.send_json(200, {"expired": len(st.upload_tokens)})
            if what == "budget":
                st.daily_budget = int(args.get("daily_budget", st.daily_budget))
                if args.get("reset"):
                    st.used = 0
                return self.send_json(200, {"used": st.used, "daily_budget": st.daily_budget})
            if what == "fault":
                args.setdefault("count", 1)
                st.faults.append(args)
                return self.send_json(200, {})
            if what == "redirect_downloads":
                st.redirect_downloads = bool(args.get("on", True))
                return self.send_json(200, {})
            if what == "sessions":
                return self.send_json(200, {k: {f: s[f] for f in (
                    "user", "file_name", "size", "received", "bytes_received", "chunks",
                    "rejected", "final")} for k, s in st.sessions.items()})
            if what == "stats":
                return self.send_json(200, st.stats)
            if what == "library":
                user = q.get("user", "default")
                items = [{k: v for k, v in it.items() if k != "blob"}
                         for it in st.items.values() if it["user"] == user]
                albums = [{"id": a["id"], "title": a["title"], "items": list(a["items"]),
                           "app_created": a["app_created"]}
                          for a in st.albums.values() if a["user"] == user]
                return self.send_json(200, {"items": items, "albums": albums})
            if what.startswith("blob/"):
                it = st.items.get(what[5:])
                if it is None:
                    return self.send_json(404, {"error": "no such item"})
                with open(it["blob"], "rb") as fh:
                    data = fh.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            if what == "seed_user_item":
                iid = "U" + secrets.token_urlsafe(16)
                blob = os.path.join(st.data_dir, "item-" + iid)
                with open(blob, "wb") as fh:
                    fh.write(b"user photo")
                st.items[iid] = {"id": iid, "user": args.get("user", "default"),
                                 "filename": "user.jpg", "description": "",
                                 "mime": "image/jpeg", "size": 10, "blob": blob,
                                 "sha256": hashlib.sha256(b"user photo").hexdigest(),
                                 "app_created": False, "created": time.time()}
                return self.send_json(200, {"id": iid})
            if what == "delete_album":
                st.albums.pop(args.get("id", ""), None)
                return self.send_json(200, {})
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
            scopes = [s for s in q.get("scope", "").split() if s]
            if not scopes or any(s not in ALL_SCOPES for s in scopes):
                return self.send_json(400, {"error": "invalid_scope",
                                            "error_description": "Some requested scopes were "
                                            "invalid: " + q.get("scope", "")})
            code = "4/" + secrets.token_urlsafe(16)
            with st.lock:
                st.codes[code] = (q["code_challenge"], q.get("redirect_uri", ""), scopes)
            return self.send_text(302, "", {"Location": q.get("redirect_uri", "") + "?" +
                                            urllib.parse.urlencode({
                                                "code": code, "state": q.get("state", ""),
                                                "scope": " ".join(scopes)})})
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
                st.refresh[rt] = ("default", c[2])
                return self.send_json(200, {"access_token": st.issue_token("default", c[2]),
                                            "expires_in": st.token_ttl, "refresh_token": rt,
                                            "scope": " ".join(c[2]), "token_type": "Bearer"})
            if grant == "refresh_token":
                r = st.refresh.get(f.get("refresh_token"))
                if r is None:
                    return self.send_json(400, {"error": "invalid_grant",
                                                "error_description": "Token has been expired "
                                                "or revoked."})
                st.stats["refreshes"] += 1
                return self.send_json(200, {"access_token": st.issue_token(r[0], r[1]),
                                            "expires_in": st.token_ttl, "scope": " ".join(r[1]),
                                            "token_type": "Bearer"})
        self.send_json(400, {"error": "unsupported_grant_type"})

    # ------------------------------------------------------------------ uploads
    def upload(self, user, scopes, q):
        self.need(scopes, APPEND)
        st = self.st
        if self.command != "POST":
            raise ApiError(405, "Method not allowed.")
        cmd = [c.strip() for c in (self.headers.get("X-Goog-Upload-Command") or "").split(",")]
        sid = q.get("upload_id")
        if sid is None:
            return self.start(user, cmd)
        with st.lock:
            s = st.sessions.get(sid)
        if s is None or s["user"] != user:
            raise ApiError(404, "The upload session was not found or has expired.")
        if cmd == ["query"]:
            self.body()
            return self.send_text(200, "", {"X-Goog-Upload-Status":
                                            "final" if s["final"] else "active",
                                            "X-Goog-Upload-Size-Received": str(s["received"])})
        if s["final"]:
            raise ApiError(400, "The upload session is already finalized.")
        if cmd not in (["upload"], ["upload", "finalize"], ["finalize"]):
            raise ApiError(400, "Unknown X-Goog-Upload-Command: " +
                           str(self.headers.get("X-Goog-Upload-Command")))
        n = int(self.headers.get("Content-Length") or 0)
        offset = self.headers.get("X-Goog-Upload-Offset")
        if cmd != ["finalize"] or n:
            if offset is None or not offset.isdigit():
                s["rejected"] += 1
                raise ApiError(400, "X-Goog-Upload-Offset is required.")
            if int(offset) != s["received"]:
                s["rejected"] += 1
                raise ApiError(400, f"X-Goog-Upload-Offset {offset} differs from the "
                               f"{s['received']} bytes received; query and resume there.")
        final = "finalize" in cmd
        if not final and n % st.granularity:
            s["rejected"] += 1
            raise ApiError(400, f"A chunk that is not the last must be a multiple of "
                           f"{st.granularity} bytes.")
        if s["received"] + n > s["size"] or (final and s["received"] + n != s["size"]):
            s["rejected"] += 1
            raise ApiError(400, "The bytes sent do not add up to X-Goog-Upload-Raw-Size.")
        got, tmp = 0, s["blob"] + ".part"
        with open(tmp, "wb") as fh:
            while got < n:
                piece = self.rfile.read(min(n - got, 1 << 20))
                if not piece:
                    break
                got += len(piece)
                fh.write(piece)
        self._read = True
        with st.lock:
            s["bytes_received"] += got
            st.stats["bytes_received"] += got
        if got < n:  # cut short: the whole chunk is discarded
            self.close_connection = True
            return None
        with open(tmp, "rb") as fin, open(s["blob"], "ab") as fout:
            while True:
                piece = fin.read(1 << 22)
                if not piece:
                    break
                s["sha"].update(piece)
                fout.write(piece)
        os.unlink(tmp)
        with st.lock:
            s["chunks"].append([s["received"], s["received"] + n])
            s["received"] += n
            if not final:
                return self.send_text(200, "", {"X-Goog-Upload-Status": "active"})
            s["final"] = True
            token = "CAIS" + secrets.token_urlsafe(32)
            st.upload_tokens[token] = {"session": sid, "user": user,
                                       "expires": time.time() + 86400, "used": False}
        return self.send_text(200, token, {"X-Goog-Upload-Status": "final"})

    def start(self, user, cmd):
        st = self.st
        h = self.headers
        if h.get("X-Goog-Upload-Protocol") != "resumable" or cmd != ["start"]:
            raise ApiError(400, "Only resumable uploads (X-Goog-Upload-Protocol: resumable, "
                           "X-Goog-Upload-Command: start) are served here.")
        ctype, size = h.get("X-Goog-Upload-Content-Type"), h.get("X-Goog-Upload-Raw-Size")
        if not ctype or size is None or not size.isdigit():
            raise ApiError(400, "X-Goog-Upload-Content-Type and X-Goog-Upload-Raw-Size are "
                           "required.")
        if self.body():
            raise ApiError(400, "The start request has no body.")
        name = urllib.parse.unquote(h.get("X-Goog-Upload-File-Name") or "")
        video = ctype.startswith("video/") or ext_of(name) in VIDEO_EXT
        if int(size) > (VIDEO_MAX if video else PHOTO_MAX):
            raise ApiError(400, "The file is larger than Google Photos accepts "
                           f"({'20 GB for videos' if video else '200 MB for photos'}).")
        sid = secrets.token_urlsafe(24)
        with st.lock:
            st.stats["uploads_started"] += 1
            st.sessions[sid] = {"user": user, "file_name": name, "size": int(size),
                                "mime": ctype, "received": 0, "bytes_received": 0,
                                "chunks": [], "rejected": 0, "final": False,
                                "sha": hashlib.sha256(),
                                "blob": os.path.join(st.data_dir, "up-" + sid)}
            open(st.sessions[sid]["blob"], "wb").close()
        url = f"{self.base()}/v1/uploads?upload_id={sid}&upload_protocol=resumable"
        self.send_text(200, "", {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active",
                                 "X-Goog-Upload-Chunk-Granularity": str(st.granularity)})

    # ------------------------------------------------------------------ api
    def resource(self, it):
        video = it["mime"].startswith("video/")
        created = datetime.datetime.fromtimestamp(it["created"], datetime.timezone.utc)
        meta = {"creationTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "width": "640",
                "height": "480"}
        meta["video" if video else "photo"] = {"status": "READY"} if video else {}
        return {"id": it["id"], "description": it["description"],
                "productUrl": f"https://photos.google.com/lr/photo/{it['id']}",
                "baseUrl": f"{self.base()}/lh3/{it['id']}", "mimeType": it["mime"],
                "mediaMetadata": meta, "filename": it["filename"]}

    def album_resource(self, a):
        return {"id": a["id"], "title": a["title"],
                "productUrl": f"https://photos.google.com/lr/album/{a['id']}",
                "isWriteable": a["app_created"], "mediaItemsCount": str(len(a["items"]))}

    def app_item(self, user, iid):
        it = self.st.items.get(iid)
        if it is None or it["user"] != user or not it["app_created"]:
            raise ApiError(404, "Requested entity was not found.")
        return it

    def app_album(self, user, aid):
        a = self.st.albums.get(aid)
        if a is None or a["user"] != user:
            raise ApiError(404, "Requested entity was not found.")
        if not a["app_created"]:
            raise ApiError(403, "No permission to add media items to this album.")
        return a

    def page(self, items, size, token, key):
        size = int(size or 25)
        if size < 1 or size > 100:
            raise ApiError(400, "pageSize must be between 1 and 100.")
        start = int(token) if token and token.isdigit() else 0
        out = {key: [self.resource(it) for it in items[start:start + size]]}
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    def api(self, path, q, user, scopes):
        st = self.st
        m = re.fullmatch(r"/v1/(mediaItems|albums)(?:/([^/:]+))?(?::(\w+))?", path)
        if not m:
            raise ApiError(404, "Not Found")
        kind, rid, verb = m.group(1), m.group(2), m.group(3)
        rid = urllib.parse.unquote(rid) if rid else None
        cmd = self.command
        if kind == "mediaItems" and verb == "batchCreate" and cmd == "POST":
            self.need(scopes, APPEND)
            return self.batch_create(user, self.json_body())
        if kind == "mediaItems" and verb == "search" and cmd == "POST":
            self.need(scopes, READ_APP)
            j = self.json_body()
            with st.lock:
                a = st.albums.get(j.get("albumId", ""))
                if a is None or a["user"] != user or not a["app_created"]:
                    raise ApiError(404, "Requested entity was not found.")
                items = [st.items[i] for i in a["items"] if i in st.items]
                return self.send_json(200, self.page(items, j.get("pageSize"),
                                                     j.get("pageToken"), "mediaItems"))
        if kind == "mediaItems" and rid is None and verb is None and cmd == "GET":
            self.need(scopes, READ_APP)
            with st.lock:
                items = sorted((it for it in st.items.values()
                                if it["user"] == user and it["app_created"]),
                               key=lambda it: (it["created"], it["id"]))
                return self.send_json(200, self.page(items, q.get("pageSize"),
                                                     q.get("pageToken"), "mediaItems"))
        if kind == "mediaItems" and rid and verb is None and cmd == "GET":
            self.need(scopes, READ_APP)
            with st.lock:
                return self.send_json(200, self.resource(self.app_item(user, rid)))
        if kind == "mediaItems" and rid and verb is None and cmd == "PATCH":
            self.need(scopes, EDIT_APP)
            if q.get("updateMask") != "description":
                raise ApiError(400, "updateMask must be 'description'.")
            j = self.json_body()
            d = j.get("description", "")
            if not isinstance(d, str) or len(d) > 1000:
                raise ApiError(400, "The description must be at most 1000 characters.")
            with st.lock:
                it = self.app_item(user, rid)
                it["description"] = d
                return self.send_json(200, self.resource(it))
        if kind == "albums" and rid is None and verb is None and cmd == "POST":
            self.need(scopes, APPEND)
            title = self.json_body().get("album", {}).get("title", "")
            if not title or len(title) > 500:
                raise ApiError(400, "An album title is required (at most 500 characters).")
            with st.lock:
                aid = "A" + secrets.token_urlsafe(24)
                st.albums[aid] = {"id": aid, "user": user, "title": title, "items": [],
                                  "app_created": True}
                st.stats["albums_created"] += 1
                return self.send_json(200, self.album_resource(st.albums[aid]))
        if kind == "albums" and rid is None and verb is None and cmd == "GET":
            # albums.list: pageSize at most 50 (default 20); with the 2025
            # scopes only the albums this app created are listed.
            self.need(scopes, READ_APP)
            size = int(q.get("pageSize") or 20)
            if size < 1 or size > 50:
                raise ApiError(400, "pageSize must be between 1 and 50.")
            token = q.get("pageToken") or ""
            start = int(token) if token.isdigit() else 0
            with st.lock:
                mine = [a for a in st.albums.values() if a["user"] == user and a["app_created"]]
                st.stats["albums_listed"] = st.stats.get("albums_listed", 0) + 1
                out = {"albums": [self.album_resource(a) for a in mine[start:start + size]]}
                if start + size < len(mine):
                    out["nextPageToken"] = str(start + size)
                return self.send_json(200, out)
        if kind == "albums" and rid and verb is None and cmd == "GET":
            self.need(scopes, READ_APP)
            with st.lock:
                return self.send_json(200, self.album_resource(self.app_album(user, rid)))
        if kind == "albums" and rid and verb in ("batchAddMediaItems", "batchRemoveMediaItems") \
                and cmd == "POST":
            add = verb == "batchAddMediaItems"
            self.need(scopes, *((APPEND, EDIT_APP) if add else (EDIT_APP,)))
            ids = self.json_body().get("mediaItemIds", [])
            if not isinstance(ids, list) or not ids or len(ids) > 50:
                raise ApiError(400, "mediaItemIds must hold 1 to 50 ids.")
            with st.lock:
                a = self.app_album(user, rid)
                for i in ids:
                    self.app_item(user, i)
                if add:
                    new = [i for i in ids if i not in a["items"]]
                    if len(a["items"]) + len(new) > st.album_limit:
                        raise ApiError(400, "Request would exceed the album's limit of "
                                       f"{st.album_limit} media items.")
                    a["items"].extend(new)
                else:
                    if any(i not in a["items"] for i in ids):
                        raise ApiError(400, "A media item is not in the album.")
                    a["items"] = [i for i in a["items"] if i not in ids]
                return self.send_json(200, {})
        raise ApiError(404, "Not Found")

    def batch_create(self, user, j):
        st = self.st
        with st.lock:
            st.stats["batch_create_calls"] += 1
            if st.in_flight.get(user, 0):
                st.stats["concurrent_batch_create"] += 1
                raise ApiError(429, "Concurrent mediaItems.batchCreate calls for one user: call "
                               "it one at a time.", {"Retry-After": "1"})
            st.in_flight[user] = 1
            st.stats["max_batch_in_flight"] = max(st.stats["max_batch_in_flight"], 1)
        try:
            time.sleep(st.latency_s)  # the call takes time: overlapping calls would show
            new = j.get("newMediaItems")
            if not isinstance(new, list) or not new or len(new) > 50:
                raise ApiError(400, "newMediaItems must hold 1 to 50 items.")
            with st.lock:
                album = None
                if j.get("albumId"):
                    album = st.albums.get(j["albumId"])
                    if album is None or album["user"] != user:
                        raise ApiError(404, "Requested entity was not found. (albumId)")
                    if not album["app_created"]:
                        raise ApiError(403, "No permission to add media items to this album.")
                    if len(album["items"]) + len(new) > st.album_limit:
                        raise ApiError(400, "Request would exceed the album's limit of "
                                       f"{st.album_limit} media items.")
                results = [self.create_one(user, n, album) for n in new]
                st.stats["batch_create_items"] += len(new)
            return self.send_json(200, {"newMediaItemResults": results})
        finally:
            with st.lock:
                st.in_flight[user] = 0

    def create_one(self, user, n, album):
        st = self.st
        simple = n.get("simpleMediaItem") or {}
        token = simple.get("uploadToken", "")
        name = simple.get("fileName", "")
        desc = n.get("description", "")

        def fail(code, message):
            return {"uploadToken": token, "status": {"code": code, "message": message}}
        t = st.upload_tokens.get(token)
        if t is None or t["user"] != user or t["used"] or time.time() >= t["expires"]:
            return fail(3, "Failed: The upload token is invalid or has expired.")
        if len(desc) > 1000:
            return fail(3, "The description must be at most 1000 characters.")
        s = st.sessions[t["session"]]
        name = name or s["file_name"]
        video = s["mime"].startswith("video/") or ext_of(name) in VIDEO_EXT
        if s["size"] == 0 or ext_of(name) in REFUSED_EXT:
            return fail(3, "Failed: There was an error while trying to create this media "
                        "item. (unsupported file type)")
        if s["size"] > (VIDEO_MAX if video else PHOTO_MAX):
            return fail(3, "Failed: the file is too large.")
        t["used"] = True
        iid = "M" + secrets.token_urlsafe(24)
        blob = os.path.join(st.data_dir, "item-" + iid)
        os.rename(s["blob"], blob)
        st.items[iid] = {"id": iid, "user": user, "filename": name, "description": desc,
                         "mime": s["mime"], "size": s["size"], "blob": blob,
                         "sha256": s["sha"].hexdigest(), "app_created": True,
                         "created": time.time()}
        if album is not None:
            album["items"].append(iid)
        return {"uploadToken": token, "status": {"message": "Success"},
                "mediaItem": self.resource(st.items[iid])}

    def download(self, path):
        st = self.st
        m = re.fullmatch(r"/(lh3|content)/([^=/]+)=(d|dv)", path)
        with st.lock:
            it = st.items.get(m.group(2)) if m else None
        if it is None:
            raise ApiError(404, "Not Found")
        if m.group(1) == "lh3" and st.redirect_downloads:
            return self.send_text(302, "", {"Location": f"{self.base()}/content/"
                                            f"{it['id']}={m.group(3)}"})
        if (m.group(3) == "dv") != it["mime"].startswith("video/"):
            raise ApiError(400, "=dv downloads videos, =d photos.")
        with st.lock:
            st.stats["downloads"] += 1
        self.send_response(200)
        self.send_header("Content-Type", it["mime"])
        self.send_header("Content-Length", str(it["size"]))
        self.end_headers()
        with open(it["blob"], "rb") as fh:
            while True:
                piece = fh.read(1 << 20)
                if not piece:
                    break
                self.wfile.write(piece)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--token-ttl", type=float, default=3600)
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--daily-budget", type=int, default=0, help="0: unlimited")
    ap.add_argument("--album-limit", type=int, default=20000)
    ap.add_argument("--granularity", type=int, default=262144)
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.state = State(a)
    fake_common.exit_with_parent()
    srv.serve_forever()


if __name__ == "__main__":
    main()
