#include "agent/settle_tracker.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <chrono>
#include <utility>

#include "spdlog/spdlog.h"

#include "agent/hasher.h"
#include "agent/settle.h"
#include "common/bytes.h"

namespace shoebox::agent {
int64_t SettleTracker::Clock::WallNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// The tracker's own times (seen, due) are on the monotonic clock: waiting
// for a file to settle is an interval, and on the wall clock a step back
// would hold every file seen before the step for the size of the step.
int64_t SettleTracker::Clock::SteadyNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SettleTracker::SettleTracker(int64_t settle_ns, StateDb* db, Scanner* scanner, ReadStage* reader,
                             AgentStats* stats, int64_t confirm_ns, const Clock* clock)
    : settle_ns_(settle_ns),
      confirm_ns_(confirm_ns),
      clock_(clock != nullptr ? clock : &default_clock_),
      db_(db),
      scanner_(scanner),
      reader_(reader),
      stats_(stats) {}

int64_t SettleTracker::DueNs(const FileStat& st, int64_t seen_ns) const {
  // SettleDueNs compares mtime/ctime (the wall clock's) on the wall clock:
  // `seen_ns` is taken to the wall clock of this moment and the result back.
  const int64_t shift = clock_->WallNs() - clock_->SteadyNs();
  return SettleDueNs(st, seen_ns + shift, settle_ns_) - shift;
}

int64_t SettleTracker::ReadyNs(const Unsettled& u) const {
  int64_t full = DueNs(u.stat, u.seen_ns);
  if (!ClosedRule(u)) return full;
  // Confirmed once neither the stat nor the events changed for confirm_ns.
  return std::min(full, std::max(u.seen_ns, u.event_ns) + confirm_ns_);
}

int64_t SettleTracker::NextDueNs() const {
  int64_t next = INT64_MAX;
  for (const auto& [key, u] : unsettled_) next = std::min(next, u.due_ns);
  return next;
}

void SettleTracker::Release(Reason why, HashTask t) {
  last_reason_ = why;
  if (why == Reason::kClosed) {
    stats_->settled_on_close.fetch_add(1);
  } else {
    stats_->settled_after_wait.fetch_add(1);
  }
  spdlog::debug("settled: {} ({})", PrintablePath(JoinRel(t.dir, t.name)),
                why == Reason::kClosed   ? "closed by its writer, unchanged since"
                : why == Reason::kForced ? "flushed"
                                         : "unchanged for the settle time");
  reader_->Enqueue(std::move(t));
}

void SettleTracker::OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                                const FileStat& st) {
  std::string key = MakeKey(f->id, dir, name);
  int64_t now = clock_->SteadyNs();
  bool busy = reader_->Busy(key);
  auto it = unsettled_.find(key);
  if (it != unsettled_.end() && it->second.stat.SameContentAs(st)) return;  // already waiting
  if (it == unsettled_.end()) {
    // Without events so far (a scan, or the first event's check): the full
    // settle time, unless that has already passed.
    int64_t due = DueNs(st, now);
    if (!busy && due <= now) {
      Release(Reason::kWaited, HashTask{f, dir, name, st});
      return;
    }
    stats_->files_waiting.fetch_add(1);
    stats_->bytes_waiting.fetch_add(st.size);
    unsettled_[key] = Unsettled{f, dir, name, st, now, busy ? now + 1000000000LL : due};
    return;
  }
  // Changed while waiting. Whether it was closed is the events' to say
  // (OnEvents follows for inotify checks); a stat change alone restarts
  // the confirmation or the settle time.
  Unsettled& u = it->second;
  stats_->bytes_waiting.fetch_add(st.size);
  stats_->bytes_waiting.fetch_sub(u.stat.size);
  u.stat = st;
  u.seen_ns = now;
  int64_t ready = ReadyNs(u);
  if (!busy && ready <= now) {
    HashTask t{f, dir, name, st};
    Reason why = ClosedRule(u) ? Reason::kClosed : Reason::kWaited;
    stats_->files_waiting.fetch_sub(1);
    stats_->bytes_waiting.fetch_sub(u.stat.size);
    unsettled_.erase(it);
    Release(why, std::move(t));
    return;
  }
  u.due_ns = busy ? now + 1000000000LL : ready;
}

void SettleTracker::OnEvents(Folder* f, const std::string& dir, const std::string& name,
                             const std::vector<uint32_t>& masks) {
  auto it = unsettled_.find(MakeKey(f->id, dir, name));
  if (it == unsettled_.end()) return;
  Unsettled& u = it->second;
  bool any = false;
  for (uint32_t m : masks) {
    if (m & (IN_CREATE | IN_MOVED_TO)) {
      // A new file under this name: who wrote it, and whether they are done,
      // is unknown.
      u.closed = false;
      u.opens = 0;
      any = true;
    }
    if (m & IN_OPEN) {
      ++u.opens;
      any = true;
    }
    if (m & IN_MODIFY) {
      u.closed = false;
      any = true;
    }
    if (m & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)) {
      if (u.opens > 0) --u.opens;
      if (m & IN_CLOSE_WRITE) u.closed = true;
      any = true;
    }
  }
  if (!any) return;
  u.event_ns = clock_->SteadyNs();
  if (!reader_->Busy(it->first)) u.due_ns = ReadyNs(u);
}

void SettleTracker::Retry(HashTask t) {
  absl::MutexLock l(&mu_);
  retry_.push_back(std::move(t));
}

void SettleTracker::Check(Folder* f, const std::string& rel) {
  absl::MutexLock l(&mu_);
  checks_.emplace_back(f, rel);
}

bool SettleTracker::InboxEmpty() {
  absl::MutexLock l(&mu_);
  return retry_.empty() && checks_.empty();
}

void SettleTracker::Process(bool force_all) {
  // Work handed back by the readers, the sender and event checks.
  std::vector<HashTask> retry;
  std::vector<std::pair<Folder*, std::string>> checks;
  {
    absl::MutexLock l(&mu_);
    retry.swap(retry_);
    checks.swap(checks_);
  }
  ScanStats ss;
  for (auto& [f, rel] : checks) {
    std::string dir, name;
    SplitRelPath(rel, &dir, &name);
    (void)scanner_->CheckPath(f, dir, name, &ss);
  }
  for (HashTask& t : retry) {
    auto st = StatRelative(t.folder->cfg.path, JoinRel(t.dir, t.name));
    if (st.ok() && S_ISREG(st->mode)) OnCandidate(t.folder, t.dir, t.name, *st);
  }
  int64_t now = clock_->SteadyNs();
  for (auto it = unsettled_.begin(); it != unsettled_.end();) {
    Unsettled& u = it->second;
    if (!force_all && u.due_ns > now) {
      ++it;
      continue;
    }
    if (reader_->Busy(it->first)) {
      u.due_ns = now + 500000000LL;
      ++it;
      continue;
    }
    auto st = StatRelative(u.folder->cfg.path, JoinRel(u.dir, u.name));
    auto drop = [&] {
      stats_->files_waiting.fetch_sub(1);
      stats_->bytes_waiting.fetch_sub(u.stat.size);
      it = unsettled_.erase(it);
    };
    if (!st.ok() || !S_ISREG(st->mode)) {
      Folder* f = u.folder;
      std::string dir = u.dir, name = u.name;
      drop();
      (void)scanner_->CheckPath(f, dir, name, &ss);
      continue;
    }
    if (!st->SameContentAs(u.stat)) {
      stats_->bytes_waiting.fetch_add(st->size);
      stats_->bytes_waiting.fetch_sub(u.stat.size);
      u.stat = *st;
      u.seen_ns = now;
      u.due_ns = ReadyNs(u);
      ++it;
      continue;
    }
    auto known = db_->GetIndex(u.folder->id, u.dir, u.name);
    if (known.ok() && known->has_value() && (*known)->kind == EntryKind::kFile &&
        (*known)->stat.SameContentAs(*st)) {
      drop();
      continue;
    }
    int64_t ready = ReadyNs(u);
    if (ready > now && !force_all) {
      u.due_ns = ready;
      ++it;
      continue;
    }
    Reason why = ready > now ? Reason::kForced : ClosedRule(u) ? Reason::kClosed : Reason::kWaited;
    HashTask t{u.folder, u.dir, u.name, *st};
    drop();
    Release(why, std::move(t));
  }
}

}  // namespace shoebox::agent
