// The worker's links to the coordinator besides the job loop: the gRPC
// channel built from the options, and a chunk fetcher that reads sealed
// blobs through WorkerService.ReadChunks (chunk_store = "via-coordinator").
#pragma once

#include <memory>
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

}  // namespace shoebox::worker
