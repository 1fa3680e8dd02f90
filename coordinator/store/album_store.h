// The album directory of photo-service destinations (issue 20,
// docs/destinations.md "Albums"): album key -> the service's album id, per
// destination, in `destination_albums` (migration 13). The interface the
// coordinator's AlbumDirectoryService uses, its PostgreSQL implementation
// (album_store.cc, one transaction each through Store::RunInTransaction) and
// an in-memory fake (fake_album_store.h). Keys and ids are bytes (bytea).
//
// Every call is made under a worker's lease: it requires the current lease
// of `job_id` under `token`, held by `worker_id`, on a job of
// `destination_id`, a destination not removed; PERMISSION_DENIED otherwise
// (the same rule as UpdateLeasedDestinationCredentials).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox::coordinator {

class Store;

struct AlbumLease {
  int64_t job_id = 0;
  std::string token;
  int64_t worker_id = 0;
  int64_t destination_id = 0;
};

struct RecordedAlbum {
  std::string remote_id;  // the id recorded for the key now
  bool recorded = false;  // false: another id was there first and is kept
};

class AlbumStore {
 public:
  virtual ~AlbumStore() = default;
  // The id recorded for `key`; nullopt when none.
  virtual absl::StatusOr<std::optional<std::string>> LookupAlbum(const AlbumLease& lease,
                                                                 const std::string& key) = 0;
  // Records `remote_id` unless an id is recorded for `key` already (first
  // writer wins, also between concurrent calls).
  virtual absl::StatusOr<RecordedAlbum> RecordAlbum(const AlbumLease& lease, const std::string& key,
                                                    const std::string& remote_id) = 0;
  // Drops `key`; when `expected_id` is not empty only while the key still
  // maps to it. True when a row was dropped.
  virtual absl::StatusOr<bool> ForgetAlbum(const AlbumLease& lease, const std::string& key,
                                           const std::string& expected_id) = 0;
};

// The PostgreSQL implementation, on the store's pool.
class PgAlbumStore final : public AlbumStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit PgAlbumStore(Store* store) : store_(store) {}

  absl::StatusOr<std::optional<std::string>> LookupAlbum(const AlbumLease& lease,
                                                         const std::string& key) override;
  absl::StatusOr<RecordedAlbum> RecordAlbum(const AlbumLease& lease, const std::string& key,
                                            const std::string& remote_id) override;
  absl::StatusOr<bool> ForgetAlbum(const AlbumLease& lease, const std::string& key,
                                   const std::string& expected_id) override;

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
