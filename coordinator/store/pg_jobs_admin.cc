// What admins do with jobs (libpqxx 6.4): list, cancel, retry, reprioritise,
// count per state. See pg_store.h.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "coordinator/queue_policy.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

namespace {

std::string SelectorWhere() {
  return "(cardinality($1::bigint[]) = 0 OR j.id = ANY($1::bigint[])) "
         "AND ($2::text = '' OR j.destination_id = (SELECT id FROM destinations WHERE name = "
         "$2::text)) "
         "AND (cardinality($3::int[]) = 0 OR j.state = ANY($3::int[]))";
}

// Job states as stored (int[] parameters).
std::vector<int> StoredStates(const std::vector<JobState>& states) {
  std::vector<int> out;
  out.reserve(states.size());
  for (JobState s : states) out.push_back(static_cast<int>(s));
  return out;
}

}  // namespace

absl::Status PgStore::CheckSelectorDestination(const JobSelection& sel) {
  if (sel.destination.empty()) return absl::OkStatus();
  return Run("find destination", TxMode::kAutocommit, [&](Tx& tx) {
    if (tx.exec_params("SELECT 1 FROM destinations WHERE name = $1", sel.destination).empty()) {
      return absl::NotFoundError(
          absl::StrCat("destination: no destination named '", sel.destination, "'"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<JobRow>> PgStore::ListJobs(const JobFilter& req,
                                                      uint32_t worker_stale_ms) {
  std::vector<JobRow> out;
  const uint32_t limit = req.limit == 0 ? 1000 : std::min<uint32_t>(req.limit, 100000);
  const std::vector<int> states = StoredStates(req.states);
  RETURN_IF_ERROR(Run("list jobs", TxMode::kTransaction, [&](Tx& tx) {
    out.clear();
    auto facts = LoadDestFacts(tx, worker_stale_ms);
    pqxx::result r = tx.exec_params(
        "SELECT j.id, j.kind, j.state, j.destination_id, COALESCE(dev.name, ''), "
        "COALESCE(f.path, ''::bytea), j.attempts, j.last_error, epoch_ms(j.next_attempt_at), "
        "epoch_ms(j.created_at), j.priority "
        "FROM jobs j JOIN destinations d ON d.id = j.destination_id "
        "LEFT JOIN devices dev ON dev.id = j.device_id "
        "LEFT JOIN file_versions v ON v.id = j.version_id "
        "LEFT JOIN files f ON f.id = v.file_id "
        "WHERE (cardinality($1::int[]) = 0 OR j.state = ANY($1::int[])) "
        "AND ($2::text = '' OR d.name = $2::text) AND j.id > $4 ORDER BY j.id LIMIT $3",
        NumArray(states), req.destination, static_cast<int64_t>(limit), req.after_job_id);
    for (const auto& row : r) {
      JobRow& j = out.emplace_back();
      j.job_id = row[0].as<int64_t>();
      j.kind = static_cast<JobKind>(row[1].as<int>());
      j.state = static_cast<JobState>(row[2].as<int>());
      const DestFacts& d = facts[row[3].as<int64_t>()];
      j.destination = d.name;
      j.device = row[4].c_str();
      j.path = Bin(row[5]);
      j.attempts = row[6].as<int64_t>();
      j.last_error = row[7].c_str();
      j.next_attempt_unix_ms = row[8].as<int64_t>();
      j.created_unix_ms = row[9].as<int64_t>();
      j.priority = row[10].as<int>();
      WaitFacts w = MakeWaitFacts(j.state, j.attempts, j.last_error, j.next_attempt_unix_ms, d);
      w.job_id = j.job_id;  // hints name this job: `shoebox retry --job ID`
      j.waiting_reason = WaitingReason(w);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> PgStore::CancelJobs(const JobSelection& sel) {
  uint64_t n = 0;
  RETURN_IF_ERROR(CheckSelectorDestination(sel));
  const std::vector<int64_t>& ids = sel.job_ids;
  const std::vector<int> states = StoredStates(sel.states);
  RETURN_IF_ERROR(Run("cancel jobs", TxMode::kAutocommit, [&](Tx& tx) {
    n = tx.exec_params(absl::StrCat("UPDATE jobs j SET state = 6, finished_at = now(), "
                                    "updated_at = now() WHERE ",
                                    SelectorWhere(), " AND j.state IN (1, 2, 4, 5)"),
                       NumArray(ids), sel.destination, NumArray(states))
            .affected_rows();
    return absl::OkStatus();
  }));
  return n;
}

absl::StatusOr<uint64_t> PgStore::SetJobPriority(const JobSelection& sel, int32_t priority) {
  uint64_t n = 0;
  RETURN_IF_ERROR(CheckSelectorDestination(sel));
  const std::vector<int64_t>& ids = sel.job_ids;
  const std::vector<int> states = StoredStates(sel.states);
  RETURN_IF_ERROR(Run("set job priority", TxMode::kTransaction, [&](Tx& tx) {
    n = tx.exec_params(
              absl::StrCat("UPDATE jobs j SET priority = $4::int, updated_at = now() WHERE ",
                           SelectorWhere(), " AND j.state IN (1, 2, 4)"),
              NumArray(ids), sel.destination, NumArray(states), priority)
            .affected_rows();
    return absl::OkStatus();
  }));
  return n;
}

absl::StatusOr<uint64_t> PgStore::RetryJobs(const JobSelection& sel) {
  uint64_t n = 0;
  RETURN_IF_ERROR(CheckSelectorDestination(sel));
  const std::vector<int64_t>& ids = sel.job_ids;
  const std::vector<int> states = StoredStates(sel.states);
  RETURN_IF_ERROR(Run("retry jobs", TxMode::kTransaction, [&](Tx& tx) {
    // An admin retry also lifts an authentication pause of the
    // destinations concerned.
    tx.exec_params(
        "UPDATE destinations SET auth_failed_at = NULL, auth_error = '', last_probe_at = NULL "
        "WHERE auth_failed_at IS NOT NULL AND ($2::text = '' OR name = $2::text) AND "
        "(cardinality($1::bigint[]) = 0 OR id IN (SELECT destination_id FROM jobs WHERE id = "
        "ANY($1::bigint[])))",
        NumArray(ids), sel.destination);
    n = tx.exec_params(absl::StrCat("UPDATE jobs j SET state = 1, attempts = 0, "
                                    "next_attempt_at = now(), finished_at = NULL, "
                                    "updated_at = now() WHERE ",
                                    SelectorWhere(), " AND j.state IN (4, 5, 6)"),
                       NumArray(ids), sel.destination, NumArray(states))
            .affected_rows();
    return absl::OkStatus();
  }));
  return n;
}

absl::StatusOr<std::vector<uint64_t>> PgStore::JobCountsByState() {
  std::vector<uint64_t> out;
  RETURN_IF_ERROR(Run("count jobs", TxMode::kAutocommit, [&](Tx& tx) {
    out.assign(7, 0);
    for (const auto& row : tx.exec("SELECT state, count(*) FROM jobs GROUP BY state")) {
      const int s = row[0].as<int>();
      if (s >= 0 && s < 7) out[s] = row[1].as<int64_t>();
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace shoebox::coordinator::pg
