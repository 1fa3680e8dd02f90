// Versioned schema migrations, applied in order at start (pg_migrate.cc). Never
// edit a released migration; append a new one.
#pragma once

#include <vector>

namespace shoebox::coordinator {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& Migrations();

// The SQL of migration 14, the status counters (migration_status_counters.cc).
const char* StatusCountersMigrationSql();

// The SQL of migration 17, notifications (migration_notify.cc).
const char* NotifyMigrationSql();

// The SQL of migration 22, recently deleted and restore requests
// (migration_deleted.cc).
const char* DeletedMigrationSql();

// The SQL of migration 20, transfer listings' albums and cursors
// (migration_transfer_cursor.cc).
const char* TransferCursorMigrationSql();

// The SQL of migration 21, transfer progress counters
// (migration_transfer_progress.cc).
const char* TransferProgressMigrationSql();

}  // namespace shoebox::coordinator
