// JOB_KIND_SNAPSHOT: copy a sealed catalog snapshot from the chunk store to a
// plain-file destination as .shoebox/catalog/<file> and keep the newest K
// there (docs/recovery.md). The worker never opens the snapshot: it is
// sealed with the catalog key, which workers do not hold.
#pragma once

#include "absl/status/statusor.h"
#include "shoebox/v1/worker.pb.h"
#include "workers/chunk_source.h"
#include "workers/connector.h"

namespace shoebox::worker {

absl::StatusOr<v1::CompleteJobRequest> CopySnapshot(const v1::Job& job, Connector* conn, ChunkFetcher* chunks);

}  // namespace shoebox::worker
