// The local Flickr of tests/fakes/flickr_server.py, started on a free
// loopback port (the pattern of dropbox_fake.h), with a client for its
// control endpoints: fresh accounts with access tokens, faults, budgets,
// and the server's own view of photos and sets (to check uploads
// independently of the connector).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/servers.h"
#include "tests/support/temp_dir.h"

namespace shoebox::testsupport {

struct FlickrAccount {
  std::string user_id;
  std::string oauth_token;
  std::string oauth_token_secret;
};

struct FlickrFake {
  std::string url;  // http://127.0.0.1:PORT
  // What the destination settings take: {url}/services.
  std::string services() const { return url + "/services"; }
  int port = 0;
  std::string api_key = "test-flickr-key";
  std::string api_secret = "test-flickr-secret";
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScopedProcess> process;

  // GET /_control/<what> (stats, photos, sets).
  absl::StatusOr<nlohmann::json> Get(const std::string& what) const;
  // POST /_control/<what> with a JSON body (config, fault, delete_set).
  absl::Status Control(const std::string& what, const nlohmann::json& body) const;
  // A fresh account (an empty "root") with a write access token.
  absl::StatusOr<FlickrAccount> NewAccount(const std::string& name) const;
  // The bytes of a photo as the server holds them (its static URL).
  absl::StatusOr<std::string> Download(const std::string& photo_id) const;
};

// `extra_args`: more arguments of flickr_server.py (--max-items N, ...).
absl::StatusOr<std::unique_ptr<FlickrFake>> StartFlickrFake(
    const std::vector<std::string>& extra_args = {});

}  // namespace shoebox::testsupport
