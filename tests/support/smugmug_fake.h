// The local SmugMug of tests/fakes/smugmug_server.py, started on a free
// loopback port (the pattern of servers.h), with a client for its control
// endpoints.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/servers.h"
#include "tests/support/temp_dir.h"

namespace shoebox::testsupport {

struct SmugMugFake {
  std::string url;  // http://127.0.0.1:PORT: endpoint, upload_endpoint and auth_endpoint
  int port = 0;
  std::string api_key = "test-api-key";
  std::string api_secret = "test-api-secret";
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;

  // GET /_control/<what> (stats, tree).
  absl::StatusOr<nlohmann::json> Get(const std::string& what) const;
  // POST /_control/<what> with a JSON body (config, fault, delete, revoke);
  // the answer's JSON.
  absl::StatusOr<nlohmann::json> Control(
      const std::string& what, const nlohmann::json& body = nlohmann::json::object()) const;
  // A fresh access token pair {"oauth_token", "oauth_token_secret"} for the
  // test user, from the control endpoint.
  absl::StatusOr<nlohmann::json> Tokens() const;
};

absl::StatusOr<std::unique_ptr<SmugMugFake>> StartSmugMugFake(double latency_ms = 0);

}  // namespace shoebox::testsupport
