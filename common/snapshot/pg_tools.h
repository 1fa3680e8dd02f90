// The PostgreSQL client programs catalog snapshots use: pg_dump to take one,
// psql and pg_restore to bring one back. They are found in $SHOEBOX_PG_BIN,
// else the newest /usr/lib/postgresql/<N>/bin (Debian), else PATH; pg_dump
// must be at least the server's major version.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::snapshot {

// Path of `tool` ("pg_dump", "pg_restore", "psql"); NOT_FOUND saying what to
// install when it is nowhere.
absl::StatusOr<std::string> FindPgTool(const std::string& tool);

// pg_dump --format=custom --no-owner --no-privileges of the database at
// `url` (URL or key=value connection string); the dump bytes. UNAVAILABLE
// with pg_dump's message when it fails.
absl::StatusOr<std::string> DumpDatabase(const std::string& url);

// Runs SQL through psql (-At, ON_ERROR_STOP); its output.
absl::StatusOr<std::string> Psql(const std::string& url, const std::string& sql);

// Tables, views and sequences outside the system schemas.
absl::StatusOr<int64_t> CountUserRelations(const std::string& url);

// Drops every object in the public schema (DROP SCHEMA public CASCADE, then
// CREATE SCHEMA public).
absl::Status ClearDatabase(const std::string& url);

// pg_restore --no-owner --no-privileges --exit-on-error --single-transaction
// of a custom-format dump (fed on stdin) into the database at `url`.
absl::Status RestoreDatabase(const std::string& url, std::string_view dump);

// The connection string without its password, and "PGPASSWORD=<password>"
// for the child's environment (empty when there is none), so a password
// never shows in a command line (ps). Every function here uses it.
struct PgConn {
  std::string url;
  std::vector<std::string> env;
};
PgConn SplitDatabasePassword(const std::string& url);

// `url` without a password ("postgresql://u:secret@h/db" → "postgresql://u@h/db",
// "password=..." removed), for messages and logs.
std::string RedactDatabaseUrl(const std::string& url);

}  // namespace shoebox::snapshot
