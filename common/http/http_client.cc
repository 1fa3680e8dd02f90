#include "common/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/http/error_body.h"
#include "common/http/request_gate.h"
#include "common/http/url.h"
#include "common/retry.h"

namespace shoebox::http {
namespace {

constexpr absl::Duration kRetryAfterCap = absl::Hours(1);
constexpr uint64_t kProgressStep = 1u << 20;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The state of one exchange, shared with the curl callbacks.
struct Transfer {
  const Request* req = nullptr;
  Response* resp = nullptr;
  CURL* curl = nullptr;
  size_t max_body = 0;
  uint64_t sent = 0;
  uint64_t reported = 0;
  absl::Status source_error;
  absl::Status sink_error;
  bool body_too_large = false;
};

size_t ReadCb(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const Request& r = *t->req;
  const uint64_t total = r.body_source != nullptr ? r.body_length : r.body.size();
  if (t->sent >= total) return 0;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * nitems, total - t->sent));
  size_t n = 0;
  if (r.body_source == nullptr) {
    std::memcpy(buf, r.body.data() + t->sent, want);
    n = want;
  } else {
    absl::StatusOr<size_t> got = r.body_source->Read(reinterpret_cast<uint8_t*>(buf), want);
    if (!got.ok()) {
      t->source_error = got.status();
      return CURL_READFUNC_ABORT;
    }
    if (*got == 0) {
      t->source_error =
          absl::DataLossError(absl::StrCat("the body's source ended after ", t->sent, " of ", total,
                                           " bytes; the upload was abandoned"));
      return CURL_READFUNC_ABORT;
    }
    n = *got;
  }
  t->sent += n;
  if (r.on_sent && (t->sent - t->reported >= kProgressStep || t->sent == total)) {
    t->reported = t->sent;
    r.on_sent(t->sent);
  }
  return n;
}

int SeekCb(void* userdata, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userdata);
  const Request& r = *t->req;
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  if (r.body_source != nullptr) {
    if (!r.body_source_rewinds) return CURL_SEEKFUNC_CANTSEEK;
    if (!r.body_source->Seek(static_cast<uint64_t>(offset)).ok()) return CURL_SEEKFUNC_FAIL;
  } else if (static_cast<uint64_t>(offset) > r.body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->sent = static_cast<uint64_t>(offset);
  t->reported = std::min(t->reported, t->sent);
  return CURL_SEEKFUNC_OK;
}

size_t WriteCb(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  const bool success = code >= 200 && code < 300;
  if (success && t->req->sink) {
    absl::Status s = t->req->sink(std::string_view(ptr, n));
    if (!s.ok()) {
      t->sink_error = std::move(s);
      return 0;  // aborts the transfer
    }
    return n;
  }
  std::string& body = t->resp->body;
  if (body.size() + n > t->max_body) {
    if (success) {
      t->body_too_large = true;
      return 0;
    }
    body.append(ptr, t->max_body - std::min(t->max_body, body.size()));
    return n;
  }
  body.append(ptr, n);
  return n;
}

size_t HeaderCb(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nitems;
  absl::string_view line(buf, n);
  if (absl::StartsWith(line, "HTTP/")) {
    t->resp->headers.clear();  // a new response (after 100 Continue or an auth challenge)
    return n;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    t->resp->headers.emplace_back(
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return n;
}

long ToMillis(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

}  // namespace

std::string Response::Header(absl::string_view lower_name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == lower_name) return it->second;
  }
  return "";
}

struct Client::Pool {
  Pool() {
    GlobalInit();
    share = curl_share_init();
    if (share != nullptr) {
      curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Pool::Lock);
      curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Pool::Unlock);
      curl_share_setopt(share, CURLSHOPT_USERDATA, this);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
  }
  ~Pool() {
    absl::MutexLock l(&mu);
    for (CURL* c : idle) curl_easy_cleanup(c);  // before the share they use
    if (share != nullptr) curl_share_cleanup(share);
  }
  // A handle with its connections still open, reset to default options.
  CURL* Take() {
    {
      absl::MutexLock l(&mu);
      if (!idle.empty()) {
        CURL* c = idle.back();
        idle.pop_back();
        curl_easy_reset(c);
        return c;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* c) {
    absl::MutexLock l(&mu);
    idle.push_back(c);
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access,
                   void* userptr) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    static_cast<Pool*>(userptr)->locks[static_cast<size_t>(data) % kLocks].Lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* userptr) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    static_cast<Pool*>(userptr)->locks[static_cast<size_t>(data) % kLocks].Unlock();
  }

  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST;
  CURLSH* share = nullptr;
  absl::Mutex locks[kLocks];
  absl::Mutex mu;
  std::vector<CURL*> idle ABSL_GUARDED_BY(mu);
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {}
Client::~Client() = default;

absl::StatusOr<Response> Client::Send(const Request& r) const {
  Response resp;
  resp.method = r.method;
  resp.url = RedactUrl(r.url);
  const std::string what = absl::StrCat(resp.method, " ", resp.url);
  const absl::Time start = absl::Now();
  absl::Time deadline = r.deadline;
  if (options_.request_timeout != absl::InfiniteDuration()) {
    deadline = std::min(deadline, start + options_.request_timeout);
  }
  if (deadline <= start) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": the deadline passed before the request was sent"));
  }
  if (options_.gate != nullptr) {
    if (absl::Status open = options_.gate->Wait(what); !open.ok()) return open;
  }
  CURL* c = pool_->Take();
  if (c == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat(what, ": curl_easy_init failed"));

  Transfer t;
  t.req = &r;
  t.resp = &resp;
  t.curl = c;
  t.max_body = options_.max_body_bytes;

  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  if (pool_->share != nullptr) curl_easy_setopt(c, CURLOPT_SHARE, pool_->share);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(options_.connect_timeout));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(
      c, CURLOPT_LOW_SPEED_TIME,
      static_cast<long>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.stall_timeout))));
  if (deadline != absl::InfiniteFuture())
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ToMillis(deadline - start));
  if (!options_.user.empty() || !options_.password.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_slist* resolve = nullptr;
  for (const auto& e : options_.resolve) resolve = curl_slist_append(resolve, e.c_str());
  if (resolve != nullptr) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

  const bool streamed = r.body_source != nullptr;
  const uint64_t body_len = streamed ? r.body_length : r.body.size();
  if (r.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (r.method == "PUT" || streamed) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadCb);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, SeekCb);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_len));
    if (r.method != "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method == "POST" || !r.body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.empty() ? "" : r.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_len));
    if (r.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : r.headers) {
    headers = curl_slist_append(headers, value.empty() ? absl::StrCat(name, ":").c_str()
                                                       : absl::StrCat(name, ": ", value).c_str());
  }
  if (headers != nullptr) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  pool_->Give(c);

  if (!t.source_error.ok()) return t.source_error;
  if (!t.sink_error.ok()) return t.sink_error;
  if (t.body_too_large) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": the answer is larger than ", options_.max_body_bytes, " bytes"));
  }
  if (rc != CURLE_OK) {
    const std::string detail =
        absl::StrCat(what, ": ", errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return absl::InvalidArgumentError(absl::StrCat(detail, "; check the URL in the settings"));
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return absl::FailedPreconditionError(
            absl::StrCat(detail,
                         "; the server's TLS certificate is not trusted: fix the certificate or "
                         "set \"ca_file\""));
      case CURLE_OPERATION_TIMEDOUT:
        if (deadline != absl::InfiniteFuture() &&
            absl::Now() >= deadline - absl::Milliseconds(50)) {
          return absl::DeadlineExceededError(
              absl::StrCat(detail, " (the request's deadline passed)"));
        }
        return absl::UnavailableError(absl::StrCat(detail, " (the transfer stalled; will retry)"));
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
        return absl::UnavailableError(options_.unreachable_hint.empty()
                                          ? detail
                                          : absl::StrCat(detail, "; ", options_.unreachable_hint));
      default:
        return absl::UnavailableError(
            absl::StrCat(detail, " (network or server trouble; will retry)"));
    }
  }
  resp.status = static_cast<int>(code);
  if (options_.gate != nullptr && (resp.status == 429 || resp.status == 503)) {
    if (std::optional<absl::Duration> after = ParseRetryAfter(resp.Header("retry-after"))) {
      options_.gate->Hold(*after);
    }
  }
  return resp;
}

absl::StatusOr<Response> Client::Call(const Request& request, absl::string_view what) const {
  absl::StatusOr<Response> resp = Send(request);
  if (!resp.ok() || resp->ok()) return resp;
  return ErrorStatus(*resp, what);
}

absl::Status ErrorStatus(const Response& r, absl::string_view what, absl::string_view detail,
                         absl::string_view hint) {
  if (r.ok()) return absl::OkStatus();
  std::string head = what.empty() ? "" : absl::StrCat(what, ": ");
  absl::StrAppend(&head, r.method, " ", r.url, ": HTTP ", r.status);
  const std::string d =
      detail.empty() ? SummarizeErrorBody(r.Header("content-type"), r.body) : std::string(detail);
  if (!d.empty()) absl::StrAppend(&head, " (", d, ")");
  auto msg = [&](absl::string_view fallback) {
    absl::string_view h = hint.empty() ? fallback : hint;
    return h.empty() ? head : absl::StrCat(head, "; ", h);
  };
  auto busy = [&](absl::string_view fallback) {
    absl::Status s = absl::UnavailableError(msg(fallback));
    if (std::optional<absl::Duration> ra = ParseRetryAfter(r.Header("retry-after"))) {
      s = WithRetryAfter(std::move(s), static_cast<uint32_t>(absl::ToInt64Milliseconds(*ra)));
    }
    return s;
  };
  const int code = r.status;
  if (code >= 300 && code < 400) {
    const std::string location = r.Header("location");
    return absl::FailedPreconditionError(
        msg(absl::StrCat("redirected to ", location.empty() ? "(no Location)" : RedactUrl(location),
                         "; redirects are not followed: put the final URL in the settings")));
  }
  switch (code) {
    case 401:
      return absl::UnauthenticatedError(
          msg("the server refused the credentials: update the destination's credentials with "
              "`shoebox dest set NAME --secret KEY=-`"));
    case 403:
      return absl::PermissionDeniedError(
          msg("the account may not do this: check its permissions on the server"));
    case 404:
    case 410:
      return absl::NotFoundError(msg(""));
    case 408:
      return busy("the server timed out waiting for the request; will retry");
    case 413:
      return absl::FailedPreconditionError(
          msg("the server refuses a body this large (raise its upload limit)"));
    case 423:
      return busy("the resource is locked; will retry");
    case 429:
      return busy("rate limited; will retry");
    case 507:
      return absl::FailedPreconditionError(
          msg("the account's storage is full: free space or raise the quota"));
    default:
      break;
  }
  if (code >= 500) return busy("the server is busy or failing; will retry");
  return absl::FailedPreconditionError(msg(""));
}

std::optional<absl::Time> ParseHttpDate(absl::string_view value) {
  const time_t t = curl_getdate(std::string(absl::StripAsciiWhitespace(value)).c_str(), nullptr);
  if (t <= 0) return std::nullopt;
  return absl::FromTimeT(t);
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  absl::Duration d;
  int64_t secs = 0;
  if (absl::SimpleAtoi(value, &secs)) {
    if (secs < 0) return std::nullopt;
    d = absl::Seconds(std::min<int64_t>(secs, absl::ToInt64Seconds(kRetryAfterCap)));
  } else {
    std::optional<absl::Time> t = ParseHttpDate(value);
    if (!t.has_value()) return std::nullopt;
    d = std::max(absl::ZeroDuration(), *t - now);
  }
  return std::min(d, kRetryAfterCap);
}

}  // namespace shoebox::http
