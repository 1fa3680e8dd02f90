// JOB_KIND_VERIFY: check that a delivered file version is still at its
// destination with the same content, at the path deliver put it
// (ResolveRemotePath, workers/jobs/remote_path.h). When the lease lists
// damaged chunks (repair_chunk_ids), they are repaired from that copy
// (workers/jobs/repair.h).
#pragma once

#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class VerifyHandler final : public JobHandler {
 public:
  // verified_ok and the remote object when the copy is there; verified_ok
  // false (not an error) when it is missing or has other content.
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

}  // namespace shoebox::worker
