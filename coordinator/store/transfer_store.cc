// The transfers' SQL (libpqxx 6.4). See transfer_store.h; the schema is
// migration 18 (migrations.cc). Job kinds and states use the numbers of
// shoebox.v1.JobKind / JobState: 4 fetch, 7 list; 1 queued, 2 leased,
// 3 done, 4 waiting for a retry, 5 dead, 6 cancelled.
#include "coordinator/store/transfer_store.h"

#include <map>
#include <utility>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/queue_policy.h"
#include "coordinator/retention_policy.h"
#include "coordinator/store/pg_codec.h"
#include "coordinator/store/pg_store.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

namespace {

using pg::Bin;
using pg::BinParam;
using pg::ByteaArray;
using pg::DestFacts;
using pg::Int8Arr;
using pg::LoadDestFacts;
using pg::MakeWaitFacts;
using pg::TextArray;
using pg::Tx;

constexpr int kList = 7;

// The counts come from transfer_fetch_counts and status_delivery_counts
// (counters kept by triggers, migrations 21 and 14) and index ranges bounded
// by what is waiting or by the rate window, never from a scan of the
// transfer's jobs (docs/transfers.md "Status", with EXPLAIN figures).
constexpr char kTransferCols[] =
    "SELECT t.id, t.name, d.name, d.kind, t.pass_through, t.since_ms, t.state, "
    "epoch_ms(t.created_at), epoch_ms(t.last_listed_at), t.listed_items, "
    "fc.done, fc.done_bytes, fc.pending, fc.dead, fc.retrying, "
    "d.paused_at IS NOT NULL, d.auth_failed_at IS NOT NULL, d.auth_error, "
    "COALESCE((SELECT j.last_error FROM jobs j WHERE j.transfer_id = t.id AND j.kind IN (4, 7) "
    "  AND j.state = 4 ORDER BY j.updated_at DESC LIMIT 1), ''), t.device_id, d.id "
    "FROM transfers t JOIN destinations d ON d.id = t.source_id "
    "CROSS JOIN LATERAL (SELECT "
    "  COALESCE(sum(c.items) FILTER (WHERE c.state = 3), 0) AS done, "
    "  COALESCE(sum(c.bytes) FILTER (WHERE c.state = 3), 0) AS done_bytes, "
    "  COALESCE(sum(c.items) FILTER (WHERE c.state IN (1, 2, 4)), 0) AS pending, "
    "  COALESCE(sum(c.items) FILTER (WHERE c.state = 5), 0) AS dead, "
    "  COALESCE(sum(c.items) FILTER (WHERE c.state = 4), 0) AS retrying "
    "  FROM transfer_fetch_counts c WHERE c.transfer_id = t.id) fc ";

// Why jobs of destination `d` wait when no job of theirs is in a backoff:
// only the destination-wide reasons (paused, credentials refused, no worker,
// at its concurrency limit); "" otherwise (its jobs are moving).
std::string DestinationWaiting(const DestFacts& d) {
  if (d.paused_ms == 0 && d.auth_failed_ms == 0 && d.serving != 0 &&
      (d.max_concurrency == 0 || d.running < d.max_concurrency)) {
    return "";
  }
  return WaitingReason(MakeWaitFacts(JobState::kQueued, 0, "", 0, d));
}

// The backoff reason of the job of `r` (attempts, last_error, next attempt).
std::string BackoffWaiting(const pqxx::row& r, const DestFacts& d) {
  WaitFacts w =
      MakeWaitFacts(JobState::kRetryWait, r[0].as<uint32_t>(), r[1].c_str(), r[2].as<int64_t>(), d);
  w.job_id = r[3].as<int64_t>();
  return WaitingReason(w);
}

// The live workers of the last two minutes serve a destination (as the
// notifier's default, notify/notifier.h).
constexpr uint32_t kWorkerStaleMs = 120000;

std::vector<TransferRow> LoadTransfers(Tx& tx, const std::string* name) {
  pqxx::result r = name == nullptr
                       ? tx.exec(absl::StrCat(kTransferCols, "ORDER BY t.name"))
                       : tx.exec_params(absl::StrCat(kTransferCols, "WHERE t.name = $1"), *name);
  std::vector<TransferRow> out;
  if (r.empty()) return out;
  std::map<int64_t, DestFacts> facts = LoadDestFacts(tx, kWorkerStaleMs);
  for (const auto& row : r) {
    TransferRow& t = out.emplace_back();
    t.id = row[0].as<int64_t>();
    t.spec.name = row[1].c_str();
    t.spec.source = row[2].c_str();
    t.source_kind = row[3].c_str();
    t.spec.pass_through = row[4].as<bool>();
    t.spec.since_ms = row[5].as<int64_t>();
    t.state = row[6].c_str();
    t.created_unix_ms = row[7].as<int64_t>();
    t.last_listed_unix_ms = row[8].as<int64_t>();
    t.items_found = row[9].as<uint64_t>();
    t.items_fetched = row[10].as<uint64_t>();
    t.bytes_fetched = row[11].as<uint64_t>();
    t.items_pending = row[12].as<uint64_t>();
    t.items_failed = row[13].as<uint64_t>();
    t.items_retrying = row[14].as<uint64_t>();
    if (row[15].as<bool>()) t.source_paused = "paused";
    if (row[16].as<bool>()) t.source_auth_error = row[17].c_str();
    t.retry_error = row[18].c_str();
    const int64_t device_id = row[19].as<int64_t>();
    const DestFacts& src = facts[row[20].as<int64_t>()];
    // The rate window: a range of jobs_transfer_done.
    pqxx::row w = tx.exec_params1(
        "SELECT count(*), COALESCE(sum(remote_size), 0), COALESCE(EXTRACT(EPOCH FROM now() - "
        "  GREATEST(now() - $2::int * interval '1 second', min(created_at)))::float8, 0) "
        "FROM jobs WHERE transfer_id = $1 AND kind = 4 AND state = 3 "
        "AND finished_at > now() - $2::int * interval '1 second'",
        t.id, kTransferRateWindowS);
    t.window_items = w[0].as<uint64_t>();
    t.window_bytes = w[1].as<uint64_t>();
    t.window_s = w[2].as<double>();
    // The source: the transfer's job in a backoff that goes next (a
    // budget, Retry-After or error), else the destination-wide reasons.
    pqxx::result back = tx.exec_params(
        "SELECT attempts, last_error, epoch_ms(next_attempt_at), id FROM jobs "
        "WHERE transfer_id = $1 AND kind IN (4, 7) AND state = 4 "
        "ORDER BY next_attempt_at LIMIT 1",
        t.id);
    if (!back.empty()) {
      t.source_waiting = BackoffWaiting(back[0], src);
    } else if (t.items_pending > 0 ||
               !tx.exec_params("SELECT 1 FROM jobs WHERE transfer_id = $1 AND kind = 7 "
                               "AND state = 1 LIMIT 1",
                               t.id)
                    .empty()) {
      t.source_waiting = DestinationWaiting(src);
    }
    // Deliveries of the transfer's device per bound destination, from the
    // status counters (state 3 done, 1/2/4 pending, 5 dead).
    for (const auto& d : tx.exec_params(
             "SELECT dst.name, dst.id, "
             "  COALESCE(sum(s.files) FILTER (WHERE s.state = 3), 0), "
             "  COALESCE(sum(s.files) FILTER (WHERE s.state IN (1, 2, 4)), 0), "
             "  COALESCE(sum(s.bytes) FILTER (WHERE s.state = 3), 0), "
             "  COALESCE(sum(s.files) FILTER (WHERE s.state = 5), 0) "
             "FROM (SELECT DISTINCT destination_id FROM bindings WHERE device_id = $1) b "
             "JOIN destinations dst ON dst.id = b.destination_id "
             "LEFT JOIN status_delivery_counts s ON s.destination_id = b.destination_id "
             "  AND s.device_id = $1 "
             "GROUP BY dst.name, dst.id ORDER BY dst.name",
             device_id)) {
      t.spec.targets.push_back(d[0].c_str());
      TransferTargetRow& x = t.targets.emplace_back();
      x.destination = d[0].c_str();
      x.delivered = d[2].as<uint64_t>();
      x.pending = d[3].as<uint64_t>();
      x.delivered_bytes = d[4].as<uint64_t>();
      x.failed = d[5].as<uint64_t>();
      if (x.pending == 0) continue;
      const DestFacts& df = facts[d[1].as<int64_t>()];
      // A delivery of this device in a backoff (jobs_retry: the jobs in a
      // backoff, in the order they go again), else destination-wide.
      pqxx::result db = tx.exec_params(
          "SELECT attempts, last_error, epoch_ms(next_attempt_at), id FROM jobs "
          "WHERE state = 4 AND destination_id = $1 AND device_id = $2 AND kind = 1 "
          "ORDER BY next_attempt_at LIMIT 1",
          d[1].as<int64_t>(), device_id);
      x.waiting = db.empty() ? DestinationWaiting(df) : BackoffWaiting(db[0], df);
    }
  }
  return out;
}

absl::StatusOr<TransferRow> LoadOne(Tx& tx, const std::string& name) {
  std::vector<TransferRow> rows = LoadTransfers(tx, &name);
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "transfer '", PrintablePath(name), "' does not exist; `shoebox transfer list` lists them"));
  }
  return std::move(rows[0]);
}

// Queues a list job for transfer `id` unless one is unfinished.
void QueueList(Tx& tx, int64_t id) {
  tx.exec_params(
      "INSERT INTO jobs (kind, state, destination_id, transfer_id) "
      "SELECT 7, 1, t.source_id, t.id FROM transfers t WHERE t.id = $1 AND NOT EXISTS "
      "(SELECT 1 FROM jobs j WHERE j.transfer_id = t.id AND j.kind = 7 AND j.state IN (1, 2, 4))",
      id);
}

// The transfer of the caller's current lease on a job of `kind`:
// (transfer id, source destination id, since_ms, state, name).
struct LeasedRow {
  int64_t transfer_id = 0;
  int64_t source_id = 0;
  int64_t since_ms = 0;
  std::string state;
  std::string name;
};
// Albums as stored in transfer_listing.albums: each title followed by NUL.
std::string JoinAlbums(const std::vector<std::string>& albums) {
  std::string out;
  for (const std::string& a : albums) {
    out += a;
    out.push_back('\0');
  }
  return out;
}
std::vector<std::string> SplitAlbums(const std::string& joined) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < joined.size(); ++i) {
    if (joined[i] == '\0') {
      out.push_back(joined.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

absl::StatusOr<LeasedRow> CheckLease(Tx& tx, const TransferLease& l, bool lock) {
  pqxx::result r = tx.exec_params(
      absl::StrCat("SELECT t.id, j.destination_id, t.since_ms, t.state, t.name FROM jobs j "
                   "JOIN transfers t ON t.id = j.transfer_id WHERE j.id = $1 AND "
                   "j.lease_token = $2 AND j.lease_owner = $3 AND j.state = 2 AND "
                   "j.lease_deadline >= now() AND j.kind = $4",
                   lock ? " FOR UPDATE OF t" : ""),
      l.job_id, l.token, l.worker_id, l.kind);
  if (r.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("job ", l.job_id,
                     ": the caller holds no current lease on a transfer job of this kind; only "
                     "the worker running it may report for it (nothing was recorded)"));
  }
  return LeasedRow{r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), r[0][2].as<int64_t>(),
                   r[0][3].c_str(), r[0][4].c_str()};
}

}  // namespace

absl::StatusOr<TransferRow> PgTransferStore::AddTransfer(
    const TransferSpec& spec, const std::function<bool(const std::string&)>& can_list) {
  TransferRow out;
  RETURN_IF_ERROR(store_->RunInTransaction("add transfer", [&](Tx& tx) -> absl::Status {
    const std::string name = PrintablePath(spec.name);
    if (!tx.exec_params("SELECT 1 FROM transfers WHERE name = $1", spec.name).empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "transfer '", name, "' exists already; choose another name (`shoebox transfer list`)"));
    }
    pqxx::result dev = tx.exec_params("SELECT hostname FROM devices WHERE name = $1", spec.name);
    if (!dev.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "name '", name, "' is in use by device '", name, "' (host ", dev[0][0].c_str(),
          "); a transfer's items go to a device of its name: choose another name"));
    }
    pqxx::result src = tx.exec_params(
        "SELECT id, kind FROM destinations WHERE name = $1 AND removed_at IS NULL", spec.source);
    if (src.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "source: no destination named '", PrintablePath(spec.source),
          "'; add it first with `shoebox dest add NAME --kind ...` (`shoebox dest list`)"));
    }
    const int64_t source_id = src[0][0].as<int64_t>();
    const std::string kind = src[0][1].c_str();
    if (!can_list(kind)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "source '", PrintablePath(spec.source), "' is of kind ", kind,
          ", which cannot be read as a transfer source yet (sources: local, s3, webdav, sftp, "
          "rclone, dropbox, onedrive, gdrive, flickr, smugmug, gphotos)"));
    }
    std::vector<int64_t> target_ids;
    for (const std::string& t : spec.targets) {
      if (t == spec.source) {
        return absl::FailedPreconditionError(
            absl::StrCat("--to names the source '", PrintablePath(t),
                         "': a transfer cannot deliver into the destination it reads"));
      }
      pqxx::result d =
          tx.exec_params("SELECT id FROM destinations WHERE name = $1 AND removed_at IS NULL", t);
      if (d.empty()) {
        return absl::NotFoundError(absl::StrCat("--to: no destination named '", PrintablePath(t),
                                                "'; add it first with `shoebox dest add`"));
      }
      target_ids.push_back(d[0][0].as<int64_t>());
    }
    const int64_t device_id =
        tx.exec_params1(
              "INSERT INTO devices (name, hostname, agent_version, last_seen) "
              "VALUES ($1, 'import', 'shoebox transfer', now()) RETURNING id",
              spec.name)[0]
            .as<int64_t>();
    const int64_t folder_id =
        tx.exec_params1("INSERT INTO folders (device_id, root) VALUES ($1, $2) RETURNING id",
                        device_id, BinParam("/" + spec.name))[0]
            .as<int64_t>();
    tx.exec_params(
        "INSERT INTO bindings (device_id, folder_id, destination_id) "
        "SELECT DISTINCT $1::bigint, NULL::bigint, d FROM unnest($2::bigint[]) d",
        device_id, Int8Arr(target_ids));
    if (spec.pass_through) {
      const RetentionPolicy p = DefaultRetentionPolicy();
      tx.exec_params(
          "INSERT INTO retention_policies (folder_id, keep_all_days, keep_daily, keep_weekly, "
          "keep_monthly, keep_yearly, deleted_keep_days, pass_through) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, true)",
          folder_id, static_cast<int64_t>(p.keep_all_days), static_cast<int64_t>(p.keep_daily),
          static_cast<int64_t>(p.keep_weekly), static_cast<int64_t>(p.keep_monthly),
          static_cast<int64_t>(p.keep_yearly), static_cast<int64_t>(p.deleted_keep_days));
    }
    const int64_t id = tx.exec_params1(
                             "INSERT INTO transfers (name, source_id, device_id, pass_through, "
                             "since_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                             spec.name, source_id, device_id, spec.pass_through, spec.since_ms)[0]
                           .as<int64_t>();
    QueueList(tx, id);
    ASSIGN_OR_RETURN(out, LoadOne(tx, spec.name));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<TransferRow>> PgTransferStore::ListTransfers() {
  std::vector<TransferRow> out;
  RETURN_IF_ERROR(store_->RunInTransaction("list transfers", [&](Tx& tx) {
    out = LoadTransfers(tx, nullptr);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<TransferRow> PgTransferStore::SetTransferState(const std::string& name,
                                                              const std::string& state) {
  TransferRow out;
  RETURN_IF_ERROR(store_->RunInTransaction("set transfer state", [&](Tx& tx) -> absl::Status {
    pqxx::result r =
        tx.exec_params("SELECT id, state FROM transfers WHERE name = $1 FOR UPDATE", name);
    if (r.empty()) {
      return absl::NotFoundError(
          absl::StrCat("transfer '", PrintablePath(name),
                       "' does not exist; `shoebox transfer list` lists them"));
    }
    const int64_t id = r[0][0].as<int64_t>();
    const std::string current = r[0][1].c_str();
    if (current == "cancelled" && state != "cancelled") {
      return absl::FailedPreconditionError(
          absl::StrCat("transfer '", PrintablePath(name),
                       "' was cancelled, which is final; its fetched items stay in its device. "
                       "Add a new transfer (under another name) to read the source again"));
    }
    tx.exec_params("UPDATE transfers SET state = $2, changed_at = now() WHERE id = $1", id, state);
    if (state == "cancelled") {
      // Running jobs learn it at their next lease renewal.
      tx.exec_params(
          "UPDATE jobs SET state = 6, finished_at = now(), updated_at = now(), "
          "last_error = 'the transfer was cancelled' WHERE transfer_id = $1 AND state IN (1, 2, 4)",
          id);
    } else if (state == "active") {
      QueueList(tx, id);
    }
    ASSIGN_OR_RETURN(out, LoadOne(tx, name));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ListingOutcome> PgTransferStore::ApplyListing(
    const TransferLease& lease,
    const std::function<void(const std::vector<ListingEntry>&, int64_t, std::vector<ListingEntry>*,
                             std::vector<ListingEntry>*, ListingOutcome*)>& diff,
    const std::string* next_cursor) {
  ListingOutcome out;
  RETURN_IF_ERROR(store_->RunInTransaction("apply transfer listing", [&](Tx& tx) -> absl::Status {
    out = ListingOutcome{};
    TransferLease l = lease;
    l.kind = kList;
    ASSIGN_OR_RETURN(LeasedRow t, CheckLease(tx, l, /*lock=*/true));
    if (t.state == "cancelled") {
      return absl::FailedPreconditionError(absl::StrCat(
          "transfer '", PrintablePath(t.name), "' was cancelled; its listing is not applied"));
    }
    std::vector<ListingEntry> previous;
    for (const auto& row : tx.exec_params("SELECT path, size, mtime_ns, etag FROM transfer_listing "
                                          "WHERE transfer_id = $1",
                                          t.transfer_id)) {
      previous.push_back(
          ListingEntry{Bin(row[0]), row[1].as<uint64_t>(), row[2].as<int64_t>(), row[3].c_str()});
    }
    // Albums and capture times (migration 20), read apart so the statement
    // above stays the one of slice 2.
    if (!previous.empty()) {
      std::map<std::string, std::pair<std::string, int64_t>> extra;
      for (const auto& row :
           tx.exec_params("SELECT path, albums, capture_ns FROM transfer_listing "
                          "WHERE transfer_id = $1 AND (albums <> ''::bytea OR capture_ns <> 0)",
                          t.transfer_id)) {
        extra[Bin(row[0])] = {Bin(row[1]), row[2].as<int64_t>()};
      }
      for (ListingEntry& e : previous) {
        if (auto it = extra.find(e.path); it != extra.end()) {
          e.albums = SplitAlbums(it->second.first);
          e.capture_ns = it->second.second;
        }
      }
    }
    std::vector<ListingEntry> save, fetch;
    diff(previous, t.since_ms, &save, &fetch, &out);
    // The fetch jobs first, then the listing, in this one transaction: a
    // crash before the commit leaves both as they were (the list job runs
    // again), after it both are there (nothing is listed as new again).
    std::vector<std::string> paths;
    for (const ListingEntry& e : fetch) paths.push_back(e.path);
    if (!paths.empty()) {
      out.queued = tx.exec_params(
                         "INSERT INTO jobs (kind, state, destination_id, transfer_id, remote_ref) "
                         "SELECT 4, 1, $1, $2, p FROM unnest($3::bytea[]) p "
                         "ON CONFLICT (transfer_id, remote_ref) WHERE kind = 4 AND "
                         "state IN (1, 2, 4) DO NOTHING",
                         t.source_id, t.transfer_id, ByteaArray(paths))
                       .affected_rows();
    }
    tx.exec_params("DELETE FROM transfer_listing WHERE transfer_id = $1", t.transfer_id);
    std::vector<std::string> spaths, etags, albums;
    std::vector<int64_t> sizes, mtimes, captures;
    for (const ListingEntry& e : save) {
      spaths.push_back(e.path);
      sizes.push_back(static_cast<int64_t>(e.size));
      mtimes.push_back(e.mtime_ns);
      etags.push_back(e.etag);
      albums.push_back(JoinAlbums(e.albums));
      captures.push_back(e.capture_ns);
    }
    if (!spaths.empty()) {
      tx.exec_params(
          "INSERT INTO transfer_listing (transfer_id, path, size, mtime_ns, etag, albums, "
          "capture_ns) SELECT $1, * FROM unnest($2::bytea[], $3::bigint[], $4::bigint[], "
          "$5::text[], $6::bytea[], $7::bigint[])",
          t.transfer_id, ByteaArray(spaths), Int8Arr(sizes), Int8Arr(mtimes), TextArray(etags),
          ByteaArray(albums), Int8Arr(captures));
    }
    tx.exec_params("UPDATE transfers SET last_listed_at = now() WHERE id = $1", t.transfer_id);
    if (next_cursor != nullptr) {
      tx.exec_params("UPDATE transfers SET list_cursor = $2 WHERE id = $1", t.transfer_id,
                     *next_cursor);
    }
    tx.exec_params("UPDATE transfers SET listed_items = $2 WHERE id = $1", t.transfer_id,
                   static_cast<int64_t>(save.size()));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::string> PgTransferStore::LeasedTransfer(const TransferLease& lease) {
  std::string name;
  RETURN_IF_ERROR(store_->RunInTransaction("check transfer lease", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(LeasedRow t, CheckLease(tx, lease, /*lock=*/false));
    name = t.name;
    return absl::OkStatus();
  }));
  return name;
}

absl::StatusOr<std::string> PgTransferStore::ListCursor(const TransferLease& lease) {
  std::string cursor;
  RETURN_IF_ERROR(store_->RunInTransaction("read transfer cursor", [&](Tx& tx) -> absl::Status {
    TransferLease l = lease;
    l.kind = kList;
    ASSIGN_OR_RETURN(LeasedRow t, CheckLease(tx, l, /*lock=*/false));
    cursor = tx.exec_params1("SELECT list_cursor FROM transfers WHERE id = $1", t.transfer_id)[0]
                 .c_str();
    return absl::OkStatus();
  }));
  return cursor;
}

absl::StatusOr<FetchFacts> PgTransferStore::LeasedFetch(const TransferLease& lease) {
  FetchFacts out;
  RETURN_IF_ERROR(store_->RunInTransaction("check fetch lease", [&](Tx& tx) -> absl::Status {
    out = FetchFacts{};
    ASSIGN_OR_RETURN(LeasedRow t, CheckLease(tx, lease, /*lock=*/false));
    out.transfer = t.name;
    pqxx::result r = tx.exec_params(
        "SELECT l.albums, l.capture_ns FROM jobs j JOIN transfer_listing l ON "
        "l.transfer_id = j.transfer_id AND l.path = j.remote_ref WHERE j.id = $1",
        lease.job_id);
    if (!r.empty()) {
      out.albums = SplitAlbums(Bin(r[0][0]));
      out.capture_ns = r[0][1].as<int64_t>();
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> PgTransferStore::ScheduleLists(uint32_t interval_ms) {
  uint64_t n = 0;
  RETURN_IF_ERROR(store_->RunInTransaction("schedule transfer listings", [&](Tx& tx) {
    // One coordinator at a time, so two never queue the same listing.
    tx.exec("SELECT pg_advisory_xact_lock(4857122)");
    n = tx.exec_params(
              "INSERT INTO jobs (kind, state, destination_id, transfer_id) "
              "SELECT 7, 1, t.source_id, t.id FROM transfers t "
              "JOIN destinations d ON d.id = t.source_id "
              "WHERE t.state = 'active' AND d.removed_at IS NULL AND (t.last_listed_at IS NULL "
              "OR t.last_listed_at < now() - $1::bigint * interval '1 millisecond') "
              "AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.transfer_id = t.id AND j.kind = 7 "
              "AND j.state IN (1, 2, 4))",
              static_cast<int64_t>(interval_ms))
            .affected_rows();
    return absl::OkStatus();
  }));
  return n;
}

}  // namespace shoebox::coordinator
