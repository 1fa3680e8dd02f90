#include "tests/support/dropbox_fake.h"

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/http/oauth.h"
#include "common/http/url.h"

namespace shoebox::testsupport {
namespace {

absl::StatusOr<http::Response> Post(const std::string& url, const std::string& body,
                                    http::Headers headers = {}) {
  static http::Client* client = new http::Client(http::ClientOptions{});
  http::Request r{.method = "POST", .url = url, .headers = std::move(headers), .body = body};
  return client->Send(r);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DropboxFake>> StartDropboxFake(double token_ttl_s) {
  auto f = std::make_unique<DropboxFake>();
  auto dir = TempDir::Make("dropbox-fake");
  if (!dir.ok()) return dir.status();
  f->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  f->port = *port;
  f->url = absl::StrCat("http://127.0.0.1:", f->port);
  const std::string script = std::string(SHOEBOX_SOURCE_DIR) + "/tests/fakes/dropbox_server.py";
  auto proc =
      ScopedProcess::Start({"python3", script, "--port", std::to_string(f->port), "--client-id",
                            f->client_id, "--client-secret", f->client_secret, "--token-ttl",
                            absl::StrCat(token_ttl_s), "--data", f->dir->path()},
                           f->dir->path() + "/dropbox-fake.log");
  if (!proc.ok()) return proc.status();
  f->process = std::move(*proc);
  absl::Status st = f->process->WaitForPort(f->port, 20);
  if (!st.ok()) return st;
  return f;
}

absl::StatusOr<nlohmann::json> DropboxFake::Stats() const {
  static http::Client* client = new http::Client(http::ClientOptions{});
  auto r = client->Call(http::Request{.url = url + "/_control/stats"}, "dropbox fake stats");
  if (!r.ok()) return r.status();
  return nlohmann::json::parse(r->body);
}

absl::Status DropboxFake::Control(const std::string& what, const nlohmann::json& body) const {
  auto r = Post(url + "/_control/" + what, body.dump(), {{"Content-Type", "application/json"}});
  if (!r.ok()) return r.status();
  return http::ErrorStatus(*r, "dropbox fake control " + what);
}

absl::StatusOr<std::string> DropboxFake::RefreshToken() const {
  http::Pkce pkce = http::MakePkce();
  auto profile = http::LookUpOAuthProfile("dropbox");
  if (!profile.ok()) return profile.status();
  http::OAuthProfile p = http::WithAuthEndpoint(*profile, url);
  const std::string redirect = "http://127.0.0.1:9/cb";
  http::Client client(http::ClientOptions{});
  auto r = client.Send(
      http::Request{.url = http::AuthorizationUrl(p, client_id, redirect, "st", pkce.challenge)});
  if (!r.ok()) return r.status();
  const std::string loc = r->Header("location");
  const size_t at = loc.find("code=");
  if (r->status != 302 || at == std::string::npos)
    return absl::InternalError("dropbox fake: authorize did not redirect with a code: " + r->body);
  std::string code = loc.substr(at + 5);
  code = http::PercentDecode(code.substr(0, code.find('&')));
  auto t = http::ExchangeCode(client, {p.token_url, client_id, client_secret}, code, redirect,
                              pkce.verifier);
  if (!t.ok()) return t.status();
  return t->refresh_token;
}

absl::StatusOr<std::string> DropboxFake::AccessToken() const {
  auto rt = RefreshToken();
  if (!rt.ok()) return rt.status();
  http::Client client(http::ClientOptions{});
  auto t = http::RefreshGrant(client, {url + "/oauth2/token", client_id, client_secret}, *rt, {},
                              "test");
  if (!t.ok()) return t.status();
  return t->access_token;
}

absl::StatusOr<std::string> DropboxFake::Download(const std::string& path) const {
  auto tok = AccessToken();
  if (!tok.ok()) return tok.status();
  nlohmann::json arg = {{"path", path}};
  auto r = Post(url + "/2/files/download", "",
                {{"Authorization", "Bearer " + *tok},
                 {"Dropbox-API-Arg", arg.dump(-1, ' ', true)},
                 {"Content-Type", ""}});
  if (!r.ok()) return r.status();
  if (!r->ok()) return http::ErrorStatus(*r, "dropbox fake download " + path);
  return r->body;
}

}  // namespace shoebox::testsupport
