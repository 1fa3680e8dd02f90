#include "coordinator/store/snapshot_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "coordinator/store/model.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

absl::StatusOr<uint64_t> PgSnapshotStore::QueueSnapshotCopies(const std::string& name,
                                                              uint32_t keep) {
  uint64_t queued = 0;
  const std::string ref = absl::StrCat(name, "#keep=", keep);
  absl::Status st =
      store_->RunInTransaction("queue catalog snapshot copies", [&](pqxx::transaction_base& tx) {
        tx.exec_params(
            "UPDATE jobs SET state = $2, finished_at = now(), updated_at = now(), "
            "last_error = 'replaced by a newer catalog snapshot' WHERE kind = $1 AND state IN ($3, "
            "$4)",
            static_cast<int>(JobKind::kSnapshot), static_cast<int>(JobState::kCancelled),
            static_cast<int>(JobState::kQueued), static_cast<int>(JobState::kRetryWait));
        queued =
            tx.exec_params(
                  "INSERT INTO jobs (kind, state, destination_id, remote_ref) "
                  "SELECT $1, $2, d.id, convert_to($3, 'UTF8') FROM destinations d "
                  "WHERE d.kind IN ('local', 's3', 'webdav', 'sftp') AND d.removed_at IS NULL "
                  "ORDER BY d.id",
                  static_cast<int>(JobKind::kSnapshot), static_cast<int>(JobState::kQueued), ref)
                .affected_rows();
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return queued;
}

}  // namespace shoebox::coordinator
