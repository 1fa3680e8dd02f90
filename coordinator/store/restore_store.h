// Recently deleted files and restore requests to devices (issue 22;
// migration 22, migration_deleted.cc; docs/web.md, docs/agent.md "Restore
// requests"). The PostgreSQL implementation runs each call in one
// transaction through Store::RunInTransaction; it is stateless, so callers
// may make one per call. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::coordinator {

class Store;

struct RestoreRequestRow {
  int64_t id = 0;
  std::string device;
  std::string folder;
  std::string path;
  int64_t version_id = 0;
  std::string state;  // pending | sent | done | failed | expired
  std::string reason;
  std::string requested_by;
  int64_t created_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  std::string restored_path;
};

struct DeletedRow {
  std::string device;
  std::string folder;
  std::string path;
  int64_t version_id = 0;
  int64_t deleted_unix_ms = 0;
  int64_t deleted_unix_us = 0;  // the keyset cursor (exact)
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t keep_days = 0;     // the folder's deleted_keep_days
  RestoreRequestRow restore;  // the newest request for this version (id 0: none)
};

struct DeletedQuery {
  std::vector<std::string> devices;    // empty: every device
  int64_t before_deleted_unix_us = 0;  // 0 with before_version_id 0: first page
  int64_t before_version_id = 0;
  uint32_t limit = 100;
  uint32_t default_keep_days = 90;  // folders without a retention policy
};

struct DeletedPage {
  std::vector<DeletedRow> files;
  // Where the next page starts (both 0: nothing more).
  int64_t next_before_deleted_unix_us = 0;
  int64_t next_before_version_id = 0;
};

struct RestoreOrderRow {
  int64_t request_id = 0;
  std::string folder;
  std::string path;
  int64_t version_id = 0;
};

class RestoreStore {
 public:
  // Open requests older than this expire (state expired, with the reason).
  static constexpr uint32_t kDefaultExpireDays = 7;

  // Borrows `store`, which must outlive this object. Every call first
  // expires open requests older than `expire_days`, so a request for a
  // device that never comes back shows as expired, not pending forever.
  explicit RestoreStore(Store* store, uint32_t expire_days = kDefaultExpireDays)
      : store_(store), expire_days_(expire_days) {}

  // Files whose current version is deleted and still within the folder's
  // deleted_keep_days, newest delete first, one keyset page (shorter than
  // the limit, with a cursor, when 20,000 deletions were looked at without
  // filling it: other devices' files in a member's view).
  absl::StatusOr<DeletedPage> ListDeleted(const DeletedQuery& q);

  // A request to put `version_id` (0: the file's newest) of device/folder/
  // path back on the device. NOT_FOUND for an unknown device, file or
  // version of that file; FAILED_PRECONDITION when the version cannot be
  // read from the chunk store; INVALID_ARGUMENT when `folder` is empty and
  // several folders hold `path`. An open request for the same file is
  // returned instead of a second one.
  absl::StatusOr<RestoreRequestRow> Create(const std::string& device, const std::string& folder,
                                           const std::string& path, int64_t version_id,
                                           const std::string& requested_by);

  // Newest first. `devices` / `ids` empty: any.
  absl::StatusOr<std::vector<RestoreRequestRow>> List(const std::vector<std::string>& devices,
                                                      const std::vector<int64_t>& ids,
                                                      int64_t before_id, uint32_t limit);

  // For the device's Heartbeat: marks its pending requests sent and
  // returns every open one (sent ones again: an agent that restarted
  // or lost the report does them again; a finished restore is recognised).
  absl::StatusOr<std::vector<RestoreOrderRow>> TakeOpen(const std::string& device);

  // The agent's outcome for its own request: NOT_FOUND when `request_id` is
  // not an open request of `device`. On success at the original path, a
  // still-deleted current version is marked present again (the agent then
  // reports the same content, which matches it).
  absl::StatusOr<RestoreRequestRow> Report(const std::string& device, int64_t request_id, bool ok,
                                           const std::string& reason,
                                           const std::string& restored_path);

 private:
  Store* const store_;
  const uint32_t expire_days_;
};

}  // namespace shoebox::coordinator
