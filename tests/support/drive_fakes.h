// The local OneDrive and Google Drive servers (tests/fakes/onedrive_server.py,
// tests/fakes/gdrive_server.py: Python 3 standard library only), started on a
// free loopback port with a private data directory. The handle stops the
// server and removes the directory when destroyed.
//
//   auto od = StartOneDriveFake();
//   auto token = (*od)->AccessToken();          // a valid bearer token
//   (*od)->Control("throttle", {{"budget", 5}, {"window_s", 1}});
//   auto sessions = (*od)->Control("sessions");  // per-session byte counters
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/servers.h"

namespace shoebox::testsupport {

struct DriveFakeOptions {
  double token_ttl_s = 3600;  // access tokens expire after this
  int page_size = 200;        // children / files.list page size
  double latency_ms = 0;      // added to every API and upload request
  int throttle_budget = 0;    // requests per throttle_window_s; 0: unlimited
  double throttle_window_s = 1;
};

struct DriveFake {
  std::string base;      // "http://127.0.0.1:PORT" (OAuth and control endpoints)
  std::string endpoint;  // API base: base + "/v1.0" (Graph) or base (Drive)
  int port = 0;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
  // A valid access token issued by the control endpoint.
  absl::StatusOr<std::string> AccessToken() const;
  // GET /_control/<what> when `args` is null, else POST it as JSON.
  absl::StatusOr<nlohmann::json> Control(const std::string& what,
                                         const nlohmann::json& args = nullptr) const;
};

absl::StatusOr<std::unique_ptr<DriveFake>> StartOneDriveFake(const DriveFakeOptions& o = {});
absl::StatusOr<std::unique_ptr<DriveFake>> StartGoogleDriveFake(const DriveFakeOptions& o = {});

}  // namespace shoebox::testsupport
