#include "workers/album_directory.h"

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"

namespace shoebox::worker {
namespace {

class InMemoryAlbumDirectory : public AlbumDirectory {
 public:
  absl::StatusOr<std::string> Lookup(const std::string& key) override {
    absl::MutexLock l(&mu_);
    auto it = ids_.find(key);
    if (it == ids_.end()) return absl::NotFoundError(absl::StrCat("no album recorded for ", key));
    return it->second;
  }
  absl::StatusOr<std::string> RecordFirst(const std::string& key,
                                          const std::string& remote_id) override {
    absl::MutexLock l(&mu_);
    return ids_.try_emplace(key, remote_id).first->second;
  }
  absl::Status Forget(const std::string& key) override {
    absl::MutexLock l(&mu_);
    ids_.erase(key);
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status AlbumDirectory::Record(const std::string& key, const std::string& remote_id) {
  absl::StatusOr<std::string> kept = RecordFirst(key, remote_id);
  if (!kept.ok()) return kept.status();
  if (*kept == remote_id) return absl::OkStatus();
  return absl::AbortedError(
      absl::StrCat("album ", PrintablePath(key), ": another worker recorded id ",
                   PrintablePath(*kept), " first; this attempt's id ", PrintablePath(remote_id),
                   " is not used, and the job's retry puts the item into the recorded album"));
}

std::shared_ptr<AlbumDirectory> MakeInMemoryAlbumDirectory() {
  return std::make_shared<InMemoryAlbumDirectory>();
}

}  // namespace shoebox::worker
