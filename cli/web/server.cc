#include "cli/web/server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/web/assets.h"
#include "cli/web/browse.h"
#include "cli/web/deleted.h"
#include "cli/web/login_limiter.h"
#include "cli/web/overview.h"
#include "cli/web/pages.h"
#include "cli/web/password.h"
#include "cli/web/sessions.h"
#include "cli/web/status_feed.h"
#include "cli/web/totp.h"
#include "common/bytes.h"

namespace shoebox::cli::web {

namespace {

using nlohmann::json;
namespace pb = shoebox::v1;

constexpr char kCookie[] = "__Host-shoebox";
// Between the password and the TOTP code: who passed the first step.
constexpr char kPendingCookie[] = "__Host-shoebox-2fa";
constexpr char kCsrfHeader[] = "X-CSRF-Token";

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

void SendJson(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(DumpJson(j), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, json{{"error", message}});
}

bool IsStateChanging(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "DELETE" || method == "PATCH";
}

// The value of cookie `name` in the request's Cookie headers, or "".
std::string CookieValue(const httplib::Request& req, absl::string_view name) {
  const size_t n = req.get_header_value_count("Cookie");
  for (size_t i = 0; i < n; ++i) {
    for (absl::string_view part : absl::StrSplit(req.get_header_value("Cookie", i), ';')) {
      part = absl::StripAsciiWhitespace(part);
      if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
        return std::string(part);
      }
    }
  }
  return "";
}

std::string SessionCookie(const std::string& id) {
  return absl::StrCat(kCookie, "=", id, "; Path=/; Secure; HttpOnly; SameSite=Strict");
}

std::string ClearedCookie(const char* name = kCookie) {
  return absl::StrCat(name, "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
}

std::string PendingCookie(const std::string& id) {
  return absl::StrCat(kPendingCookie, "=", id, "; Path=/; Secure; HttpOnly; SameSite=Strict");
}

// A log-in request a cross-site page could have sent: the answer is sent
// and true returned. A cross-site page cannot send JSON without a preflight
// this server never answers, and a browser names the page's origin.
bool RefuseCrossSiteLogin(const httplib::Request& req, httplib::Response& res) {
  if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
    SendError(res, 415, "send the log-in as application/json");
    return true;
  }
  const std::string origin = req.get_header_value("Origin");
  if (!origin.empty() && origin != "https://" + req.get_header_value("Host")) {
    SendError(res, 403, "log-in from another site refused");
    return true;
  }
  return false;
}

// One line of at most 200 printable bytes (audit targets, names echoed).
std::string OneLine(std::string_view s) {
  std::string p = PrintablePath(s);
  if (p.size() > 200) p.resize(200);
  return p;
}

ViewScope ScopeOf(const Session& s) { return ViewScope{s.role == "admin", s.devices}; }

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  std::string host;
  std::string port_text;
  if (!listen.empty() && listen[0] == '[') {
    const size_t close = listen.find("]:");
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--listen ", listen, ": an IPv6 address is written [ADDR]:PORT"));
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--listen ", listen, ": give ADDRESS:PORT, e.g. 127.0.0.1:8443 or 192.168.1.10:8443"));
    }
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen ", listen, ": the port must be 0..65535"));
  }
  return std::make_pair(host, port);
}

class WebServer::Impl {
 public:
  Impl(const WebOptions& o, CoordinatorLink link)
      : options_(o),
        link_(std::move(link)),
        sessions_(o.session_idle, o.session_max),
        pending_(o.second_step_timeout, o.second_step_timeout, 1000),
        limiter_(o.login_max_failures, o.login_window),
        feed_([this] { return FetchStatus(); }, o.poll_interval) {}

  ~Impl() {
    Stop();
    Wait();
  }

  absl::Status Init();
  void Wait() {
    if (thread_.joinable()) thread_.join();
  }
  void Stop() {
    stopping_ = true;
    feed_.Stop();
    if (http_ != nullptr) http_->stop();
  }

  int port_ = 0;
  std::string host_;

 private:
  // ---- the coordinator ----
  absl::StatusOr<pb::StatusResponse> FetchStatus() {
    pb::StatusResponse r;
    auto ctx = link_.context();
    grpc::Status s = link_.stub->GetStatus(ctx.get(), pb::GetStatusRequest(), &r);
    if (!s.ok()) return FromGrpc(s, "the coordinator did not answer GetStatus");
    return r;
  }
  absl::StatusOr<pb::WebAccountCredential> FetchCredential(const std::string& name) {
    pb::GetWebAccountCredentialRequest req;
    req.set_name(name);
    pb::WebAccountCredential r;
    auto ctx = link_.context();
    grpc::Status s = link_.stub->GetWebAccountCredential(ctx.get(), req, &r);
    if (!s.ok()) return FromGrpc(s, "GetWebAccountCredential");
    return r;
  }
  absl::StatusOr<pb::WebAccountTotp> FetchTotp(const std::string& name) {
    pb::GetWebAccountTotpRequest req;
    req.set_name(name);
    pb::WebAccountTotp r;
    auto ctx = link_.context();
    grpc::Status s = link_.stub->GetWebAccountTotp(ctx.get(), req, &r);
    if (!s.ok()) return FromGrpc(s, "GetWebAccountTotp");
    return r;
  }
  // Best effort: a failure is logged, the request goes on.
  void Audit(const std::string& account, const std::string& action, const std::string& target,
             bool allowed, const std::string& detail) {
    pb::RecordWebAuditRequest req;
    req.set_account(account);
    req.set_action(action);
    req.set_target(OneLine(target));
    req.set_allowed(allowed);
    req.set_detail(OneLine(detail));
    pb::RecordWebAuditResponse r;
    auto ctx = link_.context();
    grpc::Status s = link_.stub->RecordWebAudit(ctx.get(), req, &r);
    if (!s.ok()) {
      std::fprintf(stderr, "shoebox web: could not write audit entry %s for %s: %s\n",
                   action.c_str(), account.c_str(), s.error_message().c_str());
    }
  }

  // What the session may see now: a member's devices as the coordinator
  // binds them at this moment (an unbind applies at once, not at the next
  // log-in); none when that cannot be read (fail closed).
  ViewScope CurrentScope(const std::string& account, bool admin) {
    if (admin) return ViewScope{true, {}};
    absl::StatusOr<pb::WebAccountCredential> cred = FetchCredential(account);
    if (!cred.ok()) return ViewScope{false, {}};
    return ViewScope{false, {cred->account().devices().begin(), cred->account().devices().end()}};
  }

  std::optional<Session> CurrentSession(const httplib::Request& req) {
    const std::string id = CookieValue(req, kCookie);
    if (id.empty()) return std::nullopt;
    return sessions_.Find(id);
  }

  void Routes();
  httplib::Server::HandlerResponse Gate(const httplib::Request& req, httplib::Response& res);
  // The session and its CSRF token for a state-changing request; false with
  // 401 or 403 sent.
  bool AllowStateChange(const httplib::Request& req, httplib::Response& res);
  void ServeAsset(const std::string& name, httplib::Response& res);
  void Login(const httplib::Request& req, httplib::Response& res);
  void LoginCode(const httplib::Request& req, httplib::Response& res);
  void Logout(const httplib::Request& req, httplib::Response& res);
  void ChangePassword(const httplib::Request& req, httplib::Response& res);
  void Overview(const httplib::Request& req, httplib::Response& res);
  void Events(const httplib::Request& req, httplib::Response& res);
  // Checks `password` for `name`: the account, or UNAUTHENTICATED (wrong
  // name or password, counted by the limiter), RESOURCE_EXHAUSTED (limited;
  // *retry_after set) or UNAVAILABLE (the coordinator did not answer).
  absl::StatusOr<pb::WebAccount> CheckPassword(const std::string& name, const std::string& password,
                                               const std::string& client,
                                               absl::Duration* retry_after);

  const WebOptions options_;
  const CoordinatorLink link_;
  SessionStore sessions_;
  SessionStore pending_;  // passed the password, waiting for the TOTP code
  LoginLimiter limiter_;
  StatusFeed feed_;
  std::once_flag feed_started_;
  std::string dummy_hash_;  // checked for unknown names: same time as a real check
  std::unique_ptr<httplib::SSLServer> http_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_{0};
};

absl::Status WebServer::Impl::Init() {
  for (const std::string* f : {&options_.cert_file, &options_.key_file}) {
    if (f->empty() || ::access(f->c_str(), R_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot read ", f->empty() ? std::string("(none given)") : *f,
          ": give the HTTPS certificate and key with --cert and --key (by default the "
          "coordinator's server.crt and server.key in tls_dir of cli.toml; run as the user "
          "that owns them)"));
    }
  }
  const std::string cert = options_.cert_file, key = options_.key_file;
  http_ = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    return SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) == 1 &&
           SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) == 1 &&
           SSL_CTX_check_private_key(&ctx) == 1;
  });
  if (!http_->is_valid()) {
    char buf[256] = "unknown error";
    if (unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, buf, sizeof buf);
    return absl::FailedPreconditionError(
        absl::StrCat("the HTTPS certificate ", cert, " and key ", key, " cannot be used together (",
                     buf, "): give a PEM certificate chain and its private key"));
  }
  auto dummy = HashPassword(GeneratePassword());
  if (!dummy.ok()) return dummy.status();
  dummy_hash_ = *dummy;

  const int threads = options_.max_event_streams + 16;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_read_timeout(10);
  http_->set_write_timeout(10);
  http_->set_payload_max_length(64 * 1024);
  http_->set_default_headers({
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Strict-Transport-Security", "max-age=31536000"},
  });
  Routes();

  auto hp = ParseListen(options_.listen);
  if (!hp.ok()) return hp.status();
  host_ = hp->first;
  if (hp->second == 0) {
    port_ = http_->bind_to_any_port(host_);
  } else {
    port_ = http_->bind_to_port(host_, hp->second) ? hp->second : -1;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen,
        ": the address is not on this machine or the port is taken (choose another with "
        "--listen ADDRESS:PORT)"));
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return absl::OkStatus();
}

void WebServer::Impl::Routes() {
  http_->set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return Gate(req, res); });
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (req.path.rfind("/api/", 0) == 0) {
      SendError(res, res.status, absl::StrCat("no such API: ", req.method, " ", OneLine(req.path)));
    } else {
      res.set_content(absl::StrCat("HTTP ", res.status), "text/plain; charset=utf-8");
    }
  });
  http_->Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
    if (CurrentSession(req)) return res.set_redirect("/", 303);
    ServeAsset("login.html", res);
  });
  http_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
    ServeAsset("index.html", res);
  });
  http_->Get("/assets/([A-Za-z0-9._-]+)",
             [this](const httplib::Request& req, httplib::Response& res) {
               ServeAsset(req.matches[1], res);
             });
  http_->Post("/api/login",
              [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
  http_->Get("/login/code", [this](const httplib::Request& req, httplib::Response& res) {
    if (CurrentSession(req)) return res.set_redirect("/", 303);
    ServeAsset("login-code.html", res);
  });
  http_->Post("/api/login/code",
              [this](const httplib::Request& req, httplib::Response& res) { LoginCode(req, res); });
  http_->Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
    if (AllowStateChange(req, res)) Logout(req, res);
  });
  http_->Post("/api/password", [this](const httplib::Request& req, httplib::Response& res) {
    if (AllowStateChange(req, res)) ChangePassword(req, res);
  });
  http_->Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = CurrentSession(req);
    if (!s) return SendError(res, 401, "not logged in");
    SendJson(res, 200,
             json{{"account", s->account},
                  {"role", s->role},
                  {"csrf", s->csrf},
                  {"devices", s->devices}});
  });
  http_->Get("/api/overview",
             [this](const httplib::Request& req, httplib::Response& res) { Overview(req, res); });
  http_->Get("/api/events",
             [this](const httplib::Request& req, httplib::Response& res) { Events(req, res); });
  PageDeps deps;
  deps.link = link_;
  deps.coordinator_address = options_.coordinator_address;
  deps.session = [this](const httplib::Request& req) { return CurrentSession(req); };
  deps.audit = [this](const std::string& account, const std::string& action,
                      const std::string& target, bool allowed, const std::string& detail) {
    Audit(account, action, target, allowed, detail);
  };
  deps.allow_state_change = [this](const httplib::Request& req, httplib::Response& res) {
    return AllowStateChange(req, res);
  };
  deps.serve_asset = [this](const std::string& name, httplib::Response& res) {
    ServeAsset(name, res);
  };
  RegisterBrowse(*http_, deps);       // before `deps` moves on
  RegisterDeletedPage(*http_, deps);  // issue 22: Recently deleted
  RegisterPages(*http_, std::move(deps));
}

// Before any route: pages and APIs need a session (the log-in page, its
// assets and POST /api/login excepted); state-changing requests also need
// the session's CSRF token.
httplib::Server::HandlerResponse WebServer::Impl::Gate(const httplib::Request& req,
                                                       httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  const std::string& p = req.path;
  if (p == "/login" || p == "/api/login" || p == "/login/code" || p == "/api/login/code" ||
      p.rfind("/assets/", 0) == 0) {
    return R::Unhandled;
  }
  // A state-changing request is checked by its route (Guarded), after
  // cpp-httplib read its body: answering here would leave the body unread
  // on a kept-alive connection, where it would be parsed as the start of
  // the browser's next request (a 400 for that one).
  if (IsStateChanging(req.method)) return R::Unhandled;
  if (!CurrentSession(req)) {
    if (p.rfind("/api/", 0) == 0) {
      SendError(res, 401,
                "not logged in (or the session ended: idle too long, logged out, or the web "
                "server restarted): log in again");
    } else {
      res.set_redirect("/login", 303);
    }
    return R::Handled;
  }
  return R::Unhandled;
}

bool WebServer::Impl::AllowStateChange(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = CurrentSession(req);
  if (!s) {
    SendError(res, 401,
              "not logged in (or the session ended: idle too long, logged out, or the web "
              "server restarted): log in again");
    return false;
  }
  if (!SessionStore::CsrfMatches(*s, req.get_header_value(kCsrfHeader))) {
    SendError(res, 403,
              "this request needs the session's X-CSRF-Token header: reload the page and try "
              "again");
    return false;
  }
  return true;
}

void WebServer::Impl::ServeAsset(const std::string& name, httplib::Response& res) {
  const Asset* a = FindAsset(name);
  if (a == nullptr) {
    res.status = 404;
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_content(a->body.data(), a->body.size(), std::string(a->content_type));
}

absl::StatusOr<pb::WebAccount> WebServer::Impl::CheckPassword(const std::string& name,
                                                              const std::string& password,
                                                              const std::string& client,
                                                              absl::Duration* retry_after) {
  const std::vector<std::string> keys = {"account:" + name, "address:" + client};
  *retry_after = limiter_.RetryAfter(keys);
  if (*retry_after > absl::ZeroDuration()) {
    return absl::ResourceExhaustedError("too many failed log-ins");
  }
  absl::StatusOr<pb::WebAccountCredential> cred = FetchCredential(name);
  bool ok = false;
  if (cred.ok()) {
    absl::StatusOr<bool> match = VerifyPassword(cred->password_hash(), password);
    if (!match.ok()) {
      std::fprintf(stderr, "shoebox web: account %s: %s\n", OneLine(name).c_str(),
                   std::string(match.status().message()).c_str());
    }
    ok = match.ok() && *match;
  } else if (absl::IsNotFound(cred.status()) || absl::IsInvalidArgument(cred.status())) {
    (void)VerifyPassword(dummy_hash_, password);  // the same time as a real check
  } else {
    return absl::UnavailableError(std::string(cred.status().message()));
  }
  if (!ok) {
    limiter_.RecordFailure(keys);
    Audit("", "WebLoginFailed", name, false, absl::StrCat("from ", client));
    return absl::UnauthenticatedError("wrong account name or password");
  }
  return cred->account();
}

void WebServer::Impl::Login(const httplib::Request& req, httplib::Response& res) {
  if (RefuseCrossSiteLogin(req, res)) return;
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string() ||
      !body.contains("password") || !body["password"].is_string()) {
    return SendError(res, 400, "send {\"name\": ..., \"password\": ...}");
  }
  const std::string name = body["name"].get<std::string>();
  const std::string password = body["password"].get<std::string>();
  absl::Duration wait;
  absl::StatusOr<pb::WebAccount> account = CheckPassword(name, password, req.remote_addr, &wait);
  if (absl::IsResourceExhausted(account.status())) {
    const int64_t secs = absl::ToInt64Seconds(wait);
    res.set_header("Retry-After", std::to_string(secs));
    return SendError(res, 429,
                     absl::StrCat("too many failed log-ins for this account or from this "
                                  "address: try again in ",
                                  secs, " s"));
  }
  if (absl::IsUnauthenticated(account.status()))
    return SendError(res, 401, "wrong account name or password");
  if (!account.ok()) {
    return SendError(res, 503,
                     absl::StrCat("cannot check the password now: ", account.status().message()));
  }
  absl::StatusOr<pb::WebAccountTotp> totp = FetchTotp(account->name());
  if (!totp.ok()) {
    return SendError(res, 503,
                     absl::StrCat("cannot check the second factor now: ", totp.status().message()));
  }
  const std::vector<std::string> devices(account->devices().begin(), account->devices().end());
  if (totp->enabled()) {
    // Second step: the code, on its own page, within second_step_timeout.
    Session p = pending_.Create(account->name(), account->role(), devices);
    res.set_header("Set-Cookie", PendingCookie(p.id));
    return SendJson(res, 200, json{{"account", p.account}, {"second_step", "totp"}});
  }
  if (account->role() == "admin" && totp->admins_require_totp()) {
    Audit("", "WebLoginRefused", account->name(), false,
          absl::StrCat("admin without TOTP while another admin has it; from ", req.remote_addr));
    return SendError(
        res, 403,
        absl::StrCat("two-factor log-in is required for admins once any admin has it, and ",
                     account->name(), " has none: an admin must run `shoebox web user totp enable ",
                     account->name(), "` on the server and give you the key"));
  }
  Session s = sessions_.Create(account->name(), account->role(), devices);
  Audit(s.account, "WebLogin", s.account, true, absl::StrCat("from ", req.remote_addr));
  res.set_header("Set-Cookie", SessionCookie(s.id));
  SendJson(res, 200, json{{"account", s.account}, {"role", s.role}, {"csrf", s.csrf}});
}

void WebServer::Impl::LoginCode(const httplib::Request& req, httplib::Response& res) {
  if (RefuseCrossSiteLogin(req, res)) return;
  std::optional<Session> p = pending_.Find(CookieValue(req, kPendingCookie));
  if (!p) {
    return SendError(res, 401,
                     "the log-in timed out or was not started: log in with your password again");
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_string()) {
    return SendError(res, 400, "send {\"code\": \"123456\"}");
  }
  const std::vector<std::string> keys = {"account:" + p->account, "address:" + req.remote_addr};
  if (absl::Duration wait = limiter_.RetryAfter(keys); wait > absl::ZeroDuration()) {
    const int64_t secs = absl::ToInt64Seconds(wait);
    res.set_header("Retry-After", std::to_string(secs));
    return SendError(res, 429, absl::StrCat("too many wrong codes: try again in ", secs, " s"));
  }
  absl::StatusOr<pb::WebAccountTotp> totp = FetchTotp(p->account);
  if (!totp.ok() || !totp->enabled()) {
    return SendError(res, 503,
                     absl::StrCat("cannot check the code now: ",
                                  totp.ok() ? "TOTP was turned off meanwhile; log in "
                                              "again"
                                            : std::string(totp.status().message())));
  }
  std::string code = body["code"].get<std::string>();
  code.erase(std::remove(code.begin(), code.end(), ' '), code.end());
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  std::optional<int64_t> step = TotpMatch(totp->secret(), code, now, totp->last_step());
  bool accepted = false;
  if (step) {
    pb::UseWebAccountTotpStepRequest use;
    use.set_name(p->account);
    use.set_step(*step);
    pb::UseWebAccountTotpStepResponse used;
    auto ctx = link_.context();
    grpc::Status s = link_.stub->UseWebAccountTotpStep(ctx.get(), use, &used);
    if (!s.ok()) return SendError(res, 503, FromGrpc(s, "UseWebAccountTotpStep").ToString());
    accepted = used.accepted();  // false: another log-in used this code first
  }
  if (!accepted) {
    limiter_.RecordFailure(keys);
    Audit("", "WebLoginFailed", p->account, false,
          absl::StrCat("wrong or reused TOTP code; from ", req.remote_addr));
    return SendError(res, 401, "wrong code (or one already used): type the current code");
  }
  pending_.Remove(p->id);
  Session s = sessions_.Create(p->account, p->role, p->devices);
  Audit(s.account, "WebLogin", s.account, true, absl::StrCat("with TOTP; from ", req.remote_addr));
  res.set_header("Set-Cookie", SessionCookie(s.id));
  res.set_header("Set-Cookie", ClearedCookie(kPendingCookie));
  SendJson(res, 200, json{{"account", s.account}, {"role", s.role}, {"csrf", s.csrf}});
}

void WebServer::Impl::Logout(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = CurrentSession(req);
  if (!s) return SendError(res, 401, "not logged in");
  sessions_.Remove(s->id);
  Audit(s->account, "WebLogout", s->account, true, absl::StrCat("from ", req.remote_addr));
  res.set_header("Set-Cookie", ClearedCookie());
  SendJson(res, 200, json::object());
}

void WebServer::Impl::ChangePassword(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = CurrentSession(req);
  if (!s) return SendError(res, 401, "not logged in");
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("current") || !body["current"].is_string() ||
      !body.contains("new") || !body["new"].is_string()) {
    return SendError(res, 400, "send {\"current\": ..., \"new\": ...}");
  }
  absl::Duration wait;
  absl::StatusOr<pb::WebAccount> checked =
      CheckPassword(s->account, body["current"].get<std::string>(), req.remote_addr, &wait);
  if (absl::IsResourceExhausted(checked.status())) {
    res.set_header("Retry-After", std::to_string(absl::ToInt64Seconds(wait)));
    return SendError(res, 429, "too many wrong passwords: wait a minute");
  }
  if (absl::IsUnauthenticated(checked.status())) {
    return SendError(res, 403, "the current password is wrong");
  }
  if (!checked.ok()) return SendError(res, 503, std::string(checked.status().message()));
  absl::StatusOr<std::string> hash = HashPassword(body["new"].get<std::string>());
  if (!hash.ok()) return SendError(res, 400, std::string(hash.status().message()));
  pb::SetWebAccountPasswordRequest set;
  set.set_name(s->account);
  set.set_password_hash(*hash);
  pb::WebAccount updated;
  auto ctx = link_.context();
  grpc::Status st = link_.stub->SetWebAccountPassword(ctx.get(), set, &updated);
  if (!st.ok()) return SendError(res, 503, FromGrpc(st, "SetWebAccountPassword").ToString());
  // Every session of the account ends; this browser gets a fresh one.
  sessions_.RemoveAccount(s->account);
  Session fresh = sessions_.Create(s->account, s->role, s->devices);
  Audit(s->account, "WebPasswordChanged", s->account, true, absl::StrCat("from ", req.remote_addr));
  res.set_header("Set-Cookie", SessionCookie(fresh.id));
  SendJson(res, 200, json{{"csrf", fresh.csrf}});
}

void WebServer::Impl::Overview(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = CurrentSession(req);
  if (!s) return SendError(res, 401, "not logged in");
  absl::StatusOr<pb::StatusResponse> st = FetchStatus();
  if (!st.ok()) return SendError(res, 502, std::string(st.status().message()));
  SendJson(res, 200, OverviewJson(*st, CurrentScope(s->account, s->role == "admin")));
}

void WebServer::Impl::Events(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = CurrentSession(req);
  if (!s) return SendError(res, 401, "not logged in");
  if (streams_.fetch_add(1) >= options_.max_event_streams) {
    streams_.fetch_sub(1);
    res.set_header("Retry-After", "10");
    return SendError(res, 503, "too many open live-update streams; try again shortly");
  }
  std::call_once(feed_started_, [this] { feed_.Start(); });
  struct Stream {
    std::string sid;
    std::string account;
    ViewScope scope;
    uint64_t sent = 0;
    absl::Time last_write = absl::Now();
  };
  auto stream = std::make_shared<Stream>(Stream{s->id, s->account, ScopeOf(*s)});
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, stream](size_t, httplib::DataSink& sink) {
        if (stopping_) return false;
        StatusFeed::Snapshot snap = feed_.WaitNewer(stream->sent, absl::Seconds(1));
        if (stopping_) return false;
        std::string msg;
        if (!sessions_.Find(stream->sid)) {
          msg = "event: logout\ndata: {}\n\n";
          sink.write(msg.data(), msg.size());
          sink.done();
          return true;
        }
        if (snap.version > stream->sent) {
          stream->sent = snap.version;
          // A member's devices are read again for each update.
          if (!stream->scope.admin) stream->scope = CurrentScope(stream->account, false);
          msg = snap.ok ? absl::StrCat("event: overview\ndata: ",
                                       DumpJson(OverviewJson(snap.status, stream->scope)), "\n\n")
                        : absl::StrCat("event: unavailable\ndata: ",
                                       DumpJson(json{{"error", snap.error}}), "\n\n");
        } else if (absl::Now() - stream->last_write > absl::Seconds(15)) {
          msg = ": keep-alive\n\n";
        }
        if (msg.empty()) return true;
        stream->last_write = absl::Now();
        return sink.write(msg.data(), msg.size());
      },
      [this](bool) { streams_.fetch_sub(1); });
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebServer::~WebServer() {
  impl_->Stop();
  impl_->Wait();
}

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(const WebOptions& options,
                                                            CoordinatorLink link) {
  auto impl = std::make_unique<Impl>(options, std::move(link));
  absl::Status st = impl->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

int WebServer::port() const { return impl_->port_; }

std::string WebServer::url() const {
  const bool v6 = impl_->host_.find(':') != std::string::npos;
  return absl::StrCat("https://", v6 ? "[" : "", impl_->host_, v6 ? "]" : "", ":", impl_->port_,
                      "/");
}

void WebServer::Wait() { impl_->Wait(); }
void WebServer::Stop() { impl_->Stop(); }

}  // namespace shoebox::cli::web
