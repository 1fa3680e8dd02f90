// The coordinator's PostgreSQL store: the ONLY code that talks to libpqxx.
//
// Store is every narrow store interface in one object, for wiring
// (coordinator.cc): the domain classes each take only the interfaces they
// use (catalog_store.h, queue_store.h, destination_store.h,
// identity_store.h, status_store.h), so tests can hand them fakes. Retention,
// verification and snapshot copies have their own store classes on top of
// RunInTransaction (retention_store.h, verify_store.h, snapshot_store.h).
//
// Every method runs in its own transaction on a pooled connection and returns
// a status; libpqxx exceptions never leave coordinator/store/ (pg_pool.h
// maps them; pg_store.h lists the file of each area). Error mapping:
// serialization failure / deadlock → ABORTED (retried here), lost connection
// → UNAVAILABLE (the connection is re-opened and the transaction retried
// while `unavailable_retry_ms` lasts; a COMMIT whose outcome is unknown is
// not retried and surfaces as UNAVAILABLE), unique violation →
// ALREADY_EXISTS, anything else → INTERNAL naming the operation.
//
// Thread-safe: any thread may call any method; calls block while the pool is
// exhausted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/catalog_store.h"
#include "coordinator/store/destination_store.h"
#include "coordinator/store/identity_store.h"
#include "coordinator/store/model.h"
#include "coordinator/store/queue_store.h"
#include "coordinator/store/status_store.h"

namespace pqxx {
class transaction_base;
}

namespace shoebox::coordinator {

struct StoreOptions {
  std::string url;
  uint32_t pool_size = 8;
  // Opening retries until the database answers; 0 waits forever.
  uint32_t connect_timeout_ms = 0;
  uint32_t unavailable_retry_ms = 20000;
};

// Schema version this binary knows (the highest migration, migrations.cc).
int SchemaVersion();

class Store : public CatalogStore,
              public QueueStore,
              public DestinationStore,
              public IdentityStore,
              public StatusStore {
 public:
  // Connects (retrying with a log line while the database is down), applies
  // pending migrations, refuses (FAILED_PRECONDITION) a schema newer than
  // SchemaVersion().
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store() override = default;

  virtual absl::Status Ping() = 0;
  // Versions recorded in schema_migrations, ascending.
  virtual absl::StatusOr<std::vector<int>> AppliedMigrations() = 0;

  // Runs `fn` in one transaction on a pooled connection with the retries and
  // error mapping described at the top of this file (`fn` may run more than
  // once). For store code in its own file under coordinator/store/ (e.g.
  // verify_store.cc); only code there may use the pqxx type.
  virtual absl::Status RunInTransaction(
      const char* what, const std::function<absl::Status(pqxx::transaction_base&)>& fn) = 0;
};

}  // namespace shoebox::coordinator
