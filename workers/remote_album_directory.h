// The worker's AlbumDirectory (workers/album_directory.h): a destination's
// albums as the coordinator's catalog remembers them (WorkerService
// LookupAlbum / RecordAlbum / ForgetAlbum, under the lease of the job the
// connector was opened for), with a small process-wide cache so a worker
// asks the coordinator once per album, not once per photo. Issue 20,
// docs/destinations.md "Albums".
//
// - Lookup: the cache, else the coordinator (a found id is cached; an
//   unknown key is not, so an album another worker records is found).
// - RecordFirst: the coordinator (first writer wins); the id it kept is
//   cached and returned.
// - Forget: the coordinator drops the key only while it still maps to the
//   id this process last saw (cached), so a stale view never drops an album
//   another worker has re-created; the cache entry goes either way.
//
// A worker's cache can hold an id that another worker has since forgotten
// and replaced; the connector then finds that album gone at the service,
// Forgets (which keeps the other worker's new id) and Looks up again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "workers/album_directory.h"
#include "workers/coordinator_client.h"

namespace shoebox::worker {

// (destination ID, album key) -> album id, for the whole worker process.
// Thread-safe.
class AlbumCache {
 public:
  std::optional<std::string> Get(int64_t destination_id, const std::string& key)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Put(int64_t destination_id, const std::string& key, const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Drop(int64_t destination_id, const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // More than this many entries: the cache starts over (a worker serves a
  // few destinations with at most thousands of albums).
  static constexpr size_t kMaxEntries = 100000;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<int64_t, std::string>, std::string> ids_ ABSL_GUARDED_BY(mu_);
};

// `client` and `cache` are borrowed and outlive the directory (the worker
// owns them). `lease` is the job's.
std::shared_ptr<AlbumDirectory> MakeRemoteAlbumDirectory(AlbumClient* client, AlbumLease lease,
                                                         AlbumCache* cache);

}  // namespace shoebox::worker
