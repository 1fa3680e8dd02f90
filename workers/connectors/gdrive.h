// Google Drive connector over the Drive API v3 (docs/destinations.md,
// "Google Drive").
//
// Settings (JSON, not secret), read by GoogleDriveOptionsFromSettings:
//   "endpoint"       API base URL (default https://www.googleapis.com; a local
//                    server in tests). Paths /drive/v3/... and
//                    /upload/drive/v3/... are below it.
//   "folder"         folder in My Drive that is the destination root (default
//                    "Shoebox"; '/'-separated for a deeper one).
//   "timeout_s"      connect / stall timeout per request (default 60).
//   "chunk_size_mib" resumable upload chunk size, 1..1024 MiB (default 8; a
//                    MiB is a multiple of the 256 KiB Drive requires).
// The bearer token comes from a TokenSource (common/http/token_source.h).
//
// Drive addresses files by ID and allows several files of the same name in a
// folder. So:
//   - folders are looked up (files.list q="name='X' and 'PARENT' in parents
//     and mimeType='application/vnd.google-apps.folder' and trashed=false")
//     and created once, and their IDs remembered (a path -> ID cache; folder
//     creation is serialised within a connector so two uploads do not create
//     twin folders);
//   - Put looks the name up first and never creates a duplicate: an existing
//     file gets its content replaced (PATCH /upload/drive/v3/files/ID,
//     uploadType=resumable; the old content stays until the last chunk), a
//     missing one is created (POST .../files?uploadType=resumable). Where
//     twins exist already (made by another client), Stat, Get and Put use the
//     most recently modified one and Delete removes all of them;
//   - uploads are resumable: the session URI (Location) is saved with
//     save_resume_state together with the request's path, size and SHA-256;
//     chunks are multiples of 256 KiB with Content-Range; 308 answers carry
//     "Range: bytes=0-N". After a restart Put queries the session with
//     "Content-Range: bytes */SIZE" and continues after N (the MD5 of the
//     bytes before N is recomputed from the source, which is read, not sent
//     again); 404: the session expired, start over;
//   - the MD5 computed while sending (OpenSSL EVP) is compared with the
//     file's md5Checksum; on a mismatch a new file is deleted and Put fails
//     (UNAVAILABLE, so it is sent again).
// Errors: 401 -> tokens->Invalidate(token) and one retry, then
// UNAUTHENTICATED; 429 and 403 rateLimitExceeded / userRateLimitExceeded ->
// RESOURCE_EXHAUSTED with the Retry-After hint (a short one is waited out
// first, with exponential backoff when the service gives none); 5xx ->
// UNAVAILABLE; 403 storageQuotaExceeded -> FAILED_PRECONDITION; Drive's
// reason and message are quoted. Names go through
// EncodeServicePath(GoogleDriveNameRules()); strings in queries are escaped
// (\\ and \'). Stat reports size, modifiedTime and "md5:<hex>".
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

struct GoogleDriveOptions {
  std::string endpoint = "https://www.googleapis.com";
  std::string folder = "Shoebox";
  int64_t timeout_s = 60;
  // Bytes per upload chunk: a multiple of 256 KiB.
  uint64_t chunk_bytes = 8u << 20;
  // Connectors of one account in this process (the factory sets it from the
  // destination) look up and create folders one at a time and share a
  // request gate (common/http/request_gate.h); "" = alone.
  std::string account_key{};
  // Request starts per second for this account (0: only Retry-After).
  int max_requests_per_s = 0;
};

inline constexpr uint64_t kGoogleDriveChunkUnit = 262144;  // 256 KiB

// Reads and checks the settings above; INVALID_ARGUMENT names the setting.
absl::StatusOr<GoogleDriveOptions> GoogleDriveOptionsFromSettings(const nlohmann::json& settings);

absl::StatusOr<std::unique_ptr<Connector>> MakeGoogleDriveConnector(
    const GoogleDriveOptions& o, std::shared_ptr<http::TokenSource> tokens);

namespace gdrive_internal {
// A string literal for a files.list query: '...' with \ and ' escaped.
std::string QueryString(std::string_view s);
}  // namespace gdrive_internal

}  // namespace shoebox::worker
