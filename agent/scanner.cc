#include "agent/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "absl/strings/str_cat.h"
#include "agent/hasher.h"
#include "common/bytes.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {
namespace {

// Directories deeper than this are reopened from the root instead of keeping
// one descriptor per level open (4,000-byte paths can have 2,000 levels).
constexpr int kMaxHeldDepth = 64;

void SetSuppressed(Folder* f, const std::string& reason) {
  if (reason.empty()) {
    if (f->deletions_suppressed) {
      spdlog::info("folder {} is available again; deletions are reported again",
                   PrintablePath(f->cfg.path));
    }
    f->deletions_suppressed = false;
  } else {
    if (!f->deletions_suppressed || f->suppression_reason != reason) {
      spdlog::warn(
          "folder {} {}; assuming it is unmounted: no deletion is reported for it until it is back",
          PrintablePath(f->cfg.path), reason);
    }
    f->deletions_suppressed = true;
  }
  f->suppression_reason = reason;
}

}  // namespace

absl::Status Scanner::CheckRoot(Folder* f) {
  struct stat st;
  if (::stat(f->cfg.path.c_str(), &st) != 0) {
    int err = errno;
    f->root_available = false;
    SetSuppressed(f, absl::StrCat("is missing (", std::strerror(err), ")"));
    return absl::OkStatus();
  }
  if (!S_ISDIR(st.st_mode)) {
    f->root_available = false;
    SetSuppressed(f, "is not a directory");
    return absl::OkStatus();
  }
  f->root_available = true;
  std::string dev_key = absl::StrCat("rootdev:", f->id);
  std::string dev = absl::StrCat(static_cast<uint64_t>(st.st_dev));
  ASSIGN_OR_RETURN(std::optional<std::string> stored, db_->GetMeta(dev_key));
  if (!stored.has_value()) {
    RETURN_IF_ERROR(db_->PutMeta(dev_key, dev));
  } else if (*stored != dev) {
    if (accept_new_device_) {
      spdlog::warn(
          "folder {} moved to another file system (device {}, was {}); accepted as requested",
          PrintablePath(f->cfg.path), dev, *stored);
      RETURN_IF_ERROR(db_->PutMeta(dev_key, dev));
    } else {
      SetSuppressed(
          f,
          absl::StrCat(
              "is on another file system than before (device ", dev, ", was ", *stored,
              "; run `shoebox-agent run --accept-folder-changes` once if the disk was replaced)"));
      return absl::OkStatus();
    }
  }
  // An empty root while the index holds entries: an empty mount point.
  DIR* d = ::opendir(f->cfg.path.c_str());
  if (d == nullptr) {
    int err = errno;
    SetSuppressed(f, absl::StrCat("cannot be listed (", std::strerror(err), ")"));
    f->root_available = false;
    return absl::OkStatus();
  }
  bool empty = true;
  while (struct dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  if (empty) {
    std::map<std::string, IndexEntry> children;
    RETURN_IF_ERROR(db_->ListChildren(f->id, "", &children));
    if (!children.empty()) {
      SetSuppressed(
          f, absl::StrCat("is empty although ", children.size(),
                          " entries were backed up from it (if they were really deleted, run "
                          "`shoebox-agent run --accept-folder-changes` once)"));
      if (!accept_new_device_) return absl::OkStatus();
      SetSuppressed(f, "");
      spdlog::warn("folder {} is empty; its deletions are reported as requested",
                   PrintablePath(f->cfg.path));
      return absl::OkStatus();
    }
  }
  SetSuppressed(f, "");
  return absl::OkStatus();
}

absl::Status Scanner::ScanDir(Folder* f, const std::string& rel_dir, bool recursive,
                              ScanStats* stats) {
  if (!f->root_available) return absl::OkStatus();
  int fd;
  if (rel_dir.empty()) {
    fd = ::open(f->cfg.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "open folder " + PrintablePath(f->cfg.path));
  } else {
    auto r = OpenRelative(f->cfg.path, rel_dir, O_RDONLY | O_DIRECTORY);
    if (!r.ok()) {
      if (absl::IsNotFound(r.status()))
        return absl::OkStatus();  // gone; the parent's check handles it
      return r.status();
    }
    fd = *r;
  }
  int depth = 0;
  for (char c : rel_dir) depth += c == '/';
  return ScanOpenDir(f, fd, rel_dir, recursive, stats, rel_dir.empty() ? 0 : depth + 1);
}

absl::Status Scanner::ScanOpenDir(Folder* f, int dir_fd, const std::string& rel, bool recursive,
                                  ScanStats* stats, int depth) {
  ++stats->dirs;
  sink_->OnDirectory(f, rel, dir_fd);
  int list_fd = ::dup(dir_fd);
  DIR* d = list_fd >= 0 ? ::fdopendir(list_fd) : nullptr;
  if (d == nullptr) {
    int err = errno;
    if (list_fd >= 0) ::close(list_fd);
    ::close(dir_fd);
    ++stats->errors;
    return ErrnoToStatus(err, "list directory " + PrintablePath(JoinRel(f->cfg.path, rel)));
  }
  struct Entry {
    std::string name;
    struct stat st;
  };
  std::vector<Entry> entries;
  std::vector<std::string> unreadable;
  while (true) {
    errno = 0;
    struct dirent* de = ::readdir(d);
    if (de == nullptr) break;
    if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
    Entry e;
    e.name = de->d_name;
    if (::fstatat(dir_fd, de->d_name, &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // vanished between listing and stat
      spdlog::warn("cannot stat {}: {}; skipped until the next rescan",
                   PrintablePath(f->cfg.path + "/" + JoinRel(rel, e.name)), std::strerror(errno));
      ++stats->errors;
      unreadable.push_back(std::move(e.name));
      continue;
    }
    entries.push_back(std::move(e));
  }
  ::closedir(d);

  std::map<std::string, IndexEntry> known;
  absl::Status ls = db_->ListChildren(f->id, rel, &known);
  if (!ls.ok()) {
    ::close(dir_fd);
    return ls;
  }
  for (const std::string& n : unreadable) known.erase(n);
  bool hold = depth < kMaxHeldDepth;
  if (!hold) {
    ::close(dir_fd);
    dir_fd = -1;
  }
  for (const Entry& e : entries) {
    auto it = known.find(e.name);
    const IndexEntry* k = it == known.end() ? nullptr : &it->second;
    IndexEntry copy;
    if (k) copy = *k;
    bool seen = false;
    std::string child_rel = JoinRel(rel, e.name);
    if (S_ISDIR(e.st.st_mode)) {
      seen = true;
      if (!f->filter.DescendDir(child_rel)) {
        ++stats->skipped;
      } else {
        FileStat fs = FromStat(e.st);
        bool is_known = k && k->kind == EntryKind::kDir && k->stat.inode == fs.inode;
        if (k && k->kind == EntryKind::kFile) (void)Remove(f, rel, e.name, stats);
        if (recursive || !is_known) {
          int cfd;
          if (dir_fd >= 0) {
            cfd = ::openat(dir_fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0 && errno != 0) cfd = -errno;
          } else {
            auto r = OpenRelative(f->cfg.path, child_rel, O_RDONLY | O_DIRECTORY);
            cfd = r.ok() ? *r : -(absl::IsPermissionDenied(r.status()) ? EACCES : ENOENT);
          }
          if (cfd < 0) {
            int err = -cfd;
            if (err != ENOENT) {
              spdlog::warn(
                  "cannot open directory {}: {}; its files are skipped until it can be read",
                  PrintablePath(f->cfg.path + "/" + child_rel), std::strerror(err));
              ++stats->errors;
            } else {
              seen = false;
            }
          } else {
            if (!is_known) (void)db_->PutDir(f->id, rel, e.name, fs);
            absl::Status s = ScanOpenDir(f, cfd, child_rel, /*recursive=*/true, stats, depth + 1);
            if (!s.ok())
              spdlog::warn("scan of {} incomplete: {}", PrintablePath(child_rel),
                           std::string(s.message()));
          }
        }
      }
    } else if (S_ISREG(e.st.st_mode)) {
      if (f->filter.IncludeFile(child_rel)) {
        seen = true;
        ++stats->files;
        FileStat fs = FromStat(e.st);
        if (!(k && k->kind == EntryKind::kFile && k->stat.SameContentAs(fs))) {
          if (k && k->kind == EntryKind::kDir) (void)Remove(f, rel, e.name, stats);
          ++stats->candidates;
          sink_->OnCandidate(f, rel, e.name, fs);
        }
      } else {
        ++stats->skipped;
      }
    } else {
      // Symbolic links (never followed), FIFOs, sockets, devices.
      ++stats->skipped;
      spdlog::debug("skipping {} (not a regular file or directory)", PrintablePath(child_rel));
    }
    if (seen && it != known.end()) known.erase(it);
  }
  if (dir_fd >= 0) ::close(dir_fd);
  for (const auto& [name, entry] : known) {
    (void)entry;
    RETURN_IF_ERROR(Remove(f, rel, name, stats));
  }
  return absl::OkStatus();
}

absl::Status Scanner::Remove(Folder* f, const std::string& dir, const std::string& name,
                             ScanStats* stats) {
  if (f->deletions_suppressed) return absl::OkStatus();
  ASSIGN_OR_RETURN(uint64_t n, db_->RecordRemoval(f->id, dir, name));
  if (n > 0) {
    spdlog::info("deleted: {} ({} file{})", PrintablePath(f->cfg.path + "/" + JoinRel(dir, name)),
                 n, n == 1 ? "" : "s");
  }
  stats->deleted += n;
  return absl::OkStatus();
}

absl::Status Scanner::CheckPath(Folder* f, const std::string& dir, const std::string& name,
                                ScanStats* stats) {
  if (!f->root_available) return absl::OkStatus();
  std::string rel = JoinRel(dir, name);
  auto st = StatRelative(f->cfg.path, rel);
  // The entry is used in place (`known` points into `lookup`, null when the
  // path is not indexed) rather than moved out into an optional of its own:
  // GCC 12 at -O3 cannot follow the engaged flag through that move and
  // reports the entry's fields as maybe-uninitialized.
  absl::StatusOr<std::optional<IndexEntry>> lookup = db_->GetIndex(f->id, dir, name);
  if (!lookup.ok()) return lookup.status();
  const IndexEntry* const known = lookup->has_value() ? &**lookup : nullptr;
  if (!st.ok()) {
    if (absl::IsNotFound(st.status())) {
      if (known != nullptr) return Remove(f, dir, name, stats);
      return absl::OkStatus();
    }
    spdlog::debug("cannot stat {}: {}", PrintablePath(rel), std::string(st.status().message()));
    return absl::OkStatus();
  }
  if (S_ISDIR(st->mode)) {
    if (!f->filter.DescendDir(rel)) return absl::OkStatus();
    bool is_known = known && known->kind == EntryKind::kDir && known->stat.inode == st->inode;
    if (is_known) return absl::OkStatus();
    if (known) RETURN_IF_ERROR(Remove(f, dir, name, stats));
    RETURN_IF_ERROR(db_->PutDir(f->id, dir, name, *st));
    return ScanDir(f, rel, /*recursive=*/true, stats);
  }
  if (S_ISREG(st->mode) && f->filter.IncludeFile(rel)) {
    ++stats->files;
    if (known && known->kind == EntryKind::kFile && known->stat.SameContentAs(*st))
      return absl::OkStatus();
    if (known && known->kind == EntryKind::kDir) RETURN_IF_ERROR(Remove(f, dir, name, stats));
    ++stats->candidates;
    sink_->OnCandidate(f, dir, name, *st);
    return absl::OkStatus();
  }
  // Became something we do not back up.
  if (known != nullptr) return Remove(f, dir, name, stats);
  return absl::OkStatus();
}

}  // namespace shoebox::agent
