#include "tests/support/smugmug_fake.h"

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"

namespace shoebox::testsupport {
namespace {

const http::Client& Client() {
  static http::Client* client = new http::Client(http::ClientOptions{});
  return *client;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SmugMugFake>> StartSmugMugFake(double latency_ms) {
  auto f = std::make_unique<SmugMugFake>();
  auto dir = TempDir::Make("smugmug-fake");
  if (!dir.ok()) return dir.status();
  f->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  f->port = *port;
  f->url = absl::StrCat("http://127.0.0.1:", f->port);
  const std::string script = std::string(SHOEBOX_SOURCE_DIR) + "/tests/fakes/smugmug_server.py";
  auto proc =
      ScopedProcess::Start({"python3", script, "--port", std::to_string(f->port), "--consumer-key",
                            f->api_key, "--consumer-secret", f->api_secret, "--latency-ms",
                            absl::StrCat(latency_ms), "--data", f->dir->path()},
                           f->dir->path() + "/smugmug-fake.log");
  if (!proc.ok()) return proc.status();
  f->process = std::move(*proc);
  absl::Status st = f->process->WaitForPort(f->port, 20);
  if (!st.ok()) return st;
  return f;
}

absl::StatusOr<nlohmann::json> SmugMugFake::Get(const std::string& what) const {
  auto r = Client().Call(http::Request{.url = url + "/_control/" + what}, "smugmug fake " + what);
  if (!r.ok()) return r.status();
  return nlohmann::json::parse(r->body);
}

absl::StatusOr<nlohmann::json> SmugMugFake::Control(const std::string& what,
                                                    const nlohmann::json& body) const {
  const std::string text = body.dump();
  http::Request r{.method = "POST",
                  .url = url + "/_control/" + what,
                  .headers = {{"Content-Type", "application/json"}},
                  .body = text};
  auto resp = Client().Call(r, "smugmug fake control " + what);
  if (!resp.ok()) return resp.status();
  return nlohmann::json::parse(resp->body, nullptr, false);
}

absl::StatusOr<nlohmann::json> SmugMugFake::Tokens() const { return Control("tokens"); }

}  // namespace shoebox::testsupport
