#include "agent/watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {

namespace {
// IN_MODIFY, IN_OPEN and IN_CLOSE_NOWRITE for settle tracking: a file
// closed by its writer and neither written nor opened since is read after a
// short confirmation instead of the full settle time (settle_tracker.h).
constexpr uint32_t kMask = IN_CREATE | IN_MODIFY | IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE |
                           IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF |
                           IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
}  // namespace

absl::StatusOr<std::unique_ptr<Watcher>> Watcher::Create() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "inotify_init1");
  return std::unique_ptr<Watcher>(new Watcher(fd));
}

Watcher::~Watcher() { ::close(fd_); }

bool Watcher::Watch(size_t folder, const std::string& rel, int dir_fd) {
  if (limit_reached_) return false;
  // Through /proc/self/fd so that paths longer than PATH_MAX work.
  std::string proc = absl::StrCat("/proc/self/fd/", dir_fd);
  int wd = inotify_add_watch(fd_, proc.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC) {
      limit_reached_ = true;
      spdlog::warn(
          "inotify watch limit reached after {} directories; changes elsewhere are found by the "
          "periodic rescan "
          "(raise fs.inotify.max_user_watches to watch everything)",
          wds_.size());
    } else {
      spdlog::debug("cannot watch {}: {}", PrintablePath(rel), std::strerror(errno));
    }
    return false;
  }
  wds_[wd] = Target{folder, rel};  // same inode after a rename: same wd, new path
  return true;
}

absl::Status Watcher::Drain(std::vector<Event>* out, bool* overflow) {
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "read inotify events");
    }
    if (n == 0) return absl::OkStatus();
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        *overflow = true;
        continue;
      }
      auto it = wds_.find(ev->wd);
      if (it == wds_.end()) continue;
      if (ev->mask & IN_IGNORED) {
        wds_.erase(it);
        continue;
      }
      Event e;
      e.folder = it->second.folder;
      e.dir = it->second.rel;
      e.name = ev->len > 0 ? std::string(ev->name) : std::string();
      e.mask = ev->mask;
      out->push_back(std::move(e));
    }
  }
}

}  // namespace shoebox::agent
