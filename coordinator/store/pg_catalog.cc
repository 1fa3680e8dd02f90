// The catalog's chunks and versions (libpqxx 6.4): chunk status, stored
// chunks completing versions, read access, version listings. ReportFiles is
// in pg_report_files.cc. See pg_store.h.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "coordinator/store/chunk_list_format.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

void PrepareCatalogStatements(pqxx::connection& c) {
  c.prepare("get_chunk", "SELECT stored, size FROM chunks WHERE id = $1");
  // Marks the chunk stored (or checks it is) and records its owner, counts
  // down the versions of its owners waiting for it and creates the
  // deliveries of those it completes: one round trip (migrations 5 and 6).
  c.prepare("chunk_owned",
            "SELECT known, completed FROM shoebox_chunk_owned($1, NULLIF($2::bigint, 0), $3, "
            "$4, $5)");
  c.prepare("versions_by_id", absl::StrCat("SELECT ", kVersionCols, " FROM ", kVersionJoins,
                                           " WHERE v.id = ANY($1::bigint[])"));
}

absl::Status VersionFromRow(const pqxx::row& r, int off, FileVersion* v) {
  v->version_id = r[off + 0].as<int64_t>();
  v->device = r[off + 1].c_str();
  v->folder = Bin(r[off + 2]);
  v->path = Bin(r[off + 3]);
  v->size = r[off + 4].as<int64_t>();
  v->mtime_ns = r[off + 5].as<int64_t>();
  v->sha256 = Bin(r[off + 6]);
  absl::StatusOr<std::vector<ChunkRef>> chunks = DecodeChunkList(Bin(r[off + 7]));
  if (!chunks.ok()) return Annotate(chunks.status(), absl::StrCat("version ", v->version_id));
  v->chunks = std::move(*chunks);
  v->created_unix_ms = r[off + 8].as<int64_t>();
  v->deleted_unix_ms = r[off + 9].as<int64_t>();
  v->state = static_cast<VersionState>(r[off + 10].as<int>());
  v->mode = r[off + 11].as<int64_t>();
  v->chunks_dropped = r[off + 12].as<bool>();  // migration 3 (retention)
  return absl::OkStatus();
}

uint64_t CreateDeliveries(Tx& tx, const std::vector<int64_t>& version_ids) {
  if (version_ids.empty()) return 0;
  // Device locks, then the jobs: the SQL function of migration 5, shared
  // with recording a stored chunk.
  return tx
      .exec_params("SELECT shoebox_create_deliveries($1::bigint[])", NumArray(version_ids))[0][0]
      .as<uint64_t>();
}

absl::StatusOr<ChunkStatus> PgStore::GetChunk(const std::string& id) {
  ChunkStatus s;
  RETURN_IF_ERROR(Run("get chunk", TxMode::kAutocommit, [&](Tx& tx) {
    pqxx::result r = tx.exec_prepared("get_chunk", BinParam(id));
    s = ChunkStatus{};
    if (!r.empty()) {
      s.known = true;
      s.stored = r[0][0].as<bool>();
      s.size = r[0][1].as<int64_t>();
    }
    return absl::OkStatus();
  }));
  return s;
}

absl::StatusOr<std::vector<int64_t>> PgStore::MarkChunkStored(const std::string& id, uint32_t size,
                                                              uint64_t stored_size,
                                                              int64_t device_id) {
  std::vector<int64_t> completed;
  // One statement, so its own transaction, committed synchronously: the
  // agent forgets a version once told it is complete. Idempotent: run again
  // after a lost reply it finds the chunk stored and no version waiting.
  RETURN_IF_ERROR(Run("record stored chunk", TxMode::kAutocommit, [&](Tx& tx) {
    completed.clear();
    pqxx::result r =
        tx.exec_prepared("chunk_owned", BinParam(id), device_id, true,
                         static_cast<int64_t>(stored_size), static_cast<int64_t>(size));
    if (!r[0][0].as<bool>()) {
      return absl::NotFoundError(absl::StrCat(
          "chunk ", ToHex(id), " is not referenced by any reported file; report the file first"));
    }
    completed = ParseNumArray(r[0][1]);
    return absl::OkStatus();
  }));
  return completed;
}

absl::StatusOr<std::vector<int64_t>> PgStore::RecordChunkOwner(const std::string& id,
                                                               int64_t device_id) {
  std::vector<int64_t> completed;
  RETURN_IF_ERROR(Run("record chunk owner", TxMode::kAutocommit, [&](Tx& tx) {
    completed.clear();
    pqxx::result r = tx.exec_prepared("chunk_owned", BinParam(id), device_id, false,
                                      static_cast<int64_t>(0), static_cast<int64_t>(0));
    if (!r[0][0].as<bool>()) {
      return absl::NotFoundError(absl::StrCat("chunk ", ToHex(id),
                                              " is not in the chunk store (any more); upload its "
                                              "data"));
    }
    completed = ParseNumArray(r[0][1]);
    return absl::OkStatus();
  }));
  return completed;
}

absl::StatusOr<std::vector<bool>> PgStore::DeviceMayRead(int64_t device_id,
                                                         const std::vector<std::string>& ids) {
  std::vector<bool> out;
  RETURN_IF_ERROR(Run("check chunk access", TxMode::kAutocommit, [&](Tx& tx) {
    out.assign(ids.size(), false);
    pqxx::result r = tx.exec_params(
        "SELECT u.i FROM unnest($2::bytea[]) WITH ORDINALITY AS u(id, i) "
        "WHERE EXISTS (SELECT 1 FROM device_chunks dc WHERE dc.device_id = $1 AND "
        "dc.chunk_id = u.id) AND EXISTS (SELECT 1 FROM chunks c WHERE c.id = u.id AND "
        "c.stored)",
        device_id, ByteaArray(ids));
    for (const auto& row : r) out[row[0].as<int64_t>() - 1] = true;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<bool>> PgStore::ChunksStored(const std::vector<std::string>& ids) {
  std::vector<bool> out;
  RETURN_IF_ERROR(Run("check chunks", TxMode::kAutocommit, [&](Tx& tx) {
    out.assign(ids.size(), false);
    pqxx::result r = tx.exec_params(
        "SELECT u.i FROM unnest($1::bytea[]) WITH ORDINALITY AS u(id, i) "
        "JOIN chunks c ON c.id = u.id WHERE c.stored",
        ByteaArray(ids));
    for (const auto& row : r) out[row[0].as<int64_t>() - 1] = true;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<VersionPage> PgStore::ListVersions(int64_t device_id, const VersionQuery& q) {
  VersionPage page;
  const uint32_t limit = q.limit == 0 ? 1000 : std::min<uint32_t>(q.limit, 10000);
  RETURN_IF_ERROR(Run("list versions", TxMode::kAutocommit, [&](Tx& tx) {
    page = VersionPage{};
    // `at` is inclusive at millisecond precision; 0 means now.
    const std::string at =
        "(CASE WHEN $5::bigint = 0 THEN now() + interval '1 second' "
        "ELSE to_timestamp(($5::bigint + 1) / 1000.0) END)";
    std::string sql = absl::StrCat(
        "SELECT ", kVersionCols, " FROM ", kVersionJoins,
        " WHERE fo.device_id = $1 AND ($2::bytea = ''::bytea OR fo.root = $2::bytea) "
        "AND ($3::bytea = ''::bytea OR f.path = $3::bytea OR "
        "substring(f.path from 1 for length($3::bytea) + 1) = $3::bytea || '\\x2f'::bytea) "
        "AND v.id > $4 AND v.created_at < ",
        at,
        " AND ($6::boolean OR (v.id = (SELECT max(v2.id) FROM file_versions v2 "
        "WHERE v2.file_id = v.file_id AND v2.created_at < ",
        at, ") AND (v.deleted_at IS NULL OR v.deleted_at >= ", at, "))) ORDER BY v.id LIMIT $7");
    pqxx::result r =
        tx.exec_params(sql, device_id, BinParam(q.folder), BinParam(q.path), q.after_version_id,
                       q.at_unix_ms, q.all_versions, static_cast<int64_t>(limit));
    for (const auto& row : r)
      RETURN_IF_ERROR(VersionFromRow(row, 0, &page.versions.emplace_back()));
    // Where each version's copies are.
    std::vector<int64_t> ids;
    std::map<int64_t, FileVersion*> by_id;
    for (FileVersion& v : page.versions) {
      ids.push_back(v.version_id);
      by_id[v.version_id] = &v;
    }
    if (!ids.empty()) {
      static const char* kStateNames[] = {"?",        "pending", "in-flight", "delivered",
                                          "retrying", "dead",    "cancelled"};
      for (const auto& row : tx.exec_params(
               "SELECT j.version_id, d.name, j.state, j.remote_ref, epoch_ms(j.finished_at) "
               "FROM jobs j JOIN destinations d ON d.id = j.destination_id "
               "WHERE j.kind = 1 AND j.version_id = ANY($1::bigint[]) ORDER BY j.version_id, "
               "d.name",
               NumArray(ids))) {
        auto it = by_id.find(row[0].as<int64_t>());
        if (it == by_id.end()) continue;
        VersionCopy& c = it->second->copies.emplace_back();
        c.destination = row[1].c_str();
        int st = row[2].as<int>();
        c.state = st >= 1 && st <= 6 ? kStateNames[st] : "?";
        c.remote_ref = Bin(row[3]);  // bytea: byte-exact (issue 18)
        if (!row[4].is_null()) c.finished_unix_ms = row[4].as<int64_t>();
      }
    }
    if (r.size() == limit && limit > 0) {
      page.next_after_version_id = page.versions.back().version_id;
    }
    return absl::OkStatus();
  }));
  return page;
}

}  // namespace shoebox::coordinator::pg
