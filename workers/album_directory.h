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
  // Records (or replaces) the id of `key`.
  virtual absl::Status Record(const std::string& key, const std::string& remote_id) = 0;
  // Drops `key` (verify or an upload found the album deleted at the
  // service; the next use creates it again). Dropping a missing key is not
  // an error.
  virtual absl::Status Forget(const std::string& key) = 0;
};

// A process-local directory (tests, tools, a connector opened without one).
std::shared_ptr<AlbumDirectory> MakeInMemoryAlbumDirectory();

}  // namespace shoebox::worker
