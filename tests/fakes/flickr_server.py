#!/usr/bin/env python3
"""A local Flickr for tests: OAuth 1.0a, the REST API (JSON) and the upload API.

Python 3 stdlib only. Follows:
  https://www.flickr.com/services/api/auth.oauth.html
    (request_token with oauth_callback ("oob": the PIN is shown), authorize
     with perms, access_token with oauth_verifier; HMAC-SHA1 signatures over
     the method, the base URL and every parameter; nonces unique per
     timestamp)
  https://www.flickr.com/services/api/upload.api.html
    (POST multipart/form-data to /services/upload/; every field but `photo`
     signed; errors 2 no photo, 3 general failure, 4 filesize zero, 5
     filetype, 6 user exceeded upload limit, 8 filesize too large, 96-100)
  https://www.flickr.com/services/api/upload.async.html and
  https://www.flickr.com/services/api/flickr.photos.upload.checkTickets.html
    (async=1 answers <ticketid>; complete 0 pending, 1 done with photoid,
     2 failed; unknown tickets invalid=1)
  https://www.flickr.com/services/api/flickr.photosets.create.html,
    flickr.photosets.addPhoto.html (1 photoset not found, 2 photo not found,
    3 photo already in set), flickr.photosets.getList.html,
    flickr.photosets.getPhotos.html (1 photoset not found)
  https://www.flickr.com/services/api/flickr.photos.search.html
    (user_id=me, machine_tags "ns:pred=value" exact, extras, paging)
  https://www.flickr.com/services/api/flickr.people.getPhotos.html,
    flickr.photos.getSizes.html (label "Original"), flickr.photos.delete.html,
    flickr.photos.addTags.html, flickr.photos.removeTag.html,
    flickr.photos.setMeta.html, flickr.photos.getInfo.html
  https://www.flickr.com/services/api/flickr.people.getPhotos.html as a
    transfer source reads it (issue 21): extras date_upload (dateupload,
    unix seconds), date_taken (datetaken "YYYY-MM-DD HH:MM:SS",
    datetakengranularity, datetakenunknown), last_update (lastupdate, unix
    seconds), original_format; min_upload_date (unix seconds, inclusive);
    sorted newest upload first (the default sort, date-posted-desc)
  https://www.flickr.com/services/api/response.json.html
    (format=json; without nojsoncallback=1 the answer is wrapped in
     jsonFlickrApi(...); failures are {"stat": "fail", "code", "message"}
     with HTTP 200)

Strict readings where the pages leave room: every REST and upload call must
be signed with an access token this server issued (96 invalid signature, 97
missing, 98 invalid token, 100 invalid key); a nonce may be used once per
consumer key within the timestamp window (300 s), a timestamp outside it is
refused; a photoset never exists empty (create needs primary_photo_id, and a
set whose last photo is deleted goes away); photos are private when
is_public/is_friend/is_family are not given; the hourly budget of a key
(--budget, default 3600 per --window 3600 s) counts every signed call, and
the call past it is answered 429 with Retry-After (the seconds until the
window ends). The file type is checked only with --check-filetype (the
connector conformance suite uploads pattern bytes under .jpg names).

Flickr's search index lags behind uploads; --search-lag S (or config
"search_lag") keeps a new photo out of photos.search and people.getPhotos for
S seconds while getInfo, getSizes and the photo's other methods see it at
once.

The test user approves on GET /services/oauth/authorize?oauth_token=T (the
browser step); the page shows the verifier in <code id="verifier">.

Control endpoints (no auth), for tests:
  GET  /_control/stats   {"uploads": n, "upload_bytes": n, "requests": {method: n},
                          "throttled": n, "throttled_after_retry_after": n,
                          "photos": n, "sets": n, "signature_failures": n}
  GET  /_control/photos  [{"id", "owner", "title", "description", "tags",
                           "machine_tags", "is_public", "is_friend", "is_family",
                           "size", "sha256", "sets": [titles]}]
  GET  /_control/sets    [{"id", "owner", "title", "primary", "photos": [ids]}]
  POST /_control/user    {"name": N} -> {"user_id", "oauth_token", "oauth_token_secret"}
                         (a fresh account with an access token; tests)
  POST /_control/config  {"ticket_delay": s, "budget": n, "window": s, "max_items": n,
                          "latency_ms": n, "page_size": n, "search_lag": s}
  POST /_control/fault   {"method": "upload" | "flickr.x.y", "status": 500|503 |
                          "drop_after": BYTES (upload) | "ticket_failed": true,
                          "count": n, "skip": n}
  POST /_control/delete_set  {"id": ID}   (a user deleting an album at Flickr)
  POST /_control/seed    {"user_id": U (default: the default user), "photos": [
                          {"title", "content" (text) | "content_b64", "format" ("jpg"),
                           "taken": "YYYY-MM-DD HH:MM:SS", "uploaded": unix seconds,
                           "sets": [set titles, in the set's order]}]}
                         -> {"ids": [photo ids]}: photos as if uploaded (not counted as
                         uploads), sets created on first use, in the order given
                         (transfer sources, issue 21)
  GET  /_control/stats also has "downloads": originals served (/static/...)
Usage: flickr_server.py --port N [--api-key K] [--api-secret S] [--data DIR]
                        [--ticket-delay S] [--budget N] [--window S]
                        [--max-items N] [--latency-ms MS] [--check-filetype]
                        [--search-lag S]
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
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_common  # tests/fakes/fake_common.py

NONCE_WINDOW = 300
MAX_PHOTO = 200 * 1000 * 1000
MAX_VIDEO = 1000 * 1000 * 1000
VIDEO_EXT = {"mp4", "mov", "avi", "mpg", "mpeg", "3gp", "m4v", "mts", "wmv", "ogv"}
PHOTO_EXT = {"jpg", "jpeg", "png", "gif", "tif", "tiff", "heic", "heif", "webp", "bmp"}


def enc(s):
    return urllib.parse.quote(s, safe="-._~")


def signature(method, url, params, consumer_secret, token_secret):
    """RFC 5849 3.4: the base string over every parameter but oauth_signature."""
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.netloc.lower()
    if (scheme, host.rsplit(":", 1)[-1]) in (("http", "80"), ("https", "443")):
        host = host.rsplit(":", 1)[0]
    base_uri = "%s://%s%s" % (scheme, host, parts.path)
    pairs = sorted((enc(k), enc(v)) for k, v in params if k != "oauth_signature")
    norm = "&".join("%s=%s" % kv for kv in pairs)
    base = "&".join([method.upper(), enc(base_uri), enc(norm)])
    key = (enc(consumer_secret) + "&" + enc(token_secret)).encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


def parse_oauth_header(h):
    out = []
    if not h.startswith("OAuth "):
        return out
    for m in re.finditer(r'([A-Za-z0-9_]+)="([^"]*)"', h[6:]):
        if m.group(1) != "realm":
            out.append((urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2))))
    return out


def normalize_tag(raw):
    """Flickr's normalised form: lower case; machine tags keep ns:pred=value."""
    return raw.strip().lower()


def split_tags(s):
    """A space-separated tag list; "double quoted" tags may contain spaces."""
    return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', s or "") if (a or b)]


class FlickrFail(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.api_key, self.api_secret = args.api_key, args.api_secret
        self.data = args.data or tempfile.mkdtemp(prefix="flickr-fake-")
        self.ticket_delay = args.ticket_delay
        self.search_lag = args.search_lag
        self.budget, self.window = args.budget, args.window
        self.max_items = args.max_items
        self.latency_s = args.latency_ms / 1000.0
        self.check_filetype = args.check_filetype
        self.page_size_cap = 500
        self.window_start, self.window_count = time.time(), 0
        self.retry_after_until = 0.0
        self.throttled = self.throttled_after = 0
        self.signature_failures = 0
        self.users = {}  # nsid -> {"name"}
        self.request_tokens = {}  # token -> {"secret", "verifier", "user", "perms"}
        self.access_tokens = {}  # token -> {"secret", "user", "perms"}
        self.nonces = {}  # (key, nonce, timestamp) -> time seen
        self.photos = {}  # id -> dict
        self.sets = {}  # id -> dict
        self.tickets = {}  # id -> {"ready_at", "photo", "failed", "user"}
        self.requests, self.uploads, self.upload_bytes = {}, 0, 0
        self.downloads = 0
        self.faults = []
        self.next_id = 5000000000
        self.default_user = self.new_user("shoebox-tester")

    def new_id(self):
        self.next_id += 1
        return str(self.next_id)

    def new_user(self, name):
        nsid = "%d@N0%d" % (10000000 + len(self.users), 1 + len(self.users) % 9)
        self.users[nsid] = {"name": name}
        return nsid

    def issue_access(self, user, perms="write"):
        tok = "%s-%s" % (self.new_id(), secrets.token_hex(8))
        self.access_tokens[tok] = {"secret": secrets.token_hex(8), "user": user, "perms": perms}
        return tok


S = None


def photo_json(p, extras):
    out = {"id": p["id"], "owner": p["owner"], "secret": p["secret"], "server": "65535",
           "farm": 66, "title": p["title"], "ispublic": p["is_public"],
           "isfriend": p["is_friend"], "isfamily": p["is_family"]}
    if "machine_tags" in extras:
        out["machine_tags"] = " ".join(t for t in p["tags"] if re.match(r"^[a-z0-9_]+:[a-z0-9_]+=", t))
    if "tags" in extras:
        out["tags"] = " ".join(p["tags"])
    if "description" in extras:
        out["description"] = {"_content": p["description"]}
    if "original_format" in extras:
        out["originalsecret"], out["originalformat"] = p["originalsecret"], p["format"]
    if "date_upload" in extras:
        out["dateupload"] = str(int(p["uploaded"]))
    if "last_update" in extras:
        out["lastupdate"] = str(int(p.get("updated", p["uploaded"])))
    if "date_taken" in extras:
        taken = p.get("taken") or time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(p["uploaded"]))
        out["datetaken"], out["datetakengranularity"] = taken, 0
        out["datetakenunknown"] = 0 if p.get("taken") else 1
    return out


def paged(items, params, key_fn):
    try:
        per_page = min(int(params.get("per_page", "100")), 500, S.page_size_cap)
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        per_page, page = 100, 1
    per_page = max(per_page, 1)
    total = len(items)
    pages = max((total + per_page - 1) // per_page, 1) if total else 0
    chunk = items[(page - 1) * per_page: page * per_page]
    return {"page": page, "pages": pages, "perpage": per_page, "total": total}, [key_fn(x) for x in chunk]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

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

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def fault_for(self, name):
        with S.lock:
            for f in S.faults:
                if f.get("method") == name and f.get("count", 1) > 0:
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    f["count"] = f.get("count", 1) - 1
                    return dict(f)
        return None

    def url(self):
        host = self.headers.get("Host", "127.0.0.1")
        return "http://%s%s" % (host, self.path.split("?", 1)[0])

    def query(self):
        q = self.path.split("?", 1)[1] if "?" in self.path else ""
        return urllib.parse.parse_qsl(q, keep_blank_values=True)

    # ---- OAuth ----------------------------------------------------------
    def check_oauth(self, params, need_token=True):
        """Verifies the signature over `params` (every signed parameter, the
        oauth_* ones included). Returns the token record; raises FlickrFail."""
        d = dict(params)
        if "oauth_signature" not in d:
            raise FlickrFail(97, "Missing signature")
        if d.get("oauth_consumer_key") != S.api_key or (
                "api_key" in d and d["api_key"] != S.api_key):
            raise FlickrFail(100, "Invalid API Key (Key not found)")
        if d.get("oauth_signature_method") != "HMAC-SHA1":
            raise FlickrFail(96, "Invalid signature (signature method must be HMAC-SHA1)")
        if d.get("oauth_version", "1.0") != "1.0":
            raise FlickrFail(96, "Invalid signature (oauth_version must be 1.0)")
        tok, rec, secret = d.get("oauth_token", ""), None, ""
        with S.lock:
            if tok:
                rec = S.access_tokens.get(tok) or S.request_tokens.get(tok)
            if need_token and (rec is None or tok not in S.access_tokens):
                raise FlickrFail(98, "Invalid auth token")
            if rec is not None:
                secret = rec["secret"]
        want = signature(self.command, self.url(), params, S.api_secret, secret)
        if not hmac.compare_digest(want, d["oauth_signature"]):
            with S.lock:
                S.signature_failures += 1
            sys.stderr.write("invalid signature: %s %s %r\n" % (self.command, self.url(), params))
            raise FlickrFail(96, "Invalid signature")
        try:
            ts = int(d.get("oauth_timestamp", ""))
        except ValueError:
            raise FlickrFail(96, "Invalid signature (bad oauth_timestamp)")
        now = time.time()
        if abs(now - ts) > NONCE_WINDOW:
            raise FlickrFail(96, "Invalid signature (oauth_timestamp outside the window)")
        key = (S.api_key, d.get("oauth_nonce", ""), ts)
        with S.lock:
            for k, seen in list(S.nonces.items()):
                if now - seen > 2 * NONCE_WINDOW:
                    del S.nonces[k]
            if not d.get("oauth_nonce") or key in S.nonces:
                raise FlickrFail(96, "Invalid signature (nonce used before)")
            S.nonces[key] = now
        return rec

    def throttle(self):
        with S.lock:
            if S.budget <= 0:
                return None
            now = time.time()
            if now - S.window_start >= S.window:
                S.window_start, S.window_count = now, 0
            if S.window_count < S.budget:
                S.window_count += 1
                return None
            S.throttled += 1
            if now < S.retry_after_until:
                S.throttled_after += 1
            wait = max(1, int(S.window - (now - S.window_start) + 0.999))
            S.retry_after_until = now + wait - 0.05
            return wait

    def oauth_endpoint(self, which):
        params = self.query()
        params += parse_oauth_header(self.headers.get("Authorization", ""))
        if self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace")
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                params += urllib.parse.parse_qsl(body, keep_blank_values=True)
        d = dict(params)
        try:
            rec = self.check_oauth(params, need_token=False)
        except FlickrFail as e:
            problem = {96: "signature_invalid", 97: "parameter_absent", 98: "token_rejected",
                       100: "consumer_key_unknown"}.get(e.code, "signature_invalid")
            return self.reply(401, "oauth_problem=%s&debug_message=%s" % (problem, enc(e.message)),
                              "text/plain; charset=utf-8")
        with S.lock:
            if which == "request_token":
                if "oauth_callback" not in d:
                    return self.reply(400, "oauth_problem=parameter_absent&oauth_parameters_absent=oauth_callback",
                                      "text/plain")
                tok = "%s-%s" % (S.new_id(), secrets.token_hex(8))
                S.request_tokens[tok] = {"secret": secrets.token_hex(8), "verifier": None,
                                         "user": None, "perms": None, "callback": d["oauth_callback"]}
                body = "oauth_callback_confirmed=true&oauth_token=%s&oauth_token_secret=%s" % (
                    tok, S.request_tokens[tok]["secret"])
                return self.reply(200, body, "text/plain; charset=utf-8")
            tok = d.get("oauth_token", "")
            rt = S.request_tokens.get(tok)
            if rt is None or rec is None:
                return self.reply(401, "oauth_problem=token_rejected", "text/plain")
            if not rt["verifier"] or d.get("oauth_verifier") != rt["verifier"]:
                return self.reply(401, "oauth_problem=verifier_invalid", "text/plain")
            del S.request_tokens[tok]  # a request token is exchanged once
            access = S.issue_access(rt["user"], rt["perms"])
            user = rt["user"]
            body = urllib.parse.urlencode({
                "fullname": S.users[user]["name"], "oauth_token": access,
                "oauth_token_secret": S.access_tokens[access]["secret"],
                "user_nsid": user, "username": S.users[user]["name"]})
        return self.reply(200, body, "text/plain; charset=utf-8")

    def authorize(self):
        d = dict(self.query())
        with S.lock:
            rt = S.request_tokens.get(d.get("oauth_token", ""))
            if rt is None:
                return self.reply(400, "<p>Oops! Flickr does not know that request token.</p>",
                                  "text/html")
            perms = d.get("perms", "")
            if perms not in ("read", "write", "delete"):
                return self.reply(400, "<p>perms must be read, write or delete</p>", "text/html")
            rt["user"], rt["perms"] = S.default_user, perms
            rt["verifier"] = "%03d-%03d-%03d" % tuple(secrets.randbelow(1000) for _ in range(3))
            verifier = rt["verifier"]
        return self.reply(200, "<!doctype html><title>Flickr</title><p>Your code:</p>"
                          "<code id=\"verifier\">%s</code>" % verifier, "text/html; charset=utf-8")

    # ---- routing --------------------------------------------------------
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        if S.latency_s:
            time.sleep(S.latency_s)
        path = self.path.split("?", 1)[0]
        try:
            if path.startswith("/_control/"):
                return self.control(path[len("/_control/"):])
            if path == "/services/oauth/request_token":
                return self.oauth_endpoint("request_token")
            if path == "/services/oauth/access_token":
                return self.oauth_endpoint("access_token")
            if path == "/services/oauth/authorize":
                return self.authorize()
            if path == "/services/rest/" or path == "/services/rest":
                return self.rest()
            if path == "/services/upload/":
                return self.upload()
            m = re.match(r"^/photos/(\d+)/original$", path)
            if m:  # the Original URL redirects to the static file
                return self.reply(302, "", "text/plain", {"Location": "/static/%s" % m.group(1)})
            m = re.match(r"^/static/(\d+)$", path)
            if m:
                return self.static(m.group(1))
            return self.reply(404, "not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def static(self, pid):
        with S.lock:
            p = S.photos.get(pid)
        if p is None:
            return self.reply(404, "not found", "text/plain")
        with S.lock:
            S.downloads += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(p["size"]))
        self.end_headers()
        with open(p["file"], "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                self.wfile.write(b)

    def fail(self, code, message, wrap):
        return self.json_ok({"stat": "fail", "code": code, "message": message}, wrap)

    def json_ok(self, body, wrap):
        text = json.dumps(body)
        if wrap:
            text = "jsonFlickrApi(%s)" % text
        return self.reply(200, text, "application/json")

    def rest(self):
        params = self.query()
        params += parse_oauth_header(self.headers.get("Authorization", ""))
        if self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace")
            if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                return self.reply(415, "POST bodies are application/x-www-form-urlencoded", "text/plain")
            params += urllib.parse.parse_qsl(body, keep_blank_values=True)
        d = dict(params)
        method = d.get("method", "")
        wrap = d.get("nojsoncallback") != "1"
        with S.lock:
            S.requests[method] = S.requests.get(method, 0) + 1
        if d.get("format") != "json":
            return self.reply(200, '<?xml version="1.0" encoding="utf-8" ?>\n<rsp stat="fail">'
                              '<err code="111" msg="Format &quot;%s&quot; not found" /></rsp>'
                              % d.get("format", "rest"), "text/xml")
        wait = self.throttle()
        if wait is not None:
            return self.reply(429, "Too Many Requests", "text/plain", {"Retry-After": str(wait)})
        f = self.fault_for(method)
        if f and f.get("status"):
            return self.reply(f["status"], "<h1>Flickr is having a massage</h1>", "text/html")
        try:
            rec = self.check_oauth(params)
            handler = METHODS.get(method)
            if handler is None:
                raise FlickrFail(112, 'Method "%s" not found' % method)
            write = method in WRITE_METHODS
            if write and self.command != "POST":
                raise FlickrFail(99, "Insufficient permissions: write methods must be POSTed")
            if write and rec["perms"] not in ("write", "delete"):
                raise FlickrFail(99, "Insufficient permissions. Method requires write privileges")
            with S.lock:
                body = handler(d, rec["user"])
        except FlickrFail as e:
            return self.fail(e.code, e.message, wrap)
        body["stat"] = "ok"
        return self.json_ok(body, wrap)

    # ---- upload ---------------------------------------------------------
    def upload_fail(self, code, msg):
        self.reply(200, '<?xml version="1.0" encoding="utf-8" ?>\n<rsp stat="fail">\n'
                   '\t<err code="%d" msg="%s" />\n</rsp>\n' % (code, msg), "text/xml; charset=utf-8")

    def read_multipart(self, total, boundary, fault):
        """Streams the body: fields into a dict, `photo` into a file. Returns
        (fields, photo_path, photo_size, photo_name), or None when the
        connection was dropped (a fault) or the body was cut short."""
        delim = b"\r\n--" + boundary
        drop_after = fault.get("drop_after") if fault else None
        fields, name, out_path, size = {}, "", None, 0
        fd, tmp = tempfile.mkstemp(dir=S.data, prefix="upload-")
        os.close(fd)
        buf, got = b"\r\n", 0  # so the first boundary reads like every other
        state, part, value, sink = "preamble", None, bytearray(), None

        def give_up():
            if sink is not None:
                sink.close()
            os.unlink(tmp)
            return None

        while True:
            while True:
                if state in ("preamble", "body"):
                    i = buf.find(delim)
                    if i < 0:
                        keep = len(delim) - 1
                        if len(buf) > keep:
                            data, buf = buf[:len(buf) - keep], buf[len(buf) - keep:]
                            if state == "body" and sink is not None:
                                sink.write(data)
                                size += len(data)
                            elif state == "body":
                                value.extend(data)
                        break
                    data, buf = buf[:i], buf[i + len(delim):]
                    if state == "body" and sink is not None:
                        sink.write(data)
                        size += len(data)
                        sink.close()
                        sink = None
                    elif state == "body":
                        fields[part] = bytes(value + data).decode("utf-8", "replace")
                        value = bytearray()
                    state = "delim"
                if state == "delim":
                    if len(buf) < 2:
                        break
                    if buf[:2] == b"--":
                        state = "done"
                        break
                    if buf[:2] != b"\r\n":
                        return give_up()
                    buf, state = buf[2:], "headers"
                if state == "headers":
                    j = buf.find(b"\r\n\r\n")
                    if j < 0:
                        break
                    head, buf = buf[:j].decode("utf-8", "replace"), buf[j + 4:]
                    m = re.search(r'name="([^"]*)"', head)
                    part = m.group(1) if m else ""
                    if part == "photo":
                        fm = re.search(r'filename="([^"]*)"', head)
                        name = fm.group(1) if fm else ""
                        sink, out_path, size = open(tmp, "wb"), tmp, 0
                    else:
                        value = bytearray()
                    state = "body"
            if state == "done":
                while got < total:
                    chunk = self.rfile.read(min(1 << 20, total - got))
                    if not chunk:
                        break
                    got += len(chunk)
                if out_path is None:
                    os.unlink(tmp)
                return fields, out_path, size, name
            if got >= total:
                return give_up()
            want = min(1 << 20, total - got)
            if drop_after is not None:
                want = min(want, drop_after - got)
                if want <= 0:
                    self.drop()
                    return give_up()
            chunk = self.rfile.read(want)
            if not chunk:
                return give_up()
            got += len(chunk)
            buf += chunk

    def upload(self):
        if self.command != "POST":
            return self.reply(405, "POST only", "text/plain")
        with S.lock:
            S.requests["upload"] = S.requests.get("upload", 0) + 1
        wait = self.throttle()
        f = self.fault_for("upload")
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r"boundary=\"?([^\";]+)\"?", ctype)
        cl = self.headers.get("Content-Length")
        if not ctype.startswith("multipart/form-data") or not m or cl is None:
            self.close_connection = True
            return self.upload_fail(2, "No photo specified")
        if wait is not None or (f and f.get("status")):
            left = int(cl)
            while left > 0:  # read the body first: curl is still sending it
                chunk = self.rfile.read(min(1 << 20, left))
                if not chunk:
                    break
                left -= len(chunk)
            if wait is not None:
                return self.reply(429, "Too Many Requests", "text/plain", {"Retry-After": str(wait)})
            return self.reply(f["status"], "<h1>Upload servers are busy</h1>", "text/html")
        parsed = self.read_multipart(int(cl), m.group(1).encode(), f)
        if parsed is None:
            self.close_connection = True
            return
        fields, photo_path, size, name = parsed

        def discard():
            if photo_path and os.path.exists(photo_path):
                os.unlink(photo_path)

        signed = list(fields.items()) + self.query()
        signed = [(k, v) for k, v in signed if k != "photo"]
        signed += parse_oauth_header(self.headers.get("Authorization", ""))
        try:
            rec = self.check_oauth(signed)
            if rec["perms"] not in ("write", "delete"):
                raise FlickrFail(99, "User not logged in / Insufficient permissions")
        except FlickrFail as e:
            discard()
            return self.upload_fail(e.code, e.message)
        user = rec["user"]
        if photo_path is None:
            return self.upload_fail(2, "No photo specified")
        if size == 0:
            discard()
            return self.upload_fail(4, "Filesize was zero")
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if S.check_filetype and ext not in PHOTO_EXT | VIDEO_EXT:
            discard()
            return self.upload_fail(5, "Filetype was not recognised")
        if size > (MAX_VIDEO if ext in VIDEO_EXT else MAX_PHOTO):
            discard()
            return self.upload_fail(8, "Filesize was too large")
        with S.lock:
            mine = sum(1 for p in S.photos.values() if p["owner"] == user)
            pending = sum(1 for t in S.tickets.values() if t["user"] == user and t["photo"] is None
                          and not t["failed"])
            if S.max_items and mine + pending >= S.max_items:
                discard()
                return self.upload_fail(6, "User exceeded upload limit")
            S.uploads += 1
            S.upload_bytes += size
            h = hashlib.sha256()
            with open(photo_path, "rb") as fh:
                for b in iter(lambda: fh.read(1 << 20), b""):
                    h.update(b)
            pid = S.new_id()
            final = os.path.join(S.data, "photo-" + pid)
            os.rename(photo_path, final)
            photo = {
                "id": pid, "owner": user, "secret": secrets.token_hex(5),
                "originalsecret": secrets.token_hex(5), "format": ext or "jpg",
                "title": fields.get("title", name), "description": fields.get("description", ""),
                "tags": [normalize_tag(t) for t in split_tags(fields.get("tags", ""))],
                "tag_ids": {},
                # Private unless the request says otherwise (the strict reading).
                "is_public": 1 if fields.get("is_public") == "1" else 0,
                "is_friend": 1 if fields.get("is_friend") == "1" else 0,
                "is_family": 1 if fields.get("is_family") == "1" else 0,
                "size": size, "sha256": h.hexdigest(), "file": final, "uploaded": time.time(),
            }
            if fields.get("async") == "1":
                tid = "%s-%s" % (S.new_id(), "72157")
                failed = bool(f and f.get("ticket_failed"))
                S.tickets[tid] = {"ready_at": time.time() + S.ticket_delay, "photo": photo,
                                  "failed": failed, "user": user, "photoid": None}
                body = "<ticketid>%s</ticketid>" % tid
            else:
                photo["searchable_at"] = time.time() + S.search_lag
                S.photos[pid] = photo
                body = "<photoid>%s</photoid>" % pid
        self.reply(200, '<?xml version="1.0" encoding="utf-8" ?>\n<rsp stat="ok">\n%s\n</rsp>\n'
                   % body, "text/xml; charset=utf-8")

    # ---- control --------------------------------------------------------
    def control(self, what):
        body = {}
        if self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n)
            body = json.loads(raw) if raw.strip() else {}
        with S.lock:
            if what == "stats":
                return self.reply(200, {
                    "uploads": S.uploads, "upload_bytes": S.upload_bytes, "requests": S.requests,
                    "throttled": S.throttled, "throttled_after_retry_after": S.throttled_after,
                    "photos": len(S.photos), "sets": len(S.sets), "downloads": S.downloads,
                    "signature_failures": S.signature_failures})
            if what == "photos":
                out = []
                for p in S.photos.values():
                    q = {k: p[k] for k in ("id", "owner", "title", "description", "tags", "is_public",
                                           "is_friend", "is_family", "size", "sha256")}
                    q["sets"] = [s["title"] for s in S.sets.values() if p["id"] in s["photos"]]
                    out.append(q)
                return self.reply(200, out)
            if what == "sets":
                return self.reply(200, [dict(s) for s in S.sets.values()])
            if what == "user":
                user = S.new_user(body.get("name", "tester"))
                tok = S.issue_access(user, body.get("perms", "write"))
                return self.reply(200, {"user_id": user, "oauth_token": tok,
                                        "oauth_token_secret": S.access_tokens[tok]["secret"]})
            if what == "config":
                for k in ("ticket_delay", "budget", "window", "max_items", "search_lag"):
                    if k in body:
                        setattr(S, k, body[k])
                if "latency_ms" in body:
                    S.latency_s = body["latency_ms"] / 1000.0
                if "page_size" in body:
                    S.page_size_cap = int(body["page_size"])
                if "budget" in body:
                    S.window_start, S.window_count = time.time(), 0
                return self.reply(200, {})
            if what == "fault":
                S.faults.append(dict(body))
                return self.reply(200, {})
            if what == "delete_set":
                S.sets.pop(str(body.get("id")), None)
                return self.reply(200, {})
            if what == "seed":
                return self.reply(200, {"ids": seed(body)})
        return self.reply(404, {"error": "no control " + what})


def seed(body):
    """Photos (and their sets) as if the account had uploaded them; S.lock held."""
    user = body.get("user_id") or S.default_user
    ids = []
    for i, spec in enumerate(body.get("photos", [])):
        if "content_b64" in spec:
            data = base64.b64decode(spec["content_b64"])
        else:
            data = spec.get("content", "").encode()
        pid = S.new_id()
        final = os.path.join(S.data, "photo-" + pid)
        with open(final, "wb") as f:
            f.write(data)
        uploaded = float(spec.get("uploaded", time.time()))
        S.photos[pid] = {
            "id": pid, "owner": user, "secret": secrets.token_hex(5),
            "originalsecret": secrets.token_hex(5), "format": spec.get("format", "jpg"),
            "title": spec.get("title", "photo %d" % i), "description": "", "tags": [],
            "tag_ids": {}, "is_public": 0, "is_friend": 0, "is_family": 0, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "file": final, "uploaded": uploaded,
            "taken": spec.get("taken", ""), "searchable_at": 0}
        for title in spec.get("sets", []):
            s = next((s for s in S.sets.values() if s["owner"] == user and s["title"] == title),
                     None)
            if s is None:
                sid = "72157%s" % S.new_id()
                S.sets[sid] = {"id": sid, "owner": user, "title": title, "description": "",
                               "primary": pid, "photos": [],
                               "created": time.time() + len(S.sets) * 1e-6}
                s = S.sets[sid]
            s["photos"].append(pid)
        ids.append(pid)
    return ids


# ---- REST methods (called with S.lock held) ----------------------------------
def settle_tickets():
    now = time.time()
    for t in S.tickets.values():
        if t["photoid"] is None and not t["failed"] and now >= t["ready_at"]:
            p = t["photo"]
            p["searchable_at"] = now + S.search_lag
            S.photos[p["id"]] = p
            t["photoid"] = p["id"]


def own_photo(d, user, key="photo_id"):
    settle_tickets()
    p = S.photos.get(d.get(key, ""))
    if p is None or p["owner"] != user:
        raise FlickrFail(1, "Photo not found")
    return p


def user_of(d, user):
    uid = d.get("user_id", "")
    if uid not in ("me", user):  # this fake lists the caller's own photos only
        raise FlickrFail(2, "Unknown user")
    return user


def m_search(d, user):
    settle_tickets()
    user_of(d, user)
    now = time.time()  # the search index lags behind uploads by --search-lag
    mine = [p for p in S.photos.values()
            if p["owner"] == user and p.get("searchable_at", 0) <= now]
    if d.get("min_upload_date", ""):
        try:
            since = int(d["min_upload_date"])
        except ValueError:
            raise FlickrFail(3, "Invalid min_upload_date")  # strict: unix seconds only
        mine = [p for p in mine if int(p["uploaded"]) >= since]
    wanted = [normalize_tag(t) for t in d.get("machine_tags", "").split(",") if t.strip()]
    if wanted:
        mode_all = d.get("machine_tag_mode", "any") == "all"
        test = all if mode_all else any
        mine = [p for p in mine if test(t in p["tags"] for t in wanted)]
    mine.sort(key=lambda p: -p["uploaded"])
    extras = set(d.get("extras", "").split(","))
    meta, photos = paged(mine, d, lambda p: photo_json(p, extras))
    meta["photo"] = photos
    return {"photos": meta}


def m_get_photos(d, user):
    return m_search({k: v for k, v in d.items() if k != "machine_tags"}, user)


def m_check_tickets(d, user):
    settle_tickets()
    out = []
    for tid in d.get("tickets", "").split(","):
        t = S.tickets.get(tid)
        if t is None or t["user"] != user:
            out.append({"id": tid, "invalid": 1})
        elif t["failed"]:
            out.append({"id": tid, "complete": 2})
        elif t["photoid"]:
            out.append({"id": tid, "complete": 1, "photoid": t["photoid"], "imported": "1"})
        else:
            out.append({"id": tid, "complete": 0})
    return {"uploader": {"ticket": out}}


def m_get_sizes(d, user):
    p = own_photo(d, user)
    return {"sizes": {"canblog": 0, "canprint": 0, "candownload": 1, "size": [
        {"label": "Original", "width": 4000, "height": 3000, "media": "photo",
         "source": "http://%s/photos/%s/original" % (S.host, p["id"])}]}}


def m_delete(d, user):
    p = own_photo(d, user)
    del S.photos[p["id"]]
    os.unlink(p["file"])
    for sid in list(S.sets):
        s = S.sets[sid]
        if p["id"] in s["photos"]:
            s["photos"].remove(p["id"])
            if not s["photos"]:  # a set is never empty
                del S.sets[sid]
            elif s["primary"] == p["id"]:
                s["primary"] = s["photos"][0]
    return {}


def m_add_tags(d, user):
    p = own_photo(d, user)
    for t in split_tags(d.get("tags", "")):
        t = normalize_tag(t)
        if t not in p["tags"]:
            p["tags"].append(t)
    return {}


def m_remove_tag(d, user):
    tid = d.get("tag_id", "")
    for p in S.photos.values():
        if p["owner"] == user:
            for t in list(p["tags"]):
                if "%s-%s" % (p["id"], hashlib.sha1(t.encode()).hexdigest()[:10]) == tid:
                    p["tags"].remove(t)
                    return {}
    raise FlickrFail(1, "Photo not found")


def m_get_info(d, user):
    p = own_photo(d, user)
    tags = [{"id": "%s-%s" % (p["id"], hashlib.sha1(t.encode()).hexdigest()[:10]),
             "author": user, "raw": t, "_content": t.replace(":", "").replace("=", ""),
             "machine_tag": 1 if re.match(r"^[a-z0-9_]+:[a-z0-9_]+=", t) else 0} for t in p["tags"]]
    return {"photo": {"id": p["id"], "title": {"_content": p["title"]},
                      "description": {"_content": p["description"]},
                      "visibility": {"ispublic": p["is_public"], "isfriend": p["is_friend"],
                                     "isfamily": p["is_family"]},
                      "tags": {"tag": tags}}}


def m_set_meta(d, user):
    p = own_photo(d, user)
    if "title" in d:
        p["title"] = d["title"]
    if "description" in d:
        p["description"] = d["description"]
    return {}


def m_set_create(d, user):
    title = d.get("title", "")
    if not title:
        raise FlickrFail(1, "No title specified")
    try:
        p = own_photo(d, user, "primary_photo_id")
    except FlickrFail:
        raise FlickrFail(2, "Photo not found")
    sid = "72157%s" % S.new_id()
    S.sets[sid] = {"id": sid, "owner": user, "title": title,
                   "description": d.get("description", ""), "primary": p["id"],
                   "photos": [p["id"]], "created": time.time()}
    return {"photoset": {"id": sid, "url": "https://www.flickr.com/photos/%s/sets/%s/" % (user, sid)}}


def own_set(d, user):
    s = S.sets.get(d.get("photoset_id", ""))
    if s is None or s["owner"] != user:
        raise FlickrFail(1, "Photoset not found")
    return s


def m_set_add(d, user):
    s = own_set(d, user)
    try:
        p = own_photo(d, user)
    except FlickrFail:
        raise FlickrFail(2, "Photo not found")
    if p["id"] in s["photos"]:
        raise FlickrFail(3, "Photo already in set")
    s["photos"].append(p["id"])
    return {}


def m_set_list(d, user):
    sets = sorted((s for s in S.sets.values() if s["owner"] == user), key=lambda s: s["created"])
    meta, out = paged(sets, d, lambda s: {
        "id": s["id"], "primary": s["primary"], "photos": len(s["photos"]), "videos": 0,
        "title": {"_content": s["title"]}, "description": {"_content": s["description"]}})
    meta["photoset"] = out
    return {"photosets": meta}


def m_set_photos(d, user):
    s = own_set(d, user)
    extras = set(d.get("extras", "").split(","))
    items = [S.photos[i] for i in s["photos"] if i in S.photos]
    meta, out = paged(items, d, lambda p: dict(photo_json(p, extras), isprimary=int(p["id"] == s["primary"])))
    meta.update({"id": s["id"], "primary": s["primary"], "owner": user, "title": s["title"],
                 "photo": out})
    return {"photoset": meta}


def m_login(d, user):
    return {"user": {"id": user, "username": {"_content": S.users[user]["name"]}}}


METHODS = {
    "flickr.test.login": m_login,
    "flickr.photos.search": m_search,
    "flickr.people.getPhotos": m_get_photos,
    "flickr.photos.upload.checkTickets": m_check_tickets,
    "flickr.photos.getSizes": m_get_sizes,
    "flickr.photos.getInfo": m_get_info,
    "flickr.photos.delete": m_delete,
    "flickr.photos.addTags": m_add_tags,
    "flickr.photos.removeTag": m_remove_tag,
    "flickr.photos.setMeta": m_set_meta,
    "flickr.photosets.create": m_set_create,
    "flickr.photosets.addPhoto": m_set_add,
    "flickr.photosets.getList": m_set_list,
    "flickr.photosets.getPhotos": m_set_photos,
}
WRITE_METHODS = {"flickr.photos.delete", "flickr.photos.addTags", "flickr.photos.removeTag",
                 "flickr.photos.setMeta", "flickr.photosets.create", "flickr.photosets.addPhoto"}


def main():
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api-key", default="test-flickr-key")
    ap.add_argument("--api-secret", default="test-flickr-secret")
    ap.add_argument("--data", default="")
    ap.add_argument("--ticket-delay", type=float, default=0.2)
    ap.add_argument("--budget", type=int, default=3600)
    ap.add_argument("--window", type=float, default=3600)
    ap.add_argument("--max-items", type=int, default=0)
    ap.add_argument("--search-lag", type=float, default=0,
                    help="seconds before a new photo shows in search and lists (getInfo: at once)")
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--check-filetype", action="store_true")
    args = ap.parse_args()
    S = State(args)
    S.host = "127.0.0.1:%d" % args.port
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    fake_common.exit_with_parent()
    srv.serve_forever()


if __name__ == "__main__":
    main()
