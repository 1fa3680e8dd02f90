// JOB_KIND_DELIVER: upload a file version from the chunk store to its
// destination, at the path ResolveRemotePath picks (workers/jobs/remote_path.h).
// Idempotent: when the content is already there (a retried job, or the same
// photo under another folder), the job completes without uploading.
//
// Photo services (kinds with albums, issue 20): the request carries the
// album from the destination's album rule, the capture date and, when the
// destination asks, the folder names as keywords (workers/jobs/photo_fields.h).
// Content already there completes the job only when it is also in its
// album (Connector::ListAlbum); otherwise (verify found the album deleted,
// or the item taken out of it) it is put again, so the connector re-creates
// the album and puts the item into it.
#pragma once

#include "workers/jobs/job_handler.h"
#include "workers/jobs/photo_fields.h"

namespace shoebox::worker {

class DeliverHandler final : public JobHandler {
 public:
  // `has_albums` says which kinds are photo services (tests pass theirs).
  explicit DeliverHandler(AlbumKindCheck has_albums = KindHasAlbums)
      : has_albums_(std::move(has_albums)) {}
  // After the upload the destination's Stat must report the file's size
  // (and SHA-256 when it reports one); UNAVAILABLE otherwise, so the
  // delivery is retried. FAILED_PRECONDITION when every collision candidate
  // holds another file.
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;

 private:
  const AlbumKindCheck has_albums_;
};

}  // namespace shoebox::worker
