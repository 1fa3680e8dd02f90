// ReportFiles (libpqxx 6.4): one transaction per batch of file reports, as
// named steps over one ReportBatch. See pg_store.h.
//
//   RecordDeletes            deletes mark the current version deleted
//   MatchExistingFiles       which reported files exist, which are unchanged
//   AskForPendingChunks      unchanged pending versions: what they still wait for
//   ClassifyChunks           stored? owned by the device? sizes that do not
//                            match a stored chunk refuse the file
//   AssignVersionIds         version IDs for every new version
//   CreateNewFiles           file rows for new paths, pointing at their version
//   PointFilesAtNewVersions  changed files point at their new version
//   AskForLostChunks         unchanged complete versions: chunks lost since
//   AddChunkReferences       chunk rows and refcounts
//   InsertVersions           the new versions, complete or pending
//   RecordMissingChunks      what the pending new versions wait for
//   RecordImportFacts        albums and capture dates of imported items
//                            (pg_import.cc; before the deliveries are queued)
//   CreateDeliveries         deliveries for the versions complete at once
//
// Proof of ownership (docs/security.md): a version waits for each chunk
// until it is stored and its device owns it (device_chunks: the device
// uploaded it or answered a challenge over its content). A chunk stored but
// not owned is `unproven`: the catalog sends a challenge for it. Naming a
// chunk ID in a report gives nothing else.
#include <algorithm>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "coordinator/store/chunk_list_format.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

namespace {

// Folder and path as one map key.
std::string FileKey(int64_t folder, const std::string& path) {
  std::string k(reinterpret_cast<const char*>(&folder), sizeof folder);
  k += path;
  return k;
}

// The state of one run of the report transaction. Indexes are into `items`.
struct ReportBatch {
  ReportBatch(int64_t device, const std::vector<ReportItem>& in, std::vector<ReportOutcome>* o)
      : device_id(device), items(in), out(*o), file_id(in.size(), 0), seen(in.size(), false) {
    out.assign(items.size(), ReportOutcome{});
    for (size_t i = 0; i < items.size(); ++i) (items[i].deleted ? dels : ups).push_back(i);
  }

  const int64_t device_id;
  const std::vector<ReportItem>& items;
  std::vector<ReportOutcome>& out;
  std::vector<size_t> ups, dels;      // upserts and deletes
  std::vector<int64_t> file_id;       // per item, once known
  std::vector<bool> seen;             // per item: its file exists
  std::vector<size_t> fresh;          // items needing a new version
  std::vector<size_t> new_files;      // items whose file is new (also in fresh)
  std::vector<int64_t> same_pending;  // unchanged versions still waiting for chunks
  absl::flat_hash_map<int64_t, size_t> same_pending_idx;  // version → item
  // Unchanged complete versions: a chunk of theirs may have been found
  // damaged (verify) since; the device re-reporting the file is asked for
  // it, which repairs the chunk store from the device.
  std::vector<size_t> same_complete;
  absl::flat_hash_set<std::string> stored;  // chunks of new versions already stored
  // What the catalog knew of the reported chunks at the start (ClassifyChunks).
  struct ChunkFacts {
    uint32_t size = 0;
    bool stored = false;
    bool owned = false;  // by this device
  };
  absl::flat_hash_map<std::string, ChunkFacts> facts;
};

void RecordDeletes(Tx& tx, ReportBatch& b) {
  if (b.dels.empty()) return;
  std::vector<int64_t> folders;
  std::vector<std::string> paths;
  absl::flat_hash_map<std::string, size_t> idx;
  for (size_t i : b.dels) {
    folders.push_back(b.items[i].folder_id);
    paths.push_back(b.items[i].path);
    idx[FileKey(b.items[i].folder_id, b.items[i].path)] = i;
  }
  tx.exec_params(
      "UPDATE file_versions v SET deleted_at = now() FROM files f, "
      "unnest($1::bigint[], $2::bytea[]) AS u(fo, p) "
      "WHERE f.folder_id = u.fo AND f.path = u.p AND v.id = f.current_version_id "
      "AND v.deleted_at IS NULL",
      Int8Arr(folders), ByteaArray(paths));
  for (const auto& row : tx.exec_params(
           "SELECT f.folder_id, f.path, v.id, v.state FROM unnest($1::bigint[], "
           "$2::bytea[]) AS u(fo, p) JOIN files f ON f.folder_id = u.fo AND f.path = u.p "
           "JOIN file_versions v ON v.id = f.current_version_id",
           Int8Arr(folders), ByteaArray(paths))) {
    auto it = idx.find(FileKey(row[0].as<int64_t>(), Bin(row[1])));
    if (it == idx.end()) continue;
    b.out[it->second].version_id = row[2].as<int64_t>();
    b.out[it->second].state = static_cast<VersionState>(row[3].as<int>());
  }
}

// Reads the files of the upserts that exist with their current versions. An
// unchanged file (same size, mtime and SHA-256, not deleted) keeps its
// version; the others get a new one (`fresh`).
void MatchExistingFiles(Tx& tx, ReportBatch& b) {
  std::vector<int64_t> folders;
  std::vector<std::string> paths;
  absl::flat_hash_map<std::string, size_t> idx;
  folders.reserve(b.ups.size());
  paths.reserve(b.ups.size());
  for (size_t i : b.ups) {
    folders.push_back(b.items[i].folder_id);
    paths.push_back(b.items[i].path);
    idx[FileKey(b.items[i].folder_id, b.items[i].path)] = i;
  }
  for (const auto& row : tx.exec_params(
           "SELECT f.id, f.folder_id, f.path, v.id, v.size, v.mtime_ns, v.sha256, v.state, "
           "v.deleted_at IS NULL, COALESCE(v.chunks_dropped, false) "
           "FROM unnest($1::bigint[], $2::bytea[]) AS u(fo, p) "
           "JOIN files f ON f.folder_id = u.fo AND f.path = u.p "
           "LEFT JOIN file_versions v ON v.id = f.current_version_id",
           Int8Arr(folders), ByteaArray(paths))) {
    auto it = idx.find(FileKey(row[1].as<int64_t>(), Bin(row[2])));
    if (it == idx.end()) continue;
    const size_t i = it->second;
    const ReportItem& item = b.items[i];
    b.file_id[i] = row[0].as<int64_t>();
    b.seen[i] = true;
    const bool unchanged = !row[3].is_null() && row[8].as<bool>() &&
                           row[4].as<int64_t>() == static_cast<int64_t>(item.size) &&
                           row[5].as<int64_t>() == item.mtime_ns && Bin(row[6]) == item.sha256;
    if (unchanged) {
      ReportOutcome& o = b.out[i];
      o.unchanged = true;
      o.version_id = row[3].as<int64_t>();
      o.state = static_cast<VersionState>(row[7].as<int>());
      if (o.state == VersionState::kPendingChunks) {
        b.same_pending.push_back(o.version_id);
        b.same_pending_idx[o.version_id] = i;
      } else if (!row[9].as<bool>()) {  // not a pass-through version whose chunks were dropped
        b.same_complete.push_back(i);
      }
    } else {
      b.fresh.push_back(i);
    }
  }
  for (size_t i : b.ups) {
    if (!b.seen[i]) {
      b.fresh.push_back(i);
      b.new_files.push_back(i);
    }
  }
}

// Version IDs for every new version, so new files get their current
// version in the same INSERT (no second write of each file row).
void AssignVersionIds(Tx& tx, ReportBatch& b) {
  if (b.fresh.empty()) return;
  std::vector<int64_t> ids;
  for (const auto& row :
       tx.exec_params("SELECT nextval('file_versions_id_seq') FROM generate_series(1, $1)",
                      static_cast<int64_t>(b.fresh.size()))) {
    ids.push_back(row[0].as<int64_t>());
  }
  std::sort(ids.begin(), ids.end());
  for (size_t k = 0; k < b.fresh.size(); ++k) b.out[b.fresh[k]].version_id = ids[k];
}

// ABORTED (the transaction is run again) when another transaction created
// one of these files meanwhile.
absl::Status CreateNewFiles(Tx& tx, ReportBatch& b) {
  if (b.new_files.empty()) return absl::OkStatus();
  std::vector<int64_t> nf_folder, nf_version;
  std::vector<std::string> nf_path;
  for (size_t i : b.new_files) {
    nf_folder.push_back(b.items[i].folder_id);
    nf_path.push_back(b.items[i].path);
    nf_version.push_back(b.out[i].version_id);
  }
  pqxx::result r = tx.exec_params(
      "INSERT INTO files (folder_id, path, current_version_id) "
      "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[]) "
      "ON CONFLICT (folder_id, path) DO NOTHING RETURNING id, current_version_id",
      Int8Arr(nf_folder), ByteaArray(nf_path), Int8Arr(nf_version));
  if (r.size() != b.new_files.size()) {
    return absl::AbortedError("report files: concurrent report of the same new file");
  }
  absl::flat_hash_map<int64_t, size_t> by_version;
  for (size_t i : b.new_files) by_version[b.out[i].version_id] = i;
  for (const auto& row : r) b.file_id[by_version[row[1].as<int64_t>()]] = row[0].as<int64_t>();
  return absl::OkStatus();
}

void PointFilesAtNewVersions(Tx& tx, ReportBatch& b) {
  std::vector<int64_t> ch_file, ch_version;
  for (size_t i : b.fresh) {
    if (b.seen[i]) {
      ch_file.push_back(b.file_id[i]);
      ch_version.push_back(b.out[i].version_id);
    }
  }
  if (ch_file.empty()) return;
  tx.exec_params(
      "UPDATE files SET current_version_id = u.v FROM unnest($1::bigint[], "
      "$2::bigint[]) AS u(f, v) WHERE files.id = u.f",
      Int8Arr(ch_file), Int8Arr(ch_version));
}

// Unchanged versions still pending: the chunks they still wait for.
void AskForPendingChunks(Tx& tx, ReportBatch& b) {
  if (b.same_pending.empty()) return;
  std::vector<std::string> ids;
  for (int64_t v : b.same_pending) {
    for (const ChunkRefRow& c : b.items[b.same_pending_idx[v]].chunks) ids.push_back(c.id);
  }
  for (const auto& row :
       tx.exec_params("SELECT version_id, chunk_id FROM version_missing WHERE chunk_id = "
                      "ANY($2::bytea[]) AND version_id = ANY($1::bigint[])",
                      Int8Arr(b.same_pending), ByteaArray(ids))) {
    b.out[b.same_pending_idx[row[0].as<int64_t>()]].missing.push_back(Bin(row[1]));
  }
}

// Whether each chunk of the new versions (and each chunk the unchanged
// pending versions wait for) is stored, with which size, and owned by the
// device. A new version naming a stored chunk with another size is refused
// (nothing is recorded for it): a chunk ID has exactly one content. What an
// unchanged pending version waits for that is stored now is a proof.
void ClassifyChunks(Tx& tx, ReportBatch& b) {
  std::vector<std::string> ids;
  for (size_t i : b.fresh)
    for (const ChunkRefRow& c : b.items[i].chunks) ids.push_back(c.id);
  for (int64_t v : b.same_pending)
    for (const std::string& id : b.out[b.same_pending_idx[v]].missing) ids.push_back(id);
  if (ids.empty()) return;
  for (const auto& row :
       tx.exec_params("SELECT c.id, c.size, c.stored, EXISTS (SELECT 1 FROM device_chunks dc "
                      "WHERE dc.device_id = $2 AND dc.chunk_id = c.id) "
                      "FROM chunks c WHERE c.id = ANY($1::bytea[])",
                      ByteaArray(ids), b.device_id)) {
    b.facts[Bin(row[0])] =
        ReportBatch::ChunkFacts{row[1].as<uint32_t>(), row[2].as<bool>(), row[3].as<bool>()};
  }
  for (int64_t v : b.same_pending) {
    ReportOutcome& o = b.out[b.same_pending_idx[v]];
    std::vector<std::string> still_missing;
    for (std::string& id : o.missing) {
      auto f = b.facts.find(id);
      // Stored (and owned only when a report raced the proof: proving it
      // again clears the wait).
      (f != b.facts.end() && f->second.stored ? o.unproven : still_missing)
          .push_back(std::move(id));
    }
    o.missing = std::move(still_missing);
  }
  std::vector<size_t> fresh, new_files;
  absl::flat_hash_set<size_t> refused;
  for (size_t i : b.fresh) {
    const std::vector<ChunkRefRow>& chunks = b.items[i].chunks;
    for (size_t k = 0; k < chunks.size(); ++k) {
      auto f = b.facts.find(chunks[k].id);
      if (f == b.facts.end() || !f->second.stored || f->second.size == chunks[k].size) continue;
      b.out[i].code = absl::StatusCode::kInvalidArgument;
      b.out[i].message = absl::StrCat(
          "chunks[", k, "].size: chunk ", ToHex(chunks[k].id), " is ", chunks[k].size,
          " bytes in this report but the stored chunk with that ID has another size; a chunk "
          "list must come from reading the file (read it again)");
      refused.insert(i);
      break;
    }
    if (!refused.contains(i)) fresh.push_back(i);
  }
  if (refused.empty()) return;
  for (size_t i : b.new_files)
    if (!refused.contains(i)) new_files.push_back(i);
  b.fresh = std::move(fresh);
  b.new_files = std::move(new_files);
}

// Unchanged complete versions: their chunks that are no longer stored
// (found damaged), once each.
void AskForLostChunks(Tx& tx, ReportBatch& b) {
  if (b.same_complete.empty()) return;
  std::vector<std::string> ids;
  for (size_t i : b.same_complete)
    for (const ChunkRefRow& c : b.items[i].chunks) ids.push_back(c.id);
  std::set<std::string> lost;
  for (const auto& row : tx.exec_params(
           "SELECT id FROM chunks WHERE id = ANY($1::bytea[]) AND NOT stored", ByteaArray(ids)))
    lost.insert(Bin(row[0]));
  if (lost.empty()) return;
  for (size_t i : b.same_complete) {
    std::set<std::string> added;
    for (const ChunkRefRow& c : b.items[i].chunks)
      if (lost.count(c.id) && added.insert(c.id).second) b.out[i].missing.push_back(c.id);
  }
}

// Chunk references of the new versions (sorted: a fixed lock order), in one
// statement: chunk rows (refcounts). Only the chunks already stored come
// back (few, unless deduplicated). Ownership is not granted here: only an
// upload or an answered challenge grants it (shoebox_chunk_owned).
void AddChunkReferences(Tx& tx, ReportBatch& b) {
  std::map<std::string, std::pair<uint32_t, int64_t>> refs;  // id → (size, count)
  for (size_t i : b.fresh) {
    for (const ChunkRefRow& c : b.items[i].chunks) {
      auto& r = refs[c.id];
      r.first = c.size;
      ++r.second;
    }
  }
  if (refs.empty()) return;
  std::vector<std::string> ids;
  std::vector<int64_t> sizes, counts;
  ids.reserve(refs.size());
  for (const auto& [id, sc] : refs) {
    ids.push_back(id);
    sizes.push_back(sc.first);
    counts.push_back(sc.second);
  }
  for (const auto& row : tx.exec_params(
           "WITH u AS (SELECT * FROM unnest($1::bytea[], $2::int[], $3::bigint[]) "
           "  AS u(id, size, n) ORDER BY 1), "
           "ins AS (INSERT INTO chunks AS c (id, size, refcount) SELECT id, size, n FROM u "
           "  ORDER BY id ON CONFLICT (id) DO UPDATE SET refcount = c.refcount + "
           "  excluded.refcount RETURNING id, stored) "
           "SELECT id FROM ins WHERE stored",
           ByteaArray(ids), Int4Arr(sizes), Int8Arr(counts))) {
    b.stored.insert(Bin(row[0]));
  }
}

// The new versions: complete when every chunk is stored and owned by the
// device (its own dedup hit, or an empty file), else pending with their
// missing (upload) and unproven (prove) chunks. `dedup`: every chunk was
// already stored. Returns the IDs of those complete at once, ascending.
std::vector<int64_t> InsertVersions(Tx& tx, ReportBatch& b) {
  std::vector<int64_t> v_id, v_file, v_size, v_mtime, v_mode, v_state, v_missing;
  std::vector<std::string> v_sha, v_list;
  std::vector<bool> v_dedup;
  for (size_t i : b.fresh) {
    const ReportItem& item = b.items[i];
    std::vector<std::string>& missing = b.out[i].missing;
    std::vector<std::string>& unproven = b.out[i].unproven;
    bool all_stored = true;
    for (const ChunkRefRow& c : item.chunks) {
      const bool stored = b.stored.contains(c.id);
      all_stored = all_stored && stored;
      if (stored) {
        auto f = b.facts.find(c.id);
        if (f != b.facts.end() && f->second.owned) continue;
      }
      std::vector<std::string>& list = stored ? unproven : missing;
      if (std::find(list.begin(), list.end(), c.id) == list.end()) list.push_back(c.id);
    }
    const size_t waits = missing.size() + unproven.size();
    b.out[i].state = waits == 0 ? VersionState::kComplete : VersionState::kPendingChunks;
    v_id.push_back(b.out[i].version_id);
    v_file.push_back(b.file_id[i]);
    v_size.push_back(static_cast<int64_t>(item.size));
    v_mtime.push_back(item.mtime_ns);
    v_mode.push_back(item.mode);
    v_state.push_back(static_cast<int64_t>(b.out[i].state));
    v_missing.push_back(static_cast<int64_t>(waits));
    v_sha.push_back(item.sha256);
    v_list.push_back(EncodeChunkList(item.chunks));
    v_dedup.push_back(all_stored && !item.chunks.empty());
  }
  // is_current: each file already points at its new version (above), so
  // the status counters' row trigger is skipped; their statement trigger
  // checks the claim (migration 14, migration_status_counters.cc).
  tx.exec_params(
      "INSERT INTO file_versions (id, file_id, size, mtime_ns, sha256, mode, chunk_list, "
      "state, missing_count, dedup, completed_at, is_current) "
      "SELECT i, f, s, m, h, md, cl, st, mc, dd, CASE WHEN st = 2 THEN now() END, true "
      "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[], "
      "$6::int[], $7::bytea[], $8::smallint[], $9::int[], $10::boolean[]) "
      "AS u(i, f, s, m, h, md, cl, st, mc, dd)",
      Int8Arr(v_id), Int8Arr(v_file), Int8Arr(v_size), Int8Arr(v_mtime), ByteaArray(v_sha),
      Int4Arr(v_mode), ByteaArray(v_list), Int2Arr(v_state), Int4Arr(v_missing), BoolArr(v_dedup));
  std::vector<int64_t> complete;
  for (size_t i : b.fresh) {
    if (b.out[i].state == VersionState::kComplete) complete.push_back(b.out[i].version_id);
  }
  std::sort(complete.begin(), complete.end());
  return complete;
}

void RecordMissingChunks(Tx& tx, ReportBatch& b) {
  std::vector<std::string> m_chunk;
  std::vector<int64_t> m_version;
  for (size_t i : b.fresh) {
    for (const auto* list : {&b.out[i].missing, &b.out[i].unproven}) {
      for (const std::string& id : *list) {
        m_chunk.push_back(id);
        m_version.push_back(b.out[i].version_id);
      }
    }
  }
  if (m_chunk.empty()) return;
  tx.exec_params(
      "INSERT INTO version_missing (chunk_id, version_id) SELECT * FROM "
      "unnest($1::bytea[], $2::bigint[])",
      ByteaArray(m_chunk), Int8Arr(m_version));
}

}  // namespace

absl::StatusOr<std::vector<ReportOutcome>> PgStore::ReportFiles(
    int64_t device_id, const std::vector<ReportItem>& items) {
  std::vector<ReportOutcome> out;
  RETURN_IF_ERROR(Run("report files", TxMode::kTransaction, [&](Tx& tx) {
    ReportBatch b(device_id, items, &out);  // afresh on every run of the transaction
    RecordDeletes(tx, b);
    if (b.ups.empty()) return absl::OkStatus();
    MatchExistingFiles(tx, b);
    AskForPendingChunks(tx, b);
    ClassifyChunks(tx, b);
    AssignVersionIds(tx, b);
    RETURN_IF_ERROR(CreateNewFiles(tx, b));
    PointFilesAtNewVersions(tx, b);
    AskForLostChunks(tx, b);
    if (b.fresh.empty()) {
      RecordImportFacts(tx, items, out);  // albums of unchanged versions
      return absl::OkStatus();
    }
    AddChunkReferences(tx, b);
    const std::vector<int64_t> complete = InsertVersions(tx, b);
    RecordMissingChunks(tx, b);
    RecordImportFacts(tx, items, out);
    CreateDeliveries(tx, complete);
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace shoebox::coordinator::pg
