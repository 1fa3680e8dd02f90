#include "workers/connectors/webdav.h"

#include <curl/curl.h>
#include <expat.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"
#include "workers/connectors/http_util.h"

namespace shoebox::worker {
namespace webdav_internal {

std::string EncodeSegment(absl::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size() * 3);
  for (unsigned char c : segment) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string EncodePath(absl::string_view path) {
  std::string out;
  bool first = true;
  for (absl::string_view seg : absl::StrSplit(path, '/')) {
    if (!first) out.push_back('/');
    first = false;
    out += EncodeSegment(seg);
  }
  return out;
}

std::string PercentDecode(absl::string_view s) {
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string PickChecksum(absl::string_view oc_checksums) {
  std::string best;
  int best_rank = 0;
  for (absl::string_view item : absl::StrSplit(oc_checksums, absl::ByAnyChar(" \t\n\r"), absl::SkipEmpty())) {
    size_t colon = item.find(':');
    if (colon == absl::string_view::npos || colon + 1 == item.size()) continue;
    std::string algo = absl::AsciiStrToLower(item.substr(0, colon));
    int rank = algo == "sha256" ? 3 : algo == "sha1" ? 2 : algo == "md5" ? 1 : 0;
    if (rank > best_rank) {
      best_rank = rank;
      best = absl::StrCat(algo, ":", absl::AsciiStrToLower(item.substr(colon + 1)));
    }
  }
  return best;
}

namespace {

struct ParseState {
  std::vector<DavEntry> entries;
  bool in_response = false;
  std::string text;
  DavEntry cur;
};

constexpr absl::string_view kDav = "DAV: ";
constexpr absl::string_view kOc = "http://owncloud.org/ns ";

void XMLCALL OnStart(void* ud, const XML_Char* name, const XML_Char** /*atts*/) {
  auto* st = static_cast<ParseState*>(ud);
  absl::string_view n(name);
  st->text.clear();
  if (n == "DAV: response") {
    st->in_response = true;
    st->cur = DavEntry{};
  } else if (n == "DAV: collection" && st->in_response) {
    st->cur.collection = true;
  }
}

void XMLCALL OnEnd(void* ud, const XML_Char* name) {
  auto* st = static_cast<ParseState*>(ud);
  absl::string_view n(name);
  if (!st->in_response) return;
  std::string value(absl::StripAsciiWhitespace(st->text));
  if (n == "DAV: response") {
    st->entries.push_back(std::move(st->cur));
    st->in_response = false;
  } else if (n == "DAV: href") {
    if (st->cur.href.empty()) st->cur.href = value;
  } else if (n == "DAV: getcontentlength") {
    uint64_t v = 0;
    if (!value.empty() && absl::SimpleAtoi(value, &v)) {
      st->cur.length = v;
      st->cur.has_length = true;
    }
  } else if (n == "DAV: getlastmodified") {
    if (!value.empty()) {
      time_t t = curl_getdate(value.c_str(), nullptr);
      if (t > 0) st->cur.mtime_ns = static_cast<int64_t>(t) * 1000000000LL;
    }
  } else if (n == "DAV: getetag") {
    if (!value.empty()) st->cur.etag = value;
  } else if (absl::StartsWith(n, kOc) && n.substr(kOc.size()) == "checksum") {
    std::string c = PickChecksum(value);
    if (!c.empty()) st->cur.checksum = c;
  } else if (n == absl::StrCat(kShoeboxNs, " sha256")) {
    st->cur.recorded_sha256 = absl::AsciiStrToLower(value);
  } else if (n == absl::StrCat(kShoeboxNs, " etag")) {
    st->cur.recorded_etag = value;
  }
  st->text.clear();
}

void XMLCALL OnText(void* ud, const XML_Char* s, int len) {
  static_cast<ParseState*>(ud)->text.append(s, static_cast<size_t>(len));
}

}  // namespace

absl::StatusOr<std::vector<DavEntry>> ParseMultistatus(absl::string_view xml) {
  ParseState st;
  XML_Parser p = XML_ParserCreateNS(nullptr, ' ');
  if (p == nullptr) return absl::ResourceExhaustedError("cannot create an XML parser");
  XML_SetUserData(p, &st);
  XML_SetElementHandler(p, OnStart, OnEnd);
  XML_SetCharacterDataHandler(p, OnText);
  bool ok = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_OK;
  std::string err = ok ? "" : XML_ErrorString(XML_GetErrorCode(p));
  XML_ParserFree(p);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("WebDAV server sent a PROPFIND answer that is not valid XML (", err,
                     "); is the URL a WebDAV endpoint? First bytes: ", xml.substr(0, 200)));
  }
  return std::move(st.entries);
}

std::string EffectiveChecksum(const DavEntry& e) {
  if (e.recorded_sha256.size() == 64 && !e.etag.empty() && e.recorded_etag == e.etag) {
    return absl::StrCat("sha256:", e.recorded_sha256);
  }
  return e.checksum;
}

}  // namespace webdav_internal

namespace {

using webdav_internal::DavEntry;
using webdav_internal::EncodePath;
using webdav_internal::PercentDecode;

constexpr absl::string_view kTempPrefix = ".shoebox-tmp-";
constexpr long kRetryAfterCapSeconds = 3600;

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

void GlobalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status MaybeRetryAfter(absl::Status s, std::optional<uint32_t> ms) {
  return ms.has_value() ? WithRetryAfter(std::move(s), *ms) : s;
}

// Retry-After: delta-seconds or an HTTP date.
std::optional<uint32_t> ParseRetryAfter(const std::string& v) {
  if (v.empty()) return std::nullopt;
  long secs = 0;
  if (absl::SimpleAtoi(v, &secs)) {
    if (secs < 0) return std::nullopt;
  } else {
    time_t t = curl_getdate(v.c_str(), nullptr);
    if (t <= 0) return std::nullopt;
    secs = std::max<long>(0, static_cast<long>(t - time(nullptr)));
  }
  return static_cast<uint32_t>(std::min(secs, kRetryAfterCapSeconds) * 1000);
}

}  // namespace

namespace webdav_internal {

absl::Status StatusForHttp(long code, absl::string_view retry_after, absl::string_view body,
                           absl::string_view what) {
  std::string detail = absl::StrCat(what, ": HTTP ", code);
  body = absl::StripAsciiWhitespace(body);
  if (!body.empty()) absl::StrAppend(&detail, " (", body.substr(0, 300), ")");
  auto retry = ParseRetryAfter(std::string(retry_after));
  switch (code) {
    case 401:
      return absl::UnauthenticatedError(absl::StrCat(
          detail, "; the server refused the user name or password: update the destination's credentials"));
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat(detail, "; the account may not write here: check its permissions on the server"));
    case 404:
    case 410:
      return absl::NotFoundError(detail);
    case 408:
      return MaybeRetryAfter(absl::UnavailableError(detail), retry);
    case 413:
      return absl::FailedPreconditionError(
          absl::StrCat(detail, "; the server refuses a file this large (raise its upload limit)"));
    case 423:
      return MaybeRetryAfter(absl::UnavailableError(absl::StrCat(detail, "; the resource is locked")), retry);
    case 429:
      return MaybeRetryAfter(absl::ResourceExhaustedError(absl::StrCat(detail, "; rate limited")), retry);
    case 507:
      return absl::FailedPreconditionError(
          absl::StrCat(detail, "; the account's storage is full: free space or raise the quota"));
    default:
      break;
  }
  if (code >= 500) return MaybeRetryAfter(absl::UnavailableError(detail), retry);
  return absl::FailedPreconditionError(detail);
}

}  // namespace webdav_internal

namespace {

struct HttpResult {
  long code = 0;
  std::string body;  // the body, unless it went to a sink
  std::string retry_after;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string body;  // small request body (PROPFIND)
  // Streamed request body: `src_len` bytes read from `src` at its current
  // position.
  ByteSource* src = nullptr;
  uint64_t src_len = 0;
  std::function<void(uint64_t)> on_sent;  // cumulative bytes of src sent
  // 2xx response bodies go here instead of HttpResult::body.
  const std::function<absl::Status(std::string_view)>* sink = nullptr;
};

struct TransferState {
  const HttpRequest* req;
  CURL* curl;
  size_t body_pos = 0;
  uint64_t sent = 0;
  uint64_t last_report = 0;
  absl::Status src_status;
  absl::Status sink_status;
  HttpResult* result;
};

size_t ReadCb(char* buf, size_t size, size_t nitems, void* ud) {
  auto* t = static_cast<TransferState*>(ud);
  size_t max = size * nitems;
  const HttpRequest& r = *t->req;
  if (r.src == nullptr) {
    size_t n = std::min(max, r.body.size() - t->body_pos);
    memcpy(buf, r.body.data() + t->body_pos, n);
    t->body_pos += n;
    return n;
  }
  if (t->sent >= r.src_len) return 0;
  max = static_cast<size_t>(std::min<uint64_t>(max, r.src_len - t->sent));
  auto n = r.src->Read(reinterpret_cast<uint8_t*>(buf), max);
  if (!n.ok()) {
    t->src_status = n.status();
    return CURL_READFUNC_ABORT;
  }
  if (*n == 0) {
    t->src_status = absl::DataLossError(
        absl::StrCat("the file's bytes ended after ", t->sent, " of ", r.src_len, " bytes"));
    return CURL_READFUNC_ABORT;
  }
  t->sent += *n;
  if (r.on_sent && (t->sent - t->last_report >= (1u << 20) || t->sent == r.src_len)) {
    t->last_report = t->sent;
    r.on_sent(t->sent);
  }
  return *n;
}

size_t WriteCb(char* ptr, size_t size, size_t nmemb, void* ud) {
  auto* t = static_cast<TransferState*>(ud);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (t->req->sink != nullptr && code >= 200 && code < 300) {
    absl::Status s = (*t->req->sink)(std::string_view(ptr, n));
    if (!s.ok()) {
      t->sink_status = s;
      return 0;  // aborts the transfer
    }
    return n;
  }
  if (t->result->body.size() < (64u << 20)) t->result->body.append(ptr, n);
  return n;
}

size_t HeaderCb(char* buf, size_t size, size_t nitems, void* ud) {
  auto* t = static_cast<TransferState*>(ud);
  absl::string_view line(buf, size * nitems);
  if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
    t->result->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  return size * nitems;
}

class CurlPool {
 public:
  ~CurlPool() {
    for (CURL* c : free_) curl_easy_cleanup(c);
  }
  CURL* Take() {
    {
      absl::MutexLock l(&mu_);
      if (!free_.empty()) {
        CURL* c = free_.back();
        free_.pop_back();
        curl_easy_reset(c);
        return c;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* c) {
    absl::MutexLock l(&mu_);
    free_.push_back(c);
  }

 private:
  absl::Mutex mu_;
  std::vector<CURL*> free_ ABSL_GUARDED_BY(mu_);
};

struct Options {
  std::string url;  // as configured, without trailing '/'
  std::string origin;        // "https://host:port"
  std::string base_path;     // raw (encoded) path, "" or "/a/b"
  std::string base_decoded;  // decoded
  std::string user;
  std::string password;
  bool nextcloud = false;
  uint64_t chunk_size = 16ull << 20;
  std::string uploads_url;  // no trailing '/'
  std::string ca_file;
  long timeout_s = 60;
};

class WebDavConnector final : public Connector {
 public:
  explicit WebDavConnector(Options o) : o_(std::move(o)) { GlobalCurlInit(); }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override;
  std::string Describe() const override {
    return absl::StrCat(o_.nextcloud ? "nextcloud " : "webdav ", o_.url,
                        o_.user.empty() ? "" : absl::StrCat(" as ", o_.user));
  }

 private:
  std::string UrlFor(absl::string_view path) const {
    if (path.empty()) return o_.url + "/";
    return absl::StrCat(o_.url, "/", EncodePath(path));
  }
  absl::StatusOr<HttpResult> Perform(const HttpRequest& req);
  // PROPFIND Depth 0 of a file; NOT_FOUND when absent or a folder.
  absl::StatusOr<DavEntry> StatEntry(const std::string& remote_path);
  // Records the file's SHA-256 and current ETag as dead properties (see the
  // header); updates `entry` when the server took them. Best effort.
  void RecordChecksum(const std::string& remote_path, const std::string& sha256_hex, DavEntry* entry);
  // Maps a non-success HTTP status to a status naming `what` (e.g.
  // "PUT Photos/a.jpg").
  absl::Status HttpError(const HttpResult& r, absl::string_view what) const;
  absl::StatusOr<std::vector<DavEntry>> Propfind(const std::string& path, bool collection, int depth,
                                                 bool* not_found);
  // Relative path (decoded) of an href, or nullopt when it is outside the root.
  std::optional<std::string> RelativePath(const std::string& href) const;
  absl::Status PutSimple(const std::string& tmp_url, const PutRequest& req, ByteSource* src,
                         const std::function<void(const Progress&)>& progress);
  absl::Status PutNextcloudChunked(const std::string& final_url, const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress);
  absl::Status Move(const std::string& from_url, const std::string& to_url, absl::string_view what,
                    const std::vector<std::string>& extra_headers = {});
  void ForgetFolders() {
    absl::MutexLock l(&mu_);
    known_folders_.clear();
  }

  const Options o_;
  CurlPool pool_;
  std::atomic<bool> dead_props_refused_{false};
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> known_folders_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<HttpResult> WebDavConnector::Perform(const HttpRequest& req) {
  HttpResult result;
  CURL* c = pool_.Take();
  if (c == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  TransferState t{&req, c, 0, 0, 0, absl::OkStatus(), absl::OkStatus(), &result};
  curl_slist* hdrs = nullptr;
  for (const auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  SetCommonCurlOptions(c, static_cast<long>(o_.timeout_s), o_.user, o_.password, o_.ca_file);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  if (req.src != nullptr || req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadCb);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(req.src != nullptr ? req.src_len : req.body.size()));
    if (req.method != "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (!req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.code);
  curl_slist_free_all(hdrs);
  pool_.Give(c);
  if (!t.src_status.ok()) return t.src_status;
  if (!t.sink_status.ok()) return t.sink_status;
  if (rc != CURLE_OK) {
    std::string msg = absl::StrCat(req.method, " ", req.url, ": ", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return absl::FailedPreconditionError(
            absl::StrCat(msg, "; the server's TLS certificate is not trusted: fix the certificate or set "
                              "\"ca_file\" in the destination settings"));
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        return absl::InvalidArgumentError(absl::StrCat(msg, "; check the destination's \"url\""));
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
        return absl::UnavailableError(absl::StrCat(msg, "; is the WebDAV server running and reachable?"));
      default:
        return absl::UnavailableError(msg);
    }
  }
  return result;
}

absl::Status WebDavConnector::HttpError(const HttpResult& r, absl::string_view what) const {
  return webdav_internal::StatusForHttp(r.code, r.retry_after, r.body, absl::StrCat(what, " at ", Describe()));
}

std::optional<std::string> WebDavConnector::RelativePath(const std::string& href) const {
  absl::string_view h = href;
  size_t scheme = h.find("://");
  if (scheme != absl::string_view::npos) {
    size_t slash = h.find('/', scheme + 3);
    h = slash == absl::string_view::npos ? absl::string_view("/") : h.substr(slash);
  }
  std::string path = PercentDecode(h);
  absl::string_view p = path;
  if (!absl::ConsumePrefix(&p, o_.base_decoded)) return std::nullopt;
  if (!p.empty() && p.front() != '/') return std::nullopt;
  p = absl::StripPrefix(p, "/");
  p = absl::StripSuffix(p, "/");
  return std::string(p);
}

absl::StatusOr<std::vector<DavEntry>> WebDavConnector::Propfind(const std::string& path, bool collection,
                                                                int depth, bool* not_found) {
  HttpRequest req;
  req.method = "PROPFIND";
  req.url = UrlFor(path);
  if (collection && req.url.back() != '/') req.url.push_back('/');
  req.headers = {absl::StrCat("Depth: ", depth), "Content-Type: application/xml; charset=utf-8"};
  req.body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:sb=\"" +
      std::string(webdav_internal::kShoeboxNs) +
      "\"><d:prop>"
      "<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/><sb:sha256/><sb:etag/>"
      + std::string(o_.nextcloud ? "<oc:checksums/>" : "") + "</d:prop></d:propfind>";
  ASSIGN_OR_RETURN(HttpResult r, Perform(req));
  *not_found = false;
  if (r.code == 404) {
    *not_found = true;
    return std::vector<DavEntry>{};
  }
  if (r.code != 207) {
    if (r.code >= 200 && r.code < 300) {
      return absl::FailedPreconditionError(absl::StrCat("PROPFIND ", PrintablePath(path), " at ", Describe(),
                                                        ": HTTP ", r.code,
                                                        " instead of 207 Multi-Status; is the URL a WebDAV "
                                                        "collection?"));
    }
    return HttpError(r, absl::StrCat("PROPFIND ", PrintablePath(path)));
  }
  return webdav_internal::ParseMultistatus(r.body);
}

absl::Status WebDavConnector::EnsureFolder(const std::string& folder) {
  absl::string_view f = absl::StripSuffix(absl::StripPrefix(folder, "/"), "/");
  if (f.empty()) return absl::OkStatus();
  std::vector<absl::string_view> parts = absl::StrSplit(f, '/');
  std::string prefix;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) prefix.push_back('/');
    prefix.append(parts[i].data(), parts[i].size());
    {
      absl::MutexLock l(&mu_);
      if (known_folders_.contains(prefix)) continue;
    }
    HttpRequest req;
    req.method = "MKCOL";
    req.url = UrlFor(prefix) + "/";
    ASSIGN_OR_RETURN(HttpResult r, Perform(req));
    // 201 created; 405 (Apache, Nextcloud) or 301 means it exists already.
    if (r.code == 201 || r.code == 405 || r.code == 301) {
      absl::MutexLock l(&mu_);
      known_folders_.insert(prefix);
      continue;
    }
    if (r.code == 409 && i == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the destination folder ", o_.url, " does not exist on the WebDAV server (MKCOL ", PrintablePath(prefix),
          " gave HTTP 409); create it or correct the destination's \"url\""));
    }
    if (r.code == 409) {
      // A parent we believed existed is gone (deleted behind our back).
      ForgetFolders();
      return absl::UnavailableError(absl::StrCat("MKCOL ", PrintablePath(prefix), " at ", Describe(),
                                                 ": HTTP 409, a parent folder disappeared; retry"));
    }
    return HttpError(r, absl::StrCat("MKCOL ", PrintablePath(prefix)));
  }
  return absl::OkStatus();
}

absl::Status WebDavConnector::Move(const std::string& from_url, const std::string& to_url, absl::string_view what,
                                   const std::vector<std::string>& extra_headers) {
  HttpRequest req;
  req.method = "MOVE";
  req.url = from_url;
  req.headers = {absl::StrCat("Destination: ", to_url), "Overwrite: T"};
  for (const auto& h : extra_headers) req.headers.push_back(h);
  ASSIGN_OR_RETURN(HttpResult r, Perform(req));
  if (r.code == 201 || r.code == 204 || r.code == 200) return absl::OkStatus();
  return HttpError(r, absl::StrCat("MOVE ", what));
}

absl::Status WebDavConnector::PutSimple(const std::string& tmp_url, const PutRequest& req, ByteSource* src,
                                        const std::function<void(const Progress&)>& progress) {
  HttpRequest hr;
  hr.method = "PUT";
  hr.url = tmp_url;
  hr.headers = {"Content-Type: application/octet-stream"};
  if (o_.nextcloud && req.mtime_ns > 0) hr.headers.push_back(absl::StrCat("X-OC-Mtime: ", req.mtime_ns / 1000000000));
  hr.src = src;
  hr.src_len = src->size();
  if (progress) hr.on_sent = [&](uint64_t n) { progress(Progress{n}); };
  RETURN_IF_ERROR(src->Rewind());
  ASSIGN_OR_RETURN(HttpResult r, Perform(hr));
  if (r.code == 201 || r.code == 204 || r.code == 200) return absl::OkStatus();
  if (r.code == 409 || r.code == 404) {
    ForgetFolders();  // the folder vanished; the caller's retry re-creates it
    return absl::UnavailableError(absl::StrCat("PUT ", PrintablePath(req.remote_path), " at ", Describe(),
                                               ": HTTP ", r.code, ", the target folder is missing; retry"));
  }
  return HttpError(r, absl::StrCat("PUT ", PrintablePath(req.remote_path)));
}

absl::Status WebDavConnector::PutNextcloudChunked(const std::string& final_url, const PutRequest& req,
                                                  ByteSource* src,
                                                  const std::function<void(const Progress&)>& progress) {
  // Nextcloud chunked upload v2: MKCOL uploads/<user>/<id>, PUT numbered
  // chunks, MOVE <id>/.file to the destination (assembled atomically).
  uint8_t rnd[12];
  SecureRandom(rnd, sizeof(rnd));
  std::string dir = absl::StrCat(o_.uploads_url, "/shoebox-", ToHex(ByteSpan(rnd, sizeof(rnd))));
  std::string dest = absl::StrCat("Destination: ", final_url);
  std::string total = absl::StrCat("OC-Total-Length: ", req.size);
  {
    HttpRequest mk;
    mk.method = "MKCOL";
    mk.url = dir + "/";
    mk.headers = {dest};
    ASSIGN_OR_RETURN(HttpResult r, Perform(mk));
    if (r.code != 201) return HttpError(r, absl::StrCat("MKCOL upload folder for ", PrintablePath(req.remote_path)));
  }
  auto cleanup = [&] {
    HttpRequest del;
    del.method = "DELETE";
    del.url = dir + "/";
    (void)Perform(del);
  };
  RETURN_IF_ERROR(src->Rewind());
  uint64_t offset = 0;
  int index = 1;
  while (offset < req.size) {
    uint64_t len = std::min<uint64_t>(o_.chunk_size, req.size - offset);
    HttpRequest put;
    put.method = "PUT";
    put.url = absl::StrCat(dir, "/", index);
    put.headers = {dest, total, "Content-Type: application/octet-stream"};
    put.src = src;
    put.src_len = len;
    if (progress) put.on_sent = [&, base = offset](uint64_t n) { progress(Progress{base + n}); };
    auto r = Perform(put);
    if (!r.ok()) {
      cleanup();
      return r.status();
    }
    if (r->code != 201 && r->code != 204) {
      cleanup();
      return HttpError(*r, absl::StrCat("PUT chunk ", index, " of ", PrintablePath(req.remote_path)));
    }
    offset += len;
    ++index;
  }
  std::vector<std::string> extra = {total};
  if (req.mtime_ns > 0) extra.push_back(absl::StrCat("X-OC-Mtime: ", req.mtime_ns / 1000000000));
  absl::Status s = Move(dir + "/.file", final_url, PrintablePath(req.remote_path), extra);
  if (!s.ok()) cleanup();
  return s;
}

absl::StatusOr<RemoteObject> WebDavConnector::Put(const PutRequest& req, ByteSource* src,
                                                  const std::function<void(const Progress&)>& progress) {
  if (src->size() != req.size) {
    return absl::InvalidArgumentError(absl::StrCat("put ", PrintablePath(req.remote_path), ": source has ",
                                                   src->size(), " bytes but the request says ", req.size));
  }
  absl::string_view path = req.remote_path;
  size_t slash = path.rfind('/');
  std::string folder(slash == absl::string_view::npos ? "" : path.substr(0, slash));
  RETURN_IF_ERROR(EnsureFolder(folder));
  const std::string final_url = UrlFor(req.remote_path);
  if (o_.nextcloud && req.size > o_.chunk_size) {
    RETURN_IF_ERROR(PutNextcloudChunked(final_url, req, src, progress));
  } else {
    // The temporary name is derived from the path and the content: a retry
    // overwrites the leftover of an aborted attempt (some servers keep a
    // partial PUT), and an aborted attempt still winding down on the server
    // can only write the same bytes at the same offsets.
    // Without a SHA-256 the content is unknown: a random name.
    std::string tmp_name;
    if (req.sha256.size() == 32) {
      Digest d = Sha256::Of(absl::StrCat(req.remote_path, absl::string_view("\0", 1), req.sha256, ":", req.size));
      tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(d.data(), 8)));
    } else {
      uint8_t rnd[8];
      SecureRandom(rnd, sizeof(rnd));
      tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
    }
    std::string tmp_path = folder.empty() ? tmp_name : absl::StrCat(folder, "/", tmp_name);
    std::string tmp_url = UrlFor(tmp_path);
    absl::Status s = PutSimple(tmp_url, req, src, progress);
    if (s.ok()) s = Move(tmp_url, final_url, PrintablePath(req.remote_path));
    if (!s.ok()) {
      HttpRequest del;
      del.method = "DELETE";
      del.url = tmp_url;
      (void)Perform(del);  // best effort; leftovers are hidden from List
      if (s.code() == absl::StatusCode::kNotFound) {
        // Our temporary file vanished between PUT and MOVE (an aborted
        // attempt's cleanup on the server): retry.
        return absl::UnavailableError(absl::StrCat(s.message(), "; will retry"));
      }
      return s;
    }
  }
  ASSIGN_OR_RETURN(DavEntry e, StatEntry(req.remote_path));
  if (e.length != req.size) {
    return absl::UnavailableError(absl::StrCat("after uploading ", PrintablePath(req.remote_path), " to ",
                                               Describe(), " the server reports ", e.length, " bytes instead of ",
                                               req.size, "; retry"));
  }
  RecordChecksum(req.remote_path, ToHex(req.sha256), &e);
  RemoteObject obj;
  obj.remote_path = req.remote_path;
  obj.size = e.length;
  obj.mtime_ns = e.mtime_ns;
  obj.checksum = webdav_internal::EffectiveChecksum(e);
  obj.ref = final_url;
  return obj;
}

absl::StatusOr<RemoteObject> WebDavConnector::Stat(const std::string& remote_path) {
  ASSIGN_OR_RETURN(DavEntry e, StatEntry(remote_path));
  RemoteObject o;
  o.remote_path = remote_path;
  o.size = e.length;
  o.mtime_ns = e.mtime_ns;
  o.checksum = webdav_internal::EffectiveChecksum(e);
  o.ref = UrlFor(remote_path);
  return o;
}

absl::StatusOr<DavEntry> WebDavConnector::StatEntry(const std::string& remote_path) {
  bool not_found = false;
  ASSIGN_OR_RETURN(std::vector<DavEntry> entries, Propfind(remote_path, false, 0, &not_found));
  if (not_found || entries.empty()) {
    return absl::NotFoundError(absl::StrCat(PrintablePath(remote_path), " not found at ", Describe()));
  }
  const DavEntry& e = entries.front();
  if (e.collection) {
    return absl::NotFoundError(
        absl::StrCat(PrintablePath(remote_path), " at ", Describe(), " is a folder, not a file"));
  }
  return e;
}

void WebDavConnector::RecordChecksum(const std::string& remote_path, const std::string& sha256_hex,
                                     DavEntry* entry) {
  if (dead_props_refused_.load() || sha256_hex.size() != 64 || entry->etag.empty()) return;
  HttpRequest req;
  req.method = "PROPPATCH";
  req.url = UrlFor(remote_path);
  req.headers = {"Content-Type: application/xml; charset=utf-8"};
  req.body = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:propertyupdate xmlns:d=\"DAV:\" xmlns:sb=\"",
      webdav_internal::kShoeboxNs, "\"><d:set><d:prop><sb:sha256>", sha256_hex, "</sb:sha256><sb:etag>",
      XmlEscape(entry->etag), "</sb:etag></d:prop></d:set></d:propertyupdate>");
  auto r = Perform(req);
  if (!r.ok()) return;  // the upload itself succeeded; the checksum is a bonus
  if (r->code == 207 && absl::StrContains(r->body, " 200 ")) {
    entry->recorded_sha256 = sha256_hex;
    entry->recorded_etag = entry->etag;
  } else if (r->code == 207 || r->code == 403 || r->code == 405 || r->code == 501) {
    dead_props_refused_.store(true);  // e.g. rclone serve webdav: do not ask again
  }
}

absl::StatusOr<std::vector<RemoteObject>> WebDavConnector::List(const std::string& prefix) {
  std::vector<RemoteObject> out;
  std::vector<std::string> todo = {std::string(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"))};
  while (!todo.empty()) {
    std::string folder = std::move(todo.back());
    todo.pop_back();
    bool not_found = false;
    ASSIGN_OR_RETURN(std::vector<DavEntry> entries, Propfind(folder, true, 1, &not_found));
    if (not_found) continue;  // a missing folder holds no objects
    for (const DavEntry& e : entries) {
      std::optional<std::string> rel = RelativePath(e.href);
      if (!rel.has_value() || *rel == folder) continue;
      absl::string_view name = *rel;
      if (size_t s = name.rfind('/'); s != absl::string_view::npos) name = name.substr(s + 1);
      if (e.collection) {
        todo.push_back(*rel);
        continue;
      }
      if (absl::StartsWith(name, kTempPrefix)) continue;
      RemoteObject o;
      o.remote_path = *rel;
      o.size = e.length;
      o.mtime_ns = e.mtime_ns;
      o.checksum = webdav_internal::EffectiveChecksum(e);
      o.ref = UrlFor(*rel);
      out.push_back(std::move(o));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RemoteObject& a, const RemoteObject& b) { return a.remote_path < b.remote_path; });
  return out;
}

absl::Status WebDavConnector::Get(const std::string& remote_path,
                                  const std::function<absl::Status(std::string_view)>& sink) {
  HttpRequest req;
  req.url = UrlFor(remote_path);
  req.sink = &sink;
  ASSIGN_OR_RETURN(HttpResult r, Perform(req));
  if (r.code == 200) return absl::OkStatus();
  return HttpError(r, absl::StrCat("GET ", PrintablePath(remote_path)));
}

absl::Status WebDavConnector::Delete(const std::string& remote_path) {
  HttpRequest req;
  req.method = "DELETE";
  req.url = UrlFor(remote_path);
  ASSIGN_OR_RETURN(HttpResult r, Perform(req));
  if (r.code == 200 || r.code == 204 || r.code == 404) return absl::OkStatus();
  return HttpError(r, absl::StrCat("DELETE ", PrintablePath(remote_path)));
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("webdav", MakeWebDavConnector);

absl::StatusOr<std::unique_ptr<Connector>> MakeWebDavConnector(const nlohmann::json& settings,
                                                               const nlohmann::json& credentials) {
  auto str = [](const nlohmann::json& j, const char* key) -> std::string {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
    return j[key].get<std::string>();
  };
  Options o;
  o.url = std::string(absl::StripSuffix(str(settings, "url"), "/"));
  size_t scheme = o.url.find("://");
  if (o.url.empty() || scheme == std::string::npos ||
      !(absl::StartsWith(o.url, "http://") || absl::StartsWith(o.url, "https://"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("webdav destination: settings \"url\" must be an http:// or https:// URL of the target "
                     "folder, got \"",
                     o.url, "\""));
  }
  size_t path_start = o.url.find('/', scheme + 3);
  o.origin = o.url.substr(0, path_start);
  o.base_path = path_start == std::string::npos ? "" : o.url.substr(path_start);
  o.base_decoded = PercentDecode(o.base_path);
  o.user = str(credentials, "user");
  o.password = str(credentials, "password");
  o.ca_file = str(settings, "ca_file");
  if (settings.is_object()) {
    if (settings.contains("nextcloud") && settings["nextcloud"].is_boolean()) o.nextcloud = settings["nextcloud"];
    if (settings.contains("timeout_s") && settings["timeout_s"].is_number_integer()) {
      o.timeout_s = std::max<long>(1, settings["timeout_s"].get<long>());
    }
    if (settings.contains("chunk_size_mib") && settings["chunk_size_mib"].is_number_integer()) {
      long mib = settings["chunk_size_mib"].get<long>();
      if (mib < 5 || mib > 1024) {
        return absl::InvalidArgumentError(
            absl::StrCat("webdav destination ", o.url, ": \"chunk_size_mib\" must be 5..1024, got ", mib));
      }
      o.chunk_size = static_cast<uint64_t>(mib) << 20;
    }
  }
  if (o.nextcloud) {
    o.uploads_url = std::string(absl::StripSuffix(str(settings, "uploads_url"), "/"));
    if (o.uploads_url.empty()) {
      size_t files = o.url.find("/remote.php/dav/files/");
      if (files == std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "nextcloud destination ", o.url,
            ": cannot derive the chunked-upload URL; use a URL of the form "
            "https://HOST/remote.php/dav/files/USER/FOLDER or set \"uploads_url\""));
      }
      absl::string_view rest = absl::string_view(o.url).substr(files + strlen("/remote.php/dav/files/"));
      absl::string_view user = rest.substr(0, rest.find('/'));
      o.uploads_url = absl::StrCat(o.url.substr(0, files), "/remote.php/dav/uploads/", user);
    }
  }
  return std::unique_ptr<Connector>(new WebDavConnector(std::move(o)));
}

}  // namespace shoebox::worker
