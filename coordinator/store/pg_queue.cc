// The job queue (libpqxx 6.4): workers, leases, renewals, completion,
// failure with backoff, the sweep of expired leases. Admin job actions are in
// pg_jobs_admin.cc. See pg_store.h.
#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"
#include "coordinator/queue_policy.h"
#include "coordinator/store/chunk_list_format.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

namespace {

// A job state as stored (an int column).
constexpr int Stored(JobState s) { return static_cast<int>(s); }

// A delivery or verify job done: its state, and for a verify job the
// delivery it checked. A verify that found the copy missing or different is
// DONE, not DEAD (issue 18): it did its job; the delivery it checked is
// queued again as a self-healing re-delivery, which is only ever dead when
// that delivery itself exhausts its attempts. $3 (bytea) is then the
// worker's note of what it found ("missing: ...", "differs: ..."), $8 the
// same as text for the messages.
constexpr char kCompleteJobSql[] =
    "WITH j AS (UPDATE jobs SET "
    "  state = CASE WHEN kind = 6 AND NOT $6::boolean THEN 5 ELSE 3 END, "
    "  last_error = CASE WHEN kind = 2 AND NOT $6::boolean "
    "    THEN 'verify: the remote copy is missing or differs (' || $8 || "
    "'); a current version is delivered again (self-healing re-delivery)' "
    "    WHEN kind = 6 AND NOT $6::boolean THEN $8 ELSE last_error END, "
    "  remote_ref = $3, remote_size = $4, remote_checksum = $5, resume_state = ''::bytea, "
    "  finished_at = now(), updated_at = now() "
    "  WHERE id = $1 AND lease_token = $2 AND lease_owner = $7 AND state = 2 "
    "  AND lease_deadline >= now() RETURNING destination_id, kind, version_id), "
    "d AS (UPDATE destinations SET auth_failed_at = NULL, auth_error = '', "
    "  last_verified_at = CASE WHEN j.kind = 2 THEN now() ELSE last_verified_at END "
    "  FROM j WHERE destinations.id = j.destination_id "
    "  AND ((destinations.auth_failed_at IS NOT NULL AND (j.kind <> 6 OR $6::boolean)) "
    "    OR j.kind = 2)), "
    // Verify results (issue 7, docs/verify.md): a good copy marks its
    // delivery verified and updates its stored reference to what the
    // destination reports now (a new ETag, a checksum recorded again: the
    // copy is never delivered again for that); a missing or different copy
    // of the file's current version queues that delivery again.
    "ok AS (UPDATE jobs dj SET verified_at = now(), "
    "  remote_ref = CASE WHEN $3 <> '' THEN $3 ELSE dj.remote_ref END, "
    "  remote_size = CASE WHEN $3 <> '' THEN $4 ELSE dj.remote_size END, "
    "  remote_checksum = CASE WHEN $3 <> '' THEN $5 ELSE dj.remote_checksum END "
    "  FROM j WHERE j.kind = 2 "
    "  AND $6::boolean AND dj.kind = 1 AND dj.state = 3 AND dj.version_id = j.version_id "
    "  AND dj.destination_id = j.destination_id), "
    "rd AS (UPDATE jobs dj SET state = 1, attempts = 0, next_attempt_at = now(), "
    "  remote_ref = ''::bytea, remote_size = 0, remote_checksum = '', finished_at = NULL, "
    "  verified_at = NULL, updated_at = now(), "
    "  last_error = 're-delivery (self-healing): verify job ' || $1::bigint || ' found the "
    "remote copy missing or different (' || $8 || '); delivering it again' "
    "  FROM j, file_versions v, files f WHERE j.kind = 2 AND NOT $6::boolean "
    "  AND dj.kind = 1 AND dj.state = 3 AND dj.version_id = j.version_id "
    "  AND dj.destination_id = j.destination_id AND v.id = j.version_id "
    "  AND f.id = v.file_id AND f.current_version_id = v.id) "
    "SELECT count(*) FROM j";

// Leases past their deadline: back to the queue, or dead after max attempts.
constexpr char kSweepExpiredSql[] =
    "WITH e AS (SELECT id FROM jobs WHERE state = 2 AND lease_deadline < now() "
    "  ORDER BY id FOR UPDATE SKIP LOCKED) "
    "UPDATE jobs j SET state = CASE WHEN j.attempts >= $1 THEN 5 ELSE 1 END, "
    "  last_error = 'lease expired during attempt ' || j.attempts || ' (worker ' || "
    "    COALESCE((SELECT name FROM workers w WHERE w.id = j.lease_owner), '?') || ')', "
    "  finished_at = CASE WHEN j.attempts >= $1 THEN now() END, updated_at = now() "
    "FROM e WHERE j.id = e.id RETURNING j.state";

// A worker that presents another worker's lease token (issue 17).
absl::Status NotTheLeaseOwner(int64_t job_id, const char* what) {
  return absl::PermissionDeniedError(
      absl::StrCat("job ", job_id, " is leased to another worker; a worker may ", what,
                   " only jobs it leased itself (nothing was recorded)"));
}

std::string RandomToken() {
  uint8_t b[12];
  SecureRandom(b, sizeof b);
  return ToHex(ByteSpan(b, sizeof b));
}

double Jitter01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

void PrepareQueueStatements(pqxx::connection& c) {
  // The job queue: every lease, completion and sweep of every worker.
  c.prepare("find_leasable",
            "WITH w AS (UPDATE workers SET last_seen = now() WHERE id = $1 "
            "  RETURNING kinds, destinations, allowed_kinds, allowed_destinations) "
            "SELECT d.id, d.max_concurrency, d.auth_failed_at IS NOT NULL FROM destinations d, w "
            "WHERE d.kind = ANY(w.kinds) AND (cardinality(w.destinations) = 0 OR d.name = "
            "ANY(w.destinations)) AND d.paused_at IS NULL AND d.removed_at IS NULL "
            // The admin's scope (migration 10), checked at every lease so a
            // narrowed scope applies without the worker registering again.
            "AND (w.allowed_kinds IS NULL OR d.kind = ANY(w.allowed_kinds)) "
            "AND (w.allowed_destinations IS NULL OR d.name = ANY(w.allowed_destinations)) "
            "ORDER BY d.id");
  // NO KEY UPDATE: serialises leasing for the destination (and with its
  // removal) without blocking the foreign-key checks of new deliveries.
  c.prepare("lock_limited_destination",
            "SELECT max_concurrency, auth_failed_at IS NOT NULL, (last_probe_at IS NULL OR "
            "last_probe_at < now() - $2::int * interval '1 millisecond') FROM destinations "
            "WHERE id = $1 AND paused_at IS NULL AND removed_at IS NULL FOR NO KEY UPDATE");
  c.prepare("count_running", "SELECT count(*) FROM jobs WHERE destination_id = $1 AND state = 2");
  c.prepare("lease_from",
            "WITH c AS (SELECT id FROM jobs WHERE state = 1 AND destination_id = "
            "ANY($1::bigint[]) "
            // Jobs of a paused or cancelled transfer wait (issue 21).
            "AND (transfer_id IS NULL OR EXISTS (SELECT 1 FROM transfers t "
            "  WHERE t.id = jobs.transfer_id AND t.state = 'active')) "
            "ORDER BY priority DESC, id LIMIT $2 FOR UPDATE SKIP LOCKED) "
            "UPDATE jobs j SET state = 2, attempts = j.attempts + 1, lease_owner = $3, "
            "lease_token = $4 || '-' || j.id, "
            "lease_deadline = now() + $5::int * interval '1 millisecond', updated_at = now() "
            "FROM c WHERE j.id = c.id "
            "RETURNING j.id, j.kind, j.lease_token, epoch_ms(j.lease_deadline), j.attempts, "
            "j.destination_id, COALESCE(j.version_id, 0), j.remote_ref, j.priority, "
            "j.resume_state");
  c.prepare("destinations_by_id", absl::StrCat("SELECT ", kDestinationCols,
                                               " FROM destinations WHERE id = ANY($1::bigint[])"));
  c.prepare("complete_job", kCompleteJobSql);
  c.prepare("sweep_expired", kSweepExpiredSql);
  c.prepare("sweep_retry_due",
            "WITH r AS (SELECT id FROM jobs WHERE state = 4 AND "
            "next_attempt_at <= now() ORDER BY id FOR UPDATE SKIP LOCKED) "
            "UPDATE jobs j SET state = 1, updated_at = now() FROM r "
            "WHERE j.id = r.id");
}

absl::StatusOr<int64_t> PgStore::RegisterWorker(const WorkerRegistration& reg) {
  int64_t id = 0;
  RETURN_IF_ERROR(Run("register worker", TxMode::kAutocommit, [&](Tx& tx) {
    id = tx.exec_params1(
               "INSERT INTO workers (name, kinds, destinations, max_concurrency, version, "
               "last_seen) VALUES ($1, $2::text[], $3::text[], $4, $5, now()) "
               "ON CONFLICT (name) DO UPDATE SET kinds = excluded.kinds, "
               "destinations = excluded.destinations, max_concurrency = "
               "excluded.max_concurrency, version = excluded.version, last_seen = now() "
               "RETURNING id",
               reg.name, TextArray(reg.kinds), TextArray(reg.destinations),
               static_cast<int64_t>(reg.max_concurrency), reg.version)[0]
             .as<int64_t>();
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<int64_t> PgStore::FindWorker(const std::string& name) {
  int64_t id = 0;
  RETURN_IF_ERROR(Run("find worker", TxMode::kAutocommit, [&](Tx& tx) {
    pqxx::result r = tx.exec_params("SELECT id FROM workers WHERE name = $1", name);
    if (r.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "worker '", name, "' is not registered; call RegisterWorker before LeaseJobs"));
    }
    id = r[0][0].as<int64_t>();
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<WorkerScope> PgStore::GetWorkerScope(const std::string& name) {
  WorkerScope scope;
  RETURN_IF_ERROR(Run("get worker scope", TxMode::kAutocommit, [&](Tx& tx) {
    scope = WorkerScope{};
    pqxx::result r = tx.exec_params(
        "SELECT allowed_kinds IS NULL, allowed_destinations IS NULL FROM workers WHERE name = $1",
        name);
    if (r.empty()) return absl::OkStatus();
    auto list = [&](const char* column) {
      std::vector<std::string> out;
      for (const auto& row : tx.exec_params(
               absl::StrCat("SELECT x FROM workers, unnest(", column, ") x WHERE name = $1"),
               name)) {
        out.push_back(row[0].c_str());
      }
      return out;
    };
    if (!r[0][0].as<bool>()) scope.kinds = list("allowed_kinds");
    if (!r[0][1].as<bool>()) scope.destinations = list("allowed_destinations");
    return absl::OkStatus();
  }));
  return scope;
}

absl::Status PgStore::SetWorkerScope(const std::string& name, const WorkerScope& scope) {
  const std::string kinds = TextArray(scope.kinds.value_or(std::vector<std::string>()));
  const std::string dests = TextArray(scope.destinations.value_or(std::vector<std::string>()));
  return Run("set worker scope", TxMode::kAutocommit, [&](Tx& tx) {
    // A worker not registered yet gets a row with no kinds: it leases
    // nothing until it registers.
    tx.exec_params(
        "INSERT INTO workers (name, allowed_kinds, allowed_destinations) "
        "VALUES ($1, CASE WHEN $2 THEN $3::text[] END, CASE WHEN $4 THEN $5::text[] END) "
        "ON CONFLICT (name) DO UPDATE SET allowed_kinds = excluded.allowed_kinds, "
        "allowed_destinations = excluded.allowed_destinations",
        name, scope.kinds.has_value(), kinds, scope.destinations.has_value(), dests);
    return absl::OkStatus();
  });
}

absl::Status PgStore::CheckChunksLeased(int64_t worker_id, const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  return Run("check chunks leased", TxMode::kAutocommit, [&](Tx& tx) {
    // The chunk lists of the versions of the worker's live leases (a
    // worker holds at most a lease batch per slot, so few).
    std::vector<std::string> lists;
    for (const auto& row : tx.exec_params(
             "SELECT v.chunk_list FROM jobs j JOIN file_versions v ON v.id = j.version_id "
             "WHERE j.lease_owner = $1 AND j.state = 2 AND j.lease_deadline >= now()",
             worker_id)) {
      lists.push_back(Bin(row[0]));
    }
    for (const std::string& id : ids) {
      bool found = false;
      for (const std::string& list : lists) {
        ASSIGN_OR_RETURN(found, ChunkListContains(list, id));
        if (found) break;
      }
      if (!found) {
        return absl::PermissionDeniedError(absl::StrCat(
            "chunk ", ToHex(id),
            " is not part of a job this worker holds a live lease on; a worker reads only the "
            "chunks of the files of its own leases (lease the job first, or renew the lease)"));
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<LeasedJob>> PgStore::LeaseFrom(Tx& tx, const LeaseParams& p,
                                                          const std::vector<int64_t>& dests,
                                                          uint32_t limit) {
  std::vector<LeasedJob> jobs;
  if (dests.empty() || limit == 0) return jobs;
  const std::string token = RandomToken();
  std::vector<int64_t> version_ids, dest_ids;
  for (const auto& row :
       tx.exec_prepared("lease_from", NumArray(dests), static_cast<int64_t>(limit), p.worker_id,
                        token, static_cast<int64_t>(p.lease_ms))) {
    LeasedJob& j = jobs.emplace_back();
    j.job_id = row[0].as<int64_t>();
    j.kind = static_cast<JobKind>(row[1].as<int>());
    j.lease_token = row[2].c_str();
    j.lease_deadline_unix_ms = row[3].as<int64_t>();
    j.attempt = row[4].as<int64_t>();
    j.destination.id = row[5].as<int64_t>();
    j.file.version_id = row[6].as<int64_t>();
    j.remote_ref = Bin(row[7]);
    j.resume_state = Bin(row[9]);
    dest_ids.push_back(row[5].as<int64_t>());
    if (row[6].as<int64_t>() != 0) version_ids.push_back(row[6].as<int64_t>());
  }
  if (jobs.empty()) return jobs;
  std::map<int64_t, Destination> dmap;
  for (const auto& row : tx.exec_prepared("destinations_by_id", NumArray(dest_ids))) {
    DestinationFromRow(row, &dmap[row[0].as<int64_t>()]);
  }
  std::map<int64_t, FileVersion> vmap;
  if (!version_ids.empty()) {
    for (const auto& row : tx.exec_prepared("versions_by_id", NumArray(version_ids))) {
      RETURN_IF_ERROR(VersionFromRow(row, 0, &vmap[row[0].as<int64_t>()]));
    }
  }
  // Albums and capture dates of imported versions (issue 21, pg_import.cc).
  std::map<int64_t, VersionFacts> facts = LoadImportFacts(tx, version_ids);
  // Transfer jobs (issue 21): the transfer, and the item as listed.
  std::vector<int64_t> job_ids;
  for (const LeasedJob& j : jobs) {
    if (j.kind == JobKind::kTransfer || j.kind == JobKind::kTransferList) {
      job_ids.push_back(j.job_id);
    }
  }
  std::map<int64_t, std::tuple<std::string, uint64_t, int64_t>> transfer_of;
  if (!job_ids.empty()) {
    for (const auto& row : tx.exec_params(
             "SELECT j.id, t.name, COALESCE(l.size, 0), COALESCE(l.mtime_ns, 0) FROM jobs j "
             "JOIN transfers t ON t.id = j.transfer_id LEFT JOIN transfer_listing l ON "
             "l.transfer_id = j.transfer_id AND l.path = j.remote_ref AND j.kind = 4 "
             "WHERE j.id = ANY($1::bigint[])",
             NumArray(job_ids))) {
      transfer_of[row[0].as<int64_t>()] = {row[1].c_str(), row[2].as<uint64_t>(),
                                           row[3].as<int64_t>()};
    }
  }
  for (LeasedJob& j : jobs) {
    j.destination = dmap[j.destination.id];
    if (j.file.version_id != 0) j.file = vmap[j.file.version_id];
    if (auto it = facts.find(j.file.version_id); it != facts.end()) {
      j.albums = it->second.albums;
      j.capture_ns = it->second.capture_ns;
    }
    if (auto it = transfer_of.find(j.job_id); it != transfer_of.end()) {
      std::tie(j.transfer, j.transfer_size, j.transfer_mtime_ns) = it->second;
    }
  }
  std::sort(jobs.begin(), jobs.end(),
            [](const auto& a, const auto& b) { return a.job_id < b.job_id; });
  return jobs;
}

absl::StatusOr<std::vector<LeasedJob>> PgStore::LeaseJobs(const LeaseParams& p) {
  struct Eligible {
    int64_t id;
    uint32_t max_concurrency;
    bool auth_failed;
  };
  std::vector<Eligible> eligible;
  RETURN_IF_ERROR(Run("find leasable destinations", TxMode::kQueue, [&](Tx& tx) {
    eligible.clear();
    for (const auto& row : tx.exec_prepared("find_leasable", p.worker_id)) {
      eligible.push_back(Eligible{row[0].as<int64_t>(), static_cast<uint32_t>(row[1].as<int64_t>()),
                                  row[2].as<bool>()});
    }
    return absl::OkStatus();
  }));
  std::vector<LeasedJob> out;
  std::vector<int64_t> open;
  std::vector<Eligible> limited;
  for (const Eligible& e : eligible) {
    if (e.max_concurrency == 0 && !e.auth_failed) {
      open.push_back(e.id);
    } else {
      limited.push_back(e);
    }
  }
  if (!open.empty()) {
    RETURN_IF_ERROR(Run(
        "lease jobs", TxMode::kQueue,
        [&](Tx& tx) {
          ASSIGN_OR_RETURN(out, LeaseFrom(tx, p, open, p.max_jobs));
          return absl::OkStatus();
        },
        /*idempotent=*/false));
  }
  for (const Eligible& e : limited) {
    if (out.size() >= p.max_jobs) break;
    std::vector<LeasedJob> got;
    RETURN_IF_ERROR(Run(
        "lease jobs (limited destination)", TxMode::kQueue,
        [&](Tx& tx) {
          got.clear();
          // The destination row lock serialises leasing for it across
          // coordinators, so the limit holds.
          pqxx::result d = tx.exec_prepared("lock_limited_destination", e.id,
                                            static_cast<int64_t>(p.auth_probe_interval_ms));
          if (d.empty()) return absl::OkStatus();
          const int64_t running = tx.exec_prepared1("count_running", e.id)[0].as<int64_t>();
          const int64_t max_conc = d[0][0].as<int64_t>();
          const bool auth_failed = d[0][1].as<bool>();
          int64_t slots = max_conc == 0 ? p.max_jobs : max_conc - running;
          if (auth_failed) slots = (d[0][2].as<bool>() && running == 0) ? 1 : 0;
          slots = std::min<int64_t>(slots, p.max_jobs - out.size());
          if (slots <= 0) return absl::OkStatus();
          ASSIGN_OR_RETURN(got, LeaseFrom(tx, p, {e.id}, static_cast<uint32_t>(slots)));
          if (auth_failed && !got.empty()) {
            tx.exec_params("UPDATE destinations SET last_probe_at = now() WHERE id = $1", e.id);
          }
          return absl::OkStatus();
        },
        /*idempotent=*/false));
    for (auto& j : got) out.push_back(std::move(j));
  }
  return out;
}

absl::StatusOr<LeaseRenewal> PgStore::RenewLease(int64_t job_id, const std::string& token,
                                                 uint32_t lease_ms, int64_t worker_id) {
  LeaseRenewal resp;
  RETURN_IF_ERROR(Run("renew lease", TxMode::kQueue, [&](Tx& tx) {
    resp = LeaseRenewal{};
    pqxx::result r = tx.exec_params(
        "UPDATE jobs SET lease_deadline = now() + $3::int * interval '1 millisecond', "
        "updated_at = now() WHERE id = $1 AND lease_token = $2 AND lease_owner = $4 AND "
        "state = 2 AND lease_deadline >= now() RETURNING epoch_ms(lease_deadline)",
        job_id, token, static_cast<int64_t>(lease_ms), worker_id);
    if (!r.empty()) {
      resp.lease_deadline_unix_ms = r[0][0].as<int64_t>();
      return absl::OkStatus();
    }
    pqxx::result s = tx.exec_params(
        "SELECT state, lease_token = $2, lease_owner IS NOT DISTINCT FROM $3 FROM jobs "
        "WHERE id = $1",
        job_id, token, worker_id);
    if (s.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
    if (s[0][1].as<bool>() && !s[0][2].as<bool>()) return NotTheLeaseOwner(job_id, "renew");
    if (s[0][0].as<int>() == Stored(JobState::kCancelled) && s[0][1].as<bool>()) {
      resp.cancelled = true;
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, ": the lease was lost or expired; stop working on it and lease again"));
  }));
  return resp;
}

absl::Status PgStore::SaveResumeState(int64_t job_id, const std::string& token, int64_t worker_id,
                                      const std::string& state) {
  return Run("save resume state", TxMode::kAutocommit, [&](Tx& tx) {
    pqxx::result r = tx.exec_params(
        "UPDATE jobs SET resume_state = $3, updated_at = now() WHERE id = $1 AND "
        "lease_token = $2 AND lease_owner = $4 AND state = 2 AND lease_deadline >= now() "
        "RETURNING id",
        job_id, token, BinParam(state), worker_id);
    if (!r.empty()) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, ": the lease was lost or expired; stop working on it and lease again"));
  });
}

absl::Status PgStore::UpdateLeasedDestinationCredentials(int64_t job_id, const std::string& token,
                                                         int64_t worker_id, int64_t destination_id,
                                                         const std::string& sealed) {
  return Run("update destination credentials", TxMode::kAutocommit, [&](Tx& tx) {
    // Only the job's own destination, only under a current lease, never a
    // removed destination (whose credentials were wiped).
    pqxx::result r = tx.exec_params(
        "UPDATE destinations d SET sealed_credentials = $4 FROM jobs j "
        "WHERE j.id = $1 AND j.lease_token = $2 AND j.lease_owner = $5 AND j.state = 2 AND "
        "j.lease_deadline >= now() AND j.destination_id = $3 AND d.id = $3 AND "
        "d.removed_at IS NULL RETURNING d.id",
        job_id, token, destination_id, BinParam(sealed), worker_id);
    if (!r.empty()) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        "job ", job_id, ": the caller holds no current lease on a job of destination ",
        destination_id, "; only a worker running one of its jobs may store its credentials"));
  });
}

namespace {
// One completion inside the caller's transaction (CompleteJob, CompleteJobs).
absl::Status CompleteInTx(Tx& tx, const JobCompletion& req) {
  // remote_ref is bytea (migration 11): byte-exact, non-UTF-8 names
  // included; $8 is its text for a failed connection check's last_error.
  pqxx::result r =
      tx.exec_prepared("complete_job", req.job_id, req.lease_token, BinParam(req.remote_ref),
                       static_cast<int64_t>(req.remote_size), req.remote_checksum, req.verified_ok,
                       req.worker_id, Utf8Text(req.remote_ref));
  if (r[0][0].as<int64_t>() == 1) return absl::OkStatus();
  pqxx::result s = tx.exec_params(
      "SELECT state, lease_token = $2, lease_owner IS NOT DISTINCT FROM $3 FROM jobs "
      "WHERE id = $1",
      req.job_id, req.lease_token, req.worker_id);
  if (s.empty()) {
    return absl::NotFoundError(absl::StrCat("job ", req.job_id, " does not exist"));
  }
  const int state = s[0][0].as<int>();
  if (s[0][1].as<bool>() && !s[0][2].as<bool>()) return NotTheLeaseOwner(req.job_id, "complete");
  const bool mine = s[0][1].as<bool>();
  if (mine && (state == Stored(JobState::kDone) || state == Stored(JobState::kDead))) {
    return absl::OkStatus();  // completed before with this lease
  }
  if (mine && state == Stored(JobState::kCancelled)) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", req.job_id, " was cancelled by an admin; drop it"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "job ", req.job_id,
      ": the lease was lost or expired and the job went back to the queue; drop the result"));
}
}  // namespace

absl::Status PgStore::CompleteJob(const JobCompletion& req) {
  return Run("complete job", TxMode::kQueue, [&](Tx& tx) { return CompleteInTx(tx, req); });
}

// Issue 23: a worker's batch in one transaction (one commit, one WAL flush,
// instead of one per job). Each entry is judged alone; a database error
// aborts (and Run retries) the whole batch.
absl::StatusOr<std::vector<absl::Status>> PgStore::CompleteJobs(
    const std::vector<JobCompletion>& batch) {
  std::vector<absl::Status> out;
  RETURN_IF_ERROR(Run("complete jobs", TxMode::kQueue, [&](Tx& tx) {
    out.clear();
    out.reserve(batch.size());
    for (const JobCompletion& c : batch) out.push_back(CompleteInTx(tx, c));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<FailOutcome> PgStore::FailJob(const FailParams& p) {
  FailOutcome resp;
  RETURN_IF_ERROR(Run("fail job", TxMode::kQueue, [&](Tx& tx) {
    resp = FailOutcome{};
    pqxx::result r = tx.exec_params(
        "SELECT state, attempts, lease_token = $2, lease_deadline >= now(), destination_id, "
        "epoch_ms(next_attempt_at), lease_owner IS NOT DISTINCT FROM $3 FROM jobs "
        "WHERE id = $1 FOR UPDATE",
        p.job_id, p.lease_token, p.worker_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("job ", p.job_id, " does not exist"));
    // Another worker's lease: no failure is recorded, no destination paused.
    if (r[0][2].as<bool>() && !r[0][6].as<bool>()) return NotTheLeaseOwner(p.job_id, "fail");
    const int state = r[0][0].as<int>();
    const int64_t attempts = r[0][1].as<int64_t>();
    const bool mine = r[0][2].as<bool>();
    const bool live = !r[0][3].is_null() && r[0][3].as<bool>();
    const int64_t dest = r[0][4].as<int64_t>();
    if (mine && (state == Stored(JobState::kCancelled) || state == Stored(JobState::kRetryWait) ||
                 state == Stored(JobState::kDead))) {
      // Cancelled meanwhile, or this failure was recorded already.
      resp.state = static_cast<JobState>(state);
      if (state == Stored(JobState::kRetryWait)) resp.next_attempt_unix_ms = r[0][5].as<int64_t>();
      return absl::OkStatus();
    }
    if (!mine || !live || state != Stored(JobState::kLeased)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", p.job_id, ": the lease was lost or expired; the failure is not recorded"));
    }
    if (p.auth_failure || p.not_started) {
      if (p.auth_failure) {
        tx.exec_params(
            "UPDATE destinations SET auth_failed_at = COALESCE(auth_failed_at, now()), "
            "auth_error = $2, last_probe_at = now() WHERE id = $1",
            dest, p.error);
      }
      // Not the job's fault: the attempt is not counted and the job is
      // queued again (after an auth failure it waits there until the
      // destination accepts credentials again).
      tx.exec_params(
          "UPDATE jobs SET state = 1, attempts = greatest(attempts - 1, 0), last_error = $2, "
          "updated_at = now() WHERE id = $1",
          p.job_id, p.error);
      resp.state = JobState::kQueued;
      return absl::OkStatus();
    }
    if (!p.retryable || (attempts >= p.max_attempts && !p.throttled)) {
      tx.exec_params(
          "UPDATE jobs SET state = 5, last_error = $2, finished_at = now(), updated_at = now() "
          "WHERE id = $1",
          p.job_id, p.retryable ? p.error : absl::StrCat(p.error, " (permanent)"));
      resp.state = JobState::kDead;
      return absl::OkStatus();
    }
    uint64_t delay = BackoffDelayMs(static_cast<uint32_t>(attempts), p.backoff_base_ms,
                                    p.backoff_max_ms, Jitter01());
    if (p.retry_after_ms > 0) delay = std::min<uint64_t>(p.retry_after_ms, 24ull * 3600 * 1000);
    // A throttled attempt is not counted: the service, not the job, failed.
    pqxx::row u = tx.exec_params1(
        "UPDATE jobs SET state = 4, last_error = $2, next_attempt_at = now() + $3::bigint * "
        "interval '1 millisecond', attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) "
        "ELSE attempts END, updated_at = now() WHERE id = $1 "
        "RETURNING epoch_ms(next_attempt_at)",
        p.job_id, p.error, static_cast<int64_t>(delay), p.throttled);
    resp.state = JobState::kRetryWait;
    resp.next_attempt_unix_ms = u[0].as<int64_t>();
    return absl::OkStatus();
  }));
  return resp;
}

absl::StatusOr<SweepResult> PgStore::Sweep(uint32_t max_attempts) {
  SweepResult res;
  RETURN_IF_ERROR(Run("sweep leases", TxMode::kQueue, [&](Tx& tx) {
    res = SweepResult{};
    for (const auto& row : tx.exec_prepared("sweep_expired", static_cast<int64_t>(max_attempts))) {
      if (row[0].as<int>() == Stored(JobState::kDead)) {
        ++res.dead;
      } else {
        ++res.requeued;
      }
    }
    res.retry_due = tx.exec_prepared("sweep_retry_due").affected_rows();
    return absl::OkStatus();
  }));
  return res;
}

}  // namespace shoebox::coordinator::pg
