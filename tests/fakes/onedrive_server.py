#!/usr/bin/env python3
"""A local OneDrive (Microsoft Graph v1.0 + Microsoft identity platform) for tests.

Python 3 standard library only. It follows these documentation pages, and where a
rule is unclear the stricter reading wins:

- driveitem-createuploadsession ("Upload large files with an upload session"):
  https://learn.microsoft.com/en-us/graph/api/driveitem-createuploadsession
  uploadUrl is pre-authenticated (a request to it carrying Authorization is
  refused with 401), fragments are sent in order with Content-Range, each
  fragment but the last a multiple of 320 KiB (327,680 bytes) and smaller than
  60 MiB; GET on the uploadUrl reports nextExpectedRanges; DELETE cancels.
  The conflict behaviour ("fail" | "replace" | "rename") and If-Match are
  checked when the session is created AND again when the last fragment commits.
- driveitem-put-content (simple upload, at most 4 MB).
- driveitem-get, driveitem-list-children (@odata.nextLink paging),
  driveitem-delete, driveitem-update (fileSystemInfo), driveitem-post-children
  (create folder, 409 nameAlreadyExists), driveitem-get-content (302 to a
  pre-authenticated download URL).
- "Microsoft Graph throttling guidance": 429 + Retry-After, error code
  activityLimitReached.
- "Microsoft Graph error responses and resource types": {"error": {"code",
  "message", "innerError"}}.
- hashes resource: file.hashes.quickXorHash (base64 of the QuickXorHash,
  https://learn.microsoft.com/en-us/onedrive/developer/code-snippets/quickxorhash).
- "Restrictions and limitations in OneDrive and SharePoint": invalid characters
  " * : < > ? / \\ |, no leading/trailing space, no trailing dot, reserved names.
  Names compare case-insensitively (a second "A.jpg" next to "a.jpg" conflicts).
- Microsoft identity platform: OAuth 2.0 authorization code flow with PKCE
  (S256 only), refresh_token grant (the refresh token is ROTATED on every use;
  a used one is refused with invalid_grant), device authorization grant
  (/devicecode, authorization_pending, slow_down not used).

Control endpoints for tests (no auth), under /_control/:
  POST token            -> {"access_token", "expires_in"} valid access token
  POST expire_tokens    -> every access token issued so far expires now
  POST throttle         {"budget": N, "window_s": S}  N requests per S seconds
                        (0 = unlimited) for Graph and upload requests
  POST fault            {"target": "upload"|"api"|"any", "action": "drop"|"status"|"keep_less",
                         "after_bytes": N, "status": 503, "retry_after": 1,
                         "count": 1, "skip": 0}  (skip: let that many matching
                        requests through first)
  POST device/approve   {"user_code"}   approve a pending device code
  GET  sessions         upload sessions with their counters: bytes_accepted,
                        bytes_received (including dropped fragments),
                        fragments [[start, end], ...], rejected
  GET  stats            request, throttled and early (sent before the
                        announced Retry-After) counts
Start: onedrive_server.py --port P --data DIR [--token-ttl S] [--page-size N]
       [--latency-ms MS] [--throttle-budget N --throttle-window S]
"""

import argparse
import datetime
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the modules below
from ms_identity import MicrosoftIdentity  # tests/fakes/ms_identity.py
from quickxor import QuickXor  # tests/fakes/quickxor.py

import fake_common  # tests/fakes/fake_common.py

FRAGMENT_UNIT = 327680
MAX_FRAGMENT = 60 * 1024 * 1024  # a fragment must be SMALLER than this
SIMPLE_MAX = 4 * 1000 * 1000
DRIVE_ID = "b!fakeDriveId"
FORBIDDEN = set('"*:<>?/\\|')
RESERVED = {".lock", "con", "prn", "aux", "nul", "desktop.ini"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)}


def iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    s = s.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(s).timestamp()


class GraphError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class State:
    def __init__(self, data_dir, token_ttl, page_size):
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.token_ttl = token_ttl
        self.page_size = page_size
        self.items = {}  # id -> dict
        self.children = {}  # folder id -> {lower name: id}
        self.root_id = self.new_id()
        self.items[self.root_id] = {"id": self.root_id, "name": "root", "parent": None,
                                    "folder": True, "mtime": time.time(), "ver": 1}
        self.children[self.root_id] = {}
        self.tokens = {}  # access token -> expiry
        self.refresh_tokens = {}  # refresh token -> "live" | "used"
        self.codes = {}  # auth code -> {challenge, redirect_uri, client_id}
        self.devices = {}  # device_code -> {user_code, approved}
        self.sessions = {}
        self.downloads = {}
        self.faults = []
        self.budget, self.window_s = 0, 1.0
        self.window_start, self.window_count = time.time(), 0
        self.retry_not_before = 0.0
        self.latency_s = 0.0
        self.stats = {"requests": 0, "throttled": 0, "early": 0, "folder_creates": 0}

    def new_id(self):
        return secrets.token_hex(8).upper()

    def issue_token(self):
        tok = "EwB" + secrets.token_urlsafe(24)
        self.tokens[tok] = time.time() + self.token_ttl
        return tok

    def issue_refresh(self):
        rt = "M.R3_" + secrets.token_urlsafe(24)
        self.refresh_tokens[rt] = "live"
        return rt


def check_name(name):
    if not name:
        raise GraphError(400, "invalidRequest", "The name is empty.")
    if len(name.encode()) > 255:
        raise GraphError(400, "invalidRequest", "The name is longer than 255 bytes.")
    bad = [c for c in name if c in FORBIDDEN or ord(c) < 32 or ord(c) == 127]
    if bad or name != name.strip(" ") or name.endswith("."):
        raise GraphError(400, "invalidRequest",
                         "Invalid request: the name contains characters that are not allowed "
                         "(\" * : < > ? / \\ |), a leading or trailing space, or a trailing dot.")
    stem = name.split(".")[0].lower()
    if name.lower() in RESERVED or stem in RESERVED or name.startswith("~") or \
            name.lower().startswith("_vti_"):
        raise GraphError(400, "invalidRequest", "The name is reserved.")


class Handler(MicrosoftIdentity, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGraph/1.0"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_VERBOSE"):
            super().log_message(fmt, *args)

    @property
    def st(self):
        return self.server.state

    # ---------------------------------------------------------------- helpers
    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_empty(self, status, headers=None):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def graph_error(self, e):
        body = {"error": {"code": e.code, "message": e.message,
                          "innerError": {"date": iso(time.time()),
                                         "request-id": secrets.token_hex(8)}}}
        self.send_json(e.status, body, e.headers)

    def oauth_error(self, status, err, desc):
        self.send_json(status, {"error": err, "error_description": desc,
                                "error_codes": [70000], "timestamp": iso(time.time())})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def base(self):
        return f"http://{self.headers.get('Host')}"

    def form(self):
        return dict(urllib.parse.parse_qsl(self.read_body().decode(), keep_blank_values=True))

    # ---------------------------------------------------------------- dispatch
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
        self._body_read = False  # the handler lives as long as the kept-alive connection
        self._keep_less = False
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if path.startswith("/_control/"):
                return self.control(path[len("/_control/"):])
            if "/oauth2/" in path:
                return self.oauth(path, query)
            if path.startswith("/dl/"):
                return self.download(path[4:])
            target = "upload" if path.startswith("/up/") else "api"
            if self.inject_fault(target):
                return
            self.throttle()
            if target == "upload":
                return self.upload(path[4:])
            self.auth()
            return self.graph(path, query)
        except GraphError as e:
            self.drain()
            self.graph_error(e)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def drain(self):
        if self.command in ("PUT", "POST", "PATCH") and not getattr(self, "_body_read", False):
            try:
                self.read_body()
            except OSError:
                pass

    def inject_fault(self, target):
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
            cut = min(n, int(fault.get("after_bytes", 0)))
            got = self.rfile.read(cut) if cut else b""
            if target == "upload":
                sid = self.path[4:].split("?")[0]
                with self.st.lock:
                    s = self.st.sessions.get(sid)
                    if s:
                        s["bytes_received"] += len(got)
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        self.drain()
        self._body_read = True
        headers = {}
        if fault.get("retry_after"):
            headers["Retry-After"] = str(fault["retry_after"])
        status = int(fault.get("status", 503))
        code = {429: "activityLimitReached", 503: "serviceNotAvailable"}.get(status,
                                                                             "generalException")
        self.graph_error(GraphError(status, code, f"Injected fault: HTTP {status}.", headers))
        return True

    def throttle(self):
        wait = fake_common.spend_request(self.st)
        if wait is not None:
            raise GraphError(429, "activityLimitReached",
                             "The request has been throttled.", {"Retry-After": str(wait)})

    def auth(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Bearer ") or not h[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.",
                             {"WWW-Authenticate": 'Bearer realm=""'})
        tok = h[7:].strip()
        with self.st.lock:
            exp = self.st.tokens.get(tok)
        if exp is None:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "IDX14100: JWT is not well formed.",
                             {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if time.time() >= exp:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "Lifetime validation failed, the token is expired.",
                             {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    # ---------------------------------------------------------------- control
    def control(self, what):
        st = self.st
        body = self.read_body() if self.command == "POST" else b""
        args = json.loads(body) if body.strip() else {}
        with st.lock:
            if what == "token":
                return self.send_json(200, {"access_token": st.issue_token(),
                                            "expires_in": st.token_ttl})
            if what == "expire_tokens":
                for t in st.tokens:
                    st.tokens[t] = 0
                return self.send_json(200, {})
            if what == "throttle":
                st.budget = int(args.get("budget", 0))
                st.window_s = float(args.get("window_s", 1))
                st.window_start, st.window_count = time.time(), 0
                return self.send_json(200, {})
            if what == "fault":
                args.setdefault("count", 1)
                st.faults.append(args)
                return self.send_json(200, {})
            if what == "device/approve":
                for d in st.devices.values():
                    if d["user_code"] == args.get("user_code"):
                        d["approved"] = True
                        return self.send_json(200, {})
                return self.send_json(404, {"error": "no such user_code"})
            if what == "sessions":
                out = {sid: {k: s[k] for k in ("path", "size", "bytes_accepted",
                                                "bytes_received", "fragments", "rejected")}
                       for sid, s in st.sessions.items()}
                return self.send_json(200, out)
            if what == "stats":
                return self.send_json(200, st.stats)
        self.send_json(404, {"error": "unknown control endpoint"})

    # ---------------------------------------------------------------- items
    def item_json(self, it):
        st = self.st
        o = {"id": it["id"], "name": it["name"], "eTag": f'"{{{it["id"]}}},{it["ver"]}"',
             "cTag": f'"c:{{{it["id"]}}},{it["ver"]}"',
             "lastModifiedDateTime": iso(it["mtime"]), "createdDateTime": iso(it["mtime"]),
             "fileSystemInfo": {"lastModifiedDateTime": iso(it["mtime"]),
                                "createdDateTime": iso(it["mtime"])}}
        if it["parent"]:
            o["parentReference"] = {"driveId": DRIVE_ID, "driveType": "personal",
                                    "id": it["parent"]}
        if it["folder"]:
            o["folder"] = {"childCount": len(st.children.get(it["id"], {}))}
            o["size"] = 0
        else:
            o["size"] = it["size"]
            o["file"] = {"mimeType": "application/octet-stream",
                         "hashes": {"quickXorHash": it["qxh"]}}
        return o

    def lookup(self, parts, create_missing=False):
        """Item id for a list of path components (NOT_FOUND as Graph says it)."""
        st = self.st
        cur = st.root_id
        for p in parts:
            kids = st.children.get(cur)
            if kids is None or p.lower() not in kids:
                raise GraphError(404, "itemNotFound", "The resource could not be found.")
            cur = kids[p.lower()]
        return cur

    def resolve(self, path):
        """Splits a Graph path into (item id or None, path components, action)."""
        prefixes = ["/v1.0/me/drive/", f"/v1.0/drives/{DRIVE_ID}/"]
        rest = None
        for p in prefixes:
            if path.startswith(p):
                rest = path[len(p):]
        if rest is None:
            if path.startswith("/v1.0/drives/"):
                raise GraphError(404, "itemNotFound", "The drive could not be found.")
            raise GraphError(400, "invalidRequest", f"Unsupported segment in {path}")
        action = ""
        if rest.startswith("root:"):
            body = rest[5:]
            if body.endswith(":") or ":/" in body:
                i = body.rfind(":")
                action = body[i + 1:].strip("/")
                body = body[:i]
            raw = body.strip("/")
            parts = []
            for seg in raw.split("/") if raw else []:
                try:
                    parts.append(urllib.parse.unquote(seg, errors="strict"))
                except UnicodeDecodeError:
                    raise GraphError(400, "invalidRequest", "The path is not valid UTF-8.")
            return None, parts, action
        if rest == "root" or rest.startswith("root/"):
            return self.st.root_id, [], rest[5:]
        if rest.startswith("items/"):
            seg = rest[6:].split("/", 1)
            if seg[0] not in self.st.items:
                raise GraphError(404, "itemNotFound", "The resource could not be found.")
            return seg[0], [], seg[1] if len(seg) > 1 else ""
        raise GraphError(400, "invalidRequest", f"Unsupported segment in {path}")

    def graph(self, path, query):
        st = self.st
        item_id, parts, action = self.resolve(path)
        m = self.command
        if action == "createUploadSession" and m == "POST":
            return self.create_session(parts, item_id)
        if action == "content" and m == "PUT":
            return self.simple_upload(parts, item_id, query)
        with st.lock:
            if item_id is None:
                item_id = self.lookup(parts)
            it = st.items[item_id]
            if action == "" and m == "GET":
                return self.send_json(200, self.item_json(it))
            if action == "" and m == "DELETE":
                self.check_if_match(it)
                self.remove(item_id)
                return self.send_empty(204)
            if action == "" and m == "PATCH":
                args = json.loads(self.read_body() or b"{}")
                fsi = args.get("fileSystemInfo", {})
                if "lastModifiedDateTime" in fsi:
                    it["mtime"] = int(parse_iso(fsi["lastModifiedDateTime"]))
                    it["ver"] += 1
                return self.send_json(200, self.item_json(it))
            if action == "children" and m == "GET":
                if not it["folder"]:
                    raise GraphError(400, "invalidRequest", "The item is not a folder.")
                ids = sorted(st.children[item_id].values(), key=lambda i: st.items[i]["name"])
                start = int(query.get("$skiptoken", "0") or 0)
                page = ids[start:start + st.page_size]
                out = {"value": [self.item_json(st.items[i]) for i in page]}
                if start + st.page_size < len(ids):
                    out["@odata.nextLink"] = (self.base() + path + "?$skiptoken=" +
                                              str(start + st.page_size))
                return self.send_json(200, out)
            if action == "children" and m == "POST":
                args = json.loads(self.read_body() or b"{}")
                self._body_read = True
                name = args.get("name", "")
                check_name(name)
                if "folder" not in args:
                    raise GraphError(400, "invalidRequest", "Only folders are created here.")
                cb = args.get("@microsoft.graph.conflictBehavior", "fail")
                st.stats["folder_creates"] += 1
                kids = st.children[item_id]
                if name.lower() in kids:
                    if cb == "fail":
                        raise GraphError(409, "nameAlreadyExists",
                                         "The specified item name already exists.")
                    if cb == "replace":
                        self.remove(kids[name.lower()])
                new = self.add_item(item_id, name, folder=True)
                return self.send_json(201, self.item_json(new))
            if action == "content" and m == "GET":
                if it["folder"]:
                    raise GraphError(400, "invalidRequest", "A folder has no content.")
                tok = secrets.token_urlsafe(16)
                st.downloads[tok] = item_id
                return self.send_empty(302, {"Location": self.base() + "/dl/" + tok})
        raise GraphError(400, "invalidRequest", f"Unsupported request {m} {path}")

    def check_if_match(self, it):
        want = self.headers.get("If-Match")
        if want and want != "*" and want not in (self.item_json(it)["eTag"],
                                                 self.item_json(it)["cTag"]):
            raise GraphError(412, "preconditionFailed", "ETag does not match current item's "
                             "value.")

    def add_item(self, parent, name, folder, size=0, qxh="", blob=None, mtime=None):
        st = self.st
        iid = st.new_id()
        it = {"id": iid, "name": name, "parent": parent, "folder": folder, "size": size,
              "qxh": qxh, "blob": blob, "mtime": int(mtime if mtime else time.time()), "ver": 1}
        st.items[iid] = it
        st.children[parent][name.lower()] = iid
        if folder:
            st.children[iid] = {}
        return it

    def remove(self, iid):
        st = self.st
        it = st.items.pop(iid)
        st.children[it["parent"]].pop(it["name"].lower(), None)
        for kid in list(st.children.get(iid, {}).values()):
            self.remove(kid)
        st.children.pop(iid, None)
        if it.get("blob"):
            try:
                os.unlink(it["blob"])
            except OSError:
                pass

    def parent_and_name(self, parts, item_id):
        if item_id is not None or not parts:
            raise GraphError(400, "invalidRequest", "Address the file by path: root:/path:")
        for p in parts:
            check_name(p)
        parent = self.lookup(parts[:-1])
        if not self.st.items[parent]["folder"]:
            raise GraphError(400, "invalidRequest", "The parent is not a folder.")
        return parent, parts[-1]

    def commit(self, parent, name, blob, size, qxh, conflict, if_match, mtime):
        """Makes an uploaded blob the item `name` (status, item)."""
        st = self.st
        if parent not in st.items:
            raise GraphError(404, "itemNotFound", "The parent folder was deleted.")
        kids = st.children[parent]
        old = kids.get(name.lower())
        if old is not None:
            if conflict == "fail":
                raise GraphError(409, "nameAlreadyExists",
                                 "The specified item name already exists.")
            if conflict == "replace":
                o = st.items[old]
                if if_match and if_match != "*" and if_match not in (
                        self.item_json(o)["eTag"], self.item_json(o)["cTag"]):
                    raise GraphError(412, "preconditionFailed",
                                     "ETag does not match current item's value.")
                if o["folder"]:
                    raise GraphError(409, "nameAlreadyExists", "A folder has that name.")
                if o.get("blob"):
                    try:
                        os.unlink(o["blob"])
                    except OSError:
                        pass
                o.update(size=size, qxh=qxh, blob=blob, ver=o["ver"] + 1,
                         mtime=int(mtime if mtime else time.time()), name=name)
                return 200, o
            base, dot, ext = name.rpartition(".")
            n = 1
            while True:
                cand = f"{base} {n}.{ext}" if dot else f"{name} {n}"
                if cand.lower() not in kids:
                    name = cand
                    break
                n += 1
        elif if_match and if_match != "*":
            raise GraphError(412, "preconditionFailed", "The item no longer exists.")
        return 201, self.add_item(parent, name, False, size, qxh, blob, mtime)

    def item_args(self, args):
        item = args.get("item", {}) if isinstance(args, dict) else {}
        conflict = item.get("@microsoft.graph.conflictBehavior", "fail")
        if conflict not in ("fail", "replace", "rename"):
            raise GraphError(400, "invalidRequest", "Unknown conflictBehavior.")
        mtime = item.get("fileSystemInfo", {}).get("lastModifiedDateTime")
        return conflict, int(parse_iso(mtime)) if mtime else None

    def simple_upload(self, parts, item_id, query):
        st = self.st
        n = int(self.headers.get("Content-Length") or 0)
        if n > SIMPLE_MAX:
            raise GraphError(413, "requestTooLarge",
                             "Simple upload is limited to 4 MB; use an upload session.")
        data = self.read_body()
        self._body_read = True
        conflict = query.get("@microsoft.graph.conflictBehavior", "fail")
        with st.lock:
            parent, name = self.parent_and_name(parts, item_id)
            blob = os.path.join(st.data_dir, "blob-" + secrets.token_hex(8))
            with open(blob, "wb") as f:
                f.write(data)
            q = QuickXor()
            q.update(data)
            status, it = self.commit(parent, name, blob, len(data), q.b64(), conflict,
                                     self.headers.get("If-Match"), None)
            return self.send_json(status, self.item_json(it))

    def create_session(self, parts, item_id):
        st = self.st
        args = json.loads(self.read_body() or b"{}")
        self._body_read = True
        conflict, mtime = self.item_args(args)
        if_match = self.headers.get("If-Match")
        with st.lock:
            parent, name = self.parent_and_name(parts, item_id)
            old = st.children[parent].get(name.lower())
            if old is not None and conflict == "fail":
                raise GraphError(409, "nameAlreadyExists",
                                 "The specified item name already exists.")
            if if_match and if_match != "*":
                if old is None:
                    raise GraphError(412, "preconditionFailed", "The item does not exist.")
                self.check_if_match(st.items[old])
            sid = secrets.token_urlsafe(18)
            st.sessions[sid] = {
                "path": "/".join(parts), "parent": parent, "name": name, "conflict": conflict,
                "if_match": if_match, "mtime": mtime, "size": None, "next": 0,
                "blob": os.path.join(st.data_dir, "up-" + sid), "qxh": QuickXor(),
                "bytes_accepted": 0, "bytes_received": 0, "fragments": [], "rejected": 0,
                "expires": time.time() + 3600}
            open(st.sessions[sid]["blob"], "wb").close()
            return self.send_json(200, {
                "uploadUrl": self.base() + "/up/" + sid,
                "expirationDateTime": iso(st.sessions[sid]["expires"]),
                "nextExpectedRanges": ["0-"]})

    def upload(self, sid):
        st = self.st
        sid = sid.split("?")[0]
        with st.lock:
            s = st.sessions.get(sid)
        if s is None:
            raise GraphError(404, "itemNotFound", "The upload session was not found or expired.")
        if self.headers.get("Authorization"):
            raise GraphError(401, "unauthenticated",
                             "The uploadUrl is pre-authenticated; do not send Authorization.")
        if self.command == "GET":
            return self.send_json(200, {"expirationDateTime": iso(s["expires"]),
                                        "nextExpectedRanges": [f"{s['next']}-"]})
        if self.command == "DELETE":
            with st.lock:
                st.sessions.pop(sid, None)
            try:
                os.unlink(s["blob"])
            except OSError:
                pass
            return self.send_empty(204)
        if self.command != "PUT":
            raise GraphError(405, "invalidRequest", "Method not allowed on an upload session.")
        cr = self.headers.get("Content-Range", "")
        n = int(self.headers.get("Content-Length") or -1)
        try:
            unit, spec = cr.split(" ", 1)
            rng, total = spec.split("/")
            a, b = (int(x) for x in rng.split("-"))
            total = int(total)
            assert unit == "bytes" and 0 <= a <= b < total
        except (ValueError, AssertionError):
            s["rejected"] += 1
            raise GraphError(400, "invalidRequest",
                             f"Invalid Content-Range header '{cr}': expected bytes a-b/total.")
        length = b - a + 1
        if n != length:
            s["rejected"] += 1
            raise GraphError(400, "invalidRequest",
                             "The Content-Range and Content-Length headers do not agree.")
        if length >= MAX_FRAGMENT:
            s["rejected"] += 1
            raise GraphError(400, "invalidRequest",
                             "A fragment must be smaller than 60 MiB.")
        if s["size"] is not None and s["size"] != total:
            s["rejected"] += 1
            raise GraphError(400, "invalidRequest", "The total size changed during the session.")
        if a != s["next"]:
            s["rejected"] += 1
            raise GraphError(416, "invalidRange",
                             f"The uploaded fragment {a}-{b} does not start at the next "
                             f"expected byte {s['next']}; fragments must be sent in order "
                             "and must not overlap.",
                             {"Content-Type": "application/json"})
        if b + 1 != total and length % FRAGMENT_UNIT != 0:
            s["rejected"] += 1
            raise GraphError(400, "invalidRequest",
                             "The fragment size must be a multiple of 320 KiB (327,680 bytes) "
                             "except for the last fragment.")
        remaining = length
        with open(s["blob"], "r+b") as f:
            f.seek(a)
            while remaining:
                piece = self.rfile.read(min(remaining, 1 << 20))
                if not piece:
                    self.close_connection = True
                    return  # the client went away: the fragment is not accepted
                s["bytes_received"] += len(piece)
                f.write(piece)
                remaining -= len(piece)
        self._body_read = True
        if self._keep_less and length > FRAGMENT_UNIT:
            # Injected: only the first 320 KiB are kept; nextExpectedRanges says so.
            length, b = FRAGMENT_UNIT, a + FRAGMENT_UNIT - 1
        with open(s["blob"], "rb") as f:
            f.seek(a)
            left = length
            while left:
                piece = f.read(min(left, 1 << 22))
                s["qxh"].update(piece)
                left -= len(piece)
        with st.lock:
            s["size"] = total
            s["next"] = b + 1
            s["bytes_accepted"] += length
            s["fragments"].append([a, b])
            if b + 1 < total:
                return self.send_json(202, {"expirationDateTime": iso(s["expires"]),
                                            "nextExpectedRanges": [f"{b + 1}-"]})
            try:
                status, it = self.commit(s["parent"], s["name"], s["blob"], total,
                                         s["qxh"].b64(), s["conflict"], s["if_match"],
                                         s["mtime"])
            finally:
                s["done"] = True
                st.sessions[sid + "-done"] = st.sessions.pop(sid)
            return self.send_json(status, self.item_json(it))

    def download(self, tok):
        st = self.st
        with st.lock:
            iid = st.downloads.get(tok)
            it = st.items.get(iid) if iid else None
        if it is None:
            return self.send_json(404, {"error": {"code": "itemNotFound",
                                                  "message": "Gone."}})
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(it["size"]))
        self.end_headers()
        if it["size"]:
            with open(it["blob"], "rb") as f:
                while True:
                    piece = f.read(1 << 20)
                    if not piece:
                        break
                    self.wfile.write(piece)


def main():
    ap = argparse.ArgumentParser()
    fake_common.add_server_args(ap, page_size=200)
    a = ap.parse_args()
    fake_common.serve(a, Handler, State(a.data, a.token_ttl, a.page_size))


if __name__ == "__main__":
    main()
