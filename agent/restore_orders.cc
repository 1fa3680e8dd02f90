#include "agent/restore_orders.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/hasher.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {

namespace {

// Chunks fetched in one ReadChunks call: at most this many IDs and bytes.
constexpr int kBatchIds = 32;
constexpr uint64_t kBatchBytes = 32ull << 20;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
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

 private:
  int fd_;
};

std::string Today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// Whether dir_fd/name is a regular file with exactly `size` bytes and this
// SHA-256.
bool SameContent(int dir_fd, const std::string& name, uint64_t size, const std::string& sha) {
  Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) != size) {
    return false;
  }
  Sha256 h;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return DigestToString(h.Final()) == sha;
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, "write " + what);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string BesideName(const std::string& rel, const std::string& day, int n) {
  std::string dir, name;
  SplitRelPath(rel, &dir, &name);
  // The extension: the last dot that is not the first character.
  size_t dot = name.rfind('.');
  if (dot == 0 || dot == std::string::npos) dot = name.size();
  std::string tag =
      n > 1 ? absl::StrCat(" (restored ", day, " ", n, ")") : absl::StrCat(" (restored ", day, ")");
  return JoinRel(dir, name.substr(0, dot) + tag + name.substr(dot));
}

absl::Status RestoreRunner::Run(const v1::RestoreOrder& order) {
  RestoreOutcome out = Restore(order);
  if (out.ok) {
    spdlog::info("restore request {}: wrote {}", order.request_id(),
                 PrintablePath(order.folder() + "/" + out.restored_path));
  } else {
    spdlog::warn("restore request {} failed: {}", order.request_id(), out.reason);
  }
  v1::ReportRestoreRequest req;
  req.set_request_id(order.request_id());
  req.set_ok(out.ok);
  req.set_reason(out.reason);
  req.set_restored_path(out.restored_path);
  v1::ReportRestoreResponse resp;
  auto ctx = client_->NewContext(rpc_timeout_);
  grpc::Status s = client_->stub()->ReportRestore(ctx.get(), req, &resp);
  if (!s.ok()) {
    return Annotate(FromGrpc(s), absl::StrCat("ReportRestore of request ", order.request_id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::FileVersion> RestoreRunner::FindVersion(const Folder& f,
                                                           const v1::RestoreOrder& o) {
  v1::ListVersionsRequest req;
  req.set_folder(f.cfg.path);
  req.set_path(o.path());
  req.set_all_versions(true);
  req.set_limit(1000);
  for (;;) {
    v1::ListVersionsResponse resp;
    auto ctx = client_->NewContext(rpc_timeout_);
    grpc::Status s = client_->stub()->ListVersions(ctx.get(), req, &resp);
    if (!s.ok()) return Annotate(FromGrpc(s), "ListVersions");
    for (const v1::FileVersion& v : resp.versions()) {
      if (v.version_id() == o.version_id() && v.path() == o.path()) return v;
    }
    if (resp.next_after_version_id() == 0) break;
    req.set_after_version_id(resp.next_after_version_id());
  }
  return absl::NotFoundError(
      absl::StrCat("version ", o.version_id(), " of ", PrintablePath(o.path()),
                   " is no longer in the catalog (removed by prune?); choose another version"));
}

absl::Status RestoreRunner::WriteVersion(int dir_fd, const std::string& final_name,
                                         const v1::FileVersion& v) {
  const std::string tmp = absl::StrCat(".", final_name, ".shoebox-restore-", ::getpid());
  ::unlinkat(dir_fd, tmp.c_str(), 0);  // a leftover of an interrupted restore
  Fd fd(::openat(dir_fd, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return ErrnoToStatus(errno, "create " + PrintablePath(tmp));
  auto fail = [&](absl::Status st) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return st;
  };
  Sha256 sha;
  uint64_t written = 0;
  size_t i = 0;
  while (i < static_cast<size_t>(v.chunks_size())) {
    // One batch: distinct IDs in file order.
    v1::ReadChunksRequest req;
    std::map<std::string, std::string> data;
    size_t end = i;
    uint64_t bytes = 0;
    while (end < static_cast<size_t>(v.chunks_size()) && req.ids_size() < kBatchIds &&
           (bytes == 0 || bytes + v.chunks(static_cast<int>(end)).size() <= kBatchBytes)) {
      const v1::ChunkRef& c = v.chunks(static_cast<int>(end));
      if (data.emplace(c.id(), std::string()).second) {
        req.add_ids(c.id());
        bytes += c.size();
      }
      ++end;
    }
    auto ctx = client_->NewContext(rpc_timeout_ * 4);
    auto reader = client_->stub()->ReadChunks(ctx.get(), req);
    v1::ChunkData cd;
    while (reader->Read(&cd)) {
      auto it = data.find(cd.id());
      if (it != data.end()) it->second = std::move(*cd.mutable_data());
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return fail(Annotate(FromGrpc(s), "ReadChunks"));
    for (; i < end; ++i) {
      const v1::ChunkRef& c = v.chunks(static_cast<int>(i));
      const std::string& d = data[c.id()];
      if (d.size() != c.size()) {
        return fail(
            absl::DataLossError(absl::StrCat("chunk ", ToHex(AsBytes(c.id())), " came back with ",
                                             d.size(), " bytes instead of ", c.size())));
      }
      sha.Update(d);
      if (absl::Status w = WriteAll(fd.get(), d, PrintablePath(tmp)); !w.ok()) return fail(w);
      written += d.size();
    }
  }
  if (written != v.size() || DigestToString(sha.Final()) != v.sha256()) {
    return fail(absl::DataLossError(
        "the chunks' content does not match the version's SHA-256 (a damaged chunk in the chunk "
        "store?): nothing was written; run `shoebox verify` on the server"));
  }
  const mode_t mode = (v.mode() & 07777) != 0 ? (v.mode() & 07777) : 0644;
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = v.mtime_ns() / 1000000000;
  times[1].tv_nsec = v.mtime_ns() % 1000000000;
  if (::fchmod(fd.get(), mode) != 0 || ::futimens(fd.get(), times) != 0 || ::fsync(fd.get()) != 0) {
    return fail(ErrnoToStatus(errno, "finish " + PrintablePath(tmp)));
  }
  fd.reset(-1);
  // Never replace what is there now.
  if (::renameat2(dir_fd, tmp.c_str(), dir_fd, final_name.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EINVAL || err == ENOSYS) {  // file system without RENAME_NOREPLACE
      if (::linkat(dir_fd, tmp.c_str(), dir_fd, final_name.c_str(), 0) != 0)
        err = errno;
      else
        err = 0;
      ::unlinkat(dir_fd, tmp.c_str(), 0);
    } else {
      ::unlinkat(dir_fd, tmp.c_str(), 0);
    }
    if (err == EEXIST) {
      return absl::AlreadyExistsError(PrintablePath(final_name) + " appeared meanwhile");
    }
    if (err != 0) return ErrnoToStatus(err, "rename to " + PrintablePath(final_name));
  }
  ::fsync(dir_fd);
  return absl::OkStatus();
}

RestoreOutcome RestoreRunner::Restore(const v1::RestoreOrder& o) {
  RestoreOutcome out;
  const std::string where = PrintablePath(o.folder() + "/" + o.path());
  auto failed = [&](const std::string& why) {
    out.ok = false;
    out.reason = absl::StrCat("cannot restore ", where, ": ", why);
    return out;
  };
  const Folder* folder = nullptr;
  for (const auto& f : *folders_) {
    if (f->cfg.path == o.folder()) folder = f.get();
  }
  if (folder == nullptr) {
    return failed(
        "this agent no longer watches that folder; add it back to the agent's configuration, or "
        "restore with `shoebox restore --to DIR` on the server");
  }
  if (o.path().empty() || o.path().front() == '/' || o.path().find('\0') != std::string::npos) {
    return failed("not a relative path");
  }
  for (absl::string_view part : absl::StrSplit(o.path(), '/')) {
    if (part.empty() || part == "." || part == "..") return failed("not a plain relative path");
  }
  absl::StatusOr<v1::FileVersion> v = FindVersion(*folder, o);
  if (!v.ok()) return failed(std::string(v.status().message()));
  if (v->chunks_dropped()) {
    return failed(
        "the chunk store no longer holds this version (pass-through folder); restore it from a "
        "destination's copy");
  }
  // The directory, created as needed, never through a symbolic link.
  std::string dir, name;
  SplitRelPath(o.path(), &dir, &name);
  Fd dfd(::open(folder->cfg.path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (dfd.get() < 0) return failed(std::string(ErrnoToStatus(errno, "open folder").message()));
  if (!dir.empty()) {
    for (absl::string_view part : absl::StrSplit(dir, '/')) {
      const std::string p(part);
      if (::mkdirat(dfd.get(), p.c_str(), 0755) != 0 && errno != EEXIST) {
        return failed(std::string(ErrnoToStatus(errno, "create directory " + p).message()));
      }
      int next = ::openat(dfd.get(), p.c_str(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0) {
        return failed(std::string(
            ErrnoToStatus(errno, "open directory " + p + " (a symbolic link is not followed)")
                .message()));
      }
      dfd.reset(next);
    }
  }
  // The target: the original name, or the first free "(restored DAY[ n])"
  // name beside a different file. A name already holding this very content
  // is the restore done before (an order handed out again).
  const std::string day = Today();
  std::string target_rel;
  for (int n = 0; n < 100 && target_rel.empty(); ++n) {
    const std::string rel = n == 0 ? o.path() : BesideName(o.path(), day, n);
    std::string d2, candidate;
    SplitRelPath(rel, &d2, &candidate);
    struct stat st;
    if (::fstatat(dfd.get(), candidate.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) {
        return failed(std::string(ErrnoToStatus(errno, "stat " + PrintablePath(rel)).message()));
      }
      absl::Status w = WriteVersion(dfd.get(), candidate, *v);
      if (absl::IsAlreadyExists(w)) continue;  // appeared meanwhile: next name
      if (!w.ok()) return failed(std::string(w.message()));
      target_rel = rel;
    } else if (SameContent(dfd.get(), candidate, v->size(), v->sha256())) {
      target_rel = rel;
    }
  }
  if (target_rel.empty()) return failed("no free name beside it (99 restored copies exist)");
  out.ok = true;
  out.restored_path = target_rel;
  // Known content at a known path: the scanner finds it unchanged, the
  // coordinator matches it with the version (nothing is uploaded again).
  absl::StatusOr<FileStat> st = StatRelative(folder->cfg.path, target_rel);
  Digest sha{};
  std::vector<ChunkEntry> chunks;
  bool known = st.ok() && DigestFromString(v->sha256(), &sha);
  for (const v1::ChunkRef& c : v->chunks()) {
    ChunkEntry e;
    known = known && DigestFromString(c.id(), &e.id);
    e.size = c.size();
    chunks.push_back(e);
  }
  if (known) {
    std::string rdir, rname;
    SplitRelPath(target_rel, &rdir, &rname);
    auto rec = db_->RecordUpsert(folder->id, rdir, rname, *st, sha, chunks);
    if (!rec.ok()) {
      spdlog::warn("restored {} but cannot record it in the agent index: {} (it is read again)",
                   PrintablePath(target_rel), std::string(rec.status().message()));
    }
  }
  return out;
}

}  // namespace shoebox::agent
