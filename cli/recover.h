// `shoebox recover`: rebuild the catalog database of a lost server from a
// catalog snapshot and the master key (docs/recovery.md). No coordinator is
// needed; PostgreSQL's client programs are (common/snapshot/pg_tools.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::cli {

struct RecoverOptions {
  // Master key file (64 hex characters, mode 0600).
  std::string key_file;
  // Where snapshots are: a chunk-store location (directory, file:///dir or
  // s3://...), a destination's root directory (holding .shoebox/catalog/),
  // a directory of .snap files, or one .snap file.
  std::string from;
  // The database to restore into; must be empty unless `force`.
  std::string database_url;
  // Chunk store to check the restored chunk references against (default:
  // `from` when it is a chunk store).
  std::string chunk_store;
  // A particular snapshot (file name or named object) instead of the newest.
  std::string snapshot;
  // Drop everything in the database's public schema first.
  bool force = false;
};

struct RecoverReport {
  std::string snapshot;  // what was restored (name or path)
  int64_t created_unix_ms = 0;
  uint64_t dump_bytes = 0;
  // Newer snapshots that could not be used, with the reason.
  std::vector<std::string> skipped;
  // Chunk references checked against the chunk store.
  bool chunks_checked = false;
  std::string chunk_store;  // described
  uint64_t chunks_referenced = 0;
  uint64_t chunks_missing = 0;
  std::vector<std::string> missing_examples;  // hex IDs, at most 10
};

// Finds the newest usable snapshot at `from`, opens it with the master key
// and restores it into the database. Errors: the key file missing or
// unreadable; NOT_FOUND when `from` holds no snapshot; FAILED_PRECONDITION
// for a snapshot of another master key or a database that is not empty
// (without `force`); DATA_LOSS when every snapshot found is damaged.
// `progress` gets one line per step.
absl::StatusOr<RecoverReport> Recover(const RecoverOptions& o,
                                      const std::function<void(const std::string&)>& progress);

}  // namespace shoebox::cli
