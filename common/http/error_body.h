// A short, one-line reason from an HTTP error body, so a user sees
// "HTTP 401 (401 Unauthorized: This server could not verify ...)" in
// `shoebox status` and `shoebox jobs`, not nine lines of Apache's HTML.
// The one copy: http::ErrorStatus (common/http/http_client.h) uses it for
// every HTTP connector (S3, WebDAV, rclone, ...).
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace shoebox::http {

// Default cap of SummarizeErrorBody, in bytes.
inline constexpr size_t kErrorSummaryMax = 200;

// Summarises an error body by its kind (from `content_type`, else sniffed
// from the body):
//   HTML → the <title> (else the first <h1>), then ": " and the first
//          paragraph's text, tags stripped and entities decoded;
//   XML  → S3's "<Code>: <Message>" (either alone when the other is
//          missing), else a WebDAV <error>'s text, else all text;
//   JSON → the first of "message", "error" (a string, or an object with a
//          "message"), "error_description", "detail", "title";
//   else → the text.
// Whitespace is collapsed to single spaces, control bytes become spaces, and
// the result is cut to at most `max_bytes` bytes (at a UTF-8 character
// boundary, "..." appended). Empty when the body holds no text.
std::string SummarizeErrorBody(absl::string_view content_type, absl::string_view body,
                               size_t max_bytes = kErrorSummaryMax);

}  // namespace shoebox::http
