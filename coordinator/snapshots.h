// Catalog snapshots taken by the coordinator (docs/recovery.md): pg_dump of
// the catalog database, sealed with the catalog key, stored in the chunk
// store as "catalog/<time>.snap"; the newest `keep` are kept.
//
// Scheduled: a thread takes one when the newest snapshot in the chunk store
// is `interval_s` old (the first one a minute after start when there is
// none). The chunk store is the shared clock: with several coordinators on
// one database each looks at the newest snapshot before taking one, so they
// take about one per interval between them. On demand: TakeNow (admin RPC
// CreateSnapshot, `shoebox snapshot`).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "common/snapshot/catalog_snapshot.h"
#include "coordinator/store/snapshot_store.h"

namespace shoebox::coordinator {

// Dumps the catalog database (snapshot::DumpDatabase in production).
using DatabaseDumper = std::function<absl::StatusOr<std::string>()>;

class CatalogSnapshots {
 public:
  // `store` and `copies` are borrowed and must outlive this object;
  // `copies` (may be null) gets the snapshot copy jobs for destinations.
  // `dump` is called from TakeNow (any thread, one call at a time).
  CatalogSnapshots(DatabaseDumper dump, ChunkStore* store, SnapshotStore* copies,
                   const Key256& catalog_key, uint32_t interval_s, uint32_t keep);
  // Stops the schedule (waits for a snapshot in progress).
  ~CatalogSnapshots();
  CatalogSnapshots(const CatalogSnapshots&) = delete;
  CatalogSnapshots& operator=(const CatalogSnapshots&) = delete;

  // Starts the scheduling thread (no-op when interval_s is 0).
  void StartSchedule();
  // Takes a snapshot now, then deletes all but the newest `keep` and queues
  // a copy to every plain-file destination (local, s3, webdav, sftp). One at
  // a time per process; thread-safe.
  absl::StatusOr<snapshot::Info> TakeNow();
  // Snapshots in the chunk store, newest first.
  absl::StatusOr<std::vector<snapshot::Info>> List();

  uint32_t interval_s() const { return interval_s_; }
  uint32_t keep() const { return keep_; }

 private:
  void Loop();

  const DatabaseDumper dump_;
  ChunkStore* const store_;
  SnapshotStore* const copies_;
  const Key256 catalog_key_;
  const uint32_t interval_s_;
  const uint32_t keep_;

  absl::Mutex take_mu_;  // one snapshot at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

// A chunk-store location safe to print: "s3://ACCESS:SECRET@host/b" →
// "s3://host/b"; other locations unchanged.
std::string RedactLocation(const std::string& location);

}  // namespace shoebox::coordinator
