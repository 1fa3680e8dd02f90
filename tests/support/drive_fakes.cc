#include "tests/support/drive_fakes.h"

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"

namespace shoebox::testsupport {
namespace {

absl::StatusOr<std::unique_ptr<DriveFake>> StartFake(const std::string& script,
                                                     const std::string& api_suffix,
                                                     const DriveFakeOptions& o) {
  auto f = std::make_unique<DriveFake>();
  auto dir = TempDir::Make(script);
  if (!dir.ok()) return dir.status();
  f->dir = std::move(*dir);
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  f->port = *port;
  f->base = absl::StrCat("http://127.0.0.1:", f->port);
  f->endpoint = f->base + api_suffix;
  auto proc = ScopedProcess::Start(
      {"python3", std::string(SHOEBOX_SOURCE_DIR) + "/tests/fakes/" + script + ".py", "--port",
       std::to_string(f->port), "--data", f->dir->path() + "/data", "--token-ttl",
       absl::StrCat(o.token_ttl_s), "--page-size", std::to_string(o.page_size), "--latency-ms",
       absl::StrCat(o.latency_ms), "--throttle-budget", std::to_string(o.throttle_budget),
       "--throttle-window", absl::StrCat(o.throttle_window_s)},
      f->dir->path() + "/" + script + ".log");
  if (!proc.ok()) return proc.status();
  f->process = std::move(*proc);
  absl::Status st = f->process->WaitForPort(f->port, 30);
  if (!st.ok()) return st;
  return f;
}

}  // namespace

absl::StatusOr<nlohmann::json> DriveFake::Control(const std::string& what,
                                                  const nlohmann::json& args) const {
  static const http::Client* client = new http::Client(http::ClientOptions{});
  http::Request r;
  r.url = absl::StrCat(base, "/_control/", what);
  std::string body;
  if (!args.is_null()) {
    body = args.dump();
    r.method = "POST";
    r.body = body;
    r.headers = {{"Content-Type", "application/json"}};
  }
  auto resp = client->Call(r, "fake server control " + what);
  if (!resp.ok()) return resp.status();
  nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded()) return absl::InternalError("control answer is not JSON: " + resp->body);
  return j;
}

absl::StatusOr<std::string> DriveFake::AccessToken() const {
  auto j = Control("token", nlohmann::json::object());
  if (!j.ok()) return j.status();
  return j->value("access_token", "");
}

absl::StatusOr<std::unique_ptr<DriveFake>> StartOneDriveFake(const DriveFakeOptions& o) {
  return StartFake("onedrive_server", "/v1.0", o);
}

absl::StatusOr<std::unique_ptr<DriveFake>> StartGoogleDriveFake(const DriveFakeOptions& o) {
  return StartFake("gdrive_server", "", o);
}

}  // namespace shoebox::testsupport
