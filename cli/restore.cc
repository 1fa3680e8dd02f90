#include "cli/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/fsutil.h"
#include "common/paths.h"
#include "common/status.h"

namespace shoebox::cli {

namespace {

std::string Basename(const std::string& folder) {
  std::string f = folder;
  while (f.size() > 1 && f.back() == '/') f.pop_back();
  auto pos = f.rfind('/');
  std::string b = pos == std::string::npos ? f : f.substr(pos + 1);
  return b.empty() ? "root" : b;
}

// Creates every directory of `rel_dir` under the already-open directory fd
// `root_fd`, refusing to pass through symlinks. Returns an fd of the last one.
absl::StatusOr<int> OpenDirChain(int root_fd, const std::string& rel_dir,
                                 const std::string& printable) {
  int fd = dup(root_fd);
  if (fd < 0) return ErrnoToStatus(errno, "dup");
  size_t start = 0;
  while (start < rel_dir.size()) {
    size_t end = rel_dir.find('/', start);
    if (end == std::string::npos) end = rel_dir.size();
    std::string comp = rel_dir.substr(start, end - start);
    start = end + 1;
    if (comp.empty()) continue;
    if (mkdirat(fd, comp.c_str(), 0755) != 0 && errno != EEXIST) {
      int e = errno;
      close(fd);
      return ErrnoToStatus(e, absl::StrCat("create directory for ", printable));
    }
    int next = openat(fd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(fd);
    if (next < 0) {
      if (e == ELOOP || e == ENOTDIR)
        return absl::FailedPreconditionError(
            absl::StrCat("refusing to restore ", printable,
                         ": a path component is a symlink or not a "
                         "directory; remove it or restore to an empty directory"));
      return ErrnoToStatus(e, absl::StrCat("open directory for ", printable));
    }
    fd = next;
  }
  return fd;
}

// SHA-256 of an existing file (by fd), or an error.
absl::StatusOr<std::pair<uint64_t, Digest>> HashFd(int fd) {
  Sha256 h;
  uint64_t total = 0;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "read existing file");
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), n));
    total += n;
  }
  return std::make_pair(total, h.Final());
}

class ProgressLine {
 public:
  ProgressLine(bool on, uint64_t files, uint64_t bytes)
      : on_(on && isatty(2)),
        files_total_(files),
        bytes_total_(bytes),
        start_(std::chrono::steady_clock::now()) {}
  void Update(uint64_t files, uint64_t bytes, bool force = false) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? bytes / secs : 0;
    double eta = rate > 0 ? (bytes_total_ - std::min(bytes, bytes_total_)) / rate : 0;
    std::fprintf(stderr, "\rrestore: %llu/%llu files, %.1f/%.1f MB, %.1f MB/s, ETA %.0fs   ",
                 (unsigned long long)files, (unsigned long long)files_total_, bytes / 1e6,
                 bytes_total_ / 1e6, rate / 1e6, eta);
    if (force) std::fprintf(stderr, "\n");
  }

 private:
  bool on_;
  uint64_t files_total_, bytes_total_;
  std::chrono::steady_clock::time_point start_, last_{};
};

absl::Status RestoreOne(const v1::FileVersion& v, int root_fd, const std::string& rel,
                        ChunkFetcher* fetcher, const RestoreOptions& o, bool* skipped) {
  const std::string printable = PrintablePath(rel);
  std::string dir, name;
  if (auto pos = rel.rfind('/'); pos == std::string::npos) {
    name = rel;
  } else {
    dir = rel.substr(0, pos);
    name = rel.substr(pos + 1);
  }
  ASSIGN_OR_RETURN(int dfd, OpenDirChain(root_fd, dir, printable));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{dfd};

  // Existing file: identical → skip; different → only with overwrite.
  struct stat st;
  if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == v.size()) {
      int efd = openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (efd >= 0) {
        auto h = HashFd(efd);
        close(efd);
        if (h.ok() && DigestToString(h->second) == v.sha256()) {
          *skipped = true;
          return absl::OkStatus();
        }
      }
    }
    if (!o.overwrite)
      return absl::AlreadyExistsError(absl::StrCat(
          printable, " exists with different content; pass --overwrite to replace it"));
  }

  // A new temp file with an unguessable name, never an existing one: a local
  // user who can write into the target must not be able to pre-create the
  // name as a symlink or a hard link to a file the restore would overwrite.
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    uint8_t rnd[8];
    SecureRandom(rnd, sizeof rnd);
    tmp = absl::StrCat(".", name.substr(0, 200), ".shoebox-restore-", ToHex(ByteSpan(rnd, 8)));
    fd = openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && (errno != EEXIST || attempt >= 8))
      return ErrnoToStatus(errno, absl::StrCat("create temp file for ", printable));
  }
  auto fail = [&](absl::Status s) {
    close(fd);
    unlinkat(dfd, tmp.c_str(), 0);
    return s;
  };
  Sha256 h;
  uint64_t written = 0;
  std::vector<std::string> ids;
  ids.reserve(v.chunks_size());
  for (const auto& c : v.chunks()) ids.push_back(c.id());
  absl::Status st2 = fetcher->Fetch(ids, [&](const std::string&, const std::string& data) {
    h.Update(data);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = write(fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoToStatus(errno, absl::StrCat("write ", printable));
      }
      p += n;
      left -= n;
    }
    written += data.size();
    return absl::OkStatus();
  });
  if (!st2.ok()) return fail(Annotate(st2, printable));
  if (written != v.size())
    return fail(absl::DataLossError(
        absl::StrCat(printable, ": restored ", written, " bytes, catalog says ", v.size())));
  if (DigestToString(h.Final()) != v.sha256())
    return fail(absl::DataLossError(
        absl::StrCat(printable, ": SHA-256 of the restored bytes differs from the catalog")));
  if (fsync(fd) != 0) return fail(ErrnoToStatus(errno, absl::StrCat("fsync ", printable)));
  DropCachedPages(fd);
  if (v.mode() != 0) fchmod(fd, v.mode() & kPermissionBits);
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = v.mtime_ns() / 1000000000;
  ts[0].tv_nsec = ts[1].tv_nsec = v.mtime_ns() % 1000000000;
  if (ts[0].tv_nsec < 0) {
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
  }
  futimens(fd, ts);
  close(fd);
  if (renameat(dfd, tmp.c_str(), dfd, name.c_str()) != 0) {
    int e = errno;
    unlinkat(dfd, tmp.c_str(), 0);
    return ErrnoToStatus(e, absl::StrCat("rename into place ", printable));
  }
  fsync(dfd);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RestoreTargetPath(const v1::FileVersion& v, const RestoreOptions& o) {
  RETURN_IF_ERROR(ValidateRelativePath(v.path(), "path"));
  if (!o.prefix_folder) return v.path();
  std::string b = Basename(v.folder());
  RETURN_IF_ERROR(ValidateRelativePath(b, "folder"));
  return absl::StrCat(b, "/", v.path());
}

std::string RestoreAdvice(const RestoreReport& r) {
  size_t conflicts = 0;
  for (const RestoreFailure& f : r.failures) conflicts += f.conflict ? 1 : 0;
  const size_t others = r.failures.size() - conflicts;
  std::string out;
  if (conflicts > 0) {
    out = absl::StrCat(conflicts, conflicts == 1 ? " file differs" : " files differ",
                       " from what is already in place and ", conflicts == 1 ? "was" : "were",
                       " left alone: add --overwrite to replace ", conflicts == 1 ? "it" : "them",
                       ", or restore into an empty directory (--to)");
  }
  if (others > 0) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", others, others == 1 ? " file" : " files",
                    " failed for another reason: run the same command again to retry ",
                    others == 1 ? "it" : "them", " (files already restored are skipped)");
  }
  return out;
}

absl::StatusOr<RestoreReport> RestoreVersions(const std::vector<v1::FileVersion>& versions,
                                              ChunkFetcher* fetcher, const RestoreOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.target_dir, ec);
  if (ec)
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create restore target ", o.target_dir, ": ", ec.message()));
  int root_fd = open(o.target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return ErrnoToStatus(errno, absl::StrCat("open restore target ", o.target_dir));
  uint64_t total_bytes = 0;
  for (const auto& v : versions) total_bytes += v.size();
  ProgressLine progress(o.progress, versions.size(), total_bytes);
  RestoreReport r;
  uint64_t done_files = 0, done_bytes = 0;
  for (const auto& v : versions) {
    auto rel = RestoreTargetPath(v, o);
    if (!rel.ok()) {
      r.failures.push_back({PrintablePath(v.path()), std::string(rel.status().message())});
      continue;
    }
    bool skipped = false;
    absl::Status s = RestoreOne(v, root_fd, *rel, fetcher, o, &skipped);
    if (!s.ok()) {
      r.failures.push_back(
          {PrintablePath(*rel), std::string(s.message()), absl::IsAlreadyExists(s)});
    } else if (skipped) {
      r.files_skipped++;
    } else {
      r.files_restored++;
      r.bytes_restored += v.size();
    }
    done_files++;
    done_bytes += v.size();
    progress.Update(done_files, done_bytes);
  }
  progress.Update(done_files, done_bytes, true);
  close(root_fd);
  return r;
}

}  // namespace shoebox::cli
