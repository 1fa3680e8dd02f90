// Albums and capture dates of file versions (issue 21, libpqxx 6.4): what a
// server-side import (coordinator/ingest.h) records with each version, and
// what a lease hands the worker with its delivery. See pg_store.h.
#include <map>
#include <string>
#include <vector>

#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

void RecordImportFacts(Tx& tx, const std::vector<ReportItem>& items,
                       const std::vector<ReportOutcome>& out) {
  std::vector<int64_t> a_version, c_version, c_ns;
  std::vector<std::string> a_album;
  for (size_t i = 0; i < items.size() && i < out.size(); ++i) {
    if (items[i].deleted || out[i].code != absl::StatusCode::kOk || out[i].version_id == 0) {
      continue;
    }
    for (const std::string& a : items[i].albums) {
      a_version.push_back(out[i].version_id);
      a_album.push_back(a);
    }
    if (items[i].capture_ns != 0) {
      c_version.push_back(out[i].version_id);
      c_ns.push_back(items[i].capture_ns);
    }
  }
  if (!a_version.empty()) {
    tx.exec_params(
        "INSERT INTO version_albums (version_id, album) SELECT * FROM "
        "unnest($1::bigint[], $2::bytea[]) ON CONFLICT DO NOTHING",
        Int8Arr(a_version), ByteaArray(a_album));
  }
  if (!c_version.empty()) {
    // The source's latest statement of the date wins.
    tx.exec_params(
        "INSERT INTO version_capture (version_id, capture_ns) SELECT * FROM "
        "unnest($1::bigint[], $2::bigint[]) ON CONFLICT (version_id) DO UPDATE SET "
        "capture_ns = excluded.capture_ns",
        Int8Arr(c_version), Int8Arr(c_ns));
  }
}

std::map<int64_t, VersionFacts> LoadImportFacts(Tx& tx, const std::vector<int64_t>& version_ids) {
  std::map<int64_t, VersionFacts> out;
  if (version_ids.empty()) return out;
  for (const auto& row :
       tx.exec_params("SELECT version_id, album FROM version_albums WHERE version_id = "
                      "ANY($1::bigint[]) ORDER BY version_id, album",
                      Int8Arr(version_ids))) {
    out[row[0].as<int64_t>()].albums.push_back(Bin(row[1]));
  }
  for (const auto& row :
       tx.exec_params("SELECT version_id, capture_ns FROM version_capture WHERE version_id = "
                      "ANY($1::bigint[])",
                      Int8Arr(version_ids))) {
    out[row[0].as<int64_t>()].capture_ns = row[1].as<int64_t>();
  }
  return out;
}

}  // namespace shoebox::coordinator::pg
