#include "workers/jobs/verify.h"

#include <string>

#include "common/status.h"
#include "workers/jobs/remote_path.h"
#include "workers/jobs/repair.h"

namespace shoebox::worker {

absl::StatusOr<v1::CompleteJobRequest> VerifyHandler::Run(const v1::Job& job, JobContext& ctx) {
  ASSIGN_OR_RETURN(Connector * conn, ctx.Destination());
  ASSIGN_OR_RETURN(RemotePath where, ResolveRemotePath(job.file(), job.destination().layout(), conn,
                                                       ctx.chunks(), job.destination().kind()));
  v1::CompleteJobRequest done;
  done.set_verified_ok(false);
  if (where.slot != RemotePath::Slot::kSameContent) return done;
  // Damaged chunks of this file in the chunk store: repair them from this
  // copy.
  RETURN_IF_ERROR(
      RepairFromCopy(job, conn, where.path, [&](const std::string& id, std::string data) {
        return ctx.RepairChunk(id, std::move(data));
      }));
  done.set_verified_ok(true);
  done.set_remote_ref(where.existing.ref);
  done.set_remote_size(where.existing.size);
  done.set_remote_checksum(where.existing.checksum);
  return done;
}

}  // namespace shoebox::worker
