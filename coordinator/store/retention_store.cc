// Retention and pruning SQL (libpqxx 6.4). See retention_store.h and
// docs/retention.md.
#include "coordinator/store/retention_store.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "coordinator/store/chunk_list_format.h"
#include "coordinator/store/pg_codec.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

namespace {

using pg::Bin;
using pg::BinParam;
using pg::ByteaArray;
using pg::NumArray;
using pg::Tx;

// Returned by a dry run's transaction so that Run rolls it back.
absl::Status DryRunRollback() { return absl::CancelledError("dry run: rolled back"); }
bool IsDryRunRollback(const absl::Status& s) {
  return absl::IsCancelled(s) && s.message() == "dry run: rolled back";
}

// Adds the count of each chunk ID in `version`'s chunk list (DATA_LOSS for a
// damaged list: nothing is released on its word).
absl::Status CountRefs(const std::string& list, int64_t version,
                       std::map<std::string, int64_t>* refs) {
  absl::StatusOr<std::vector<ChunkRef>> chunks = DecodeChunkList(list);
  if (!chunks.ok()) return Annotate(chunks.status(), absl::StrCat("version ", version));
  for (const ChunkRef& c : *chunks) ++(*refs)[c.id];
  return absl::OkStatus();
}

constexpr char kPolicyCols[] =
    "rp.keep_all_days, rp.keep_daily, rp.keep_weekly, rp.keep_monthly, rp.keep_yearly, "
    "rp.deleted_keep_days, rp.pass_through";

RetentionPolicy PolicyFromRow(const pqxx::row& r, int off) {
  RetentionPolicy p;
  p.keep_all_days = r[off + 0].as<int64_t>();
  p.keep_daily = r[off + 1].as<int64_t>();
  p.keep_weekly = r[off + 2].as<int64_t>();
  p.keep_monthly = r[off + 3].as<int64_t>();
  p.keep_yearly = r[off + 4].as<int64_t>();
  p.deleted_keep_days = r[off + 5].as<int64_t>();
  p.pass_through = r[off + 6].as<bool>();
  return p;
}

// Drops `refs` from chunks.refcount (rows locked in ID order, the order
// ReportFiles uses) and stamps unreferenced_at on those reaching 0. Returns
// how many reached 0.
uint64_t DropReferences(Tx& tx, const std::map<std::string, int64_t>& refs) {
  if (refs.empty()) return 0;
  std::vector<std::string> ids;
  std::vector<int64_t> counts;
  for (const auto& [id, n] : refs) {
    ids.push_back(id);
    counts.push_back(n);
  }
  uint64_t zero = 0;
  for (const auto& row : tx.exec_params(
           "WITH d AS (SELECT * FROM unnest($1::bytea[], $2::bigint[]) AS d(id, n)), "
           "l AS (SELECT c.id FROM chunks c JOIN d ON d.id = c.id ORDER BY c.id FOR UPDATE OF c) "
           "UPDATE chunks c SET refcount = greatest(c.refcount - d.n, 0), "
           "  unreferenced_at = CASE WHEN c.refcount - d.n <= 0 THEN now() "
           "    ELSE c.unreferenced_at END "
           "FROM d WHERE c.id = d.id AND c.id IN (SELECT id FROM l) RETURNING c.refcount",
           ByteaArray(ids), NumArray(counts))) {
    if (row[0].as<int64_t>() <= 0) ++zero;
  }
  return zero;
}

}  // namespace

absl::StatusOr<std::vector<FolderPolicy>> PgRetentionStore::ListPolicies(
    const std::string& device, const std::string& folder) {
  std::vector<FolderPolicy> out;
  RETURN_IF_ERROR(store_->RunInTransaction("list retention policies", [&](Tx& tx) {
    out.clear();
    if (!device.empty() &&
        tx.exec_params("SELECT 1 FROM devices WHERE name = $1", device).empty()) {
      return absl::NotFoundError(
          absl::StrCat("device: no device named '", device, "'; `shoebox devices` lists them"));
    }
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT fo.id, d.name, fo.root, rp.folder_id IS NULL, ", kPolicyCols,
                     " FROM folders fo JOIN devices d ON d.id = fo.device_id "
                     "LEFT JOIN retention_policies rp ON rp.folder_id = fo.id "
                     "WHERE ($1::text = '' OR d.name = $1::text) "
                     "AND ($2::bytea = ''::bytea OR fo.root = $2::bytea) ORDER BY d.name, fo.root"),
        device, BinParam(folder));
    for (const auto& row : r) {
      FolderPolicy& f = out.emplace_back();
      f.folder_id = row[0].as<int64_t>();
      f.device = row[1].c_str();
      f.folder = Bin(row[2]);
      f.is_default = row[3].as<bool>();
      f.policy = f.is_default ? DefaultRetentionPolicy() : PolicyFromRow(row, 4);
    }
    if (out.empty() && !folder.empty()) {
      return absl::NotFoundError(absl::StrCat("folder: device '", device, "' has no folder ",
                                              PrintablePath(folder),
                                              "; folders are the roots the agent announced"));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<FolderPolicy>> PgRetentionStore::UpdatePolicies(
    const std::string& device, const std::string& folder, bool reset,
    const std::function<absl::Status(RetentionPolicy*)>& update) {
  if (device.empty()) return absl::InvalidArgumentError("device: name the device");
  std::vector<FolderPolicy> out;
  RETURN_IF_ERROR(store_->RunInTransaction("set retention policy", [&](Tx& tx) {
    out.clear();
    pqxx::result d = tx.exec_params("SELECT id FROM devices WHERE name = $1", device);
    if (d.empty()) {
      return absl::NotFoundError(
          absl::StrCat("device: no device named '", device, "'; `shoebox devices` lists them"));
    }
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT fo.id, fo.root, rp.folder_id IS NULL, ", kPolicyCols,
                     " FROM folders fo LEFT JOIN retention_policies rp ON rp.folder_id = fo.id "
                     "WHERE fo.device_id = $1 AND ($2::bytea = ''::bytea OR fo.root = $2::bytea) "
                     "ORDER BY fo.root FOR UPDATE OF fo"),
        d[0][0].as<int64_t>(), BinParam(folder));
    if (r.empty()) {
      return absl::NotFoundError(
          folder.empty()
              ? absl::StrCat("device '", device, "' has announced no folders yet")
              : absl::StrCat("folder: device '", device, "' has no folder ", PrintablePath(folder),
                             "; folders are the roots the agent announced"));
    }
    for (const auto& row : r) {
      FolderPolicy& f = out.emplace_back();
      f.folder_id = row[0].as<int64_t>();
      f.device = device;
      f.folder = Bin(row[1]);
      f.is_default = false;
      f.policy = (reset || row[2].as<bool>()) ? DefaultRetentionPolicy() : PolicyFromRow(row, 3);
      RETURN_IF_ERROR(update(&f.policy));
      const RetentionPolicy& p = f.policy;
      tx.exec_params(
          "INSERT INTO retention_policies (folder_id, keep_all_days, keep_daily, keep_weekly, "
          "keep_monthly, keep_yearly, deleted_keep_days, pass_through) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (folder_id) DO UPDATE SET "
          "keep_all_days = excluded.keep_all_days, keep_daily = excluded.keep_daily, "
          "keep_weekly = excluded.keep_weekly, keep_monthly = excluded.keep_monthly, "
          "keep_yearly = excluded.keep_yearly, deleted_keep_days = excluded.deleted_keep_days, "
          "pass_through = excluded.pass_through, updated_at = now()",
          f.folder_id, static_cast<int64_t>(p.keep_all_days), static_cast<int64_t>(p.keep_daily),
          static_cast<int64_t>(p.keep_weekly), static_cast<int64_t>(p.keep_monthly),
          static_cast<int64_t>(p.keep_yearly), static_cast<int64_t>(p.deleted_keep_days),
          p.pass_through);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::map<int64_t, RetentionPolicy>> PgRetentionStore::AllPolicies() {
  std::map<int64_t, RetentionPolicy> out;
  RETURN_IF_ERROR(store_->RunInTransaction("load retention policies", [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec(
             absl::StrCat("SELECT rp.folder_id, ", kPolicyCols, " FROM retention_policies rp"))) {
      out[row[0].as<int64_t>()] = PolicyFromRow(row, 1);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<PruneBatch> PgRetentionStore::ReleasePassThrough(int64_t after_version_id,
                                                                uint32_t limit, bool dry_run) {
  PruneBatch b;
  // A version is released when its folder is pass-through, it is complete,
  // at least one destination is bound to its folder, and every bound
  // destination has a DONE delivery of it.
  static constexpr char kReleasable[] =
      "FROM file_versions v JOIN files f ON f.id = v.file_id "
      "JOIN folders fo ON fo.id = f.folder_id "
      "JOIN retention_policies rp ON rp.folder_id = fo.id AND rp.pass_through "
      "WHERE v.state = 2 AND NOT v.chunks_dropped "
      "AND EXISTS (SELECT 1 FROM bindings b WHERE b.device_id = fo.device_id "
      "  AND (b.folder_id IS NULL OR b.folder_id = fo.id)) "
      "AND NOT EXISTS (SELECT 1 FROM bindings b WHERE b.device_id = fo.device_id "
      "  AND (b.folder_id IS NULL OR b.folder_id = fo.id) "
      "  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 1 AND j.version_id = v.id "
      "    AND j.destination_id = b.destination_id AND j.state = 3)) ";
  absl::Status st = store_->RunInTransaction("release pass-through chunks", [&](Tx& tx) {
    b = PruneBatch{};
    std::vector<int64_t> candidates;
    for (const auto& row : tx.exec_params(
             absl::StrCat("SELECT v.id ", kReleasable, "AND v.id > $1 ORDER BY v.id LIMIT $2"),
             after_version_id, static_cast<int64_t>(limit))) {
      candidates.push_back(row[0].as<int64_t>());
    }
    if (candidates.empty()) return dry_run ? DryRunRollback() : absl::OkStatus();
    b.next_after = candidates.size() == limit ? candidates.back() : 0;
    // Serialise with BindFolder (FOR UPDATE on the device row): a binding
    // committed before this point is seen below; one committed after it
    // finds the version released (its backfill skips released versions).
    tx.exec_params(
        "SELECT 1 FROM devices WHERE id IN (SELECT fo.device_id FROM file_versions v "
        "JOIN files f ON f.id = v.file_id JOIN folders fo ON fo.id = f.folder_id "
        "WHERE v.id = ANY($1::bigint[])) ORDER BY id FOR KEY SHARE",
        NumArray(candidates));
    std::vector<int64_t> locked;
    for (const auto& row :
         tx.exec_params(absl::StrCat("SELECT v.id ", kReleasable,
                                     "AND v.id = ANY($1::bigint[]) ORDER BY v.id FOR UPDATE OF v"),
                        NumArray(candidates))) {
      locked.push_back(row[0].as<int64_t>());
    }
    if (locked.empty()) return dry_run ? DryRunRollback() : absl::OkStatus();
    for (const auto& row : tx.exec_params(
             "UPDATE file_versions SET chunks_dropped = true WHERE id = ANY($1::bigint[]) "
             "AND NOT chunks_dropped RETURNING id, chunk_list",
             NumArray(locked))) {
      b.released_ids.push_back(row[0].as<int64_t>());
      RETURN_IF_ERROR(CountRefs(Bin(row[1]), row[0].as<int64_t>(), &b.unreferenced));
    }
    b.versions_released = b.released_ids.size();
    b.chunks_now_unreferenced = DropReferences(tx, b.unreferenced);
    return dry_run ? DryRunRollback() : absl::OkStatus();
  });
  if (!st.ok() && !IsDryRunRollback(st)) return st;
  return b;
}

absl::StatusOr<PruneBatch> PgRetentionStore::PruneVersions(
    int64_t after_file_id, uint32_t limit, const RetentionDecider& decide, bool dry_run,
    const std::vector<int64_t>& skip_decrement) {
  PruneBatch b;
  const std::set<int64_t> skip(skip_decrement.begin(), skip_decrement.end());
  absl::Status st = store_->RunInTransaction("prune versions", [&](Tx& tx) {
    b = PruneBatch{};
    // Files with something to decide: an older version, or a delete.
    std::vector<int64_t> file_ids;
    for (const auto& row : tx.exec_params(
             "SELECT f.id FROM files f JOIN file_versions cur ON cur.id = f.current_version_id "
             "WHERE f.id > $1 AND (cur.deleted_at IS NOT NULL OR EXISTS (SELECT 1 FROM "
             "file_versions v WHERE v.file_id = f.id AND v.id <> f.current_version_id)) "
             "ORDER BY f.id LIMIT $2",
             after_file_id, static_cast<int64_t>(limit))) {
      file_ids.push_back(row[0].as<int64_t>());
    }
    if (file_ids.empty()) return dry_run ? DryRunRollback() : absl::OkStatus();
    b.next_after = file_ids.size() == limit ? file_ids.back() : 0;
    const int64_t now_ms = tx.exec1("SELECT epoch_ms(now())")[0].as<int64_t>();
    // Locks: files (ReportFiles moves current_version_id under this lock),
    // then their versions (MarkChunkStored completes versions under it),
    // then their jobs (a lease cannot start on a job locked here).
    struct File {
      int64_t folder_id = 0;
      FileFacts facts;
    };
    std::map<int64_t, File> files;
    for (const auto& row :
         tx.exec_params("SELECT id, folder_id, COALESCE(current_version_id, 0) FROM files "
                        "WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                        NumArray(file_ids))) {
      File& f = files[row[0].as<int64_t>()];
      f.folder_id = row[1].as<int64_t>();
      f.facts.current_version_id = row[2].as<int64_t>();
    }
    struct Version {
      int64_t file_id = 0;
      int64_t size = 0;
    };
    std::map<int64_t, Version> versions;
    for (const auto& row : tx.exec_params(
             "SELECT id, file_id, epoch_ms(created_at), state, epoch_ms(deleted_at), size "
             "FROM file_versions WHERE file_id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
             NumArray(file_ids))) {
      const int64_t id = row[0].as<int64_t>();
      File& f = files[row[1].as<int64_t>()];
      f.facts.versions.push_back(VersionFacts{id, row[2].as<int64_t>(), row[3].as<int>() == 2});
      if (id == f.facts.current_version_id) f.facts.deleted_unix_ms = row[4].as<int64_t>();
      versions[id] = Version{row[1].as<int64_t>(), row[5].as<int64_t>()};
    }
    std::set<int64_t> in_use;
    for (const auto& row :
         tx.exec_params("SELECT version_id, state FROM jobs WHERE version_id IN (SELECT id FROM "
                        "file_versions WHERE file_id = ANY($1::bigint[])) ORDER BY id FOR UPDATE",
                        NumArray(file_ids))) {
      if (row[1].as<int>() == 2) in_use.insert(row[0].as<int64_t>());
    }
    std::vector<int64_t> remove, forget;
    for (const auto& [file_id, f] : files) {
      RetentionDecision d = decide(f.folder_id, f.facts, now_ms);
      bool all_removed = d.forget_file;
      for (int64_t v : d.remove) {
        if (in_use.count(v)) {
          ++b.versions_in_use;
          all_removed = false;
          continue;
        }
        remove.push_back(v);
        b.version_bytes += versions[v].size;
      }
      if (all_removed) forget.push_back(file_id);
    }
    b.files_forgotten = forget.size();
    if (remove.empty()) return dry_run ? DryRunRollback() : absl::OkStatus();
    std::sort(remove.begin(), remove.end());
    b.jobs_removed =
        tx.exec_params("DELETE FROM jobs WHERE version_id = ANY($1::bigint[])", NumArray(remove))
            .affected_rows();
    tx.exec_params("DELETE FROM version_missing WHERE version_id = ANY($1::bigint[])",
                   NumArray(remove));
    if (!forget.empty()) {
      tx.exec_params("UPDATE files SET current_version_id = NULL WHERE id = ANY($1::bigint[])",
                     NumArray(forget));
    }
    for (const auto& row : tx.exec_params("DELETE FROM file_versions WHERE id = ANY($1::bigint[]) "
                                          "RETURNING id, chunk_list, chunks_dropped",
                                          NumArray(remove))) {
      ++b.versions_removed;
      if (row[2].as<bool>() || skip.count(row[0].as<int64_t>())) continue;
      RETURN_IF_ERROR(CountRefs(Bin(row[1]), row[0].as<int64_t>(), &b.unreferenced));
    }
    b.chunks_now_unreferenced = DropReferences(tx, b.unreferenced);
    return dry_run ? DryRunRollback() : absl::OkStatus();
  });
  if (!st.ok() && !IsDryRunRollback(st)) return st;
  return b;
}

absl::StatusOr<std::vector<std::string>> PgRetentionStore::MarkCollectable(const std::string& after,
                                                                           uint32_t limit,
                                                                           uint32_t grace_s) {
  std::vector<std::string> out;
  RETURN_IF_ERROR(store_->RunInTransaction("mark collectable chunks", [&](Tx& tx) {
    out.clear();
    // A chunk at 0 without a time (never expected) waits a full grace period.
    tx.exec(
        "UPDATE chunks SET unreferenced_at = now() WHERE refcount <= 0 "
        "AND unreferenced_at IS NULL");
    for (const auto& row : tx.exec_params(
             "WITH l AS (SELECT id FROM chunks WHERE refcount <= 0 AND id > $1 "
             "  AND unreferenced_at <= now() - $2::bigint * interval '1 second' "
             "  ORDER BY id LIMIT $3 FOR UPDATE) "
             "UPDATE chunks c SET stored = false FROM l WHERE c.id = l.id RETURNING c.id",
             BinParam(after), static_cast<int64_t>(grace_s), static_cast<int64_t>(limit))) {
      out.push_back(Bin(row[0]));
    }
    std::sort(out.begin(), out.end());
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<DeletedChunk>> PgRetentionStore::DeleteCollectable(
    const std::vector<std::string>& ids,
    const std::function<std::vector<std::string>(const std::vector<std::string>&)>& delete_blobs) {
  std::vector<DeletedChunk> out;
  if (ids.empty()) return out;
  std::set<std::string> blobs_gone;
  absl::Status st = store_->RunInTransaction("delete collectable chunks", [&](Tx& tx) {
    out.clear();
    std::vector<std::string> locked;
    for (const auto& row :
         tx.exec_params("SELECT id FROM chunks WHERE id = ANY($1::bytea[]) AND refcount <= 0 "
                        "AND NOT stored ORDER BY id FOR UPDATE",
                        ByteaArray(ids))) {
      locked.push_back(Bin(row[0]));
    }
    if (locked.empty()) return absl::OkStatus();
    // Under the row locks: a report referencing one of these waits for
    // this transaction and then creates the row afresh (not stored).
    std::vector<std::string> gone = delete_blobs(locked);
    blobs_gone.insert(gone.begin(), gone.end());
    if (gone.empty()) return absl::OkStatus();
    tx.exec_params("DELETE FROM device_chunks WHERE chunk_id = ANY($1::bytea[])", ByteaArray(gone));
    tx.exec_params("DELETE FROM version_missing WHERE chunk_id = ANY($1::bytea[])",
                   ByteaArray(gone));
    for (const auto& row : tx.exec_params(
             "DELETE FROM chunks WHERE id = ANY($1::bytea[]) RETURNING id, size, stored_size",
             ByteaArray(gone))) {
      out.push_back(DeletedChunk{Bin(row[0]), static_cast<uint64_t>(row[1].as<int64_t>()),
                                 static_cast<uint64_t>(row[2].as<int64_t>())});
    }
    return absl::OkStatus();
  });
  if (!st.ok() && !blobs_gone.empty()) {
    // The rows may have survived while their blobs are gone, and an upload
    // may have marked one stored meanwhile: say "not stored" again, so that
    // whoever needs the chunk is asked for it.
    std::vector<std::string> gone(blobs_gone.begin(), blobs_gone.end());
    absl::Status fix = store_->RunInTransaction("unmark deleted chunks", [&](Tx& tx) {
      tx.exec_params("UPDATE chunks SET stored = false WHERE id = ANY($1::bytea[])",
                     ByteaArray(gone));
      return absl::OkStatus();
    });
    if (!fix.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat(st.message(), "; marking the ", gone.size(),
                                       " deleted chunks not stored failed too (", fix.message(),
                                       "); run `shoebox verify` to find them"));
    }
  }
  RETURN_IF_ERROR(st);
  return out;
}

absl::StatusOr<uint64_t> PgRetentionStore::CountInGrace(uint32_t grace_s) {
  uint64_t n = 0;
  RETURN_IF_ERROR(store_->RunInTransaction("count chunks in grace", [&](Tx& tx) {
    n = tx.exec_params1(
              "SELECT count(*) FROM chunks WHERE refcount <= 0 AND (unreferenced_at IS NULL OR "
              "unreferenced_at > now() - $1::bigint * interval '1 second')",
              static_cast<int64_t>(grace_s))[0]
            .as<int64_t>();
    return absl::OkStatus();
  }));
  return n;
}

absl::StatusOr<ChunkForecast> PgRetentionStore::CollectableNow(uint32_t grace_s) {
  ChunkForecast f;
  RETURN_IF_ERROR(store_->RunInTransaction("count collectable chunks", [&](Tx& tx) {
    pqxx::row r = tx.exec_params1(
        "SELECT count(*), COALESCE(sum(size), 0), COALESCE(sum(stored_size), 0) FROM chunks "
        "WHERE refcount <= 0 AND unreferenced_at <= now() - $1::bigint * interval '1 second'",
        static_cast<int64_t>(grace_s));
    f = ChunkForecast{static_cast<uint64_t>(r[0].as<int64_t>()),
                      static_cast<uint64_t>(r[1].as<int64_t>()),
                      static_cast<uint64_t>(r[2].as<int64_t>())};
    return absl::OkStatus();
  }));
  return f;
}

absl::StatusOr<ChunkForecast> PgRetentionStore::WouldUnreference(
    const std::map<std::string, int64_t>& refs) {
  ChunkForecast f;
  if (refs.empty()) return f;
  std::vector<std::string> ids;
  std::vector<int64_t> counts;
  for (const auto& [id, n] : refs) {
    ids.push_back(id);
    counts.push_back(n);
  }
  RETURN_IF_ERROR(store_->RunInTransaction("forecast unreferenced chunks", [&](Tx& tx) {
    pqxx::row r = tx.exec_params1(
        "SELECT count(*), COALESCE(sum(c.size), 0), COALESCE(sum(c.stored_size), 0) "
        "FROM unnest($1::bytea[], $2::bigint[]) AS d(id, n) JOIN chunks c ON c.id = d.id "
        "WHERE c.refcount > 0 AND c.refcount - d.n <= 0",
        ByteaArray(ids), NumArray(counts));
    f = ChunkForecast{static_cast<uint64_t>(r[0].as<int64_t>()),
                      static_cast<uint64_t>(r[1].as<int64_t>()),
                      static_cast<uint64_t>(r[2].as<int64_t>())};
    return absl::OkStatus();
  }));
  return f;
}

absl::StatusOr<bool> PgRetentionStore::ClaimScheduledRun(const std::string& name,
                                                         uint32_t interval_s) {
  bool claimed = false;
  RETURN_IF_ERROR(store_->RunInTransaction("claim scheduled run", [&](Tx& tx) {
    claimed = false;
    pqxx::result ins = tx.exec_params(
        "INSERT INTO maintenance_runs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", name);
    if (ins.affected_rows() == 1) return absl::OkStatus();  // first sight: wait one interval
    claimed = tx.exec_params(
                    "UPDATE maintenance_runs SET last_run_at = now() WHERE name = $1 AND "
                    "last_run_at <= now() - $2::bigint * interval '1 second'",
                    name, static_cast<int64_t>(interval_s))
                  .affected_rows() == 1;
    return absl::OkStatus();
  }));
  return claimed;
}

}  // namespace shoebox::coordinator
