#include "common/http/url.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/hex_digit.h"

namespace shoebox::http {
namespace {

bool Unreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

}  // namespace

std::string PercentEncode(absl::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string EncodePathSegment(absl::string_view segment) { return PercentEncode(segment, false); }

std::string EncodePath(absl::string_view path) { return PercentEncode(path, true); }

std::string PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexDigitValue(s[i + 1]), lo = HexDigitValue(s[i + 2]);
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

std::string QueryString(const QueryParams& params, bool bare_empty) {
  std::vector<std::string> parts;
  parts.reserve(params.size());
  for (const auto& [k, v] : params) {
    if (v.empty() && bare_empty) {
      parts.push_back(PercentEncode(k, false));
    } else {
      parts.push_back(absl::StrCat(PercentEncode(k, false), "=", PercentEncode(v, false)));
    }
  }
  return absl::StrJoin(parts, "&");
}

std::string CanonicalQueryString(const QueryParams& params) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(params.size());
  for (const auto& [k, v] : params)
    enc.emplace_back(PercentEncode(k, false), PercentEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::vector<std::string> parts;
  parts.reserve(enc.size());
  for (const auto& [k, v] : enc) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, "&");
}

std::string UrlParts::Origin() const {
  std::string h = host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
  return port != 0 ? absl::StrCat(scheme, "://", h, ":", port) : absl::StrCat(scheme, "://", h);
}

absl::StatusOr<UrlParts> ParseHttpUrl(absl::string_view url) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("URL '", RedactUrl(url), "' ", why));
  };
  UrlParts u;
  size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return bad("must start with http:// or https://");
  u.scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return bad("must start with http:// or https://");
  absl::string_view rest = url.substr(sep + 3);
  size_t q = rest.find_first_of("?#");
  if (q != absl::string_view::npos) {
    if (rest[q] == '?') u.query = std::string(rest.substr(q + 1, rest.find('#', q) - q - 1));
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos)
    u.path = std::string(absl::StripSuffix(rest.substr(slash), "/"));
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    u.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return bad("has an unterminated IPv6 address");
    u.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("has garbage after the IPv6 address");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
  } else {
    u.host = std::string(authority);
  }
  if (u.host.empty()) return bad("has no host");
  if (!port.empty() && (!absl::SimpleAtoi(port, &u.port) || u.port <= 0 || u.port > 65535)) {
    return bad("has a bad port");
  }
  return u;
}

std::string RedactUrl(absl::string_view url) {
  size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return std::string(url);
  size_t start = sep + 3;
  size_t end = url.find_first_of("/?#", start);
  absl::string_view authority =
      url.substr(start, end == absl::string_view::npos ? url.npos : end - start);
  size_t at = authority.rfind('@');
  if (at == absl::string_view::npos) return std::string(url);
  return absl::StrCat(url.substr(0, start), url.substr(start + at + 1));
}

}  // namespace shoebox::http
