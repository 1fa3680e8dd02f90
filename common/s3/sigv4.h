// AWS Signature Version 4 (header-based), written over common/crypto/hash.h.
//
// S3 flavour of the rules: the canonical URI is the path exactly as sent on
// the wire, each byte outside the unreserved set (A-Z a-z 0-9 - _ . ~)
// percent-encoded once with upper-case hex, '/' kept; no path normalisation
// ("//" and ".." are signed as they are). Query names and values are encoded
// the same way ('/' encoded too) and sorted by name, then value. Header names
// are lower-cased, values trimmed with inner runs of spaces collapsed, sorted.
// The encoding is common/http/url.h's PercentEncode / CanonicalQueryString.
// The AWS SigV4 test-suite vectors pin all of this (sigv4_test.cc).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace shoebox::s3 {

inline constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";
inline constexpr char kEmptySha256Hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty: none
};

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // Raw (unencoded) absolute path, e.g. "/bucket/Été #1.jpg".
  std::string path;
  // Raw (unencoded) query parameters, any order; a key without value has "".
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign (must include "host" and "x-amz-date"), any case.
  std::vector<std::pair<std::string, std::string>> headers;
  // Lower-case hex SHA-256 of the payload, or kUnsignedPayload.
  std::string payload_hash;
};

struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lower-case hex
  std::string authorization;  // value of the Authorization header
  std::string signed_headers;
};

// `amz_date` is "YYYYMMDDTHHMMSSZ" (the x-amz-date header value).
SigV4Result SignV4(const SigV4Request& req, const SigV4Credentials& creds,
                   const std::string& region, const std::string& service,
                   const std::string& amz_date);

// Now as "YYYYMMDDTHHMMSSZ".
std::string AmzDateNow();

}  // namespace shoebox::s3
