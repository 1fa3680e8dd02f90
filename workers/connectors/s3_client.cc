#include "workers/connectors/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"

namespace shoebox::worker::s3 {

struct S3Client::Request {
  std::string method = "GET";
  std::string key;  // "" for bucket-level requests
  bool bucket_level = false;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  // Body: from memory, or `len` bytes from `src` (current position).
  absl::string_view body;
  ByteSource* src = nullptr;
  uint64_t src_len = 0;
  std::string payload_hash;  // empty: SHA-256 of `body`
  const std::function<absl::Status(std::string_view)>* sink = nullptr;
  const std::function<void(uint64_t)>* progress = nullptr;
};

struct S3Client::Response {
  long code = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

namespace {

std::string Hex(const Digest& d) { return ToHex(ByteSpan(d.data(), d.size())); }

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One curl handle per thread, so connections are reused across requests.
struct ThreadCurl {
  CURL* h = nullptr;
  ThreadCurl() {
    GlobalInit();
    h = curl_easy_init();
  }
  ~ThreadCurl() {
    if (h) curl_easy_cleanup(h);
  }
};
CURL* HandleForThisThread() {
  thread_local ThreadCurl tc;
  curl_easy_reset(tc.h);
  return tc.h;
}

struct Transfer {
  const S3Client::Request* req = nullptr;
  S3Client::Response* resp = nullptr;
  CURL* curl = nullptr;
  uint64_t sent = 0;
  absl::Status source_error;  // from the ByteSource or the sink
};

size_t ReadCb(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const S3Client::Request& r = *t->req;
  size_t max = size * nitems;
  if (r.src == nullptr) {
    size_t n = std::min<size_t>(max, r.body.size() - t->sent);
    std::memcpy(buf, r.body.data() + t->sent, n);
    t->sent += n;
    return n;
  }
  uint64_t left = r.src_len - t->sent;
  if (left == 0) return 0;
  size_t want = static_cast<size_t>(std::min<uint64_t>(max, left));
  absl::StatusOr<size_t> n = r.src->Read(reinterpret_cast<uint8_t*>(buf), want);
  if (!n.ok()) {
    t->source_error = n.status();
    return CURL_READFUNC_ABORT;
  }
  if (*n == 0) {
    t->source_error = absl::DataLossError(absl::StrCat(
        "the source ended after ", t->sent, " of ", r.src_len, " bytes; the upload was abandoned"));
    return CURL_READFUNC_ABORT;
  }
  t->sent += *n;
  if (r.progress && *r.progress) (*r.progress)(*n);
  return *n;
}

size_t WriteCb(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (t->req->sink != nullptr && code >= 200 && code < 300) {
    absl::Status s = (*t->req->sink)(std::string_view(ptr, n));
    if (!s.ok()) {
      t->source_error = s;
      return 0;  // aborts the transfer
    }
    return n;
  }
  if (t->resp->body.size() < (1 << 20)) t->resp->body.append(ptr, n);
  return n;
}

size_t HeaderCb(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nitems;
  absl::string_view line(buf, n);
  if (absl::StartsWith(line, "HTTP/")) {
    t->resp->headers.clear();  // a new response (after 100 Continue)
    return n;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    t->resp->headers[name] = value;
  }
  return n;
}

std::optional<uint32_t> ParseRetryAfter(const std::map<std::string, std::string>& h) {
  auto it = h.find("retry-after");
  if (it == h.end()) return std::nullopt;
  uint32_t secs = 0;
  if (!absl::SimpleAtoi(it->second, &secs)) return std::nullopt;
  return std::min<uint32_t>(secs, 24 * 3600) * 1000;
}

}  // namespace

std::string XmlUnescape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == absl::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    absl::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out.push_back('&');
    else if (ent == "lt") out.push_back('<');
    else if (ent == "gt") out.push_back('>');
    else if (ent == "quot") out.push_back('"');
    else if (ent == "apos") out.push_back('\'');
    else if (!ent.empty() && ent[0] == '#') {
      uint32_t cp = 0;
      bool ok = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                    ? absl::SimpleHexAtoi(ent.substr(2), &cp)
                    : absl::SimpleAtoi(ent.substr(1), &cp);
      if (!ok) {
        out.append(s.data() + i, semi - i + 1);
      } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    } else {
      out.append(s.data() + i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<absl::string_view> XmlBlocks(absl::string_view xml, absl::string_view tag) {
  std::vector<absl::string_view> out;
  std::string open = absl::StrCat("<", tag, ">");
  std::string close = absl::StrCat("</", tag, ">");
  size_t pos = 0;
  for (;;) {
    size_t a = xml.find(open, pos);
    if (a == absl::string_view::npos) break;
    a += open.size();
    size_t b = xml.find(close, a);
    if (b == absl::string_view::npos) break;
    out.push_back(xml.substr(a, b - a));
    pos = b + close.size();
  }
  return out;
}

std::string XmlText(absl::string_view xml, absl::string_view tag) {
  auto blocks = XmlBlocks(xml, tag);
  return blocks.empty() ? std::string() : XmlUnescape(blocks[0]);
}

S3Client::S3Client(S3Config config) : config_(std::move(config)) {}
S3Client::~S3Client() = default;

absl::StatusOr<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  if (config.bucket.empty()) {
    return absl::InvalidArgumentError("S3: the bucket is not set; set 'bucket' in the destination settings");
  }
  if (config.region.empty()) config.region = "us-east-1";
  if (config.endpoint.empty()) config.endpoint = absl::StrCat("https://s3.", config.region, ".amazonaws.com");
  if (config.part_size < (5ull << 20)) config.part_size = 5ull << 20;  // S3 minimum
  if (config.multipart_threshold < config.part_size) config.multipart_threshold = config.part_size;
  if (config.parallel_parts < 1) config.parallel_parts = 1;
  std::unique_ptr<S3Client> c(new S3Client(std::move(config)));
  absl::string_view ep = c->config_.endpoint;
  size_t sep = ep.find("://");
  if (sep == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("S3 endpoint '", ep,
                                                   "' must start with http:// or https://"));
  }
  c->scheme_ = absl::AsciiStrToLower(ep.substr(0, sep));
  if (c->scheme_ != "http" && c->scheme_ != "https") {
    return absl::InvalidArgumentError(absl::StrCat("S3 endpoint '", ep,
                                                   "' must start with http:// or https://"));
  }
  absl::string_view rest = ep.substr(sep + 3);
  size_t slash = rest.find('/');
  absl::string_view hostport = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    c->base_path_ = std::string(absl::StripSuffix(rest.substr(slash), "/"));
  }
  size_t colon = hostport.rfind(':');
  if (colon != absl::string_view::npos && hostport.find(']') == absl::string_view::npos) {
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), &c->port_)) {
      return absl::InvalidArgumentError(absl::StrCat("S3 endpoint '", ep, "': bad port"));
    }
    c->host_ = std::string(hostport.substr(0, colon));
  } else {
    c->host_ = std::string(hostport);
  }
  if (c->host_.empty()) return absl::InvalidArgumentError(absl::StrCat("S3 endpoint '", ep, "': no host"));
  return c;
}

std::string S3Client::ObjectName(const std::string& key) const {
  return absl::StrCat("s3://", config_.bucket, "/", PrintablePath(key), " at ", config_.endpoint);
}

std::string S3Client::Describe() const {
  return absl::StrCat("s3://", config_.bucket, " at ", config_.endpoint,
                      config_.path_style ? " (path style)" : " (virtual-host style)");
}

absl::StatusOr<S3Client::Response> S3Client::Perform(const Request& r) {
  CURL* curl = HandleForThisThread();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  Response resp;
  Transfer t;
  t.req = &r;
  t.resp = &resp;
  t.curl = curl;

  std::string host = config_.path_style ? host_ : absl::StrCat(config_.bucket, ".", host_);
  std::string host_header = port_ ? absl::StrCat(host, ":", port_) : host;
  std::string path = base_path_;
  if (config_.path_style) absl::StrAppend(&path, "/", config_.bucket);
  if (!r.bucket_level) {
    absl::StrAppend(&path, "/", r.key);
  } else if (!config_.path_style) {
    absl::StrAppend(&path, "/");
  }
  std::string payload_hash = r.payload_hash;
  if (payload_hash.empty()) payload_hash = config_.sign_payload ? Hex(Sha256::Of(StdView(r.body))) : kUnsignedPayload;
  std::string amz_date = AmzDateNow();

  SigV4Request sr;
  sr.method = r.method;
  sr.path = path;
  sr.query = r.query;
  sr.headers = {{"host", host_header}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}};
  if (!config_.credentials.session_token.empty()) {
    sr.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  for (const auto& h : r.headers) sr.headers.push_back(h);
  sr.payload_hash = payload_hash;
  SigV4Result sig = SignV4(sr, config_.credentials, config_.region, "s3", amz_date);

  std::string url = absl::StrCat(scheme_, "://", host_header, UriEncode(path, true));
  if (!r.query.empty()) {
    // Same encoding as signed; a key without value goes as "k" (not "k=").
    std::string q = CanonicalQueryString(r.query);
    std::vector<std::string> parts = absl::StrSplit(q, '&');
    for (auto& p : parts) {
      if (absl::EndsWith(p, "=")) p.pop_back();
    }
    absl::StrAppend(&url, "?", absl::StrJoin(parts, "&"));
  }

  struct curl_slist* hl = nullptr;
  for (const auto& [k, v] : sr.headers) hl = curl_slist_append(hl, absl::StrCat(k, ": ", v).c_str());
  hl = curl_slist_append(hl, absl::StrCat("Authorization: ", sig.authorization).c_str());
  hl = curl_slist_append(hl, "Expect:");
  bool has_ct = false;
  for (const auto& h : r.headers) has_ct |= absl::AsciiStrToLower(h.first) == "content-type";
  if (!has_ct) hl = curl_slist_append(hl, "Content-Type:");

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config_.stall_timeout_s));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, config_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, config_.verify_tls ? 2L : 0L);
  if (!config_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  struct curl_slist* resolve = nullptr;
  for (const auto& e : config_.resolve) resolve = curl_slist_append(resolve, e.c_str());
  if (resolve) curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);

  const uint64_t body_len = r.src ? r.src_len : r.body.size();
  if (r.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadCb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_len));
  } else if (r.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  } else if (r.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.code);
  curl_slist_free_all(hl);
  curl_slist_free_all(resolve);
  std::string what = absl::StrCat(r.method, " ", r.bucket_level ? absl::StrCat("s3://", config_.bucket, " at ", config_.endpoint) : ObjectName(r.key));
  if (!t.source_error.ok()) return Annotate(t.source_error, what);
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", detail, "; check the endpoint setting"));
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return absl::FailedPreconditionError(absl::StrCat(
            what, ": TLS verification failed (", detail, "); set ca_file or fix the server certificate"));
      default:
        return absl::UnavailableError(absl::StrCat(what, ": ", detail, " (network or server trouble; will retry)"));
    }
  }
  return resp;
}

absl::StatusOr<S3Client::Response> S3Client::PerformWithRetry(const Request& r) {
  // Requests without a streamed body are replayable: retry transient
  // failures a few times before reporting them.
  const int attempts = r.src ? 1 : 3;
  absl::StatusOr<Response> resp;
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * i)));
    resp = Perform(r);
    if (!resp.ok()) {
      if (resp.status().code() != absl::StatusCode::kUnavailable) return resp;
      continue;
    }
    if (resp->code >= 500 || resp->code == 429) continue;
    return resp;
  }
  return resp;
}

absl::Status S3Client::MapError(const Response& resp, const std::string& method,
                                const std::string& key) const {
  std::string code = XmlText(resp.body, "Code");
  std::string msg = XmlText(resp.body, "Message");
  std::string what = absl::StrCat(method, " ", key.empty() ? absl::StrCat("s3://", config_.bucket, " at ", config_.endpoint) : ObjectName(key));
  std::string detail = absl::StrCat("HTTP ", resp.code, code.empty() ? "" : " " + code, msg.empty() ? "" : ": " + msg);
  if (resp.code >= 500 || resp.code == 429 || code == "SlowDown" || code == "RequestTimeout" ||
      code == "InternalError" || code == "ServiceUnavailable") {
    absl::Status s = absl::UnavailableError(absl::StrCat(what, ": ", detail, " (server busy or failing; will retry)"));
    if (auto ra = ParseRetryAfter(resp.headers)) s = WithRetryAfter(s, *ra);
    return s;
  }
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "InvalidToken" ||
      code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidSecurity" ||
      resp.code == 401) {
    return absl::UnauthenticatedError(absl::StrCat(
        what, ": ", detail, "; the access key or secret was refused: update the destination's credentials"));
  }
  if (code == "NoSuchBucket") {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": bucket '", config_.bucket, "' does not exist at ", config_.endpoint,
        "; create it or fix the bucket setting"));
  }
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || code == "IllegalLocationConstraintException") {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": ", detail, "; check the region ('", config_.region, "') and endpoint settings"));
  }
  if (resp.code == 403) {
    if (code.empty()) {
      return absl::UnauthenticatedError(absl::StrCat(
          what, ": HTTP 403 (credentials refused or not allowed); check the destination's credentials and "
                "bucket policy"));
    }
    return absl::PermissionDeniedError(absl::StrCat(
        what, ": ", detail, "; grant these credentials s3:GetObject, s3:PutObject, s3:DeleteObject and "
                            "s3:ListBucket on the bucket"));
  }
  if (resp.code == 404 || code == "NoSuchKey" || code == "NoSuchUpload") {
    return absl::NotFoundError(absl::StrCat(what, ": not found"));
  }
  if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "InvalidDigest") {
    return absl::DataLossError(absl::StrCat(what, ": ", detail,
                                            "; the bytes sent did not match their checksum"));
  }
  if (code == "EntityTooLarge" || code == "QuotaExceeded" || code == "InsufficientStorage") {
    return absl::FailedPreconditionError(absl::StrCat(what, ": ", detail, "; the service refuses this file"));
  }
  return absl::FailedPreconditionError(absl::StrCat(what, ": ", detail));
}

absl::StatusOr<S3ObjectInfo> S3Client::Head(const std::string& key) {
  Request r;
  r.method = "HEAD";
  r.key = key;
  ASSIGN_OR_RETURN(Response resp, PerformWithRetry(r));
  if (resp.code < 200 || resp.code >= 300) return MapError(resp, "HEAD", key);
  S3ObjectInfo info;
  info.key = key;
  auto it = resp.headers.find("content-length");
  if (it != resp.headers.end()) (void)absl::SimpleAtoi(it->second, &info.size);
  it = resp.headers.find("etag");
  if (it != resp.headers.end()) info.etag = std::string(absl::StripSuffix(absl::StripPrefix(it->second, "\""), "\""));
  for (const auto& [k, v] : resp.headers) {
    if (absl::StartsWith(k, "x-amz-meta-")) info.metadata[k.substr(11)] = v;
  }
  return info;
}

absl::Status S3Client::PutBytes(const std::string& key, std::string_view body, const S3Metadata& meta) {
  Request r;
  r.method = "PUT";
  r.key = key;
  r.body = AbslView(body);
  for (const auto& [k, v] : meta) r.headers.emplace_back("x-amz-meta-" + k, v);
  ASSIGN_OR_RETURN(Response resp, PerformWithRetry(r));
  if (resp.code < 200 || resp.code >= 300) return MapError(resp, "PUT", key);
  return absl::OkStatus();
}

absl::Status S3Client::PutStream(const std::string& key, ByteSource* src, uint64_t size,
                                 const std::string& sha256_hex, const S3Metadata& meta,
                                 const std::function<void(uint64_t)>& progress) {
  if (size >= config_.multipart_threshold) return PutMultipart(key, src, size, meta, progress);
  Request r;
  r.method = "PUT";
  r.key = key;
  for (const auto& [k, v] : meta) r.headers.emplace_back("x-amz-meta-" + k, v);
  std::string buffered;
  if (config_.sign_payload && sha256_hex.empty()) {
    if (size <= config_.part_size) {
      // Small enough to hold: read once, hash, send from memory.
      buffered.resize(size);
      uint64_t got = 0;
      while (got < size) {
        ASSIGN_OR_RETURN(size_t n, src->Read(reinterpret_cast<uint8_t*>(buffered.data()) + got, size - got));
        if (n == 0) return absl::DataLossError(absl::StrCat("source for ", ObjectName(key), " ended early"));
        got += n;
      }
      r.body = buffered;
    } else {
      // Hash pass, then stream.
      Sha256 h;
      std::string buf(1 << 20, '\0');
      uint64_t got = 0;
      while (got < size) {
        ASSIGN_OR_RETURN(size_t n, src->Read(reinterpret_cast<uint8_t*>(buf.data()),
                                             std::min<uint64_t>(buf.size(), size - got)));
        if (n == 0) return absl::DataLossError(absl::StrCat("source for ", ObjectName(key), " ended early"));
        h.Update(std::string_view(buf.data(), n));
        got += n;
      }
      r.payload_hash = Hex(h.Final());
      RETURN_IF_ERROR(src->Rewind());
      r.src = src;
      r.src_len = size;
    }
  } else {
    r.payload_hash = config_.sign_payload ? sha256_hex : kUnsignedPayload;
    r.src = src;
    r.src_len = size;
  }
  r.progress = &progress;
  ASSIGN_OR_RETURN(Response resp, r.src ? Perform(r) : PerformWithRetry(r));
  if (resp.code < 200 || resp.code >= 300) return MapError(resp, "PUT", key);
  if (!r.src && progress) progress(size);
  return absl::OkStatus();
}

absl::Status S3Client::PutMultipart(const std::string& key, ByteSource* src, uint64_t size,
                                    const S3Metadata& meta,
                                    const std::function<void(uint64_t)>& progress) {
  uint64_t part_size = config_.part_size;
  while ((size + part_size - 1) / part_size > 10000) part_size *= 2;
  const uint64_t nparts = (size + part_size - 1) / part_size;

  Request init;
  init.method = "POST";
  init.key = key;
  init.query = {{"uploads", ""}};
  for (const auto& [k, v] : meta) init.headers.emplace_back("x-amz-meta-" + k, v);
  ASSIGN_OR_RETURN(Response iresp, PerformWithRetry(init));
  if (iresp.code < 200 || iresp.code >= 300) return MapError(iresp, "POST (start multipart upload)", key);
  const std::string upload_id = XmlText(iresp.body, "UploadId");
  if (upload_id.empty()) {
    return absl::UnavailableError(absl::StrCat("start multipart upload of ", ObjectName(key),
                                                ": the server returned no UploadId"));
  }

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  absl::Status first_error;
  std::vector<std::string> etags(nparts);
  std::vector<std::thread> threads;

  auto abort_upload = [&] {
    Request a;
    a.method = "DELETE";
    a.key = key;
    a.query = {{"uploadId", upload_id}};
    (void)PerformWithRetry(a);
  };

  for (uint64_t i = 0; i < nparts; ++i) {
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return in_flight < config_.parallel_parts || !first_error.ok(); });
      if (!first_error.ok()) break;
    }
    const uint64_t len = std::min<uint64_t>(part_size, size - i * part_size);
    auto buf = std::make_shared<std::string>(len, '\0');
    uint64_t got = 0;
    absl::Status read_status;
    while (got < len) {
      absl::StatusOr<size_t> n = src->Read(reinterpret_cast<uint8_t*>(buf->data()) + got, len - got);
      if (!n.ok()) {
        read_status = n.status();
        break;
      }
      if (*n == 0) {
        read_status = absl::DataLossError(absl::StrCat("the source of ", ObjectName(key), " ended after ",
                                                       i * part_size + got, " of ", size, " bytes"));
        break;
      }
      got += *n;
    }
    if (!read_status.ok()) {
      std::lock_guard<std::mutex> l(mu);
      if (first_error.ok()) first_error = read_status;
      break;
    }
    if (progress) progress(len);
    {
      std::lock_guard<std::mutex> l(mu);
      ++in_flight;
    }
    threads.emplace_back([&, i, buf] {
      Request p;
      p.method = "PUT";
      p.key = key;
      p.query = {{"partNumber", absl::StrCat(i + 1)}, {"uploadId", upload_id}};
      p.body = *buf;
      absl::StatusOr<Response> presp = PerformWithRetry(p);
      absl::Status st;
      if (!presp.ok()) {
        st = presp.status();
      } else if (presp->code < 200 || presp->code >= 300) {
        st = MapError(*presp, absl::StrCat("PUT (part ", i + 1, ")"), key);
      } else {
        auto it = presp->headers.find("etag");
        if (it == presp->headers.end()) {
          st = absl::UnavailableError(absl::StrCat("part ", i + 1, " of ", ObjectName(key), ": no ETag returned"));
        } else {
          etags[i] = it->second;
        }
      }
      std::lock_guard<std::mutex> l(mu);
      --in_flight;
      if (!st.ok() && first_error.ok()) first_error = st;
      cv.notify_all();
    });
  }
  for (auto& t : threads) t.join();
  if (!first_error.ok()) {
    abort_upload();
    return first_error;
  }

  std::string xml = "<CompleteMultipartUpload>";
  for (uint64_t i = 0; i < nparts; ++i) {
    absl::StrAppend(&xml, "<Part><PartNumber>", i + 1, "</PartNumber><ETag>", XmlEscape(etags[i]),
                    "</ETag></Part>");
  }
  xml += "</CompleteMultipartUpload>";
  Request done;
  done.method = "POST";
  done.key = key;
  done.query = {{"uploadId", upload_id}};
  done.headers = {{"Content-Type", "application/xml"}};
  done.body = xml;
  absl::StatusOr<Response> dresp = PerformWithRetry(done);
  if (!dresp.ok()) {
    abort_upload();
    return dresp.status();
  }
  // CompleteMultipartUpload may answer 200 with an <Error> body.
  if (dresp->code < 200 || dresp->code >= 300 || dresp->body.find("<Error>") != std::string::npos) {
    absl::Status st = MapError(*dresp, "POST (complete multipart upload)", key);
    if (dresp->code >= 200 && dresp->code < 300) {
      st = absl::UnavailableError(absl::StrCat("complete multipart upload of ", ObjectName(key), ": ",
                                               XmlText(dresp->body, "Code"), " ", XmlText(dresp->body, "Message")));
    }
    abort_upload();
    return st;
  }
  return absl::OkStatus();
}

absl::Status S3Client::Get(const std::string& key,
                           const std::function<absl::Status(std::string_view)>& sink) {
  Request r;
  r.method = "GET";
  r.key = key;
  r.sink = &sink;
  ASSIGN_OR_RETURN(Response resp, Perform(r));
  if (resp.code < 200 || resp.code >= 300) return MapError(resp, "GET", key);
  return absl::OkStatus();
}

absl::StatusOr<std::string> S3Client::GetBytes(const std::string& key) {
  Request r;
  r.method = "GET";
  r.key = key;
  std::string out;
  std::function<absl::Status(std::string_view)> sink = [&](std::string_view d) {
    out.append(d);
    return absl::OkStatus();
  };
  r.sink = &sink;
  for (int attempt = 0;; ++attempt) {
    out.clear();
    absl::StatusOr<Response> resp = Perform(r);
    bool transient = !resp.ok() ? resp.status().code() == absl::StatusCode::kUnavailable
                                : (resp->code >= 500 || resp->code == 429);
    if (transient && attempt < 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * (attempt + 1))));
      continue;
    }
    if (!resp.ok()) return resp.status();
    if (resp->code < 200 || resp->code >= 300) return MapError(*resp, "GET", key);
    return out;
  }
}

absl::Status S3Client::Delete(const std::string& key) {
  Request r;
  r.method = "DELETE";
  r.key = key;
  ASSIGN_OR_RETURN(Response resp, PerformWithRetry(r));
  if (resp.code == 404 && XmlText(resp.body, "Code") != "NoSuchBucket") return absl::OkStatus();
  if (resp.code < 200 || resp.code >= 300) return MapError(resp, "DELETE", key);
  return absl::OkStatus();
}

absl::Status S3Client::List(const std::string& prefix,
                            const std::function<absl::Status(const S3ObjectInfo&)>& fn) {
  std::string token;
  for (;;) {
    Request r;
    r.method = "GET";
    r.bucket_level = true;
    r.query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!prefix.empty()) r.query.emplace_back("prefix", prefix);
    if (!token.empty()) r.query.emplace_back("continuation-token", token);
    ASSIGN_OR_RETURN(Response resp, PerformWithRetry(r));
    if (resp.code < 200 || resp.code >= 300) return MapError(resp, "LIST", "");
    for (absl::string_view block : XmlBlocks(resp.body, "Contents")) {
      S3ObjectInfo info;
      info.key = XmlText(block, "Key");
      (void)absl::SimpleAtoi(XmlText(block, "Size"), &info.size);
      info.etag = std::string(absl::StripSuffix(absl::StripPrefix(XmlText(block, "ETag"), "\""), "\""));
      RETURN_IF_ERROR(fn(info));
    }
    std::string truncated = XmlText(resp.body, "IsTruncated");
    token = XmlText(resp.body, "NextContinuationToken");
    if (truncated != "true" || token.empty()) break;
  }
  return absl::OkStatus();
}

}  // namespace shoebox::worker::s3
