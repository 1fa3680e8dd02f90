#include "common/s3/sigv4.h"

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/url.h"

namespace shoebox::s3 {
namespace {

// Trims and collapses runs of spaces into one (SigV4 header value rule).
std::string NormalizeHeaderValue(absl::string_view v) {
  v = absl::StripAsciiWhitespace(v);
  std::string out;
  out.reserve(v.size());
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

Digest Hmac(std::string_view key, const std::string& data) {
  HmacSha256 h(AsBytes(key));
  return h.Compute(data);
}

}  // namespace

std::string AmzDateNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Result SignV4(const SigV4Request& req, const SigV4Credentials& creds,
                   const std::string& region, const std::string& service,
                   const std::string& amz_date) {
  SigV4Result r;
  // Canonical headers: lower-case names, duplicates joined with ',', sorted.
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& [k, v] : req.headers) {
    std::string name = absl::AsciiStrToLower(k);
    std::string value = NormalizeHeaderValue(v);
    auto it = std::find_if(hs.begin(), hs.end(), [&](const auto& p) { return p.first == name; });
    if (it != hs.end()) {
      it->second += "," + value;
    } else {
      hs.emplace_back(std::move(name), std::move(value));
    }
  }
  std::sort(hs.begin(), hs.end());
  std::string canonical_headers;
  std::vector<std::string> names;
  for (const auto& [k, v] : hs) {
    absl::StrAppend(&canonical_headers, k, ":", v, "\n");
    names.push_back(k);
  }
  r.signed_headers = absl::StrJoin(names, ";");
  std::string path = req.path.empty() ? "/" : req.path;
  r.canonical_request = absl::StrCat(req.method, "\n", http::PercentEncode(path, true), "\n",
                                     http::CanonicalQueryString(req.query), "\n", canonical_headers,
                                     "\n", r.signed_headers, "\n", req.payload_hash);
  std::string date(amz_date.substr(0, 8));
  std::string scope = absl::StrCat(date, "/", region, "/", service, "/aws4_request");
  r.string_to_sign = absl::StrCat("AWS4-HMAC-SHA256\n", amz_date, "\n", scope, "\n",
                                  ToHex(AsBytes(AsView(Sha256::Of(r.canonical_request)))));
  Digest k_date = Hmac("AWS4" + creds.secret_key, date);
  Digest k_region = Hmac(AsView(k_date), region);
  Digest k_service = Hmac(AsView(k_region), service);
  Digest k_signing = Hmac(AsView(k_service), "aws4_request");
  Digest sig = Hmac(AsView(k_signing), r.string_to_sign);
  r.signature = ToHex(ByteSpan(sig.data(), sig.size()));
  r.authorization = absl::StrCat("AWS4-HMAC-SHA256 Credential=", creds.access_key, "/", scope,
                                 ", SignedHeaders=", r.signed_headers, ", Signature=", r.signature);
  return r;
}

}  // namespace shoebox::s3
