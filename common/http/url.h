// Percent-encoding and URL pieces for every HTTP client in Shoebox (S3
// SigV4, WebDAV, rclone rc, ...). One set of rules, pinned by url_test.cc:
//
// - Encoding works on bytes: every byte outside the RFC 3986 unreserved set
//   (A-Z a-z 0-9 - . _ ~) becomes %XX with upper-case hex, so UTF-8 is
//   encoded byte by byte and invalid UTF-8 passes through unharmed. This is
//   exactly the encoding AWS SigV4 signs (and what S3, WebDAV servers and
//   rclone decode).
// - '+' is never a space: it is encoded as %2B and decoded as '+'.
// - Decoding turns valid %XX escapes into bytes and keeps anything else
//   (a lone '%', "%G1", a truncated "%4") literally; it never fails.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shoebox::http {

// Percent-encodes every byte outside the unreserved set; '/' is kept when
// `keep_slash` (a path), encoded otherwise (a segment, a query value).
std::string PercentEncode(absl::string_view s, bool keep_slash);
// One path segment ('/' encoded): PercentEncode(segment, false).
std::string EncodePathSegment(absl::string_view segment);
// A '/'-separated path, each segment encoded, slashes kept.
std::string EncodePath(absl::string_view path);
// Decodes %XX escapes; see the header comment for what is kept literally.
std::string PercentDecode(absl::string_view s);

using QueryParams = std::vector<std::pair<std::string, std::string>>;
// "k1=v1&k2=v2" in the given order, names and values encoded. A parameter
// with an empty value is written "k" when `bare_empty` (S3's "?uploads"),
// "k=" otherwise.
std::string QueryString(const QueryParams& params, bool bare_empty = false);
// The same, sorted by encoded name then value, always "k=" for empty values:
// the SigV4 canonical query string.
std::string CanonicalQueryString(const QueryParams& params);

// An http(s) URL taken apart. `path` stays as written (still encoded),
// without a trailing '/' ("" for the root); `port` is 0 when not given.
struct UrlParts {
  std::string scheme;    // "http" or "https", lower-case
  std::string userinfo;  // "user:password" when present (never print it)
  std::string host;      // without brackets for IPv6 literals
  int port = 0;
  std::string path;
  std::string query;  // after '?', without it
  // "scheme://host[:port]" (brackets kept for IPv6), no credentials.
  std::string Origin() const;
};
// INVALID_ARGUMENT naming the URL (credentials removed) when it is not
// http:// or https://, has no host or a bad port.
absl::StatusOr<UrlParts> ParseHttpUrl(absl::string_view url);

// `url` without "user:password@" (for messages and logs).
std::string RedactUrl(absl::string_view url);

}  // namespace shoebox::http
