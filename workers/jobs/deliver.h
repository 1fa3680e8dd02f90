// JOB_KIND_DELIVER: upload a file version from the chunk store to its
// destination, at the path ResolveRemotePath picks (workers/jobs/remote_path.h).
// Idempotent: when the content is already there (a retried job, or the same
// photo under another folder), the job completes without uploading.
#pragma once

#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class DeliverHandler final : public JobHandler {
 public:
  // After the upload the destination's Stat must report the file's size
  // (and SHA-256 when it reports one); UNAVAILABLE otherwise, so the
  // delivery is retried. FAILED_PRECONDITION when every collision candidate
  // holds another file.
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

}  // namespace shoebox::worker
