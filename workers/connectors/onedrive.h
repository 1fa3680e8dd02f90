// OneDrive connector over Microsoft Graph v1.0 (docs/destinations.md,
// "OneDrive").
//
// Settings (JSON, not secret), read by OneDriveOptionsFromSettings:
//   "endpoint"       Graph base URL (default https://graph.microsoft.com/v1.0;
//                    a local server in tests).
//   "folder"         folder in the account that is the destination root
//                    (default "Shoebox"; '/'-separated for a deeper one).
//   "drive_id"       a drive other than the signed-in user's own (optional).
//   "timeout_s"      connect / stall timeout per request (default 60).
//   "chunk_size_mib" upload fragment size, 1..59 MiB, rounded down to a
//                    multiple of 320 KiB as Graph requires (default 10).
// The bearer token comes from a TokenSource (common/http/token_source.h).
//
// Put, in order:
//   - creates missing folders (POST children, conflictBehavior "fail", 409 =
//     exists; remembered);
//   - Stats the target: absent -> the upload uses conflictBehavior "fail",
//     present -> "replace" with If-Match of the eTag seen, so only the object
//     the caller decided to replace is replaced (Connector::Put overwrites; the
//     delivery job decides what to overwrite by Stat before Put, see
//     workers/jobs/remote_path.cc). A 409 or 412 (the name changed in
//     between) is UNAVAILABLE: the retry re-resolves the name;
//   - 0-byte files: simple PUT .../content, then PATCH fileSystemInfo;
//     others: createUploadSession (fileSystemInfo carries the mtime), then
//     fragments in order with Content-Range, each a multiple of 320 KiB and
//     below 60 MiB; nothing is visible under the name until the last
//     fragment commits;
//   - computes QuickXorHash over the bytes sent and compares it with
//     file.hashes.quickXorHash of the committed item; on a mismatch the item
//     is deleted and Put fails (UNAVAILABLE, so it is sent again).
// Resume after a worker restart: after the session is created and after each
// accepted fragment Put calls save_resume_state with the uploadUrl, the
// request's path, size and SHA-256, and the QuickXorHash state at the last
// acknowledged byte. A later Put with that state GETs the uploadUrl for
// nextExpectedRanges and sends only the rest (404: the session expired, start
// over). Without save_resume_state a failed session is cancelled (DELETE).
//
// Errors: 401 -> tokens->Invalidate(token) and one retry, then
// UNAUTHENTICATED; 429 -> RESOURCE_EXHAUSTED and 503 -> UNAVAILABLE, both
// with the Retry-After hint; Graph's error code and message are quoted.
// Names go through EncodeServicePath(OneDriveNameRules()) and are percent-
// encoded in URLs. Stat reports size, the fileSystemInfo mtime (whole
// seconds) and "quickxor:<hex>".
//
// Thread-safe: calls may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/token_source.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

struct OneDriveOptions {
  std::string endpoint = "https://graph.microsoft.com/v1.0";
  std::string folder = "Shoebox";
  std::string drive_id{};
  int64_t timeout_s = 60;
  // Bytes per upload fragment: a multiple of 320 KiB, below 60 MiB.
  uint64_t fragment_bytes = 10u << 20;
  // One account's connectors in this process share a request gate
  // (common/http/request_gate.h); "" = a gate of its own.
  std::string account_key{};
  // Request starts per second for this account (0: only Retry-After).
  int max_requests_per_s = 0;
};

inline constexpr uint64_t kOneDriveFragmentUnit = 327680;  // 320 KiB

// Reads and checks the settings above; INVALID_ARGUMENT names the setting.
absl::StatusOr<OneDriveOptions> OneDriveOptionsFromSettings(const nlohmann::json& settings);

absl::StatusOr<std::unique_ptr<Connector>> MakeOneDriveConnector(
    const OneDriveOptions& o, std::shared_ptr<http::TokenSource> tokens);

}  // namespace shoebox::worker
