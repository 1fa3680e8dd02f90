#include "agent/hasher.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <memory>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox::agent {
namespace {

// Read in blocks small enough to still be in the L2 cache when they are
// processed, in slices that stay in L1/L2 while the whole-file SHA-256, the
// chunker and the chunk-ID HMAC each pass over them (one trip through memory
// instead of three; docs/performance.md "Agent").
constexpr size_t kReadBlock = 512 << 10;
constexpr size_t kSlice = 64 << 10;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(std::string_view s, size_t at) {
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i)
    r |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return r;
}

}  // namespace

std::string SessionKeys::Serialize() const {
  std::string s;
  s.append(reinterpret_cast<const char*>(chunk_id_key.data()), 32);
  s.append(reinterpret_cast<const char*>(chunker_key.data()), 32);
  PutU32(&s, params.min_size);
  PutU32(&s, params.avg_size);
  PutU32(&s, params.max_size);
  return s;
}

absl::StatusOr<SessionKeys> SessionKeys::Parse(std::string_view s) {
  if (s.size() != 76)
    return absl::DataLossError("cached session keys in the agent state have the wrong size");
  SessionKeys k;
  std::memcpy(k.chunk_id_key.data(), s.data(), 32);
  std::memcpy(k.chunker_key.data(), s.data() + 32, 32);
  k.params.min_size = GetU32(s, 64);
  k.params.avg_size = GetU32(s, 68);
  k.params.max_size = GetU32(s, 72);
  return k;
}

ChunkHasher::ChunkHasher(const SessionKeys& keys)
    : keys_(keys),
      gear_(MakeGearTable(keys.chunker_key)),
      mac_(ByteSpan(keys.chunk_id_key.data(), 32)) {}

FileStat FromStat(const struct stat& st) {
  FileStat f;
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  f.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec;
  f.inode = static_cast<uint64_t>(st.st_ino);
  f.dev = static_cast<uint64_t>(st.st_dev);
  f.mode = static_cast<uint32_t>(st.st_mode);
  return f;
}

absl::StatusOr<int> OpenRelative(const std::string& root, const std::string& rel, int flags) {
  std::string full = rel.empty() ? root : root + "/" + rel;
  if (full.size() < PATH_MAX - 1) {
    int fd = ::open(full.c_str(), flags | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return ErrnoToStatus(errno, "open " + PrintablePath(full));
    return fd;
  }
  // Long path: walk the directories with openat.
  int dfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoToStatus(errno, "open " + PrintablePath(root));
  Fd dir(dfd);
  size_t start = 0;
  while (true) {
    size_t slash = rel.find('/', start);
    std::string comp =
        rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    bool last = slash == std::string::npos;
    int f = ::openat(dir.get(), comp.c_str(),
                     last ? (flags | O_CLOEXEC | O_NOFOLLOW)
                          : (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (f < 0) return ErrnoToStatus(errno, "open " + PrintablePath(full));
    if (last) return f;
    ::close(dir.release());
    dir.reset(f);
    start = slash + 1;
  }
}

absl::StatusOr<FileStat> StatRelative(const std::string& root, const std::string& rel,
                                      bool follow) {
  std::string full = rel.empty() ? root : root + "/" + rel;
  struct stat st;
  if (full.size() < PATH_MAX - 1) {
    int r = follow ? ::stat(full.c_str(), &st) : ::lstat(full.c_str(), &st);
    if (r != 0) return ErrnoToStatus(errno, "stat " + PrintablePath(full));
    return FromStat(st);
  }
  std::string dir, name;
  SplitRelPath(rel, &dir, &name);
  auto dfd = OpenRelative(root, dir, O_RDONLY | O_DIRECTORY);
  if (!dfd.ok()) return dfd.status();
  Fd d(*dfd);
  if (::fstatat(d.get(), name.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, "stat " + PrintablePath(full));
  }
  return FromStat(st);
}

absl::StatusOr<HashedFile> HashFile(const std::string& root, const std::string& rel,
                                    const ChunkHasher& hasher, std::atomic<uint64_t>* bytes_read) {
  std::string printable = PrintablePath(root + "/" + rel);
  auto fdr = OpenRelative(root, rel, O_RDONLY | O_NOATIME);
  if (!fdr.ok() && absl::IsPermissionDenied(fdr.status())) {
    fdr = OpenRelative(root, rel, O_RDONLY);  // O_NOATIME needs ownership
  }
  if (!fdr.ok()) {
    if (fdr.status().message().find("Too many levels") != std::string_view::npos ||
        fdr.status().message().find("symbolic link") != std::string_view::npos) {
      return absl::AbortedError(absl::StrCat(printable, " became a symbolic link; skipped"));
    }
    return fdr.status();
  }
  Fd fd(*fdr);
  struct stat st0;
  if (::fstat(fd.get(), &st0) != 0) return ErrnoToStatus(errno, "stat " + printable);
  if (!S_ISREG(st0.st_mode))
    return absl::AbortedError(absl::StrCat(printable, " is no longer a regular file"));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

  HashedFile out;
  out.stat = FromStat(st0);
  const ChunkerParams& p = hasher.keys().params;
  Chunker chunker(p, hasher.gear());
  Sha256 sha;
  HmacSha256Stream id_stream(hasher.mac());
  // One buffer per hashing thread, kept across files and never zero-filled.
  thread_local std::unique_ptr<uint8_t[]> tl_buf;
  if (!tl_buf) tl_buf.reset(new uint8_t[kReadBlock]);
  uint8_t* const buf = tl_buf.get();
  uint64_t total = 0;        // bytes read so far
  uint64_t chunk_start = 0;  // file offset where the current chunk starts
  std::vector<uint64_t> cuts;
  auto emit = [&](uint64_t end) {
    ChunkEntry c;
    c.id = id_stream.Final();
    c.size = static_cast<uint32_t>(end - chunk_start);
    out.chunks.push_back(c);
    chunk_start = end;
  };
  while (true) {
    ssize_t n = ::read(fd.get(), buf, kReadBlock);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "read " + printable);
    }
    if (n == 0) break;
    if (bytes_read) bytes_read->fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    for (size_t off = 0; off < static_cast<size_t>(n); off += kSlice) {
      const size_t len = std::min(kSlice, static_cast<size_t>(n) - off);
      const uint8_t* slice = buf + off;
      const uint64_t slice_start = total;
      sha.Update(ByteSpan(slice, len));
      cuts.clear();
      chunker.Feed(ByteSpan(slice, len), &cuts);
      uint64_t hashed = slice_start;  // bytes of this slice already in id_stream
      for (uint64_t cut : cuts) {
        id_stream.Update(
            ByteSpan(slice + (hashed - slice_start), static_cast<size_t>(cut - hashed)));
        hashed = cut;
        emit(cut);
      }
      id_stream.Update(ByteSpan(slice + (hashed - slice_start),
                                static_cast<size_t>(slice_start + len - hashed)));
      total += len;
    }
  }
  if (auto last = chunker.Finish(); last.has_value()) emit(*last);
  if (chunk_start != total) {
    return absl::InternalError(
        absl::StrCat("chunker left ", total - chunk_start, " bytes of ", printable, " unassigned"));
  }
  out.sha256 = sha.Final();

  // Re-check: a file that changed while it was read is never reported.
  struct stat st1;
  if (::fstat(fd.get(), &st1) != 0) return ErrnoToStatus(errno, "stat " + printable);
  FileStat after = FromStat(st1);
  if (!after.SameContentAs(out.stat) || total != out.stat.size) {
    return absl::AbortedError(absl::StrCat(printable, " changed while it was read (size ",
                                           out.stat.size, " -> ", after.size,
                                           "); it is read again after it settles"));
  }
  auto path_now = StatRelative(root, rel);
  if (!path_now.ok()) {
    if (absl::IsNotFound(path_now.status())) {
      return absl::NotFoundError(absl::StrCat(printable, " was removed while it was read"));
    }
    return path_now.status();
  }
  if (path_now->inode != out.stat.inode) {
    return absl::AbortedError(absl::StrCat(printable, " was replaced while it was read"));
  }
  return out;
}

}  // namespace shoebox::agent
