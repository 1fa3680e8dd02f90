#include "workers/completion_batcher.h"

#include <utility>

namespace shoebox::worker {

CompletionBatcher::CompletionBatcher(Options options, SendFn send, DoneFn done)
    : options_(options), send_(std::move(send)), done_(std::move(done)) {
  thread_ = std::thread([this] { Loop(); });
}

CompletionBatcher::~CompletionBatcher() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

void CompletionBatcher::Add(v1::CompleteJobRequest done) {
  {
    absl::MutexLock l(&mu_);
    if (queue_.empty()) oldest_ = SteadyNow();
    queue_.push_back(std::move(done));
  }
  cv_.SignalAll();
}

void CompletionBatcher::Kick() {
  {
    absl::MutexLock l(&mu_);
    if (queue_.empty()) return;
    kicked_ = true;
  }
  cv_.SignalAll();
}

void CompletionBatcher::Flush() {
  absl::MutexLock l(&mu_);
  kicked_ = true;
  cv_.SignalAll();
  while (!queue_.empty() || sending_ > 0) cv_.Wait(&mu_);
}

size_t CompletionBatcher::DropForTest() {
  absl::MutexLock l(&mu_);
  size_t n = queue_.size();
  queue_.clear();
  cv_.SignalAll();
  return n;
}

size_t CompletionBatcher::pending() const {
  absl::MutexLock l(&mu_);
  return queue_.size();
}

uint64_t CompletionBatcher::batches_sent() const {
  absl::MutexLock l(&mu_);
  return batches_;
}

bool CompletionBatcher::ReadyToSend() const {
  if (queue_.empty()) return false;
  return kicked_ || stopping_ || queue_.size() >= options_.max_batch ||
         SteadyNow() >= oldest_ + absl::ToChronoNanoseconds(options_.max_delay);
}

void CompletionBatcher::Loop() {
  mu_.Lock();
  for (;;) {
    while (!ReadyToSend()) {
      if (stopping_ && queue_.empty()) {
        mu_.Unlock();
        return;
      }
      if (queue_.empty()) {
        cv_.Wait(&mu_);
      } else {
        cv_.WaitUntil(&mu_, oldest_ + absl::ToChronoNanoseconds(options_.max_delay));
      }
    }
    v1::CompleteJobsRequest batch;
    while (!queue_.empty() && static_cast<size_t>(batch.jobs_size()) < options_.max_batch) {
      *batch.add_jobs() = std::move(queue_.front());
      queue_.pop_front();
    }
    if (queue_.empty()) kicked_ = false;  // else the rest go out next, at once
    ++sending_;
    mu_.Unlock();
    absl::StatusOr<v1::CompleteJobsResponse> resp = send_(batch);
    for (int i = 0; i < batch.jobs_size(); ++i) {
      absl::Status st;
      if (!resp.ok()) {
        st = resp.status();
      } else if (i < resp->results_size()) {
        const v1::CompleteJobResult& r = resp->results(i);
        if (r.code() != 0) st = absl::Status(static_cast<absl::StatusCode>(r.code()), r.message());
      } else {
        st = absl::InternalError("CompleteJobs: the coordinator answered fewer results than jobs");
      }
      done_(batch.jobs(i), st);
    }
    mu_.Lock();
    --sending_;
    ++batches_;
    cv_.SignalAll();
  }
}

}  // namespace shoebox::worker
