// The pieces of the SmugMug connector that need no server: UrlNames, where a
// path lands, request signing, the MD5 pass and the error mapping.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/http/url.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "workers/connectors/service_names.h"
#include "workers/connectors/smugmug.h"

namespace shoebox::worker {
namespace {

std::string Dirname(const std::string& p) {
  const size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}

std::string Basename(const std::string& p) {
  const size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// The Code/Message (API) or code/message (upload) of a JSON error body,
// quoted; "" when the body is not one.
std::string ErrorDetail(const http::Response& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return "";
  std::string msg;
  for (const char* k : {"Message", "message"}) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string()) msg = it->get<std::string>();
  }
  if (msg.empty()) return "";
  std::string code;
  for (const char* k : {"Code", "code"}) {
    auto it = j.find(k);
    if (it != j.end() && it->is_number_integer()) code = absl::StrCat(it->get<int64_t>());
  }
  if (msg.size() > 300) msg.resize(300);
  for (char& c : msg)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return code.empty() ? absl::StrCat("\"", msg, "\"")
                      : absl::StrCat("Code ", code, ": \"", msg, "\"");
}

}  // namespace

std::string SmugMugUrlName(std::string_view name, int n) {
  std::string out;
  bool dash = false;
  for (char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80 && std::isalnum(c)) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(static_cast<char>(c));
    } else {
      dash = true;
    }
  }
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) {
    out = out.empty() ? "N" : "N-" + out;
  }
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  const std::string suffix = n > 1 ? absl::StrCat("-", n) : "";
  const size_t max = 60 - suffix.size();
  if (out.size() > max) out.resize(max);
  while (out.size() > 1 && out.back() == '-') out.pop_back();
  return out + suffix;
}

SmugMugLocation SmugMugLocate(const std::string& root, const std::string& remote_path,
                              const std::string& album) {
  SmugMugLocation loc;
  loc.file = EncodeServiceName(Basename(remote_path), SmugMugNameRules());
  std::string full;
  if (!album.empty()) {
    full = root + "/" + EncodeServiceName(album, SmugMugNameRules());
  } else {
    const std::string dir = Dirname(remote_path);
    full = dir.empty() ? root : root + "/" + EncodeServicePath(dir, SmugMugNameRules());
  }
  loc.parent = Dirname(full);
  loc.gallery = Basename(full);
  return loc;
}

absl::StatusOr<http::Request> SmugMugSign(http::Request r, const http::OAuth1Credentials& creds,
                                          const std::string& nonce, int64_t timestamp) {
  http::OAuth1Request o{.method = r.method, .url = r.url, .form = {}, .oauth_extra = {}};
  absl::StatusOr<http::QueryParams> params =
      nonce.empty()
          ? http::OAuth1Sign(o, creds)
          : http::OAuth1SignWith(o, creds, nonce,
                                 timestamp != 0 ? timestamp : absl::ToUnixSeconds(absl::Now()));
  if (!params.ok()) return params.status();
  r.headers.push_back({"Authorization", http::OAuth1AuthorizationHeader(*params)});
  return r;
}

absl::StatusOr<SmugMugDigest> SmugMugMd5(ByteSource* src) {
  RETURN_IF_ERROR(src->Rewind());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    return absl::InternalError("smugmug: OpenSSL cannot compute MD5 (EVP_md5 unavailable)");
  }
  SmugMugDigest d;
  std::string buf(1u << 20, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, src->Read(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf.data(), n) != 1) {
      return absl::InternalError("smugmug: MD5 update failed");
    }
    d.size += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1 || len != 16) {
    return absl::InternalError("smugmug: MD5 final failed");
  }
  const std::string raw(reinterpret_cast<const char*>(md), len);
  d.md5_base64 = absl::Base64Escape(raw);
  d.md5_hex = ToHex(raw);
  return d;
}

absl::Status SmugMugError(const http::Response& r, const std::string& what,
                          const std::string& destination) {
  const std::string detail = ErrorDetail(r);
  const std::string ctx = absl::StrCat("smugmug: ", what);
  const std::string name = destination.empty() ? "NAME" : destination;
  if (r.status == 401) {
    return absl::UnauthenticatedError(
        absl::StrCat(ctx, ": SmugMug refused the credentials (HTTP 401",
                     detail.empty() ? "" : absl::StrCat(", ", detail),
                     "); reconnect with `shoebox dest connect ", name, "`"));
  }
  if (r.status == 429) {
    std::string limits;
    for (const char* h : {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}) {
      const std::string v = r.Header(h);
      if (!v.empty()) absl::StrAppend(&limits, limits.empty() ? "" : ", ", h, ": ", v);
    }
    absl::Status s =
        http::ErrorStatus(r, ctx, detail,
                          absl::StrCat("SmugMug throttles this API key",
                                       limits.empty() ? "" : absl::StrCat(" (", limits, ")"),
                                       "; waiting as it asks"));
    absl::Status out = absl::ResourceExhaustedError(s.message());
    if (std::optional<uint32_t> ms = RetryAfterMs(s)) return WithRetryAfter(out, *ms);
    return out;
  }
  if (r.status == 413 || r.status == 415) {
    return absl::FailedPreconditionError(
        absl::StrCat(ctx, ": SmugMug refuses this file (HTTP ", r.status,
                     detail.empty() ? "" : absl::StrCat(", ", detail),
                     r.status == 415 ? "): not a photo or video type SmugMug accepts"
                                     : "): larger than SmugMug accepts",
                     "; it is not retried, and the destination's other files go on"));
  }
  return http::ErrorStatus(r, ctx, detail);
}

SourceListing SmugMugSourceListing(std::vector<RemoteObject> items, const std::string& folder) {
  SourceListing out;
  const size_t slash = folder.rfind('/');
  const std::string top = slash == std::string::npos ? folder : folder.substr(slash + 1);
  for (RemoteObject& o : items) {
    const size_t last = o.remote_path.rfind('/');
    std::string album = last == std::string::npos ? top : o.remote_path.substr(0, last);
    std::replace(album.begin(), album.end(), '/', ' ');
    o.albums = {album};
  }
  out.items = std::move(items);
  return out;
}

}  // namespace shoebox::worker
