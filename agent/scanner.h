// Walking watched folders and comparing what is on disk with the index.
//
// The scanner never reads file content: it lists directories, stats entries
// and compares size, mtime, ctime and inode with the index. New or changed
// regular files are handed to a ChangeSink (which decides when to read
// them); vanished files and directories become outbox deletes — except when
// the folder root looks unmounted (see FolderGuard), then no deletion is
// recorded for that folder.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/agent_config.h"
#include "agent/filter.h"
#include "agent/index_format.h"
#include "agent/state_db.h"

namespace shoebox::agent {

// One watched folder and what the scanner knows about its root.
struct Folder {
  Folder(FolderConfig c, uint32_t i)
      : cfg(std::move(c)), id(i), filter(cfg.include, cfg.exclude, cfg.all_files) {}
  const FolderConfig cfg;
  const uint32_t id;
  const PathFilter filter;
  // Set by CheckRoot: deletions are suppressed while the root is missing, on
  // another device than recorded, or empty while the index has files.
  bool deletions_suppressed = false;
  bool root_available = false;
  std::string suppression_reason;  // logged once per change of reason
};

class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // A regular file that is new or differs from the index.
  virtual void OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                           const FileStat& st) = 0;
  // A directory to watch (dir_fd is open during the call; rel "" = root).
  virtual void OnDirectory(Folder* f, const std::string& rel, int dir_fd) = 0;
};

struct ScanStats {
  uint64_t dirs = 0;
  uint64_t files = 0;       // included regular files seen
  uint64_t candidates = 0;  // new or changed
  uint64_t deleted = 0;     // file deletions recorded
  uint64_t skipped = 0;     // symlinks, FIFOs, sockets, devices, excluded
  uint64_t errors = 0;      // unreadable directories or entries
};

class Scanner {
 public:
  // `accept_new_device` (--accept-folder-changes): a root on another device
  // than recorded, or an empty root, is accepted as real (after a disk
  // replacement, or when everything was really deleted) instead of
  // suppressing deletions.
  Scanner(StateDb* db, ChangeSink* sink, bool accept_new_device = false)
      : db_(db), sink_(sink), accept_new_device_(accept_new_device) {}

  // Checks the folder root and updates f->deletions_suppressed. Logs once per
  // state change.
  absl::Status CheckRoot(Folder* f);

  // Scans directory `rel_dir` ("" = root) of `f`; with `recursive`, also
  // every subdirectory. New subdirectories are always scanned completely.
  absl::Status ScanDir(Folder* f, const std::string& rel_dir, bool recursive, ScanStats* stats);

  // Checks one path after an inotify event: new/changed file → candidate,
  // new directory → recursive scan, gone → deletion (unless suppressed).
  absl::Status CheckPath(Folder* f, const std::string& dir, const std::string& name,
                         ScanStats* stats);

 private:
  absl::Status ScanOpenDir(Folder* f, int dir_fd, const std::string& rel, bool recursive,
                           ScanStats* stats, int depth);
  void HandleEntry(Folder* f, int dir_fd, const std::string& rel, const std::string& name,
                   const struct stat& st, const IndexEntry* known, bool recursive, ScanStats* stats,
                   int depth);
  absl::Status Remove(Folder* f, const std::string& dir, const std::string& name, ScanStats* stats);

  StateDb* const db_;
  ChangeSink* const sink_;
  const bool accept_new_device_;
};

}  // namespace shoebox::agent
