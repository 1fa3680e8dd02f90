// JOB_KIND_SNAPSHOT: copy a sealed catalog snapshot from the chunk store to a
// plain-file destination as .shoebox/catalog/<file> and keep the newest K
// there (docs/recovery.md). The worker never opens the snapshot: it is
// sealed with the catalog key, which workers do not hold.
#pragma once

#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class SnapshotCopyHandler final : public JobHandler {
 public:
  // The job's remote_ref is "<named object>#keep=<K>" (K 14 when absent or
  // unreadable). INVALID_ARGUMENT when the name is not a catalog snapshot's;
  // FAILED_PRECONDITION from a worker that reads chunks via the coordinator.
  // Old copies that cannot be listed or deleted are only logged.
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

}  // namespace shoebox::worker
