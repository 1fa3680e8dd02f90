// The S3 backend of ChunkStore (scheme "s3"), on the same SigV4 client as
// the S3 connector (common/s3/s3_client.h). Location format (docs/destinations.md, "Chunk store on
// S3"):
//
//   s3://[ACCESS_KEY:SECRET@]HOST[:PORT]/BUCKET[/PREFIX][?region=R&tls=0|1&style=path|virtual]
//
// tls defaults to 1 (https), region to us-east-1, style to path. Credentials
// in the URL are percent-decoded; without them the environment is used:
// SHOEBOX_S3_ACCESS_KEY_ID / SHOEBOX_S3_SECRET_ACCESS_KEY, else
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).
// Objects: <PREFIX>/<2 hex>/<62 hex>, one per chunk. Describe() never shows
// the secret.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/chunkstore/chunkstore.h"
#include "common/s3/s3_client.h"

namespace shoebox::s3 {

struct S3ChunkStoreLocation {
  S3Config config;
  std::string prefix;  // "" or ends with '/'
};
absl::StatusOr<S3ChunkStoreLocation> ParseS3ChunkStoreLocation(const std::string& location);

// The store, wrapped in a RetryingChunkStore (common/chunkstore/retrying_store.h)
// with S3RetryPolicy(): single-request calls are retried there.
absl::StatusOr<std::unique_ptr<ChunkStore>> OpenS3ChunkStore(const std::string& location);

// Registers the "s3" scheme with OpenChunkStore (idempotent). Called by the
// worker, coordinator and CLI mains and by tests.
void RegisterS3ChunkStore();

}  // namespace shoebox::s3
