#!/usr/bin/env python3
"""A local SmugMug for tests: OAuth 1.0a and API v2, Python 3 stdlib only.

Follows (https://api.smugmug.com/api/v2/doc):
  Authorization / OAuth: OAuth 1.0a (RFC 5849) with HMAC-SHA1; the protocol
    parameters travel in the `Authorization: OAuth ...` header only (here: a
    request that puts oauth_* parameters in its query or form body is
    refused); request token, authorize and access token at
    /services/oauth/1.0a/getRequestToken, /authorize, /getAccessToken, the
    out-of-band callback ("oob") answered with a six-digit PIN verifier.
  Uploading (upload.smugmug.com): the raw file as the POST body to "/", with
    Content-Length, Content-MD5 (base64 of the MD5, checked against the
    body), X-Smug-AlbumUri (an existing album), X-Smug-ResponseType: JSON,
    X-Smug-Version: v2, X-Smug-FileName, optional X-Smug-Title,
    X-Smug-Keywords (';'-separated) and X-Smug-ImageUri (replace that image's
    content instead of adding an image).
  Node: /api/v2!authuser -> User.Uris.Node (the root node);
    /api/v2/node/ID, /api/v2/node/ID!children (paged with start/count and
    Pages.NextPage), POST .../!children {Type: Folder|Album, Name, UrlName,
    Privacy} -> 201; DELETE /api/v2/node/ID. Album nodes only under Folder
    nodes, nothing under an Album.
  Album / AlbumImage / Image: /api/v2/album/KEY, /api/v2/album/KEY!images
    (paged), /api/v2/album/KEY/image/IMAGEKEY-0 (GET, DELETE),
    /api/v2/image/IMAGEKEY-0; ArchivedUri, ArchivedSize, ArchivedMD5.
  Rate limits: 429 with Retry-After and X-RateLimit-Limit, -Remaining, -Reset.
  Errors: JSON {"Code": n, "Message": "..."} (API), {"stat": "fail", "code":
    n, "message": "..."} (uploads).

Rules the pages leave open, read the strict way: UrlName starts with a
capital letter A-Z and holds only [A-Za-z0-9-], at most 60 characters, unique
among its siblings whatever the case; a node's Name is 1..254 characters; a
timestamp more than 10 minutes off is refused; a nonce is accepted once.

Deviation, on purpose: SmugMug refuses files it cannot show (by type) and
empty files. The shared connector conformance suite stores `.bin` and empty
files, so this server accepts every type and size by default; a test turns
on the strict check with /_control/config {"strict_types": true} (then only
photo and video extensions, non-empty, are accepted: 415 otherwise) and
{"max_bytes": n} (413 above it).

ArchivedUri points at /photos/KEY/O/NAME on this server, which answers with
a 302 to /archive/KEY (a CDN does the same): clients follow it themselves.
Neither needs a signature (the key is the secret, as with SmugMug's CDN).

Control endpoints (no auth), for tests:
  POST /_control/tokens   {} -> {"oauth_token", "oauth_token_secret"} for the
                          test user (instead of the three-legged flow)
  GET  /_control/stats    counters
  GET  /_control/tree     every node: {"path", "type", "name", "url_name",
                          "images": [{"FileName", "ImageKey", "ArchivedMD5",
                          "ArchivedSize", "sha256", "Keywords", "Title"}]}
                          (bytes: GET /archive/ImageKey)
  POST /_control/config   {"budget": n, "window": s, "page_size": n,
                          "latency_ms": ms, "strict_types": b, "max_bytes": n}
  POST /_control/fault    {"endpoint": "upload"|"api", "drop_after": BYTES |
                          "status": 500|503, "count": n, "skip": n}
  POST /_control/delete   {"path": "Shoebox/Camera/2023"} deletes that node
  POST /_control/revoke   every access token stops working
Usage: smugmug_server.py --port N [--consumer-key K] [--consumer-secret S]
                         [--data DIR] [--latency-ms MS]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_common  # tests/fakes/fake_common.py

URLNAME = re.compile(r"^[A-Z][A-Za-z0-9-]{0,59}$")
MEDIA_EXT = {".jpg", ".jpeg", ".png", ".gif", ".heic", ".heif", ".tif", ".tiff", ".webp",
             ".mp4", ".mov", ".m4v", ".avi", ".mts", ".m2ts", ".3gp", ".mpg", ".mpeg", ".wmv"}
OAUTH = "/services/oauth/1.0a/"


def enc(s):
    return urllib.parse.quote(s, safe="~")


def key(n=6):
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.consumer_key = args.consumer_key
        self.consumer_secret = args.consumer_secret
        self.latency_s = args.latency_ms / 1000.0
        self.data = args.data or tempfile.mkdtemp(prefix="smugmug-fake-")
        self.tokens = {}  # access token -> secret
        self.request_tokens = {}  # request token -> {"secret", "verifier", "approved"}
        self.nonces = set()
        self.root = key()
        self.nodes = {self.root: {"id": self.root, "type": "Folder", "name": "", "url": "",
                                  "parent": None, "children": []}}
        self.albums = {}  # album key -> node id
        self.images = {}  # image key -> {"album", "FileName", ..., "blob"}
        self.budget = 0
        self.window = 1.0
        self.window_start = time.time()
        self.window_count = 0
        self.page_size = 100
        self.strict_types = False
        self.max_bytes = 0
        self.faults = []
        self.c = {"requests": 0, "uploads": 0, "replacements": 0, "nodes_created": 0,
                  "bad_signatures": 0, "reused_nonces": 0, "oauth_in_query": 0,
                  "throttled": 0, "throttled_early": 0, "dropped_uploads": 0,
                  "md5_mismatches": 0, "refused_types": 0, "downloads": 0}
        self.retry_until = 0.0


S = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    # ---- plumbing -------------------------------------------------------
    def reply(self, code, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def api_error(self, code, message, headers=None):
        self.reply(code, {"Code": code, "Message": message}, headers=headers)

    def upload_error(self, http_code, code, message):
        self.reply(http_code, {"stat": "fail", "method": "smugmug.images.upload", "code": code,
                               "message": message})

    def length(self):
        return int(self.headers.get("Content-Length") or 0)

    def discard_body(self):
        n = self.length()
        while n > 0:
            b = self.rfile.read(min(n, 1 << 20))
            if not b:
                break
            n -= len(b)

    def header(self, name):
        """A header's value as UTF-8 text (http.server decodes them as Latin-1)."""
        v = self.headers.get(name)
        if v is None:
            return None
        try:
            return v.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return v

    def base_url(self):
        return "http://" + self.headers.get("Host", "127.0.0.1").lower()

    def throttle(self):
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
            S.c["throttled"] += 1
            if now < S.retry_until:
                S.c["throttled_early"] += 1  # the client did not wait as told
            reset = S.window_start + S.window
            wait = max(1, int(reset - now + 0.999))
            S.retry_until = now + wait - 0.05
            return {"Retry-After": str(wait), "X-RateLimit-Limit": str(S.budget),
                    "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(reset + 0.999))}

    def fault_for(self, endpoint):
        with S.lock:
            for f in S.faults:
                if f["endpoint"] == endpoint and f["count"] > 0:
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    f["count"] -= 1
                    return dict(f)
        return None

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # ---- OAuth 1.0a ------------------------------------------------------
    def check_oauth(self, path, query, form, token_kind):
        """(params, None) when the signature is right; (None, message) otherwise.
        token_kind: "none" (request token), "request" (access token), "access"."""
        for k, _ in query + form:
            if k.startswith("oauth_"):
                with S.lock:
                    S.c["oauth_in_query"] += 1
                return None, ("OAuth parameter %s is not accepted in the query or body; "
                              "send it in the Authorization header" % k)
        h = self.headers.get("Authorization", "")
        if not h.startswith("OAuth "):
            return None, "missing Authorization: OAuth header"
        params = {}
        for part in h[6:].split(","):
            part = part.strip()
            if not part or "=" not in part:
                continue
            k, v = part.split("=", 1)
            k = urllib.parse.unquote(k.strip())
            if k == "realm":
                continue
            v = v.strip()
            if len(v) < 2 or v[0] != '"' or v[-1] != '"':
                return None, "malformed Authorization parameter " + k
            params[k] = urllib.parse.unquote(v[1:-1])
        for need in ("oauth_consumer_key", "oauth_nonce", "oauth_signature",
                     "oauth_signature_method", "oauth_timestamp"):
            if need not in params:
                return None, "missing " + need
        if params["oauth_signature_method"] != "HMAC-SHA1":
            return None, "oauth_signature_method must be HMAC-SHA1"
        if params.get("oauth_version", "1.0") != "1.0":
            return None, "oauth_version must be 1.0"
        if params["oauth_consumer_key"] != S.consumer_key:
            return None, "unknown oauth_consumer_key"
        try:
            ts = int(params["oauth_timestamp"])
        except ValueError:
            return None, "oauth_timestamp is not a number"
        if abs(ts - time.time()) > 600:
            return None, "oauth_timestamp is more than 10 minutes off"
        token = params.get("oauth_token", "")
        with S.lock:
            if token_kind == "none":
                token_secret = ""
            elif token_kind == "request":
                rt = S.request_tokens.get(token)
                token_secret = rt["secret"] if rt else None
            else:
                token_secret = S.tokens.get(token)
        if token_secret is None:
            return None, "invalid or revoked oauth_token"
        all_params = [(k, v) for k, v in params.items() if k != "oauth_signature"]
        all_params += query + form
        norm = "&".join("%s=%s" % kv for kv in sorted((enc(k), enc(v)) for k, v in all_params))
        base = "&".join([self.command.upper(), enc(self.base_url() + path), enc(norm)])
        secret = enc(S.consumer_secret) + "&" + enc(token_secret)
        want = base64.b64encode(hmac.new(secret.encode(), base.encode(), hashlib.sha1)
                                .digest()).decode()
        if not hmac.compare_digest(want, params["oauth_signature"]):
            with S.lock:
                S.c["bad_signatures"] += 1
            return None, "oauth_signature does not match the request (base string: %s)" % base
        nonce = (params["oauth_consumer_key"], token, params["oauth_timestamp"],
                 params["oauth_nonce"])
        with S.lock:
            if nonce in S.nonces:
                S.c["reused_nonces"] += 1
                return None, "oauth_nonce was already used with this timestamp"
            S.nonces.add(nonce)
        return params, None

    def oauth_endpoint(self, u):
        name = u.path[len(OAUTH):]
        query = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        if name == "authorize":
            q = dict(query)
            with S.lock:
                rt = S.request_tokens.get(q.get("oauth_token", ""))
                if rt is None:
                    return self.reply(400, "unknown oauth_token", "text/html")
                rt["approved"] = True
                pin = rt["verifier"]
            page = ("<html><head><title>SmugMug authorization</title></head><body>"
                    "<p>Shoebox is authorized (Access=%s, Permissions=%s).</p>"
                    "<p>Enter this code in the application: <span id=\"verifier\">%s</span></p>"
                    "</body></html>" % (q.get("Access", "Public"), q.get("Permissions", "Read"),
                                        pin))
            return self.reply(200, page, "text/html; charset=utf-8")
        body = self.rfile.read(self.length()) if self.length() else b""
        form = []
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        kind = {"getRequestToken": "none", "getAccessToken": "request"}.get(name)
        if kind is None:
            return self.reply(404, "no such OAuth endpoint")
        params, why = self.check_oauth(u.path, query, form, kind)
        if params is None:
            return self.reply(401, "oauth_problem=signature_invalid&detail=" + enc(why),
                              "application/x-www-form-urlencoded")
        if name == "getRequestToken":
            if params.get("oauth_callback") != "oob":
                return self.reply(400, "oauth_problem=parameter_absent&detail=" +
                                  enc("oauth_callback must be oob"),
                                  "application/x-www-form-urlencoded")
            tok, sec = key(24), key(32)
            with S.lock:
                S.request_tokens[tok] = {"secret": sec, "approved": False,
                                         "verifier": "%06d" % secrets.randbelow(1000000)}
            return self.reply(200, urllib.parse.urlencode(
                {"oauth_token": tok, "oauth_token_secret": sec,
                 "oauth_callback_confirmed": "true"}), "application/x-www-form-urlencoded")
        with S.lock:
            rt = S.request_tokens.get(params.get("oauth_token", ""))
            ok = rt and rt["approved"] and rt["verifier"] == params.get("oauth_verifier")
            if ok:
                del S.request_tokens[params["oauth_token"]]
        if not ok:
            return self.reply(401, "oauth_problem=verifier_invalid",
                              "application/x-www-form-urlencoded")
        return self.reply(200, urllib.parse.urlencode(self.new_tokens()),
                          "application/x-www-form-urlencoded")

    def new_tokens(self):
        tok, sec = key(32), key(48)
        with S.lock:
            S.tokens[tok] = sec
        return {"oauth_token": tok, "oauth_token_secret": sec}

    # ---- representations --------------------------------------------------
    def path_of(self, nid):
        parts = []
        with S.lock:
            while nid and S.nodes[nid]["parent"] is not None:
                parts.append(S.nodes[nid]["name"])
                nid = S.nodes[nid]["parent"]
        return "/".join(reversed(parts))

    def node_json(self, n):
        uris = {"ChildNodes": {"Uri": "/api/v2/node/%s!children" % n["id"]}}
        if n["type"] == "Album":
            uris["Album"] = {"Uri": "/api/v2/album/%s" % n["album"]}
        return {"Uri": "/api/v2/node/" + n["id"], "NodeID": n["id"], "Name": n["name"],
                "UrlName": n["url"], "Type": n["type"], "IsRoot": n["parent"] is None,
                "HasChildren": bool(n["children"]), "Privacy": n.get("privacy", "Private"),
                "Uris": uris}

    def image_json(self, ik):
        im = S.images[ik]
        base = self.base_url()
        return {"Uri": "/api/v2/album/%s/image/%s-0" % (im["album"], ik), "ImageKey": ik,
                "FileName": im["FileName"], "Title": im["Title"], "Keywords": im["Keywords"],
                "KeywordArray": [k for k in (x.strip() for x in im["Keywords"].split(";")) if k],
                "ArchivedSize": im["ArchivedSize"], "ArchivedMD5": im["ArchivedMD5"],
                "ArchivedUri": "%s/photos/%s/O/%s" % (base, ik, enc(im["FileName"])),
                "Serial": im["Serial"],
                "Uris": {"Image": {"Uri": "/api/v2/image/%s-0" % ik},
                         "Album": {"Uri": "/api/v2/album/" + im["album"]}}}

    def page(self, items, query, uri, locator):
        q = dict(query)
        try:
            start = max(1, int(q.get("start", "1")))
            count = max(1, min(int(q.get("count", str(S.page_size))), S.page_size))
        except ValueError:
            return None
        chunk = items[start - 1:start - 1 + count]
        pages = {"Total": len(items), "Start": start, "Count": len(chunk),
                 "RequestedCount": count}
        if start - 1 + count < len(items):
            pages["NextPage"] = "%s?start=%d&count=%d" % (uri, start + count, count)
        return {"Response": {"Uri": uri, "Locator": locator, locator: chunk, "Pages": pages},
                "Code": 200, "Message": "Ok"}

    # ---- verbs ----------------------------------------------------------
    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        with S.lock:
            S.c["requests"] += 1
        if u.path.startswith("/_control/"):
            return self.control(u)
        if S.latency_s:
            time.sleep(S.latency_s)
        if u.path.startswith(OAUTH):
            return self.oauth_endpoint(u)
        if u.path.startswith("/photos/") or u.path.startswith("/archive/"):
            return self.archive(u)
        limited = self.throttle()
        if limited:
            self.discard_body()
            return self.api_error(429, "Too Many Requests", limited)
        upload = u.path == "/" and self.command == "POST"
        fault = self.fault_for("upload" if upload else "api")
        if fault and "status" in fault:
            self.discard_body()
            return self.api_error(fault["status"], "injected fault")
        query = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        _, why = self.check_oauth(u.path, query, [], "access")
        if why is not None:
            self.discard_body()
            return self.api_error(401, "Unauthorized: " + why)
        if upload:
            return self.upload(fault)
        if not u.path.startswith("/api/v2"):
            self.discard_body()
            return self.api_error(404, "Not Found")
        body = self.rfile.read(self.length()) if self.length() else b""
        if self.headers.get("Accept", "") != "application/json":
            return self.api_error(406, "Not Acceptable: send Accept: application/json")
        return self.api(u.path[len("/api/v2"):], query, body)

    def api(self, p, query, body):
        m = self.command
        if p == "!authuser" and m == "GET":
            return self.reply(200, {"Response": {"User": {
                "NickName": "tester", "Name": "Test User",
                "Uris": {"Node": {"Uri": "/api/v2/node/" + S.root}}}}, "Code": 200,
                "Message": "Ok"})
        mt = re.fullmatch(r"/node/([A-Za-z0-9]+)(!children)?", p)
        if mt:
            nid, children = mt.group(1), mt.group(2)
            with S.lock:
                n = S.nodes.get(nid)
            if n is None:
                return self.api_error(404, "Not Found: no node " + nid)
            if children and m == "GET":
                with S.lock:
                    kids = [self.node_json(S.nodes[c]) for c in n["children"]]
                out = self.page(kids, query, "/api/v2/node/%s!children" % nid, "Node")
                if out is None:
                    return self.api_error(400, "Bad Request: start and count must be numbers")
                return self.reply(200, out)
            if children and m == "POST":
                return self.create_node(n, body)
            if m == "GET":
                return self.reply(200, {"Response": {"Node": self.node_json(n)}, "Code": 200})
            if m == "DELETE":
                if n["parent"] is None:
                    return self.api_error(403, "Forbidden: the root node cannot be deleted")
                self.delete_node(nid)
                return self.reply(200, {"Code": 200, "Message": "Ok"})
            return self.api_error(405, "Method Not Allowed")
        ma = re.fullmatch(r"/album/([A-Za-z0-9]+)(!images|/image/([A-Za-z0-9]+)-0)?", p)
        if ma:
            ak = ma.group(1)
            with S.lock:
                exists = ak in S.albums
            if not exists:
                return self.api_error(404, "Not Found: no album " + ak)
            if ma.group(2) is None and m == "GET":
                with S.lock:
                    n = S.nodes[S.albums[ak]]
                return self.reply(200, {"Response": {"Album": {
                    "Uri": "/api/v2/album/" + ak, "AlbumKey": ak, "Name": n["name"],
                    "UrlName": n["url"], "NodeID": n["id"]}}, "Code": 200})
            if ma.group(2) == "!images" and m == "GET":
                with S.lock:
                    imgs = [self.image_json(k) for k, v in S.images.items() if v["album"] == ak]
                out = self.page(imgs, query, "/api/v2/album/%s!images" % ak, "AlbumImage")
                if out is None:
                    return self.api_error(400, "Bad Request: start and count must be numbers")
                return self.reply(200, out)
            ik = ma.group(3)
            if ik:
                with S.lock:
                    im = S.images.get(ik)
                    if im is None or im["album"] != ak:
                        return self.api_error(404, "Not Found: no image %s in album %s" % (ik, ak))
                    if m == "GET":
                        return self.reply(200, {"Response": {"AlbumImage": self.image_json(ik)},
                                                "Code": 200})
                    if m == "DELETE":
                        self.forget_blob(S.images.pop(ik))
                        return self.reply(200, {"Code": 200, "Message": "Ok"})
            return self.api_error(405, "Method Not Allowed")
        mi = re.fullmatch(r"/image/([A-Za-z0-9]+)-0", p)
        if mi and m == "GET":
            with S.lock:
                if mi.group(1) not in S.images:
                    return self.api_error(404, "Not Found: no image " + mi.group(1))
                return self.reply(200, {"Response": {"Image": self.image_json(mi.group(1))},
                                        "Code": 200})
        return self.api_error(404, "Not Found: " + p)

    def create_node(self, parent, body):
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self.api_error(400, "Bad Request: Content-Type must be application/json")
        try:
            arg = json.loads(body or b"null")
        except ValueError:
            return self.api_error(400, "Bad Request: the body is not JSON")
        if not isinstance(arg, dict):
            return self.api_error(400, "Bad Request: the body must be a JSON object")
        t, name, url = arg.get("Type"), arg.get("Name"), arg.get("UrlName")
        if t not in ("Folder", "Album"):
            return self.api_error(400, "Bad Request: Type must be Folder or Album")
        if parent["type"] != "Folder":
            return self.api_error(400, "Bad Request: an Album node cannot have children")
        if not isinstance(name, str) or not 1 <= len(name) <= 254:
            return self.api_error(400, "Bad Request: Name must be 1 to 254 characters")
        if any(ord(ch) < 0x20 for ch in name):
            return self.api_error(400, "Bad Request: Name has control characters")
        if not isinstance(url, str) or not URLNAME.match(url):
            return self.api_error(400, "Bad Request: UrlName must start with a capital letter "
                                       "and contain only letters, digits and hyphens (at most "
                                       "60): %r" % (url,))
        with S.lock:
            for c in parent["children"]:
                if S.nodes[c]["url"].lower() == url.lower():
                    return self.api_error(409, "Conflict: a sibling already has UrlName " + url)
            nid = key()
            while nid in S.nodes:
                nid = key()
            n = {"id": nid, "type": t, "name": name, "url": url, "parent": parent["id"],
                 "children": [], "privacy": arg.get("Privacy", "Public")}
            if t == "Album":
                ak = key()
                while ak in S.albums:
                    ak = key()
                n["album"] = ak
                S.albums[ak] = nid
            S.nodes[nid] = n
            parent["children"].append(nid)
            S.c["nodes_created"] += 1
            out = self.node_json(n)
        return self.reply(201, {"Response": {"Node": out}, "Code": 201, "Message": "Created"})

    def delete_node(self, nid):
        with S.lock:
            n = S.nodes.pop(nid, None)
            if n is None:
                return
            if n["parent"] in S.nodes:
                S.nodes[n["parent"]]["children"].remove(nid)
            kids = list(n["children"])
            if n["type"] == "Album":
                S.albums.pop(n["album"], None)
                for ik in [k for k, v in S.images.items() if v["album"] == n["album"]]:
                    self.forget_blob(S.images.pop(ik))
        for c in kids:
            with S.lock:
                S.nodes[c]["parent"] = None  # detached, then deleted
            self.delete_node(c)

    def forget_blob(self, im):
        try:
            os.unlink(im["blob"])
        except OSError:
            pass

    # ---- uploads ---------------------------------------------------------
    def upload(self, fault):
        h = self.header
        n = self.length()
        missing = [x for x in ("Content-MD5", "X-Smug-AlbumUri", "X-Smug-ResponseType",
                               "X-Smug-Version", "X-Smug-FileName", "Content-Length")
                   if self.headers.get(x) is None]
        if missing:
            self.discard_body()
            return self.upload_error(400, 5, "missing header(s): " + ", ".join(missing))
        if h("X-Smug-Version") != "v2" or h("X-Smug-ResponseType") != "JSON":
            self.discard_body()
            return self.upload_error(400, 5, "X-Smug-Version must be v2 and "
                                             "X-Smug-ResponseType JSON")
        name = h("X-Smug-FileName")
        if not name or "/" in name or any(ord(ch) < 0x20 for ch in name):
            self.discard_body()
            return self.upload_error(400, 5, "X-Smug-FileName is empty or not a file name")
        m = re.fullmatch(r"/api/v2/album/([A-Za-z0-9]+)", h("X-Smug-AlbumUri"))
        with S.lock:
            album_ok = m is not None and m.group(1) in S.albums
        if not album_ok:
            self.discard_body()
            return self.upload_error(404, 18, "X-Smug-AlbumUri is not an existing album: " +
                                     h("X-Smug-AlbumUri"))
        ak = m.group(1)
        replace = h("X-Smug-ImageUri")
        rkey = None
        if replace:
            mr = re.fullmatch(r"/api/v2/image/([A-Za-z0-9]+)-0", replace)
            with S.lock:
                rkey = mr.group(1) if mr and mr.group(1) in S.images else None
            if rkey is None:
                self.discard_body()
                return self.upload_error(404, 19, "X-Smug-ImageUri is not an existing image: " +
                                         replace)
        ext = os.path.splitext(name)[1].lower()
        if S.strict_types and (ext not in MEDIA_EXT or n == 0):
            self.discard_body()
            with S.lock:
                S.c["refused_types"] += 1
            return self.upload_error(415, 64, "Unsupported file type: %s is not a photo or "
                                              "video SmugMug can display" % name)
        if S.max_bytes and n > S.max_bytes:
            self.discard_body()
            return self.upload_error(413, 65, "File too large: %d bytes, the limit is %d" %
                                     (n, S.max_bytes))
        fd, tmp = tempfile.mkstemp(dir=S.data, prefix="up-")
        md5, sha, got = hashlib.md5(), hashlib.sha256(), 0
        drop_after = fault.get("drop_after") if fault else None
        with os.fdopen(fd, "wb") as out:
            while got < n:
                want = min(n - got, 1 << 20)
                if drop_after is not None:
                    want = min(want, max(0, drop_after - got))
                    if want == 0:
                        out.close()
                        os.unlink(tmp)
                        with S.lock:
                            S.c["dropped_uploads"] += 1
                        return self.drop()
                b = self.rfile.read(want)
                if not b:
                    out.close()
                    os.unlink(tmp)
                    self.close_connection = True
                    return
                md5.update(b)
                sha.update(b)
                out.write(b)
                got += len(b)
        if base64.b64encode(md5.digest()).decode() != self.headers.get("Content-MD5"):
            os.unlink(tmp)
            with S.lock:
                S.c["md5_mismatches"] += 1
            return self.upload_error(400, 5, "Content-MD5 does not match the body")
        with S.lock:
            if ak not in S.albums or (rkey and rkey not in S.images):
                os.unlink(tmp)
                return self.upload_error(404, 18, "the album or image went away")
            fields = {"FileName": name, "Title": h("X-Smug-Title") or "",
                      "Keywords": h("X-Smug-Keywords") or "", "ArchivedSize": n,
                      "ArchivedMD5": md5.hexdigest(), "sha256": sha.hexdigest(), "blob": tmp}
            if rkey:
                im = S.images[rkey]
                self.forget_blob(im)
                im.update(fields)
                im["Serial"] += 1
                S.c["replacements"] += 1
                ik = rkey
            else:
                ik = key(7)
                while ik in S.images:
                    ik = key(7)
                fields.update({"album": ak, "Serial": 0})
                S.images[ik] = fields
                S.c["uploads"] += 1
            alb = S.images[ik]["album"]
        return self.reply(200, {"stat": "ok", "method": "smugmug.images.upload", "Image": {
            "StatusImageReplaceUri": replace or "", "ImageUri": "/api/v2/image/%s-0" % ik,
            "AlbumImageUri": "/api/v2/album/%s/image/%s-0" % (alb, ik),
            "URL": "%s/photos/%s" % (self.base_url(), ik)}})

    def archive(self, u):
        parts = u.path.split("/")
        ik = parts[2] if len(parts) > 2 else ""
        with S.lock:
            im = S.images.get(ik)
        if im is None or self.command != "GET":
            return self.reply(404, "Not Found", "text/plain")
        if u.path.startswith("/photos/"):
            return self.reply(302, "", "text/plain",
                              {"Location": "%s/archive/%s" % (self.base_url(), ik)})
        with S.lock:
            S.c["downloads"] += 1
        size = os.path.getsize(im["blob"])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(im["blob"], "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                try:
                    self.wfile.write(b)
                except OSError:
                    self.close_connection = True
                    return

    # ---- control ---------------------------------------------------------
    def control(self, u):
        what = u.path[len("/_control/"):]
        body = self.rfile.read(self.length()) if self.length() else b""
        arg = json.loads(body or b"{}") if body else {}
        if what == "stats":
            with S.lock:
                return self.reply(200, dict(S.c))
        if what == "tree":
            out = []
            with S.lock:
                ids = list(S.nodes)
            for nid in ids:
                with S.lock:
                    n = S.nodes.get(nid)
                    if n is None or n["parent"] is None:
                        continue
                    imgs = [dict({k: v[k] for k in ("FileName", "ArchivedMD5", "ArchivedSize",
                                                    "sha256", "Keywords", "Title")},
                                 ImageKey=ik)
                            for ik, v in S.images.items() if n["type"] == "Album" and
                            v["album"] == n["album"]]
                out.append({"path": self.path_of(nid), "type": n["type"], "name": n["name"],
                            "url_name": n["url"], "images": imgs})
            return self.reply(200, out)
        if what == "tokens":
            return self.reply(200, self.new_tokens())
        if what == "config":
            with S.lock:
                if "budget" in arg:
                    S.budget = int(arg["budget"])
                    S.window_start, S.window_count = time.time(), 0
                S.window = float(arg.get("window", S.window))
                S.page_size = int(arg.get("page_size", S.page_size))
                S.latency_s = float(arg.get("latency_ms", S.latency_s * 1000)) / 1000.0
                S.strict_types = bool(arg.get("strict_types", S.strict_types))
                S.max_bytes = int(arg.get("max_bytes", S.max_bytes))
            return self.reply(200, {})
        if what == "fault":
            f = dict(arg)
            f.setdefault("count", 1)
            with S.lock:
                S.faults.append(f)
            return self.reply(200, {})
        if what == "delete":
            target = arg.get("path", "")
            with S.lock:
                ids = list(S.nodes)
            for nid in ids:
                if nid != S.root and self.path_of(nid) == target:
                    self.delete_node(nid)
                    return self.reply(200, {})
            return self.reply(404, {"Code": 404, "Message": "no node at " + target})
        if what == "revoke":
            with S.lock:
                S.tokens.clear()
            return self.reply(200, {})
        return self.reply(404, "no such control endpoint", "text/plain")


def main():
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--consumer-key", default="test-api-key")
    ap.add_argument("--consumer-secret", default="test-api-secret")
    ap.add_argument("--data", default="")
    ap.add_argument("--latency-ms", type=float, default=0)
    args = ap.parse_args()
    S = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    fake_common.exit_with_parent()
    srv.serve_forever()


if __name__ == "__main__":
    main()
