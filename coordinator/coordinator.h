// One coordinator: the store, the chunk store, keys, metrics and the domain
// classes, plus a housekeeping thread (expired leases, due retries, queue
// depth metrics, database health). No network: server.h adds gRPC.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "coordinator/admin.h"
#include "coordinator/albums.h"
#include "coordinator/auth.h"
#include "coordinator/catalog.h"
#include "coordinator/ingest.h"
#include "coordinator/metrics.h"
#include "coordinator/notify/notifier.h"
#include "coordinator/options.h"
#include "coordinator/queue.h"
#include "coordinator/retention.h"
#include "coordinator/snapshots.h"
#include "coordinator/store/store.h"
#include "coordinator/tls.h"
#include "coordinator/transfers.h"
#include "coordinator/verify.h"

namespace shoebox::coordinator {

class Coordinator {
 public:
  // Loads (or creates) the key file, opens the chunk store, connects to
  // PostgreSQL (waiting while it is down, see db_connect_timeout_ms) and
  // migrates the schema.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Open(const CoordinatorOptions& options);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  Catalog& catalog() { return *catalog_; }
  Ingest& ingest() { return *ingest_; }
  Transfers& transfers() { return *transfers_; }
  JobQueue& queue() { return *queue_; }
  Albums& albums() { return *albums_; }
  Admin& admin() { return *admin_; }
  Store& store() { return *store_; }
  Verifier& verifier() { return *verifier_; }
  Retention& retention() { return *retention_; }
  CatalogSnapshots& snapshots() { return *snapshots_; }
  Metrics& metrics() { return *metrics_; }
  // Notifications (issue 22, docs/notifications.md).
  notify::Notifier& notifier() { return *notifier_; }
  const Authenticator& auth() const { return *auth_; }
  // Enrollment and the TLS identity; nullptr in --insecure-dev mode.
  Enrollment* enrollment() { return enrollment_.get(); }
  const CoordinatorOptions& options() const { return options_; }
  // The keys derived from the master key (the web TOTP secrets are sealed
  // with a key derived from catalog_key).
  const DerivedKeys& keys() const { return keys_; }

  // Called by housekeeping with the database health after each check.
  void OnHealth(std::function<void(bool)> fn);

 private:
  explicit Coordinator(const CoordinatorOptions& o) : options_(o) {}
  void Housekeeping();

  const CoordinatorOptions options_;
  DerivedKeys keys_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<ChunkStore> chunk_store_;
  std::unique_ptr<SealedChunkStore> sealed_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<VerifyStore> verify_store_;        // on store_
  std::unique_ptr<RetentionStore> retention_store_;  // on store_
  std::unique_ptr<SnapshotStore> snapshot_store_;    // on store_
  std::unique_ptr<AlbumStore> album_store_;          // on store_
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Enrollment> enrollment_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Ingest> ingest_;                 // server-side imports (issue 21)
  std::unique_ptr<TransferStore> transfer_store_;  // on store_
  std::unique_ptr<Transfers> transfers_;           // sources read by workers (issue 21)
  std::unique_ptr<JobQueue> queue_;
  std::unique_ptr<Albums> albums_;
  std::unique_ptr<Admin> admin_;
  std::unique_ptr<Verifier> verifier_;    // after admin_: stopped first
  std::unique_ptr<Retention> retention_;  // after store_, chunk_store_: stops before them
  std::unique_ptr<CatalogSnapshots>
      snapshots_;  // its schedule (chunk_store_, store_) stops before them
  std::unique_ptr<notify::Notifier> notifier_;  // last: its thread (store_) stops first

  absl::Mutex mu_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::function<void(bool)> on_health_ ABSL_GUARDED_BY(mu_);
  std::thread housekeeping_;
};

}  // namespace shoebox::coordinator
