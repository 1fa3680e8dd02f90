#include "cli/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>

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

// A file being restored: written to an unguessable temp name in its
// directory, checked, then renamed into place.
struct TempFile {
  const v1::FileVersion* v = nullptr;
  std::string printable;
  int dfd = -1;  // its directory (owned by the caller)
  std::string name, tmp;
  int fd = -1;
  Sha256 hash;
  uint64_t written = 0;
  size_t chunks_seen = 0;

  // Closes and removes the temp file (after a failure).
  void Discard() {
    if (fd >= 0) close(fd);
    fd = -1;
    if (!tmp.empty()) unlinkat(dfd, tmp.c_str(), 0);
    tmp.clear();
  }
  absl::Status Append(const std::string& data) {
    hash.Update(data);
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
  }
  // Size and SHA-256 against the catalog, then its mode and mtime.
  absl::Status Check() {
    if (written != v->size())
      return absl::DataLossError(
          absl::StrCat(printable, ": restored ", written, " bytes, catalog says ", v->size()));
    if (DigestToString(hash.Final()) != v->sha256())
      return absl::DataLossError(
          absl::StrCat(printable, ": SHA-256 of the restored bytes differs from the catalog"));
    if (v->mode() != 0) fchmod(fd, v->mode() & kPermissionBits);
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = v->mtime_ns() / 1000000000;
    ts[0].tv_nsec = ts[1].tv_nsec = v->mtime_ns() % 1000000000;
    if (ts[0].tv_nsec < 0) ts[0].tv_nsec = ts[1].tv_nsec = 0;
    futimens(fd, ts);
    return absl::OkStatus();
  }
  // Renames the (durable) temp file into place.
  absl::Status Commit() {
    DropCachedPages(fd);
    close(fd);
    fd = -1;
    if (renameat(dfd, tmp.c_str(), dfd, name.c_str()) != 0) {
      int e = errno;
      unlinkat(dfd, tmp.c_str(), 0);
      return ErrnoToStatus(e, absl::StrCat("rename into place ", printable));
    }
    tmp.clear();
    return absl::OkStatus();
  }
};

void SplitRel(const std::string& rel, std::string* dir, std::string* name) {
  if (auto pos = rel.rfind('/'); pos == std::string::npos) {
    dir->clear();
    *name = rel;
  } else {
    *dir = rel.substr(0, pos);
    *name = rel.substr(pos + 1);
  }
}

// In directory `dfd`: true when `name` already holds exactly `v` (nothing to
// do); ALREADY_EXISTS when it holds something else and `overwrite` is off;
// otherwise a new temp file in `t`.
absl::StatusOr<bool> Begin(const v1::FileVersion& v, int dfd, const std::string& name,
                           const std::string& printable, const RestoreOptions& o, TempFile* t) {
  // Existing file: identical → skip; different → only with overwrite.
  struct stat st;
  if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == v.size()) {
      int efd = openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (efd >= 0) {
        auto h = HashFd(efd);
        close(efd);
        if (h.ok() && DigestToString(h->second) == v.sha256()) return true;
      }
    }
    if (!o.overwrite)
      return absl::AlreadyExistsError(absl::StrCat(
          printable, " exists with different content; pass --overwrite to replace it"));
  }
  // A new temp file with an unguessable name, never an existing one: a local
  // user who can write into the target must not be able to pre-create the
  // name as a symlink or a hard link to a file the restore would overwrite.
  t->v = &v;
  t->printable = printable;
  t->dfd = dfd;
  t->name = name;
  for (int attempt = 0; t->fd < 0; ++attempt) {
    uint8_t rnd[8];
    SecureRandom(rnd, sizeof rnd);
    t->tmp = absl::StrCat(".", name.substr(0, 200), ".shoebox-restore-", ToHex(ByteSpan(rnd, 8)));
    t->fd = openat(dfd, t->tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (t->fd < 0 && (errno != EEXIST || attempt >= 8)) {
      t->tmp.clear();
      return ErrnoToStatus(errno, absl::StrCat("create temp file for ", printable));
    }
  }
  return false;
}

std::vector<std::string> ChunkIds(const v1::FileVersion& v) {
  std::vector<std::string> ids;
  ids.reserve(v.chunks_size());
  for (const auto& c : v.chunks()) ids.push_back(c.id());
  return ids;
}

// One file on its own: its own fetch, fsync of the file and its directory.
absl::Status RestoreOne(const v1::FileVersion& v, int root_fd, const std::string& rel,
                        ChunkFetcher* fetcher, const RestoreOptions& o, bool* skipped) {
  const std::string printable = PrintablePath(rel);
  std::string dir, name;
  SplitRel(rel, &dir, &name);
  ASSIGN_OR_RETURN(int dfd, OpenDirChain(root_fd, dir, printable));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{dfd};
  TempFile t;
  ASSIGN_OR_RETURN(*skipped, Begin(v, dfd, name, printable, o, &t));
  if (*skipped) return absl::OkStatus();
  absl::Status st = fetcher->Fetch(
      ChunkIds(v), [&](const std::string&, const std::string& data) { return t.Append(data); });
  if (!st.ok()) {
    t.Discard();
    return Annotate(st, printable);
  }
  if (absl::Status c = t.Check(); !c.ok()) {
    t.Discard();
    return c;
  }
  if (fsync(t.fd) != 0) {
    absl::Status e = ErrnoToStatus(errno, absl::StrCat("fsync ", printable));
    t.Discard();
    return e;
  }
  RETURN_IF_ERROR(t.Commit());
  fsync(dfd);
  return absl::OkStatus();
}

// Small files are restored in batches: one chunk stream for the batch, one
// syncfs() before the renames instead of two fsyncs per file. A file still
// appears under its name only once its bytes are durable. A batch that hits
// any error is undone and its files are restored one by one, so each
// failure is reported for its own file.
constexpr size_t kBatchFiles = 256;
constexpr uint64_t kBatchBytes = 64 << 20;
constexpr uint64_t kBatchFileMax = 8 << 20;  // larger files go on their own

void RestoreBatch(const std::vector<const v1::FileVersion*>& batch,
                  const std::vector<std::string>& rels, int root_fd, ChunkFetcher* fetcher,
                  const RestoreOptions& o, RestoreReport* r, std::vector<size_t>* retry) {
  std::map<std::string, int> dirs;  // relative dir -> fd
  std::deque<TempFile> files;       // Sha256 does not move: a deque never moves its elements
  std::vector<size_t> of;           // index in batch of each TempFile
  auto close_dirs = [&] {
    for (auto& [d, fd] : dirs) close(fd);
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string printable = PrintablePath(rels[i]);
    std::string dir, name;
    SplitRel(rels[i], &dir, &name);
    auto it = dirs.find(dir);
    if (it == dirs.end()) {
      absl::StatusOr<int> dfd = OpenDirChain(root_fd, dir, printable);
      if (!dfd.ok()) {
        retry->push_back(i);  // reported precisely by the one-by-one path
        continue;
      }
      it = dirs.emplace(dir, *dfd).first;
    }
    files.emplace_back();
    absl::StatusOr<bool> skip = Begin(*batch[i], it->second, name, printable, o, &files.back());
    if (!skip.ok()) {
      files.pop_back();
      r->failures.push_back(
          {printable, std::string(skip.status().message()), absl::IsAlreadyExists(skip.status())});
      continue;
    }
    if (*skip) {
      files.pop_back();
      r->files_skipped++;
      continue;
    }
    of.push_back(i);
  }
  std::vector<std::string> ids;
  for (const TempFile& t : files) {
    for (const auto& c : t.v->chunks()) ids.push_back(c.id());
  }
  size_t cur = 0;
  auto next_open = [&] {
    while (cur < files.size() &&
           files[cur].chunks_seen == static_cast<size_t>(files[cur].v->chunks_size()))
      ++cur;
  };
  // A broken stream shows below as files not received whole.
  fetcher
      ->Fetch(ids,
              [&](const std::string&, const std::string& data) {
                next_open();
                if (cur >= files.size())
                  return absl::DataLossError("more chunks than the batch asked for");
                files[cur].chunks_seen++;
                return files[cur].Append(data);
              })
      .IgnoreError();
  // The files received whole and right are kept even when the stream broke
  // later; the others are undone and restored one by one.
  std::vector<bool> good(files.size(), false);
  bool any = false;
  for (size_t k = 0; k < files.size(); ++k) {
    TempFile& t = files[k];
    good[k] = t.chunks_seen == static_cast<size_t>(t.v->chunks_size()) && t.Check().ok();
    any = any || good[k];
  }
  if (any && syncfs(root_fd) != 0) good.assign(files.size(), false);
  for (size_t k = 0; k < files.size(); ++k) {
    if (!good[k]) {
      files[k].Discard();
      retry->push_back(of[k]);
      continue;
    }
    if (absl::Status c = files[k].Commit(); !c.ok()) {
      r->failures.push_back({files[k].printable, std::string(c.message()), false});
      continue;
    }
    r->files_restored++;
    r->bytes_restored += files[k].v->size();
  }
  for (auto& [d, fd] : dirs) fsync(fd);
  close_dirs();
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
  auto one = [&](const v1::FileVersion& v, const std::string& rel) {
    bool skipped = false;
    absl::Status s = RestoreOne(v, root_fd, rel, fetcher, o, &skipped);
    if (!s.ok()) {
      r.failures.push_back(
          {PrintablePath(rel), std::string(s.message()), absl::IsAlreadyExists(s)});
    } else if (skipped) {
      r.files_skipped++;
    } else {
      r.files_restored++;
      r.bytes_restored += v.size();
    }
  };
  std::vector<const v1::FileVersion*> batch;
  std::vector<std::string> rels;
  uint64_t batch_bytes = 0;
  auto flush = [&] {
    // What a batch could not restore: the first file (the one the stream
    // broke on) alone, the rest as a batch again.
    std::vector<const v1::FileVersion*> vs = batch;
    std::vector<std::string> rs = rels;
    while (!vs.empty()) {
      std::vector<size_t> retry;
      RestoreBatch(vs, rs, root_fd, fetcher, o, &r, &retry);
      if (retry.empty()) break;
      std::sort(retry.begin(), retry.end());
      one(*vs[retry[0]], rs[retry[0]]);
      std::vector<const v1::FileVersion*> nv;
      std::vector<std::string> nr;
      for (size_t k = 1; k < retry.size(); ++k) {
        nv.push_back(vs[retry[k]]);
        nr.push_back(rs[retry[k]]);
      }
      vs = std::move(nv);
      rs = std::move(nr);
    }
    for (const v1::FileVersion* v : batch) {
      done_files++;
      done_bytes += v->size();
    }
    progress.Update(done_files, done_bytes);
    batch.clear();
    rels.clear();
    batch_bytes = 0;
  };
  for (const auto& v : versions) {
    auto rel = RestoreTargetPath(v, o);
    if (!rel.ok()) {
      r.failures.push_back({PrintablePath(v.path()), std::string(rel.status().message())});
      continue;
    }
    if (v.size() > kBatchFileMax) {
      one(v, *rel);
      done_files++;
      done_bytes += v.size();
      progress.Update(done_files, done_bytes);
      continue;
    }
    batch.push_back(&v);
    rels.push_back(*rel);
    batch_bytes += v.size();
    if (batch.size() >= kBatchFiles || batch_bytes >= kBatchBytes) flush();
  }
  flush();
  progress.Update(done_files, done_bytes, true);
  close(root_fd);
  return r;
}

}  // namespace shoebox::cli
