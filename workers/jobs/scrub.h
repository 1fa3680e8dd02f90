// JOB_KIND_SCRUB: read a file version's chunks from the chunk store, open
// and check each one and the whole-file SHA-256 (no destination involved).
#pragma once

#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class ScrubHandler final : public JobHandler {
 public:
  // verified_ok when every chunk opens and the file hashes right; otherwise
  // verified_ok false with the damage in remote_ref. Errors other than
  // DATA_LOSS / NOT_FOUND (e.g. the store unreachable) fail the job.
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

}  // namespace shoebox::worker
