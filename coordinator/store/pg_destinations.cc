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
    for (const auto& row :
         tx.exec(absl::StrCat("SELECT ", kDestinationCols, " FROM destinations ORDER BY id"))) {
      DestinationFromRow(row, &out.emplace_back());
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
    pqxx::result dst = tx.exec_params("SELECT id FROM destinations WHERE name = $1", destination);
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

}  // namespace shoebox::coordinator::pg
