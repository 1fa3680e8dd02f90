// In-memory catalog and chunk store fakes for unit tests. See fake_stores.h.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "coordinator/store/fake_stores.h"

namespace shoebox::coordinator {

// --- FakeCatalogStore ----------------------------------------------------------

absl::StatusOr<int64_t> FakeCatalogStore::UpsertDevice(const std::string& name,
                                                       const std::string& hostname,
                                                       const std::string& agent_version,
                                                       const std::vector<std::string>& folders) {
  (void)agent_version;
  absl::MutexLock l(&mu_);
  DeviceRow& d = devices_[name];
  if (d.id == 0) {
    d.id = next_id_++;
    d.name = name;
  }
  d.hostname = hostname;
  std::vector<Folder>& known = folders_[d.id];
  for (const std::string& root : folders) {
    const bool have =
        std::any_of(known.begin(), known.end(), [&](const Folder& f) { return f.root == root; });
    if (!have) {
      known.push_back(Folder{next_id_++, root});
      d.folders.push_back(root);
    }
  }
  return d.id;
}

absl::StatusOr<int64_t> FakeCatalogStore::FindDevice(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = devices_.find(name);
  if (it == devices_.end()) {
    return absl::NotFoundError(absl::StrCat("device '", name, "' is not registered"));
  }
  return it->second.id;
}

absl::Status FakeCatalogStore::RecordHeartbeat(int64_t device_id, const HeartbeatFacts& hb) {
  absl::MutexLock l(&mu_);
  heartbeats_[device_id] = hb;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Folder>> FakeCatalogStore::ListFolders(int64_t device_id) {
  absl::MutexLock l(&mu_);
  return folders_[device_id];
}

absl::StatusOr<std::vector<DamagedFile>> FakeCatalogStore::DamagedFilesOf(int64_t device_id,
                                                                          uint32_t limit) {
  absl::MutexLock l(&mu_);
  std::vector<DamagedFile> out = damaged_[device_id];
  if (out.size() > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<DeviceRow>> FakeCatalogStore::ListDevices() {
  absl::MutexLock l(&mu_);
  std::vector<DeviceRow> out;
  for (const auto& [name, d] : devices_) out.push_back(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<std::vector<ReportOutcome>> FakeCatalogStore::ReportFiles(
    int64_t device_id, const std::vector<ReportItem>& items) {
  absl::MutexLock l(&mu_);
  ++report_calls_;
  std::vector<ReportOutcome> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ReportItem& item = items[i];
    const auto key = std::make_pair(item.folder_id, item.path);
    auto file = files_.find(key);
    StoredVersion* current = file == files_.end() ? nullptr : &versions_[file->second];
    if (item.deleted) {
      if (current == nullptr) continue;  // unknown file: version 0
      if (current->v.deleted_unix_ms == 0) current->v.deleted_unix_ms = 1;
      out[i].version_id = current->v.version_id;
      out[i].state = current->v.state;
      continue;
    }
    const bool unchanged = current != nullptr && current->v.deleted_unix_ms == 0 &&
                           current->v.size == item.size && current->v.mtime_ns == item.mtime_ns &&
                           current->v.sha256 == item.sha256;
    if (unchanged) {
      out[i].unchanged = true;
      out[i].version_id = current->v.version_id;
      out[i].state = current->v.state;
      for (const ChunkRef& c : item.chunks) {
        const bool stored = chunks_[c.id].stored;
        const bool lost = current->v.state == VersionState::kComplete && !stored;
        const bool waited = current->missing.count(c.id) > 0;
        // Waited for and stored now: a proof (pg_report_files.cc).
        std::vector<std::string>& list = waited && stored ? out[i].unproven : out[i].missing;
        if ((lost || waited) && std::find(list.begin(), list.end(), c.id) == list.end()) {
          list.push_back(c.id);
        }
      }
      continue;
    }
    bool size_conflict = false;
    for (size_t k = 0; k < item.chunks.size() && !size_conflict; ++k) {
      auto ch = chunks_.find(item.chunks[k].id);
      if (ch != chunks_.end() && ch->second.stored && ch->second.size != item.chunks[k].size) {
        out[i].code = absl::StatusCode::kInvalidArgument;
        out[i].message = absl::StrCat("chunks[", k, "].size: does not match the stored chunk");
        size_conflict = true;
      }
    }
    if (size_conflict) continue;
    StoredVersion nv;
    nv.device_id = device_id;
    nv.folder_id = item.folder_id;
    nv.v.version_id = next_id_++;
    nv.v.path = item.path;
    nv.v.size = item.size;
    nv.v.mtime_ns = item.mtime_ns;
    nv.v.sha256 = item.sha256;
    nv.v.mode = item.mode;
    nv.v.chunks = item.chunks;
    for (const auto& [name, d] : devices_) {
      if (d.id == device_id) nv.v.device = name;
    }
    for (const Folder& f : folders_[device_id]) {
      if (f.id == item.folder_id) nv.v.folder = f.root;
    }
    for (const ChunkRef& c : item.chunks) {
      Chunk& ch = chunks_[c.id];
      if (ch.refcount == 0 && !ch.stored) ch.size = c.size;
      ++ch.refcount;
      const bool owned = device_chunks_.count({device_id, c.id}) > 0;
      if (ch.stored && owned) continue;
      if (nv.missing.insert(c.id).second)
        (ch.stored ? out[i].unproven : out[i].missing).push_back(c.id);
    }
    nv.v.state = nv.missing.empty() ? VersionState::kComplete : VersionState::kPendingChunks;
    out[i].version_id = nv.v.version_id;
    out[i].state = nv.v.state;
    files_[key] = nv.v.version_id;
    versions_[nv.v.version_id] = std::move(nv);
  }
  return out;
}

absl::StatusOr<ChunkStatus> FakeCatalogStore::GetChunk(const std::string& id) {
  absl::MutexLock l(&mu_);
  auto it = chunks_.find(id);
  if (it == chunks_.end()) return ChunkStatus{};
  return ChunkStatus{true, it->second.stored, it->second.size};
}

std::vector<int64_t> FakeCatalogStore::CompleteWaitingFor(const std::string& id) {
  std::vector<int64_t> done;
  for (auto& [vid, ver] : versions_) {
    if (device_chunks_.count({ver.device_id, id}) == 0) continue;  // not its owner
    if (ver.missing.erase(id) > 0 && ver.missing.empty()) {
      ver.v.state = VersionState::kComplete;
      done.push_back(vid);
    }
  }
  return done;
}

absl::StatusOr<std::vector<int64_t>> FakeCatalogStore::MarkChunkStored(const std::string& id,
                                                                       uint32_t size,
                                                                       uint64_t stored_size,
                                                                       int64_t device_id) {
  (void)stored_size;
  absl::MutexLock l(&mu_);
  auto it = chunks_.find(id);
  if (it == chunks_.end()) {
    return absl::NotFoundError("chunk is not referenced by any reported file");
  }
  it->second.stored = true;
  it->second.size = size;
  if (device_id != 0) device_chunks_.emplace(device_id, id);
  return CompleteWaitingFor(id);
}

absl::StatusOr<std::vector<int64_t>> FakeCatalogStore::RecordChunkOwner(const std::string& id,
                                                                        int64_t device_id) {
  absl::MutexLock l(&mu_);
  auto it = chunks_.find(id);
  if (it == chunks_.end() || !it->second.stored) {
    return absl::NotFoundError("chunk is not in the chunk store; upload its data");
  }
  device_chunks_.emplace(device_id, id);
  return CompleteWaitingFor(id);
}

absl::StatusOr<std::vector<bool>> FakeCatalogStore::DeviceMayRead(
    int64_t device_id, const std::vector<std::string>& ids) {
  absl::MutexLock l(&mu_);
  std::vector<bool> out;
  for (const std::string& id : ids) {
    auto it = chunks_.find(id);
    out.push_back(device_chunks_.count({device_id, id}) > 0 && it != chunks_.end() &&
                  it->second.stored);
  }
  return out;
}

absl::StatusOr<std::vector<bool>> FakeCatalogStore::ChunksStored(
    const std::vector<std::string>& ids) {
  absl::MutexLock l(&mu_);
  std::vector<bool> out;
  for (const std::string& id : ids) {
    auto it = chunks_.find(id);
    out.push_back(it != chunks_.end() && it->second.stored);
  }
  return out;
}

absl::StatusOr<VersionPage> FakeCatalogStore::ListVersions(int64_t device_id,
                                                           const VersionQuery& q) {
  absl::MutexLock l(&mu_);
  const uint32_t limit = q.limit == 0 ? 1000 : std::min<uint32_t>(q.limit, 10000);
  std::set<int64_t> current;
  for (const auto& [key, vid] : files_) current.insert(vid);
  VersionPage page;
  for (const auto& [vid, ver] : versions_) {
    if (ver.device_id != device_id || vid <= q.after_version_id) continue;
    if (!q.folder.empty() && ver.v.folder != q.folder) continue;
    if (!q.path.empty() && ver.v.path != q.path &&
        !absl::StartsWith(ver.v.path, absl::StrCat(q.path, "/"))) {
      continue;
    }
    if (!q.all_versions && (!current.count(vid) || ver.v.deleted_unix_ms != 0)) continue;
    page.versions.push_back(ver.v);
    if (page.versions.size() == limit) {
      page.next_after_version_id = vid;
      break;
    }
  }
  return page;
}

void FakeCatalogStore::SetDamagedFiles(int64_t device_id, std::vector<DamagedFile> files) {
  absl::MutexLock l(&mu_);
  damaged_[device_id] = std::move(files);
}

HeartbeatFacts FakeCatalogStore::LastHeartbeat(int64_t device_id) {
  absl::MutexLock l(&mu_);
  return heartbeats_[device_id];
}

void FakeCatalogStore::MarkChunkLost(const std::string& id) {
  absl::MutexLock l(&mu_);
  chunks_[id].stored = false;
}

FileVersion FakeCatalogStore::Version(int64_t version_id) {
  absl::MutexLock l(&mu_);
  auto it = versions_.find(version_id);
  return it == versions_.end() ? FileVersion{} : it->second.v;
}

int FakeCatalogStore::report_calls() {
  absl::MutexLock l(&mu_);
  return report_calls_;
}

// --- FakeChunkStore ------------------------------------------------------------

absl::Status FakeChunkStore::Put(const ChunkId& id, std::string_view blob) {
  absl::MutexLock l(&mu_);
  blobs_[DigestToString(id)] = std::string(blob);
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeChunkStore::Get(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  auto it = blobs_.find(DigestToString(id));
  if (it == blobs_.end()) return absl::NotFoundError("chunk is not in the memory store");
  return it->second;
}

absl::StatusOr<bool> FakeChunkStore::Has(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  return blobs_.count(DigestToString(id)) > 0;
}

absl::Status FakeChunkStore::Delete(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  if (fail_deletes_) return absl::UnavailableError("memory store: deletes fail (test)");
  blobs_.erase(DigestToString(id));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FakeChunkStore::Stat(const ChunkId& id) {
  absl::MutexLock l(&mu_);
  auto it = blobs_.find(DigestToString(id));
  if (it == blobs_.end()) return absl::NotFoundError("chunk is not in the memory store");
  return it->second.size();
}

absl::Status FakeChunkStore::List(const std::function<absl::Status(const ChunkId&)>& fn) {
  std::vector<std::string> ids;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, blob] : blobs_) ids.push_back(id);
  }
  for (const std::string& s : ids) {
    ChunkId id;
    DigestFromString(s, &id);
    RETURN_IF_ERROR(fn(id));
  }
  return absl::OkStatus();
}

void FakeChunkStore::Overwrite(const ChunkId& id, std::string blob) {
  absl::MutexLock l(&mu_);
  blobs_[DigestToString(id)] = std::move(blob);
}

void FakeChunkStore::FailDeletes(bool fail) {
  absl::MutexLock l(&mu_);
  fail_deletes_ = fail;
}

absl::Status FakeChunkStore::PutNamed(const std::string& name, std::string_view bytes) {
  RETURN_IF_ERROR(ValidateObjectName(name));
  absl::MutexLock l(&mu_);
  named_[name] = std::string(bytes);
  return absl::OkStatus();
}

absl::StatusOr<std::string> FakeChunkStore::GetNamed(const std::string& name) {
  absl::MutexLock l(&mu_);
  auto it = named_.find(name);
  if (it == named_.end())
    return absl::NotFoundError(absl::StrCat("memory store: no object ", name));
  return it->second;
}

absl::Status FakeChunkStore::DeleteNamed(const std::string& name) {
  absl::MutexLock l(&mu_);
  named_.erase(name);
  return absl::OkStatus();
}

absl::Status FakeChunkStore::ListNamed(
    const std::string& prefix,
    const std::function<absl::Status(const std::string& name, uint64_t size)>& fn) {
  std::vector<std::pair<std::string, uint64_t>> list;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [name, bytes] : named_) {
      if (name.compare(0, prefix.size(), prefix) == 0) list.emplace_back(name, bytes.size());
    }
  }
  for (const auto& [name, size] : list) RETURN_IF_ERROR(fn(name, size));
  return absl::OkStatus();
}

size_t FakeChunkStore::size() {
  absl::MutexLock l(&mu_);
  return blobs_.size();
}

}  // namespace shoebox::coordinator
