#include "common/s3/s3_client.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/s3/s3_xml.h"
#include "common/status.h"

namespace shoebox::s3 {
namespace {

std::string Hex(const Digest& d) { return ToHex(ByteSpan(d.data(), d.size())); }

std::string Unquote(absl::string_view etag) {
  return std::string(absl::StripSuffix(absl::StripPrefix(etag, "\""), "\""));
}

// `s` with code `code`, same message (ErrorStatus words it; S3 decides).
absl::Status Recode(const absl::Status& s, absl::StatusCode code) {
  return absl::Status(code, s.message());
}

// The query as sent: canonical order and encoding, "k" for a key without a
// value (S3's "?uploads").
std::string WireQuery(const http::QueryParams& query) {
  std::vector<std::string> parts = absl::StrSplit(http::CanonicalQueryString(query), '&');
  for (auto& p : parts) {
    if (absl::EndsWith(p, "=")) p.pop_back();
  }
  return absl::StrJoin(parts, "&");
}

}  // namespace

BackoffPolicy S3RetryPolicy() {
  BackoffPolicy p;
  p.initial_delay = absl::Milliseconds(400);
  p.multiplier = 4.0;
  p.max_delay = absl::Milliseconds(1600);
  p.max_attempts = 3;
  return p;
}

S3Client::S3Client(S3Config config, http::UrlParts endpoint)
    : config_(std::move(config)),
      endpoint_(std::move(endpoint)),
      retry_policy_(S3RetryPolicy()),
      http_(std::make_unique<http::Client>(
          http::ClientOptions{.connect_timeout = absl::Milliseconds(config_.connect_timeout_ms),
                              .stall_timeout = absl::Seconds(config_.stall_timeout_s),
                              .verify_tls = config_.verify_tls,
                              .ca_file = config_.ca_file,
                              .resolve = config_.resolve,
                              .unreachable_hint = "is the S3 endpoint right and reachable?",
                              .max_body_bytes = 16u << 20})) {}

S3Client::~S3Client() = default;

absl::StatusOr<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  if (config.bucket.empty()) {
    return absl::InvalidArgumentError(
        "S3: the bucket is not set; set 'bucket' in the destination settings");
  }
  if (config.region.empty()) config.region = "us-east-1";
  if (config.endpoint.empty())
    config.endpoint = absl::StrCat("https://s3.", config.region, ".amazonaws.com");
  if (config.part_size < (5ull << 20)) config.part_size = 5ull << 20;  // S3 minimum
  if (config.multipart_threshold < config.part_size) config.multipart_threshold = config.part_size;
  if (config.parallel_parts < 1) config.parallel_parts = 1;
  absl::StatusOr<http::UrlParts> ep = http::ParseHttpUrl(config.endpoint);
  if (!ep.ok()) return Annotate(ep.status(), "S3 endpoint");
  return std::unique_ptr<S3Client>(new S3Client(std::move(config), std::move(*ep)));
}

std::string S3Client::ObjectName(const std::string& key) const {
  return absl::StrCat("s3://", config_.bucket, "/", PrintablePath(key), " at ", config_.endpoint);
}

std::string S3Client::Describe() const {
  return absl::StrCat("s3://", config_.bucket, " at ", config_.endpoint,
                      config_.path_style ? " (path style)" : " (virtual-host style)");
}

absl::StatusOr<http::Response> S3Client::Send(const Call& c) const {
  std::string host = endpoint_.host.find(':') != std::string::npos
                         ? absl::StrCat("[", endpoint_.host, "]")
                         : endpoint_.host;
  if (!config_.path_style) host = absl::StrCat(config_.bucket, ".", host);
  const std::string host_header =
      endpoint_.port != 0 ? absl::StrCat(host, ":", endpoint_.port) : host;
  std::string path = endpoint_.path;
  if (config_.path_style) absl::StrAppend(&path, "/", config_.bucket);
  if (!c.bucket_level) {
    absl::StrAppend(&path, "/", c.key);
  } else if (!config_.path_style) {
    absl::StrAppend(&path, "/");
  }
  std::string payload_hash = c.payload_hash;
  if (payload_hash.empty()) {
    payload_hash = config_.sign_payload ? Hex(Sha256::Of(c.body)) : kUnsignedPayload;
  }
  const std::string amz_date = AmzDateNow();

  SigV4Request sr;
  sr.method = c.method;
  sr.path = path;
  sr.query = c.query;
  sr.headers = {
      {"host", host_header}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}};
  if (!config_.credentials.session_token.empty()) {
    sr.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  for (const auto& h : c.headers) sr.headers.push_back(h);
  sr.payload_hash = payload_hash;
  const SigV4Result sig = SignV4(sr, config_.credentials, config_.region, "s3", amz_date);

  http::Request r;
  r.method = c.method;
  r.url = absl::StrCat(endpoint_.scheme, "://", host_header, http::PercentEncode(path, true));
  if (!c.query.empty()) absl::StrAppend(&r.url, "?", WireQuery(c.query));
  r.headers = sr.headers;
  r.headers.emplace_back("Authorization", sig.authorization);
  r.headers.emplace_back("Expect", "");
  bool has_content_type = false;
  for (const auto& h : c.headers)
    has_content_type |= absl::AsciiStrToLower(h.first) == "content-type";
  if (!has_content_type) r.headers.emplace_back("Content-Type", "");
  r.body = c.body;
  r.body_source = c.src;
  r.body_length = c.src_len;
  r.sink = c.sink;
  r.on_sent = c.on_sent;
  absl::StatusOr<http::Response> resp = http_->Send(r);
  if (!resp.ok()) {
    return Annotate(resp.status(),
                    absl::StrCat(c.method, " ", c.bucket_level ? Describe() : ObjectName(c.key)));
  }
  return resp;
}

absl::StatusOr<http::Response> S3Client::SendOk(const Call& c, const std::string& op) const {
  ASSIGN_OR_RETURN(http::Response resp, Send(c));
  if (!resp.ok()) return MapError(resp, op, c.bucket_level ? "" : c.key);
  return resp;
}

absl::StatusOr<http::Response> S3Client::SendOkRetrying(const Call& c,
                                                        const std::string& op) const {
  return Retry(retry_policy_, [&] { return SendOk(c, op); });
}

absl::Status S3Client::MapError(const http::Response& resp, const std::string& op,
                                const std::string& key) const {
  const std::string code = XmlText(resp.body, "Code");
  const std::string msg = XmlText(resp.body, "Message");
  const std::string what = absl::StrCat(op, " ", key.empty() ? Describe() : ObjectName(key));
  const std::string detail = code.empty() ? "" : absl::StrCat(code, msg.empty() ? "" : ": ", msg);
  auto mapped = [&](absl::string_view hint) { return http::ErrorStatus(resp, what, detail, hint); };
  if (code == "SlowDown" || code == "RequestTimeout" || code == "InternalError" ||
      code == "ServiceUnavailable") {
    absl::Status s = mapped("server busy or failing; will retry");
    if (s.code() == absl::StatusCode::kUnavailable) return s;  // 5xx/429: Retry-After attached
    s = Recode(s, absl::StatusCode::kUnavailable);
    if (auto ra = http::ParseRetryAfter(resp.Header("retry-after"))) {
      s = WithRetryAfter(std::move(s), static_cast<uint32_t>(absl::ToInt64Milliseconds(*ra)));
    }
    return s;
  }
  if (resp.status >= 500 || resp.status == 429) return mapped("server busy or failing; will retry");
  // S3 refuses a signature dated more than 15 minutes from its own clock
  // (HTTP 403). Not the credentials' fault: holding the destination as
  // "authentication failed" sent the admin after the wrong thing. Retried;
  // it passes once the clock is right (issue 18, a clock that jumps).
  if (code == "RequestTimeTooSkewed") {
    return Recode(mapped("this worker's clock differs from the S3 server's by more than 15 "
                         "minutes; set the worker's clock right (NTP); will retry"),
                  absl::StatusCode::kUnavailable);
  }
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "InvalidToken" ||
      code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidSecurity" ||
      resp.status == 401) {
    return Recode(mapped("the access key or secret was refused: update the destination's "
                         "credentials with `shoebox dest set NAME --secret KEY=-`"),
                  absl::StatusCode::kUnauthenticated);
  }
  if (code == "NoSuchBucket") {
    return Recode(mapped(absl::StrCat("bucket '", config_.bucket, "' does not exist at ",
                                      config_.endpoint, "; create it or fix the bucket setting")),
                  absl::StatusCode::kFailedPrecondition);
  }
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
      code == "IllegalLocationConstraintException") {
    return Recode(
        mapped(absl::StrCat("check the region ('", config_.region, "') and endpoint settings")),
        absl::StatusCode::kFailedPrecondition);
  }
  if (resp.status == 403) {
    if (code.empty()) {
      return Recode(
          mapped("credentials refused or not allowed; check the bucket policy, or update the "
                 "credentials with `shoebox dest set NAME --secret KEY=-`"),
          absl::StatusCode::kUnauthenticated);
    }
    return mapped(
        "grant these credentials s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on "
        "the bucket");
  }
  if (resp.status == 404 || code == "NoSuchKey" || code == "NoSuchUpload") {
    return Recode(mapped("not found"), absl::StatusCode::kNotFound);
  }
  if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "InvalidDigest") {
    return Recode(mapped("the bytes sent did not match their checksum"),
                  absl::StatusCode::kDataLoss);
  }
  if (code == "EntityTooLarge" || code == "QuotaExceeded" || code == "InsufficientStorage") {
    return Recode(mapped("the service refuses this file"), absl::StatusCode::kFailedPrecondition);
  }
  return Recode(mapped(""), absl::StatusCode::kFailedPrecondition);
}

absl::StatusOr<S3ObjectInfo> S3Client::Head(const std::string& key) {
  Call c;
  c.method = "HEAD";
  c.key = key;
  ASSIGN_OR_RETURN(http::Response resp, SendOk(c, "HEAD"));
  S3ObjectInfo info;
  info.key = key;
  (void)absl::SimpleAtoi(resp.Header("content-length"), &info.size);
  info.etag = Unquote(resp.Header("etag"));
  for (const auto& [k, v] : resp.headers) {
    if (absl::StartsWith(k, "x-amz-meta-")) info.metadata[k.substr(11)] = v;
  }
  return info;
}

absl::Status S3Client::PutBytes(const std::string& key, std::string_view body,
                                const S3Metadata& meta) {
  Call c;
  c.method = "PUT";
  c.key = key;
  c.body = body;
  for (const auto& [k, v] : meta) c.headers.emplace_back("x-amz-meta-" + k, v);
  return SendOk(c, "PUT").status();
}

absl::Status S3Client::PutStream(const std::string& key, ByteSource* src, uint64_t size,
                                 const std::string& sha256_hex, const S3Metadata& meta,
                                 const std::function<void(uint64_t)>& progress) {
  if (size >= config_.multipart_threshold) return PutMultipart(key, src, size, meta, progress);
  Call c;
  c.method = "PUT";
  c.key = key;
  for (const auto& [k, v] : meta) c.headers.emplace_back("x-amz-meta-" + k, v);
  std::string buffered;
  if (config_.sign_payload && sha256_hex.empty()) {
    if (size <= config_.part_size) {
      // Small enough to hold: read once, hash, send from memory.
      RETURN_IF_ERROR(http::ReadExactly(src, size, &buffered, ObjectName(key)));
      c.body = buffered;
    } else {
      // Hash pass, then stream.
      Sha256 h;
      std::string buf(1 << 20, '\0');
      uint64_t got = 0;
      while (got < size) {
        ASSIGN_OR_RETURN(size_t n, src->Read(reinterpret_cast<uint8_t*>(buf.data()),
                                             std::min<uint64_t>(buf.size(), size - got)));
        if (n == 0)
          return absl::DataLossError(absl::StrCat("source for ", ObjectName(key), " ended early"));
        h.Update(std::string_view(buf.data(), n));
        got += n;
      }
      c.payload_hash = Hex(h.Final());
      RETURN_IF_ERROR(src->Rewind());
      c.src = src;
      c.src_len = size;
    }
  } else {
    c.payload_hash = config_.sign_payload ? sha256_hex : kUnsignedPayload;
    c.src = src;
    c.src_len = size;
  }
  uint64_t reported = 0;
  if (c.src != nullptr && progress) {
    c.on_sent = [&](uint64_t sent) {
      progress(sent - reported);
      reported = sent;
    };
  }
  RETURN_IF_ERROR(SendOk(c, "PUT").status());
  if (c.src == nullptr && progress) progress(size);
  return absl::OkStatus();
}

absl::Status S3Client::PutMultipart(const std::string& key, ByteSource* src, uint64_t size,
                                    const S3Metadata& meta,
                                    const std::function<void(uint64_t)>& progress) {
  uint64_t part_size = config_.part_size;
  while ((size + part_size - 1) / part_size > 10000) part_size *= 2;
  const uint64_t nparts = (size + part_size - 1) / part_size;

  Call init;
  init.method = "POST";
  init.key = key;
  init.query = {{"uploads", ""}};
  for (const auto& [k, v] : meta) init.headers.emplace_back("x-amz-meta-" + k, v);
  ASSIGN_OR_RETURN(http::Response iresp, SendOkRetrying(init, "POST (start multipart upload)"));
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
    Call a;
    a.method = "DELETE";
    a.key = key;
    a.query = {{"uploadId", upload_id}};
    (void)SendOkRetrying(a, "DELETE (abort multipart upload)");
  };

  for (uint64_t i = 0; i < nparts; ++i) {
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return in_flight < config_.parallel_parts || !first_error.ok(); });
      if (!first_error.ok()) break;
    }
    const uint64_t len = std::min<uint64_t>(part_size, size - i * part_size);
    auto buf = std::make_shared<std::string>();
    absl::Status read_status = http::ReadExactly(src, len, buf.get(), ObjectName(key));
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
      Call p;
      p.method = "PUT";
      p.key = key;
      p.query = {{"partNumber", absl::StrCat(i + 1)}, {"uploadId", upload_id}};
      p.body = *buf;
      absl::StatusOr<http::Response> presp =
          SendOkRetrying(p, absl::StrCat("PUT (part ", i + 1, ")"));
      absl::Status st = presp.status();
      if (presp.ok()) {
        etags[i] = presp->Header("etag");
        if (etags[i].empty()) {
          st = absl::UnavailableError(
              absl::StrCat("part ", i + 1, " of ", ObjectName(key), ": no ETag returned"));
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
  Call done;
  done.method = "POST";
  done.key = key;
  done.query = {{"uploadId", upload_id}};
  done.headers = {{"Content-Type", "application/xml"}};
  done.body = xml;
  absl::Status st = Retry(retry_policy_, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(http::Response r, SendOk(done, "POST (complete multipart upload)"));
    // CompleteMultipartUpload may answer 200 with an <Error> body.
    if (r.body.find("<Error>") != std::string::npos) {
      return absl::UnavailableError(absl::StrCat("complete multipart upload of ", ObjectName(key),
                                                 ": ", XmlText(r.body, "Code"), " ",
                                                 XmlText(r.body, "Message")));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) abort_upload();
  return st;
}

absl::Status S3Client::Get(const std::string& key,
                           const std::function<absl::Status(std::string_view)>& sink) {
  Call c;
  c.method = "GET";
  c.key = key;
  c.sink = sink;
  return SendOk(c, "GET").status();
}

absl::StatusOr<std::string> S3Client::GetBytes(const std::string& key) {
  std::string out;
  RETURN_IF_ERROR(Get(key, [&](std::string_view d) {
    out.append(d);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status S3Client::Delete(const std::string& key) {
  Call c;
  c.method = "DELETE";
  c.key = key;
  ASSIGN_OR_RETURN(http::Response resp, Send(c));
  if (resp.status == 404 && XmlText(resp.body, "Code") != "NoSuchBucket") return absl::OkStatus();
  if (!resp.ok()) return MapError(resp, "DELETE", key);
  return absl::OkStatus();
}

absl::Status S3Client::List(const std::string& prefix,
                            const std::function<absl::Status(const S3ObjectInfo&)>& fn) {
  std::string token;
  for (bool first = true;; first = false) {
    Call c;
    c.method = "GET";
    c.bucket_level = true;
    c.query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!prefix.empty()) c.query.emplace_back("prefix", prefix);
    if (!token.empty()) c.query.emplace_back("continuation-token", token);
    // The first page is the whole call for a retrying wrapper; later pages
    // follow callbacks already made and are retried here.
    ASSIGN_OR_RETURN(http::Response resp, first ? SendOk(c, "LIST") : SendOkRetrying(c, "LIST"));
    for (absl::string_view block : XmlBlocks(resp.body, "Contents")) {
      S3ObjectInfo info;
      info.key = XmlText(block, "Key");
      (void)absl::SimpleAtoi(XmlText(block, "Size"), &info.size);
      info.etag = Unquote(XmlText(block, "ETag"));
      RETURN_IF_ERROR(fn(info));
    }
    const std::string truncated = XmlText(resp.body, "IsTruncated");
    token = XmlText(resp.body, "NextContinuationToken");
    if (truncated != "true" || token.empty()) break;
  }
  return absl::OkStatus();
}

}  // namespace shoebox::s3
