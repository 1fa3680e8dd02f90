// Albums (photo services) and folder nodes (SmugMug) a destination already
// has: album key -> the service's id, remembered in the catalog so that an
// album is created once per destination, by whichever worker gets there
// first, and found again after a worker restart (issue 20).
//
// A connector gets one through ConnectorEnvironment::albums. The worker's
// implementation asks the coordinator (WorkerService, allowed only while the
// worker holds a lease of a job of this destination); tests and `shoebox`
// tools use MakeInMemoryAlbumDirectory().
//
// Keys are the connector's own: the album title after the destination's
// album rule ("Camera 2023"), a part ("Camera 2023#2" for Google Photos'
// 20,000-item limit), or a folder node ("node:Camera/2023" for SmugMug).
// Keys and ids are bytes of at most 1,024 each.
//
// Two workers that create the same album at once (issue 20): the first
// Record wins. RecordFirst returns the id recorded afterwards, which is the
// caller's own or the one another worker recorded first; a caller that gets
// another id back puts its item into THAT album (and may delete the album it
// just made, which holds at most its own item). Record is RecordFirst for
// callers that do not look at the answer: when another id won it returns
// ABORTED (retryable) naming both, so the job is tried again and its retry
// finds the winner with Lookup, instead of filling a second album silently.
// To replace an id (the album was deleted at the service): Forget, then
// Lookup again (another worker may have re-created it meanwhile), then
// create and RecordFirst.
//
// Where the worker keeps them: docs/destinations.md, "Albums".
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox::worker {

class AlbumDirectory {
 public:
  virtual ~AlbumDirectory() = default;
  // The remote id recorded for `key`; NOT_FOUND when none.
  virtual absl::StatusOr<std::string> Lookup(const std::string& key) = 0;
  // Records `remote_id` for `key` unless an id is recorded already (first
  // writer wins); returns the id recorded for `key` afterwards. Recording
  // the id that is already there is OK (idempotent).
  virtual absl::StatusOr<std::string> RecordFirst(const std::string& key,
                                                  const std::string& remote_id) = 0;
  // RecordFirst; ABORTED when another id was recorded first (see above).
  virtual absl::Status Record(const std::string& key, const std::string& remote_id);
  // Drops `key` (verify or an upload found the album deleted at the
  // service; the next use creates it again). Dropping a missing key is not
  // an error. The worker's directory drops it only if it still holds the id
  // this process last saw for it, so a stale view never drops an album
  // another worker has just re-created.
  virtual absl::Status Forget(const std::string& key) = 0;
};

// A process-local directory (tests, tools, a connector opened without one).
std::shared_ptr<AlbumDirectory> MakeInMemoryAlbumDirectory();

}  // namespace shoebox::worker
