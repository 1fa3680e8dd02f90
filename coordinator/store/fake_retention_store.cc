// In-memory FakeRetentionStore and FakeSnapshotStore (fake_stores.h).
#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/paths.h"
#include "common/status.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {

namespace {

absl::Status UnknownDevice(const std::string& device) {
  return absl::NotFoundError(
      absl::StrCat("device: no device named '", device, "'; `shoebox devices` lists them"));
}

}  // namespace

// --- FakeRetentionStore ---------------------------------------------------------

absl::StatusOr<std::vector<FolderPolicy>> FakeRetentionStore::ListPolicies(
    const std::string& device, const std::string& folder) {
  absl::MutexLock l(&mu_);
  bool device_known = device.empty();
  std::vector<FolderPolicy> out;
  for (const auto& [id, f] : st_.folders) {
    if (f.device == device) device_known = true;
    if (!device.empty() && f.device != device) continue;
    if (!folder.empty() && f.folder != folder) continue;
    FolderPolicy p = f;
    if (p.is_default) p.policy = DefaultRetentionPolicy();
    out.push_back(p);
  }
  if (!device_known) return UnknownDevice(device);
  if (out.empty() && !folder.empty()) {
    return absl::NotFoundError(
        absl::StrCat("folder: device '", device, "' has no folder ", PrintablePath(folder)));
  }
  std::sort(out.begin(), out.end(), [](const FolderPolicy& a, const FolderPolicy& b) {
    return std::tie(a.device, a.folder) < std::tie(b.device, b.folder);
  });
  return out;
}

absl::StatusOr<std::vector<FolderPolicy>> FakeRetentionStore::UpdatePolicies(
    const std::string& device, const std::string& folder, bool reset,
    const std::function<absl::Status(RetentionPolicy*)>& update) {
  if (device.empty()) return absl::InvalidArgumentError("device: name the device");
  absl::MutexLock l(&mu_);
  State next = st_;
  std::vector<FolderPolicy> out;
  bool device_known = false;
  for (auto& [id, f] : next.folders) {
    if (f.device != device) continue;
    device_known = true;
    if (!folder.empty() && f.folder != folder) continue;
    if (reset || f.is_default) f.policy = DefaultRetentionPolicy();
    RETURN_IF_ERROR(update(&f.policy));
    f.is_default = false;
    out.push_back(f);
  }
  if (!device_known) return UnknownDevice(device);
  if (out.empty())
    return absl::NotFoundError(absl::StrCat("folder: device '", device, "' has no such folder"));
  st_ = std::move(next);
  std::sort(out.begin(), out.end(),
            [](const FolderPolicy& a, const FolderPolicy& b) { return a.folder < b.folder; });
  return out;
}

absl::StatusOr<std::map<int64_t, RetentionPolicy>> FakeRetentionStore::AllPolicies() {
  absl::MutexLock l(&mu_);
  std::map<int64_t, RetentionPolicy> out;
  for (const auto& [id, f] : st_.folders) {
    if (!f.is_default) out[id] = f.policy;
  }
  return out;
}

uint64_t FakeRetentionStore::DropRefs(State& st, const std::map<std::string, int64_t>& refs) {
  uint64_t zero = 0;
  for (const auto& [id, n] : refs) {
    auto it = st.chunks.find(id);
    if (it == st.chunks.end()) continue;
    Chunk& c = it->second;
    if (c.refcount - n <= 0) c.unreferenced_unix_ms = now_ms_;
    c.refcount = std::max<int64_t>(c.refcount - n, 0);
    if (c.refcount <= 0) ++zero;
  }
  return zero;
}

absl::StatusOr<PruneBatch> FakeRetentionStore::ReleasePassThrough(int64_t after_version_id,
                                                                  uint32_t limit, bool dry_run) {
  absl::MutexLock l(&mu_);
  calls_.push_back("release");
  State next = st_;
  PruneBatch b;
  std::vector<int64_t> candidates;
  for (const auto& [id, v] : next.versions) {
    if (id <= after_version_id || !v.complete || v.chunks_dropped || !v.delivered_everywhere) {
      continue;
    }
    const int64_t folder_id = next.files[v.file_id].folder_id;
    const FolderPolicy& f = next.folders[folder_id];
    if (f.is_default || !f.policy.pass_through) continue;
    candidates.push_back(id);
    if (candidates.size() == limit) break;
  }
  if (candidates.empty()) return b;
  b.next_after = candidates.size() == limit ? candidates.back() : 0;
  for (int64_t id : candidates) {
    Version& v = next.versions[id];
    v.chunks_dropped = true;
    b.released_ids.push_back(id);
    for (const std::string& c : v.chunks) ++b.unreferenced[c];
  }
  b.versions_released = b.released_ids.size();
  b.chunks_now_unreferenced = DropRefs(next, b.unreferenced);
  if (!dry_run) st_ = std::move(next);
  return b;
}

absl::StatusOr<PruneBatch> FakeRetentionStore::PruneVersions(
    int64_t after_file_id, uint32_t limit, const RetentionDecider& decide, bool dry_run,
    const std::vector<int64_t>& skip_decrement) {
  absl::MutexLock l(&mu_);
  calls_.push_back("prune");
  State next = st_;
  PruneBatch b;
  const std::set<int64_t> skip(skip_decrement.begin(), skip_decrement.end());
  std::map<int64_t, FileFacts> facts;  // files with something to decide
  for (const auto& [vid, v] : next.versions) {
    if (v.file_id <= after_file_id) continue;
    facts[v.file_id].versions.push_back(VersionFacts{vid, v.created_unix_ms, v.complete});
  }
  std::vector<int64_t> file_ids;
  for (auto& [fid, ff] : facts) {
    const File& f = next.files[fid];
    if (f.current_version_id == 0) continue;  // forgotten: nothing to decide
    ff.current_version_id = f.current_version_id;
    auto cur = next.versions.find(f.current_version_id);
    ff.deleted_unix_ms = cur == next.versions.end() ? 0 : cur->second.deleted_unix_ms;
    if (ff.versions.size() > 1 || ff.deleted_unix_ms != 0) file_ids.push_back(fid);
    if (file_ids.size() == limit) break;
  }
  if (file_ids.empty()) return b;
  b.next_after = file_ids.size() == limit ? file_ids.back() : 0;
  std::set<int64_t> in_use;
  for (const auto& [jid, j] : next.jobs) {
    if (j.leased) in_use.insert(j.version_id);
  }
  std::vector<int64_t> remove, forget;
  for (int64_t fid : file_ids) {
    RetentionDecision d = decide(next.files[fid].folder_id, facts[fid], now_ms_);
    bool all_removed = d.forget_file;
    for (int64_t v : d.remove) {
      if (in_use.count(v)) {
        ++b.versions_in_use;
        all_removed = false;
        continue;
      }
      remove.push_back(v);
      b.version_bytes += next.versions[v].size;
    }
    if (all_removed) forget.push_back(fid);
  }
  b.files_forgotten = forget.size();
  if (remove.empty()) {
    if (!dry_run) st_ = std::move(next);
    return b;
  }
  const std::set<int64_t> removed(remove.begin(), remove.end());
  for (auto it = next.jobs.begin(); it != next.jobs.end();) {
    if (removed.count(it->second.version_id)) {
      ++b.jobs_removed;
      it = next.jobs.erase(it);
    } else {
      ++it;
    }
  }
  for (int64_t fid : forget) next.files[fid].current_version_id = 0;
  for (int64_t vid : removed) {
    const Version v = next.versions[vid];
    next.versions.erase(vid);
    ++b.versions_removed;
    if (v.chunks_dropped || skip.count(vid)) continue;
    for (const std::string& c : v.chunks) ++b.unreferenced[c];
  }
  b.chunks_now_unreferenced = DropRefs(next, b.unreferenced);
  if (!dry_run) st_ = std::move(next);
  return b;
}

absl::StatusOr<std::vector<std::string>> FakeRetentionStore::MarkCollectable(
    const std::string& after, uint32_t limit, uint32_t grace_s) {
  absl::MutexLock l(&mu_);
  calls_.push_back("mark");
  std::vector<std::string> out;
  for (auto& [id, c] : st_.chunks) {
    if (c.refcount <= 0 && c.unreferenced_unix_ms < 0) c.unreferenced_unix_ms = now_ms_;
  }
  for (auto& [id, c] : st_.chunks) {
    if (out.size() == limit) break;
    if (id <= after || c.refcount > 0) continue;
    if (c.unreferenced_unix_ms > now_ms_ - int64_t{grace_s} * 1000) continue;
    c.stored = false;
    out.push_back(id);
  }
  return out;
}

absl::StatusOr<std::vector<DeletedChunk>> FakeRetentionStore::DeleteCollectable(
    const std::vector<std::string>& ids,
    const std::function<std::vector<std::string>(const std::vector<std::string>&)>& delete_blobs) {
  absl::MutexLock l(&mu_);
  calls_.push_back("delete");
  std::vector<DeletedChunk> out;
  std::vector<std::string> locked;
  for (const std::string& id : ids) {
    auto it = st_.chunks.find(id);
    if (it != st_.chunks.end() && it->second.refcount <= 0 && !it->second.stored) {
      locked.push_back(id);
    }
  }
  if (locked.empty()) return out;
  for (const std::string& id : delete_blobs(locked)) {
    const Chunk c = st_.chunks[id];
    st_.chunks.erase(id);
    out.push_back(DeletedChunk{id, c.size, c.stored_size});
  }
  return out;
}

absl::StatusOr<uint64_t> FakeRetentionStore::CountInGrace(uint32_t grace_s) {
  absl::MutexLock l(&mu_);
  uint64_t n = 0;
  for (const auto& [id, c] : st_.chunks) {
    if (c.refcount <= 0 && (c.unreferenced_unix_ms < 0 ||
                            c.unreferenced_unix_ms > now_ms_ - int64_t{grace_s} * 1000)) {
      ++n;
    }
  }
  return n;
}

absl::StatusOr<ChunkForecast> FakeRetentionStore::CollectableNow(uint32_t grace_s) {
  absl::MutexLock l(&mu_);
  ChunkForecast f;
  for (const auto& [id, c] : st_.chunks) {
    if (c.refcount <= 0 && c.unreferenced_unix_ms >= 0 &&
        c.unreferenced_unix_ms <= now_ms_ - int64_t{grace_s} * 1000) {
      ++f.chunks;
      f.bytes += c.size;
      f.stored_bytes += c.stored_size;
    }
  }
  return f;
}

absl::StatusOr<ChunkForecast> FakeRetentionStore::WouldUnreference(
    const std::map<std::string, int64_t>& refs) {
  absl::MutexLock l(&mu_);
  ChunkForecast f;
  for (const auto& [id, n] : refs) {
    auto it = st_.chunks.find(id);
    if (it == st_.chunks.end()) continue;
    const Chunk& c = it->second;
    if (c.refcount > 0 && c.refcount - n <= 0) {
      ++f.chunks;
      f.bytes += c.size;
      f.stored_bytes += c.stored_size;
    }
  }
  return f;
}

absl::StatusOr<bool> FakeRetentionStore::ClaimScheduledRun(const std::string& name,
                                                           uint32_t interval_s) {
  absl::MutexLock l(&mu_);
  auto it = st_.runs.find(name);
  if (it == st_.runs.end()) {
    st_.runs[name] = now_ms_;  // first sight: wait one interval
    return false;
  }
  if (it->second > now_ms_ - int64_t{interval_s} * 1000) return false;
  it->second = now_ms_;
  return true;
}

int64_t FakeRetentionStore::AddFolder(const std::string& device, const std::string& root) {
  absl::MutexLock l(&mu_);
  const int64_t id = next_id_++;
  FolderPolicy& f = st_.folders[id];
  f.folder_id = id;
  f.device = device;
  f.folder = root;
  f.is_default = true;
  return id;
}

void FakeRetentionStore::SetPolicy(int64_t folder_id, const RetentionPolicy& p) {
  absl::MutexLock l(&mu_);
  FolderPolicy& f = st_.folders[folder_id];
  f.policy = p;
  f.is_default = false;
}

int64_t FakeRetentionStore::AddVersion(int64_t folder_id, const std::string& path,
                                       int64_t created_unix_ms,
                                       const std::vector<std::string>& chunks, bool complete,
                                       uint32_t chunk_size) {
  absl::MutexLock l(&mu_);
  int64_t file_id = 0;
  for (const auto& [id, f] : st_.files) {
    if (f.folder_id == folder_id && f.path == path) file_id = id;
  }
  if (file_id == 0) {
    file_id = next_id_++;
    st_.files[file_id] = File{folder_id, path, 0};
  }
  const int64_t id = next_id_++;
  Version& v = st_.versions[id];
  v.file_id = file_id;
  v.created_unix_ms = created_unix_ms;
  v.complete = complete;
  v.chunks = chunks;
  v.size = uint64_t{chunk_size} * chunks.size();
  for (const std::string& c : chunks) {
    Chunk& row = st_.chunks[c];
    ++row.refcount;
    row.unreferenced_unix_ms = -1;
    row.size = chunk_size;
    row.stored_size = chunk_size + 28;
  }
  st_.files[file_id].current_version_id = id;
  return id;
}

void FakeRetentionStore::MarkDeleted(int64_t version_id, int64_t deleted_unix_ms) {
  absl::MutexLock l(&mu_);
  st_.versions[version_id].deleted_unix_ms = deleted_unix_ms;
}

void FakeRetentionStore::AddJob(int64_t version_id, bool leased) {
  absl::MutexLock l(&mu_);
  st_.jobs[next_id_++] = Job{version_id, leased};
}

void FakeRetentionStore::MarkDeliveredEverywhere(int64_t version_id) {
  absl::MutexLock l(&mu_);
  st_.versions[version_id].delivered_everywhere = true;
}

void FakeRetentionStore::SetNow(int64_t unix_ms) {
  absl::MutexLock l(&mu_);
  now_ms_ = unix_ms;
}

bool FakeRetentionStore::HasVersion(int64_t version_id) {
  absl::MutexLock l(&mu_);
  return st_.versions.count(version_id) > 0;
}

int64_t FakeRetentionStore::CurrentVersion(int64_t folder_id, const std::string& path) {
  absl::MutexLock l(&mu_);
  for (const auto& [id, f] : st_.files) {
    if (f.folder_id == folder_id && f.path == path) return f.current_version_id;
  }
  return 0;
}

bool FakeRetentionStore::HasChunk(const std::string& id) {
  absl::MutexLock l(&mu_);
  return st_.chunks.count(id) > 0;
}

int64_t FakeRetentionStore::Refcount(const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = st_.chunks.find(id);
  return it == st_.chunks.end() ? -1 : it->second.refcount;
}

size_t FakeRetentionStore::JobCount() {
  absl::MutexLock l(&mu_);
  return st_.jobs.size();
}

std::vector<std::string> FakeRetentionStore::calls() {
  absl::MutexLock l(&mu_);
  return calls_;
}

// --- FakeSnapshotStore ----------------------------------------------------------

absl::StatusOr<uint64_t> FakeSnapshotStore::QueueSnapshotCopies(const std::string& name,
                                                                uint32_t keep) {
  absl::MutexLock l(&mu_);
  if (!error_.ok()) return error_;
  requests_.emplace_back(name, keep);
  return 2;
}

void FakeSnapshotStore::set_error(absl::Status st) {
  absl::MutexLock l(&mu_);
  error_ = std::move(st);
}

std::vector<std::pair<std::string, uint32_t>> FakeSnapshotStore::requests() {
  absl::MutexLock l(&mu_);
  return requests_;
}

}  // namespace shoebox::coordinator
