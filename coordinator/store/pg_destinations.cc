// Destinations and bindings (libpqxx 6.4). See pg_store.h.
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

void DestinationFromRow(const pqxx::row& r, Destination* d) {
  d->id = r[0].as<int64_t>();
  d->name = r[1].c_str();
  d->kind = r[2].c_str();
  d->settings_json = r[3].c_str();
  d->sealed_credentials = Bin(r[4]);
  d->layout = r[5].c_str();
  d->max_concurrency = r[6].as<int64_t>();
  d->paused_unix_ms = r[7].as<int64_t>();
}

absl::StatusOr<Destination> PgStore::CreateDestination(const NewDestination& req) {
  Destination d;
  absl::Status st = Run(
      "create destination", TxMode::kTransaction,
      [&](Tx& tx) {
        pqxx::row r = tx.exec_params1(
            absl::StrCat("INSERT INTO destinations (name, kind, settings, sealed_credentials, "
                         "layout, max_concurrency) VALUES ($1, $2, $3::jsonb, $4, $5, $6) "
                         "RETURNING ",
                         kDestinationCols),
            req.name, req.kind, req.settings_json.empty() ? std::string("{}") : req.settings_json,
            BinParam(req.sealed_credentials), req.layout,
            static_cast<int64_t>(req.max_concurrency));
        DestinationFromRow(r, &d);
        return absl::OkStatus();
      },
      /*idempotent=*/false);
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(
        absl::StrCat("destination '", req.name, "' already exists; pick another name"));
  }
  RETURN_IF_ERROR(st);
  return d;
}

absl::StatusOr<std::vector<Destination>> PgStore::ListDestinations() {
  std::vector<Destination> out;
  RETURN_IF_ERROR(Run("list destinations", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    // With the latest connection check of each (index jobs_checks).
    for (const auto& row : tx.exec(absl::StrCat(
             "SELECT ", kDestinationCols,
             ", COALESCE(c.state, 0), c.remote_ref, c.last_error, "
             "epoch_ms(COALESCE(c.finished_at, c.created_at)) FROM destinations d "
             "LEFT JOIN LATERAL (SELECT j.state, j.remote_ref, j.last_error, j.finished_at, "
             "j.created_at FROM jobs j WHERE j.destination_id = d.id AND j.kind = 6 "
             "ORDER BY j.id DESC LIMIT 1) c ON true WHERE d.removed_at IS NULL ORDER BY d.id"))) {
      Destination& d = out.emplace_back();
      DestinationFromRow(row, &d);
      d.last_check_state = static_cast<JobState>(row[8].as<int>());
      // A passed check's detail is its remote_ref (bytea), a failed one's
      // its last_error.
      if (d.last_check_state == JobState::kDone) {
        d.last_check_detail = Utf8Text(Bin(row[9]));
      } else {
        d.last_check_detail = row[10].is_null() ? "" : row[10].c_str();
      }
      d.last_check_unix_ms = row[11].as<int64_t>();
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> PgStore::BindFolder(const std::string& device, const std::string& folder,
                                             const std::string& destination, bool backfill) {
  uint64_t created = 0;
  RETURN_IF_ERROR(Run("bind folder", TxMode::kTransaction, [&](Tx& tx) {
    // FOR UPDATE: serialises with CreateDeliveries (see there).
    pqxx::result d = tx.exec_params("SELECT id FROM devices WHERE name = $1 FOR UPDATE", device);
    if (d.empty()) {
      return absl::NotFoundError(
          absl::StrCat("device: no device named '", device, "'; `shoebox devices` lists them"));
    }
    const int64_t device_id = d[0][0].as<int64_t>();
    int64_t folder_id = 0;
    if (!folder.empty()) {
      pqxx::result f = tx.exec_params("SELECT id FROM folders WHERE device_id = $1 AND root = $2",
                                      device_id, BinParam(folder));
      if (f.empty()) {
        return absl::NotFoundError(
            absl::StrCat("folder: device '", device, "' has no folder ", PrintablePath(folder),
                         "; folders are the roots the agent announced in Hello"));
      }
      folder_id = f[0][0].as<int64_t>();
    }
    pqxx::result dst = tx.exec_params(
        "SELECT id FROM destinations WHERE name = $1 AND removed_at IS NULL", destination);
    if (dst.empty()) {
      return absl::NotFoundError(
          absl::StrCat("destination: no destination named '", destination, "'; create it first"));
    }
    const int64_t dest_id = dst[0][0].as<int64_t>();
    tx.exec_params(
        "INSERT INTO bindings (device_id, folder_id, destination_id) "
        "VALUES ($1, NULLIF($2::bigint, 0), $3) ON CONFLICT DO NOTHING",
        device_id, folder_id, dest_id);
    created = 0;
    if (backfill) {
      created = tx.exec_params(
                      "INSERT INTO jobs (kind, state, destination_id, version_id, device_id) "
                      "SELECT 1, 1, $3, v.id, fo.device_id FROM files f "
                      "JOIN folders fo ON fo.id = f.folder_id "
                      "JOIN file_versions v ON v.id = f.current_version_id "
                      "WHERE fo.device_id = $1 AND ($2::bigint = 0 OR fo.id = $2::bigint) "
                      "AND v.state = 2 AND v.deleted_at IS NULL "
                      "AND NOT v.chunks_dropped "  // pass-through: released (retention)
                      "ON CONFLICT (version_id, destination_id) WHERE kind = 1 DO NOTHING",
                      device_id, folder_id, dest_id)
                    .affected_rows();
    }
    return absl::OkStatus();
  }));
  return created;
}

namespace {

constexpr int kCheckKind = static_cast<int>(JobKind::kCheck);

// The live destination `name`, locked; NOT_FOUND naming it.
absl::StatusOr<Destination> LockDestination(Tx& tx, const std::string& name) {
  pqxx::result r = tx.exec_params(
      absl::StrCat("SELECT ", kDestinationCols,
                   " FROM destinations WHERE name = $1 AND removed_at IS NULL FOR UPDATE"),
      name);
  if (r.empty()) {
    return absl::NotFoundError(absl::StrCat("destination: no destination named '", name,
                                            "'; `shoebox dest list` lists them"));
  }
  Destination d;
  DestinationFromRow(r[0], &d);
  return d;
}

absl::StatusOr<DestinationCheckRow> LoadCheck(Tx& tx, const std::string& name, int64_t job_id,
                                              uint32_t worker_stale_ms) {
  pqxx::result r = tx.exec_params(
      "SELECT j.id, d.name, j.state, j.remote_ref, j.last_error, epoch_ms(j.created_at), "
      "(SELECT count(*) FROM workers w WHERE w.last_seen > now() - $3::int * interval '1 "
      "millisecond' AND d.kind = ANY(w.kinds) AND (cardinality(w.destinations) = 0 OR d.name = "
      "ANY(w.destinations))) "
      "FROM jobs j JOIN destinations d ON d.id = j.destination_id "
      "WHERE d.name = $1 AND d.removed_at IS NULL AND j.kind = 6 AND ($2::bigint = 0 OR j.id = "
      "$2::bigint) ORDER BY j.id DESC LIMIT 1",
      name, job_id, static_cast<int64_t>(worker_stale_ms));
  if (r.empty()) {
    return absl::NotFoundError(
        job_id == 0
            ? absl::StrCat("destination '", name, "' has not been checked (or does not exist)")
            : absl::StrCat("no connection check ", job_id, " of destination '", name, "'"));
  }
  DestinationCheckRow c;
  c.job_id = r[0][0].as<int64_t>();
  c.destination = r[0][1].c_str();
  c.state = static_cast<JobState>(r[0][2].as<int>());
  if (c.state == JobState::kDone) c.detail = Utf8Text(Bin(r[0][3]));
  if (c.state == JobState::kDead || c.state == JobState::kCancelled) c.error = r[0][4].c_str();
  c.created_unix_ms = r[0][5].as<int64_t>();
  c.workers_serving = r[0][6].as<int64_t>();
  return c;
}

}  // namespace

absl::StatusOr<Destination> PgStore::UpdateDestination(
    const std::string& name, const std::function<absl::Status(Destination&)>& change,
    uint64_t* dead_jobs) {
  Destination out;
  uint64_t dead = 0;
  RETURN_IF_ERROR(Run("update destination", TxMode::kTransaction, [&](Tx& tx) {
    ASSIGN_OR_RETURN(Destination before, LockDestination(tx, name));
    Destination d = before;
    RETURN_IF_ERROR(change(d));
    const bool config_changed = d.settings_json != before.settings_json ||
                                d.sealed_credentials != before.sealed_credentials;
    pqxx::row r = tx.exec_params1(
        absl::StrCat("UPDATE destinations SET settings = $2::jsonb, sealed_credentials = $3, "
                     "layout = $4, max_concurrency = $5, "
                     "auth_failed_at = CASE WHEN $6 THEN NULL ELSE auth_failed_at END, "
                     "auth_error = CASE WHEN $6 THEN '' ELSE auth_error END, "
                     "last_probe_at = CASE WHEN $6 THEN NULL ELSE last_probe_at END "
                     "WHERE id = $1 RETURNING ",
                     kDestinationCols),
        before.id, d.settings_json.empty() ? std::string("{}") : d.settings_json,
        BinParam(d.sealed_credentials), d.layout, static_cast<int64_t>(d.max_concurrency),
        config_changed);
    out = Destination{};
    DestinationFromRow(r, &out);
    dead = tx.exec_params1(
                 "SELECT count(*) FROM jobs WHERE destination_id = $1 AND state = 5 AND kind <> 6",
                 before.id)[0]
               .as<int64_t>();
    return absl::OkStatus();
  }));
  if (dead_jobs != nullptr) *dead_jobs = dead;
  return out;
}

absl::StatusOr<DestinationRemoval> PgStore::RemoveDestination(const std::string& name, bool force) {
  DestinationRemoval res;
  RETURN_IF_ERROR(Run(
      "remove destination", TxMode::kTransaction,
      [&](Tx& tx) {
        res = DestinationRemoval{};
        ASSIGN_OR_RETURN(Destination d, LockDestination(tx, name));
        pqxx::row counts = tx.exec_params1(
            "SELECT count(*) FILTER (WHERE state = 2 AND kind <> 6), "
            "count(*) FILTER (WHERE kind <> 6), count(*) FILTER (WHERE kind = 1 AND state = 3) "
            "FROM jobs WHERE destination_id = $1",
            d.id);
        const int64_t running = counts[0].as<int64_t>();
        const int64_t history = counts[1].as<int64_t>();
        if (running > 0 && !force) {
          return absl::FailedPreconditionError(absl::StrCat(
              "destination '", name, "' has ", running,
              " job(s) running on workers now; wait for them (`shoebox jobs --dest ", name,
              " --state leased`) or remove it with --force, which cancels them too (a worker "
              "stops at its next lease renewal)"));
        }
        res.delivered_copies = counts[2].as<uint64_t>();
        res.bindings_removed =
            tx.exec_params("DELETE FROM bindings WHERE destination_id = $1", d.id).affected_rows();
        if (history == 0) {
          // Never used: nothing to keep.
          tx.exec_params("DELETE FROM jobs WHERE destination_id = $1", d.id);
          tx.exec_params("DELETE FROM destinations WHERE id = $1", d.id);
          res.purged = true;
          return absl::OkStatus();
        }
        res.jobs_cancelled =
            tx.exec_params(
                  "UPDATE jobs SET state = 6, last_error = 'destination removed by an admin', "
                  "finished_at = now(), updated_at = now() WHERE destination_id = $1 AND "
                  "(state IN (1, 4) OR (state = 2 AND ($2::boolean OR kind = 6)))",
                  d.id, force)
                .affected_rows();
        // The row stays for the history; its name is free again; the
        // credentials are no longer needed by anyone.
        tx.exec_params(
            "UPDATE destinations SET name = name || '~' || id, removed_at = now(), "
            "paused_at = COALESCE(paused_at, now()), sealed_credentials = '' WHERE id = $1",
            d.id);
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return res;
}

absl::StatusOr<Destination> PgStore::SetDestinationPaused(const std::string& name, bool paused) {
  Destination d;
  RETURN_IF_ERROR(Run("pause destination", TxMode::kAutocommit, [&](Tx& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE destinations SET paused_at = CASE WHEN $2 THEN "
                     "COALESCE(paused_at, now()) END WHERE name = $1 AND removed_at IS NULL "
                     "RETURNING ",
                     kDestinationCols),
        name, paused);
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("destination: no destination named '", name,
                                              "'; `shoebox dest list` lists them"));
    }
    DestinationFromRow(r[0], &d);
    return absl::OkStatus();
  }));
  return d;
}

absl::StatusOr<DestinationCheckRow> PgStore::EnqueueCheck(const std::string& name, bool write_probe,
                                                          uint32_t worker_stale_ms) {
  DestinationCheckRow c;
  RETURN_IF_ERROR(Run(
      "queue destination check", TxMode::kTransaction,
      [&](Tx& tx) {
        ASSIGN_OR_RETURN(Destination d, LockDestination(tx, name));
        if (d.paused_unix_ms != 0) {
          return absl::FailedPreconditionError(
              absl::StrCat("destination '", name,
                           "' is paused, so no worker would run its check; `shoebox dest resume ",
                           name, "` first"));
        }
        const int64_t id =
            tx.exec_params1(
                  "INSERT INTO jobs (kind, state, priority, destination_id, remote_ref) "
                  "VALUES ($1, 1, 1000, $2, $3) RETURNING id",
                  kCheckKind, d.id, BinParam(write_probe ? "write" : "read"))[0]
                .as<int64_t>();
        ASSIGN_OR_RETURN(c, LoadCheck(tx, name, id, worker_stale_ms));
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return c;
}

absl::StatusOr<DestinationCheckRow> PgStore::GetCheck(const std::string& name, int64_t job_id,
                                                      uint32_t worker_stale_ms) {
  DestinationCheckRow c;
  RETURN_IF_ERROR(Run("get destination check", TxMode::kAutocommit, [&](Tx& tx) {
    ASSIGN_OR_RETURN(c, LoadCheck(tx, name, job_id, worker_stale_ms));
    return absl::OkStatus();
  }));
  return c;
}

absl::StatusOr<std::vector<BindingRow>> PgStore::ListBindings(const std::string& device,
                                                              const std::string& destination) {
  std::vector<BindingRow> out;
  RETURN_IF_ERROR(Run("list bindings", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec_params(
             "SELECT dv.name, COALESCE(fo.root, ''::bytea), ds.name, epoch_ms(b.created_at) "
             "FROM bindings b JOIN devices dv ON dv.id = b.device_id "
             "LEFT JOIN folders fo ON fo.id = b.folder_id "
             "JOIN destinations ds ON ds.id = b.destination_id "
             "WHERE ($1::text = '' OR dv.name = $1::text) AND ($2::text = '' OR ds.name = "
             "$2::text) "
             "ORDER BY dv.name, fo.root NULLS FIRST, ds.name",
             device, destination)) {
      BindingRow& b = out.emplace_back();
      b.device = row[0].c_str();
      b.folder = Bin(row[1]);
      b.destination = row[2].c_str();
      b.created_unix_ms = row[3].as<int64_t>();
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> PgStore::UnbindFolder(const std::string& device, const std::string& folder,
                                               const std::string& destination) {
  uint64_t cancelled = 0;
  RETURN_IF_ERROR(Run(
      "unbind folder", TxMode::kTransaction,
      [&](Tx& tx) {
        cancelled = 0;
        // FOR UPDATE: serialises with CreateDeliveries, as BindFolder does.
        pqxx::result d =
            tx.exec_params("SELECT id FROM devices WHERE name = $1 FOR UPDATE", device);
        if (d.empty()) {
          return absl::NotFoundError(
              absl::StrCat("device: no device named '", device, "'; `shoebox devices` lists them"));
        }
        const int64_t device_id = d[0][0].as<int64_t>();
        int64_t folder_id = 0;
        if (!folder.empty()) {
          pqxx::result f =
              tx.exec_params("SELECT id FROM folders WHERE device_id = $1 AND root = $2", device_id,
                             BinParam(folder));
          if (f.empty()) {
            return absl::NotFoundError(absl::StrCat("folder: device '", device, "' has no folder ",
                                                    PrintablePath(folder)));
          }
          folder_id = f[0][0].as<int64_t>();
        }
        pqxx::result dst = tx.exec_params(
            "SELECT id FROM destinations WHERE name = $1 AND removed_at IS NULL", destination);
        if (dst.empty()) {
          return absl::NotFoundError(
              absl::StrCat("destination: no destination named '", destination, "'"));
        }
        const int64_t dest_id = dst[0][0].as<int64_t>();
        const uint64_t removed =
            tx.exec_params(
                  "DELETE FROM bindings WHERE device_id = $1 AND COALESCE(folder_id, 0) = $2 "
                  "AND destination_id = $3",
                  device_id, folder_id, dest_id)
                .affected_rows();
        if (removed == 0) {
          return absl::NotFoundError(
              absl::StrCat("binding: ", device, folder.empty() ? " (whole device)" : ":",
                           folder.empty() ? "" : PrintablePath(folder), " is not bound to ",
                           destination, "; `shoebox bindings` lists the bindings"));
        }
        // Deliveries not started of files that no remaining binding sends
        // there; running ones finish, delivered copies stay.
        cancelled = tx.exec_params(
                          "UPDATE jobs j SET state = 6, last_error = 'folder unbound by an "
                          "admin', finished_at = now(), updated_at = now() "
                          "FROM file_versions v JOIN files f ON f.id = v.file_id "
                          "JOIN folders fo ON fo.id = f.folder_id "
                          "WHERE j.version_id = v.id AND j.kind = 1 AND j.destination_id = $3 "
                          "AND j.state IN (1, 4) AND fo.device_id = $1 "
                          "AND ($2::bigint = 0 OR fo.id = $2::bigint) "
                          "AND NOT EXISTS (SELECT 1 FROM bindings b WHERE b.device_id = "
                          "fo.device_id AND (b.folder_id IS NULL OR b.folder_id = fo.id) AND "
                          "b.destination_id = $3)",
                          device_id, folder_id, dest_id)
                        .affected_rows();
        return absl::OkStatus();
      },
      /*idempotent=*/false));
  return cancelled;
}

}  // namespace shoebox::coordinator::pg
