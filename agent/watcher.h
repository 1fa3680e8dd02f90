// inotify watches on every directory of the watched folders.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"

namespace shoebox::agent {

class Watcher {
 public:
  struct Event {
    size_t folder = 0;
    std::string dir;   // relative directory the event happened in
    std::string name;  // entry name ("" for events on the directory itself)
    uint32_t mask = 0;
  };

  static absl::StatusOr<std::unique_ptr<Watcher>> Create();
  ~Watcher();

  // Watches the directory open as `dir_fd` (identified by folder index and
  // relative path). When the kernel's watch limit is reached, logs one line
  // and returns false; the caller relies on periodic rescans from then on.
  bool Watch(size_t folder, const std::string& rel, int dir_fd);

  // File descriptor to poll for readability.
  int fd() const { return fd_; }

  // Reads every queued event without blocking. `overflow` is set when the
  // kernel dropped events (a full rescan is needed).
  absl::Status Drain(std::vector<Event>* out, bool* overflow);

  bool limit_reached() const { return limit_reached_; }
  size_t watch_count() const { return wds_.size(); }

 private:
  explicit Watcher(int fd) : fd_(fd) {}
  struct Target {
    size_t folder;
    std::string rel;
  };
  const int fd_;
  std::unordered_map<int, Target> wds_;
  bool limit_reached_ = false;
};

}  // namespace shoebox::agent
