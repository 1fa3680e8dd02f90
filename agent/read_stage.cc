#include "agent/read_stage.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace shoebox::agent {

ReadStage::ReadStage(StateDb* db, AgentStats* stats, bool once,
                     std::shared_ptr<const ChunkHasher> hasher, Outputs out)
    : db_(db), stats_(stats), once_(once), out_(std::move(out)), hasher_(std::move(hasher)) {}

void ReadStage::Enqueue(HashTask t) {
  std::string key = MakeKey(t.folder->id, t.dir, t.name);
  stats_->files_waiting.fetch_add(1);
  stats_->bytes_waiting.fetch_add(t.stat.size);
  absl::MutexLock l(&mu_);
  in_flight_.insert(key);
  // Blocks while the readers are behind (bounded queue).
  while (queue_.size() >= kQueueCapacity && !stopping_) cv_.Wait(&mu_);
  queue_.push_back(std::move(t));
  cv_.SignalAll();
}

bool ReadStage::Busy(const std::string& key) {
  absl::MutexLock l(&mu_);
  return in_flight_.count(key) > 0;
}

bool ReadStage::Idle() {
  absl::MutexLock l(&mu_);
  return queue_.empty() && in_flight_.empty();
}

std::shared_ptr<const ChunkHasher> ReadStage::hasher() {
  absl::MutexLock l(&mu_);
  return hasher_;
}

void ReadStage::SetHasher(std::shared_ptr<const ChunkHasher> h) {
  absl::MutexLock l(&mu_);
  hasher_ = std::move(h);
  cv_.SignalAll();
}

void ReadStage::ForgetDeniedLog() {
  absl::MutexLock l(&mu_);
  denied_logged_.clear();
}

void ReadStage::Wake() {
  absl::MutexLock l(&mu_);
  cv_.SignalAll();
}

void ReadStage::Stop() {
  absl::MutexLock l(&mu_);
  stopping_ = true;
  cv_.SignalAll();
}

void ReadStage::Loop() {
  while (true) {
    HashTask t;
    std::shared_ptr<const ChunkHasher> h;
    {
      absl::MutexLock l(&mu_);
      while (!stopping_ &&
             (queue_.empty() || hasher_ == nullptr || (!once_ && stats_->paused.load()))) {
        cv_.Wait(&mu_);
      }
      if (stopping_) return;
      t = std::move(queue_.front());
      queue_.pop_front();
      h = hasher_;
      cv_.SignalAll();  // Enqueue may be waiting for room
    }
    Read(t, h);
  }
}

void ReadStage::Read(const HashTask& t, const std::shared_ptr<const ChunkHasher>& h) {
  std::string key = MakeKey(t.folder->id, t.dir, t.name);
  std::string rel = JoinRel(t.dir, t.name);
  std::string printable = PrintablePath(t.folder->cfg.path + "/" + rel);
  auto r = HashFile(t.folder->cfg.path, rel, *h, &stats_->bytes_read);
  stats_->files_waiting.fetch_sub(1);
  stats_->bytes_waiting.fetch_sub(t.stat.size);
  bool retry = false, check = false;
  if (r.ok()) {
    auto gen = db_->RecordUpsert(t.folder->id, t.dir, t.name, r->stat, r->sha256, r->chunks);
    if (!gen.ok()) {
      spdlog::error("cannot record {} in the agent index: {}", printable,
                    std::string(gen.status().message()));
      stats_->SetError(std::string(gen.status().message()));
      retry = true;
    } else {
      stats_->files_read.fetch_add(1);
      spdlog::debug("read {} ({} bytes, {} chunks)", printable, r->stat.size, r->chunks.size());
    }
  } else if (absl::IsAborted(r.status())) {
    spdlog::info("{}", std::string(r.status().message()));
    retry = true;
  } else if (absl::IsNotFound(r.status())) {
    spdlog::info("{} vanished before it could be read", printable);
    check = true;
  } else if (absl::IsPermissionDenied(r.status())) {
    unreadable_.fetch_add(1);
    absl::MutexLock l(&mu_);
    if (denied_logged_.insert(key).second) {
      spdlog::warn("cannot read {}: permission denied; skipped, retried at the next rescan",
                   printable);
      stats_->SetError(absl::StrCat("cannot read ", printable, ": permission denied"));
    }
  } else {
    unreadable_.fetch_add(1);
    spdlog::error("cannot read {}: {}; retried at the next rescan", printable,
                  std::string(r.status().message()));
    stats_->SetError(
        absl::StrCat("cannot read ", printable, ": ", std::string(r.status().message())));
  }
  {
    // Handed back before the key leaves in_flight_, under one lock: see the
    // lock order in the header.
    absl::MutexLock l(&mu_);
    in_flight_.erase(key);
    if (retry) out_.retry(t);
    if (check) out_.check(t.folder, rel);
  }
  out_.read_done();
}

}  // namespace shoebox::agent
