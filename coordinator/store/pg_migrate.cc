// The migration runner (libpqxx 6.4). The statements are in migrations.cc.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "coordinator/store/migrations.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

absl::Status PgStore::Migrate() {
  return Run("migrate schema", TxMode::kTransaction, [&](Tx& tx) {
    // One coordinator migrates at a time; the others wait here.
    tx.exec("SELECT pg_advisory_xact_lock(4857121)");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    int current =
        tx.exec("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0][0].as<int>();
    if (current > SchemaVersion()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database schema is at version ", current,
                       " but this shoebox-coordinator knows "
                       "only up to version ",
                       SchemaVersion(),
                       "; a newer coordinator migrated it: run that version (never downgrade)"));
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) continue;
      SPDLOG_INFO("event=migrate version={} name=\"{}\"", m.version, m.name);
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
    }
    return absl::OkStatus();
  });
}

}  // namespace shoebox::coordinator::pg
