// An in-memory AlbumStore (album_store.h) for unit tests of the album
// directory service without PostgreSQL: first writer wins, conditional
// forget, and the lease rule through a check the test gives (a
// FakeQueueStore's leases, or a fixed answer).
//
// Thread-safe (one mutex).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/album_store.h"

namespace shoebox::coordinator {

class FakeAlbumStore final : public AlbumStore {
 public:
  // `check_lease` answers whether the lease allows the call (OK, or the
  // PERMISSION_DENIED to return); null allows every call.
  explicit FakeAlbumStore(std::function<absl::Status(const AlbumLease&)> check_lease = nullptr)
      : check_lease_(std::move(check_lease)) {}

  absl::StatusOr<std::optional<std::string>> LookupAlbum(const AlbumLease& lease,
                                                         const std::string& key) override;
  absl::StatusOr<RecordedAlbum> RecordAlbum(const AlbumLease& lease, const std::string& key,
                                            const std::string& remote_id) override;
  absl::StatusOr<bool> ForgetAlbum(const AlbumLease& lease, const std::string& key,
                                   const std::string& expected_id) override;

  // --- test access ---
  // Every row: (destination, key) -> id.
  std::map<std::pair<int64_t, std::string>, std::string> rows();

 private:
  const std::function<absl::Status(const AlbumLease&)> check_lease_;
  absl::Mutex mu_;
  std::map<std::pair<int64_t, std::string>, std::string> rows_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::coordinator
