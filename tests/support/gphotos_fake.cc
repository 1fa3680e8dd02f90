#include "tests/support/gphotos_fake.h"

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"

namespace shoebox::testsupport {
namespace {

const http::Client& ControlClient() {
  static const http::Client* client = new http::Client(http::ClientOptions{});
  return *client;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GooglePhotosFake>> StartGooglePhotosFake(
    const GooglePhotosFakeOptions& o) {
  auto f = std::make_unique<GooglePhotosFake>();
  auto dir = TempDir::Make("gphotos_server");
  if (!dir.ok()) return dir.status();
  f->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  f->port = *port;
  f->base = absl::StrCat("http://127.0.0.1:", f->port);
  f->endpoint = f->base;
  f->upload_endpoint = f->base + "/v1/uploads";
  auto proc = ScopedProcess::Start(
      {"python3", std::string(SHOEBOX_SOURCE_DIR) + "/tests/fakes/gphotos_server.py", "--port",
       std::to_string(f->port), "--data", f->dir->path() + "/data", "--token-ttl",
       absl::StrCat(o.token_ttl_s), "--latency-ms", absl::StrCat(o.latency_ms), "--daily-budget",
       std::to_string(o.daily_budget), "--album-limit", std::to_string(o.album_limit),
       "--granularity", std::to_string(o.granularity)},
      f->dir->path() + "/gphotos_server.log");
  if (!proc.ok()) return proc.status();
  f->process = std::move(*proc);
  absl::Status st = f->process->WaitForPort(f->port, 30);
  if (!st.ok()) return st;
  return f;
}

absl::StatusOr<nlohmann::json> GooglePhotosFake::Control(const std::string& what,
                                                         const nlohmann::json& args) const {
  http::Request r;
  r.url = absl::StrCat(base, "/_control/", what);
  std::string body;
  if (!args.is_null()) {
    body = args.dump();
    r.method = "POST";
    r.body = body;
    r.headers = {{"Content-Type", "application/json"}};
  }
  auto resp = ControlClient().Call(r, "fake server control " + what);
  if (!resp.ok()) return resp.status();
  nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded()) return absl::InternalError("control answer is not JSON: " + resp->body);
  return j;
}

absl::StatusOr<std::string> GooglePhotosFake::AccessToken(
    const std::string& user, const std::vector<std::string>& scopes) const {
  nlohmann::json args = {{"user", user}};
  if (!scopes.empty()) args["scopes"] = scopes;
  auto j = Control("token", args);
  if (!j.ok()) return j.status();
  return j->value("access_token", "");
}

absl::StatusOr<nlohmann::json> GooglePhotosFake::Library(const std::string& user) const {
  return Control(absl::StrCat("library?user=", user));
}

absl::StatusOr<std::string> GooglePhotosFake::Blob(const std::string& item_id) const {
  auto resp = ControlClient().Call(
      http::Request{.url = absl::StrCat(base, "/_control/blob/", item_id)}, "read item bytes");
  if (!resp.ok()) return resp.status();
  return resp->body;
}

}  // namespace shoebox::testsupport
