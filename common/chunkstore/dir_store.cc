// Directory backend of the chunk store: <root>/<2 hex>/<62 hex>.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/fsutil.h"
#include "common/status.h"

namespace shoebox {

namespace {

constexpr char kTempPrefix[] = ".tmp.";

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("chunk store root ", PrintablePath(dir),
                     " exists but is not a directory; choose another path"));
  }
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return ErrnoToStatus(errno, absl::StrCat("create directory ", PrintablePath(dir)));
  }
  return absl::OkStatus();
}

// syncfs shared by concurrent callers (group commit across batches): Sync
// returns once a syncfs that started after the call began has finished, so
// batches committing at the same time (several PutChunks streams) share
// one call instead of one each.
class SharedSyncFs {
 public:
  absl::Status Sync(int fd) {
    std::unique_lock<std::mutex> l(m_);
    const uint64_t want = started_ + 1;  // one running now began too early
    while (completed_ < want) {
      if (running_) {
        cv_.wait(l);
        continue;
      }
      running_ = true;
      const uint64_t gen = ++started_;
      l.unlock();
      const int rc = ::syncfs(fd);
      const int err = errno;
      l.lock();
      running_ = false;
      completed_ = gen;
      last_error_ = rc == 0 ? 0 : err;
      cv_.notify_all();
    }
    return last_error_ == 0 ? absl::OkStatus() : ErrnoToStatus(last_error_, "syncfs");
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  uint64_t started_ = 0, completed_ = 0;
  bool running_ = false;
  int last_error_ = 0;
};

class DirChunkStore final : public ChunkStore {
 public:
  explicit DirChunkStore(std::string root) : root_(std::move(root)) {}
  ~DirChunkStore() override {
    if (root_fd_ >= 0) ::close(root_fd_);
  }
  DirChunkStore(const DirChunkStore&) = delete;
  DirChunkStore& operator=(const DirChunkStore&) = delete;

  absl::Status Init(const DirChunkStoreOptions& options);

  absl::Status Put(const ChunkId& id, std::string_view blob) override;
  absl::Status PutAligned(const ChunkId& id, AlignedBytes& buf, size_t n) override;
  absl::StatusOr<StagedPut> StagePutAligned(const ChunkId& id, AlignedBytes& buf,
                                            size_t n) override;
  absl::Status CommitPuts(const std::vector<StagedPut>& puts) override;
  void AbandonPuts(const std::vector<StagedPut>& puts) override;
  absl::StatusOr<std::string> Get(const ChunkId& id) override;
  absl::StatusOr<size_t> GetAligned(const ChunkId& id, AlignedBytes& buf) override;
  absl::StatusOr<bool> Has(const ChunkId& id) override;
  absl::Status Delete(const ChunkId& id) override;
  absl::StatusOr<uint64_t> Stat(const ChunkId& id) override;
  absl::Status List(const std::function<absl::Status(const ChunkId&)>& fn) override;
  std::string Describe() const override { return absl::StrCat("dir:", PrintablePath(root_)); }
  absl::Status PutNamed(const std::string& name, std::string_view bytes) override;
  absl::StatusOr<std::string> GetNamed(const std::string& name) override;
  absl::Status DeleteNamed(const std::string& name) override;
  absl::Status ListNamed(
      const std::string& prefix,
      const std::function<absl::Status(const std::string& name, uint64_t size)>& fn) override;

 private:
  std::string NamedPath(const std::string& name) const {
    return absl::StrCat(root_, "/meta/", name);
  }
  absl::Status ListNamedUnder(const std::string& dir, const std::string& rel,
                              const std::string& prefix,
                              const std::function<absl::Status(const std::string&, uint64_t)>& fn);
  std::string ShardDir(const std::string& hex) const {
    return absl::StrCat(root_, "/", hex.substr(0, 2));
  }
  std::string ObjectPath(const std::string& hex) const {
    return absl::StrCat(root_, "/", hex.substr(0, 2), "/", hex.substr(2));
  }
  absl::Status Err(const absl::Status& s, const ChunkId& id, std::string_view op) const {
    return Annotate(s, absl::StrCat(Describe(), ": ", AbslView(op), " chunk ",
                                    ToHex(ByteSpan(id.data(), id.size()))));
  }

  // Put's temp file, fsync, rename and directory fsync around `write`.
  absl::Status PutWith(const ChunkId& id,
                       const std::function<absl::Status(int, const std::string&)>& write);

  // syncfs of the store's file system (CommitPuts).
  absl::Status SyncFs(std::string_view what) const;
  void Step(std::string_view step) const {
    if (on_commit_step_) on_commit_step_(step);
  }

  const std::string root_;
  int root_fd_ = -1;
  std::function<void(std::string_view)> on_commit_step_;
  mutable SharedSyncFs sync_;
};

absl::Status DirChunkStore::Init(const DirChunkStoreOptions& options) {
  RETURN_IF_ERROR(MakeDirs(root_));
  // All 256 shard directories exist (and the root is fsynced) before any Put,
  // so a Put never depends on another Put's directory creation being durable.
  bool created = false;
  for (int i = 0; i < 256; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    const char name[3] = {kHex[i >> 4], kHex[i & 15], '\0'};
    const std::string dir = absl::StrCat(root_, "/", name);
    if (::mkdir(dir.c_str(), 0750) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      return ErrnoToStatus(errno, absl::StrCat("create chunk store shard ", PrintablePath(dir)));
    }
  }
  if (created) RETURN_IF_ERROR(FsyncDirectory(root_));
  on_commit_step_ = options.on_commit_step;
  root_fd_ = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0)
    return ErrnoToStatus(errno, absl::StrCat("open chunk store ", PrintablePath(root_)));
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr)
    return ErrnoToStatus(errno, absl::StrCat("open chunk store ", PrintablePath(root_)));
  std::vector<std::string> shards;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() == 2 && IsHex(name)) shards.emplace_back(name);
  }
  ::closedir(d);
  const time_t now = ::time(nullptr);
  for (const std::string& shard : shards) {
    std::string dir = absl::StrCat(root_, "/", shard);
    DIR* sd = ::opendir(dir.c_str());
    if (sd == nullptr)
      return ErrnoToStatus(errno, absl::StrCat("open chunk store shard ", PrintablePath(dir)));
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(sd)) {
      std::string_view name = e->d_name;
      if (name.substr(0, sizeof(kTempPrefix) - 1) != kTempPrefix) continue;
      std::string path = absl::StrCat(dir, "/", AbslView(name));
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) continue;
      if (now - st.st_mtime >= options.stale_temp_seconds) stale.push_back(std::move(path));
    }
    ::closedir(sd);
    for (const std::string& path : stale) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoToStatus(errno,
                             absl::StrCat("remove leftover temp file ", PrintablePath(path)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status DirChunkStore::Put(const ChunkId& id, std::string_view blob) {
  return PutWith(id,
                 [&](int fd, const std::string& tmp) { return WriteNewFileDirect(fd, blob, tmp); });
}

absl::Status DirChunkStore::PutAligned(const ChunkId& id, AlignedBytes& buf, size_t n) {
  return PutWith(
      id, [&](int fd, const std::string& tmp) { return WriteNewFileDirect(fd, buf, n, tmp); });
}

absl::Status DirChunkStore::PutWith(
    const ChunkId& id, const std::function<absl::Status(int, const std::string&)>& write) {
  const std::string hex = ToHex(ByteSpan(id.data(), id.size()));
  const std::string dir = ShardDir(hex);
  const std::string path = ObjectPath(hex);
  if (::mkdir(dir.c_str(), 0750) == 0) {
    RETURN_IF_ERROR(Err(FsyncDirectory(root_), id, "put"));
  } else if (errno != EEXIST) {
    return Err(ErrnoToStatus(errno, absl::StrCat("create shard directory ", PrintablePath(dir))),
               id, "put");
  }
  uint8_t rnd[8];
  SecureRandom(rnd, sizeof(rnd));
  const std::string tmp = absl::StrCat(dir, "/", kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0)
    return Err(ErrnoToStatus(errno, absl::StrCat("create ", PrintablePath(tmp))), id, "put");
  // Chunks bypass the page cache (written once, read by a delivery or a
  // restore at most a few times; see WriteNewFileDirect).
  absl::Status st = write(fd, tmp);
  if (st.ok() && ::fsync(fd) != 0)
    st = ErrnoToStatus(errno, absl::StrCat("fsync ", PrintablePath(tmp)));
  if (::close(fd) != 0 && st.ok())
    st = ErrnoToStatus(errno, absl::StrCat("close ", PrintablePath(tmp)));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = ErrnoToStatus(errno, absl::StrCat("rename into ", PrintablePath(path)));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    if (absl::IsResourceExhausted(st)) {
      st = absl::ResourceExhaustedError(
          absl::StrCat(st.message(), "; free space on the chunk store's disk or add storage"));
    }
    return Err(st, id, "put");
  }
  return Err(FsyncDirectory(dir), id, "put");
}

// Group commit: the temp file is written (O_DIRECT, like Put) but neither
// fsynced nor renamed; CommitPuts does both for the whole batch.
absl::StatusOr<ChunkStore::StagedPut> DirChunkStore::StagePutAligned(const ChunkId& id,
                                                                     AlignedBytes& buf, size_t n) {
  const std::string hex = ToHex(ByteSpan(id.data(), id.size()));
  const std::string dir = ShardDir(hex);
  if (::mkdir(dir.c_str(), 0750) == 0) {
    RETURN_IF_ERROR(Err(FsyncDirectory(root_), id, "put"));
  } else if (errno != EEXIST) {
    return Err(ErrnoToStatus(errno, absl::StrCat("create shard directory ", PrintablePath(dir))),
               id, "put");
  }
  uint8_t rnd[8];
  SecureRandom(rnd, sizeof(rnd));
  std::string tmp = absl::StrCat(dir, "/", kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0)
    return Err(ErrnoToStatus(errno, absl::StrCat("create ", PrintablePath(tmp))), id, "put");
  absl::Status st = WriteNewFileDirect(fd, buf, n, tmp);
  if (::close(fd) != 0 && st.ok())
    st = ErrnoToStatus(errno, absl::StrCat("close ", PrintablePath(tmp)));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    if (absl::IsResourceExhausted(st)) {
      st = absl::ResourceExhaustedError(
          absl::StrCat(st.message(), "; free space on the chunk store's disk or add storage"));
    }
    return Err(st, id, "put");
  }
  return StagedPut{id, std::move(tmp)};
}

absl::Status DirChunkStore::SyncFs(std::string_view what) const {
  absl::Status st = sync_.Sync(root_fd_);
  if (!st.ok()) {
    return Annotate(st, absl::StrCat(Describe(), ": sync the file system (", AbslView(what), ")"));
  }
  return absl::OkStatus();
}

// One syncfs makes every staged temp file's data and inode durable; the
// renames follow, and a second syncfs makes them durable. A kill or power
// loss before the second sync leaves some final names absent (the chunks
// were not acknowledged, nothing references them) but never one with
// partial content. The file system is synced as a whole: two calls per
// batch, whatever the number of chunks and shard directories.
absl::Status DirChunkStore::CommitPuts(const std::vector<StagedPut>& puts) {
  bool any = false;
  for (const StagedPut& p : puts) any = any || !p.temp.empty();
  if (!any) return absl::OkStatus();
  Step("staged");
  if (absl::Status st = SyncFs("chunk data"); !st.ok()) {
    AbandonPuts(puts);
    return st;
  }
  Step("data_synced");
  for (size_t i = 0; i < puts.size(); ++i) {
    const StagedPut& p = puts[i];
    if (p.temp.empty()) continue;
    const std::string path = ObjectPath(ToHex(ByteSpan(p.id.data(), p.id.size())));
    if (::rename(p.temp.c_str(), path.c_str()) != 0) {
      absl::Status st =
          Err(ErrnoToStatus(errno, absl::StrCat("rename into ", PrintablePath(path))), p.id, "put");
      // The ones renamed already are complete (their data was synced) but
      // not acknowledged: harmless, like a chunk written before a crash.
      AbandonPuts(std::vector<StagedPut>(puts.begin() + static_cast<ptrdiff_t>(i), puts.end()));
      return st;
    }
  }
  Step("renamed");
  RETURN_IF_ERROR(SyncFs("chunk names"));
  Step("committed");
  return absl::OkStatus();
}

void DirChunkStore::AbandonPuts(const std::vector<StagedPut>& puts) {
  for (const StagedPut& p : puts) {
    if (!p.temp.empty()) ::unlink(p.temp.c_str());
  }
}

absl::StatusOr<std::string> DirChunkStore::Get(const ChunkId& id) {
  thread_local AlignedBytes buf;
  ASSIGN_OR_RETURN(size_t n, GetAligned(id, buf));
  return std::string(reinterpret_cast<const char*>(buf.data()), n);
}

absl::StatusOr<size_t> DirChunkStore::GetAligned(const ChunkId& id, AlignedBytes& buf) {
  const std::string hex = ToHex(ByteSpan(id.data(), id.size()));
  const std::string path = ObjectPath(hex);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat(Describe(), ": chunk ", hex, " not found"));
    }
    return Err(ErrnoToStatus(errno, absl::StrCat("open ", PrintablePath(path))), id, "get");
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Err(ErrnoToStatus(err, absl::StrCat("stat ", PrintablePath(path))), id, "get");
  }
  size_t got = 0;
  absl::Status rd = ReadWholeFileDirect(fd, static_cast<size_t>(st.st_size), path, &buf, &got);
  ::close(fd);
  if (!rd.ok()) return Err(rd, id, "get");
  return got;
}

absl::StatusOr<bool> DirChunkStore::Has(const ChunkId& id) {
  const std::string path = ObjectPath(ToHex(ByteSpan(id.data(), id.size())));
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return Err(ErrnoToStatus(errno, absl::StrCat("stat ", PrintablePath(path))), id, "check");
}

absl::Status DirChunkStore::Delete(const ChunkId& id) {
  const std::string path = ObjectPath(ToHex(ByteSpan(id.data(), id.size())));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Err(ErrnoToStatus(errno, absl::StrCat("remove ", PrintablePath(path))), id, "delete");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DirChunkStore::Stat(const ChunkId& id) {
  const std::string hex = ToHex(ByteSpan(id.data(), id.size()));
  const std::string path = ObjectPath(hex);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return static_cast<uint64_t>(st.st_size);
  if (errno == ENOENT)
    return absl::NotFoundError(absl::StrCat(Describe(), ": chunk ", hex, " not found"));
  return Err(ErrnoToStatus(errno, absl::StrCat("stat ", PrintablePath(path))), id, "stat");
}

absl::Status DirChunkStore::List(const std::function<absl::Status(const ChunkId&)>& fn) {
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr)
    return ErrnoToStatus(errno, absl::StrCat("list chunk store ", PrintablePath(root_)));
  std::vector<std::string> shards;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() == 2 && IsHex(name)) shards.emplace_back(name);
  }
  ::closedir(d);
  for (const std::string& shard : shards) {
    std::string dir = absl::StrCat(root_, "/", shard);
    DIR* sd = ::opendir(dir.c_str());
    if (sd == nullptr) {
      if (errno == ENOENT) continue;
      return ErrnoToStatus(errno, absl::StrCat("list chunk store shard ", PrintablePath(dir)));
    }
    std::vector<ChunkId> ids;
    while (dirent* e = ::readdir(sd)) {
      std::string_view name = e->d_name;
      if (name.size() != 62 || !IsHex(name)) continue;
      absl::StatusOr<std::string> raw = FromHex(absl::StrCat(shard, AbslView(name)));
      ChunkId id;
      if (raw.ok() && DigestFromString(*raw, &id)) ids.push_back(id);
    }
    ::closedir(sd);
    for (const ChunkId& id : ids) RETURN_IF_ERROR(fn(id));
  }
  return absl::OkStatus();
}

// Named objects live under <root>/meta/ (never a two-hex shard name, so
// List and Init's temp cleanup never look there). Written like chunks: temp
// file in the same directory, fsync, rename, directory fsync.
absl::Status DirChunkStore::PutNamed(const std::string& name, std::string_view bytes) {
  RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = NamedPath(name);
  const std::string dir = path.substr(0, path.rfind('/'));
  auto err = [&](const absl::Status& st) {
    return Annotate(st, absl::StrCat(Describe(), ": put object ", name));
  };
  RETURN_IF_ERROR(err(MakeDirs(dir)));
  uint8_t rnd[8];
  SecureRandom(rnd, sizeof(rnd));
  const std::string tmp = absl::StrCat(dir, "/", kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return err(ErrnoToStatus(errno, absl::StrCat("create ", PrintablePath(tmp))));
  absl::Status st = WriteAllTo(fd, bytes, tmp);
  if (st.ok() && ::fsync(fd) != 0)
    st = ErrnoToStatus(errno, absl::StrCat("fsync ", PrintablePath(tmp)));
  if (st.ok()) DropCachedPages(fd);
  if (::close(fd) != 0 && st.ok())
    st = ErrnoToStatus(errno, absl::StrCat("close ", PrintablePath(tmp)));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = ErrnoToStatus(errno, absl::StrCat("rename into ", PrintablePath(path)));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return err(st);
  }
  return err(FsyncDirectory(dir));
}

absl::StatusOr<std::string> DirChunkStore::GetNamed(const std::string& name) {
  RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = NamedPath(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return absl::NotFoundError(absl::StrCat(Describe(), ": object ", name, " not found"));
    return ErrnoToStatus(errno, absl::StrCat(Describe(), ": open ", PrintablePath(path)));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return ErrnoToStatus(e, absl::StrCat(Describe(), ": read ", PrintablePath(path)));
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

absl::Status DirChunkStore::DeleteNamed(const std::string& name) {
  RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = NamedPath(name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat(Describe(), ": remove ", PrintablePath(path)));
  }
  return absl::OkStatus();
}

absl::Status DirChunkStore::ListNamedUnder(
    const std::string& dir, const std::string& rel, const std::string& prefix,
    const std::function<absl::Status(const std::string&, uint64_t)>& fn) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return ErrnoToStatus(errno, absl::StrCat(Describe(), ": list ", PrintablePath(dir)));
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);  // also skips temp files
  }
  ::closedir(d);
  for (const std::string& n : names) {
    const std::string path = absl::StrCat(dir, "/", n);
    const std::string name = rel.empty() ? n : absl::StrCat(rel, "/", n);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;  // removed meanwhile
    if (S_ISDIR(st.st_mode)) {
      // Descend only where names with `prefix` can be.
      const std::string as_dir = name + "/";
      if (as_dir.compare(0, std::min(as_dir.size(), prefix.size()), prefix, 0,
                         std::min(as_dir.size(), prefix.size())) == 0) {
        RETURN_IF_ERROR(ListNamedUnder(path, name, prefix, fn));
      }
    } else if (S_ISREG(st.st_mode) && name.compare(0, prefix.size(), prefix) == 0) {
      RETURN_IF_ERROR(fn(name, static_cast<uint64_t>(st.st_size)));
    }
  }
  return absl::OkStatus();
}

absl::Status DirChunkStore::ListNamed(
    const std::string& prefix,
    const std::function<absl::Status(const std::string&, uint64_t)>& fn) {
  return ListNamedUnder(absl::StrCat(root_, "/meta"), "", prefix, fn);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChunkStore>> OpenDirChunkStore(const std::string& root,
                                                              const DirChunkStoreOptions& options) {
  if (root.empty() || root.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk store directory '", PrintablePath(root), "' must be an absolute path"));
  }
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  auto store = std::make_unique<DirChunkStore>(r);
  RETURN_IF_ERROR(store->Init(options));
  return std::unique_ptr<ChunkStore>(std::move(store));
}

absl::StatusOr<std::unique_ptr<ChunkStore>> OpenDirChunkStore(const std::string& root) {
  return OpenDirChunkStore(root, DirChunkStoreOptions{});
}

}  // namespace shoebox
