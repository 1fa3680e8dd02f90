#include "workers/connectors/local.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/destination_kinds.h"
#include "common/fsutil.h"
#include "common/paths.h"
#include "common/status.h"

namespace shoebox::worker {
namespace {

std::string Parent(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? std::string() : p.substr(0, s);
}
std::string Base(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Local file system errors, with the retry meaning the worker needs: a full
// disk or a missing mount is worth retrying later, a refused permission is
// not.
absl::Status FsError(int err, const std::string& what) {
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": no space left on the destination; free space"));
  }
  if (err == EACCES || err == EPERM || err == EROFS) {
    return absl::PermissionDeniedError(absl::StrCat(
        what, ": ", strerror(err), "; give the worker's user write access to the destination"));
  }
  if (err == EIO || err == ESTALE || err == ENOTCONN || err == EHOSTDOWN || err == ETIMEDOUT) {
    return absl::UnavailableError(
        absl::StrCat(what, ": ", strerror(err), " (mount unavailable; will retry)"));
  }
  return ErrnoToStatus(err, what);
}

// Records `hex` and the file's current mtime (see local.h). A file system
// without xattrs is not an error: its files then have no checksum.
absl::Status SetChecksumXattrs(int fd, const std::string& hex, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return FsError(errno, "stat " + PrintablePath(what));
  const std::string mtime =
      absl::StrCat(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string&>{kLocalSha256Xattr, hex},
        {kLocalSha256MtimeXattr, mtime}}) {
    if (::fsetxattr(fd, name, value.data(), value.size(), 0) != 0) {
      if (errno == ENOTSUP || errno == EOPNOTSUPP) return absl::OkStatus();
      return FsError(errno, "set checksum attribute on " + PrintablePath(what));
    }
  }
  return absl::OkStatus();
}

class LocalConnector final : public Connector {
 public:
  LocalConnector(std::string root, bool fsync) : root_(std::move(root)), fsync_(fsync) {}

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override {
    RETURN_IF_ERROR(ValidateRelativePath(req.remote_path, "remote path"));
    const std::string final_path = Full(req.remote_path);
    const std::string dir = Parent(final_path);
    RETURN_IF_ERROR(MakeDirs(dir));
    uint8_t rnd[8];
    SecureRandom(rnd, sizeof rnd);
    std::string base = Base(final_path);
    if (base.size() > 200) base = base.substr(0, 200);
    const std::string tmp =
        absl::StrCat(dir, "/.", base, kLocalTempMarker, ToHex(ByteSpan(rnd, sizeof rnd)));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
      // The folder was removed behind our back since we created it: again.
      {
        std::lock_guard<std::mutex> l(mu_);
        made_.clear();
      }
      RETURN_IF_ERROR(MakeDirs(dir));
      fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0) return FsError(errno, "create " + PrintablePath(tmp));
    // Held until close (or the process dies): a later Put of the same name
    // sweeps only temp files nobody holds (SweepDeadTempFiles).
    (void)::flock(fd, LOCK_EX | LOCK_NB);
    absl::Status st = WriteAll(fd, req, src, progress, tmp);
    if (st.ok() && fsync_) {
      if (::fsync(fd) != 0)
        st = FsError(errno, "fsync " + PrintablePath(tmp));
      else
        DropCachedPages(fd);
    }
    if (st.ok() && req.mtime_ns != 0) {
      struct timespec ts[2];
      ts[0].tv_sec = req.mtime_ns / 1000000000;
      ts[0].tv_nsec = req.mtime_ns % 1000000000;
      ts[1] = ts[0];
      if (::futimens(fd, ts) != 0) st = FsError(errno, "set mtime of " + PrintablePath(tmp));
    }
    if (st.ok() && req.sha256.size() == 32) {
      st = SetChecksumXattrs(fd, ToHex(req.sha256), tmp);
    }
    if (::close(fd) != 0 && st.ok()) st = FsError(errno, "close " + PrintablePath(tmp));
    if (st.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
      st = FsError(errno, "rename into " + PrintablePath(final_path));
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (fsync_) RETURN_IF_ERROR(FsyncDirectory(dir));
    SweepDeadTempFiles(dir, absl::StrCat(".", base, kLocalTempMarker));
    return Stat(req.remote_path);
  }

  // A worker killed in the middle of a Put leaves its temp file; the
  // delivery is retried at the same path, so the Put that completes it
  // removes the leftovers of that name: those no live writer holds (the
  // flock of a killed process is gone). Best effort: a file system without
  // flock keeps them (List skips them either way).
  static void SweepDeadTempFiles(const std::string& dir, const std::string& prefix) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    while (struct dirent* e = ::readdir(d)) {
      if (!absl::StartsWith(e->d_name, prefix)) continue;
      const std::string path = absl::StrCat(dir, "/", e->d_name);
      int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(path.c_str());
      ::close(fd);
    }
    ::closedir(d);
  }

  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override {
    RETURN_IF_ERROR(ValidateRelativePath(remote_path, "remote path"));
    const std::string p = Full(remote_path);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return absl::NotFoundError(absl::StrCat(PrintablePath(p), " does not exist"));
      }
      return FsError(errno, "stat " + PrintablePath(p));
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(PrintablePath(p), " exists and is not a regular file"));
    }
    RemoteObject o;
    o.remote_path = remote_path;
    o.size = static_cast<uint64_t>(st.st_size);
    o.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    o.ref = p;
    char buf[80];
    ssize_t n = ::getxattr(p.c_str(), kLocalSha256Xattr, buf, sizeof buf);
    char when[32];
    ssize_t m = ::getxattr(p.c_str(), kLocalSha256MtimeXattr, when, sizeof when);
    int64_t recorded_mtime = 0;
    if (n == 64 && m > 0 &&
        absl::SimpleAtoi(absl::string_view(when, static_cast<size_t>(m)), &recorded_mtime) &&
        recorded_mtime == o.mtime_ns) {
      o.checksum = "sha256:" + std::string(buf, 64);
    }
    return o;
  }

  absl::StatusOr<RemoteObject> RecordChecksum(const std::string& remote_path,
                                              const std::string& sha256) override {
    RETURN_IF_ERROR(ValidateRelativePath(remote_path, "remote path"));
    if (sha256.size() != 32) return Stat(remote_path);
    const std::string p = Full(remote_path);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) {
        return absl::NotFoundError(absl::StrCat(PrintablePath(p), " does not exist"));
      }
      return FsError(errno, "open " + PrintablePath(p));
    }
    absl::Status st = SetChecksumXattrs(fd, ToHex(sha256), p);
    ::close(fd);
    RETURN_IF_ERROR(st);
    return Stat(remote_path);
  }

  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override {
    std::vector<RemoteObject> out;
    std::string start = prefix.empty() ? root_ : Full(prefix);
    RETURN_IF_ERROR(
        Walk(start, prefix.empty() ? "" : std::string(absl::StripSuffix(prefix, "/")) + "/", &out));
    return out;
  }

  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override {
    RETURN_IF_ERROR(ValidateRelativePath(remote_path, "remote path"));
    const std::string p = Full(remote_path);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        return absl::NotFoundError(absl::StrCat(PrintablePath(p), " does not exist"));
      return FsError(errno, "open " + PrintablePath(p));
    }
    std::string buf(1 << 20, '\0');
    absl::Status st;
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = FsError(errno, "read " + PrintablePath(p));
        break;
      }
      if (n == 0) break;
      st = sink(std::string_view(buf.data(), static_cast<size_t>(n)));
      if (!st.ok()) break;
    }
    ::close(fd);
    return st;
  }

  absl::Status Delete(const std::string& remote_path) override {
    RETURN_IF_ERROR(ValidateRelativePath(remote_path, "remote path"));
    const std::string p = Full(remote_path);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      return FsError(errno, "delete " + PrintablePath(p));
    return absl::OkStatus();
  }

  absl::Status EnsureFolder(const std::string& folder) override {
    if (folder.empty()) return MakeDirs(root_);
    RETURN_IF_ERROR(ValidateRelativePath(folder, "folder"));
    return MakeDirs(Full(folder));
  }

  std::string Describe() const override { return "local:" + root_; }

 private:
  std::string Full(const std::string& rel) const { return absl::StrCat(root_, "/", rel); }

  absl::Status WriteAll(int fd, const PutRequest& req, ByteSource* src,
                        const std::function<void(const Progress&)>& progress,
                        const std::string& tmp) {
    RETURN_IF_ERROR(src->Rewind());
    // With fsync on, the copy bypasses the page cache where the file system
    // allows it (DirectFileWriter): it is written once and not read back soon.
    DirectFileWriter out(fd, /*direct=*/fsync_);
    thread_local std::unique_ptr<uint8_t[]> tl_buf;
    constexpr size_t kBuf = 1 << 20;
    if (!tl_buf) tl_buf.reset(new uint8_t[kBuf]);
    uint8_t* buf = tl_buf.get();
    Progress p;
    while (p.bytes_sent < req.size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(kBuf, req.size - p.bytes_sent));
      ASSIGN_OR_RETURN(size_t n, src->Read(buf, want));
      if (n == 0) {
        return absl::DataLossError(absl::StrCat("source of ", PrintablePath(req.remote_path),
                                                " ended after ", p.bytes_sent, " of ", req.size,
                                                " bytes"));
      }
      if (int e = out.Write(buf, n); e != 0) return FsError(e, "write " + PrintablePath(tmp));
      p.bytes_sent += n;
      if (progress) progress(p);
    }
    if (int e = out.Finish(); e != 0) return FsError(e, "write " + PrintablePath(tmp));
    return absl::OkStatus();
  }

  absl::Status MakeDirs(const std::string& dir) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (made_.count(dir)) return absl::OkStatus();
    }
    // Create each missing component (mkdir -p), parents first.
    std::string cur;
    size_t pos = 0;
    while (pos <= dir.size()) {
      size_t next = dir.find('/', pos);
      if (next == std::string::npos) next = dir.size();
      cur = dir.substr(0, next);
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        return FsError(errno, "create folder " + PrintablePath(cur));
      }
      pos = next + 1;
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(PrintablePath(dir), " exists and is not a folder"));
    }
    std::lock_guard<std::mutex> l(mu_);
    made_.insert(dir);
    return absl::OkStatus();
  }

  absl::Status Walk(const std::string& dir, const std::string& rel,
                    std::vector<RemoteObject>* out) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return absl::OkStatus();
      return FsError(errno, "list " + PrintablePath(dir));
    }
    absl::Status st;
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (name.find(kLocalTempMarker) != std::string::npos && absl::StartsWith(name, ".")) continue;
      names.push_back(name);
    }
    ::closedir(d);
    for (const std::string& name : names) {
      std::string full = dir + "/" + name;
      struct stat sb;
      if (::lstat(full.c_str(), &sb) != 0) continue;  // vanished meanwhile
      if (S_ISDIR(sb.st_mode)) {
        RETURN_IF_ERROR(Walk(full, rel + name + "/", out));
      } else if (S_ISREG(sb.st_mode)) {
        ASSIGN_OR_RETURN(RemoteObject o, Stat(rel + name));
        out->push_back(std::move(o));
      }
    }
    return absl::OkStatus();
  }

  const std::string root_;
  const bool fsync_;
  std::mutex mu_;
  std::set<std::string> made_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<Connector>> MakeLocalConnector(const nlohmann::json& settings,
                                                              const nlohmann::json& credentials) {
  // Keys, types and defaults: common/destination_kinds.cc.
  const SettingsReader in("local", settings, credentials);
  ASSIGN_OR_RETURN(std::string root, in.String("root"));
  RETURN_IF_ERROR(ValidateAbsolutePath(root, "local destination root"));
  while (root.size() > 1 && absl::EndsWith(root, "/")) root.pop_back();
  ASSIGN_OR_RETURN(const bool fsync, in.Bool("fsync"));
  return std::unique_ptr<Connector>(new LocalConnector(std::move(root), fsync));
}

SHOEBOX_REGISTER_CONNECTOR("local", MakeLocalConnector);

}  // namespace shoebox::worker
