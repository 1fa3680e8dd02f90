// OAuth 1.0a request signing (RFC 5849) with HMAC-SHA1, for Flickr and
// SmugMug, on the one http::Client.
//
// What is signed (RFC 5849 3.4.1): the method, the base URI (scheme and host
// lower-case, default port dropped, no query), and every parameter: the
// URL's query (decoded as application/x-www-form-urlencoded: '+' is a
// space), the form body when it is application/x-www-form-urlencoded, and
// the oauth_* protocol parameters. Parts of a multipart/form-data body
// (Flickr's `photo`) and raw bodies (SmugMug's upload) are NOT signed; the
// other fields of a multipart upload are passed as `form` (Flickr signs
// them).
//
// Pinned by oauth1_test.cc to the RFC 5849 examples (section 1.2's
// photos.example.net request and section 3.4.1.1's base string).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/url.h"

namespace shoebox::http {

struct OAuth1Credentials {
  std::string consumer_key;
  std::string consumer_secret;
  std::string token;         // "" before the access token exists (request-token call)
  std::string token_secret;  // ""  likewise
};

struct OAuth1Request {
  std::string method;  // "GET", "POST", ...
  std::string url;     // may carry a query string; it is signed
  // Decoded name/value pairs of an application/x-www-form-urlencoded body,
  // or the non-file fields of a multipart upload that the service signs.
  QueryParams form;
  // Extra protocol parameters: oauth_callback (request token),
  // oauth_verifier (access token).
  QueryParams oauth_extra;
};

// RFC 5849 3.4.1: METHOD&enc(base URI)&enc(normalised parameters), where
// `params` are every parameter to sign (decoded), oauth_signature excluded.
// INVALID_ARGUMENT when `url` is not an http(s) URL.
absl::StatusOr<std::string> OAuth1BaseString(absl::string_view method, absl::string_view url,
                                             const QueryParams& params);

// HMAC-SHA1 over `base` with key enc(consumer_secret)&enc(token_secret),
// base64 (RFC 5849 3.4.2).
std::string OAuth1HmacSha1(absl::string_view base, absl::string_view consumer_secret,
                           absl::string_view token_secret);

// The protocol parameters of a signed request, oauth_signature included,
// sorted by name: oauth_consumer_key, oauth_nonce, oauth_signature_method
// (HMAC-SHA1), oauth_timestamp, oauth_token (when there is one),
// oauth_version (1.0) and `oauth_extra`. `nonce` and `timestamp` are given
// by tests; Sign() draws them.
absl::StatusOr<QueryParams> OAuth1SignWith(const OAuth1Request& req, const OAuth1Credentials& creds,
                                           absl::string_view nonce, int64_t timestamp);
absl::StatusOr<QueryParams> OAuth1Sign(const OAuth1Request& req, const OAuth1Credentials& creds);

// `Authorization: OAuth ...` header value (RFC 5849 3.5.1): every parameter
// as name="value", both percent-encoded, comma-separated.
std::string OAuth1AuthorizationHeader(const QueryParams& oauth_params);

// A fresh nonce: 16 random bytes as 32 hex digits.
std::string OAuth1Nonce();

// Parses an application/x-www-form-urlencoded string ('+' is a space,
// %XX decoded): the query of a URL, a token endpoint's answer
// ("oauth_token=...&oauth_token_secret=...").
QueryParams ParseFormEncoded(absl::string_view s);

}  // namespace shoebox::http
