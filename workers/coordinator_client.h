// The worker's links to the coordinator besides the job loop: the gRPC
// channel built from the options, and a chunk fetcher that reads sealed
// blobs through WorkerService.ReadChunks (chunk_store = "via-coordinator").
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/keys.h"
#include "workers/chunk_source.h"
#include "workers/worker_config.h"

namespace shoebox::worker {

// Channel to the coordinator from the options (mTLS or dev plain text).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeCoordinatorChannel(const WorkerOptions& options);

// A chunk fetcher that reads sealed blobs through WorkerService.ReadChunks
// and opens them with the data key. Every call has `deadline`; thread-safe.
std::unique_ptr<ChunkFetcher> MakeCoordinatorFetcher(std::shared_ptr<grpc::Channel> channel,
                                                     const std::string& worker_name,
                                                     bool insecure_dev, const Key256& data_key,
                                                     absl::Duration deadline);

// The album directory calls of WorkerService (issue 20) under the lease of
// one job: its ID and token, and its destination's ID.
struct AlbumLease {
  int64_t job_id = 0;
  std::string lease_token;
  int64_t destination_id = 0;
};
class AlbumClient {
 public:
  virtual ~AlbumClient() = default;
  // The id recorded for `key`; nullopt when none.
  virtual absl::StatusOr<std::optional<std::string>> Lookup(const AlbumLease& lease,
                                                            const std::string& key) = 0;
  // First writer wins: the id recorded for `key` afterwards.
  virtual absl::StatusOr<std::string> Record(const AlbumLease& lease, const std::string& key,
                                             const std::string& remote_id) = 0;
  // Drops `key`; only while it maps to `expected_id` when that is not empty.
  virtual absl::Status Forget(const AlbumLease& lease, const std::string& key,
                              const std::string& expected_id) = 0;
};
// The calls over `channel`, each with `deadline`; thread-safe. Errors name
// the call and the album.
std::unique_ptr<AlbumClient> MakeCoordinatorAlbumClient(std::shared_ptr<grpc::Channel> channel,
                                                        const std::string& worker_name,
                                                        bool insecure_dev, absl::Duration deadline);

}  // namespace shoebox::worker
