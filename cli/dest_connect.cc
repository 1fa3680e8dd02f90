// `shoebox dest connect NAME` and `shoebox authorize KIND` (docs/cli.md,
// docs/destinations.md "OAuth services"): getting a refresh token for a
// Dropbox / OneDrive / Google Drive destination, with the shared OAuth code
// of common/http/oauth.h.
//
// - Browser on this machine: authorization code + PKCE with a loopback
//   redirect (RFC 8252): a listener on 127.0.0.1 (random port unless
//   --port), the URL printed (and opened with xdg-open when there is a
//   display), exactly one request whose `state` matches accepted.
// - Headless: --device-code (services with a device flow: Microsoft,
//   Google), or `shoebox authorize KIND` on a machine with a browser, whose
//   one-line JSON blob is given to `dest connect NAME --token-file F|-`.
// - The client secret is sealed with the other secrets and cannot be read
//   back, so connect asks for it again (--client-secret-file F, or
//   --client-secret-stdin); the new secrets {client_secret, refresh_token}
//   replace the old ones through UpdateDestination, then a worker checks the
//   connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/dest_check.h"
#include "cli/dest_connect_oauth1.h"
#include "cli/dest_input.h"
#include "common/http/oauth.h"
#include "common/http/url.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace shoebox::cli {
namespace {

using json = nlohmann::json;

struct FlowFlags {
  std::string client_id, client_secret_file, auth_endpoint, token_file;
  std::string verifier_file;  // OAuth 1.0a (flickr, smugmug): the PIN
  bool client_secret_stdin = false, device_code = false, no_browser = false;
  int port = 0;
  double timeout_s = 300;
  bool no_check = false;
};

int Usage(const std::string& cmd, const std::string& msg) {
  std::fprintf(stderr, "shoebox: %s: %s\n", cmd.c_str(), msg.c_str());
  return 2;
}

absl::StatusOr<std::string> ReadFileText(const std::string& path) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return std::string(absl::StripAsciiWhitespace(ss.str()));
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

absl::StatusOr<std::string> ClientSecret(const FlowFlags& f) {
  if (!f.client_secret_file.empty()) return ReadFileText(f.client_secret_file);
  if (f.client_secret_stdin) {
    auto s = ReadSecretFromStdin("client_secret");
    if (!s.ok()) return s.status();
    return std::string(absl::StripAsciiWhitespace(*s));
  }
  return std::string();
}

void TryOpenBrowser(const std::string& url) {
  if (getenv("DISPLAY") == nullptr && getenv("WAYLAND_DISPLAY") == nullptr) return;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  pid_t pid = 0;
  (void)posix_spawnp(&pid, "xdg-open", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
}

// The query parameters of a request line "GET /path?query HTTP/1.1".
std::map<std::string, std::string> QueryOf(const std::string& request_line) {
  std::map<std::string, std::string> out;
  std::vector<std::string> parts = absl::StrSplit(request_line, ' ');
  if (parts.size() < 2) return out;
  size_t q = parts[1].find('?');
  if (q == std::string::npos) return out;
  for (absl::string_view kv : absl::StrSplit(parts[1].substr(q + 1), '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    for (char& c : p.second)
      if (c == '+') c = ' ';
    out[http::PercentDecode(p.first)] = http::PercentDecode(p.second);
  }
  return out;
}

void Answer(int c, int code, const std::string& text) {
  const std::string body = absl::StrCat(
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>Shoebox</title></head><body>"
      "<p>",
      text, "</p></body></html>");
  const std::string out = absl::StrCat("HTTP/1.1 ", code, code == 200 ? " OK" : " Bad Request",
                                       "\r\nContent-Type: text/html; charset=utf-8\r\n"
                                       "Content-Length: ",
                                       body.size(), "\r\nConnection: close\r\n\r\n", body);
  (void)!write(c, out.data(), out.size());
}

// Authorization code + PKCE with a loopback redirect (RFC 8252 7.3).
absl::StatusOr<http::TokenResponse> LoopbackFlow(const http::OAuthProfile& p,
                                                 const http::OAuthClient& client,
                                                 const FlowFlags& f) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(f.port));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 8) != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on 127.0.0.1:", f.port,
                                               " for the redirect; try another --port"));
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string redirect = absl::StrCat("http://127.0.0.1:", ntohs(a.sin_port), "/");
  const http::Pkce pkce = http::MakePkce();
  const std::string state = http::RandomState();
  const std::string url =
      http::AuthorizationUrl(p, client.client_id, redirect, state, pkce.challenge);
  std::printf("Open this URL in a browser on this machine and allow Shoebox access to %s:\n%s\n",
              p.service.c_str(), url.c_str());
  std::fflush(stdout);
  if (!f.no_browser) TryOpenBrowser(url);

  const absl::Time deadline = absl::Now() + absl::Seconds(f.timeout_s);
  std::string code;
  while (code.empty()) {
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd pfd{fd, POLLIN, 0};
    if (ms <= 0 || poll(&pfd, 1, ms) <= 0) {
      close(fd);
      return absl::DeadlineExceededError(absl::StrCat(
          "no sign-in arrived within ", f.timeout_s,
          " s; run it again (or use `shoebox authorize` on a machine with a browser)"));
    }
    int c = accept(fd, nullptr, nullptr);
    if (c < 0) continue;
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
      pollfd cp{c, POLLIN, 0};
      if (poll(&cp, 1, 5000) <= 0) break;
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    auto q = QueryOf(req.substr(0, req.find("\r\n")));
    if (q["state"] != state) {  // favicon, a stale tab, someone else: not ours
      Answer(c, 400, "This is not the sign-in Shoebox is waiting for.");
      close(c);
      continue;
    }
    if (!q["error"].empty()) {
      Answer(c, 400, "Shoebox was not given access. You can close this tab.");
      close(c);
      close(fd);
      return absl::PermissionDeniedError(
          absl::StrCat("the service answered ", q["error"], " ", q["error_description"]));
    }
    code = q["code"];
    Answer(
        c, code.empty() ? 400 : 200,
        code.empty() ? "No authorization code." : "Shoebox is connected. You can close this tab.");
    close(c);
    if (code.empty()) {
      close(fd);
      return absl::FailedPreconditionError("the redirect carried no authorization code");
    }
  }
  close(fd);
  http::Client http(http::ClientOptions{});
  return http::ExchangeCode(http, client, code, redirect, pkce.verifier);
}

absl::StatusOr<http::TokenResponse> DeviceFlow(const http::OAuthProfile& p,
                                               const http::OAuthClient& client) {
  http::Client http(http::ClientOptions{});
  ASSIGN_OR_RETURN(http::DeviceAuthorization d,
                   http::StartDeviceAuthorization(http, p.device_url, client.client_id, p.scopes));
  std::printf("On any device, open %s and enter the code %s\n", d.verification_uri.c_str(),
              d.user_code.c_str());
  std::fflush(stdout);
  return http::PollDeviceToken(http, client, d);
}

// The refresh token by the flow the flags ask for.
absl::StatusOr<std::string> GetRefreshToken(const std::string& kind, const http::OAuthProfile& p,
                                            const http::OAuthClient& client, const FlowFlags& f) {
  if (!f.token_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadFileText(f.token_file));
    json blob = json::parse(text, nullptr, false);
    if (!blob.is_object() || !blob.contains("refresh_token")) {
      return absl::InvalidArgumentError(
          "--token-file: not a token blob of `shoebox authorize` (one line of JSON)");
    }
    if (blob.value("kind", "") != kind || blob.value("client_id", "") != client.client_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file: the blob is for kind '", blob.value("kind", ""),
                       "' and client_id '", blob.value("client_id", ""), "', the destination is ",
                       kind, " with client_id '", client.client_id, "'; run `shoebox authorize ",
                       kind, " --client-id ", client.client_id, "`"));
    }
    return blob["refresh_token"].get<std::string>();
  }
  absl::StatusOr<http::TokenResponse> t =
      f.device_code ? DeviceFlow(p, client) : LoopbackFlow(p, client, f);
  if (!t.ok()) return t.status();
  if (t->refresh_token.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        p.service, " returned no refresh token (offline access); check the app's settings"));
  }
  return t->refresh_token;
}

int Authorize(const std::string& kind, const FlowFlags& f) {
  const std::string cmd = "authorize " + kind;
  auto profile = http::LookUpOAuthProfile(kind);
  if (!profile.ok()) return Usage(cmd, std::string(profile.status().message()));
  if (f.client_id.empty()) return Usage(cmd, "--client-id is required (your app's key)");
  auto secret = ClientSecret(f);
  if (!secret.ok()) return FailStatus(secret.status());
  http::OAuthProfile p = http::WithAuthEndpoint(*profile, f.auth_endpoint);
  http::OAuthClient client{p.token_url, f.client_id, *secret};
  FlowFlags flow = f;
  flow.token_file.clear();
  auto rt = GetRefreshToken(kind, p, client, flow);
  if (!rt.ok()) return FailStatus(rt.status());
  json blob = {{"kind", kind}, {"client_id", f.client_id}, {"refresh_token", *rt}};
  std::fprintf(stderr,
               "Paste the next line on the server: shoebox dest connect NAME --token-file - "
               "(it is a secret: do not keep it)\n");
  std::printf("%s\n", blob.dump().c_str());
  return 0;
}

int Connect(AdminClient& client, const std::string& name, const FlowFlags& f) {
  const std::string cmd = "dest connect " + name;
  v1::ListDestinationsResponse list;
  {
    auto ctx = client.Context();
    grpc::Status s =
        client.stub()->ListDestinations(ctx.get(), v1::ListDestinationsRequest(), &list);
    if (!s.ok()) return FailRpc(s, "listing destinations");
  }
  const v1::Destination* d = nullptr;
  for (const auto& x : list.destinations())
    if (x.name() == name) d = &x;
  if (d == nullptr) {
    return FailStatus(absl::NotFoundError(
        absl::StrCat("no destination named '", name, "'; `shoebox dest list` lists them")));
  }
  if (IsOAuth1Kind(d->kind())) {  // Flickr, SmugMug: cli/dest_connect_oauth1.cc
    return ConnectOAuth1(
        client, *d, {f.client_secret_file, f.client_secret_stdin, f.verifier_file, f.no_check});
  }
  auto profile = http::LookUpOAuthProfile(d->kind());
  if (!profile.ok()) {
    return Usage(cmd, absl::StrCat("destination ", name, " is of kind ", d->kind(), ": ",
                                   profile.status().message()));
  }
  json settings = json::parse(d->settings_json(), nullptr, false);
  if (!settings.is_object()) settings = json::object();
  const std::string client_id = settings.value("client_id", "");
  if (client_id.empty()) {
    return Usage(cmd, absl::StrCat("destination ", name, " has no client_id; `shoebox dest set ",
                                   name, " --set client_id=APP_KEY`"));
  }
  auto secret = ClientSecret(f);
  if (!secret.ok()) return FailStatus(secret.status());
  if (d->kind() == "gdrive" && secret->empty())
    return Usage(cmd, "Google needs the client secret: --client-secret-file F");
  http::OAuthProfile p = http::WithAuthEndpoint(*profile, settings.value("auth_endpoint", ""));
  http::OAuthClient oc{p.token_url, client_id, *secret};
  auto rt = GetRefreshToken(d->kind(), p, oc, f);
  if (!rt.ok()) return FailStatus(rt.status());

  json secrets = {{"refresh_token", *rt}};
  if (!secret->empty()) secrets["client_secret"] = *secret;
  if (int rc = StoreSignInSecrets(client, name, secrets.dump(), "the refresh token"); rc != 0)
    return rc;
  std::printf("destination %s connected (refresh token sealed to the worker pool key)\n",
              name.c_str());
  if (f.no_check) return 0;
  CheckResult r = RunDestinationCheck(
      client, name, d->kind(),
      CheckOptions{.write_probe = true, .timeout = std::chrono::milliseconds(60000)});
  if (!r.passed) {
    std::fprintf(stderr, "shoebox: destination %s: connected, but %s\n", name.c_str(),
                 r.message.c_str());
    return 1;
  }
  std::printf("connection checked: %s\n", r.detail.c_str());
  return 0;
}

void AddFlowFlags(CLI::App* c, FlowFlags* f) {
  c->add_option("--client-secret-file", f->client_secret_file,
                "file holding the app's client secret (- for stdin); none: a public client");
  c->add_flag("--client-secret-stdin", f->client_secret_stdin,
              "read the client secret from standard input (prompted on a terminal)");
  c->add_flag("--device-code", f->device_code,
              "sign in on another device with a code (services with a device flow: onedrive, "
              "gdrive)");
  c->add_flag("--no-browser", f->no_browser, "print the sign-in URL only, do not open it");
  c->add_option("--port", f->port, "loopback port for the redirect (0: any free port)")
      ->check(CLI::Range(0, 65535));
  c->add_option("--timeout", f->timeout_s, "seconds to wait for the sign-in")
      ->check(CLI::Range(1.0, 3600.0));
}

}  // namespace

void RegisterOAuthCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* dest = app.get_subcommand("dest");
  auto c = std::make_shared<FlowFlags>();
  auto name = std::make_shared<std::string>();
  auto* connect = dest->add_subcommand(
      "connect",
      "sign in to the service of a dropbox/onedrive/gdrive destination and store its refresh "
      "token (flickr/smugmug: OAuth 1.0a access token) sealed to the worker pool key");
  connect->add_option("name", *name, "destination name")->required();
  AddFlowFlags(connect, c.get());
  connect->add_option("--token-file", c->token_file,
                      "token blob printed by `shoebox authorize` (- for stdin)");
  connect->add_flag("--no-check", c->no_check, "do not test the connection afterwards");
  connect->add_option("--verifier-file", c->verifier_file,
                      "flickr/smugmug: file holding the code the service shows after you allow "
                      "access (- for stdin); default: asked on the terminal");
  ctx.AddAdminHandler(
      connect, [c, name](CliContext&, AdminClient& client) { return Connect(client, *name, *c); });

  auto a = std::make_shared<FlowFlags>();
  auto kind = std::make_shared<std::string>();
  auto* authorize = app.add_subcommand(
      "authorize",
      "sign in on a machine with a browser and print a token blob for `shoebox dest connect "
      "NAME --token-file` on a headless server");
  authorize->add_option("kind", *kind, http::OAuthKindNames())->required();
  authorize->add_option("--client-id", a->client_id, "the app's client ID (app key)")->required();
  authorize->add_option("--auth-endpoint", a->auth_endpoint,
                        "OAuth base URL replacing the service's (tests)");
  AddFlowFlags(authorize, a.get());
  ctx.AddHandler(authorize, [a, kind](CliContext&) { return Authorize(*kind, *a); });
}

}  // namespace shoebox::cli
