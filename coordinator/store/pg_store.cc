// PgStore: opening, health, prepared statements and the transaction hook for
// store code in other files (libpqxx 6.4). See pg_store.h.
#include "coordinator/store/pg_store.h"

#include "common/status.h"
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

int SchemaVersion() { return Migrations().back().version; }

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.url.empty()) {
    return absl::InvalidArgumentError(
        "database url is empty; set database.url in the coordinator config");
  }
  auto store = std::make_unique<pg::PgStore>(options);
  RETURN_IF_ERROR(store->Connect());
  RETURN_IF_ERROR(store->Migrate());
  return std::unique_ptr<Store>(std::move(store));
}

namespace pg {

PgStore::PgStore(const StoreOptions& o)
    : pool_(o, [](pqxx::connection& c) {
        PrepareCatalogStatements(c);
        PrepareQueueStatements(c);
      }) {}

absl::Status PgStore::Ping() {
  return Run("ping", TxMode::kAutocommit, [](Tx& tx) {
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<int>> PgStore::AppliedMigrations() {
  std::vector<int> out;
  RETURN_IF_ERROR(Run("applied migrations", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec("SELECT version FROM schema_migrations ORDER BY version"))
      out.push_back(row[0].as<int>());
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PgStore::RunInTransaction(const char* what,
                                       const std::function<absl::Status(Tx&)>& fn) {
  return Run(what, TxMode::kTransaction, fn);
}

}  // namespace pg
}  // namespace shoebox::coordinator
