#include "coordinator/store/fake_album_store.h"

namespace shoebox::coordinator {

absl::StatusOr<std::optional<std::string>> FakeAlbumStore::LookupAlbum(const AlbumLease& lease,
                                                                       const std::string& key) {
  if (check_lease_) {
    absl::Status st = check_lease_(lease);
    if (!st.ok()) return st;
  }
  absl::MutexLock l(&mu_);
  auto it = rows_.find({lease.destination_id, key});
  if (it == rows_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::StatusOr<RecordedAlbum> FakeAlbumStore::RecordAlbum(const AlbumLease& lease,
                                                          const std::string& key,
                                                          const std::string& remote_id) {
  if (check_lease_) {
    absl::Status st = check_lease_(lease);
    if (!st.ok()) return st;
  }
  absl::MutexLock l(&mu_);
  const std::string& kept = rows_.try_emplace({lease.destination_id, key}, remote_id).first->second;
  return RecordedAlbum{kept, kept == remote_id};
}

absl::StatusOr<bool> FakeAlbumStore::ForgetAlbum(const AlbumLease& lease, const std::string& key,
                                                 const std::string& expected_id) {
  if (check_lease_) {
    absl::Status st = check_lease_(lease);
    if (!st.ok()) return st;
  }
  absl::MutexLock l(&mu_);
  auto it = rows_.find({lease.destination_id, key});
  if (it == rows_.end() || (!expected_id.empty() && it->second != expected_id)) return false;
  rows_.erase(it);
  return true;
}

std::map<std::pair<int64_t, std::string>, std::string> FakeAlbumStore::rows() {
  absl::MutexLock l(&mu_);
  return rows_;
}

}  // namespace shoebox::coordinator
