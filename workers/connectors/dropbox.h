// Dropbox over API v2 (https://www.dropbox.com/developers/documentation/http/
// documentation), on the one http::Client, with an OAuth 2.0 TokenSource
// (common/http/oauth.h). docs/destinations.md, "Dropbox".
//
// - Files up to one request (16 MiB) go with /2/files/upload; larger ones
//   with an upload session (start, append_v2, finish), 16 MiB per request
//   (Dropbox allows 150 MB). After every append the session {session_id,
//   offset, path, size, sha256, block hashes} is saved through
//   PutRequest::save_resume_state (and kept in memory for a retry in the
//   same process), so a later attempt, even on another worker, continues at
//   that offset; `incorrect_offset` answers with the server's
//   correct_offset, which always wins.
// - The Dropbox content hash (SHA-256 of the concatenated SHA-256 digests of
//   each 4 MiB block) is computed while sending and compared with the
//   content_hash the service returns; the checksum is "dropbox:<hex>".
// - Names never overwrite by accident: a Put commits with mode "add" when
//   the name is free and with mode "update" at the revision it saw when a
//   file is there (the Connector contract replaces it), autorename false;
//   a file that appears in between is ALREADY_EXISTS.
// - 401 expired_access_token: the token is invalidated and the request
//   made once more; any other 401 is UNAUTHENTICATED. 429 is
//   RESOURCE_EXHAUSTED with the Retry-After hint.
// - Names pass through EncodeServicePath(DropboxNameRules()).
// - Dropbox-API-Arg is JSON with every non-ASCII character as \uXXXX (the
//   documented rule for JSON in an HTTP header).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/hash.h"
#include "common/http/token_source.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct DropboxOptions {
  std::string api = "https://api.dropboxapi.com";          // RPC endpoints
  std::string content = "https://content.dropboxapi.com";  // upload and download
  std::string folder = "Shoebox";                          // in the account ("" = its root)
  absl::Duration timeout = absl::Seconds(60);
  uint64_t chunk_size = 16u << 20;  // a multiple of 4 MiB, at most 148 MiB
  std::string destination;          // for messages
  // One account's connectors in this process share a request gate
  // (common/http/request_gate.h); "" = a gate of its own.
  std::string account_key{};
  // Request starts per second for this account (0: only Retry-After).
  int max_requests_per_s = 0;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeDropboxConnector(
    DropboxOptions options, std::shared_ptr<http::TokenSource> tokens);

// The factory registered as "dropbox": settings and secrets per
// common/destination_kinds.cc, an OAuthTokenSource on the refresh token.
absl::StatusOr<std::unique_ptr<Connector>> MakeDropboxConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env);

// The Dropbox content hash, incrementally.
class DropboxContentHasher {
 public:
  static constexpr uint64_t kBlock = 4u << 20;
  void Update(const uint8_t* data, size_t n);
  uint64_t position() const { return pos_; }
  // Keeps the first `blocks` whole blocks and drops what follows them.
  void TruncateToBlocks(size_t blocks);
  const std::vector<Digest>& blocks() const { return blocks_; }
  void SetBlocks(std::vector<Digest> blocks);
  // Lowercase hex; does not change the state.
  std::string Hex() const;

 private:
  std::vector<Digest> blocks_;
  std::string partial_;  // bytes of the unfinished block (< 4 MiB)
  uint64_t pos_ = 0;
};

std::string DropboxContentHash(std::string_view data);

}  // namespace shoebox::worker
