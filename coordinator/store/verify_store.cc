// Verification SQL (libpqxx 6.4). See verify_store.h and docs/verify.md.
#include "coordinator/store/verify_store.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <set>

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
using pg::NumArray;
using pg::Tx;

// Splits a parameter of concatenated 32-byte IDs into rows (no bytea[]
// text literal to escape).
constexpr char kIdsCte[] =
    "ids AS (SELECT substring($1::bytea FROM g * 32 + 1 FOR 32) AS id "
    "FROM generate_series(0, length($1::bytea) / 32 - 1) AS g)";

constexpr char kCurrentDelivered[] =
    "FROM jobs j JOIN destinations ds ON ds.id = j.destination_id "
    "JOIN file_versions v ON v.id = j.version_id "
    "JOIN files f ON f.id = v.file_id AND f.current_version_id = v.id "
    "WHERE j.kind = 1 AND j.state = 3 AND ($1::text = '' OR ds.name = $1::text) "
    "AND ds.removed_at IS NULL ";

}  // namespace

absl::StatusOr<uint64_t> PgVerifyStore::CountStoredChunks() {
  uint64_t n = 0;
  RETURN_IF_ERROR(store_->RunInTransaction("count stored chunks", [&](Tx& tx) {
    n = tx.exec1("SELECT count(*) FROM chunks WHERE stored")[0].as<int64_t>();
    return absl::OkStatus();
  }));
  return n;
}

absl::StatusOr<std::vector<ScrubItem>> PgVerifyStore::NextScrubBatch(uint32_t limit) {
  std::vector<ScrubItem> out;
  RETURN_IF_ERROR(store_->RunInTransaction("select chunks to scrub", [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec_params("SELECT id, size FROM chunks WHERE stored "
                                          "ORDER BY last_scrubbed_at NULLS FIRST, id LIMIT $1",
                                          static_cast<int64_t>(limit))) {
      out.push_back(ScrubItem{Bin(row[0]), static_cast<uint32_t>(row[1].as<int64_t>())});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PgVerifyStore::MarkScrubbed(const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  std::string cat;
  for (const auto& id : ids) cat += id;
  return store_->RunInTransaction("record scrubbed chunks", [&](Tx& tx) {
    tx.exec_params(absl::StrCat("WITH ", kIdsCte,
                                " UPDATE chunks c SET last_scrubbed_at = now() FROM ids "
                                "WHERE c.id = ids.id"),
                   BinParam(cat));
    return absl::OkStatus();
  });
}

absl::Status PgVerifyStore::RecordDamage(const std::string& id, const std::string& error) {
  return store_->RunInTransaction("record damaged chunk", [&](Tx& tx) {
    if (tx.exec_params("UPDATE chunks SET stored = false, last_scrubbed_at = now() WHERE id = $1",
                       BinParam(id))
            .affected_rows() == 0) {
      return absl::OkStatus();  // no such chunk (any more): nothing references it
    }
    tx.exec_params(
        "INSERT INTO chunk_damage (chunk_id, error) VALUES ($1, $2) "
        "ON CONFLICT (chunk_id) DO UPDATE SET error = EXCLUDED.error, "
        "found_at = CASE WHEN chunk_damage.repaired_at IS NULL THEN chunk_damage.found_at "
        "  ELSE now() END, repaired_at = NULL, repaired_by = ''",
        BinParam(id), error.substr(0, 2000));
    return absl::OkStatus();
  });
}

absl::Status PgVerifyStore::MarkRepaired(const std::string& id, const std::string& by) {
  return store_->RunInTransaction("record repaired chunk", [&](Tx& tx) {
    tx.exec_params(
        "UPDATE chunk_damage SET repaired_at = now(), repaired_by = $2 "
        "WHERE chunk_id = $1 AND repaired_at IS NULL",
        BinParam(id), by);
    tx.exec_params("UPDATE chunks SET last_scrubbed_at = now() WHERE id = $1", BinParam(id));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<DamagedChunk>> PgVerifyStore::OpenDamage(bool queue_repairs,
                                                                    uint64_t* repairs_queued) {
  std::vector<DamagedChunk> out;
  RETURN_IF_ERROR(store_->RunInTransaction("plan chunk repairs", [&](Tx& tx) {
    out.clear();
    *repairs_queued = 0;
    // A device re-uploaded the chunk (or a repair stored it): closed.
    tx.exec(
        "UPDATE chunk_damage d SET repaired_at = now(), repaired_by = 're-upload' "
        "FROM chunks c WHERE c.id = d.chunk_id AND c.stored AND d.repaired_at IS NULL");
    // Pruned meanwhile: nothing needs it.
    tx.exec(
        "UPDATE chunk_damage d SET repaired_at = now(), repaired_by = 'gone' "
        "WHERE d.repaired_at IS NULL AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = "
        "d.chunk_id)");
    std::map<std::string, size_t> index;
    for (const auto& row : tx.exec("SELECT chunk_id, error, epoch_ms(found_at) FROM chunk_damage "
                                   "WHERE repaired_at IS NULL ORDER BY found_at, chunk_id")) {
      auto& d = out.emplace_back();
      d.id = Bin(row[0]);
      d.error = row[1].c_str();
      d.found_unix_ms = row[2].as<int64_t>();
      index[d.id] = out.size() - 1;
    }
    if (out.empty()) return absl::OkStatus();
    // Versions containing each damaged chunk (every version, not only the
    // current ones: each is a file a restore may ask for).
    std::vector<int64_t> versions;
    for (const auto& row : tx.exec(
             "SELECT d.chunk_id, v.id, dev.name, fo.root, f.path, v.chunk_list "
             "FROM chunk_damage d JOIN file_versions v ON position(d.chunk_id IN v.chunk_list) > 0 "
             "JOIN files f ON f.id = v.file_id JOIN folders fo ON fo.id = f.folder_id "
             "JOIN devices dev ON dev.id = fo.device_id "
             "WHERE d.repaired_at IS NULL ORDER BY d.chunk_id, v.id")) {
      const std::string id = Bin(row[0]);
      absl::StatusOr<bool> in_list = ChunkListContains(Bin(row[5]), id);
      if (!in_list.ok()) {
        return Annotate(in_list.status(), absl::StrCat("version ", row[1].as<int64_t>()));
      }
      if (!*in_list) continue;
      auto it = index.find(id);
      if (it == index.end()) continue;
      AffectedFile& f = out[it->second].files.emplace_back();
      f.version_id = row[1].as<int64_t>();
      f.device = row[2].c_str();
      f.folder = Bin(row[3]);
      f.path = Bin(row[4]);
      versions.push_back(f.version_id);
    }
    std::map<int64_t, std::vector<std::pair<int64_t, std::string>>> copies;  // version → dests
    if (!versions.empty()) {
      for (const auto& row :
           tx.exec_params("SELECT j.version_id, j.destination_id, ds.name FROM jobs j "
                          "JOIN destinations ds ON ds.id = j.destination_id "
                          "WHERE j.kind = 1 AND j.state = 3 AND j.version_id = ANY($1::bigint[]) "
                          "AND ds.removed_at IS NULL ORDER BY j.version_id, ds.name",
                          NumArray(versions))) {
        copies[row[0].as<int64_t>()].emplace_back(row[1].as<int64_t>(), row[2].c_str());
      }
    }
    for (auto& d : out) {
      std::map<int64_t, int64_t> source;  // destination → lowest version it holds
      for (AffectedFile& f : d.files) {
        for (const auto& [dest, name] : copies[f.version_id]) {
          f.destinations.push_back(name);
          if (!source.count(dest)) source[dest] = f.version_id;
        }
      }
      d.repair_queued = !source.empty();
      if (!queue_repairs) continue;
      for (const auto& [dest, version] : source) {
        // An open verify job of that copy gets the repair at lease time;
        // raise its priority, or queue one.
        pqxx::result r = tx.exec_params(
            "WITH up AS (UPDATE jobs SET priority = GREATEST(priority, 100), updated_at = now() "
            "  WHERE kind = 2 AND state IN (1, 2, 4) AND version_id = $1 AND destination_id = $2 "
            "  RETURNING id) "
            "INSERT INTO jobs (kind, state, priority, destination_id, version_id, device_id, "
            "  remote_ref) "
            "SELECT 2, 1, 100, j.destination_id, j.version_id, j.device_id, j.remote_ref "
            "FROM jobs j WHERE j.kind = 1 AND j.version_id = $1 AND j.destination_id = $2 "
            "AND NOT EXISTS (SELECT 1 FROM up)",
            version, dest);
        *repairs_queued += r.affected_rows();
      }
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> PgVerifyStore::QueueRemoteChecks(const std::string& destination,
                                                          double percent) {
  uint64_t queued = 0;
  RETURN_IF_ERROR(store_->RunInTransaction("queue remote checks", [&](Tx& tx) {
    if (!destination.empty() &&
        tx.exec_params("SELECT 1 FROM destinations WHERE name = $1 AND removed_at IS NULL",
                       destination)
            .empty()) {
      return absl::NotFoundError(
          absl::StrCat("destination: no destination named '", destination, "'"));
    }
    const int64_t total =
        tx.exec_params1(absl::StrCat("SELECT count(*) ", kCurrentDelivered), destination)[0]
            .as<int64_t>();
    const int64_t limit =
        std::min<int64_t>(total, static_cast<int64_t>(std::ceil(total * percent / 100.0)));
    if (limit <= 0) {
      queued = 0;
      return absl::OkStatus();
    }
    queued =
        tx.exec_params(
              absl::StrCat("WITH cand AS (SELECT j.destination_id, j.version_id, j.device_id, "
                           "j.remote_ref ",
                           kCurrentDelivered,
                           "AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.kind = 2 AND o.state IN "
                           "(1, 2, 4) AND o.version_id = j.version_id AND o.destination_id = "
                           "j.destination_id) ORDER BY j.verified_at NULLS FIRST, j.id LIMIT $2) "
                           "INSERT INTO jobs (kind, state, priority, destination_id, version_id, "
                           "device_id, remote_ref) "
                           "SELECT 2, 1, -10, destination_id, version_id, device_id, remote_ref "
                           "FROM cand"),
              destination, limit)
            .affected_rows();
    return absl::OkStatus();
  }));
  return queued;
}

absl::StatusOr<std::vector<FileVersion>> PgVerifyStore::SampleCurrentVersions(uint32_t n) {
  std::vector<FileVersion> out;
  RETURN_IF_ERROR(store_->RunInTransaction("sample versions", [&](Tx& tx) {
    out.clear();
    for (const auto& row : tx.exec_params(
             "SELECT v.id, d.name, fo.root, f.path, v.size, v.mtime_ns, v.sha256, v.chunk_list "
             "FROM files f JOIN file_versions v ON v.id = f.current_version_id "
             "JOIN folders fo ON fo.id = f.folder_id JOIN devices d ON d.id = fo.device_id "
             "WHERE v.state = 2 AND v.deleted_at IS NULL AND NOT v.chunks_dropped ORDER BY "
             "random() LIMIT $1",
             static_cast<int64_t>(n))) {
      auto& v = out.emplace_back();
      v.version_id = row[0].as<int64_t>();
      v.device = row[1].c_str();
      v.folder = Bin(row[2]);
      v.path = Bin(row[3]);
      v.size = static_cast<uint64_t>(row[4].as<int64_t>());
      v.mtime_ns = row[5].as<int64_t>();
      v.sha256 = Bin(row[6]);
      absl::StatusOr<std::vector<ChunkRef>> chunks = DecodeChunkList(Bin(row[7]));
      if (!chunks.ok()) return Annotate(chunks.status(), absl::StrCat("version ", v.version_id));
      v.chunks = std::move(*chunks);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int64_t> PgVerifyStore::StartRun(const std::string& trigger, double scrub_percent) {
  int64_t id = 0;
  RETURN_IF_ERROR(store_->RunInTransaction("start verify run", [&](Tx& tx) {
    id = tx.exec_params1(
               "INSERT INTO verify_runs (trigger, scrub_percent) VALUES ($1, $2) RETURNING id",
               trigger, scrub_percent)[0]
             .as<int64_t>();
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<int64_t> PgVerifyStore::ClaimScheduledRun(uint64_t interval_ms,
                                                         double scrub_percent) {
  int64_t id = 0;
  RETURN_IF_ERROR(store_->RunInTransaction("claim scheduled verify run", [&](Tx& tx) {
    id = 0;
    // One coordinator decides at a time (key: "verify" in the schema's
    // advisory lock range).
    tx.exec("SELECT pg_advisory_xact_lock(4857124)");
    if (!tx.exec_params("SELECT 1 FROM verify_runs WHERE trigger = 'schedule' AND "
                        "started_at > now() - $1::bigint * interval '1 millisecond' LIMIT 1",
                        static_cast<int64_t>(interval_ms))
             .empty()) {
      return absl::OkStatus();
    }
    id = tx.exec_params1(
               "INSERT INTO verify_runs (trigger, scrub_percent) VALUES ('schedule', $1) "
               "RETURNING id",
               scrub_percent)[0]
             .as<int64_t>();
    return absl::OkStatus();
  }));
  return id;
}

absl::Status PgVerifyStore::FinishRun(int64_t run_id, const VerifyRunResult& r,
                                      const std::string& error) {
  return store_->RunInTransaction("finish verify run", [&](Tx& tx) {
    tx.exec_params(
        "UPDATE verify_runs SET finished_at = now(), chunks_scrubbed = $2, chunks_bad = $3, "
        "remote_checks_queued = $4, repairs_queued = $5, test_restored_files = $6, "
        "test_restore_failed = $7, unrepairable_files = $8, error = $9 WHERE id = $1",
        run_id, static_cast<int64_t>(r.chunks_scrubbed), static_cast<int64_t>(r.chunks_bad),
        static_cast<int64_t>(r.remote_checks_queued), static_cast<int64_t>(r.repairs_queued),
        static_cast<int64_t>(r.test_restored_files), static_cast<int64_t>(r.test_restore_failed),
        static_cast<int64_t>(r.unrepairable_files), error.substr(0, 2000));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::set<std::string>> PgVerifyStore::OpenDamageAmong(
    const std::vector<std::string>& chunk_ids) {
  std::string cat;
  std::set<std::string> seen;
  for (const std::string& id : chunk_ids) {
    if (id.size() == 32 && seen.insert(id).second) cat += id;
  }
  std::set<std::string> damaged;
  if (cat.empty()) return damaged;
  RETURN_IF_ERROR(store_->RunInTransaction("find chunks to repair", [&](Tx& tx) {
    damaged.clear();
    for (const auto& row : tx.exec_params(
             absl::StrCat("WITH ", kIdsCte,
                          " SELECT d.chunk_id FROM ids JOIN chunk_damage d ON d.chunk_id = ids.id "
                          "JOIN chunks c ON c.id = d.chunk_id "
                          "WHERE d.repaired_at IS NULL AND NOT c.stored"),
             BinParam(cat))) {
      damaged.insert(Bin(row[0]));
    }
    return absl::OkStatus();
  }));
  return damaged;
}

absl::Status PgVerifyStore::CheckRepairLease(int64_t job_id, const std::string& token,
                                             const std::string& chunk_id,
                                             const std::string& worker) {
  return store_->RunInTransaction("check repair lease", [&](Tx& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT j.kind, v.chunk_list, j.lease_owner IS NOT DISTINCT FROM "
        "(SELECT id FROM workers WHERE name = $3) "
        "FROM jobs j JOIN file_versions v ON v.id = j.version_id "
        "WHERE j.id = $1 AND j.lease_token = $2 AND j.state = 2 AND j.lease_deadline >= now()",
        job_id, token, worker);
    if (!r.empty() && !r[0][2].as<bool>()) {
      return absl::PermissionDeniedError(
          absl::StrCat("job ", job_id,
                       " is leased to another worker; a worker repairs only with its own lease"));
    }
    if (r.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job_id, ": no live lease with this token; drop the repair and lease again"));
    }
    if (r[0][0].as<int>() != static_cast<int>(JobKind::kVerify)) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id, " is not a verify job; only verify jobs repair chunks"));
    }
    ASSIGN_OR_RETURN(bool in_list, ChunkListContains(Bin(r[0][1]), chunk_id));
    if (!in_list) {
      return absl::InvalidArgumentError(
          absl::StrCat("id: chunk ", ToHex(chunk_id), " is not part of the file of job ", job_id));
    }
    return absl::OkStatus();
  });
}

// Files by copies, from the counters of migration 14 (kept by triggers;
// docs/performance.md, "A million files"): each current, not deleted,
// complete version is counted under its number of destination copies
// (file_versions.delivered_dests, 3 = 3 or more), assuming the chunk store
// copy is good. Only while damaged chunks are open are the versions that
// hold one looked up (one pass over the current versions' chunk lists; a
// repair or a re-upload closes the damage) and moved down by one copy.
absl::StatusOr<CopySummary> PgVerifyStore::GetCopySummary() {
  CopySummary s;
  RETURN_IF_ERROR(store_->RunInTransaction("verification status", [&](Tx& tx) {
    pqxx::row c = tx.exec1(
        "SELECT COALESCE(sum(copies0), 0), COALESCE(sum(copies1), 0), "
        "COALESCE(sum(copies2), 0), COALESCE(sum(copies3), 0), "
        "(SELECT count(*) FROM chunk_damage d JOIN chunks c ON c.id = d.chunk_id "
        "  WHERE d.repaired_at IS NULL AND NOT c.stored), "
        "(SELECT COALESCE(max(epoch_ms(finished_at)), 0) FROM verify_runs WHERE error = '') "
        "FROM status_version_counts");
    // h[k]: versions with k destination copies (k = 3: 3 or more).
    const int64_t h[4] = {c[0].as<int64_t>(), c[1].as<int64_t>(), c[2].as<int64_t>(),
                          c[3].as<int64_t>()};
    s.damaged_chunks = static_cast<uint64_t>(c[4].as<int64_t>());
    s.last_verify_unix_ms = c[5].as<int64_t>();
    // a[k]: those among them whose chunk store copy is damaged.
    int64_t a[3] = {0, 0, 0};
    if (s.damaged_chunks > 0) {
      pqxx::row d = tx.exec1(
          "WITH dmg AS (SELECT d.chunk_id FROM chunk_damage d JOIN chunks c ON c.id = d.chunk_id "
          "  WHERE d.repaired_at IS NULL AND NOT c.stored), "
          "aff AS (SELECT v.delivered_dests AS n FROM file_versions v WHERE v.is_current "
          "  AND v.deleted_at IS NULL AND v.state = 2 AND EXISTS (SELECT 1 FROM dmg "
          "    WHERE position(dmg.chunk_id IN v.chunk_list) > 0)) "
          "SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n = 1), "
          "count(*) FILTER (WHERE n = 2) FROM aff");
      for (int k = 0; k < 3; ++k) a[k] = d[k].as<int64_t>();
    }
    // Copies = destination copies + 1 unless damaged.
    s.files_with_no_copy = static_cast<uint64_t>(a[0]);
    s.files_with_1_copy = static_cast<uint64_t>(h[0] + h[1] + h[2] + h[3] - a[0]);
    s.files_with_2_copies = static_cast<uint64_t>(h[1] + h[2] + h[3] - a[1]);
    s.files_with_3_copies = static_cast<uint64_t>(h[2] + h[3] - a[2]);
    return absl::OkStatus();
  }));
  return s;
}

}  // namespace shoebox::coordinator
