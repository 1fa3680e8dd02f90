#include "agent/settle_tracker.h"

#include <sys/stat.h>

#include <chrono>
#include <utility>

#include "agent/hasher.h"
#include "agent/settle.h"

namespace shoebox::agent {
namespace {

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// The tracker's own times (seen, due) are on the monotonic clock: waiting
// for a file to settle is an interval, and on the wall clock a step back
// would hold every file seen before the step for the size of the step.
int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SettleTracker::SettleTracker(int64_t settle_ns, StateDb* db, Scanner* scanner, ReadStage* reader,
                             AgentStats* stats)
    : settle_ns_(settle_ns), db_(db), scanner_(scanner), reader_(reader), stats_(stats) {}

int64_t SettleTracker::DueNs(const FileStat& st, int64_t seen_ns) const {
  // SettleDueNs compares mtime/ctime (the wall clock's) on the wall clock:
  // `seen_ns` is taken to the wall clock of this moment and the result back.
  const int64_t shift = WallNs() - SteadyNs();
  return SettleDueNs(st, seen_ns + shift, settle_ns_) - shift;
}

void SettleTracker::OnCandidate(Folder* f, const std::string& dir, const std::string& name,
                                const FileStat& st) {
  std::string key = MakeKey(f->id, dir, name);
  int64_t now = SteadyNs();
  bool busy = reader_->Busy(key);
  auto it = unsettled_.find(key);
  if (it != unsettled_.end() && it->second.stat.SameContentAs(st)) return;  // already waiting
  int64_t due = DueNs(st, now);
  if (!busy && due <= now) {
    if (it != unsettled_.end()) {
      stats_->files_waiting.fetch_sub(1);
      stats_->bytes_waiting.fetch_sub(it->second.stat.size);
      unsettled_.erase(it);
    }
    reader_->Enqueue(HashTask{f, dir, name, st});
    return;
  }
  if (it == unsettled_.end()) {
    stats_->files_waiting.fetch_add(1);
    stats_->bytes_waiting.fetch_add(st.size);
    unsettled_[key] = Unsettled{f, dir, name, st, now, busy ? now + 1000000000LL : due};
  } else {
    stats_->bytes_waiting.fetch_add(st.size);
    stats_->bytes_waiting.fetch_sub(it->second.stat.size);
    it->second.stat = st;
    it->second.seen_ns = now;
    it->second.due_ns = busy ? now + 1000000000LL : due;
  }
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
  int64_t now = SteadyNs();
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
      u.due_ns = DueNs(*st, now);
      ++it;
      continue;
    }
    auto known = db_->GetIndex(u.folder->id, u.dir, u.name);
    if (known.ok() && known->has_value() && (*known)->kind == EntryKind::kFile &&
        (*known)->stat.SameContentAs(*st)) {
      drop();
      continue;
    }
    if (DueNs(*st, u.seen_ns) > now && !force_all) {
      u.due_ns = DueNs(*st, u.seen_ns);
      ++it;
      continue;
    }
    HashTask t{u.folder, u.dir, u.name, *st};
    drop();
    reader_->Enqueue(std::move(t));
  }
}

}  // namespace shoebox::agent
