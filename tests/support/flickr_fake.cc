#include "tests/support/flickr_fake.h"

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"

namespace shoebox::testsupport {
namespace {

http::Client& Client() {
  static http::Client* client = new http::Client(http::ClientOptions{});
  return *client;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FlickrFake>> StartFlickrFake(
    const std::vector<std::string>& extra_args) {
  auto f = std::make_unique<FlickrFake>();
  auto dir = TempDir::Make("flickr-fake");
  if (!dir.ok()) return dir.status();
  f->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  f->port = *port;
  f->url = absl::StrCat("http://127.0.0.1:", f->port);
  const std::string script = std::string(SHOEBOX_SOURCE_DIR) + "/tests/fakes/flickr_server.py";
  std::vector<std::string> argv = {
      "python3",      script,        "--port", std::to_string(f->port), "--api-key", f->api_key,
      "--api-secret", f->api_secret, "--data", f->dir->path()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto proc = ScopedProcess::Start(argv, f->dir->path() + "/flickr-fake.log");
  if (!proc.ok()) return proc.status();
  f->process = std::move(*proc);
  absl::Status st = f->process->WaitForPort(f->port, 20);
  if (!st.ok()) return st;
  return f;
}

absl::StatusOr<nlohmann::json> FlickrFake::Get(const std::string& what) const {
  auto r = Client().Call(http::Request{.url = url + "/_control/" + what}, "flickr fake " + what);
  if (!r.ok()) return r.status();
  return nlohmann::json::parse(r->body);
}

absl::Status FlickrFake::Control(const std::string& what, const nlohmann::json& body) const {
  const std::string text = body.dump();
  http::Request r{.method = "POST", .url = url + "/_control/" + what, .body = text};
  r.headers = {{"Content-Type", "application/json"}};
  auto resp = Client().Call(r, "flickr fake control " + what);
  return resp.status();
}

absl::StatusOr<FlickrAccount> FlickrFake::NewAccount(const std::string& name) const {
  const std::string text = nlohmann::json{{"name", name}}.dump();
  http::Request r{.method = "POST", .url = url + "/_control/user", .body = text};
  r.headers = {{"Content-Type", "application/json"}};
  auto resp = Client().Call(r, "flickr fake new account");
  if (!resp.ok()) return resp.status();
  nlohmann::json j = nlohmann::json::parse(resp->body);
  return FlickrAccount{j["user_id"], j["oauth_token"], j["oauth_token_secret"]};
}

absl::StatusOr<std::string> FlickrFake::Download(const std::string& photo_id) const {
  auto r = Client().Call(http::Request{.url = url + "/static/" + photo_id},
                         "flickr fake download " + photo_id);
  if (!r.ok()) return r.status();
  return r->body;
}

}  // namespace shoebox::testsupport
