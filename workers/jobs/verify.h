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
//
// Photo services (kinds with albums, issue 20): a good copy must also be in
// the album the destination's album rule gives it (Connector::ListAlbum;
// listings are kept for a minute per destination and album, so a batch of
// verifies of one album lists it once, and a cached listing that lacks the
// item is fetched again before anything is concluded). An album gone at the
// service (NOT_FOUND) is forgotten in the album directory, and the copy is
// reported missing: the coordinator re-delivers it, and deliver re-creates
// the album and puts the item in (deliver.h). An item taken out of an
// existing album is reported the same way.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "workers/jobs/job_handler.h"
#include "workers/jobs/photo_fields.h"

namespace shoebox::worker {

class VerifyHandler final : public JobHandler {
 public:
  // `has_albums` says which kinds are photo services (tests pass theirs).
  explicit VerifyHandler(AlbumKindCheck has_albums = KindHasAlbums)
      : has_albums_(std::move(has_albums)) {}
  // verified_ok and the remote object (ref, size, checksum as the
  // destination now reports them) when the copy is there; verified_ok false
  // (not an error) when it is missing or has other content, with what was
  // found in remote_ref ("missing: PATH" or "differs: PATH ...").
  absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) override;

 private:
  enum class AlbumState { kHolds, kLacks, kGone };
  // Whether album `album` of the job's destination holds the item at
  // `path` (`stat` as Stat reported it), through the listing cache.
  absl::StatusOr<AlbumState> CheckAlbum(const v1::Job& job, Connector* conn,
                                        const std::string& album, const std::string& path,
                                        const RemoteObject& stat) ABSL_LOCKS_EXCLUDED(mu_);

  struct Listing {
    absl::Time at;
    std::vector<RemoteObject> items;
  };
  static constexpr size_t kMaxListings = 16;
  const AlbumKindCheck has_albums_;
  absl::Mutex mu_;
  // (destination ID, album) -> its last listing.
  std::map<std::pair<int64_t, std::string>, Listing> listings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::worker
