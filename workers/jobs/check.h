// JOB_KIND_CHECK (issue 16, docs/destinations.md): test a destination's
// connection and credentials for `shoebox dest add|set|check`.
#pragma once

#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

// The probe folder under the destination root.
inline constexpr char kCheckProbeDir[] = ".shoebox/check";

class CheckHandler final : public JobHandler {
 public:
  // Opens the destination (settings, credentials), lists kCheckProbeDir
  // (missing is fine), and when job.remote_ref() is "write" puts a small
  // probe file there, stats it and deletes it. Always completes: verified_ok
  // with what was done in remote_ref, or verified_ok false with the failing
  // step and error ("CODE: message") in remote_ref, so a failed check
  // neither retries nor marks the destination as failing authentication.
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

}  // namespace shoebox::worker
