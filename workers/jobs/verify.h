// JOB_KIND_VERIFY: check that a delivered file version is still at its
// destination with the same content, at the path deliver put it
// (ResolveRemotePath, workers/jobs/remote_path.h). When the lease lists
// damaged chunks (repair_chunk_ids), they are repaired from that copy
// (workers/jobs/repair.h).
//
// Content, never ETags or mtimes, decides (issue 18, docs/verify.md): a
// candidate of the file's size is the copy when the destination reports a
// SHA-256 it keeps bound to the object (S3 metadata, a local xattr still
// matching the mtime, a WebDAV dead property still matching the ETag, an
// rclone remote's own hash) equal to the catalog's, or - when it reports
// none - when reading the object whole hashes to the catalog's SHA-256. A
// copy found by reading gets its checksum recorded again
// (Connector::RecordChecksum) and its new reference reported, so it is not
// read again next time and is never delivered again.
#pragma once

#include "workers/jobs/job_handler.h"

namespace shoebox::worker {

class VerifyHandler final : public JobHandler {
 public:
  // verified_ok and the remote object (ref, size, checksum as the
  // destination now reports them) when the copy is there; verified_ok false
  // (not an error) when it is missing or has other content, with what was
  // found in remote_ref ("missing: PATH" or "differs: PATH ...").
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;
};

}  // namespace shoebox::worker
