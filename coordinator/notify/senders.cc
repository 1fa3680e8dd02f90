#include "coordinator/notify/senders.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/http_client.h"
#include "coordinator/notify/format.h"

namespace shoebox::coordinator::notify {

namespace {

struct Reader {
  const std::string* data;
  size_t pos = 0;
};

size_t ReadPayload(char* buf, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reader*>(user);
  const size_t len = std::min(size * n, r->data->size() - r->pos);
  std::memcpy(buf, r->data->data() + r->pos, len);
  r->pos += len;
  return len;
}

std::string RandomHex(size_t bytes) {
  std::random_device rd;
  std::string s;
  for (size_t i = 0; i < bytes; ++i) s.push_back(static_cast<char>(rd() & 0xff));
  return ToHex(s);
}

std::string Who(const ChannelConfig& c) {
  return absl::StrCat("notification channel \"", c.name, "\" (", c.kind, " via ", RedactUrl(c.url),
                      ")");
}

absl::StatusOr<std::string> SendEmail(const ChannelConfig& c, const Message& m,
                                      const SendOptions& o) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const std::string id = absl::StrCat(now, ".", RandomHex(8), "@", o.hostname);
  const std::string payload = SmtpPayload(o.email_from, c.email_to, m, now, id);
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("libcurl: curl_easy_init failed");
  Reader reader{&payload};
  const std::string from = absl::StrCat("<", o.email_from, ">");
  const std::string to = absl::StrCat("<", c.email_to, ">");
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, c.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadPayload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeout_ms));
  // STARTTLS is required (smtps:// is TLS from the first byte) unless the
  // operator said the relay is a plain one on the LAN.
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   static_cast<long>(c.insecure_smtp ? CURLUSESSL_NONE : CURLUSESSL_ALL));
  if (!o.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!c.smtp_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, c.smtp_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, c.secret.c_str());
  }
  const CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OK) return absl::StrCat("SMTP ", code, " (accepted for ", c.email_to, ")");
  const std::string detail =
      absl::StrCat(curl_easy_strerror(rc), err[0] != 0 ? ": " : "", err,
                   code != 0 ? absl::StrCat(", last SMTP reply ", code) : "");
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return absl::UnavailableError(absl::StrCat(
          Who(c), ": ", detail,
          "; is the SMTP server running and reachable at that address? (change it with `shoebox "
          "notify remove ",
          c.name, "` and `shoebox notify add email ...`)"));
    case CURLE_USE_SSL_FAILED:
      return absl::FailedPreconditionError(absl::StrCat(
          Who(c), ": ", detail,
          "; the server offers no STARTTLS: use smtps:// or a server that does, or, for a "
          "relay on your own LAN only, add the channel with --insecure-smtp"));
    case CURLE_LOGIN_DENIED:
      return absl::UnauthenticatedError(
          absl::StrCat(Who(c), ": ", detail,
                       "; the server refused the user and password: add the channel "
                       "again with the right --user and --password-file"));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return absl::FailedPreconditionError(absl::StrCat(
          Who(c), ": ", detail,
          "; the server's certificate is not trusted: set `shoebox notify set tls_ca_file PATH` "
          "to its CA"));
    default:
      return absl::FailedPreconditionError(
          absl::StrCat(Who(c), ": ", detail, "; check the channel with `shoebox notify list`"));
  }
}

absl::StatusOr<std::string> Post(const ChannelConfig& c, const http::Headers& headers,
                                 const std::string& body, const SendOptions& o) {
  http::ClientOptions co;
  co.connect_timeout = absl::Milliseconds(o.timeout_ms);
  co.request_timeout = absl::Milliseconds(o.timeout_ms);
  co.ca_file = o.ca_file;
  co.unreachable_hint = "is the receiver running and reachable at that URL?";
  http::Client client(co);
  http::Request req;
  req.method = "POST";
  req.url = c.url;
  req.headers = headers;
  req.body = body;
  absl::StatusOr<http::Response> r = client.Call(req, Who(c));
  if (!r.ok()) return r.status();
  return absl::StrCat("HTTP ", r->status);
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t slash = url.find('/', start);
  const size_t at = url.rfind('@', slash == std::string::npos ? url.size() : slash);
  if (at == std::string::npos || at < start) return url;
  return absl::StrCat(url.substr(0, start), url.substr(at + 1));
}

absl::StatusOr<std::string> Send(const ChannelConfig& c, const Message& m, const SendOptions& o) {
  if (c.kind == "email") return SendEmail(c, m, o);
  if (c.kind == "webhook") {
    const std::string body = MessageToJson(m);
    http::Headers h = {{"Content-Type", "application/json"}, {"X-Shoebox-Event", m.event}};
    if (!c.secret.empty()) {
      HmacSha256 mac(AsBytes(std::string_view(c.secret)));
      const Digest d = mac.Compute(std::string_view(body));
      h.emplace_back(kSignatureHeader,
                     absl::StrCat("sha256=", ToHex(ByteSpan(d.data(), d.size()))));
    }
    return Post(c, h, body, o);
  }
  if (c.kind == "ntfy") {
    std::string body = m.text;
    if (!m.action.empty()) absl::StrAppend(&body, "\nWhat to do: ", m.action);
    // Header values must be one line of ASCII for ntfy; the subject is.
    http::Headers h = {{"Title", m.subject},
                       {"Priority", absl::StrCat(m.priority)},
                       {"Tags", m.tags},
                       {"Content-Type", "text/plain; charset=utf-8"}};
    return Post(c, h, body, o);
  }
  return absl::InvalidArgumentError(absl::StrCat("notification channel \"", c.name,
                                                 "\": unknown kind \"", c.kind,
                                                 "\" (email, webhook or ntfy)"));
}

absl::StatusOr<std::string> Ping(const std::string& url, const SendOptions& o) {
  http::ClientOptions co;
  co.connect_timeout = absl::Milliseconds(o.timeout_ms);
  co.request_timeout = absl::Milliseconds(o.timeout_ms);
  co.ca_file = o.ca_file;
  http::Client client(co);
  http::Request req;
  req.url = url;
  absl::StatusOr<http::Response> r = client.Call(req, absl::StrCat("ping URL ", RedactUrl(url)));
  if (!r.ok()) return r.status();
  return absl::StrCat("HTTP ", r->status);
}

}  // namespace shoebox::coordinator::notify
