#include "coordinator/store/snapshot_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

absl::StatusOr<uint64_t> QueueSnapshotCopies(Store* store, const std::string& name, uint32_t keep) {
  uint64_t queued = 0;
  const std::string ref = absl::StrCat(name, "#keep=", keep);
  absl::Status st = store->RunInTransaction("queue catalog snapshot copies", [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "UPDATE jobs SET state = $2, finished_at = now(), updated_at = now(), "
        "last_error = 'replaced by a newer catalog snapshot' WHERE kind = $1 AND state IN ($3, $4)",
        static_cast<int>(v1::JOB_KIND_SNAPSHOT), static_cast<int>(v1::JOB_STATE_CANCELLED),
        static_cast<int>(v1::JOB_STATE_QUEUED), static_cast<int>(v1::JOB_STATE_RETRY_WAIT));
    queued = tx.exec_params(
                   "INSERT INTO jobs (kind, state, destination_id, remote_ref) "
                   "SELECT $1, $2, d.id, $3 FROM destinations d "
                   "WHERE d.kind IN ('local', 's3', 'webdav', 'sftp') ORDER BY d.id",
                   static_cast<int>(v1::JOB_KIND_SNAPSHOT), static_cast<int>(v1::JOB_STATE_QUEUED), ref)
                 .affected_rows();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return queued;
}

}  // namespace shoebox::coordinator
