// The local Google Photos Library API (tests/fakes/gphotos_server.py: Python 3
// standard library only), started on a free loopback port with a private data
// directory. The handle stops the server and removes the directory when
// destroyed. Modelled on tests/support/drive_fakes.h.
//
//   auto gp = StartGooglePhotosFake({.album_limit = 5});
//   auto token = (*gp)->AccessToken("user-1");        // that user's library
//   (*gp)->Control("fault", {{"target", "upload"}, {"action", "drop"}});
//   auto lib = (*gp)->Library("user-1");              // items and albums
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/servers.h"

namespace shoebox::testsupport {

struct GooglePhotosFakeOptions {
  double token_ttl_s = 3600;  // access tokens expire after this
  double latency_ms = 20;     // added to every API and upload request
  int daily_budget = 0;       // Library API requests per day; 0: unlimited
  int album_limit = 20000;    // media items per album
  int granularity = 262144;   // X-Goog-Upload-Chunk-Granularity
};

struct GooglePhotosFake {
  std::string base;             // "http://127.0.0.1:PORT": API, OAuth and control endpoints
  std::string endpoint;         // API base (= base)
  std::string upload_endpoint;  // base + "/v1/uploads"
  int port = 0;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;
  // A valid access token of `user` with `scopes` (full URLs; empty: the
  // three 2025 scopes).
  absl::StatusOr<std::string> AccessToken(const std::string& user = "default",
                                          const std::vector<std::string>& scopes = {}) const;
  // GET /_control/<what> when `args` is null, else POST it as JSON.
  absl::StatusOr<nlohmann::json> Control(const std::string& what,
                                         const nlohmann::json& args = nullptr) const;
  // {"items": [...], "albums": [{"id","title","items":[ids]}]} of `user`.
  absl::StatusOr<nlohmann::json> Library(const std::string& user = "default") const;
  // The bytes stored for a media item (read from the server's store).
  absl::StatusOr<std::string> Blob(const std::string& item_id) const;
};

absl::StatusOr<std::unique_ptr<GooglePhotosFake>> StartGooglePhotosFake(
    const GooglePhotosFakeOptions& o = {});

}  // namespace shoebox::testsupport
