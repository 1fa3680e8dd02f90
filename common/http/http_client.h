// The one HTTP client of Shoebox, over libcurl: S3, WebDAV, the rclone rc
// API and every later HTTP connector use it.
//
//   http::Client client(http::ClientOptions{.user = u, .password = p});
//   http::Request r{.method = "PROPFIND", .url = url, .body = xml};
//   ASSIGN_OR_RETURN(http::Response resp, client.Send(r));
//   if (resp.status == 404) ...                // codes the caller gives meaning to
//   if (!resp.ok()) return http::ErrorStatus(resp, "list Photos");
//
// - Connections are kept alive and reused: the client keeps a pool of curl
//   handles (one per concurrent request) that share a DNS cache and TLS
//   sessions. Thread-safe: any number of threads may Send at once.
// - Timeouts: a connect timeout, a stall timeout (slower than 1 byte/s for
//   that long aborts: UNAVAILABLE) and an optional total per request; each
//   request may carry a deadline (DEADLINE_EXCEEDED when it passes).
// - Redirects are never followed: a 3xx comes back as a Response, and
//   ErrorStatus makes it an error naming the Location.
// - Status mapping lives in ONE function, ErrorStatus (below).
// - Retries are not done here: wrap calls in common/retry.h's Retry(), which
//   honours the Retry-After hint that ErrorStatus attaches.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/byte_source.h"

namespace shoebox::http {

class RequestGate;

struct ClientOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  // A transfer slower than 1 byte/s for this long is aborted (UNAVAILABLE).
  absl::Duration stall_timeout = absl::Seconds(60);
  // Upper bound of one request from start to end, unless the request's own
  // deadline comes sooner. Infinite: none (large uploads take long).
  absl::Duration request_timeout = absl::InfiniteDuration();
  // HTTP Basic credentials, sent with every request when either is set.
  std::string user{};
  std::string password{};
  bool verify_tls = true;
  std::string ca_file{};  // PEM bundle to trust instead of the system store
  // Extra name resolution, as curl --resolve: "host:port:address".
  std::vector<std::string> resolve{};
  // Appended to connection-failure messages, e.g. "is the WebDAV server
  // running and reachable?".
  std::string unreachable_hint{};
  // 2xx bodies kept in memory (no sink) larger than this fail the request
  // (RESOURCE_EXHAUSTED); error bodies are cut to it silently.
  size_t max_body_bytes = 64u << 20;
  // Shared by the clients of one service account (common/http/request_gate.h):
  // Send waits at it, and a 429/503 with Retry-After holds it. Null: none.
  std::shared_ptr<RequestGate> gate{};
};

// Header names are sent as given; an empty value removes a header curl
// would add by itself ({"Expect", ""}, {"Content-Type", ""}).
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method =
      "GET";          // any token: GET, HEAD, PUT, POST, DELETE, PROPFIND, MKCOL, MOVE, ...
  std::string url{};  // already encoded (common/http/url.h)
  Headers headers{};
  // Body from memory; not copied, must outlive Send...
  std::string_view body{};
  // ...or `body_length` bytes read from `body_source` at its current
  // position. When `body_source_rewinds`, offset 0 of the source is the
  // start of the body and curl may seek it (to resend after an auth
  // challenge); otherwise a resend fails the request.
  ByteSource* body_source = nullptr;
  uint64_t body_length = 0;
  bool body_source_rewinds = false;
  // Cumulative bytes of the body sent, at most once per MiB and at the end.
  std::function<void(uint64_t)> on_sent{};
  // 2xx response bodies stream here instead of into Response::body; an
  // error from it aborts the transfer and is what Send returns.
  std::function<absl::Status(std::string_view)> sink{};
  // DEADLINE_EXCEEDED when the exchange has not finished by then.
  absl::Time deadline = absl::InfiniteFuture();
};

struct Response {
  int status = 0;
  Headers headers;   // names lower-case, in order received (final response only)
  std::string body;  // unless it went to the request's sink
  // What was asked, for messages: the method and the URL without credentials.
  std::string method;
  std::string url;
  bool ok() const { return status >= 200 && status < 300; }
  // The last value of header `lower_name`; "" when absent.
  std::string Header(absl::string_view lower_name) const;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One exchange. Any HTTP answer, 1xx-5xx, is OK with its Response: the
  // caller checks the codes it gives a meaning to and passes the rest to
  // ErrorStatus. Errors (messages name the method and URL):
  //   connection refused/reset, DNS failure, stall → UNAVAILABLE;
  //   request deadline or request_timeout passed → DEADLINE_EXCEEDED;
  //   TLS verification failed → FAILED_PRECONDITION;
  //   malformed URL, unsupported scheme → INVALID_ARGUMENT;
  //   the body source's or the sink's error, as they returned it.
  absl::StatusOr<Response> Send(const Request& request) const;
  // Send, then ErrorStatus(response, what) unless the answer is 2xx.
  absl::StatusOr<Response> Call(const Request& request, absl::string_view what) const;

  const ClientOptions& options() const { return options_; }

 private:
  struct Pool;
  const ClientOptions options_;
  const std::unique_ptr<Pool> pool_;
};

// THE mapping of HTTP answers to statuses. The message is
//   "<what>: <METHOD> <url>: HTTP <code> (<detail>); <hint>"
// where detail defaults to a one-line summary of the error body (its
// Content-Type: HTML title and first paragraph, S3 Code: Message, a JSON
// message; at most 200 bytes, common/http/error_body.h) and hint to the one
// for the code. Codes:
//   429, 408, 423, 5xx (but 507) → UNAVAILABLE, with the
//                                   Retry-After hint (seconds or HTTP-date)
//                                   attached for common/retry.h;
//   401 → UNAUTHENTICATED;  403 → PERMISSION_DENIED;  404, 410 → NOT_FOUND;
//   409, 412 → FAILED_PRECONDITION (callers that give them a meaning check
//              the code first);
//   413, 507 → FAILED_PRECONDITION (too large, quota);
//   3xx → FAILED_PRECONDITION naming the Location (redirects are refused);
//   other 4xx and anything else → FAILED_PRECONDITION.
// A 2xx answer maps to OK.
absl::Status ErrorStatus(const Response& response, absl::string_view what,
                         absl::string_view detail = "", absl::string_view hint = "");

// An HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT" and the two obsolete forms,
// as curl_getdate reads them); nullopt when unparsable.
std::optional<absl::Time> ParseHttpDate(absl::string_view value);

// A Retry-After value: delta-seconds or an HTTP-date (a date in the past is
// zero); capped at one hour. nullopt when empty or unparsable.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now = absl::Now());

}  // namespace shoebox::http
