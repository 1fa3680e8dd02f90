// The local Dropbox of tests/fakes/dropbox_server.py, started on a free
// loopback port (the pattern of servers.h), with a client for its control
// endpoints and its files API (to read uploads back independently).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/servers.h"
#include "tests/support/temp_dir.h"

namespace shoebox::testsupport {

struct DropboxFake {
  std::string url;  // http://127.0.0.1:PORT: endpoint and auth_endpoint
  int port = 0;
  std::string client_id = "test-app-key";
  std::string client_secret = "test-app-secret";
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;

  // GET /_control/stats.
  absl::StatusOr<nlohmann::json> Stats() const;
  // POST /_control/<what> with a JSON body (config, fault, revoke).
  absl::Status Control(const std::string& what, const nlohmann::json& body) const;
  // A refresh token for the test user, obtained the way a browser would:
  // authorize (PKCE, loopback redirect) then the code exchange.
  absl::StatusOr<std::string> RefreshToken() const;
  // An access token (the refresh grant).
  absl::StatusOr<std::string> AccessToken() const;
  // The bytes of a file, downloaded through the fake's own API with a fresh
  // access token (`path` is the full Dropbox path, "/Shoebox/a.jpg").
  absl::StatusOr<std::string> Download(const std::string& path) const;
};

// `token_ttl_s`: lifetime of access tokens (a few seconds makes tests
// refresh).
absl::StatusOr<std::unique_ptr<DropboxFake>> StartDropboxFake(double token_ttl_s = 14400);

}  // namespace shoebox::testsupport
