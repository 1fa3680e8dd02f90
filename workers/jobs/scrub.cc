#include "workers/jobs/scrub.h"

#include <string>

#include "common/status.h"
#include "spdlog/spdlog.h"
#include "workers/chunk_source.h"
#include "workers/jobs/file_chunks.h"

namespace shoebox::worker {

absl::StatusOr<v1::CompleteJobRequest> ScrubHandler::Run(const v1::Job& job, JobContext& ctx) {
  const v1::FileVersion& f = job.file();
  RETURN_IF_ERROR(CheckChunkList(f));
  ChunkSource src(ctx.chunks(), ChunkSpans(f), f.size(), f.sha256());
  std::string buf(1 << 20, '\0');
  absl::Status bad;
  for (;;) {
    absl::StatusOr<size_t> n = src.Read(reinterpret_cast<uint8_t*>(buf.data()), buf.size());
    if (!n.ok()) {
      if (absl::IsDataLoss(n.status()) || absl::IsNotFound(n.status())) {
        bad = n.status();
        break;
      }
      return n.status();
    }
    if (*n == 0) break;
  }
  v1::CompleteJobRequest done;
  done.set_verified_ok(bad.ok());
  if (!bad.ok()) {
    done.set_remote_ref(std::string(bad.message()).substr(0, 1000));
    spdlog::error("worker={} scrub of version {}: {}", ctx.worker_name(), f.version_id(),
                  bad.ToString());
  }
  return done;
}

}  // namespace shoebox::worker
