// The album directory of photo-service destinations, as the workers see it
// (WorkerService.LookupAlbum / RecordAlbum / ForgetAlbum; issue 20,
// docs/destinations.md "Albums"): validates the request (validate.h),
// resolves the calling worker, and asks the store under the worker's lease
// (album_store.h: PERMISSION_DENIED without a current lease on a job of the
// destination). `worker` is the authenticated caller's name.
//
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "coordinator/store/album_store.h"
#include "coordinator/store/queue_store.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

class Albums {
 public:
  // Borrows both stores; they must outlive this object.
  Albums(AlbumStore* albums, QueueStore* queue) : albums_(albums), queue_(queue) {}

  absl::StatusOr<shoebox::v1::LookupAlbumResponse> Lookup(
      const std::string& worker, const shoebox::v1::LookupAlbumRequest& req);
  // First writer wins: the response names the id kept.
  absl::StatusOr<shoebox::v1::RecordAlbumResponse> Record(
      const std::string& worker, const shoebox::v1::RecordAlbumRequest& req);
  absl::StatusOr<shoebox::v1::ForgetAlbumResponse> Forget(
      const std::string& worker, const shoebox::v1::ForgetAlbumRequest& req);

 private:
  // FAILED_PRECONDITION when the worker never registered.
  absl::StatusOr<AlbumLease> Lease(const std::string& worker, int64_t job_id,
                                   const std::string& token, int64_t destination_id);

  AlbumStore* const albums_;
  QueueStore* const queue_;
};

}  // namespace shoebox::coordinator
