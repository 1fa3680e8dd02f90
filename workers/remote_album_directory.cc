#include "workers/remote_album_directory.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace shoebox::worker {

std::optional<std::string> AlbumCache::Get(int64_t destination_id, const std::string& key) {
  absl::MutexLock l(&mu_);
  auto it = ids_.find(std::make_pair(destination_id, key));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

void AlbumCache::Put(int64_t destination_id, const std::string& key, const std::string& id) {
  absl::MutexLock l(&mu_);
  if (ids_.size() >= kMaxEntries) ids_.clear();
  ids_[std::make_pair(destination_id, key)] = id;
}

void AlbumCache::Drop(int64_t destination_id, const std::string& key) {
  absl::MutexLock l(&mu_);
  ids_.erase(std::make_pair(destination_id, key));
}

namespace {

class RemoteAlbumDirectory final : public AlbumDirectory {
 public:
  RemoteAlbumDirectory(AlbumClient* client, AlbumLease lease, AlbumCache* cache)
      : client_(client), lease_(std::move(lease)), cache_(cache) {}

  absl::StatusOr<std::string> Lookup(const std::string& key) override {
    if (std::optional<std::string> id = cache_->Get(lease_.destination_id, key)) return *id;
    absl::StatusOr<std::optional<std::string>> found = client_->Lookup(lease_, key);
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return absl::NotFoundError(absl::StrCat("no album recorded for ", PrintablePath(key)));
    }
    cache_->Put(lease_.destination_id, key, **found);
    return **found;
  }

  absl::StatusOr<std::string> RecordFirst(const std::string& key,
                                          const std::string& remote_id) override {
    absl::StatusOr<std::string> kept = client_->Record(lease_, key, remote_id);
    if (!kept.ok()) return kept.status();
    cache_->Put(lease_.destination_id, key, *kept);
    return kept;
  }

  absl::Status Forget(const std::string& key) override {
    const std::string seen = cache_->Get(lease_.destination_id, key).value_or("");
    cache_->Drop(lease_.destination_id, key);
    return client_->Forget(lease_, key, seen);
  }

 private:
  AlbumClient* const client_;
  const AlbumLease lease_;
  AlbumCache* const cache_;
};

}  // namespace

std::shared_ptr<AlbumDirectory> MakeRemoteAlbumDirectory(AlbumClient* client, AlbumLease lease,
                                                         AlbumCache* cache) {
  return std::make_shared<RemoteAlbumDirectory>(client, std::move(lease), cache);
}

}  // namespace shoebox::worker
