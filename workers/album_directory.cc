#include "workers/album_directory.h"

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

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
  absl::Status Record(const std::string& key, const std::string& remote_id) override {
    absl::MutexLock l(&mu_);
    ids_[key] = remote_id;
    return absl::OkStatus();
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

std::shared_ptr<AlbumDirectory> MakeInMemoryAlbumDirectory() {
  return std::make_shared<InMemoryAlbumDirectory>();
}

}  // namespace shoebox::worker
