// S3-compatible destination (AWS S3, Backblaze B2, Wasabi, Cloudflare R2,
// MinIO, Garage, Ceph RGW, ...). Settings and credentials: docs/destinations.md.
//
// Objects are stored under "<prefix><remote_path>" with the whole-file
// SHA-256 as x-amz-meta-sha256 (hex) and the mtime as x-amz-meta-mtime-ns,
// so Stat reports "sha256:<hex>" and a re-delivery is detected without
// reading the object. S3 has no folders: EnsureFolder does nothing.
// The connector comes wrapped in a RetryingConnector with S3RetryPolicy()
// (Put excepted: the client retries multipart parts itself).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/s3/s3_client.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

// Reads the client config from destination settings and credentials JSON.
absl::StatusOr<s3::S3Config> S3ConfigFromJson(const nlohmann::json& settings,
                                              const nlohmann::json& credentials);

absl::StatusOr<std::unique_ptr<Connector>> MakeS3Connector(const nlohmann::json& settings,
                                                           const nlohmann::json& credentials);

}  // namespace shoebox::worker
