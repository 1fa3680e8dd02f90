// Catalog snapshot copies to destinations (docs/recovery.md): the job rows.
// The interface CatalogSnapshots uses (tests hand it a fake,
// fake_stores.h) and its PostgreSQL implementation, one transaction through
// Store::RunInTransaction. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox::coordinator {

class Store;

// Destination kinds that are plain file stores and receive snapshot copies.
inline constexpr const char* kSnapshotCopyKinds[] = {"local", "s3", "webdav", "sftp"};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;

  // Queues one JOB_KIND_SNAPSHOT job per plain-file destination for the
  // snapshot `name` (remote_ref "<name>#keep=<keep>"), and cancels the
  // snapshot jobs still waiting for older snapshots (the newer one replaces
  // them). Returns the number of jobs queued.
  virtual absl::StatusOr<uint64_t> QueueSnapshotCopies(const std::string& name, uint32_t keep) = 0;
};

// The PostgreSQL implementation (snapshot_store.cc), on the store's pool.
class PgSnapshotStore final : public SnapshotStore {
 public:
  // Borrows `store`, which must outlive this object.
  explicit PgSnapshotStore(Store* store) : store_(store) {}

  absl::StatusOr<uint64_t> QueueSnapshotCopies(const std::string& name, uint32_t keep) override;

 private:
  Store* const store_;
};

}  // namespace shoebox::coordinator
