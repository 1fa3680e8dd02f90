// Devices and their folders (libpqxx 6.4): Hello, heartbeats, the damaged
// files a device can re-read, the device list. See pg_store.h.
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "coordinator/store/chunk_list_format.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

absl::StatusOr<int64_t> PgStore::UpsertDevice(const std::string& name, const std::string& hostname,
                                              const std::string& agent_version,
                                              const std::vector<std::string>& folders) {
  int64_t id = 0;
  RETURN_IF_ERROR(Run("register device", TxMode::kTransaction, [&](Tx& tx) {
    id = tx.exec_params1(
               "INSERT INTO devices (name, hostname, agent_version, last_seen) "
               "VALUES ($1, $2, $3, now()) ON CONFLICT (name) DO UPDATE SET "
               "hostname = excluded.hostname, agent_version = excluded.agent_version, "
               "last_seen = now() RETURNING id",
               name, hostname, agent_version)[0]
             .as<int64_t>();
    if (!folders.empty()) {
      tx.exec_params(
          "INSERT INTO folders (device_id, root) SELECT $1, r FROM unnest($2::bytea[]) r "
          "ON CONFLICT DO NOTHING",
          id, ByteaArray(folders));
    }
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<int64_t> PgStore::FindDevice(const std::string& name) {
  int64_t id = 0;
  RETURN_IF_ERROR(Run("find device", TxMode::kAutocommit, [&](Tx& tx) {
    pqxx::result r = tx.exec_params("SELECT id FROM devices WHERE name = $1", name);
    if (r.empty()) {
      return absl::NotFoundError(
          absl::StrCat("device '", name, "' is not registered; the agent must call Hello first"));
    }
    id = r[0][0].as<int64_t>();
    return absl::OkStatus();
  }));
  return id;
}

absl::Status PgStore::RecordHeartbeat(int64_t device_id, const HeartbeatFacts& hb) {
  std::string problems;
  for (const FolderProblem& p : hb.folder_problems) {
    absl::StrAppend(&problems, problems.empty() ? "" : "\n", PrintablePath(p.path), ": ",
                    PrintablePath(p.reason));
  }
  return Run("heartbeat", TxMode::kQueue, [&](Tx& tx) {
    tx.exec_params(
        "UPDATE devices SET last_seen = now(), agent_files_pending = $2, "
        "agent_bytes_pending = $3, agent_upload_rate_bps = $4, agent_paused = $5, "
        "agent_folder_problems = $6 WHERE id = $1",
        device_id, static_cast<int64_t>(hb.files_pending), static_cast<int64_t>(hb.bytes_pending),
        static_cast<int64_t>(hb.upload_rate_bps), hb.paused, problems);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Folder>> PgStore::ListFolders(int64_t device_id) {
  std::vector<Folder> out;
  RETURN_IF_ERROR(Run("list folders", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec_params(
             "SELECT id, root FROM folders WHERE device_id = $1 ORDER BY id", device_id)) {
      out.push_back(Folder{row[0].as<int64_t>(), Bin(row[1])});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<DamagedFile>> PgStore::DamagedFilesOf(int64_t device_id,
                                                                 uint32_t limit) {
  std::vector<DamagedFile> out;
  RETURN_IF_ERROR(Run("damaged files of device", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    if (tx.exec("SELECT 1 FROM chunk_damage WHERE repaired_at IS NULL LIMIT 1").empty())
      return absl::OkStatus();  // the usual case: one cheap probe
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& row : tx.exec_params(
             "SELECT fo.root, f.path, v.size, v.mtime_ns, v.sha256, v.chunk_list, d.chunk_id "
             "FROM chunk_damage d JOIN file_versions v ON position(d.chunk_id IN v.chunk_list) > 0 "
             "JOIN files f ON f.id = v.file_id AND f.current_version_id = v.id "
             "JOIN folders fo ON fo.id = f.folder_id "
             "WHERE d.repaired_at IS NULL AND fo.device_id = $1 AND v.deleted_at IS NULL "
             "AND v.state = 2 AND NOT COALESCE(v.chunks_dropped, false) ORDER BY v.id LIMIT $2",
             device_id, static_cast<int64_t>(limit))) {
      // position() matches bytes at any offset: check a chunk-ID slot.
      absl::StatusOr<bool> slot = ChunkListContains(Bin(row[5]), Bin(row[6]));
      if (!slot.ok()) return Annotate(slot.status(), "damaged files of device");
      if (!*slot || !seen.emplace(Bin(row[0]), Bin(row[1])).second) continue;
      auto& f = out.emplace_back();
      f.folder = Bin(row[0]);
      f.path = Bin(row[1]);
      f.size = row[2].as<uint64_t>();
      f.mtime_ns = row[3].as<int64_t>();
      f.sha256 = Bin(row[4]);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<DeviceRow>> PgStore::ListDevices() {
  std::vector<DeviceRow> out;
  RETURN_IF_ERROR(Run("list devices", TxMode::kAutocommit, [&](Tx& tx) {
    out.clear();
    std::map<int64_t, size_t> index;
    for (const auto& row : tx.exec(
             "SELECT id, name, hostname, epoch_ms(last_seen), revoked FROM devices ORDER BY id")) {
      DeviceRow& d = out.emplace_back();
      d.id = row[0].as<int64_t>();
      d.name = row[1].c_str();
      d.hostname = row[2].c_str();
      d.last_seen_unix_ms = row[3].as<int64_t>();
      d.revoked = row[4].as<bool>();
      index[d.id] = out.size() - 1;
    }
    for (const auto& row : tx.exec("SELECT device_id, root FROM folders ORDER BY device_id, id")) {
      auto it = index.find(row[0].as<int64_t>());
      if (it != index.end()) out[it->second].folders.push_back(Bin(row[1]));
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace shoebox::coordinator::pg
